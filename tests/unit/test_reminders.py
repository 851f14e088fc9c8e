"""The daily checks (SPEC §7) on real dates of the seed's 2022 campaign: window ending 2022-09-28, results due
2022-10-31 (Mon), publication due 2022-10-24 (Mon). Reminder days (5, 3, 1 working days before): results on
10-24, 10-26, 10-28; publication on 10-17, 10-19, 10-21. Every assertion is on outbox rows (what will be sent)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.services import reminders
from bot.config import config_from_dict
from models import Campaign, OutboxMessage, Person
from tests.drawsetup import LEADER_TG
from tests.resultsetup import submit

CFG = config_from_dict({})
CST = dt.timezone(dt.timedelta(hours=8))


def at(day: str, time: str = "09:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}:00+08:00")


def tick(sessions, when: dt.datetime, cfg=CFG) -> reminders.TickReport:
    with sessions.begin() as s:
        return reminders.run_tick(s, cfg, when)


def rows(sessions, kind: str | None = None) -> list[OutboxMessage]:
    with sessions.begin() as s:
        q = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind is not None:
            q = q.where(OutboxMessage.dedup_key.like(f"rem:{kind}:%"))
        out = s.scalars(q).all()
        s.expunge_all()
        return out


def chat_ids(sessions, predicate) -> set[int]:
    with sessions.begin() as s:
        return {p.telegram_user_id for p in s.scalars(select(Person)) if predicate(p)}


@pytest.fixture
def done(sessions):
    """Group 1 has submitted every department's results on all of its targets; the other groups nothing."""
    return submit(sessions, n_targets=5)


def pending_inspectors(sessions, done) -> set[int]:
    """Telegram ids of the drawn inspectors outside group 1 (they have nothing submitted)."""
    from models import Assignment, DrawGroup
    with sessions.begin() as s:
        return set(s.scalars(select(Person.telegram_user_id).join(Assignment, Assignment.person_id == Person.id)
                             .join(DrawGroup, DrawGroup.id == Assignment.group_id)
                             .where(DrawGroup.draw_id == done.draw_id, DrawGroup.number != 1, Assignment.active)))


def test_tick_day_follows_the_configured_time():
    assert reminders.tick_day(at("2022-10-24", "09:00"), CFG) == dt.date(2022, 10, 24)
    assert reminders.tick_day(at("2022-10-24", "08:59"), CFG) == dt.date(2022, 10, 23)
    assert reminders.tick_day(dt.datetime(2022, 10, 24, 1, 0, tzinfo=dt.timezone.utc), CFG) == dt.date(2022, 10, 24)
    late = config_from_dict({"reminders": {"time": "18:30:15"}})
    assert reminders.tick_day(at("2022-10-24", "18:30"), late) == dt.date(2022, 10, 23)


def test_five_days_before_reaches_only_inspectors_with_pending_entries(sessions, done):
    report = tick(sessions, at("2022-10-24"))
    assert report.workday and report.day == dt.date(2022, 10, 24)
    sent = rows(sessions, "before")
    expected = pending_inspectors(sessions, done)
    assert expected and {r.chat_id for r in sent} == expected
    assert len(sent) == len(expected) == report.queued["before"]
    group1 = {done.tg(sessions, p) for ps in done.inspectors.values() for p in ps}
    assert not group1 & {r.chat_id for r in sent}  # group 1 has submitted everything
    assert "2022-10-31" in sent[0].text and "还剩 5 个工作日" in sent[0].text and "/enter" in sent[0].text


def test_a_second_tick_at_the_same_instant_adds_nothing(sessions, done):
    first = tick(sessions, at("2022-10-24"))
    before = len(rows(sessions))
    second = tick(sessions, at("2022-10-24"))
    assert first.total > 0 and second.total == 0
    assert len(rows(sessions)) == before
    # a later tick the same day (e.g. after a restart) adds nothing either
    assert tick(sessions, at("2022-10-24", "17:45")).total == 0


def test_no_reminder_on_a_holiday_or_a_weekend(sessions, done):
    for day in ("2022-10-03", "2022-10-05", "2022-10-23"):  # National Day, its holiday week, a Sunday
        report = tick(sessions, at(day))
        assert not report.workday and report.total == 0
    assert rows(sessions) == []
    # 2022-10-08 (Saturday) was a make-up working day (调休): the digest goes out
    assert tick(sessions, at("2022-10-08")).workday


def test_no_reminder_outside_the_days_before(sessions, done):
    tick(sessions, at("2022-10-20"))  # 7 working days before: no results reminder yet
    assert rows(sessions, "before") == []


def test_a_missed_reminder_is_sent_once_when_the_bot_is_back(sessions, done):
    # Down on Monday 10-24 (the 5-day reminder): Tuesday's tick sends it, once, with the real days left.
    tick(sessions, at("2022-10-25"))
    sent = rows(sessions, "before")
    assert sent and all(r.dedup_key.endswith(":2022-10-24") for r in sent)
    assert "还剩 4 个工作日" in sent[0].text
    n = len(sent)
    tick(sessions, at("2022-10-25", "15:00"))
    assert len(rows(sessions, "before")) == n
    # Wednesday: the 3-day reminder
    tick(sessions, at("2022-10-26"))
    assert len(rows(sessions, "before")) == 2 * n


def test_down_across_two_reminders_sends_only_the_latest(sessions, done):
    tick(sessions, at("2022-10-27"))  # the 5-day (10-24) and 3-day (10-26) were both missed
    sent = rows(sessions, "before")
    assert sent and all(r.dedup_key.endswith(":2022-10-26") for r in sent)
    assert len(sent) == len(pending_inspectors(sessions, done))


def test_overdue_notice_and_escalation_after_the_deadline(sessions, done):
    tick(sessions, at("2022-10-31"))  # the deadline day itself is still a day to enter
    assert rows(sessions, "overdue") == [] and rows(sessions, "escalate") == []
    tick(sessions, at("2022-11-01"))
    overdue = rows(sessions, "overdue")
    assert {r.chat_id for r in overdue} == pending_inspectors(sessions, done)
    assert "已逾期 1 个工作日" in overdue[0].text
    escalated = {r.chat_id for r in rows(sessions, "escalate")}
    with sessions.begin() as s:
        from models import DrawGroup
        leaders = {s.get(Person, g.leader_person_id).telegram_user_id for g in s.scalars(
            select(DrawGroup).where(DrawGroup.draw_id == done.draw_id, DrawGroup.number != 1))}
    coordinators = chat_ids(sessions, lambda p: p.has_role("coordinator") and p.telegram_user_id)
    assert leaders and coordinators
    assert escalated == leaders | coordinators
    # group 1 is complete: its leader is not escalated to (unless they lead another late group)
    # daily: the next working day brings new notices, the same day none
    tick(sessions, at("2022-11-01", "16:00"))
    assert len(rows(sessions, "overdue")) == len(overdue)
    tick(sessions, at("2022-11-02"))
    assert len(rows(sessions, "overdue")) == 2 * len(overdue)


def test_publication_reminder_goes_to_leaders(sessions, done):
    tick(sessions, at("2022-10-17"))  # 5 working days before 10-24
    sent = rows(sessions, "publish")
    leaders = chat_ids(sessions, lambda p: p.has_role("leader") and p.telegram_user_id)
    assert LEADER_TG in leaders and {r.chat_id for r in sent} == leaders
    assert "2022-10-24" in sent[0].text and "还剩 5 个工作日" in sent[0].text
    tick(sessions, at("2022-10-25"))
    late = rows(sessions, "publish_late")
    assert {r.chat_id for r in late} == leaders and "已逾期 1 个工作日" in late[0].text


def test_published_campaign_gets_no_reminders(sessions, done):
    with sessions.begin() as s:
        s.get(Campaign, done.campaign_id).state = "published"
    tick(sessions, at("2022-11-01"))
    assert rows(sessions) == []


def test_daily_digest_to_coordinators(sessions, done):
    tick(sessions, at("2022-10-12"))
    digest = rows(sessions, "digest")
    coordinators = chat_ids(sessions, lambda p: p.has_role("coordinator") and p.telegram_user_id)
    assert {r.chat_id for r in digest} == coordinators
    with sessions.begin() as s:
        number = s.get(Campaign, done.campaign_id).number
    assert number in digest[0].text and "2022-10-12" in digest[0].text and "2022-10-31" in digest[0].text
    tick(sessions, at("2022-10-13"))
    assert len(rows(sessions, "digest")) == 2 * len(coordinators)


def test_deadline_reports_are_listed_from_the_deadline_on(sessions, done):
    summary = (done.campaign_id, "deadline:summary:2022-09-30")  # the plan's summary date
    assert tick(sessions, at("2022-09-29")).deadline_reports == []
    assert tick(sessions, at("2022-10-21")).deadline_reports == [summary]
    report = tick(sessions, at("2022-10-24"))
    assert report.deadline_reports == [(done.campaign_id, "deadline:publication:2022-10-24"), summary]
    report = tick(sessions, at("2022-10-31"))
    assert (done.campaign_id, "deadline:results:2022-10-31") in report.deadline_reports


def test_config_overrides_move_the_days(sessions, done):
    # 10-24 declared a holiday: no reminder that day
    cfg = config_from_dict({"calendar": {"extra_holidays": ["2022-10-24"]}})
    assert not tick(sessions, at("2022-10-24"), cfg).workday
    assert rows(sessions) == []


def test_provisional_deadline_is_marked_in_the_reminder(sessions):
    """A window ending 2026-12-18: the results deadline lies in 2027, which chinesecalendar does not cover."""
    from bot.services import draws
    from bot.rules.workdays import WorkCalendar
    from tests.drawsetup import PLAN, prepare

    plan = dict(PLAN, window={"start": dt.date(2026, 12, 14), "end": dt.date(2026, 12, 18)},
                summary_due=dt.date(2027, 1, 29))
    campaign_id = prepare(sessions, plan=plan)
    with sessions.begin() as s:
        campaign = s.get(Campaign, campaign_id)
        draws.perform_draw(s, campaign, cfg=CFG, person_id=None, actor="test")
        campaign.state = "inspecting"
        due = campaign.results_due
        assert campaign.deadlines_provisional and due.year == 2027
    day = reminders._minus_workdays(WorkCalendar(), due, 5)
    tick(sessions, at(day.isoformat()))
    sent = rows(sessions, "before")
    assert sent and f"{due.isoformat()}（暂定）" in sent[0].text
