"""/correct (correction by approval) and /followup — placeholder until the feature lands (issue 4)."""

from __future__ import annotations

from telegram.ext import CommandHandler, ConversationHandler


def correct_conversation() -> ConversationHandler:
    return ConversationHandler([CommandHandler("correct", _todo)], {}, [])


def followup_conversation() -> ConversationHandler:
    return ConversationHandler([CommandHandler("followup", _todo)], {}, [])


async def correction_decide_callback(update, context) -> None:
    return None


async def _todo(update, context) -> int:
    return ConversationHandler.END
