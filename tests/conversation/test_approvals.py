"""The one approval flow (issue 11): nobody decides their own request — a substitution, a recusal or a correction —
whatever roles they hold. An inspector who is also their department's only head is not asked; the next approver up
(the leaders) is; pressing 同意 on a copy of the button is refused and changes nothing; when nobody else could
decide, the request is not filed and the bot says who must decide. Through the real Application, both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.runtime import outbox_sender
from models import Assignment, Correction, Draw, Person, Result, StaffRequest, Target
from tests.drawsetup import GROUP_ID, LEADER_TG, prepare
from tests.resultsetup import SJ, submit

SELF = "您不能审批自己提出的申请"
REGISTRY = "主体注册登记情况"  # the 市场监管 item of tests.resultsetup


async def _deliver(chat, sessions):
    chat.mark = len(chat.request.calls)
    while (await outbox_sender.deliver_due(chat.app.bot, sessions)).claimed:
        pass


def _make_sole_head(sessions, person_id: int, *, leader: bool = False) -> None:
    """The person becomes (also) their department's only bound head — and, with `leader`, the only bound leader."""
    with sessions.begin() as s:
        me = s.get(Person, person_id)
        me.roles = "inspector,dept_head" + (",leader" if leader else "")
        for other in s.scalars(select(Person).where(Person.id != person_id)):
            if (other.has_role("dept_head") and other.department_id == me.department_id) or \
                    (leader and other.has_role("leader")):
                other.telegram_user_id = None


def _asks(chat, prefix: str) -> dict[int, list[str]]:
    """chat id → the approval buttons' data it received."""
    out: dict[int, list[str]] = {}
    for call in chat.replies():
        for _, data in call.buttons():
            if data.startswith(prefix + ":"):
                out.setdefault(call.chat_id, []).append(data)
    return out


def _bound_leaders(sessions) -> dict[int, int]:
    with sessions.begin() as s:
        return {p.telegram_user_id: p.id for p in s.scalars(select(Person)) if p.has_role("leader")
                and p.telegram_user_id}


async def _ask_correction(chat, sessions, sub, me: int) -> int:
    """/correct as `me`: the first target's 市场监管 item, 1 → 8 with a description and a reason, 提交申请."""
    with sessions.begin() as s:
        me_tg = s.get(Person, me).telegram_user_id
        target = s.get(Target, sub.targets[0]).name
    await chat.as_user(me_tg).send("/correct")
    await chat.press(target)
    await chat.press("1. " + REGISTRY[:5])
    await chat.press("8 ")
    await chat.send("年度报告未按规定公示")
    await chat.send("录入时误选代码")
    await chat.press("提交申请")
    return me_tg


async def _drawn_inspector(chat, sessions) -> Person:
    await chat.as_user(LEADER_TG).in_group(GROUP_ID).send("/draw")
    with sessions.begin() as s:
        draw = s.scalar(select(Draw).where(Draw.superseded_by_id.is_(None)))
        cert = [a["cert_no"] for g in draw.result["groups"] for a in g["inspectors"]][0]
        person = s.scalar(select(Person).where(Person.cert_no == cert))
        s.expunge(person)
        return person


@pytest.mark.parametrize("kind", ["swap", "recuse"])
async def test_a_head_who_asks_for_a_staff_change_cannot_approve_it(chat, sessions, kind):
    prepare(sessions)
    me = await _drawn_inspector(chat, sessions)
    _make_sole_head(sessions, me.id)
    await chat.as_user(me.telegram_user_id).send(f"/{kind} 家中有事，无法参加")
    if kind == "recuse":
        await chat.press([c for c in chat.replies() if c.buttons()][-1].buttons()[0][0])  # the group's first target
    assert "已提交" in chat.last_text()
    leaders = _bound_leaders(sessions)
    assert all(name in chat.last_text() for name in _names(sessions, leaders.values()))  # says who decides
    await _deliver(chat, sessions)
    asks = _asks(chat, "staff")
    assert me.telegram_user_id not in asks  # the requester is not asked
    assert set(asks) == set(leaders)  # the next approver up: the leaders
    data = asks[next(iter(asks))][0]
    # the requester presses 同意 on a copy of the button: refused in their own words, nothing changes
    await chat.as_user(me.telegram_user_id).press_data(data)
    assert SELF in chat.alerts()[-1]
    with sessions.begin() as s:
        req = s.scalar(select(StaffRequest))
        assert req.state == "pending" and req.decided_by_person_id is None
        assert s.scalar(select(Assignment).where(Assignment.person_id == me.id)).active
    # a leader decides
    leader_tg = next(iter(asks))
    await chat.as_user(leader_tg).press_data(data)
    with sessions.begin() as s:
        req = s.scalar(select(StaffRequest))
        assert req.state == "approved" and req.decided_by_person_id == leaders[leader_tg]
        assert not s.scalar(select(Assignment).where(Assignment.person_id == me.id)).active


async def test_nobody_left_to_decide_a_staff_change_says_who_must(chat, sessions):
    prepare(sessions)
    me = await _drawn_inspector(chat, sessions)
    _make_sole_head(sessions, me.id, leader=True)
    await chat.as_user(me.telegram_user_id).send("/swap 家中有事，无法参加")
    text = chat.last_text()
    assert "申请未提交" in text and me.department.label in text and "分管领导" in text and "领导小组" in text
    await _deliver(chat, sessions)
    assert _asks(chat, "staff") == {}
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(StaffRequest)) == 0


async def test_a_head_who_asks_for_a_correction_cannot_approve_it(chat, sessions):
    sub = submit(sessions, codes={})
    me = sub.inspectors[SJ][0]
    _make_sole_head(sessions, me)
    me_tg = await _ask_correction(chat, sessions, sub, me)
    assert "已提交" in chat.last_text()
    await _deliver(chat, sessions)
    leaders = _bound_leaders(sessions)
    asks = _asks(chat, "corr")
    assert me_tg not in asks and set(asks) == set(leaders)
    data = asks[next(iter(asks))][0]
    await chat.as_user(me_tg).press_data(data)
    assert SELF in chat.alerts()[-1]
    with sessions.begin() as s:
        correction = s.scalar(select(Correction))
        assert correction.state == "pending"
        assert s.get(Result, correction.result_id).code == 1
    await chat.as_user(next(iter(asks))).press_data(data)
    with sessions.begin() as s:
        correction = s.scalar(select(Correction))
        assert correction.state == "approved" and s.get(Result, correction.result_id).code == 8


async def test_nobody_left_to_decide_a_correction_says_who_must(chat, sessions):
    sub = submit(sessions, codes={})
    me = sub.inspectors[SJ][0]
    _make_sole_head(sessions, me, leader=True)
    await _ask_correction(chat, sessions, sub, me)
    assert "申请未提交" in chat.last_text() and "分管领导" in chat.last_text()
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Correction)) == 0


def _names(sessions, ids) -> list[str]:
    with sessions.begin() as s:
        return [s.get(Person, i).name for i in ids]
