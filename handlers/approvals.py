"""同意 / 驳回 on a correction, a substitution or a recusal: the one decide callback of the one approval flow
(bot.services.approvals). Callback data `corr:ok|no:<correction_id>`, `staff:ok|no:<request_id>`; the presser's
right (never the requester), the request's department and state are checked against the database now."""

from __future__ import annotations

import datetime as dt

from telegram import Update
from telegram.error import BadRequest

from bot.runtime import exactly_once
from bot.runtime.app import Ctx
from bot.services import approvals
from bot.services.identity import Actor
from bot.services.refusal import Refusal
from bot.texts import t
from handlers.common import answer_query, permitted, refuse, wake_outbox
from models import Person


@permitted("approve")
async def decide_callback(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    query = update.callback_query
    press = approvals.parse(query.data)
    if press is None:
        await refuse(update, t("error.stale_button", lang))
        return
    today = dt.datetime.now(context.cfg.tz).date()
    with context.sessions.begin() as session:
        approver = session.get(Person, actor.person.id) if actor.person else None
        try:
            note = approvals.decide(session, press, approver=approver, cfg=context.cfg, today=today, lang=lang)
        except Refusal as exc:
            session.rollback()
            refusal = exc.text(lang)
        else:
            refusal = None
            exactly_once.mark_processed(session, update.update_id)
    if refusal is not None:
        await refuse(update, refusal)
        return
    await answer_query(query)
    text = f"{query.message.text}\n\n{note}" if query.message and query.message.text else note
    try:
        await query.edit_message_text(text)  # no markup: the buttons go
    except BadRequest as exc:  # "message is not modified" when a button is pressed twice
        if "not modified" not in str(exc).lower():
            raise
    wake_outbox(context)
