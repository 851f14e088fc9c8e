"""/invite <执法证号 | 姓名 | 手机号> — an admin issues a one-time invite code with its deep link (Telegram) or the\n/start CODE to send (钉钉, which has no deep links)."""

from __future__ import annotations

from telegram import Update

from bot.services import identity
from bot.runtime.app import Ctx
from bot.services.identity import Actor
from bot.texts import t
from handlers.toolkit import unit_of_work
from handlers.common import permitted


def invite_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


@permitted("invite")
async def invite_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    query = " ".join(context.args or []).strip()
    if not query:
        await update.effective_message.reply_text(t("invite.usage", lang))
        return
    with unit_of_work(update, context) as session:
        found = identity.find_person(session, query)
        if found.person is None:
            if found.candidates:
                lines = "\n".join(f"· {p.name}（{p.department.name}）{p.cert_no or p.phone or ''}"
                                  for p in found.candidates[:10])
                reply = t("invite.ambiguous", lang, count=len(found.candidates), query=query, lines=lines)
            else:
                reply = t("invite.not_found", lang, query=query)
        else:
            issued = identity.issue_invite(session, found.person, actor=actor.label,
                                           hours=context.cfg.rules.invite_code_hours)
            expires = issued.expires_at.astimezone(context.cfg.tz).strftime("%Y-%m-%d %H:%M")
            if context.cfg.bot.platform == "telegram":
                reply = t("invite.issued", lang, name=issued.person.name, department=issued.person.department.name,
                          expires=expires, link=invite_link(context.bot.username, issued.code), code=issued.code)
            else:  # 钉钉 has no deep link: the person sends /start CODE to the robot (SPEC §11)
                reply = t("invite.issued_no_link", lang, name=issued.person.name,
                          department=issued.person.department.name, expires=expires, code=issued.code)
    await update.effective_message.reply_text(reply, disable_web_page_preview=True)
