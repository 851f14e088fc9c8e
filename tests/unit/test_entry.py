"""Result entry on the database (SPEC §6): drafts saved and resumed, notes after problem codes, the submission lock
(also under truly concurrent submitters), results with history and follow-ups, campaign states, progress."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from bot.services import draws, result_entry
from bot.config import config_from_dict
from models import (Assignment, AuditEntry, Campaign, CampaignItem, Department, Draw, DrawGroup, FollowUp,
                    GroupTarget, Item, OutboxMessage, Person, Result, ResultDraft, ResultHistory, Submission)
from tests.drawsetup import PLAN, prepare

CFG = config_from_dict({})
TODAY = dt.date(2022, 9, 27)  # inside the window 2022-09-26 … 2022-09-28
CODES = CFG.code_set  # the record form's ten


def _count(sessions, model, *where) -> int:
    with sessions.begin() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def _draw(sessions, plan=None) -> tuple[int, int]:
    cid = prepare(sessions, plan=plan)
    with sessions.begin() as s:
        draw = draws.perform_draw(s, s.get(Campaign, cid), cfg=CFG, person_id=None, actor="test")
        return cid, draw.id


def _members(sessions, draw_id: int, group: int, department: str) -> list[int]:
    """Person ids of the group's active inspectors of a department, in draw order."""
    with sessions.begin() as s:
        return list(s.scalars(
            select(Assignment.person_id).join(DrawGroup, Assignment.group_id == DrawGroup.id)
            .join(Department, Assignment.department_id == Department.id)
            .where(DrawGroup.draw_id == draw_id, DrawGroup.number == group, Department.name == department,
                   Assignment.active).order_by(Assignment.position)))


def _gts(sessions, draw_id: int, group: int) -> list[int]:
    with sessions.begin() as s:
        return list(s.scalars(select(GroupTarget.id).join(DrawGroup, GroupTarget.group_id == DrawGroup.id)
                              .where(DrawGroup.draw_id == draw_id, DrawGroup.number == group)
                              .order_by(GroupTarget.position)))


def _items(sessions, campaign_id: int, department: str) -> list[int]:
    with sessions.begin() as s:
        return list(s.scalars(select(Item.id).join(CampaignItem, CampaignItem.item_id == Item.id)
                              .join(Department, Item.department_id == Department.id)
                              .where(CampaignItem.campaign_id == campaign_id, Department.name == department)
                              .order_by(CampaignItem.position)))


def _answer_all(sessions, person: int, gt: int, codes: list[int]) -> None:
    """Answer each item of the person's department in order; problem codes get a description."""
    with sessions.begin() as s:
        task = result_entry.load_task(s, person, gt)
        for item, code in zip(task.items, codes, strict=True):
            result_entry.answer(s, person_id=person, group_target_id=gt, item_id=item.item_id, code=code, codes=CODES)
            if CODES.is_problem(code):
                result_entry.add_note(s, person_id=person, group_target_id=gt, item_id=item.item_id, note=f"问题{code}")
            else:
                result_entry.skip_note(s, person_id=person, group_target_id=gt, item_id=item.item_id, codes=CODES)


WL, SJ, GA, XF = PLAN["departments"]


@pytest.fixture
def drawn(sessions):
    return _draw(sessions)


# ------------------------------------------------------------------------------------------------ pure rules

def test_department_result_is_distinct_codes_in_code_order():
    assert result_entry.department_result([1, 1]) == "1"
    assert result_entry.department_result([8, 5, 8]) == "5,8"
    assert result_entry.department_result([10, 2, None]) == "2,10"
    assert result_entry.department_result([]) == ""


def test_has_problem_follows_the_record_form():
    assert CODES.problems == {2, 3, 4, 5, 6, 8, 10}
    assert not CODES.has_problem([1, 7, 9])
    for code in (2, 3, 4, 5, 6, 8, 10):
        assert CODES.has_problem([1, code])


def test_inspection_date_choices_and_default():
    start, end = dt.date(2022, 9, 26), dt.date(2022, 9, 28)
    assert result_entry.date_choices(start, end, dt.date(2022, 9, 27)) == [start, dt.date(2022, 9, 27)]
    assert result_entry.default_inspection_date(start, end, dt.date(2022, 9, 27)) == dt.date(2022, 9, 27)
    # entered after the window: any day of it, the last by default
    assert result_entry.date_choices(start, end, dt.date(2022, 10, 8)) == [start, dt.date(2022, 9, 27), end]
    assert result_entry.default_inspection_date(start, end, dt.date(2022, 10, 8)) == end
    # before the window: only the day of entry itself
    assert result_entry.date_choices(start, end, dt.date(2022, 9, 20)) == [dt.date(2022, 9, 20)]
    long = result_entry.date_choices(dt.date(2022, 1, 1), dt.date(2022, 12, 31), dt.date(2022, 6, 30))
    assert len(long) == result_entry.MAX_DATE_CHOICES and long[-1] == dt.date(2022, 6, 30)


# ------------------------------------------------------------------------------------------------ drafts

def test_answers_are_saved_and_resumed_from_the_database(sessions, drawn):
    cid, draw_id = drawn
    person = _members(sessions, draw_id, 1, WL)[0]
    first, second = _gts(sessions, draw_id, 1)[:2]
    item1, item2 = _items(sessions, cid, WL)
    with sessions.begin() as s:
        assert result_entry.resume_target(s, person) is None  # several targets, nothing begun: the list
        result_entry.answer(s, person_id=person, group_target_id=second, item_id=item1, code=1, codes=CODES)
        result_entry.skip_note(s, person_id=person, group_target_id=second, item_id=item1, codes=CODES)
        result_entry.answer(s, person_id=person, group_target_id=second, item_id=item2, code=5, codes=CODES)
    with sessions.begin() as s:  # a new unit of work: everything comes from the rows
        task = result_entry.load_task(s, person, second)
        assert (task.answered, task.total) == (1, 2)
        assert task.pending.item_id == item2 and task.pending.code == 5 and not task.pending.note_done
        assert result_entry.resume_target(s, person) == second
        assert result_entry.resume_target(s, person, preferred=first) == first
        listing = {task.group_target_id: (task.answered, task.total) for task in result_entry.tasks_for(s, person)}
        assert listing[second] == (1, 2) and listing[first] == (0, 2)
    with sessions.begin() as s:
        drafts = s.scalars(select(ResultDraft).where(ResultDraft.person_id == person)).all()
        assert {(d.item_id, d.code, d.note_done) for d in drafts} == {(item1, 1, True), (item2, 5, False)}
        assert all(d.updated_at is not None for d in drafts)


def test_a_new_code_clears_the_note_and_skip_keeps_a_typed_note(sessions, drawn):
    cid, draw_id = drawn
    person = _members(sessions, draw_id, 1, SJ)[0]
    gt = _gts(sessions, draw_id, 1)[0]
    (item,) = _items(sessions, cid, SJ)
    with sessions.begin() as s:
        result_entry.answer(s, person_id=person, group_target_id=gt, item_id=item, code=1, codes=CODES)
        result_entry.add_note(s, person_id=person, group_target_id=gt, item_id=item, note="营业执照已公示")
        task = result_entry.skip_note(s, person_id=person, group_target_id=gt, item_id=item, codes=CODES)
        assert task.items[0].note == "营业执照已公示"  # 跳过 pressed after typing: the note stays
        task = result_entry.answer(s, person_id=person, group_target_id=gt, item_id=item, code=9, codes=CODES)
        assert task.items[0].note is None and task.complete  # 9 needs no description: complete at once, no 跳过
        task = result_entry.answer(s, person_id=person, group_target_id=gt, item_id=item, code=5, codes=CODES)
        assert task.items[0].note is None and not task.complete  # a problem code waits for its description


def test_problem_codes_need_a_description(sessions, drawn):
    cid, draw_id = drawn
    person = _members(sessions, draw_id, 1, GA)[0]
    gt = _gts(sessions, draw_id, 1)[0]
    (item,) = _items(sessions, cid, GA)
    for code in (2, 3, 4, 5, 6, 8, 10):
        with sessions.begin() as s:
            result_entry.answer(s, person_id=person, group_target_id=gt, item_id=item, code=code, codes=CODES)
            with pytest.raises(result_entry.EntryRefused) as refused:
                result_entry.skip_note(s, person_id=person, group_target_id=gt, item_id=item, codes=CODES)
            assert refused.value.key == "entry.refused.note_required"
            with pytest.raises(result_entry.EntryRefused) as refused:
                result_entry.add_note(s, person_id=person, group_target_id=gt, item_id=item, note="   ")
            assert refused.value.key == "entry.refused.note_empty"
            with pytest.raises(result_entry.EntryRefused) as refused:
                result_entry.add_note(s, person_id=person, group_target_id=gt, item_id=item, note="长" * 501)
            assert refused.value.key == "entry.refused.note_too_long"
            assert not result_entry.load_task(s, person, gt).complete
            with pytest.raises(result_entry.EntryRefused) as refused:
                result_entry.submit(s, person_id=person, group_target_id=gt, today=TODAY, codes=CODES)
            assert refused.value.key == "entry.refused.incomplete"
    with sessions.begin() as s:
        task = result_entry.add_note(s, person_id=person, group_target_id=gt, item_id=item, note="发现违法信息\n已固定证据")
        assert task.complete and task.items[0].note == "发现违法信息 已固定证据"


def test_refusals_write_nothing(sessions, drawn):
    cid, draw_id = drawn
    person = _members(sessions, draw_id, 1, WL)[0]
    gt1 = _gts(sessions, draw_id, 1)[0]
    gt2 = _gts(sessions, draw_id, 2)[0]
    wl_item = _items(sessions, cid, WL)[0]
    sj_item = _items(sessions, cid, SJ)[0]
    cases = [
        (dict(group_target_id=gt1, item_id=sj_item, code=1), "entry.refused.not_your_item"),  # other department
        (dict(group_target_id=gt2, item_id=wl_item, code=1), "entry.refused.not_assigned"),  # other group
        (dict(group_target_id=gt1, item_id=wl_item, code=99), "entry.refused.unknown_code"),
        (dict(group_target_id=999999, item_id=wl_item, code=1), "entry.refused.not_assigned"),
    ]
    for kwargs, key in cases:
        with sessions.begin() as s:
            with pytest.raises(result_entry.EntryRefused) as refused:
                result_entry.answer(s, person_id=person, codes=CODES, **kwargs)
            assert refused.value.key == key
    with sessions.begin() as s:
        with pytest.raises(result_entry.EntryRefused) as refused:
            result_entry.set_inspection_date(s, person_id=person, group_target_id=gt1, day=dt.date(2022, 9, 28),
                                      today=TODAY)  # tomorrow, seen from TODAY
        assert refused.value.key == "entry.refused.bad_date"
    assert _count(sessions, ResultDraft) == 0


def test_replaced_inspector_and_superseded_draw_are_refused(sessions, drawn):
    cid, draw_id = drawn
    person, other = _members(sessions, draw_id, 1, WL)
    gt = _gts(sessions, draw_id, 1)[0]
    item = _items(sessions, cid, WL)[0]
    with sessions.begin() as s:
        s.scalar(select(Assignment).where(Assignment.person_id == person)).active = False
    with sessions.begin() as s:
        with pytest.raises(result_entry.EntryRefused) as refused:
            result_entry.answer(s, person_id=person, group_target_id=gt, item_id=item, code=1, codes=CODES)
        assert refused.value.key == "entry.refused.not_assigned"
        assert result_entry.tasks_for(s, person) == []
    with sessions.begin() as s:
        draws.perform_draw(s, s.get(Campaign, cid), cfg=CFG, person_id=None, actor="test", reason="名录更新")
    with sessions.begin() as s:
        with pytest.raises(result_entry.EntryRefused) as refused:
            result_entry.answer(s, person_id=other, group_target_id=gt, item_id=item, code=1, codes=CODES)
        assert refused.value.key == "entry.refused.closed"
    assert _count(sessions, ResultDraft) == 0


# ------------------------------------------------------------------------------------------------ submission

def test_submit_locks_copies_drafts_opens_followup_and_tells_the_leader(sessions, drawn):
    cid, draw_id = drawn
    person, other = _members(sessions, draw_id, 1, SJ)  # 市场监管: not the lead department, so not the leader
    gt = _gts(sessions, draw_id, 1)[0]
    (item,) = _items(sessions, cid, SJ)
    _answer_all(sessions, person, gt, [8])
    with sessions.begin() as s:
        result_entry.answer(s, person_id=other, group_target_id=gt, item_id=item, code=1, codes=CODES)  # the colleague's draft
        result_entry.set_inspection_date(s, person_id=person, group_target_id=gt, day=dt.date(2022, 9, 26), today=TODAY)
    with sessions.begin() as s:
        out = result_entry.submit(s, person_id=person, group_target_id=gt, today=TODAY, codes=CODES)
    assert out.result == "8" and out.problem and out.followups == 1 and out.inspection_date == dt.date(2022, 9, 26)
    assert out.leader_notified and out.campaign_state == "inspecting" and not out.campaign_entered
    with sessions.begin() as s:
        sub = s.scalar(select(Submission))
        assert (sub.person_id, sub.inspection_date) == (person, dt.date(2022, 9, 26))
        (result,) = s.scalars(select(Result)).all()
        assert (result.item_id, result.code, result.note, result.version, result.submission_id) == \
            (item, 8, "问题8", 1, sub.id)
        (history,) = s.scalars(select(ResultHistory)).all()
        assert (history.result_id, history.version, history.code, history.changed_by_person_id) == \
            (result.id, 1, 8, person)
        followup = s.scalar(select(FollowUp))
        assert followup.result_id == result.id and followup.state == "open"
        assert s.scalar(select(func.count()).select_from(ResultDraft)) == 0  # both inspectors' drafts settled
        assert s.get(Campaign, cid).state == "inspecting"
        audit_row = s.scalar(select(AuditEntry).where(AuditEntry.action == "result.submit"))
        assert audit_row.subject == f"submission:{sub.id}"
        leader = s.get(Person, s.scalar(select(DrawGroup.leader_person_id).join(GroupTarget).where(
            GroupTarget.id == gt)))
        (notice,) = s.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == leader.telegram_user_id)).all()
        assert "8 发现问题待后续处理" in notice.text and "问题8" in notice.text
    # the colleague now gets who entered it; nothing more is written
    with sessions.begin() as s:
        with pytest.raises(result_entry.AlreadySubmitted) as refused:
            result_entry.answer(s, person_id=other, group_target_id=gt, item_id=item, code=1, codes=CODES)
        assert refused.value.name == s.get(Person, person).name
        task = result_entry.load_task(s, other, gt)
        assert task.submitted and task.items[0].code == 8
    assert _count(sessions, Result) == 1 and _count(sessions, ResultDraft) == 0


def test_campaign_moves_to_entered_when_every_target_and_department_is_in(sessions):
    cid, draw_id = _draw(sessions, plan=dict(PLAN, sampling={"count": 2}, targets_per_group=0))
    gts = _gts(sessions, draw_id, 1)
    assert len(gts) == 2
    states = []
    for gt in gts:
        for department in (WL, SJ, GA, XF):
            person = _members(sessions, draw_id, 1, department)[0]
            n_items = len(_items(sessions, cid, department))
            _answer_all(sessions, person, gt, [1] * n_items)
            with sessions.begin() as s:
                assert not result_entry.all_results_in(s, cid)
                out = result_entry.submit(s, person_id=person, group_target_id=gt, today=TODAY, codes=CODES)
                states.append((out.campaign_state, out.campaign_entered))
    assert states[:-1] == [("inspecting", False)] * 7 and states[-1] == ("entered", True)
    with sessions.begin() as s:
        assert s.get(Campaign, cid).state == "entered"
        assert result_entry.all_results_in(s, cid)
        assert result_entry.results_complete(s) == {cid: True}
        p = result_entry.progress(s, cid)
        assert (p.entered, p.expected, p.complete) == (8, 8, True)


def test_progress_counts_per_group_and_department(sessions, drawn):
    cid, draw_id = drawn
    with sessions.begin() as s:
        p = result_entry.progress(s, cid)
        assert p.draw_id == draw_id and p.entered == 0 and not p.complete
        sizes = {g.number: g.targets for g in p.groups}
        assert p.expected == 4 * sum(sizes.values())
        assert [d.name for d in p.departments] == [WL, SJ, GA, XF]
    gt = _gts(sessions, draw_id, 2)[0]
    person = _members(sessions, draw_id, 2, XF)[0]
    _answer_all(sessions, person, gt, [1])
    with sessions.begin() as s:
        result_entry.submit(s, person_id=person, group_target_id=gt, today=TODAY, codes=CODES)
        p = result_entry.progress(s, cid)
    g2 = next(g for g in p.groups if g.number == 2)
    assert {d.name: (d.entered, d.expected) for d in g2.departments}[XF] == (1, sizes[2])
    assert g2.entered == 1 and p.entered == 1
    assert {d.name: d.entered for d in p.departments} == {WL: 0, SJ: 0, GA: 0, XF: 1}


def _race(sessions, people: list[int], gt: int) -> list[object]:
    """Both inspectors submit at once, each in its own session and thread, released together by a barrier."""
    barrier = threading.Barrier(len(people))
    outcomes: list[object] = [None] * len(people)

    def run(i: int, person: int) -> None:
        barrier.wait()
        try:
            with sessions.begin() as s:
                outcomes[i] = result_entry.submit(s, person_id=person, group_target_id=gt, today=TODAY, codes=CODES)
        except result_entry.EntryRefused as exc:
            outcomes[i] = exc
        except Exception as exc:  # noqa: BLE001 — reported by the assertion below
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i, p)) for i, p in enumerate(people)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    return outcomes


def test_concurrent_submissions_exactly_one_wins(sessions, drawn):
    cid, draw_id = drawn
    first, second = _members(sessions, draw_id, 1, WL)
    gt = _gts(sessions, draw_id, 1)[0]
    _answer_all(sessions, first, gt, [1, 5])
    _answer_all(sessions, second, gt, [9, 1])
    outcomes = _race(sessions, [first, second], gt)
    wins = [o for o in outcomes if isinstance(o, result_entry.SubmitOutcome)]
    losses = [o for o in outcomes if isinstance(o, result_entry.AlreadySubmitted)]
    assert len(wins) == 1 and len(losses) == 1, outcomes
    with sessions.begin() as s:
        (sub,) = s.scalars(select(Submission)).all()
        winner = s.get(Person, sub.person_id)
        assert losses[0].name == winner.name
        codes = sorted(s.scalars(select(Result.code)))
        assert codes == ([1, 5] if winner.id == first else [1, 9])
        assert s.scalar(select(func.count()).select_from(ResultHistory)) == 2
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "result.submit")) == 1


def test_the_unique_constraint_is_the_arbiter(sessions, drawn, monkeypatch):
    """Even if the pre-check misses the winner (a race it cannot see), the INSERT refuses the second submission
    and the loser's transaction stays usable."""
    cid, draw_id = drawn
    first, second = _members(sessions, draw_id, 1, WL)
    gt = _gts(sessions, draw_id, 1)[0]
    _answer_all(sessions, second, gt, [1, 1])
    with sessions.begin() as s:  # the winner's row, committed by "another process"
        department = s.scalar(select(Department.id).where(Department.name == WL))
        target = s.get(GroupTarget, gt).target_id
        s.add(Submission(draw_id=draw_id, target_id=target, department_id=department, person_id=first,
                         inspection_date=TODAY))
    monkeypatch.setattr(result_entry, "_existing_submission", lambda *a: None)
    with sessions.begin() as s:
        with pytest.raises(result_entry.AlreadySubmitted) as refused:
            result_entry.submit(s, person_id=second, group_target_id=gt, today=TODAY, codes=CODES)
        assert s.scalar(select(func.count()).select_from(ResultDraft)) == 2  # the session still works
    with sessions.begin() as s:
        assert refused.value.name == s.get(Person, first).name
    assert _count(sessions, Submission) == 1 and _count(sessions, Result) == 0
    assert _count(sessions, AuditEntry, AuditEntry.action == "result.submit") == 0


def test_superseded_draw_does_not_count_for_progress(sessions, drawn):
    cid, draw_id = drawn
    person = _members(sessions, draw_id, 1, XF)[0]
    gt = _gts(sessions, draw_id, 1)[0]
    _answer_all(sessions, person, gt, [1])
    with sessions.begin() as s:
        result_entry.submit(s, person_id=person, group_target_id=gt, today=TODAY, codes=CODES)
    with sessions.begin() as s:
        new = draws.perform_draw(s, s.get(Campaign, cid), cfg=CFG, person_id=None, actor="test", reason="重抽")
        p = result_entry.progress(s, cid)
        assert p.draw_id == new.id and p.entered == 0
        assert s.get(Draw, draw_id).superseded_by_id == new.id
