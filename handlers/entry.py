"""/enter (guided result entry), /tasks and /progress — placeholder until the entry feature lands (issue 4)."""

from __future__ import annotations

from telegram.ext import CommandHandler, ConversationHandler


def entry_conversation() -> ConversationHandler:
    return ConversationHandler([CommandHandler("enter", _todo)], {}, [])


async def tasks_cmd(update, context) -> None:
    return None


async def progress_cmd(update, context) -> None:
    return None


async def _todo(update, context) -> int:
    return ConversationHandler.END
