"""The statutory working-day calendar (SPEC §7): holidays and make-up working days (调休) from `chinesecalendar`,
plus `[calendar] extra_holidays / extra_workdays` from config.toml. No Telegram here.

"N working days after D" counts from the day after D: with the window ending 2022-09-28, 20 working days
(results due) is 2022-10-31 and 15 (publication due) is 2022-10-24 — the 2022 National Day holiday and its two
make-up Saturdays/Sundays are taken into account.

A year `chinesecalendar` does not cover yet (it publishes each year's schedule once the State Council announces
it, usually in the preceding November or December) falls back to Monday–Friday. A deadline counted across such
a year is *provisional* (暂定). Config can settle single days: a day listed in `extra_holidays` or
`extra_workdays` is known for certain. A plain weekday or weekend of an uncovered year that config does not
name is a guess — the holiday schedule of that year may move it — so any counted day of that kind makes the
result provisional. (Listing a few known 2027 holidays therefore does not make a January 2027 deadline firm;
upgrading `chinesecalendar` does, and `campaigns.recompute_provisional` then settles the stored deadlines.)
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Iterable

import chinese_calendar

ONE_DAY = dt.timedelta(days=1)


@lru_cache(maxsize=None)
def calendar_covers_year(year: int) -> bool:
    """Whether the installed `chinesecalendar` has the statutory schedule of `year`."""
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


class WorkCalendar:
    """Working days: config overrides first, then `chinesecalendar`, then Monday–Friday for uncovered years."""

    def __init__(self, extra_holidays: Iterable[dt.date] = (), extra_workdays: Iterable[dt.date] = ()) -> None:
        self.extra_holidays = frozenset(extra_holidays)
        # A day in both lists is a config mistake; the working day wins (it is checked first in is_workday).
        self.extra_workdays = frozenset(extra_workdays)

    @classmethod
    def from_config(cls, cfg) -> "WorkCalendar":
        return cls(cfg.calendar.extra_holidays, cfg.calendar.extra_workdays)

    def covered(self, d: dt.date) -> bool:
        """Whether the statutory calendar covers the year of `d` (config overrides aside)."""
        return calendar_covers_year(d.year)

    def certain(self, d: dt.date) -> bool:
        """Whether `is_workday(d)` is known for sure: the year is covered, or config names the day."""
        return d in self.extra_holidays or d in self.extra_workdays or self.covered(d)

    def is_workday(self, d: dt.date) -> bool:
        if d in self.extra_workdays:
            return True
        if d in self.extra_holidays:
            return False
        if self.covered(d):
            return bool(chinese_calendar.is_workday(d))
        return d.weekday() < 5

    def add_workdays(self, d: dt.date, n: int) -> tuple[dt.date, bool]:
        """The day `n` working days after `d` (counting from the day after `d`), and whether it is provisional
        (some day walked over lies in an uncovered year and is not named by config). n = 0 gives `d`."""
        if n < 0:
            raise ValueError("n must not be negative")
        day, left, provisional = d, n, False
        while left:
            day += ONE_DAY
            if not self.certain(day):
                provisional = True
            if self.is_workday(day):
                left -= 1
        return day, provisional

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days d with start < d ≤ end (negative when end is before start), so that
        `workdays_between(d, add_workdays(d, n)[0]) == n`."""
        if end < start:
            return -self.workdays_between(end, start)
        count, day = 0, start
        while day < end:
            day += ONE_DAY
            if self.is_workday(day):
                count += 1
        return count

    def next_workday(self, d: dt.date) -> dt.date:
        """`d` itself if it is a working day, else the next one."""
        while not self.is_workday(d):
            d += ONE_DAY
        return d
