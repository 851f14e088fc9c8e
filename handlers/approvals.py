"""同意 / 驳回 on a correction, a substitution or a recusal: the one decide callback of the one approval flow
(bot.services.approvals). Callback data `corr:ok|no:<correction_id>`, `staff:ok|no:<request_id>`; the presser's
right (never the requester), the request's department and state are checked against the database now."""

from __future__ import annotations

from telegram import Update

from bot.runtime.app import Ctx
from bot.services import approvals
from bot.services.identity import Actor
from bot.services.refusal import Refusal
from bot.texts import t
from handlers.common import answer_query, permitted, refuse, wake_outbox
from handlers.toolkit import edit, refused, today, unit_of_work
from models import Person


@permitted("approve")
async def decide_callback(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    query = update.callback_query
    press = approvals.parse(query.data)
    if press is None:
        await refuse(update, t("error.stale_button", lang))
        return
    try:
        with unit_of_work(update, context) as session:
            approver = session.get(Person, actor.person.id) if actor.person else None
            note = approvals.decide(session, press, approver=approver, cfg=context.cfg, today=today(context),
                                    lang=lang)
    except Refusal as exc:
        await refused(update, lang, exc)
        return
    await answer_query(query)
    text = f"{query.message.text}\n\n{note}" if query.message and query.message.text else note
    await edit(update, text)  # no markup: the buttons go
    wake_outbox(context)
