"""/bindgroup — an admin binds the group chat where draws are announced and group commands run."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType

from bot.services import identity
from bot.runtime.app import Ctx
from bot.services.identity import Actor
from bot.texts import t
from handlers.toolkit import unit_of_work
from handlers.common import permitted


@permitted("bindgroup")
async def bindgroup_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        await update.effective_message.reply_text(t("bindgroup.not_group", lang))
        return
    with unit_of_work(update, context) as session:
        previous = identity.bind_group(session, chat.id, actor=actor.label, title=chat.title)
    if previous and previous != chat.id:
        reply = t("bindgroup.moved", lang, title=chat.title or chat.id, previous=previous)
    else:
        reply = t("bindgroup.done", lang, title=chat.title or chat.id)
    await update.effective_message.reply_text(reply)
