"""The daily checks in the running bot (SPEC §7): PTB's JobQueue runs `bot.services.reminders.daily_checks` at
`[reminders] time` (local time zone) every day — the checks themselves skip non-working days — and once shortly
after start-up, so a day missed while the bot was down is caught up. `python -m bot tick` runs the same code."""

from __future__ import annotations

import asyncio
import functools
import logging

from telegram.ext import Application, ContextTypes

from bot.services import reminders
from models import utcnow

log = logging.getLogger(__name__)

CATCH_UP_DELAY = 3.0  # seconds after start-up


def _send_reports(cfg):
    from bot.services.report_sends import send_deadline_reports

    return functools.partial(send_deadline_reports, cfg=cfg)


async def daily_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    services = context.application.bot_data
    try:
        report = await asyncio.to_thread(reminders.daily_checks, services.sessions, services.cfg, utcnow(),
                                         send_reports=_send_reports(services.cfg))
    except Exception:  # noqa: BLE001 — e.g. the database is briefly away: the next run catches up
        log.exception("daily checks failed")
        return
    if report.total and services.outbox_worker is not None:
        services.outbox_worker.wake()


def schedule(app: Application) -> None:
    cfg = app.bot_data.cfg
    if not cfg.reminders.enabled or app.job_queue is None:
        return
    app.job_queue.run_daily(daily_job, time=cfg.reminders.at().replace(tzinfo=cfg.tz), name="daily-checks")
    app.job_queue.run_once(daily_job, when=CATCH_UP_DELAY, name="daily-checks-catch-up")
