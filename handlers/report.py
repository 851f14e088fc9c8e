"""/report [campaign] (leaders, coordinators; private chat), /publish [campaign] (leaders; private chat or the
bound group), and the job that makes the automatic report sends (bot.services.report_sends: when every result is in, after a
publication; at start-up and every minute it catches up what a crash left undone).

The reports hold inspectors' names and certificate numbers and the businesses' results, so /report sends them
only in a private chat; in a group it says so and sends nothing. Building a big campaign's workbooks takes
seconds: the data is read in a short transaction, the workbooks are built in a worker thread with no transaction
open, and the progress message is edited as each file is made — all in a task of its own, because updates are
handled one after the other (bot.runtime.polling) and the other users must not wait for it. A read-only command: if the
bot stops meanwhile, the requester simply asks again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from io import BytesIO

from telegram import InputFile, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest

from bot.services import campaigns, identity, publication, report_data, report_sends
from bot.runtime.app import Ctx
from bot.services.identity import Actor
from bot.texts import t
from bot.services.refusal import Refusal
from handlers.toolkit import unit_of_work
from handlers.common import permitted, refuse, wake_outbox
from models import utcnow

log = logging.getLogger(__name__)

JOB_INTERVAL = 60  # seconds between catch-up runs of the automatic sends


async def _edit(message: Message, text: str) -> None:
    try:
        await message.edit_text(text)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.info("could not edit the report progress message: %s", exc)


def _resolve(context: Ctx, ref: str | None, lang: str) -> tuple[int | None, str]:
    """(campaign id, its number) or (None, the reason it could not be chosen)."""
    with context.sessions.begin() as session:
        try:
            campaign = campaigns.resolve_campaign(session, ref)
        except campaigns.CampaignChoiceError as exc:
            return None, exc.message(lang)
        return campaign.id, campaign.number


# ------------------------------------------------------------------------------------------------ /report

@permitted("report")
async def report_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    """/report [campaign] — the five workbooks, sent to the requester in a private chat. Updates are handled one
    after the other (bot.runtime.polling), so the seconds of loading, building and uploading run in a task of their own:
    the other users' updates go on meanwhile."""
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        await refuse(update, t("report.private_only", lang))
        return
    campaign_id, number = _resolve(context, " ".join(context.args or []) or None, lang)
    if campaign_id is None:
        await update.effective_message.reply_text(number)
        return
    status = await update.effective_message.reply_text(t("report.progress.loading", lang, number=number))
    context.application.create_task(_make_and_send(context, status, campaign_id, lang), update=update,
                                    name=f"report:{campaign_id}:{chat.id}")


async def _make_and_send(context: Ctx, status: Message, campaign_id: int, lang: str) -> None:
    """Load in a short transaction, build each file in a worker thread (no transaction open), send them as
    replies; the progress message says where it stands."""
    cfg, sessions, now = context.cfg, context.sessions, utcnow()

    def load():
        with sessions.begin() as session:
            return report_data.load_report(session, campaign_id, cfg=cfg, now=now)

    try:
        report = await asyncio.to_thread(load)
        files: list[tuple[str, bytes]] = []
        steps = report_data.build_steps(report)
        for i, (label, build) in enumerate(steps, 1):
            await _edit(status, t("report.progress.building", lang, number=report.number,
                                  targets=len(report.targets), i=i, n=len(steps), name=label.replace("_", " ")))
            built = await asyncio.to_thread(build)  # seconds for a big campaign: off the event loop
            if built is not None:
                files.append(built)
        await _edit(status, t("report.progress.sending", lang, count=len(files), number=report.number))
        for i, (name, data) in enumerate(files, 1):
            await context.bot.send_document(status.chat_id, InputFile(BytesIO(data), filename=name),
                                            caption=t("report.caption.request", lang, number=report.number,
                                                      title=report.title, i=i, n=len(files)))
    except Exception:  # noqa: BLE001 — told in the progress message rather than by the generic error handler
        log.exception("reports of campaign %s failed", campaign_id)
        await _edit(status, t("report.progress.failed", lang))
        return
    when = report.generated_at.strftime("%Y-%m-%d %H:%M")
    await _edit(status, t("report.progress.done", lang, count=len(files), number=report.number, title=report.title,
                          when=when))


# ------------------------------------------------------------------------------------------------ /publish

@permitted("publish")
async def publish_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    """/publish [campaign] — mark the results published (已公示); the 公示 workbook goes to the leader and the
    coordinators and a line to the group, through the outbox."""
    chat = update.effective_chat
    in_group = chat is not None and chat.type != ChatType.PRIVATE
    cfg = context.cfg
    ref = " ".join(context.args or []) or None
    today = dt.datetime.now(cfg.tz).date()
    who = actor.person.name if actor.person else str(actor.telegram_id)
    refusal = None
    outcome = None
    try:
        with unit_of_work(update, context) as session:
            group_id = identity.group_chat_id(session, cfg.bot.group_chat_id)
            if in_group and group_id != chat.id:
                raise Refusal("report.publish.wrong_group")
            campaign = campaigns.resolve_campaign(session, ref)
            outcome = publication.publish(session, campaign.id, person_id=actor.person.id, today=today, cfg=cfg)
            publication.tell_group(session, outcome, group_chat_id=group_id, cfg=cfg, today=today, who=who)
    except Refusal as exc:  # no such campaign, published already, results missing: nothing was written
        refusal = exc.text(lang)
    if refusal is not None:
        await refuse(update, refusal)
        return
    if not in_group:  # in the group, the group line (just enqueued) is the answer
        await update.effective_message.reply_text(t(
            "report.publish.done", lang, number=outcome.number, title=outcome.title,
            date=today.isoformat(), late=publication.lateness_text(outcome, lang)))
    wake_outbox(context)
    wake_reports(context)  # the 公示 workbook: built off the event loop, once (bot.services.report_sends)


# ------------------------------------------------------------------------------------------------ automatic sends

class ReportSender:
    """Runs `report_sends.send_pending` in a worker thread from PTB's job queue, one run at a time; a wake-up
    during a run asks for another run right after it."""

    def __init__(self, application) -> None:  # noqa: ANN001
        self.application = application
        self._lock = asyncio.Lock()
        self._again = False

    async def run_once(self) -> int:
        if self._lock.locked():
            self._again = True
            return 0
        services = self.application.bot_data
        added = 0
        async with self._lock:
            while True:
                self._again = False
                added += await asyncio.to_thread(report_sends.send_pending, services.sessions, cfg=services.cfg,
                                                 now=utcnow())
                if not self._again:
                    break
        return added

    async def job(self, context) -> None:  # noqa: ANN001 — a PTB job callback
        try:
            added = await self.run_once()
        except Exception:  # noqa: BLE001 — the next run (a minute later) tries again
            log.exception("automatic report send failed")
            return
        if added:
            wake_outbox(context)

    def wake(self) -> None:
        self.application.job_queue.run_once(self.job, 0, name="reports-wake")


def start_report_sender(application, interval: float = JOB_INTERVAL) -> ReportSender:  # noqa: ANN001
    """Register the catch-up job: its first run is at start-up."""
    sender = ReportSender(application)
    application.job_queue.run_repeating(sender.job, interval=interval, first=1, name="reports")
    return sender


def wake_reports(context: Ctx) -> None:
    """Make the due automatic sends now (after a submission completed a campaign, after a publication)."""
    sender = getattr(context.bot_data, "report_sender", None)
    if sender is not None:
        sender.wake()
