"""Result entry through the real Application (issue 4): /enter with buttons from the target list to the
submission, resume after a restart that lost PTB's state, /cancel, the idle limit, typed text, forged and stale
callbacks that change nothing, the colleague who comes second, /tasks and /progress."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import pytest
from sqlalchemy import delete, func, select, update

from bot.services import draws
from bot.runtime.app import build_application
from bot.config import config_from_dict
from models import (Assignment, Campaign, CampaignItem, ConversationRow, Department, DrawGroup, OutboxMessage, PersistenceEntry, Person, Result, ResultDraft, Submission)
from tests.conversation.harness import Chat, StubRequest
from tests.drawsetup import GROUP_ID, LEADER_TG, PLAN, prepare

WL, SJ, GA, XF = PLAN["departments"]


@dataclass
class Member:
    id: int
    tg: int
    name: str


@dataclass
class Target:
    gt: int
    name: str


@dataclass
class County:
    campaign_id: int
    draw_id: int
    targets: dict[int, list[Target]]  # group number → its targets in draw order
    members: dict[tuple[int, str], list[Member]]  # (group, department) → inspectors in draw order
    items: dict[str, list[tuple[int, str]]]  # department → (item id, name) in campaign order
    leaders: dict[int, Member]  # group number → its leader


def _county(sessions) -> County:
    cid = prepare(sessions)
    with sessions.begin() as s:
        draw = draws.perform_draw(s, s.get(Campaign, cid), cfg=config_from_dict({}), person_id=None, actor="test")
        targets, members, leaders = {}, {}, {}
        for g in s.scalars(select(DrawGroup).where(DrawGroup.draw_id == draw.id)):
            targets[g.number] = [Target(gt.id, gt.target.name) for gt in g.targets]
            for a in g.assignments:
                members.setdefault((g.number, a.department.name), []).append(
                    Member(a.person.id, a.person.telegram_user_id, a.person.name))
            leader = s.get(Person, g.leader_person_id)
            leaders[g.number] = Member(leader.id, leader.telegram_user_id, leader.name)
        items: dict[str, list[tuple[int, str]]] = {}
        for ci in s.scalars(select(CampaignItem).where(CampaignItem.campaign_id == cid)
                            .order_by(CampaignItem.position)):
            items.setdefault(s.get(Department, ci.item.department_id).name, []).append((ci.item.id, ci.item.name))
        return County(cid, draw.id, targets, members, items, leaders)


@pytest.fixture
def county(sessions) -> County:
    return _county(sessions)


def _count(sessions, model, *where) -> int:
    with sessions.begin() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def _drafts(sessions, person: Member) -> set[tuple[int, int | None, str | None, bool]]:
    with sessions.begin() as s:
        return {(d.item_id, d.code, d.note, d.note_done)
                for d in s.scalars(select(ResultDraft).where(ResultDraft.person_id == person.id))}


async def _restart(chat: Chat, cfg, sessions, *, lose_state: bool) -> None:
    """Stop the Application and build a new one on the same database. With `lose_state`, PTB's conversation
    states and user data are gone too (a kill -9 before they were written)."""
    await chat.app.shutdown()
    if lose_state:
        with sessions.begin() as s:
            s.execute(delete(ConversationRow))
            s.execute(delete(PersistenceEntry))
    request = StubRequest()
    app = build_application(cfg, sessions, request=request)
    await app.initialize()
    chat.app, chat.request, chat.mark = app, request, 0  # update ids keep counting: old ones count as handled


def _buttons(chat: Chat) -> list[tuple[str, str]]:
    """The buttons of the bot's latest message with buttons."""
    for call in reversed(chat.request.calls):
        if call.buttons():
            return call.buttons()
    return []


# ------------------------------------------------------------------------------------------------ the happy path

async def test_a_press_answered_before_a_crash_still_goes_through(chat, sessions, county):
    """After a kill -9 Telegram re-delivers a press the dead process had already answered; answering it again is
    refused ("query is too old"). The press must still be handled: the draft saved, the message edited."""
    me = county.members[(1, WL)][1]
    target = county.targets[1][2]
    (item1, name1), _ = county.items[WL]
    await chat.as_user(me.tg).send("/enter")
    await chat.press(target.name)
    chat.request.reject["answerCallbackQuery"] = (
        "Bad Request: query is too old and response timeout expired or query id is invalid")
    await chat.press("3 ")
    assert (item1, 3, None, False) in _drafts(sessions, me)
    assert "必填" in chat.last_text()  # the item's message became the description prompt
    assert "answerCallbackQuery" in [c.method for c in chat.request.calls[-3:]]


async def test_inspector_enters_a_whole_target_and_submits(chat, sessions, county):
    me = county.members[(1, WL)][1]  # the second 文旅 inspector: not the group leader
    leader = county.leaders[1]
    assert leader.id != me.id
    target = county.targets[1][2]
    (item1, name1), (item2, name2) = county.items[WL]

    await chat.as_user(me.tg).send("/enter")
    assert "请选择" in chat.last_text()
    assert [text for text, _ in _buttons(chat)][:5] == [f"{t.name} 0/2" for t in county.targets[1]]
    await chat.press(target.name)
    assert name1 in chat.last_text() and "第 1/2 项" in chat.last_text()
    codes = [(text, data) for text, data in _buttons(chat) if data.startswith("ent:c:")]
    assert [text.split(" ", 1)[0] for text, _ in codes] == [str(c) for c in range(1, 11)]
    assert codes[0][0] == "1 未发现问题" and all(len(data.encode()) <= 64 for _, data in _buttons(chat))
    assert "‹ 返回" in [text for text, _ in _buttons(chat)]

    assert [text for text, _ in _buttons(chat)][:2] == ["全部「1 未发现问题」", "标记问题事项"]  # nothing answered yet
    await chat.press("1 ")  # a code that needs no description: the next item at once, in the same message
    assert name2 in chat.last_text() and "第 2/2 项" in chat.last_text() and f"✓ 第 1 项【{name1}】" in chat.last_text()
    assert "跳过" not in [text for text, _ in _buttons(chat)] and "备注第 1 项" in [t for t, _ in _buttons(chat)]
    assert "全部「1 未发现问题」" not in [text for text, _ in _buttons(chat)]  # offered only before any answer
    await chat.press("5 ")
    assert "必填" in chat.last_text()
    assert "跳过" not in [text for text, _ in _buttons(chat)]
    await chat.send("未在入口处悬挂未成年人禁入标志，已当场责令改正")
    summary = chat.last_text()
    assert "1 未发现问题" in summary and "5 发现问题已责令改正" in summary and "已当场责令改正" in summary
    assert "检查日期：2022-09-28" in summary and "本单位结果：1,5" in summary  # after the window: its last day

    await chat.press("检查日期")
    assert [text for text, _ in _buttons(chat)][:3] == ["09-26", "09-27", "✓ 09-28"]
    await chat.press("09-27")
    assert "检查日期：2022-09-27" in chat.last_text()

    await chat.press("提交")
    assert any("已提交" in text for text in chat.texts())
    with sessions.begin() as s:
        sub = s.scalar(select(Submission))
        assert (sub.person_id, sub.inspection_date) == (me.id, dt.date(2022, 9, 27))
        results = {r.item_id: (r.code, r.note, r.version) for r in s.scalars(select(Result))}
        assert results == {item1: (1, None, 1), item2: (5, "未在入口处悬挂未成年人禁入标志，已当场责令改正", 1)}
        notice = s.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == leader.tg)).all()
        assert len(notice) == 1 and target.name in notice[0].text and me.name in notice[0].text
        assert s.get(Campaign, county.campaign_id).state == "inspecting"
    # the list again, the submitted target marked
    assert f"✅ {target.name}" in [text for text, _ in _buttons(chat)]


async def test_change_an_item_from_the_summary(chat, sessions, county):
    me = county.members[(1, SJ)][0]
    ((item, _name),) = county.items[SJ]
    await chat.as_user(me.tg).send("/enter")
    await chat.press(county.targets[1][0].name)
    await chat.press("1 ")
    assert "1 未发现问题" in chat.last_text() and "提交" in [text for text, _ in _buttons(chat)]
    await chat.press("修改")
    await chat.press("1. ")
    assert "当前结果：1 未发现问题" in chat.last_text()
    await chat.press("9 ")  # no description needed: the summary at once
    assert "9 合格" in chat.last_text() and "提交" in [text for text, _ in _buttons(chat)]
    await chat.send("证照齐全")  # typed: a note on the item just answered, and the summary again
    assert any("已为第 1 项" in text and "证照齐全" in text for text in chat.texts())
    assert "9 合格" in chat.last_text() and "证照齐全" in chat.last_text()
    assert _drafts(sessions, me) == {(item, 9, "证照齐全", True)}


async def test_the_only_open_target_is_opened_directly(chat, sessions, county):
    me = county.members[(2, XF)][0]
    *done, last = county.targets[2]
    ((item, _name),) = county.items[XF]
    from bot.services import result_entry
    codes = config_from_dict({}).code_set
    with sessions.begin() as s:
        for target in done:
            result_entry.answer(s, person_id=me.id, group_target_id=target.gt, item_id=item, code=1, codes=codes)
            result_entry.skip_note(s, person_id=me.id, group_target_id=target.gt, item_id=item, codes=codes)
            result_entry.submit(s, person_id=me.id, group_target_id=target.gt, today=dt.date(2022, 9, 27),
                                codes=codes)
    await chat.as_user(me.tg).send("/enter")
    assert any(last.name in text for text in chat.texts())
    assert "第 1/1 项" in chat.last_text()


# ------------------------------------------------------------------------------------------------ resume, leave, idle

@pytest.mark.parametrize("lose_state", [False, True], ids=["state-kept", "state-lost"])
async def test_enter_resumes_after_a_restart(chat, cfg, sessions, county, lose_state):
    me = county.members[(1, WL)][0]
    target = county.targets[1][3]
    (item1, _), (item2, name2) = county.items[WL]
    await chat.as_user(me.tg).send("/enter")
    await chat.press(target.name)
    await chat.press("1 ")
    assert name2 in chat.last_text()

    await _restart(chat, cfg, sessions, lose_state=lose_state)
    await chat.send("/enter")
    assert any("继续上次的录入" in text and target.name in text for text in chat.texts())
    assert name2 in chat.last_text() and "第 2/2 项" in chat.last_text()
    await chat.press("8 ")  # the description is then lost with another restart …
    await _restart(chat, cfg, sessions, lose_state=lose_state)
    await chat.send("/enter")
    assert "必填" in chat.last_text() and "8 发现问题待后续处理" in chat.last_text()  # … and asked for again
    await chat.send("未按规定核对身份证件")
    assert "提交" in [text for text, _ in _buttons(chat)]
    assert _drafts(sessions, me) == {(item1, 1, None, True), (item2, 8, "未按规定核对身份证件", True)}


async def test_cancel_leaves_and_keeps_the_drafts(chat, sessions, county):
    me = county.members[(1, WL)][0]
    (item1, _), _second = county.items[WL]
    await chat.as_user(me.tg).send("/enter")
    await chat.press(county.targets[1][0].name)
    await chat.press("7 ")
    await chat.send("/cancel")
    assert "已退出" in chat.last_text() and "/enter" in chat.last_text()
    await chat.send("1")  # no longer in the conversation: not taken as an answer
    assert "/help" in chat.last_text()
    await chat.press("1 ")  # a button of the conversation left behind (item 2's)
    assert "已结束" in chat.alerts()[-1] and "/enter" in chat.alerts()[-1]
    assert _drafts(sessions, me) == {(item1, 7, None, True)}


async def test_an_idle_conversation_ends_from_the_stored_time(chat, cfg, sessions, county):
    me = county.members[(1, WL)][0]
    (item1, _), _second = county.items[WL]
    await chat.as_user(me.tg).send("/enter")
    await chat.press(county.targets[1][0].name)
    await chat.press("1 ")
    skip = [data for text, data in _buttons(chat) if text.startswith("1 ")][0]  # item 2's code 1, pressed late
    # 31 minutes pass; the bot restarts meanwhile (PTB's own timeout would not survive that, PTB #3522)
    await chat.app.update_persistence()
    with sessions.begin() as s:
        row = s.scalar(select(PersistenceEntry).where(PersistenceEntry.kind == "user",
                                                      PersistenceEntry.key == str(me.tg)))
        data = dict(row.data)
        data["entry"] = dict(data["entry"], at=time.time() - 31 * 60)
        s.execute(update(PersistenceEntry).where(PersistenceEntry.id == row.id).values(data=data))
    await _restart(chat, cfg, sessions, lose_state=False)
    await chat.press_data(skip)
    assert "30 分钟" in chat.last_text() and "已保存" in chat.last_text() and "/enter" in chat.last_text()
    assert _drafts(sessions, me) == {(item1, 1, None, True)}  # the late press changed nothing
    await chat.press_data(skip)  # the conversation has ended: the button no longer works
    assert "已结束" in chat.alerts()[-1]
    assert _drafts(sessions, me) == {(item1, 1, None, True)}
    await chat.send("/enter")
    assert "第 2/2 项" in chat.last_text()  # back at item 2


async def test_text_where_a_code_is_expected_gets_a_hint(chat, sessions, county):
    me = county.members[(1, GA)][0]
    ((item, _name),) = county.items[GA]
    await chat.as_user(me.tg).send("/enter")
    await chat.press(county.targets[1][0].name)
    await chat.send("没有发现问题")
    assert "请点按钮选择检查结果编号" in chat.last_text()
    await chat.send("11")
    assert "没有编号为 11" in chat.last_text()
    assert _count(sessions, ResultDraft) == 0
    await chat.send("１")  # a full-width digit typed on a phone: accepted as code 1
    assert "提交" in [text for text, _ in _buttons(chat)]  # the only item: the summary
    assert _drafts(sessions, me) == {(item, 1, None, True)}


# ------------------------------------------------------------------------------------------------ refusals

async def test_forged_and_stale_callbacks_change_nothing(chat, sessions, county):
    me = county.members[(1, WL)][0]
    gt1 = county.targets[1][0].gt
    gt_other_group = county.targets[2][0].gt
    wl_item = county.items[WL][0][0]
    sj_item = county.items[SJ][0][0]
    await chat.as_user(me.tg).send("/enter")
    await chat.press(county.targets[1][0].name)

    forged = {
        f"ent:c:{gt1}:{sj_item}:1": "不是您所在单位",  # another department's item
        f"ent:c:{gt_other_group}:{wl_item}:1": "不在该检查对象所在检查组",  # a target of another group
        f"ent:t:{gt_other_group}": "不在该检查对象所在检查组",
        f"ent:ok:{gt_other_group}": "不在该检查对象所在检查组",
        f"ent:c:{gt1}:{wl_item}:99": "没有编号为 99",  # no such code
        f"ent:dd:{gt1}:20221001": "不是可选的检查日期",  # after the window
        f"ent:s:{gt1}:{wl_item}": "请先选择",  # skip before any answer
        f"ent:ok:{gt1}": "未填写完成",
        "ent:c:abc:1:1": "已失效",
        "ent:zz:1": "已失效",
        f"ent:c:{gt1}:{wl_item}:1:extra": "已失效",
    }
    for data, expected in forged.items():
        await chat.press_data(data)
        assert chat.alerts() and expected in chat.alerts()[-1], (data, chat.alerts())
    # a real button, but pressed on a copy of another user's message
    other = county.members[(1, WL)][1]
    copied = {"message_id": 5, "date": int(time.time()), "chat": {"id": other.tg, "type": "private"},
              "from": {"id": 999000, "is_bot": True, "first_name": "抽查助手"}, "text": "…"}
    await chat.press_data(f"ent:c:{gt1}:{wl_item}:1", message=copied)
    assert "已失效" in chat.alerts()[-1]
    assert _count(sessions, ResultDraft) == 0 and _count(sessions, Submission) == 0


async def test_submitted_target_is_refused_and_tells_who_entered_it(chat, sessions, county):
    first, second = county.members[(1, SJ)]
    target = county.targets[1][1]
    ((item, _name),) = county.items[SJ]
    # the second inspector starts too, and keeps the buttons
    await chat.as_user(second.tg).send("/enter")
    await chat.press(target.name)
    stale_code = [data for text, data in _buttons(chat) if text.startswith("9 ")][0]

    await chat.as_user(first.tg).send("/enter")
    await chat.press(target.name)
    await chat.press("1 ")
    await chat.press("提交")
    with sessions.begin() as s:
        sub = s.scalar(select(Submission))
        stamp = sub.submitted_at.astimezone(config_from_dict({}).tz).strftime("%Y-%m-%d %H:%M")

    await chat.as_user(second.tg).press_data(stale_code)
    assert f"已由 {first.name} 于 {stamp} 提交" in chat.alerts()[-1]
    await chat.send("/enter")
    assert f"✅ {target.name}" in [text for text, _ in _buttons(chat)]
    await chat.press(f"✅ {target.name}")
    assert f"已由 {first.name}" in chat.alerts()[-1]
    for data in (f"ent:ok:{target.gt}", f"ent:e:{target.gt}:{item}", f"ent:dd:{target.gt}:20220927"):
        await chat.press_data(data)
        assert f"已由 {first.name}" in chat.alerts()[-1], data
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Submission)) == 1
        assert [(r.code, r.submission_id) for r in s.scalars(select(Result))] == [(1, sub.id)]
        assert s.scalar(select(func.count()).select_from(ResultDraft)) == 0


async def test_replaced_inspector_is_refused(chat, sessions, county):
    me = county.members[(1, WL)][0]
    wl_item = county.items[WL][0][0]
    await chat.as_user(me.tg).send("/enter")
    await chat.press(county.targets[1][0].name)
    with sessions.begin() as s:
        s.execute(update(Assignment).where(Assignment.person_id == me.id).values(active=False))
    await chat.press("1 ")
    assert "现任检查人员" in chat.alerts()[-1]
    await chat.press_data(f"ent:t:{county.targets[1][1].gt}")
    assert "现任检查人员" in chat.alerts()[-1]
    await chat.send("/enter")
    assert "没有需要录入" in chat.last_text()
    assert _count(sessions, ResultDraft, ResultDraft.item_id == wl_item) == 0


async def test_enter_is_for_inspectors_in_private(chat, sessions, county):
    await chat.as_user(LEADER_TG).send("/enter")
    assert "权限" in chat.last_text()
    await chat.as_user(424242).send("/enter")
    assert "邀请码" in chat.last_text()
    me = county.members[(1, WL)][0]
    await chat.as_user(me.tg).in_group(GROUP_ID).send("/enter")
    assert "私聊" in chat.last_text()
    assert _count(sessions, ResultDraft) == 0


# ------------------------------------------------------------------------------------------------ /tasks, /progress

async def test_tasks_and_progress_show_the_numbers(chat, sessions, county):
    me = county.members[(1, SJ)][0]
    targets = county.targets[1]
    await chat.as_user(me.tg).send("/enter")
    await chat.press(targets[0].name)
    await chat.press("1 ")
    await chat.press("提交")
    await chat.press(targets[1].name)
    await chat.press("8 ")

    await chat.send("/tasks")
    text = chat.last_text()
    with sessions.begin() as s:
        number = s.get(Campaign, county.campaign_id).number
    assert number in text and "第 1 组" in text and f"组长：{county.leaders[1].name}" in text
    assert "检查时间：2022-09-26 至 2022-09-28" in text and "结果录入截止：2022-10-31" in text
    assert f"{targets[0].name} — 已提交（{me.name}" in text
    assert f"{targets[1].name} — 待录入 0/1" in text and "已提交 1/5" in text

    sizes = {g: len(ts) for g, ts in county.targets.items()}
    total = 4 * sum(sizes.values())
    await chat.as_user(LEADER_TG).send("/progress")
    text = chat.last_text()
    assert number in text and "抽取 #" in text
    assert f"第 1 组（组长 {county.leaders[1].name}，{sizes[1]} 户）1/{4 * sizes[1]}" in text
    assert f"西市监 1/{sizes[1]}" in text and f"西文旅 0/{sizes[1]}" in text
    assert f"合计：1/{total}" in text and "结果录入截止：2022-10-31" in text
    await chat.as_user(LEADER_TG).in_group(GROUP_ID).send(f"/progress {county.campaign_id}")
    assert f"合计：1/{total}" in chat.last_text()
    await chat.as_user(LEADER_TG).in_group(-100777).send("/progress")
    assert "不是已绑定" in chat.last_text()
    await chat.as_user(me.tg).send("/progress")
    assert "权限" in chat.last_text()
    await chat.as_user(LEADER_TG).send("/progress 9999")
    assert "9999" in chat.last_text()
