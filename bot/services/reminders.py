"""The daily checks of SPEC §7: reminders, overdue notices, escalation, the publication reminder, the
coordinators' digest — and the reports sent on a deadline (§8). No Telegram here: everything is enqueued in the
outbox (bot.services.outbox), which delivers it.

One code path: the scheduled job of the running bot (`[reminders] time`, Asia/Shanghai) and
`python -m bot tick --now ISO-DATETIME` both call `run_tick(session, cfg, now)`.

Once only: every message carries an outbox dedup key made of its kind, campaign, person and *scheduled day*
(`rem:<kind>:<campaign>:<person>:<day>`); the key's unique constraint makes a second tick, a restart or two
bots ticking at once add nothing.

The day a tick stands for: the local date of `now` if the local time is at or after `[reminders] time`, else the
day before (a tick at 08:00 on Tuesday acts for Monday, so a Monday missed while the bot was down is caught up).
Nothing is sent for a day that is not a working day (statutory calendar, bot.rules.workdays).

Caught up once: the "N working days left" reminders are keyed by the day each was due. A tick on a working day
sends the *latest* of them that is due and not yet sent — so a bot that was down on the day of the 5-day
reminder sends it (once, with the real number of days left) when it is back, and one that was down across
the 5- and 3-day reminders sends only the 3-day one. Daily notices (overdue, escalation, digest) are keyed by
the tick's day: a day the bot missed entirely is not replayed the day after — the next notice says it all.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services import outbox
from bot.services.campaigns import date_text, provisional_marks, recompute_provisional
from bot.services.draws import current_draw
from bot.services.staffing import WITHOUT_DRAW_RECORD
from bot.texts import t
from bot.rules.workdays import WorkCalendar
from models import (Assignment, Campaign, CampaignItem, Department, DrawGroup, GroupTarget, Item, Person, Submission,
                    Target)

log = logging.getLogger(__name__)

ENTRY_STATES = ("drawn", "inspecting")  # results still being entered
PUBLICATION_STATES = ("drawn", "inspecting", "entered")  # not yet published
MAX_LISTED = 15  # targets named in one reminder; the rest are counted


@dataclass
class TickReport:
    day: dt.date  # the day the tick stood for
    workday: bool
    queued: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # kind → messages added
    # (campaign id, reason) of deadline reports due (SPEC §8): built and queued by the caller after the commit
    # (bot.services.report_sends), because building a big campaign's workbooks takes seconds; their dedup keys make it once.
    deadline_reports: list[tuple[int, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.queued.values())


def tick_day(now: dt.datetime, cfg) -> dt.date:
    """The day a tick at `now` stands for (see the module docstring)."""
    local = now.astimezone(cfg.tz)
    if local.time() < cfg.reminders.at():
        return local.date() - dt.timedelta(days=1)
    return local.date()


@dataclass(frozen=True)
class _Pending:
    """A campaign's unsubmitted (target × department) pairs, per group and per inspector."""

    campaign: Campaign
    by_person: dict[int, list[str]]  # person id → target names pending for their department
    by_group: dict[int, list[tuple[str, str]]]  # group number → (target name, department label) pending
    leaders: dict[int, int]  # group number → leader person id
    total: int


def _pending(session: Session, campaign: Campaign) -> _Pending | None:
    draw = current_draw(session, campaign.id, *WITHOUT_DRAW_RECORD)
    if draw is None:
        return None
    with_items = set(session.scalars(select(Item.department_id).join(CampaignItem, CampaignItem.item_id == Item.id)
                                     .where(CampaignItem.campaign_id == campaign.id)))
    groups = {g.id: g for g in session.scalars(select(DrawGroup).where(DrawGroup.draw_id == draw.id))}
    targets: dict[int, list[tuple[int, str]]] = defaultdict(list)  # group id → (target id, name)
    for gid, tid, name in session.execute(
            select(GroupTarget.group_id, GroupTarget.target_id, Target.name)
            .join(Target, GroupTarget.target_id == Target.id)
            .where(GroupTarget.group_id.in_(list(groups) or [-1])).order_by(GroupTarget.group_id, GroupTarget.position)):
        targets[gid].append((tid, name))
    done = set(session.execute(select(Submission.target_id, Submission.department_id)
                               .where(Submission.draw_id == draw.id)).tuples())
    members = session.execute(select(Assignment.group_id, Assignment.person_id, Assignment.department_id)
                              .where(Assignment.group_id.in_(list(groups) or [-1]), Assignment.active)
                              .order_by(Assignment.group_id, Assignment.position)).all()
    labels = {}
    by_person: dict[int, list[str]] = {}
    by_group: dict[int, list[tuple[str, str]]] = defaultdict(list)
    departments_of_group: dict[int, list[int]] = defaultdict(list)
    for gid, pid, did in members:
        if did not in with_items:
            continue
        if did not in departments_of_group[gid]:
            departments_of_group[gid].append(did)
        names = [name for tid, name in targets[gid] if (tid, did) not in done]
        if names:
            by_person[pid] = names
    if departments_of_group:
        labels = {d.id: d.label for d in session.scalars(
            select(Department).where(Department.id.in_({d for ds in departments_of_group.values() for d in ds})))}
    total = 0
    for gid, deps in departments_of_group.items():
        for tid, name in targets[gid]:
            for did in deps:
                if (tid, did) not in done:
                    by_group[groups[gid].number].append((name, labels.get(did, "")))
                    total += 1
    leaders = {g.number: g.leader_person_id for g in groups.values() if g.leader_person_id}
    return _Pending(campaign, by_person, dict(by_group), leaders, total)


def _people(session: Session, ids) -> dict[int, Person]:
    ids = list(set(ids))
    if not ids:
        return {}
    return {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))}


def _with_role(session: Session, role: str) -> list[Person]:
    people = session.scalars(select(Person).where(Person.roles.contains(role), Person.active,
                                                  Person.telegram_user_id.is_not(None)).order_by(Person.id))
    return [p for p in people if p.has_role(role)]


def _lang(person: Person, cfg) -> str:
    return person.language or cfg.bot.language


def _listing(names: list[str], lang: str) -> str:
    shown = "\n".join(f"· {n}" for n in names[:MAX_LISTED])
    if len(names) > MAX_LISTED:
        shown += "\n" + t("rem.more", lang, n=len(names) - MAX_LISTED)
    return shown


def _queue(session: Session, report: TickReport, kind: str, person: Person, text: str, key: str) -> None:
    if person.telegram_user_id is None:
        return
    if outbox.enqueue(session, chat_id=person.telegram_user_id, text=text, dedup_key=key) is not None:
        report.queued[kind] += 1


def _before_due(cal: WorkCalendar, due: dt.date, day: dt.date, thresholds) -> tuple[int, dt.date] | None:
    """The latest "N working days before `due`" reminder that is due on `day` (N, the day it was due)."""
    best: tuple[int, dt.date] | None = None
    for n in sorted(set(thresholds)):
        scheduled = _minus_workdays(cal, due, n)
        if scheduled <= day < due and (best is None or scheduled > best[1]):
            best = (n, scheduled)
    return best


def _minus_workdays(cal: WorkCalendar, due: dt.date, n: int) -> dt.date:
    """The working day d with exactly n working days in (d, due]."""
    d = due
    left = n
    while left:
        if cal.is_workday(d):
            left -= 1
        d -= dt.timedelta(days=1)
    while not cal.is_workday(d):
        d -= dt.timedelta(days=1)
    return d


def run_tick(session: Session, cfg, now: dt.datetime) -> TickReport:
    """Enqueue everything due at `now`; idempotent (see the module docstring). The deadline reports due are
    listed in the result for the caller to send (`send_deadline_reports`)."""
    cal = WorkCalendar.from_config(cfg)
    recompute_provisional(session, cfg)  # the calendar or config may cover the year of a 暂定 deadline by now
    day = tick_day(now, cfg)
    report = TickReport(day=day, workday=cal.is_workday(day))
    if not report.workday:
        return report
    coordinators = _with_role(session, "coordinator")
    leaders = _with_role(session, "leader")
    digest: list[tuple[Campaign, _Pending | None]] = []
    campaigns = session.scalars(select(Campaign).where(Campaign.state.in_(PUBLICATION_STATES))
                                .order_by(Campaign.id)).all()
    for campaign in campaigns:
        pending = _pending(session, campaign)
        if pending is None:
            continue
        digest.append((campaign, pending))
        if campaign.state in ENTRY_STATES and campaign.results_due is not None and pending.total:
            _results_reminders(session, cfg, cal, report, campaign, pending, day, coordinators)
        if campaign.publication_due is not None:
            _publication_reminders(session, cfg, cal, report, campaign, day, leaders)
        for kind, due in (("results", campaign.results_due), ("publication", campaign.publication_due),
                          ("summary", campaign.summary_due)):
            if due is not None and due <= day:
                report.deadline_reports.append((campaign.id, f"deadline:{kind}:{due.isoformat()}"))
    for person in coordinators:
        lang = _lang(person, cfg)
        lines = [_digest_line(c, p, cal, day, lang, cfg) for c, p in digest]
        if lines:
            _queue(session, report, "digest", person,
                   t("rem.digest", lang, day=day.isoformat(), lines="\n".join(lines)),
                   f"rem:digest:0:{person.id}:{day.isoformat()}")
    return report


def _results_reminders(session: Session, cfg, cal: WorkCalendar, report: TickReport, campaign: Campaign,
                       pending: _Pending, day: dt.date, coordinators: list[Person]) -> None:
    due = campaign.results_due
    provisional = provisional_marks(campaign, cfg)[0]
    due_text = {lang: date_text(due, provisional, lang) for lang in ("zh", "en")}
    people = _people(session, list(pending.by_person) + list(pending.leaders.values()))
    if day < due:
        hit = _before_due(cal, due, day, cfg.reminders.before_workdays)
        if hit is None:
            return
        _n, scheduled = hit
        left = cal.workdays_between(day, due)
        for pid, names in pending.by_person.items():
            person = people.get(pid)
            if person is None or not person.active:
                continue
            lang = _lang(person, cfg)
            _queue(session, report, "before", person,
                   t("rem.before", lang, number=campaign.number, title=campaign.title, due=due_text[lang],
                     left=left, count=len(names), targets=_listing(names, lang)),
                   f"rem:before:{campaign.id}:{pid}:{scheduled.isoformat()}")
        return
    # On and after the deadline day (the deadline day itself is the last day to enter: overdue starts after it).
    if day == due:
        return
    late = cal.workdays_between(due, day)
    for pid, names in pending.by_person.items():
        person = people.get(pid)
        if person is None or not person.active:
            continue
        lang = _lang(person, cfg)
        _queue(session, report, "overdue", person,
               t("rem.overdue", lang, number=campaign.number, title=campaign.title, due=due_text[lang], late=late,
                 count=len(names), targets=_listing(names, lang)),
               f"rem:overdue:{campaign.id}:{pid}:{day.isoformat()}")
    for number, missing in sorted(pending.by_group.items()):
        leader = people.get(pending.leaders.get(number, -1))
        if leader is None:
            continue
        lang = _lang(leader, cfg)
        _queue(session, report, "escalation", leader,
               t("rem.escalate_leader", lang, number=campaign.number, group=number, due=due_text[lang], late=late,
                 count=len(missing), targets=_listing([f"{n}（{d}）" for n, d in missing], lang)),
               f"rem:escalate:{campaign.id}:{leader.id}:{day.isoformat()}")
    for person in coordinators:
        lang = _lang(person, cfg)
        groups = "、".join(str(n) for n in sorted(pending.by_group)) if lang == "zh" else \
            ", ".join(str(n) for n in sorted(pending.by_group))
        _queue(session, report, "escalation", person,
               t("rem.escalate_coordinator", lang, number=campaign.number, title=campaign.title, due=due_text[lang],
                 late=late, count=pending.total, groups=groups),
               f"rem:escalate:{campaign.id}:{person.id}:{day.isoformat()}")


def _publication_reminders(session: Session, cfg, cal: WorkCalendar, report: TickReport, campaign: Campaign,
                           day: dt.date, leaders: list[Person]) -> None:
    due = campaign.publication_due
    if day < due:
        hit = _before_due(cal, due, day, cfg.reminders.before_workdays)
        if hit is None:
            return
        key_day, kind, left = hit[1], "publish", cal.workdays_between(day, due)
    elif day == due:
        key_day, kind, left = day, "publish", 0
    else:
        key_day, kind, left = day, "publish_late", cal.workdays_between(due, day)
    provisional = provisional_marks(campaign, cfg)[1]
    for person in leaders:
        lang = _lang(person, cfg)
        due_s = date_text(due, provisional, lang)
        key = "rem.publish_late" if kind == "publish_late" else "rem.publish"
        ready = t("rem.publish_ready" if campaign.state == "entered" else "rem.publish_waiting", lang)
        _queue(session, report, kind, person,
               t(key, lang, number=campaign.number, title=campaign.title, due=due_s, left=left, late=left, ready=ready),
               f"rem:{kind}:{campaign.id}:{person.id}:{key_day.isoformat()}")


def _digest_line(campaign: Campaign, pending: _Pending | None, cal: WorkCalendar, day: dt.date, lang: str,
                 cfg) -> str:
    due = campaign.results_due
    res, pub = provisional_marks(campaign, cfg)
    status = ""
    if due is not None and campaign.state in ENTRY_STATES:
        status = t("rem.digest_late", lang, late=cal.workdays_between(due, day)) if day > due else \
            t("rem.digest_left", lang, left=cal.workdays_between(day, due))
    return t("rem.digest_line", lang, number=campaign.number, title=campaign.title,
             missing=pending.total if pending else 0, due=date_text(due, res, lang),
             publication=date_text(campaign.publication_due, pub, lang), status=status)


def daily_checks(sessions, cfg, now: dt.datetime, *, send_reports=None) -> TickReport:
    """The scheduled job's and `python -m bot tick`'s one code path: the tick in one transaction, then the
    deadline reports (built outside it: a big campaign's workbooks take seconds). `send_reports(sessions,
    campaign_id, reason, now)` → documents queued (bot.services.report_sends); the outbox delivers everything."""
    with sessions.begin() as session:
        report = run_tick(session, cfg, now)
    if send_reports is not None:
        for campaign_id, reason in report.deadline_reports:
            try:
                n = send_reports(sessions, campaign_id, reason, now)
            except Exception:  # noqa: BLE001 — one campaign's report must not stop the others' (retried next tick)
                log.exception("deadline reports of campaign %s (%s) failed", campaign_id, reason)
                continue
            if n:
                report.queued["report"] += n
    log.info("daily checks for %s (%s): %s", report.day.isoformat(),
             "working day" if report.workday else "not a working day", dict(report.queued) or "nothing due")
    return report
