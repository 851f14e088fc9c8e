"""The handler toolkit's unit of work (handlers.toolkit.unit_of_work): what a handler writes and the update's
processed marker commit together, or neither does — on both backends. And no handler marks an update by hand any
more: the toolkit is the one place that does, so a writing handler cannot forget it."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from bot.runtime import exactly_once
from bot.services.refusal import Refusal
from handlers.toolkit import page_of, unit_of_work
from models import Setting

ROOT = Path(__file__).resolve().parents[2]


def _update_and_context(sessions, update_id: int):
    return SimpleNamespace(update_id=update_id), SimpleNamespace(sessions=sessions)


def test_the_write_and_the_marker_commit_together(sessions):
    update, context = _update_and_context(sessions, 7001)
    with unit_of_work(update, context) as session:
        session.add(Setting(key="probe", value="1"))
    with sessions.begin() as s:
        assert s.get(Setting, "probe").value == "1"
        assert exactly_once.already_processed(s, 7001)


def test_a_refusal_writes_nothing_and_marks_nothing(sessions):
    update, context = _update_and_context(sessions, 7002)
    with pytest.raises(Refusal):
        with unit_of_work(update, context) as session:
            session.add(Setting(key="probe", value="1"))
            session.flush()
            raise Refusal("error.stale_button")
    with sessions.begin() as s:
        assert s.scalar(select(Setting).where(Setting.key == "probe")) is None
        assert not exactly_once.already_processed(s, 7002)


def test_no_handler_marks_an_update_by_hand():
    by_hand = [f"{path.relative_to(ROOT)}:{n}" for path in sorted((ROOT / "handlers").glob("*.py"))
               if path.name != "toolkit.py"
               for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
               if re.search(r"\bmark_processed\(", line)]
    assert by_hand == []


def test_paging_clamps_to_the_pages_there_are():
    items = list(range(25))
    assert page_of(items, 1, 10) == (list(range(10)), 1, 3)
    assert page_of(items, 3, 10) == ([20, 21, 22, 23, 24], 3, 3)
    assert page_of(items, 9, 10)[1:] == (3, 3) and page_of(items, 0, 10)[1] == 1
    assert page_of([], 1, 10) == ([], 1, 1)
