"""/me (who the bot thinks I am), /lang (interface language) and /help."""

from __future__ import annotations

import datetime as dt

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.rules.candidates import certificate_valid_on
from bot.services import identity
from bot.rules import permissions
from bot.runtime.app import Ctx
from bot.services.identity import Actor
from bot.texts import LANGS, t
from handlers.toolkit import unit_of_work
from handlers.common import answer_query, checks_itself, lang_of, load, permitted, refuse, role_labels


@permitted("me")
async def me_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    p = actor.person
    if p is None:
        await update.effective_message.reply_text(t("me.config_admin", lang, tg_id=actor.telegram_id))
        return
    today = dt.datetime.now(context.cfg.tz).date()
    expiry = t("me.none", lang)
    if p.cert_expiry:
        expiry = p.cert_expiry.isoformat()
        if not certificate_valid_on(p.cert_expiry, today):
            expiry = t("me.expired", lang, date=expiry)
    await update.effective_message.reply_text(t(
        "me.card", lang, name=p.name, department=p.department.name, roles=role_labels(actor.roles, lang),
        cert=p.cert_no or t("me.none", lang), expiry=expiry,
        status=t("me.active" if p.active else "me.inactive", lang), language="中文" if lang == "zh" else "English"))


def _lang_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("中文", callback_data="lang:zh"),
                                  InlineKeyboardButton("English", callback_data="lang:en")]])


@permitted("lang")
async def lang_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    choice = (context.args or [""])[0].lower()
    if choice in LANGS:
        await _set(update, context, actor, choice)
        return
    await update.effective_message.reply_text(t("lang.usage", lang), reply_markup=_lang_keyboard())


@permitted("lang:")
async def lang_callback(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    choice = (update.callback_query.data or "").partition(":")[2]
    if choice not in LANGS or actor.person is None:
        await refuse(update, t("error.stale_button", lang))
        return
    await answer_query(update.callback_query)
    await _set(update, context, actor, choice)


async def _set(update: Update, context: Ctx, actor: Actor, choice: str) -> None:
    with unit_of_work(update, context) as session:
        identity.set_language(session, actor.telegram_id, choice)
    await update.effective_message.reply_text(t("lang.set", choice))


@checks_itself("help")
async def help_cmd(update: Update, context: Ctx) -> None:
    actor = load(update, context)
    if actor is None:
        return
    lang = lang_of(update, context, actor)
    if not actor.known:
        await update.effective_message.reply_text(t("help.unbound", lang))
        return
    names = permissions.help_commands(actor.roles)
    lines = [t("help.header", lang)] + [f"/{n} — {t(f'cmd.{n}', lang)}" for n in names]
    clean = context.cfg.code_set.clean
    if "enter" in names and actor.has("inspector") and clean is not None:
        lines += ["", t("help.entry_shortcuts", lang, code=context.cfg.code_set.show(clean))]
    if actor.is_admin:
        lines += ["", t("help.import", lang)]
    await update.effective_message.reply_text("\n".join(lines))
