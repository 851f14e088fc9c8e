"""/report and /publish through the real Application (issue 5): the coordinator gets the five workbooks with the
database's values and sees the progress message turn into "已发送 5 个文件"; inspectors, unknown campaigns and
group chats are refused with nothing sent; only a leader publishes, and the 公示 workbook then reaches the leader
and the coordinators, with late publication flagged."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from io import BytesIO

import openpyxl
import pytest
from sqlalchemy import func, select


from bot.runtime import outbox_sender
from bot.rules.workdays import WorkCalendar
from models import AuditEntry, Campaign, Department, DrawGroup, GroupTarget, OutboxMessage, Person, Target
from reports import REPORT_FILES
from tests.drawsetup import GROUP_ID, LEADER_TG
from tests.reportsetup import Entered, coordinator_tgs, enter, enter_all

XF = "西华县消防救援大队"
# The harness feeds updates to an Application that is initialized, not started: /report's own task is awaited by
# the tests (_report_sent), not by a running application.
pytestmark = pytest.mark.filterwarnings("ignore:Tasks created via `Application.create_task`")


@pytest.fixture
def entered(sessions) -> Entered:
    """Every result entered, the last one (a 消防 result) with code 5: the campaign is 已录入."""
    done = enter_all(sessions, leave=1)
    with sessions.begin() as s:
        person, gt = done.pairs[-1]
        assert s.get(Person, person).department.name == XF
    assert enter(sessions, person, gt, code=5, note="未公示年报，已责令改正").campaign_entered
    return done


def _inspector_tg(sessions) -> int:
    with sessions.begin() as s:
        return next(p.telegram_user_id for p in s.scalars(select(Person).order_by(Person.id))
                    if p.roles == "inspector" and p.telegram_user_id)


async def _report_sent(chat, timeout: float = 60) -> list[str]:
    """/report works in a task of its own: wait until its progress message says it is done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        edits = [c.params["text"] for c in chat.request.calls if c.method == "editMessageText"]
        if edits and (edits[-1].startswith("已发送") or "出错" in edits[-1]):
            return edits
        await asyncio.sleep(0.02)
    raise AssertionError(f"/report did not finish: {[c.method for c in chat.request.calls]}")


def _documents(chat, chat_id: int, caption: str = "") -> list[tuple[str, bytes]]:
    """(filename, bytes) of the documents the bot sent to the chat (with `caption` in their caption)."""
    return [call.files["document"] for call in chat.request.calls
            if call.method == "sendDocument" and call.chat_id == chat_id and caption in (call.params.get("caption")
                                                                                        or "")]


# ------------------------------------------------------------------------------------------------ /report

async def test_coordinator_gets_the_five_workbooks_with_the_database_values(chat, sessions, entered):
    (coordinator_tg,) = coordinator_tgs(sessions).values()
    await chat.as_user(coordinator_tg).send("/report")
    progress = next(c for c in chat.replies() if c.method == "sendMessage")
    assert "正在生成报表" in progress.text
    edits = await _report_sent(chat)
    assert any("1/5 附件1 抽查情况记录表" in text for text in edits)
    assert edits[-1].startswith("已发送 5 个文件")
    docs = _documents(chat, coordinator_tg)
    with sessions.begin() as s:
        number = s.get(Campaign, entered.campaign_id).number
    assert [name for name, _ in docs] == [f"{number}_{kind}.xlsx" for kind in REPORT_FILES]
    books = {name: openpyxl.load_workbook(BytesIO(data)) for name, data in docs}  # every file opens
    assert all(book.worksheets for book in books.values())

    # 附件3: one row per target — its group leader and the 消防 result as in the database
    ws = books[f"{number}_附件3_联合抽查汇总表.xlsx"].active
    header = [c.value for c in ws[3]]
    rows = {row[2]: dict(zip(header, row)) for row in ws.iter_rows(min_row=4, values_only=True)}
    with sessions.begin() as s:
        xf = s.scalar(select(Department).where(Department.name == XF))
        expected = {}
        for gt, target, group in s.execute(select(GroupTarget, Target, DrawGroup)
                                           .join(Target, Target.id == GroupTarget.target_id)
                                           .join(DrawGroup, DrawGroup.id == GroupTarget.group_id)
                                           .where(DrawGroup.draw_id == entered.draw_id)):
            expected[target.uscc] = (s.get(Person, group.leader_person_id).name, group.number)
        last_gt = s.get(GroupTarget, entered.pairs[-1][1])
        problem_uscc = s.get(Target, last_gt.target_id).uscc
    assert set(rows) == set(expected)
    for uscc, (leader, group) in expected.items():
        assert (rows[uscc]["组长"], rows[uscc]["检查组"]) == (leader, group)
        assert rows[uscc][xf.label] == ("5" if uscc == problem_uscc else "1")
    assert rows[problem_uscc]["是否发现问题"] == "是"


async def test_inspector_is_refused_and_gets_nothing(chat, sessions, entered):
    await chat.as_user(_inspector_tg(sessions)).send("/report")
    assert "没有执行此操作的权限" in chat.last_text()
    assert chat.documents() == []


async def test_unknown_campaign_is_named(chat, sessions, entered):
    (coordinator_tg,) = coordinator_tgs(sessions).values()
    await chat.as_user(coordinator_tg).send("/report 999")
    assert "没有找到抽查任务「999」" in chat.last_text()
    assert chat.documents() == []


async def test_report_in_the_group_is_sent_only_in_private(chat, sessions, entered):
    await chat.as_user(LEADER_TG, chat_id=GROUP_ID, chat_type="supergroup").send("/report")
    assert "私聊" in chat.last_text()
    assert chat.documents() == []


# ------------------------------------------------------------------------------------------------ /publish

async def test_publish_needs_a_leader(chat, sessions, entered):
    (coordinator_tg,) = coordinator_tgs(sessions).values()
    await chat.as_user(coordinator_tg).send("/publish")
    assert "没有执行此操作的权限" in chat.last_text()
    with sessions.begin() as s:
        campaign = s.get(Campaign, entered.campaign_id)
        assert (campaign.state, campaign.published_on) == ("entered", None)


async def test_publish_refused_while_results_are_missing(chat, sessions):
    done = enter_all(sessions, leave=3)
    await chat.as_user(LEADER_TG).send(f"/publish {done.campaign_id}")
    assert "还有 3 项结果未录入" in chat.last_text()
    with sessions.begin() as s:
        assert s.get(Campaign, done.campaign_id).state == "inspecting"


async def test_leader_publishes_late_and_the_publicity_list_goes_out(chat, cfg, sessions, entered):
    coordinators = coordinator_tgs(sessions)
    today = dt.datetime.now(cfg.tz).date()
    late = WorkCalendar.from_config(cfg).workdays_between(dt.date(2022, 10, 24), today)  # due 2022-10-24
    assert late > 0
    await chat.as_user(LEADER_TG).send(f"/publish {entered.campaign_id}")
    reply = chat.last_text()
    assert "已公示" in reply and today.isoformat() in reply and f"已超过公示期限 {late} 个工作日" in reply
    with sessions.begin() as s:
        campaign = s.get(Campaign, entered.campaign_id)
        assert (campaign.state, campaign.published_on) == ("published", today)
        assert s.scalar(select(func.count()).select_from(AuditEntry)
                        .where(AuditEntry.action == "campaign.publish")) == 1
        group_line = s.scalar(select(OutboxMessage).where(OutboxMessage.chat_id == GROUP_ID,
                                                          OutboxMessage.text.like("%结果公示%")))
        assert group_line is not None and f"已超过公示期限 {late} 个工作日" in group_line.text

    # the automatic sender (its job runs at once in the bot) builds the 公示 workbook; the outbox delivers it
    await chat.app.bot_data.report_sender.run_once()
    await outbox_sender.deliver_due(chat.app.bot, sessions, limit=100)
    published = f"已于 {today.isoformat()} 公示"
    for tg in [LEADER_TG, *coordinators.values()]:
        publicity = _documents(chat, tg, published)
        # the 公示 list, and the draw's verification page for anyone the list is shown to (SPEC §5.11)
        assert [name for name, _ in publicity] == [f"{campaign.number}_公示.xlsx", f"{campaign.number}_抽取核验.html"], tg
        assert publicity[1][1].startswith(b"<!DOCTYPE html>")
    # 公示: one row per target and department; the 消防 row of the last target shows its code 5
    _name, data = publicity[0]
    ws = openpyxl.load_workbook(BytesIO(data)).active
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, row)) for row in ws.iter_rows(min_row=2, values_only=True)]
    with sessions.begin() as s:
        problem = s.get(Target, s.get(GroupTarget, entered.pairs[-1][1]).target_id)
        n_targets = s.scalar(select(func.count()).select_from(GroupTarget).join(DrawGroup)
                             .where(DrawGroup.draw_id == entered.draw_id))
    assert len(rows) == 4 * n_targets and all(r["抽查任务编号"] == campaign.number for r in rows)
    (row,) = [r for r in rows if r["统一社会信用代码"] == problem.uscc and r["检查实施机关"] == XF]
    assert "发现问题已责令改正" in row["检查结果"] and row["企业名称"] == problem.name
    # the leader's copy arrives once even if the sender runs again
    await chat.app.bot_data.report_sender.run_once()
    await outbox_sender.deliver_due(chat.app.bot, sessions, limit=100)
    assert len(_documents(chat, LEADER_TG, published)) == 2
    assert len(_documents(chat, LEADER_TG)) == 2  # the leader is no coordinator: only the 公示 workbook and the page


async def test_publish_twice_says_when(chat, sessions, entered):
    await chat.as_user(LEADER_TG).send("/publish")
    await chat.as_user(LEADER_TG).send(f"/publish {entered.campaign_id}")
    assert "已于" in chat.last_text() and "不再重复公示" in chat.last_text()


async def test_publish_in_the_group_is_announced_there_once(chat, sessions, entered):
    await chat.as_user(LEADER_TG, chat_id=GROUP_ID, chat_type="supergroup").send("/publish")
    assert [c for c in chat.replies() if c.method == "sendMessage"] == []  # the outbox line is the answer
    with sessions.begin() as s:
        assert s.get(Campaign, entered.campaign_id).state == "published"
    await outbox_sender.deliver_due(chat.app.bot, sessions, limit=100)
    lines = [c.text for c in chat.request.calls if c.method == "sendMessage" and c.chat_id == GROUP_ID]
    assert len(lines) == 1 and "【结果公示】" in lines[0] and "马勇" in lines[0]
    # another group is refused and nothing changes there
    await chat.as_user(LEADER_TG, chat_id=-100777, chat_type="supergroup").send("/publish")
    assert "已绑定的工作群" in chat.last_text()
