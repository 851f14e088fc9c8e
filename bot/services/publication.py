"""Publication (公示, SPEC §7/§8): a leader publishes a campaign whose results are all in.

Publication lateness is counted in statutory working days (bot.rules.workdays) after `publication_due`: published on
the day after a Friday deadline that is a Saturday is late by 1 calendar day and 0 working days, and is
flagged with the calendar days instead.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services.refusal import Refusal
from bot.services import audit, outbox
from bot.config import Config
from bot.services.result_entry import progress
from bot.texts import t
from bot.rules.workdays import WorkCalendar
from models import (Result)
from bot.services.campaigns import lock_campaign

log = logging.getLogger(__name__)

PUBLISH_ACTION = "campaign.publish"

class PublishRefused(Refusal):
    """Publication refused; nothing was written."""


@dataclass(frozen=True)
class PublishOutcome:
    campaign_id: int
    number: str
    title: str
    published_on: dt.date
    publication_due: dt.date | None
    late_days: int  # calendar days after publication_due (0: on time)
    late_workdays: int  # working days after publication_due (statutory calendar)
    targets: int
    problems: int  # targets with a problem code (SPEC §6.10)
    reason: str  # the automatic send's reason: `published:<date>`

    @property
    def late(self) -> bool:
        return self.late_days > 0


def publish(session: Session, campaign_id: int, *, person_id: int, today: dt.date, cfg: Config) -> PublishOutcome:
    """Mark the campaign published (已公示) today. Refused (PublishRefused) when it was published already, has
    no draw, or results are missing. Late publication (after `publication_due`) is counted in working days on
    the statutory calendar (with `cfg`'s extra days) and recorded in the audit entry; the targets with a problem
    are counted by `cfg`'s problem codes."""
    campaign = lock_campaign(session, campaign_id)  # two leaders at once: the second sees the first's date
    if campaign.published_on is not None or campaign.state in ("published", "closed"):
        raise PublishRefused("report.publish.already", number=campaign.number,
                             date=campaign.published_on.isoformat() if campaign.published_on else "—")
    p = progress(session, campaign_id)
    if p.draw_id is None:
        raise PublishRefused("report.publish.not_drawn", number=campaign.number)
    if not p.complete:
        raise PublishRefused("report.publish.incomplete", number=campaign.number, missing=p.expected - p.entered,
                             entered=p.entered, expected=p.expected)
    due = campaign.publication_due
    late_days = max(0, (today - due).days) if due else 0
    calendar = WorkCalendar.from_config(cfg)
    late_workdays = calendar.workdays_between(due, today) if late_days else 0
    before = campaign.state
    campaign.state = "published"
    campaign.published_on = today
    problem_targets = session.scalars(
        select(Result.target_id).where(Result.draw_id == p.draw_id, Result.code.in_(sorted(cfg.code_set.problems)))
        .distinct()).all()
    audit.record(session, actor=f"person:{person_id}", action=PUBLISH_ACTION, subject=f"campaign:{campaign_id}",
                 data={"campaign": campaign.number, "published_on": today.isoformat(),
                       "publication_due": due.isoformat() if due else None, "late_days": late_days,
                       "late_workdays": late_workdays, "state": [before, "published"], "draw": p.draw_id})
    session.flush()
    return PublishOutcome(campaign_id=campaign.id, number=campaign.number, title=campaign.title, published_on=today,
                          publication_due=due, late_days=late_days, late_workdays=late_workdays,
                          targets=sum(g.targets for g in p.groups), problems=len(problem_targets),
                          reason=f"published:{today.isoformat()}")


def lateness_text(outcome: PublishOutcome, lang: str) -> str:
    """`⚠️ 已超过公示期限 N 个工作日（公示截止 …）`, or the on-time line; "" without a deadline."""
    due = outcome.publication_due
    if due is None:
        return ""
    if not outcome.late:
        return t("report.publish.on_time", lang, due=due.isoformat())
    if outcome.late_workdays:
        return t("report.publish.late", lang, workdays=outcome.late_workdays, due=due.isoformat())
    return t("report.publish.late_days", lang, days=outcome.late_days, due=due.isoformat())


def tell_group(session: Session, outcome: PublishOutcome, *, group_chat_id: int | None, cfg: Config, today: dt.date,
               who: str) -> None:
    """The line in the bound group that the campaign is published (once per campaign and day)."""
    if not group_chat_id:
        return
    lang = cfg.bot.language
    outbox.enqueue(session, chat_id=group_chat_id, dedup_key=f"publish:{outcome.campaign_id}:{today}:group",
                   text=t("report.publish.group", lang, number=outcome.number, title=outcome.title,
                          date=today.isoformat(), targets=outcome.targets, problems=outcome.problems, who=who,
                          late=lateness_text(outcome, lang)))
