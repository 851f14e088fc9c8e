"""/campaigns — every campaign, newest first, with its id, state, window and deadlines (leaders, coordinators,
heads and admins; in a private chat or the bound group)."""

from __future__ import annotations

from telegram import Update

from bot.runtime.app import Ctx
from bot.services import campaigns
from bot.services.identity import Actor
from bot.texts import t
from handlers.common import permitted
from handlers.toolkit import split_messages

def _entry(c, cfg, lang: str) -> str:
    res, pub = campaigns.provisional_marks(c, cfg)
    summary = t("campaign.list.summary_due", lang, date=c.summary_due.isoformat()) if c.summary_due else ""
    return t("campaign.list.entry", lang, id=c.id, number=c.number, state=campaigns.state_label(c.state, lang),
             title=c.title, lead=c.lead_department.name, start=c.window_start.isoformat(),
             end=c.window_end.isoformat(), results_due=campaigns.date_text(c.results_due, res, lang),
             publication_due=campaigns.date_text(c.publication_due, pub, lang), summary=summary)


@permitted("campaigns")
async def campaigns_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    """/campaigns — every campaign, newest first, with its id, state, window and deadlines."""
    # (in a group, the guard has checked it is the bound one: the table's PRIVATE_OR_GROUP)
    with context.sessions.begin() as session:
        rows = campaigns.list_campaigns(session)
        entries = [_entry(c, context.cfg, lang) for c in rows]
    if not entries:
        await update.effective_message.reply_text(t("campaign.list.empty", lang))
        return
    for text in split_messages(t("campaign.list.header", lang, count=len(entries)), entries,
                               t("campaign.list.footer", lang)):
        await update.effective_message.reply_text(text)
