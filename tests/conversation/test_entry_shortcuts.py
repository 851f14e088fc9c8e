"""Result entry in the fewest presses (issue 13), through the real Application, counting the presses from the
target's first message: a clean ten-item target in two (全部「1 未发现问题」, 提交), one problem among ten in five
plus the typed description (标记问题事项), a typed note landing on the item just answered, a bulk fill changed in
the summary, and stale or foreign bulk buttons refused without a change. Both backends."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from bot.config import config_from_dict
from bot.services import draws
from models import (AuditEntry, Campaign, CampaignItem, Department, DrawGroup, Item, Result, ResultDraft,
                    Submission)
from tests.drawsetup import PLAN, prepare

WL, SJ = PLAN["departments"][0], PLAN["departments"][1]
TEN = 10


@dataclass
class World:
    gt: int  # the target in group 1
    target: str
    me: int  # 文旅's second inspector of group 1 (Telegram id)
    me_id: int
    colleague: int  # 文旅's first inspector of group 1
    other_department: int  # 市场监管's inspector of group 1
    wl_id: int
    items: list[tuple[int, str]]  # 文旅's ten items in campaign order


@pytest.fixture
def world(sessions) -> World:
    cid = prepare(sessions)
    with sessions.begin() as s:  # 文旅 gets ten items in this campaign (the sample directory has five)
        wl = s.scalar(select(Department).where(Department.name == WL))
        position = s.scalar(select(func.max(CampaignItem.position)).where(CampaignItem.campaign_id == cid))
        have = s.scalar(select(func.count()).select_from(CampaignItem).join(Item)
                        .where(CampaignItem.campaign_id == cid, Item.department_id == wl.id))
        for n in range(TEN - have):
            item = Item(department_id=wl.id, name=f"补充检查事项{n + 1}", content="按规定检查")
            s.add(item)
            s.flush()
            position += 1
            s.add(CampaignItem(campaign_id=cid, item_id=item.id, position=position))
    with sessions.begin() as s:
        draw = draws.perform_draw(s, s.get(Campaign, cid), cfg=config_from_dict({}), person_id=None, actor="test")
        group = s.scalar(select(DrawGroup).where(DrawGroup.draw_id == draw.id, DrawGroup.number == 1))
        gt = group.targets[0]
        wl_members = [a.person for a in group.assignments if a.department.name == WL]
        sj_member = [a.person for a in group.assignments if a.department.name == SJ][0]
        items = [(ci.item.id, ci.item.name) for ci in s.scalars(
            select(CampaignItem).where(CampaignItem.campaign_id == cid).order_by(CampaignItem.position))
            if ci.item.department_id == wl.id]
        assert len(items) == TEN
        return World(gt.id, gt.target.name, wl_members[1].telegram_user_id, wl_members[1].id,
                     wl_members[0].telegram_user_id, sj_member.telegram_user_id, wl.id, items)


class Presses:
    """The chat, counting the button presses."""

    def __init__(self, chat):
        self.chat = chat
        self.count = 0

    async def press(self, text: str) -> None:
        self.count += 1
        await self.chat.press(text)


def _buttons(chat) -> list[str]:
    for call in reversed(chat.request.calls):
        if call.buttons():
            return [text for text, _ in call.buttons()]
    return []


def _data(chat, label: str) -> str:
    for call in reversed(chat.request.calls):
        for text, data in call.buttons():
            if text.startswith(label):
                return data
    raise AssertionError(label)


def _bulk_lines(summary: str) -> int:
    """Item lines of the summary marked as filled in bulk."""
    return sum(1 for line in summary.splitlines() if line.endswith("〔批量〕"))


def _results(sessions) -> dict[int, tuple[int, str | None]]:
    with sessions.begin() as s:
        return {r.item_id: (r.code, r.note) for r in s.scalars(select(Result))}


def _submit_audit(sessions) -> dict:
    with sessions.begin() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "result.submit"))
        return json.loads(entry.data)


async def _open_target(chat, world: World) -> None:
    await chat.as_user(world.me).send("/enter")
    await chat.press(world.target)
    assert "第 1/10 项" in chat.last_text()


async def test_a_clean_ten_item_target_submits_in_two_presses(chat, sessions, world):
    await _open_target(chat, world)
    p = Presses(chat)
    await p.press("全部「1 未发现问题」")
    summary = chat.last_text()
    assert _bulk_lines(summary) == TEN and "10/10 项为批量填写「1 未发现问题」" in summary  # says so before 提交
    assert "提交" in _buttons(chat)
    assert _results(sessions) == {}  # nothing is submitted by the bulk fill itself
    await p.press("提交")
    assert p.count == 2
    assert _results(sessions) == {item: (1, None) for item, _ in world.items}
    assert sorted(_submit_audit(sessions)["bulk"]) == sorted(item for item, _ in world.items)


async def test_one_problem_among_ten_in_five_presses_and_the_description(chat, sessions, world):
    await _open_target(chat, world)
    p = Presses(chat)
    await p.press("标记问题事项")
    assert "其余全部「1 未发现问题」" in _buttons(chat)
    third, third_name = world.items[2]
    await p.press(f"3. {third_name[:5]}")
    await p.press("5 ")
    assert "必填" in chat.last_text()
    await chat.send("未按规定核验上网人员身份证件")  # typed, not pressed
    assert "已标 1/10 项" in chat.last_text()  # back at the list, the problem item marked
    await p.press("其余全部「1 未发现问题」")
    summary = chat.last_text()
    assert _bulk_lines(summary) == TEN - 1 and "5 发现问题已责令改正" in summary
    await p.press("提交")
    assert p.count == 5 <= 6
    expected = {item: (1, None) for item, _ in world.items}
    expected[third] = (5, "未按规定核验上网人员身份证件")
    assert _results(sessions) == expected
    assert sorted(_submit_audit(sessions)["bulk"]) == sorted(item for item, _ in world.items if item != third)


async def test_a_typed_note_after_a_clean_code_lands_on_the_right_item(chat, sessions, world):
    await _open_target(chat, world)
    (first, name1), (second, name2), (third, _n3) = world.items[:3]
    await chat.press("1 ")  # item 1: no description needed, item 2 is asked at once
    assert "第 2/10 项" in chat.last_text() and "跳过" not in _buttons(chat)
    await chat.send("营业执照已在醒目位置公示")  # typed: a note on item 1, not an answer to item 2
    assert f"已为第 1 项【{name1}】添加备注：营业执照已在醒目位置公示" in chat.last_text()
    await chat.press("9 ")  # item 2 answered from the same question message
    assert "第 3/10 项" in chat.last_text()
    await chat.press("备注第 2 项")  # or the 备注 button for the item just answered
    assert name2 in chat.last_text()
    await chat.send("现场核对无误")
    assert "第 3/10 项" in chat.last_text()  # the question that was pending, asked again
    with sessions.begin() as s:
        drafts = {d.item_id: (d.code, d.note) for d in s.scalars(select(ResultDraft))}
    assert drafts == {first: (1, "营业执照已在醒目位置公示"), second: (9, "现场核对无误")}
    assert third not in drafts


async def test_a_bulk_fill_changed_in_the_summary_submits_the_changed_value(chat, sessions, world):
    await _open_target(chat, world)
    third, third_name = world.items[2]
    await chat.press("全部「1 未发现问题」")
    await chat.press("修改")
    await chat.press(f"3. {third_name[:5]}")
    await chat.press("9 ")
    summary = chat.last_text()
    assert _bulk_lines(summary) == TEN - 1 and "9 合格" in summary
    await chat.press("提交")
    results = _results(sessions)
    assert results[third] == (9, None) and all(code == 1 for item, (code, _) in results.items() if item != third)
    assert third not in _submit_audit(sessions)["bulk"]


async def test_stale_and_foreign_bulk_buttons_change_nothing(chat, sessions, world):
    await _open_target(chat, world)
    bulk = _data(chat, "全部「1 未发现问题」")
    assert bulk == f"ent:all:{world.gt}:{world.wl_id}" and len(bulk.encode()) <= 64
    # pressed on a copy of this user's message by another user
    copied = {"message_id": 5, "date": int(time.time()), "chat": {"id": world.me, "type": "private"},
              "from": {"id": 999000, "is_bot": True, "first_name": "抽查助手"}, "text": "…"}
    await chat.as_user(world.colleague).send("/enter")
    await chat.press_data(bulk, message=copied)
    assert "已失效" in chat.alerts()[-1]
    # an inspector of another department of the group, in their own chat, with 文旅's button data
    await chat.as_user(world.other_department).send("/enter")
    await chat.press(world.target)
    await chat.press_data(bulk)
    assert "不是您所在单位" in chat.alerts()[-1]
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(ResultDraft)) == 0
    # after 提交 the same button again: refused, the submitted values stay
    await chat.as_user(world.me).send("/enter")
    await chat.press(world.target)
    await chat.press("全部「1 未发现问题」")
    await chat.press("提交")
    before = _results(sessions)
    await chat.press_data(bulk)
    assert "已由" in chat.alerts()[-1] and "提交" in chat.alerts()[-1]
    assert _results(sessions) == before
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Submission)) == 1
        assert s.scalar(select(func.count()).select_from(ResultDraft)) == 0


async def test_help_tells_inspectors_the_shortcuts(chat, world):
    await chat.as_user(world.me).send("/help")
    text = chat.last_text()
    assert "全部「1 未发现问题」" in text and "标记问题事项" in text and "其余全部「1 未发现问题」" in text
    assert "直接输入文字" in text


def test_the_date_picker_pages_a_long_window_within_twelve_buttons():
    """A month-long window: the days are offered nine a page, three to a row, with ‹ › and back (SPEC §11's
    portable subset; it showed up to 31 buttons, four to a row); every day is on some page, the current one first."""
    import datetime as dt

    from handlers import enter_views
    from bot.services.result_entry import ItemState, TargetTask

    task = TargetTask(group_target_id=7, draw_id=1, campaign_id=1, campaign_number="西文旅抽查〔2022〕1号",
                      campaign_title="t", group_id=1, group_number=1, target_id=1, target_name="某网吧",
                      department_id=1, department_name="西华县文化广电和旅游局", department_label="文旅",
                      window_start=dt.date(2022, 9, 1), window_end=dt.date(2022, 9, 30),
                      items=(ItemState(1, "事项", None, 1, None, True),), chosen_date=None)
    today = dt.date(2022, 10, 5)
    seen = []
    for page in range(1, 5):
        _text, markup = enter_views.date_view(task, "zh", today, page)
        rows = markup.inline_keyboard
        assert sum(len(r) for r in rows) <= 12 and all(len(r) <= 3 for r in rows)
        seen += [b.callback_data.split(":")[3] for r in rows for b in r if b.callback_data.startswith("ent:dd:")]
    assert seen == [f"202209{d:02d}" for d in range(1, 31)]
    text, markup = enter_views.date_view(task, "zh", today)  # the page of the current date (the last day)
    assert "第 4/4 页" in text and "✓ 09-30" in [b.text for r in markup.inline_keyboard for b in r]
