"""Corrections and follow-ups on the database (SPEC §6.8, §6.9; seed 四(四), 四(五)): who may ask and decide, what
approval and rejection change, the history, one pending request per result, the follow-up's measures, amount and
closing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.services import audit, corrections
from bot.config import config_from_dict
from bot.services.approvers import approvers
from bot.services.corrections import CorrectionError, FollowUpError
from models import AuditEntry, Correction, FollowUp, Person, Result, ResultHistory
from tests.resultsetup import GA, SJ, WL, submit

CFG = config_from_dict({})
LICENCE = "网络文化经营许可证的许可情况"  # a 文旅 item
MINORS = "接纳未成年人进入营业场所情况"  # the other 文旅 item
REGISTRY = "主体注册登记情况"  # the 市场监管 item
TODAY = dt.date(2022, 10, 10)


@pytest.fixture
def sub(sessions):
    return submit(sessions, codes={MINORS: 8})


def _person(s, person_id: int) -> Person:
    return s.get(Person, person_id)


def _request(sessions, sub, *, who=None, item=REGISTRY, target=0, code=8, reason="录入时误选", note="未按规定公示年报"):
    dept = WL if item in (LICENCE, MINORS) else SJ
    with sessions.begin() as s:
        c = corrections.request_correction(s, person=_person(s, who or sub.inspectors[dept][0]),
                                           result_id=sub.results[(sub.targets[target], item)], new_code=code,
                                           reason=reason, new_note=note, cfg=CFG)
        return c.id


def _decide(sessions, correction_id, approver_id, approve=True):
    with sessions.begin() as s:
        d = corrections.decide_correction(s, correction_id, approver=_person(s, approver_id), approve=approve,
                                          codes=CFG.code_set, today=TODAY)
        return d.approved, d.followup_opened, d.followup_kept


def _result(sessions, result_id):
    with sessions.begin() as s:
        r = s.get(Result, result_id)
        return r.code, r.note, r.version


def _actions(sessions) -> list[str]:
    with sessions.begin() as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


# ------------------------------------------------------------------------------------------------ scope

def test_an_inspector_sees_only_their_departments_results_in_their_group(sessions, sub):
    with sessions.begin() as s:
        mine = corrections.correctable_results(s, _person(s, sub.inspectors[SJ][1]))  # the one who did not submit
        assert {v.result.id for v in mine} == {sub.results[(t, REGISTRY)] for t in sub.targets}
        wl = corrections.correctable_results(s, _person(s, sub.inspectors[WL][0]))
        assert {v.result.item.name for v in wl} == {LICENCE, MINORS}
        # a 市场监管 inspector not drawn into group 1 sees nothing
        others = [p for p in s.scalars(select(Person)) if p.has_role("inspector") and p.department.name == SJ
                  and p.id not in sub.inspectors[SJ]]
        assert all(not corrections.correctable_results(s, p) for p in others)
        head = _person(s, sub.heads[SJ])  # a head without the inspector role
        assert corrections.correctable_results(s, head) == []


def test_a_stranger_cannot_ask(sessions, sub):
    with pytest.raises(CorrectionError) as exc:
        _request(sessions, sub, who=sub.inspectors[GA][0])  # 公安 inspector, 市场监管 result
    assert exc.value.key == "correct.not_yours"
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Correction)) == 0


def test_request_validates_code_reason_and_description(sessions, sub):
    cases = [
        (dict(code=99), "correct.bad_code"),
        (dict(code=1), "correct.same_code"),
        (dict(reason="  "), "correct.reason_required"),
        (dict(code=2, note=""), "correct.note_required"),  # a problem code needs its description
        (dict(reason="很长" * 400), "correct.too_long"),
    ]
    for kwargs, key in cases:
        with pytest.raises(CorrectionError) as exc:
            _request(sessions, sub, **kwargs)
        assert exc.value.key == key, kwargs
    # a code that is not a problem code needs no description
    _request(sessions, sub, code=7, note=None)


def test_one_pending_correction_per_result(sessions, sub):
    first = _request(sessions, sub)
    with pytest.raises(CorrectionError) as exc:
        _request(sessions, sub, who=sub.inspectors[SJ][1], code=2)  # the colleague, same result
    assert exc.value.key == "correct.already_pending" and exc.value.params["correction_id"] == first
    _request(sessions, sub, target=1)  # another result is independent
    _decide(sessions, first, sub.heads[SJ], approve=False)
    _request(sessions, sub, code=2)  # decided: a new request may follow
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Correction).where(Correction.state == "pending")) == 2


# ------------------------------------------------------------------------------------------------ decide

def test_approval_changes_the_result_and_keeps_the_history(sessions, sub):
    rid = sub.results[(sub.targets[0], REGISTRY)]
    cid = _request(sessions, sub, code=2, note="未按规定公示年度报告")
    assert _result(sessions, rid) == (1, None, 1)  # nothing changes before the approval
    assert _decide(sessions, cid, sub.heads[SJ]) == (True, False, False)
    assert _result(sessions, rid) == (2, "未按规定公示年度报告", 2)
    with sessions.begin() as s:
        history = corrections.result_history(s, rid)
        assert [(h.version, h.code, h.note, h.correction_id) for h in history] == [
            (1, 1, None, None), (2, 2, "未按规定公示年度报告", cid)]
        assert history[1].changed_by_person_id == sub.inspectors[SJ][0]  # the author of the new value
        c = s.get(Correction, cid)
        assert c.state == "approved" and c.decided_by_person_id == sub.heads[SJ] and c.decided_at is not None
    assert _actions(sessions)[-2:] == ["correction.request", "correction.approve"]
    with sessions.begin() as s:
        assert audit.verify(s).ok


def test_rejection_changes_nothing_but_the_request(sessions, sub):
    rid = sub.results[(sub.targets[0], REGISTRY)]
    cid = _request(sessions, sub)
    assert _decide(sessions, cid, sub.heads[SJ], approve=False) == (False, False, False)
    assert _result(sessions, rid) == (1, None, 1)
    with sessions.begin() as s:
        assert [(h.version, h.code) for h in corrections.result_history(s, rid)] == [(1, 1)]
        assert s.get(Correction, cid).state == "rejected"
        assert s.scalar(select(FollowUp).where(FollowUp.result_id == rid)) is None
    assert _actions(sessions)[-1] == "correction.reject"


def test_only_the_departments_head_decides(sessions, sub):
    rid = sub.results[(sub.targets[0], REGISTRY)]
    cid = _request(sessions, sub)
    with sessions.begin() as s:
        leader = s.scalar(select(Person).where(Person.name == "马勇")).id
    # another department's head, a leader (the department has a bound head), the requester's colleague, and the
    # requester (told so in their own words)
    for who in (sub.heads[GA], leader, sub.inspectors[SJ][1], sub.inspectors[SJ][0]):
        with pytest.raises(CorrectionError) as exc:
            _decide(sessions, cid, who)
        assert exc.value.key == ("approval.own_request" if who == sub.inspectors[SJ][0]
                                 else "correct.not_your_department")
    assert _result(sessions, rid) == (1, None, 1)
    with sessions.begin() as s:
        assert s.get(Correction, cid).state == "pending"
    # once decided, a second press changes nothing
    _decide(sessions, cid, sub.heads[SJ])
    with pytest.raises(CorrectionError) as exc:
        _decide(sessions, cid, sub.heads[SJ], approve=False)
    assert exc.value.key == "correct.already_decided"
    assert _result(sessions, rid) == (8, "未按规定公示年报", 2)


def test_without_a_bound_head_the_leaders_decide(sessions, sub):
    with sessions.begin() as s:
        _person(s, sub.heads[SJ]).telegram_user_id = None
        leader = s.scalar(select(Person).where(Person.name == "马勇")).id
        requester = _person(s, sub.inspectors[SJ][0])
        assert [p.id for p in approvers(s, requester.department_id, requester.id)] == \
            sorted(p.id for p in s.scalars(select(Person)) if p.has_role("leader") and p.telegram_user_id)
    cid = _request(sessions, sub)
    with pytest.raises(CorrectionError):
        _decide(sessions, cid, sub.heads[SJ])  # not bound: not an approver now
    assert _decide(sessions, cid, leader)[0]


def test_nobody_to_approve_refuses_the_request(sessions, sub):
    with sessions.begin() as s:
        for p in s.scalars(select(Person)):
            if p.has_role("dept_head") or p.has_role("leader"):
                p.telegram_user_id = None
    with pytest.raises(CorrectionError) as exc:
        _request(sessions, sub)
    assert exc.value.key == "correct.no_approver"


def test_correcting_to_8_opens_a_follow_up(sessions, sub):
    rid = sub.results[(sub.targets[0], REGISTRY)]
    cid = _request(sessions, sub, code=8, note="年报未公示，待责令改正")
    assert _decide(sessions, cid, sub.heads[SJ]) == (True, True, False)
    with sessions.begin() as s:
        fu = s.scalar(select(FollowUp).where(FollowUp.result_id == rid))
        assert fu.state == "open" and fu.measures == []
    assert "followup.open" in _actions(sessions)


def test_correcting_away_from_8_keeps_the_follow_up_and_notes_it(sessions, sub):
    rid = sub.results[(sub.targets[0], MINORS)]
    fid = sub.followups[rid]
    cid = _request(sessions, sub, item=MINORS, code=5, note="已当场责令改正")
    assert _decide(sessions, cid, sub.heads[WL]) == (True, False, True)
    with sessions.begin() as s:
        fu = s.get(FollowUp, fid)
        assert fu.state == "open" and f"2022-10-10 检查结果经更正（申请编号 {cid}）由 8 改为 5" in fu.note
        # still listed, so the department can close it
        assert fid in [v.followup.id for v in corrections.open_followups(s, _person(s, sub.inspectors[WL][1]))]
    # back to 8: the same record carries on (result_id is unique), nothing new opens
    cid2 = _request(sessions, sub, item=MINORS, code=8, note="复查仍未整改")
    assert _decide(sessions, cid2, sub.heads[WL]) == (True, False, False)
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(FollowUp).where(FollowUp.result_id == rid)) == 1
        assert [h.code for h in corrections.result_history(s, rid)] == [8, 5, 8]


def test_a_requester_who_is_also_head_cannot_approve_their_own(sessions, sub):
    requester = sub.inspectors[SJ][0]
    with sessions.begin() as s:
        _person(s, requester).roles = "inspector,dept_head"
    cid = _request(sessions, sub)
    with pytest.raises(CorrectionError):
        _decide(sessions, cid, requester)
    assert _decide(sessions, cid, sub.heads[SJ])[0]


def test_a_missing_history_row_is_written_before_the_change(sessions, sub):
    rid = sub.results[(sub.targets[0], REGISTRY)]
    with sessions.begin() as s:
        s.query(ResultHistory).filter(ResultHistory.result_id == rid).delete()
    cid = _request(sessions, sub, code=7, note=None)
    _decide(sessions, cid, sub.heads[SJ])
    with sessions.begin() as s:
        assert [(h.version, h.code) for h in corrections.result_history(s, rid)] == [(1, 1), (2, 7)]


# ------------------------------------------------------------------------------------------------ follow-ups

def _fid(sub, target=0):
    return sub.followups[sub.results[(sub.targets[target], MINORS)]]


def _update(sessions, sub, who=None, target=0, **kwargs):
    args = dict(measures=[], amount=None, note=None, close=False, today=TODAY)
    args.update(kwargs)
    with sessions.begin() as s:
        fu = corrections.update_followup(s, _fid(sub, target), person=_person(s, who or sub.inspectors[WL][1]),
                                         **args)
        return fu.state, list(fu.measures), fu.penalty_amount, fu.note, fu.closed_on


def test_open_follow_ups_are_the_departments(sessions, sub):
    with sessions.begin() as s:
        wl = corrections.open_followups(s, _person(s, sub.inspectors[WL][0]))
        assert sorted(v.followup.id for v in wl) == sorted(sub.followups.values())
        assert all(v.item.name == MINORS for v in wl)
        assert corrections.open_followups(s, _person(s, sub.inspectors[SJ][0])) == []
    with pytest.raises(FollowUpError) as exc:
        _update(sessions, sub, who=sub.inspectors[SJ][0], measures=["责令改正"])
    assert exc.value.key == "followup.not_yours"


@pytest.mark.parametrize("text, value", [
    ("5000", Decimal("5000.00")), ("5000.5", Decimal("5000.50")), ("5,000.25", Decimal("5000.25")),
    ("５０００元", Decimal("5000.00")), (" 0.01 ", Decimal("0.01")),
    ("0", None), ("-5", None), ("5000.123", None), ("五千", None), ("", None), ("1e3", None), ("5000.", None),
    ("1000000000000", None),
])
def test_amount_parsing(text, value):
    assert corrections.parse_amount(text) == value


def test_measures_and_amount_are_validated(sessions, sub):
    for kwargs, key in [
        (dict(measures=["没收"]), "followup.bad_measure"),
        (dict(measures=["行政处罚"]), "followup.amount_required"),
        (dict(measures=["行政处罚"], amount="12.345"), "followup.bad_amount"),
        (dict(measures=["行政处罚"], amount="-1"), "followup.bad_amount"),
        (dict(measures=["责令改正"], amount="100"), "followup.amount_without_penalty"),
        (dict(measures=[], close=True), "followup.close_needs_measure"),
        (dict(measures=["责令改正"], note="长" * 501), "followup.note_too_long"),
    ]:
        with pytest.raises(FollowUpError) as exc:
            _update(sessions, sub, **kwargs)
        assert exc.value.key == key, kwargs
    state, measures, amount, note, _ = _update(sessions, sub, measures=["行政处罚", "责令改正", "责令改正"],
                                               amount="3000.5", note="已下达责令改正通知书")
    assert (state, measures, amount) == ("open", ["责令改正", "行政处罚"], Decimal("3000.50"))
    assert note == "2022-10-10 已下达责令改正通知书"
    # dropping the penalty drops its amount; a second note is appended with its date
    state, measures, amount, note, _ = _update(sessions, sub, measures=["责令改正"], note="已复查",
                                               today=dt.date(2022, 10, 20))
    assert measures == ["责令改正"] and amount is None
    assert note == "2022-10-10 已下达责令改正通知书\n2022-10-20 已复查"
    assert _actions(sessions).count("followup.update") == 2


def test_closing_makes_it_read_only(sessions, sub):
    state, measures, amount, _, closed_on = _update(sessions, sub, measures=["行政处罚"], amount="500", close=True)
    assert (state, measures, amount, closed_on) == ("closed", ["行政处罚"], Decimal("500.00"), TODAY)
    assert _actions(sessions)[-2:] == ["followup.update", "followup.close"]
    with pytest.raises(FollowUpError) as exc:
        _update(sessions, sub, measures=["责令改正"])
    assert exc.value.key == "followup.already_closed"
    with sessions.begin() as s:
        person = _person(s, sub.inspectors[WL][0])
        assert _fid(sub) not in [v.followup.id for v in corrections.open_followups(s, person)]
        assert _fid(sub) in [v.followup.id for v in corrections.closed_followups(s, person)]
    state, *_ = _update(sessions, sub, target=1, measures=["移送"], close=True)  # the other one is independent
    assert state == "closed"


def test_a_follow_up_changed_since_it_was_read_is_not_overwritten(sessions, sub):
    with sessions.begin() as s:
        seen = s.get(FollowUp, _fid(sub)).updated_at
    _update(sessions, sub, who=sub.inspectors[WL][0], measures=["立案调查"])  # the colleague saves first
    with pytest.raises(FollowUpError) as exc:
        _update(sessions, sub, measures=["责令改正"], expected_updated_at=seen)
    assert exc.value.key == "followup.changed"
    with sessions.begin() as s:
        assert s.get(FollowUp, _fid(sub)).measures == ["立案调查"]
