"""End-to-end over HTTP (issue 4): inspectors of different departments enter results at the same time through
the real bot process; one of them has the bot killed (`kill -9`) mid-target and restarted. Every answered item
is there afterwards and nothing is entered twice."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select

from bot.devtools.simulated_users import ScriptedInspector
from models import (AuditEntry, Assignment, CampaignItem, DrawGroup, GroupTarget, Item, Person, Result, ResultDraft,
                    Submission)
from tests.e2e.conftest import drawn_database

pytestmark = pytest.mark.e2e


@pytest.fixture
def drawn(db_url):
    with drawn_database(db_url) as drawn:
        yield drawn


@pytest.fixture
def entry_bot(drawn, bot_config, tmp_path, emu):
    from tests.e2e.conftest import BotProcess

    proc = BotProcess(bot_config, tmp_path / "bot.log")
    proc.start(emu)
    yield proc
    proc.stop()


def _inspector(emu, sessions, person: Person, group_id: int, problem_first: bool = False,
               shortcuts: bool = False) -> ScriptedInspector:
    def done() -> bool:
        with sessions.begin() as s:
            targets = s.scalar(select(func.count()).select_from(GroupTarget).where(GroupTarget.group_id == group_id))
            subs = s.scalar(select(func.count()).select_from(Submission).join(
                GroupTarget, GroupTarget.target_id == Submission.target_id).where(
                GroupTarget.group_id == group_id, Submission.department_id == person.department_id))
        return subs >= targets

    inspector = ScriptedInspector(emu, person.telegram_user_id, person.name, done, problem_first=problem_first,
                                  shortcuts=shortcuts)
    inspector.person_id = person.id
    inspector.dept_id = person.department_id
    return inspector


def test_concurrent_entry_with_a_crash_loses_and_duplicates_nothing(emu, drawn, entry_bot):
    sessions, cid = drawn
    with sessions.begin() as s:
        group = s.scalars(select(DrawGroup).order_by(DrawGroup.number)).first()
        members = s.scalars(select(Assignment).where(Assignment.group_id == group.id)
                            .order_by(Assignment.position)).all()
        by_dept: dict[int, Person] = {}
        for a in members:
            by_dept.setdefault(a.department_id, a.person)
        items_per_dept = {d: s.scalar(select(func.count()).select_from(CampaignItem).join(Item).where(
            CampaignItem.campaign_id == cid, Item.department_id == d)) for d in by_dept}
        n_targets = s.scalar(select(func.count()).select_from(GroupTarget).where(GroupTarget.group_id == group.id))
        # 0: item by item (the crash lands between two items), 1: a problem first, item by item; 2: 全部「1 未发现
        # 问题」 then 提交; 3: 标记问题事项 → the problem → 其余全部 → 提交 (issue 13's shortcuts)
        inspectors = [_inspector(emu, sessions, p, group.id, problem_first=i in (1, 3), shortcuts=i >= 2)
                      for i, (d, p) in enumerate(by_dept.items())]
        first_items = items_per_dept[next(iter(by_dept))]
    first = inspectors[0]  # 文旅: two items per target, so a crash can land between them
    assert first_items >= 2

    # Phase 1: the first inspector answers the first item of a target; the bot is killed right after.
    first.send("/enter")
    while not first.pressed_codes:
        first.step()  # the code needs no note: the draft is committed and the next item asked in the same step
    with sessions.begin() as s:
        drafts_before = s.scalar(select(func.count()).select_from(ResultDraft).where(
            ResultDraft.person_id == first.person_id, ResultDraft.code.is_not(None)))
    assert drafts_before == 1, emu.dump(40)
    entry_bot.kill9()
    entry_bot.start(emu)

    # Phase 2: everyone at once, the first inspector resuming with /enter.
    first.send("/enter")
    latest = first.latest_with_buttons()
    assert latest is not None
    threads = [threading.Thread(target=i.run, daemon=True) for i in inspectors]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=180)
    errors = [i.error for i in inspectors if i.error]
    assert not errors, errors

    with sessions.begin() as s:
        for dept_id, n_items in items_per_dept.items():
            subs = s.scalar(select(func.count()).select_from(Submission).join(
                GroupTarget, GroupTarget.target_id == Submission.target_id).where(
                GroupTarget.group_id == group.id, Submission.department_id == dept_id))
            assert subs == n_targets
            results = s.scalar(select(func.count()).select_from(Result).join(
                GroupTarget, GroupTarget.target_id == Result.target_id).where(
                GroupTarget.group_id == group.id, Result.department_id == dept_id))
            assert results == n_targets * n_items  # every item once, none twice
        problem = s.scalars(select(Result).where(Result.code == 5)).all()  # one from 1, one from 3 (shortcuts)
        assert len(problem) == 2 and all("责令改正" in (r.note or "") for r in problem)
        assert {r.department_id for r in problem} == {inspectors[1].dept_id, inspectors[3].dept_id}
        # the shortcut takers' submissions record the bulk-filled items: all of 2's, all but the problem of 3's
        for inspector in inspectors[2:]:
            entries = [json.loads(e.data) for e in s.scalars(select(AuditEntry).where(
                AuditEntry.action == "result.submit", AuditEntry.actor == f"person:{inspector.person_id}"))]
            bulk = [len(e["bulk"]) for e in entries]
            n_items = items_per_dept[inspector.dept_id]
            assert len(entries) == n_targets, entries
            problems = 1 if inspector is inspectors[3] else 0
            assert sum(bulk) == n_targets * n_items - problems, bulk
    # the first inspector answered exactly one code per item: the crash did not make them answer again
    assert len(first.pressed_codes) == n_targets * first_items
