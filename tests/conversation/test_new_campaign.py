"""/new (guided campaign creation) and /campaigns, through the real Application."""

from __future__ import annotations

import json

import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.runtime.app import build_application
from bot.services.directory_import import import_workbook
from bot.devtools.sample_data import sample_workbook
from models import Campaign, Person
from tests.conversation.harness import Chat, StubRequest

LEADER, INSPECTOR, COORDINATOR = 7001, 7002, 7003
TITLE = "2022年全县互联网上网服务营业场所经营活动联合抽查"
WL, SJ = "西华县文化广电和旅游局", "西华县市场监督管理局"


@pytest.fixture
def directory(sessions):
    """The sample directories; 马勇 (领导小组) is bound as the leader, an inspector and a 联络员 too."""
    with sessions.begin() as s:
        outcome = import_workbook(s, sample_workbook(n_targets=30), actor="test", filename="名录.xlsx",
                                  today=dt.date(2022, 9, 1))
        assert outcome.ok
        leader = s.scalar(select(Person).where(Person.name == "马勇"))
        assert leader.has_role("leader")
        leader.telegram_user_id = LEADER
        inspector = s.scalar(select(Person).where(Person.roles == "inspector").order_by(Person.id).limit(1))
        inspector.telegram_user_id = INSPECTOR
        coordinator = s.scalar(select(Person).where(Person.roles.like("%coordinator%")).limit(1))
        assert coordinator is not None and not coordinator.has_role("leader")
        coordinator.telegram_user_id = COORDINATOR
        return {"leader": leader.id}


def campaigns_in(sessions) -> int:
    with sessions.begin() as s:
        return s.scalar(select(func.count()).select_from(Campaign))


def last_edit(chat: Chat) -> str:
    edits = [c for c in chat.replies() if c.method == "editMessageText"]
    assert edits, [c.method for c in chat.replies()]
    return edits[-1].text


def last_buttons(chat: Chat) -> list[str]:
    calls = [c for c in chat.replies() if c.buttons()]
    assert calls, [c.method for c in chat.replies()]
    return [text for text, _ in calls[-1].buttons()]


async def start_to_sampling(chat: Chat) -> None:
    """Title → two departments → their items → scope; leaves the bot asking for the sampling rule."""
    await chat.as_user(LEADER).send("/new")
    assert "任务名称" in chat.last_text()
    await chat.send(TITLE)
    assert "参与单位" in chat.last_text()
    await chat.press(WL)
    assert "1. 西华县文化广电和旅游局（牵头）" in last_edit(chat)
    assert f"✅ {WL}（牵头）" in last_buttons(chat) and SJ in last_buttons(chat)
    await chat.press(SJ)
    await chat.press("完成")
    assert "第 1/2 个单位" in chat.last_text() and WL in chat.last_text()
    await chat.press("网络文化经营许可证的许可情况")
    await chat.press("接纳未成年人进入营业场所情况")
    assert "已选 2 项" in last_edit(chat)
    await chat.press("完成")
    assert "第 2/2 个单位" in chat.last_text() and SJ in chat.last_text()
    await chat.press("主体注册登记情况")
    await chat.press("完成")
    assert "抽查范围" in chat.last_text()
    await chat.press("互联网上网服务营业场所")
    await chat.press("完成")
    assert "抽查方式" in chat.last_text()


async def test_leader_creates_a_campaign_with_buttons_and_typed_answers(chat, sessions, directory):
    await start_to_sampling(chat)
    await chat.press("按比例")
    assert "抽查比例" in chat.last_text()
    await chat.send("20%")
    assert "按比例 20%" in chat.texts()[0] and "检查时间" in chat.last_text()
    await chat.send("2022-09-26 2022-09-28")
    summary = chat.last_text()
    assert TITLE in summary and "西文旅抽查〔2022〕1号" in summary
    assert "结果录入截止：2022-10-31" in summary and "公示截止：2022-10-24" in summary
    assert "网络文化经营许可证的许可情况、接纳未成年人进入营业场所情况" in summary
    assert campaigns_in(sessions) == 0
    await chat.press("确认创建")
    done = chat.last_text()
    assert "已创建抽查任务：西文旅抽查〔2022〕1号" in done and "2022-10-31" in done and "2022-10-24" in done
    assert "已经过去" in done  # the seed's 2022 window is in the past: a warning, not an error
    with sessions.begin() as s:
        c = s.scalars(select(Campaign)).one()
        assert f"任务 ID：{c.id}" in done
        assert c.title == TITLE and c.lead_department.name == WL and c.state == "draft"
        assert [cd.department.name for cd in c.departments] == [WL, SJ]
        assert [ci.item.name for ci in c.items] == ["网络文化经营许可证的许可情况", "接纳未成年人进入营业场所情况",
                                                    "主体注册登记情况"]
        assert c.scope == ["互联网上网服务营业场所"] and c.sampling == {"ratio": "0.2"}
        assert (c.window_start, c.window_end) == (dt.date(2022, 9, 26), dt.date(2022, 9, 28))
        assert (c.results_due, c.publication_due) == (dt.date(2022, 10, 31), dt.date(2022, 10, 24))
        assert c.created_by_person_id == directory["leader"]
    # The conversation is over: the confirm button is gone, a second press changes nothing.
    await chat.press_data("new:ok")
    assert "失效" in chat.alerts()[-1]
    assert campaigns_in(sessions) == 1


async def test_campaigns_lists_state_deadlines_and_id(chat, sessions, directory):
    await chat.as_user(COORDINATOR).send("/campaigns")
    assert "还没有抽查任务" in chat.last_text()
    await start_to_sampling(chat)
    await chat.press("按数量")
    await chat.send("5")
    await chat.send("2022-09-26 2022-09-28")
    await chat.press("确认创建")
    with sessions.begin() as s:
        cid = s.scalars(select(Campaign.id)).one()
    for user in (LEADER, COORDINATOR):
        await chat.as_user(user).send("/campaigns")
        text = chat.last_text()
        assert f"ID {cid} · 西文旅抽查〔2022〕1号【草稿】" in text
        assert "2022-09-26 至 2022-09-28" in text
        assert "结果录入截止：2022-10-31" in text and "公示截止：2022-10-24" in text
    with sessions.begin() as s:
        s.get(Campaign, cid).state = "drawn"
    await chat.as_user(LEADER).send("/campaigns")
    assert "【已抽取】" in chat.last_text()
    await chat.as_user(INSPECTOR).send("/campaigns")
    assert "权限" in chat.last_text()


async def test_by_class_sampling_and_window_in_two_steps(chat, sessions, directory):
    await start_to_sampling(chat)
    await chat.press("按信用分类")
    assert "A类" in chat.last_text() and "第 1/5 类" in chat.last_text()
    for answer, next_class in (("5%", "B类"), ("0.1", "C类"), ("30%", "D类"), ("100%", "未分类")):
        await chat.send(answer)
        assert next_class in chat.last_text()
    await chat.send("２０％")  # full-width, as phones type it
    assert "按信用分类：A类 5%，B类 10%，C类 30%，D类 100%，未分类 20%" in chat.texts()[0]
    await chat.send("2022年9月26日")
    assert "结束日期" in chat.last_text()
    await chat.send("2022-09-28")
    assert "请确认" in chat.last_text()
    await chat.press("确认创建")
    with sessions.begin() as s:
        c = s.scalars(select(Campaign)).one()
        assert c.sampling == {"by_class": {"A": "0.05", "B": "0.1", "C": "0.3", "D": "1", "-": "0.2"}}


async def test_bad_ratio_count_and_window_are_asked_again(chat, sessions, directory):
    await start_to_sampling(chat)
    await chat.press("按比例")
    for bad in ("150%", "20", "abc", "0"):
        await chat.send(bad)
        assert "不是有效的比例" in chat.last_text() and bad in chat.last_text()
    await chat.send("0.2")
    assert "检查时间" in chat.last_text()
    await chat.send("下周一")
    assert "没有看懂" in chat.last_text()
    await chat.send("2022-02-30 2022-03-02")
    assert "没有看懂" in chat.last_text()
    await chat.send("2022-09-26 9999-12-31")
    assert "没有看懂" in chat.last_text()
    await chat.send("2022-09-28 2022-09-26")
    assert "晚于" in chat.last_text()
    await chat.send("2022-09-26 2022-09-28")
    assert "请确认" in chat.last_text()
    assert campaigns_in(sessions) == 0


async def test_bad_count_is_asked_again(chat, directory):
    await start_to_sampling(chat)
    await chat.press("按数量")
    await chat.send("1.5")
    assert "不是有效的户数" in chat.last_text()
    await chat.send("10")
    assert "按数量 10 户" in chat.texts()[0]


async def test_text_where_a_button_is_expected_changes_nothing(chat, directory):
    await chat.as_user(LEADER).send("/new")
    await chat.send(TITLE)
    await chat.send(WL)
    assert "请点击上方消息中的按钮" in chat.last_text()
    await chat.press(WL)
    assert f"✅ {WL}（牵头）" in last_buttons(chat)
    await chat.press("完成")
    assert "第 1/1 个单位" in chat.last_text()


async def test_done_without_a_choice_and_forged_buttons_are_refused(chat, sessions, directory):
    await chat.as_user(LEADER).send("/new")
    await chat.send(TITLE)
    await chat.press("完成")
    assert "至少选择一个单位" in chat.alerts()[-1]
    await chat.press(WL)
    msg = chat.request.messages[max(k for k in chat.request.messages if k[0] == LEADER)]
    await chat.press_data("new:dep:999", msg)
    assert "失效" in chat.alerts()[-1]
    await chat.press_data("new:dep:1")  # a button of some other message
    assert "失效" in chat.alerts()[-1]
    await chat.press_data("new:item:0", msg)  # a later step's button now
    assert "失效" in chat.alerts()[-1]
    await chat.press("完成")
    await chat.press("完成")
    assert "至少选择一项" in chat.alerts()[-1]


async def test_only_leaders_in_private_chats(chat, sessions, directory):
    await chat.as_user(INSPECTOR).send("/new")
    assert "权限" in chat.last_text() and "领导小组" in chat.last_text()
    await chat.as_user(COORDINATOR).send("/new")
    assert "权限" in chat.last_text()
    await chat.as_user(LEADER, chat_id=-100555, chat_type="supergroup").send("/new")
    assert "私聊" in chat.last_text()
    await chat.as_user(9999).send("/new")
    assert "邀请码" in chat.last_text()


async def test_a_step_checks_the_role_again(chat, sessions, directory):
    await chat.as_user(LEADER).send("/new")
    with sessions.begin() as s:
        s.scalar(select(Person).where(Person.telegram_user_id == LEADER)).roles = "inspector"
    await chat.send(TITLE)
    assert "权限" in chat.last_text()


async def test_cancel_at_any_step(chat, sessions, directory):
    await start_to_sampling(chat)
    await chat.send("/cancel")
    assert "已取消" in chat.last_text()
    await chat.send("20%")
    assert "没有理解" in chat.last_text()  # the conversation is over
    await start_to_sampling(chat)
    await chat.press("按比例")
    await chat.send("0.2")
    await chat.send("2022-09-26 2022-09-28")
    await chat.press("取消")
    assert "已取消" in chat.last_text()
    assert campaigns_in(sessions) == 0


async def test_new_again_starts_over(chat, directory):
    await chat.as_user(LEADER).send("/new")
    await chat.send(TITLE)
    await chat.send("/new")
    assert "第 1 步" in chat.last_text()
    await chat.send("另一个名称")
    assert "另一个名称" in chat.last_text()


async def test_idle_conversation_ends_with_a_message(chat, sessions, directory):
    await chat.as_user(LEADER).send("/new")
    await chat.send(TITLE)
    chat.app.user_data[LEADER]["new_campaign"]["touched"] -= 31 * 60
    await chat.press(WL)
    assert "30 分钟" in chat.last_text()
    await chat.send("随便说点什么")
    assert "没有理解" in chat.last_text()


async def test_draft_survives_a_restart(cfg, sessions, directory):
    request = StubRequest()
    app = build_application(cfg, sessions, request=request)
    await app.initialize()
    chat = Chat(app, request)
    await chat.as_user(LEADER).send("/new")
    await chat.send(TITLE)
    await chat.press(WL)
    await app.update_persistence()
    await app.shutdown()

    app2 = build_application(cfg, sessions, request=request)  # same stub: the old messages stay pressable
    await app2.initialize()
    chat2 = Chat(app2, request)
    chat2.as_user(LEADER)
    chat2._update_ids = iter(range(1000, 2000))
    chat2._msg_ids = iter(range(1000, 2000))
    try:
        await chat2.press(SJ)
        assert "1. 西华县文化广电和旅游局（牵头） 2. 西华县市场监督管理局" in last_edit(chat2)
        await chat2.press("完成")
        assert "第 1/2 个单位" in chat2.last_text()
    finally:
        await app2.shutdown()


async def test_long_lists_are_paged(chat, sessions, directory):
    from models import Department

    with sessions.begin() as s:
        s.add_all([Department(name=f"西华县第{n:02d}局") for n in range(1, 22)])  # 25: three pages
    await chat.as_user(LEADER).send("/new")
    await chat.send(TITLE)
    assert "西华县第11局" not in last_buttons(chat) and "下一页 ›" in last_buttons(chat)
    await chat.press("下一页")
    assert "西华县第11局" in last_buttons(chat) and "‹ 上一页" in last_buttons(chat)
    await chat.press("西华县第11局")
    assert "1. 西华县第11局（牵头）" in last_edit(chat)
    await chat.press("‹ 上一页")
    assert WL in last_buttons(chat)
    # the portable subset of SPEC §11: no keyboard of the flow over 12 buttons or 3 to a row
    keyboards = 0
    for call in chat.request.calls:
        markup = call.params.get("reply_markup") or {}
        rows = (json.loads(markup) if isinstance(markup, str) else markup).get("inline_keyboard") or []
        keyboards += bool(rows)
        assert sum(len(r) for r in rows) <= 12 and all(len(r) <= 3 for r in rows), rows
    assert keyboards >= 4


async def test_a_group_of_one_inspector_is_refused_while_departments_are_chosen(cfg, sessions, directory):
    """细则 十 (bot.rules.drawalgo.too_few_inspectors): with one inspector per department, one department is not
    enough — refused at 完成 with how many to choose; a second department lets /new go on."""
    import dataclasses

    cfg = dataclasses.replace(cfg, rules=dataclasses.replace(cfg.rules, inspectors_per_department=1))
    request = StubRequest()
    app = build_application(cfg, sessions, request=request)
    await app.initialize()
    try:
        chat = Chat(app, request)
        await chat.as_user(LEADER).send("/new")
        await chat.send(TITLE)
        await chat.press(WL)
        await chat.press("完成")
        assert "至少需要 2 名检查人员" in chat.alerts()[-1] and "至少选择 2 个单位" in chat.alerts()[-1]
        await chat.press(SJ)
        await chat.press("完成")
        assert "第 1/2 个单位" in chat.last_text()
    finally:
        await app.shutdown()


async def test_by_class_asks_the_configured_classes(cfg, sessions, directory):
    """[credit] renames the classes (issue 14): /new asks one ratio per configured class, by its name, and the
    campaign stores the names."""
    import dataclasses

    from bot.config import config_from_dict

    names = ["低风险", "中风险", "中高风险", "高风险"]
    scheme = config_from_dict({"credit": {"classes": names}}).credit_scheme
    cfg = dataclasses.replace(cfg, credit_scheme=scheme)
    request = StubRequest()
    app = build_application(cfg, sessions, request=request)
    await app.initialize()
    try:
        chat = Chat(app, request)
        await start_to_sampling(chat)
        await chat.press("按信用分类")
        assert "低风险" in chat.last_text() and "第 1/5 类" in chat.last_text()
        for answer, next_class in (("5%", "中风险"), ("0.1", "中高风险"), ("30%", "高风险"), ("100%", "未分类")):
            await chat.send(answer)
            assert next_class in chat.last_text()
        await chat.send("20%")
        assert "按信用分类：低风险 5%，中风险 10%，中高风险 30%，高风险 100%，未分类 20%" in chat.texts()[0]
        await chat.send("2022-09-26")
        await chat.send("2022-09-28")
        await chat.press("确认创建")
        with sessions.begin() as s:
            c = s.scalars(select(Campaign)).one()
            assert c.sampling == {"by_class": {"低风险": "0.05", "中风险": "0.1", "中高风险": "0.3", "高风险": "1",
                                               "-": "0.2"}}
    finally:
        await app.shutdown()
