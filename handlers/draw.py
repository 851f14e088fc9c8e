"""/draw [campaign] [public=<text>] [reason=<text>] (leaders, bound group) and /verify [draw]."""

from __future__ import annotations

import asyncio
import re
from io import BytesIO

from telegram import Update

from bot.services import campaigns, draws, identity
from bot.runtime.app import Ctx
from bot.services.draw_announcements import enqueue_draw_notices, published_record, verification_page
from bot.rules.drawalgo import DrawError
from bot.services.identity import Actor
from bot.texts import t
from bot.services.refusal import Refusal
from handlers.toolkit import unit_of_work
from handlers.common import permitted, wake_outbox

_KEYWORDS = re.compile(r"\b(public|reason)=", re.IGNORECASE)


def parse_draw_args(text: str) -> tuple[str | None, str | None, str | None]:
    """`/draw 3 public=2022-09-16 双色球 088 期 reason=重抽` → ("3", "2022-09-16 双色球 088 期", "重抽")."""
    rest = text.split(maxsplit=1)[1] if len(text.split(maxsplit=1)) > 1 else ""
    parts = _KEYWORDS.split(rest)
    ref = parts[0].strip() or None
    values: dict[str, str] = {}
    for key, value in zip(parts[1::2], parts[2::2]):
        values[key.lower()] = value.strip()
    return ref, values.get("public"), values.get("reason")


def _draw_error_text(exc: DrawError, lang: str) -> str:
    if exc.code == "too_few_inspectors":
        return t("draw.too_few", lang, group=exc.group, department=exc.department, eligible=exc.eligible,
                 needed=exc.needed)
    if exc.code == "no_targets":
        return t("draw.no_targets", lang)
    if exc.code == "no_rule":
        return t("draw.no_rule", lang, classes="、".join(exc.classes))
    return t("draw.invalid", lang, detail=str(exc))


@permitted("draw")
async def draw_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    message = update.effective_message
    ref, public_text, reason = parse_draw_args(message.text or "")
    if public_text is not None and not public_text:
        await message.reply_text(t("draw.usage", lang))
        return
    cfg = context.cfg
    who = actor.person.name if actor.person else str(actor.telegram_id)

    def run() -> str:
        # A thread: freezing and ranking a large pool takes seconds; other users keep being served.
        try:
            with unit_of_work(update, context) as session:
                campaign = campaigns.resolve_campaign(session, ref)
                draw = draws.perform_draw(session, campaign, cfg=cfg,
                                          person_id=actor.person.id if actor.person else None, actor=actor.label,
                                          public_text=public_text, reason=reason)
                group_id = identity.group_chat_id(session, cfg.bot.group_chat_id)
                enqueue_draw_notices(session, draw, campaign, cfg=cfg, group_chat_id=group_id,
                                     requester_chat_id=actor.telegram_id, who=who)
        except DrawError as exc:  # the plan cannot be drawn (a group or department short): nothing was saved
            return t("draw.failed", lang, reason=_draw_error_text(exc, lang))
        except Refusal as exc:  # no such campaign, not drawable now, a re-draw without a reason
            return exc.text(lang)
        return ""

    reply = await asyncio.to_thread(run)
    if reply:
        await message.reply_text(reply)
    else:
        wake_outbox(context)


@permitted("verify")
async def verify_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    """/verify [draw]: the page that re-runs the draw in any browser, then the verdict of re-running it here."""
    arg = (context.args or [None])[0]

    def run() -> tuple[str, tuple[str, bytes] | None]:  # re-running a big draw takes a while: off the event loop
        with context.sessions.begin() as session:
            draw = draws.draw_for_reference(session, arg)
            if draw is None:
                return t("verify.no_draw", lang), None
            record = published_record(session, draw, tz=context.cfg.tz)  # read once: verified, then the page
            report = draws.verify_full(record)
            if report.ok:
                reply = t("verify.ok", lang, draw_id=draw.id)
            else:
                reply = t("verify.bad", lang, draw_id=draw.id, lines="\n".join(report.mismatches[:20]))
            if draw.superseded_by_id:
                reply += t("verify.superseded", lang, new=draw.superseded_by_id, reason=draw.supersede_reason)
            return reply, verification_page(record, lang=lang)

    reply, page = await asyncio.to_thread(run)
    message = update.effective_message
    if page is not None:  # the page first: the verdict stays the last message, where the chat shows it
        name, data = page
        await message.reply_document(BytesIO(data), filename=name, caption=t("verify.page", lang))
    await message.reply_text(reply)
