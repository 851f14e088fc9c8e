"""/start [CODE] — greet a bound user, or bind a Telegram account with a one-time invite code."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType

from bot.services import identity
from bot.runtime.app import Ctx
from bot.texts import normalize_lang, t
from handlers.toolkit import unit_of_work
from handlers.common import checks_itself, lang_of, load, role_labels

_REFUSALS = {
    "unknown": "start.code_unknown",
    "used": "start.code_used",
    "expired": "start.code_expired",
    "inactive": "start.code_inactive",
}


@checks_itself("start")
async def start_cmd(update: Update, context: Ctx) -> None:
    actor = load(update, context)
    if actor is None or update.effective_message is None:
        return
    lang = lang_of(update, context, actor)
    message = update.effective_message
    code = context.args[0] if context.args else ""
    if update.effective_chat and update.effective_chat.type != ChatType.PRIVATE:
        await message.reply_text(t("start.in_group", lang) if code else t("error.private_only", lang))
        return
    if not code:
        if actor.person is not None:
            p = actor.person
            await message.reply_text(t("start.welcome", lang, name=p.name, department=p.department.name,
                                       roles=role_labels(actor.roles, lang)))
        elif actor.config_admin:
            await message.reply_text(t("me.config_admin", lang, tg_id=actor.telegram_id))
        else:
            await message.reply_text(t("unknown_user", lang))
        return
    user = update.effective_user
    with unit_of_work(update, context) as session:
        outcome = identity.redeem_invite(session, code, user.id,
                                         language=normalize_lang(user.language_code))
        if outcome.status == "ok":
            person = outcome.person
            roles = identity.load_actor(session, user.id, context.cfg.access.admins).roles
            lang = person.language or lang
            reply = t("start.bound", lang, name=person.name, department=person.department.name,
                      roles=role_labels(roles, lang))
        elif outcome.status == "other_account":
            reply = t("start.other_account", lang, name=outcome.person.name)
        else:
            reply = t(_REFUSALS[outcome.status], lang)
    await message.reply_text(reply)
