"""The statutory working-day calendar (SPEC §7)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.config import config_from_dict
from bot.rules.workdays import WorkCalendar

D = dt.date


def test_seed_deadlines_cross_national_day_and_make_up_weekend():
    cal = WorkCalendar()
    # 2022-10-01..07 National Day; Saturday 10-08 and Sunday 10-09 are make-up working days.
    assert cal.add_workdays(D(2022, 9, 28), 20) == (D(2022, 10, 31), False)
    assert cal.add_workdays(D(2022, 9, 28), 15) == (D(2022, 10, 24), False)
    assert cal.is_workday(D(2022, 10, 8)) and cal.is_workday(D(2022, 10, 9))
    assert not cal.is_workday(D(2022, 10, 3))


def test_counting_starts_the_day_after():
    cal = WorkCalendar()
    assert cal.add_workdays(D(2022, 9, 28), 1) == (D(2022, 9, 29), False)
    assert cal.add_workdays(D(2022, 9, 30), 1) == (D(2022, 10, 8), False)  # Friday → the make-up Saturday
    assert cal.add_workdays(D(2022, 9, 28), 0) == (D(2022, 9, 28), False)
    with pytest.raises(ValueError):
        cal.add_workdays(D(2022, 9, 28), -1)


def test_workdays_between_is_the_inverse_of_add():
    cal = WorkCalendar()
    assert cal.workdays_between(D(2022, 9, 28), D(2022, 10, 31)) == 20
    assert cal.workdays_between(D(2022, 9, 28), D(2022, 10, 24)) == 15
    assert cal.workdays_between(D(2022, 10, 31), D(2022, 9, 28)) == -20
    assert cal.workdays_between(D(2022, 10, 1), D(2022, 10, 7)) == 0
    assert cal.workdays_between(D(2022, 9, 28), D(2022, 9, 28)) == 0


def test_uncovered_year_falls_back_to_monday_to_friday_and_is_provisional():
    cal = WorkCalendar()
    assert cal.covered(D(2026, 12, 31)) and not cal.covered(D(2027, 1, 4))
    assert cal.is_workday(D(2027, 1, 1))  # a Friday: Monday–Friday fallback (New Year is not known yet)
    assert not cal.is_workday(D(2027, 1, 2))
    due, provisional = cal.add_workdays(D(2026, 12, 18), 20)
    assert due.year == 2027 and provisional is True
    # 20 Monday–Friday days after 2026-12-18, with 2027-01-01 counted as a working day by the fallback.
    assert due == D(2027, 1, 15)


def test_deadline_inside_a_covered_year_is_not_provisional_even_near_the_edge():
    cal = WorkCalendar()
    due, provisional = cal.add_workdays(D(2026, 12, 1), 10)
    assert due.year == 2026 and provisional is False


def test_config_overrides_days():
    cal = WorkCalendar(extra_holidays=[D(2022, 9, 29)], extra_workdays=[D(2022, 10, 1)])
    assert not cal.is_workday(D(2022, 9, 29))
    assert cal.is_workday(D(2022, 10, 1))
    assert cal.add_workdays(D(2022, 9, 28), 2) == (D(2022, 10, 1), False)


def test_config_names_days_of_an_uncovered_year_but_other_days_stay_provisional():
    # Knowing a few 2027 days does not tell the rest of the year's schedule: still 暂定.
    cal = WorkCalendar(extra_holidays=[D(2027, 1, 1)])
    assert not cal.is_workday(D(2027, 1, 1))
    assert cal.certain(D(2027, 1, 1)) and not cal.certain(D(2027, 1, 4))
    due, provisional = cal.add_workdays(D(2026, 12, 18), 20)
    assert due == D(2027, 1, 18) and provisional is True


def test_every_day_counted_named_by_config_is_firm():
    days = [D(2027, 1, 1) + dt.timedelta(days=i) for i in range(10)]
    cal = WorkCalendar(extra_holidays=days[:3], extra_workdays=days[3:])
    due, provisional = cal.add_workdays(D(2026, 12, 31), 3)
    assert due == D(2027, 1, 6) and provisional is False


def test_from_config():
    cfg = config_from_dict({"calendar": {"extra_holidays": ["2022-09-29"], "extra_workdays": []}})
    cal = WorkCalendar.from_config(cfg)
    assert not cal.is_workday(D(2022, 9, 29))
    assert cal.next_workday(D(2022, 10, 1)) == D(2022, 10, 8)
