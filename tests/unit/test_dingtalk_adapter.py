"""The adapter's conversions of 钉钉 payloads (tests/fixtures/dingtalk) into the bridge's events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.runtime.dingtalk.adapter import button_press, incoming_message
from bot.runtime.platform.base import Chat, IncomingFile, Sender

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dingtalk"
EXAMPLES = json.loads((FIXTURES / "bot_incoming_messages.json").read_text(encoding="utf-8"))["examples"]


def test_single_chat_text():
    event = incoming_message(EXAMPLES["text_single_chat"])
    assert event.event_id == "msgY****Pw=="
    assert event.sender == Sender("042***297", "张三")
    assert event.chat == Chat("private", "042***297", "张三")
    assert event.text == "hello DingTalk!" and event.file is None
    assert event.sent_at == pytest.approx(1695283635.765)


def test_group_at_text_from_the_documented_frame():
    frame = json.loads((FIXTURES / "stream_frame_bot_message.json").read_text(encoding="utf-8"))["frame"]
    event = incoming_message(json.loads(frame["data"]))
    assert event.chat == Chat("group", "cidAsXSBLnA==", "测试群")
    assert event.text == "测试数据"  # the leading space where the @-mention was is gone
    assert event.sent_at == pytest.approx(1690362101.894)  # the doc's "createA" spelling is read too


@pytest.mark.parametrize("content, text", [("@机器人 /draw 3", "/draw 3"), ("  @bot   /start  ", "/start"),
                                           ("/start @someone", "/start @someone")])
def test_a_literal_leading_mention_is_stripped_in_groups(content, text):
    payload = dict(EXAMPLES["text_group_at_bot"], text={"content": content})
    assert incoming_message(payload).text == text


def test_a_private_text_keeps_a_leading_at():
    payload = dict(EXAMPLES["text_single_chat"], text={"content": "@alice please"})
    assert incoming_message(payload).text == "@alice please"


def test_file_message():
    event = incoming_message(EXAMPLES["file"])
    assert event.text == "" and event.file == IncomingFile("foobar.zip", "LJYY****bw==")


@pytest.mark.parametrize("kind", ["picture", "video", "audio", "richText", "unknown"])
def test_unsupported_types_come_without_text_or_file(kind):
    event = incoming_message(EXAMPLES[kind])
    assert event.text == "" and event.file is None and event.event_id == EXAMPLES[kind]["msgId"]


def test_card_callback():
    payload = {"corpId": "dingcorp", "userId": "staff001", "outTrackId": "track1", "type": "actionCallback",
               "spaceType": "IM_GROUP", "spaceId": "cidG==", "userIdType": 1, "extension": "{}",
               "content": json.dumps({"cardPrivateData": {"actionIds": ["press"], "params": {"data": "corr:ok:12"}}})}
    press = button_press("frame-1", payload)
    assert (press.event_id, press.message_ref, press.data) == ("frame-1", "track1", "corr:ok:12")
    assert press.sender == Sender("staff001") and press.chat == Chat("group", "cidG==")
    private = button_press("frame-2", dict(payload, spaceType="IM_ROBOT", spaceId="whatever"))
    assert private.chat == Chat("private", "staff001")
    assert button_press("frame-3", {k: v for k, v in payload.items() if k not in ("spaceType", "spaceId")}).chat is None
