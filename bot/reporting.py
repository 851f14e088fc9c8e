"""Reports on the database (SPEC §8): the data the workbook builders read, the automatic sends to the
coordinators, and publication (公示). No Telegram here; functions that take a session leave the commit to the
caller.

- `load_report` reads a campaign into a `reports.data.CampaignReport` with a handful of bulk queries (no query per
  target): only *submitted* results count (drafts never), only *active* assignments are a group's inspectors.
- Building the workbooks takes seconds for a big campaign, and on SQLite every transaction holds the write lock
  (BEGIN IMMEDIATE, bot.db): load inside a short transaction, build outside it (`send_reports` and the handlers
  do; `build_reports` is the one-call form for a caller that does not share the database, e.g. the CLI).
- `enqueue_reports` adds one sendDocument outbox row per file and recipient, keyed
  `report:<campaign>:<reason>:<person>:<kind>`, and notes in the audit log (`report.send`, subject
  `campaign:<id>:<reason>`) that the reports of that reason went out.

Once-only automatic sends. The last submission of a campaign moves it to "entered" in the submission's own
transaction (bot.entry.submit); that committed state *is* the durable job "send the entered reports", so nothing
slow runs inside the submission and nothing can be lost between the submit and the send. `pending_sends` finds
every campaign whose reports of a reason are due and not yet noted in the audit log:

- state entered (or already published) → reason `entered:<draw id>`: the five files to the coordinators;
- state published → reason `published:<date>`: the 公示 workbook to the coordinators and the publishing leader.

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

Publication lateness is counted in statutory working days (bot.workdays) after `publication_due`: published on
the day after a Friday deadline that is a Saturday is late by 1 calendar day and 0 working days, and is
flagged with the calendar days instead.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import audit, outbox
from bot.config import Config
from bot.draw_notices import draw_sheet_data, group_views
from bot.draws import current_draw
from bot.entry import PROBLEM_CODES, progress
from bot.staffing import WITHOUT_DRAW_RECORD
from bot.texts import CATALOG, t
from bot.workdays import WorkCalendar
from models import (Assignment, AuditEntry, Campaign, CampaignDepartment, CampaignItem, DrawGroup, FollowUp,
                    GroupTarget, Item, Person, Result, Submission, Target)
from reports import REPORT_FILES, build_all, build_report
from reports.data import (CampaignReport, DepartmentBlock, DepartmentInfo, FollowUpInfo, Inspector, ItemResult,
                          TargetRecord)

log = logging.getLogger(__name__)

CHUNK = 900  # SQLite's bound-parameter limit (999 on old builds)
SEND_ACTION = "report.send"
PUBLISH_ACTION = "campaign.publish"
ENQUEUE_ATTEMPTS = 3  # the audit chain's unique prev_hash may make a concurrent writer retry (bot.audit)

# Short names of the files of SPEC §8 (reports.REPORT_FILES, in the order sent) for dedup keys and `kinds`.
KINDS = dict(zip(REPORT_FILES, ("record", "statistics", "summary", "publicity", "draw"), strict=True))


def file_kind(filename: str) -> str:
    """The stable short name of a report file (`record`, `statistics`, …): its name is f"{number}_{kind}.xlsx"."""
    for full, kind in KINDS.items():
        if filename.endswith(f"_{full}.xlsx"):
            return kind
    return re.sub(r"[^0-9A-Za-z]+", "", filename)[-20:] or "file"


def _county(department_name: str) -> str:
    """西华县文化广电和旅游局 → 西华县: the office's county, for the workbooks' titles."""
    m = re.match(r"^(.+?(?:自治县|自治旗|县|市|区|旗))", department_name)
    return m.group(1) if m else ""


def _chunks(values: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _amount(value) -> str | None:
    if value is None:
        return None
    return f"{Decimal(value):.2f}"


# ------------------------------------------------------------------------------------------------ the data

def load_report(session: Session, campaign_id: int, *, cfg: Config, now: dt.datetime) -> CampaignReport:
    """Everything the five workbooks show of a campaign, as plain data (its current draw; submitted results)."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise LookupError(f"no campaign {campaign_id}")
    cds = session.scalars(select(CampaignDepartment).where(CampaignDepartment.campaign_id == campaign_id)
                          .order_by(CampaignDepartment.position, CampaignDepartment.id)).all()
    items: dict[int, list[Item]] = defaultdict(list)
    for ci in session.scalars(select(CampaignItem).where(CampaignItem.campaign_id == campaign_id)
                              .order_by(CampaignItem.position, CampaignItem.id)):
        items[ci.item.department_id].append(ci.item)
    with_items = [cd for cd in cds if items.get(cd.department_id)]

    draw = current_draw(session, campaign_id)
    targets: list[TargetRecord] = []
    inspectors_per_dept: dict[int, set[int]] = defaultdict(set)
    draw_data = None
    if draw is not None:
        groups = {g.id: g for g in session.scalars(select(DrawGroup).where(DrawGroup.draw_id == draw.id))}
        # The groups' active inspectors, as drawn (a replacement takes its predecessor's position).
        members: dict[int, list[Assignment]] = defaultdict(list)
        for a in session.scalars(select(Assignment).join(DrawGroup, DrawGroup.id == Assignment.group_id)
                                 .where(DrawGroup.draw_id == draw.id, Assignment.active)
                                 .order_by(DrawGroup.number, Assignment.position, Assignment.id)):
            members[a.group_id].append(a)
            inspectors_per_dept[a.department_id].add(a.person_id)
        leader_ids = sorted({g.leader_person_id for g in groups.values() if g.leader_person_id})
        leader_names: dict[int, str] = {}
        for chunk in _chunks(leader_ids):
            for pid, name in session.execute(select(Person.id, Person.name).where(Person.id.in_(chunk))):
                leader_names[pid] = name
        group_inspectors = {
            gid: tuple(Inspector(name=a.person.name, department=a.department.name, cert_no=a.person.cert_no or "",
                                 is_leader=a.person_id == groups[gid].leader_person_id) for a in assigned)
            for gid, assigned in members.items()}

        # Submitted results only: a Submission and its Results are written together by bot.entry.submit; drafts
        # (result_drafts) are never read here.
        submitted: dict[tuple[int, int], tuple[str, dt.date]] = {}
        for tid, did, day, name in session.execute(
                select(Submission.target_id, Submission.department_id, Submission.inspection_date, Person.name)
                .join(Person, Person.id == Submission.person_id).where(Submission.draw_id == draw.id)):
            submitted[(tid, did)] = (name, day)
        follow_ups: dict[int, FollowUpInfo] = {}
        for fu in session.scalars(select(FollowUp).join(Result, Result.id == FollowUp.result_id)
                                  .where(Result.draw_id == draw.id)):
            follow_ups[fu.result_id] = FollowUpInfo(
                state=fu.state, measures=tuple(fu.measures or ()), penalty_amount=_amount(fu.penalty_amount),
                closed_on=fu.closed_on, note=fu.note)
        results: dict[tuple[int, int], tuple[int, str | None, FollowUpInfo | None]] = {}
        for rid, tid, iid, code, note in session.execute(
                select(Result.id, Result.target_id, Result.item_id, Result.code, Result.note)
                .where(Result.draw_id == draw.id)):
            results[(tid, iid)] = (code, note, follow_ups.get(rid))

        # Plain values out of the ORM objects once: the loop below runs for every target × department × item.
        specs = [(cd.department_id, cd.department.name, cd.department.label,
                  [(i.id, i.name, i.content) for i in items[cd.department_id]]) for cd in with_items]
        # A department not submitted yet looks the same on every target: one shared (immutable) block.
        not_submitted = {did: DepartmentBlock(department=name, label=label, items=tuple(
            ItemResult(item=iname, content=content, code=None) for _iid, iname, content in its))
            for did, name, label, its in specs}
        group_info = {gid: (g.number, leader_names.get(g.leader_person_id), group_inspectors.get(gid, ()))
                      for gid, g in groups.items()}
        rows = session.execute(
            select(GroupTarget.group_id, Target.id, Target.name, Target.uscc, Target.legal_rep, Target.address,
                   Target.credit_class)
            .join(Target, Target.id == GroupTarget.target_id)
            .join(DrawGroup, DrawGroup.id == GroupTarget.group_id).where(DrawGroup.draw_id == draw.id)
            .order_by(DrawGroup.number, GroupTarget.position, GroupTarget.id)).all()
        none = (None, None, None)
        for gid, tid, name, uscc, legal_rep, address, credit_class in rows:
            blocks = []
            for did, dname, label, its in specs:
                sub = submitted.get((tid, did))
                if sub is None:
                    blocks.append(not_submitted[did])
                    continue
                answers = []
                for iid, iname, content in its:
                    code, note, follow = results.get((tid, iid), none)
                    answers.append(ItemResult(item=iname, content=content, code=code, note=note, follow_up=follow))
                blocks.append(DepartmentBlock(department=dname, label=label, items=tuple(answers), submitted=True,
                                              submitted_by=sub[0], inspection_date=sub[1]))
            number, leader, inspectors = group_info[gid]
            targets.append(TargetRecord(
                group_number=number, group_leader=leader, name=name, uscc=uscc, legal_rep=legal_rep,
                address=address, credit_class=credit_class, inspectors=inspectors, departments=tuple(blocks)))
        known = {r.uscc: r for r in rows}  # the drawn targets, already read: not read again for 抽取结果
        draw_data = draw_sheet_data(draw, campaign, group_views(session, draw, known), cfg.tz)

    departments = [DepartmentInfo(name=cd.department.name, label=cd.department.label,
                                  items=tuple(i.name for i in items.get(cd.department_id, ())),
                                  inspectors=len(inspectors_per_dept.get(cd.department_id, ())),
                                  cooperating=cd.cooperating) for cd in cds]
    return CampaignReport(
        number=campaign.number, title=campaign.title, lead_department=campaign.lead_department.name,
        window_start=campaign.window_start, window_end=campaign.window_end, results_due=campaign.results_due,
        publication_due=campaign.publication_due, deadlines_provisional=campaign.deadlines_provisional,
        published_on=campaign.published_on, state=campaign.state, codes=dict(cfg.codes), departments=departments,
        targets=targets,
        # openpyxl cannot write time zones: the office's local time, naive
        generated_at=now.astimezone(cfg.tz).replace(tzinfo=None, microsecond=0), draw=draw_data,
        county=_county(campaign.lead_department.name),
        extra={"campaign_id": campaign.id, "draw_id": draw.id if draw else None})


def build_steps(report: CampaignReport,
                kinds: Iterable[str] | None = None) -> list[tuple[str, Callable[[], tuple[str, bytes] | None]]]:
    """The workbooks one at a time, for a caller that shows progress: (label, build) in SPEC §8's order; a build
    gives (filename, bytes), or None for a file there is nothing for (抽取结果 before a draw). `kinds` (e.g.
    ("publicity",)) keeps only some."""
    wanted = set(KINDS.values()) if kinds is None else set(kinds)
    return [(full, functools.partial(build_report, full, report)) for full, kind in KINDS.items() if kind in wanted
            and (kind != "draw" or report.draw is not None)]


def build_files(report: CampaignReport, kinds: Iterable[str] | None = None) -> list[tuple[str, bytes]]:
    """The workbooks as (filename, bytes), in SPEC §8's order (reports.build_all); `kinds` keeps only some."""
    if kinds is None:
        return build_all(report)
    return [f for f in (build() for _label, build in build_steps(report, kinds)) if f is not None]


def build_reports(session: Session, campaign_id: int, *, cfg: Config, now: dt.datetime) -> list[tuple[str, bytes]]:
    """load_report + the builders, in one call. The build runs inside the caller's transaction: the bot's own
    code loads in a transaction and builds outside it (see the module docstring)."""
    return build_files(load_report(session, campaign_id, cfg=cfg, now=now))


# ------------------------------------------------------------------------------------------------ sending

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


def _lock_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.execute(select(Campaign).where(Campaign.id == campaign_id).with_for_update(of=Campaign)
                               .execution_options(populate_existing=True)).scalar_one_or_none()
    if campaign is None:
        raise LookupError(f"no campaign {campaign_id}")
    return campaign


def enqueue_reports(session: Session, campaign_id: int, *, cfg: Config, now: dt.datetime, reason: str,
                    files: Sequence[tuple[str, bytes]], also: Iterable[int] = ()) -> int:
    """One sendDocument outbox row per file for each coordinator (and each person id in `also`, if bound), keyed
    `report:<campaign>:<reason>:<person>:<kind>`: the same reason never sends a file twice to anyone. Notes the
    send in the audit log the first time. Returns the number of rows added."""
    campaign = _lock_campaign(session, campaign_id)  # serializes two senders of one campaign (module docstring)
    recipients = {p.id: p for p in coordinators(session)}
    extra = [pid for pid in also if pid not in recipients]
    for chunk in _chunks(extra):
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
                out.append(PendingSend(campaign.id, reason, ("publicity",), (publisher,) if publisher else ()))
    return out


def send_reports(sessions: sessionmaker[Session], campaign_id: int, *, cfg: Config, now: dt.datetime, reason: str,
                 kinds: Iterable[str] | None = None, also: Iterable[int] = ()) -> int:
    """Load (one transaction), build (none open), enqueue and note (one transaction). Returns the rows added.
    Once per reason: a reason already noted in the audit log adds nothing and builds nothing (so a daily tick
    may ask again). Synchronous: the bot runs it in a worker thread."""
    with sessions.begin() as session:
        if already_sent(session, campaign_id, reason):
            return 0
        report = load_report(session, campaign_id, cfg=cfg, now=now)
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
    """The daily tick's deadline send (bot.reminders.daily_checks), reason `deadline:<kind>:<date>`: the five
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

class PublishRefused(Exception):
    """Publication refused; `key` names the text, `params` fill it. Nothing was written."""

    def __init__(self, key: str, **params):
        super().__init__(key)
        self.key = key
        self.params = params


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


def publish(session: Session, campaign_id: int, *, person_id: int, today: dt.date,
            cfg: Config | None = None) -> PublishOutcome:
    """Mark the campaign published (已公示) today. Refused (PublishRefused) when it was published already, has
    no draw, or results are missing. Late publication (after `publication_due`) is counted in working days on
    the statutory calendar (with `cfg`'s extra days) and recorded in the audit entry."""
    campaign = _lock_campaign(session, campaign_id)  # two leaders at once: the second sees the first's date
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
    calendar = WorkCalendar.from_config(cfg) if cfg is not None else WorkCalendar()
    late_workdays = calendar.workdays_between(due, today) if late_days else 0
    before = campaign.state
    campaign.state = "published"
    campaign.published_on = today
    problem_targets = session.scalars(
        select(Result.target_id).where(Result.draw_id == p.draw_id, Result.code.in_(sorted(PROBLEM_CODES)))
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
