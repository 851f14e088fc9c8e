"""/correct, the department head's 同意/驳回 and /followup through the real Application (SPEC §6.8, §6.9)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select


from bot.runtime import outbox_sender
from bot.runtime.app import build_application
from models import AuditEntry, Correction, FollowUp, OutboxMessage, Person, Result, ResultHistory, Target
from tests.conversation.harness import Chat, StubRequest
from tests.resultsetup import GA, SJ, WL, submit

MINORS = "接纳未成年人进入营业场所情况"  # a 文旅 item, submitted as code 8 (a follow-up is open)
REGISTRY = "主体注册登记情况"  # the 市场监管 item, submitted as code 1


@pytest.fixture
def sub(sessions):
    return submit(sessions, codes={MINORS: 8})


async def _deliver(chat, sessions):
    """Run the outbox once, so its messages reach the stub like Telegram would get them."""
    chat.mark = len(chat.request.calls)
    while (await outbox_sender.deliver_due(chat.app.bot, sessions)).claimed:
        pass


def _tg(sessions, person_id: int) -> int:
    with sessions.begin() as s:
        return s.get(Person, person_id).telegram_user_id


def _target_name(sessions, target_id: int) -> str:
    with sessions.begin() as s:
        return s.get(Target, target_id).name


def _result(sessions, result_id: int) -> tuple[int, str | None, int]:
    with sessions.begin() as s:
        r = s.get(Result, result_id)
        return r.code, r.note, r.version


def _corrections(sessions) -> list[tuple[int, str]]:
    with sessions.begin() as s:
        return [(c.id, c.state) for c in s.scalars(select(Correction).order_by(Correction.id))]


def _last_buttons(chat) -> list[tuple[str, str]]:
    calls = [c for c in chat.replies() if c.buttons()]
    assert calls, [c.method for c in chat.replies()]
    return calls[-1].buttons()


async def _ask_correction(chat, sessions, sub, requester_tg: int, *, code: str = "8 ",
                          note: str | None = "年度报告未按规定公示", reason: str = "录入时误选代码"):
    """/correct as the requester: target 1 → the 市场监管 item → `code` → description → reason → 提交申请."""
    await chat.as_user(requester_tg).send("/correct")
    assert "请选择检查对象" in chat.last_text()
    await chat.press(_target_name(sessions, sub.targets[0]))
    assert REGISTRY in chat.last_text() and "1 未发现问题" in chat.last_text()
    await chat.press("1. " + REGISTRY[:5])
    codes = [text for text, _ in _last_buttons(chat)]
    assert "1 未发现问题" not in codes and len(codes) == 9  # every configured code but the current one
    assert all(text.split()[0].isdigit() for text in codes)  # each button begins with its number
    await chat.press(code)
    if note is not None:
        await chat.send(note)
    else:
        await chat.press("跳过")
    assert "更正理由" in chat.last_text()
    await chat.send(reason)
    assert "请确认更正申请" in chat.last_text() and reason in chat.last_text()
    await chat.press("提交申请")
    assert "已提交" in chat.last_text()


async def test_correct_approved_by_the_head_changes_the_result_and_tells_everyone(chat, sessions, sub):
    rid = sub.results[(sub.targets[0], REGISTRY)]
    requester, submitter = sub.inspectors[SJ][1], sub.inspectors[SJ][0]  # the colleague asks; the other entered
    await _ask_correction(chat, sessions, sub, _tg(sessions, requester))
    assert _result(sessions, rid) == (1, None, 1)  # nothing changes before the approval
    [(cid, state)] = _corrections(sessions)
    assert state == "pending"

    await _deliver(chat, sessions)
    head_tg = _tg(sessions, sub.heads[SJ])
    asks = [c for c in chat.replies() if c.chat_id == head_tg and c.buttons()]
    assert len(asks) == 1 and "录入时误选代码" in asks[0].text and "年度报告未按规定公示" in asks[0].text
    assert asks[0].buttons() == [("同意", f"corr:ok:{cid}"), ("驳回", f"corr:no:{cid}")]

    # another department's head presses 同意 on a copy of the button: refused, nothing changes
    await chat.as_user(_tg(sessions, sub.heads[GA])).press_data(f"corr:ok:{cid}")
    assert "分管领导" in chat.alerts()[-1]
    # an inspector may not decide at all; a leader may not while the department has a bound head
    await chat.as_user(_tg(sessions, sub.inspectors[SJ][0])).press_data(f"corr:ok:{cid}")
    assert "权限" in chat.alerts()[-1]
    await chat.as_user(sub.leader_tg).press_data(f"corr:ok:{cid}")
    assert "分管领导" in chat.alerts()[-1]
    assert _result(sessions, rid) == (1, None, 1) and _corrections(sessions) == [(cid, "pending")]

    # a forged id is refused
    await chat.as_user(head_tg).press_data("corr:ok:999")
    assert "失效" in chat.alerts()[-1]

    await chat.as_user(head_tg).press("同意")
    assert _result(sessions, rid) == (8, "年度报告未按规定公示", 2)
    assert _corrections(sessions) == [(cid, "approved")]
    edit = [c for c in chat.replies() if c.method == "editMessageText"][-1]
    assert "已同意" in edit.text and not edit.params.get("reply_markup")  # the buttons are gone
    with sessions.begin() as s:
        history = s.scalars(select(ResultHistory).where(ResultHistory.result_id == rid)
                            .order_by(ResultHistory.version)).all()
        assert [(h.version, h.code, h.correction_id) for h in history] == [(1, 1, None), (2, 8, cid)]
        assert s.scalar(select(FollowUp).where(FollowUp.result_id == rid)).state == "open"  # code 8 opens one
        actions = set(s.scalars(select(AuditEntry.action)))
        assert {"correction.request", "correction.approve", "followup.open"} <= actions
        told = {r.chat_id: r.text for r in s.scalars(select(OutboxMessage).where(OutboxMessage.text.like("%更正%")))}
    assert "已由" in told[_tg(sessions, requester)] and "/followup" in told[_tg(sessions, requester)]
    assert "您录入的" in told[_tg(sessions, submitter)]
    assert f"第 {sub.group_number} 组" in told[_tg(sessions, sub.leader_id)]

    # pressing again: already decided, nothing changes
    await chat.as_user(head_tg).press_data(f"corr:no:{cid}")
    assert "已处理" in chat.alerts()[-1]
    assert _result(sessions, rid) == (8, "年度报告未按规定公示", 2)


async def test_rejected_correction_changes_nothing(chat, sessions, sub):
    rid = sub.results[(sub.targets[0], REGISTRY)]
    requester_tg = _tg(sessions, sub.inspectors[SJ][0])
    await _ask_correction(chat, sessions, sub, requester_tg, code="7 ", note=None)
    await _deliver(chat, sessions)
    await chat.as_user(_tg(sessions, sub.heads[SJ])).press("驳回")
    assert "已驳回" in [c for c in chat.replies() if c.method == "editMessageText"][-1].text
    assert _result(sessions, rid) == (1, None, 1)
    assert [state for _, state in _corrections(sessions)] == ["rejected"]
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(ResultHistory).where(ResultHistory.result_id == rid)) == 1
        assert s.scalar(select(FollowUp).where(FollowUp.result_id == rid)) is None
    await _deliver(chat, sessions)
    rejected = [c for c in chat.replies() if c.chat_id == requester_tg]
    assert len(rejected) == 1 and "驳回" in rejected[0].text


async def test_one_pending_request_per_result(chat, sessions, sub):
    await _ask_correction(chat, sessions, sub, _tg(sessions, sub.inspectors[SJ][0]))
    await chat.as_user(_tg(sessions, sub.inspectors[SJ][1])).send("/correct")
    assert _last_buttons(chat)[0][0].startswith("⏳")
    await chat.press("⏳ " + _target_name(sessions, sub.targets[0]))
    assert "待审批" in chat.last_text()
    await chat.press("⏳ 1.")
    assert "待审批" in chat.alerts()[-1]
    assert len(_corrections(sessions)) == 1


async def test_text_where_a_button_is_expected_changes_nothing(chat, sessions, sub):
    await chat.as_user(_tg(sessions, sub.inspectors[WL][0])).send("/correct")
    await chat.send("网吧")
    assert "请点击上方的按钮" in chat.last_text()
    await chat.press(_target_name(sessions, sub.targets[0]))
    assert MINORS in chat.last_text()  # still in the flow, at the next step
    await chat.send("8")
    assert "请点击上方的按钮" in chat.last_text()
    # a stale button of the first message (the target list was answered) changes nothing
    await chat.press_data(f"correct:t:{sub.draw_id}:{sub.targets[1]}")
    assert "失效" in chat.alerts()[-1]
    assert _corrections(sessions) == []


async def test_someone_elses_or_forged_results_are_refused(chat, sessions, sub):
    inspector_tg = _tg(sessions, sub.inspectors[GA][0])
    await chat.as_user(inspector_tg).send("/correct")
    await chat.press(_target_name(sessions, sub.targets[0]))
    # a 市场监管 result id under a 公安 inspector's own prompt: re-checked, refused
    msg = [c for c in chat.request.calls if c.chat_id == inspector_tg and c.buttons()][-1]
    message = chat._find_message(msg)
    await chat.press_data(f"correct:r:{sub.results[(sub.targets[0], REGISTRY)]}", message)
    assert "失效" in chat.alerts()[-1]
    await chat.press_data("correct:r:abc", message)
    assert "失效" in chat.alerts()[-1]
    # a head who is not an inspector cannot start /correct
    await chat.as_user(_tg(sessions, sub.heads[SJ])).send("/correct")
    assert "权限" in chat.last_text()


async def test_cancel_and_idle_expiry(chat, sessions, sub):
    tg = _tg(sessions, sub.inspectors[SJ][0])
    await chat.as_user(tg).send("/correct")
    await chat.send("/cancel")
    assert "已取消" in chat.last_text()
    await chat.press(_target_name(sessions, sub.targets[0]))
    assert "失效" in chat.alerts()[-1]

    await chat.send("/correct")
    await chat.press(_target_name(sessions, sub.targets[0]))
    chat.app.user_data[tg]["correct"]["touched"] -= 31 * 60
    await chat.press("1. ")
    assert "30 分钟" in chat.last_text()
    assert "correct" not in chat.app.user_data[tg]
    assert _corrections(sessions) == []


async def test_followup_full_flow_with_a_bad_amount_re_asked(chat, sessions, sub):
    fid = sub.followups[sub.results[(sub.targets[0], MINORS)]]
    tg = _tg(sessions, sub.inspectors[WL][1])
    name = _target_name(sessions, sub.targets[0])
    await chat.as_user(tg).send("/followup")
    assert "未完结 2 项" in chat.last_text()
    await chat.press(name[:10])
    assert "请勾选" in chat.last_text()
    await chat.send("责令改正")  # typed instead of pressed
    assert "请点击上方的按钮" in chat.last_text()
    await chat.press("责令改正")
    await chat.press("行政处罚")
    labels = [text for text, _ in _last_buttons(chat)]
    assert "✅ 责令改正" in labels and "✅ 行政处罚" in labels and "立案调查" in labels
    await chat.press("下一步")
    assert "罚款金额" in chat.last_text()
    await chat.send("五千元")
    assert "不是有效的金额" in chat.last_text()
    await chat.send("5000.123")
    assert "不是有效的金额" in chat.last_text()
    await chat.send("5000.5")
    assert "备注" in chat.last_text()
    await chat.send("已下达责令改正通知书")
    assert "5000.50 元" in chat.last_text()
    await chat.press("保存并办结")
    assert "已保存并办结" in chat.last_text()
    today = dt.datetime.now(chat.app.bot_data.cfg.tz).date()
    with sessions.begin() as s:
        fu = s.get(FollowUp, fid)
        assert (fu.state, fu.measures, fu.penalty_amount, fu.closed_on) == \
            ("closed", ["责令改正", "行政处罚"], Decimal("5000.50"), today)
        assert fu.note == f"{today.isoformat()} 已下达责令改正通知书"
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        assert actions[-2:] == ["followup.update", "followup.close"]

    # a closed follow-up is shown read-only
    await chat.send("/followup")
    assert "未完结 1 项" in chat.last_text()
    await chat.press("✔ ")
    assert "仅供查看" in chat.last_text() and "5000.50 元" in chat.last_text()
    # a button of the finished flow changes nothing
    await chat.press_data("fu:m:0")
    with sessions.begin() as s:
        assert s.get(FollowUp, fid).measures == ["责令改正", "行政处罚"]


async def test_followup_save_without_closing_and_cancel(chat, sessions, sub):
    fid = sub.followups[sub.results[(sub.targets[1], MINORS)]]
    tg = _tg(sessions, sub.inspectors[WL][0])
    await chat.as_user(tg).send("/followup")
    await chat.press(_target_name(sessions, sub.targets[1])[:10])
    await chat.press("立案调查")
    await chat.press("下一步")
    assert "备注" in chat.last_text()
    await chat.press("跳过")
    assert "保存并办结" in [text for text, _ in _last_buttons(chat)]
    await chat.press("保存")
    assert "已保存后续处理" in chat.last_text()
    with sessions.begin() as s:
        fu = s.get(FollowUp, fid)
        assert (fu.state, fu.measures, fu.penalty_amount, fu.note) == ("open", ["立案调查"], None, None)

    await chat.send("/followup")
    await chat.press(_target_name(sessions, sub.targets[1])[:10])
    await chat.press("移送")
    await chat.send("/cancel")
    assert "已取消" in chat.last_text()
    with sessions.begin() as s:
        assert s.get(FollowUp, fid).measures == ["立案调查"]


async def test_followup_is_the_departments_only(chat, sessions, sub):
    await chat.as_user(_tg(sessions, sub.inspectors[SJ][0])).send("/followup")
    assert "没有后续处理记录" in chat.last_text()
    fid = next(iter(sub.followups.values()))
    await chat.press_data(f"fu:f:{fid}")
    assert "失效" in chat.alerts()[-1]


async def test_one_flow_at_a_time(chat, sessions, sub):
    """Starting /followup while /correct is open ends /correct: the new flow gets the user's answers."""
    tg = _tg(sessions, sub.inspectors[WL][0])
    await chat.as_user(tg).send("/correct")
    correct_buttons = [data for c in chat.replies() for _text, data in c.buttons()]
    await chat.send("/followup")
    assert "未完结" in chat.last_text()
    assert "correct" not in chat.app.user_data[tg]
    await chat.press_data(correct_buttons[0])  # a button of the ended /correct: refused, nothing happens
    assert chat.alerts()


async def test_followup_survives_a_restart(cfg, sessions, sub):
    fid = sub.followups[sub.results[(sub.targets[0], MINORS)]]
    tg = _tg(sessions, sub.inspectors[WL][0])
    request = StubRequest()
    app = build_application(cfg, sessions, request=request)
    await app.initialize()
    chat = Chat(app, request)
    await chat.as_user(tg).send("/followup")
    await chat.press(_target_name(sessions, sub.targets[0])[:10])
    await chat.press("行政处罚")
    await chat.press("下一步")
    assert "罚款金额" in chat.last_text()
    await app.update_persistence()
    await app.shutdown()

    app2 = build_application(cfg, sessions, request=request)  # same stub: the old messages stay pressable
    await app2.initialize()
    chat2 = Chat(app2, request)
    chat2.as_user(tg)
    chat2._update_ids = iter(range(1000, 2000))
    chat2._msg_ids = iter(range(1000, 2000))
    try:
        await chat2.send("1200")  # the bot still waits for the amount
        assert "备注" in chat2.last_text()
        await chat2.press("跳过")
        await chat2.press("保存")
        assert "已保存" in chat2.last_text()
    finally:
        await app2.shutdown()
    with sessions.begin() as s:
        fu = s.get(FollowUp, fid)
        assert (fu.measures, fu.penalty_amount, fu.state) == (["行政处罚"], Decimal("1200.00"), "open")


async def _two_pages(chat) -> tuple[list, list]:
    """Twelve entries ten a page: page 1 has ten and 下一页, page 2 two and 上一页 — 12 buttons at most."""
    first = _last_buttons(chat)
    assert len(first) == 11 and first[-1][0] == "下一页 ›" and "第 1/2 页" in chat.last_text()
    await chat.press("下一页")
    second = _last_buttons(chat)
    assert len(second) == 3 and second[-1][0] == "‹ 上一页" and "第 2/2 页" in chat.last_text()
    return first, second


async def test_many_targets_are_paged_within_twelve_buttons(chat, sessions):
    """An inspector who entered a dozen targets gets them ten a page with ‹ › (SPEC §11's portable subset: at
    most 12 buttons on a message); a page is recomputed from the database and a target on page 2 can be chosen."""
    from tests.drawsetup import PLAN

    sub = submit(sessions, n_targets=12, plan={**PLAN, "sampling": {"count": 14}, "targets_per_group": 14})
    me = _tg(sessions, sub.inspectors[SJ][0])
    await chat.as_user(me).send("/correct")
    first, second = await _two_pages(chat)
    last_target = _target_name(sessions, sub.targets[11])
    await chat.press(last_target[:10])
    assert REGISTRY in chat.last_text()
    await chat.press_data(first[0][1])  # a target button of the page left behind: not the current prompt
    assert "已失效" in chat.alerts()[-1]


async def test_many_followups_are_paged_within_twelve_buttons(chat, sessions):
    """Twelve open follow-ups: /followup lists them ten a page with ‹ › (SPEC §11's portable subset; it offered up
    to 90 buttons), and one on page 2 can be opened."""
    from tests.drawsetup import PLAN

    sub = submit(sessions, n_targets=12, codes={MINORS: 8}, plan={**PLAN, "sampling": {"count": 14},
                                                                  "targets_per_group": 14})
    me = _tg(sessions, sub.inspectors[WL][0])
    await chat.as_user(me).send("/followup")
    first, second = await _two_pages(chat)
    await chat.press(second[0][0])
    assert MINORS in chat.last_text()
    await chat.press_data("fu:pg:x")
    assert "已失效" in chat.alerts()[-1]
