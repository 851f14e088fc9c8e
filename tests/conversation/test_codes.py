"""A county with its own code numbers (bot.rules.codes) through the real Application: /enter shows the configured
codes and asks for a description after this set's problem codes only; /correct asks for one after a problem code,
the head's approval to this set's follow-up code opens the follow-up, and /followup names that code.

The set is tests/unit/test_codes.py's: 1 is a problem code and 8 the clean code, the opposite of the record form."""

from __future__ import annotations

import tomllib

import pytest
from sqlalchemy import func, select

from bot.config import config_from_dict
from models import FollowUp, Person, Result, Target
from tests.conversation.conftest import CONFIG_ADMIN_ID
from tests.conversation.test_corrections import _deliver
from tests.conversation.test_entry import WL, _buttons, _county, _drafts
from tests.resultsetup import SJ, submit
from tests.unit.test_codes import RENUMBERED_TOML

REGISTRY = "主体注册登记情况"  # the 市场监管 item
SHOWN = ["1 不合格", "5 不涉及", "8 合格", "12 责令改正", "19 发现问题待后续处理"]


@pytest.fixture
def cfg(db_url):
    return config_from_dict({"bot": {"token": "123:TEST"}, "database": {"url": db_url},
                             "access": {"admins": [CONFIG_ADMIN_ID]}, **tomllib.loads(RENUMBERED_TOML)})


async def test_enter_asks_for_a_description_after_the_configured_problem_codes_only(chat, sessions):
    county = _county(sessions)
    me = county.members[(1, WL)][1]
    target = county.targets[1][2]
    (item1, _), (item2, _) = county.items[WL]
    await chat.as_user(me.tg).send("/enter")
    await chat.press(target.name)
    # nothing answered yet: the bulk shortcut names this set's clean code, then the codes, then ‹ 返回
    assert [text for text, _ in _buttons(chat)][:2] == ["全部「8 合格」", "标记问题事项"]
    assert [text for text, _ in _buttons(chat)][2:-1] == SHOWN

    await chat.press("8 ")  # the clean code here: no description, the next item at once (no 跳过)
    assert "必填" not in chat.last_text() and "第 2/2 项" in chat.last_text()
    assert not any(text.startswith("跳过") for text, _ in _buttons(chat))
    await chat.press("1 ")  # a problem code here: the description is required, no 跳过
    assert "必填" in chat.last_text() and "1 不合格" in chat.last_text()
    assert not any(text.startswith("跳过") for text, _ in _buttons(chat))
    await chat.send("无证经营")
    assert _drafts(sessions, me) == {(item1, 8, None, True), (item2, 1, "无证经营", True)}
    assert "提交" in [text for text, _ in _buttons(chat)]
    await chat.press("提交")
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(FollowUp)) == 0  # 8 opens nothing here


async def test_correct_to_the_configured_follow_up_code(chat, sessions):
    sub = submit(sessions, code_set=config_from_dict(tomllib.loads(RENUMBERED_TOML)).code_set, default_code=8)
    requester, head = sub.inspectors[SJ][1], sub.heads[SJ]
    with sessions.begin() as s:
        requester_tg, head_tg = (s.get(Person, p).telegram_user_id for p in (requester, head))
        target_name = s.get(Target, sub.targets[0]).name
    rid = sub.results[(sub.targets[0], REGISTRY)]

    await chat.as_user(requester_tg).send("/followup")  # none yet: the text names this set's follow-up code
    assert "19 发现问题待后续处理" in chat.last_text()

    await chat.send("/correct")
    await chat.press(target_name)
    await chat.press("1. " + REGISTRY[:5])
    assert [text for text, _ in _buttons(chat)] == [s for s in SHOWN if not s.startswith("8 ")]
    await chat.press("19 ")
    assert "必填" in chat.last_text()
    await chat.send("年度报告未按规定公示")
    await chat.send("录入时误选代码")
    await chat.press("提交申请")
    assert "已提交" in chat.last_text()

    await _deliver(chat, sessions)
    await chat.as_user(head_tg).press("同意")
    with sessions.begin() as s:
        assert s.get(Result, rid).code == 19
        (fu,) = s.scalars(select(FollowUp)).all()
        assert fu.result_id == rid and fu.state == "open"

    await chat.as_user(requester_tg).send("/followup")
    assert "原为" not in chat.last_text()
    await chat.press(target_name[:10])
    assert "19 发现问题待后续处理" in chat.last_text() and "原为" not in chat.last_text()
