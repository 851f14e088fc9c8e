"""The reports' sends to the coordinators (SPEC §8), automatic and on request. No messenger code here.

- `enqueue_reports` adds one sendDocument outbox row per file and recipient, keyed
  `report:<campaign>:<reason>:<person>:<kind>`, and notes in the audit log (`report.send`, subject
  `campaign:<id>:<reason>`) that the reports of that reason went out.

Once-only automatic sends. The last submission of a campaign moves it to "entered" in the submission's own
transaction (bot.services.result_entry.submit); that committed state *is* the durable job "send the entered reports", so nothing
slow runs inside the submission and nothing can be lost between the submit and the send. `pending_sends` finds
every campaign whose reports of a reason are due and not yet noted in the audit log:

- state entered (or already published) → reason `entered:<draw id>`: the five files to the coordinators;
- state published → reason `published:<date>`: the 公示 workbook and the draw's verification page (SPEC §5.11) to
  the coordinators and the publishing leader.

`send_pending` runs them (load in one transaction → build with no transaction open → enqueue and note in one
transaction that first locks the campaign row and checks the note again). It runs right after a submission that
completed a campaign and after a /publish, at start-up and every minute (handlers.report). A crash before the
enqueueing transaction commits leaves no note, so the next run builds and sends; a crash after it leaves rows in
the outbox, which delivers them. Two runs racing (two processes, or a run and a late duplicate) serialize on the
campaign row lock (PostgreSQL; SQLite's writer lock serializes anyway), and the second finds the note; even
without it the dedup keys would add nothing. The outbox's own window remains (a crash after Telegram accepted a
document and before the row was marked sent re-sends that one document).

Recipients are the coordinators bound at the time of the send; a coordinator bound later does not get the past
sends and asks with /report. Deadline sends (issue 6's daily tick) call `send_reports(…,
reason=f"deadline:{kind}:{date}")`: the dedup keys make each happen once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.services import audit, outbox
from bot.config import Config
from bot.services.draws import current_draw
from bot.services.staffing import WITHOUT_DRAW_RECORD
from bot.texts import CATALOG, t
from models import (AuditEntry, Campaign, Person)

log = logging.getLogger(__name__)
from bot.services.campaigns import lock_campaign
from bot.services.publication import PUBLISH_ACTION
from bot.services.report_data import PAGE, build_files, chunks, file_kind, load_report

SEND_ACTION = "report.send"
ENQUEUE_ATTEMPTS = 3  # the audit chain's unique prev_hash may make a concurrent writer retry (bot.services.audit)

def coordinators(session: Session) -> list[Person]:
    """People with the coordinator role who are active and bound to Telegram, by id."""
    people = session.scalars(select(Person).where(Person.active, Person.telegram_user_id.is_not(None),
                                                  Person.roles.like("%coordinator%")).order_by(Person.id))
    return [p for p in people if p.has_role("coordinator")]


def _caption(campaign: Campaign, reason: str, lang: str, i: int, n: int) -> str:
    kind, _, rest = reason.partition(":")
    params = {"number": campaign.number, "title": campaign.title, "i": i, "n": n}
    if kind == "entered":
        return t("report.caption.entered", lang, **params)
    if kind == "published":
        return t("report.caption.published", lang, date=rest, **params)
    if kind == "deadline":
        which, _, day = rest.partition(":")
        key = f"report.deadline.{which}"
        label = t(key, lang) if key in CATALOG else which
        return t("report.caption.deadline", lang, deadline=label, date=day, **params)
    return t("report.caption.other", lang, **params)


def _subject(campaign_id: int, reason: str) -> str:
    return f"campaign:{campaign_id}:{reason}"


def already_sent(session: Session, campaign_id: int, reason: str) -> bool:
    """Whether the reports of `reason` were enqueued (the audit note of `enqueue_reports`)."""
    return session.scalar(select(AuditEntry.id).where(AuditEntry.action == SEND_ACTION,
                                                      AuditEntry.subject == _subject(campaign_id, reason))
                          .limit(1)) is not None


def enqueue_reports(session: Session, campaign_id: int, *, cfg: Config, now: dt.datetime, reason: str,
                    files: Sequence[tuple[str, bytes]], also: Iterable[int] = ()) -> int:
    """One sendDocument outbox row per file for each coordinator (and each person id in `also`, if bound), keyed
    `report:<campaign>:<reason>:<person>:<kind>`: the same reason never sends a file twice to anyone. Notes the
    send in the audit log the first time. Returns the number of rows added."""
    campaign = lock_campaign(session, campaign_id)  # serializes two senders of one campaign (module docstring)
    recipients = {p.id: p for p in coordinators(session)}
    extra = [pid for pid in also if pid not in recipients]
    for chunk in chunks(extra):
        for p in session.scalars(select(Person).where(Person.id.in_(chunk), Person.active,
                                                      Person.telegram_user_id.is_not(None))):
            recipients[p.id] = p
    added = 0
    for person in sorted(recipients.values(), key=lambda p: p.id):
        lang = person.language or cfg.bot.language
        for i, (name, data) in enumerate(files, 1):
            row = outbox.enqueue(session, chat_id=person.telegram_user_id, method=outbox.SEND_DOCUMENT,
                                 document=data, filename=name, caption=_caption(campaign, reason, lang, i, len(files)),
                                 dedup_key=f"report:{campaign_id}:{reason}:{person.id}:{file_kind(name)}")
            added += row is not None
    if not already_sent(session, campaign_id, reason):
        audit.record(session, actor="system", action=SEND_ACTION, subject=_subject(campaign_id, reason),
                     data={"campaign": campaign.number, "reason": reason, "files": [name for name, _ in files],
                           "recipients": sorted(recipients), "rows": added}, at=now)
    session.flush()
    return added


@dataclass(frozen=True)
class PendingSend:
    campaign_id: int
    reason: str
    kinds: tuple[str, ...] | None  # None: all five
    also: tuple[int, ...] = ()  # person ids besides the coordinators


def _publisher(session: Session, campaign_id: int) -> int | None:
    actor = session.scalar(select(AuditEntry.actor).where(AuditEntry.action == PUBLISH_ACTION,
                                                          AuditEntry.subject == f"campaign:{campaign_id}")
                           .order_by(AuditEntry.id.desc()).limit(1))
    if actor and actor.startswith("person:") and actor[7:].isdigit():
        return int(actor[7:])
    return None


def pending_sends(session: Session) -> list[PendingSend]:
    """The automatic sends that are due and not yet made (see the module docstring)."""
    out: list[PendingSend] = []
    for campaign in session.scalars(select(Campaign).where(Campaign.state.in_(("entered", "published")))
                                    .order_by(Campaign.id)):
        draw = current_draw(session, campaign.id, *WITHOUT_DRAW_RECORD)
        if draw is not None and not already_sent(session, campaign.id, f"entered:{draw.id}"):
            out.append(PendingSend(campaign.id, f"entered:{draw.id}", None))
        if campaign.state == "published" and campaign.published_on is not None:
            reason = f"published:{campaign.published_on.isoformat()}"
            if not already_sent(session, campaign.id, reason):
                publisher = _publisher(session, campaign.id)
                out.append(PendingSend(campaign.id, reason, ("publicity", PAGE), (publisher,) if publisher else ()))
    return out


def send_reports(sessions: sessionmaker[Session], campaign_id: int, *, cfg: Config, now: dt.datetime, reason: str,
                 kinds: Iterable[str] | None = None, also: Iterable[int] = ()) -> int:
    """Load (one transaction), build (none open), enqueue and note (one transaction). Returns the rows added.
    Once per reason: a reason already noted in the audit log adds nothing and builds nothing (so a daily tick
    may ask again). Synchronous: the bot runs it in a worker thread."""
    kinds = tuple(kinds) if kinds is not None else None
    with sessions.begin() as session:
        if already_sent(session, campaign_id, reason):
            return 0
        report = load_report(session, campaign_id, cfg=cfg, now=now, with_page=kinds is not None and PAGE in kinds)
    files = build_files(report, kinds)
    also = tuple(also)
    for attempt in range(1, ENQUEUE_ATTEMPTS + 1):
        try:
            with sessions.begin() as session:
                return enqueue_reports(session, campaign_id, cfg=cfg, now=now, reason=reason, files=files, also=also)
        except IntegrityError:
            if attempt == ENQUEUE_ATTEMPTS:
                raise
            log.info("reports of campaign %s (%s) retried after a concurrent write", campaign_id, reason)
    return 0  # not reached


def send_deadline_reports(sessions: sessionmaker[Session], campaign_id: int, reason: str, now: dt.datetime, *,
                          cfg: Config | None = None) -> int:
    """The daily tick's deadline send (bot.services.reminders.daily_checks), reason `deadline:<kind>:<date>`: the five
    files to the coordinators, once per reason. Pass `cfg` (functools.partial); without it the configuration is
    read the way the CLI reads it by default (BOT_CONFIG or ./config.toml)."""
    if cfg is None:
        from bot.config import load_config

        cfg = load_config(None)
    return send_reports(sessions, campaign_id, cfg=cfg, now=now, reason=reason)


def send_pending(sessions: sessionmaker[Session], *, cfg: Config, now: dt.datetime) -> int:
    """Make every due automatic send (`pending_sends`). Returns the outbox rows added."""
    with sessions.begin() as session:
        pending = pending_sends(session)
    added = 0
    for p in pending:
        added += send_reports(sessions, p.campaign_id, cfg=cfg, now=now, reason=p.reason, kinds=p.kinds, also=p.also)
        log.info("reports of campaign %s sent (%s)", p.campaign_id, p.reason)
    return added


# ------------------------------------------------------------------------------------------------ publication
