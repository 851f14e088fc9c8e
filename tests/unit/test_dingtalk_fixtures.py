"""DingTalk documentation fixtures (tests/fixtures/dingtalk): every file parses, cites where it came from, and still
has the shapes a future Stream-mode emulator will rely on. The fixtures are copies of documented/SDK examples — see
tests/fixtures/dingtalk/README.md — so a failure here means a fixture was edited into something the docs never said."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dingtalk"
PAYLOAD_KEYS = {"request", "response", "frame", "error", "examples", "msg_keys", "data_fields"}
EXPECTED = {
    "access_token.json", "api_errors.json", "bot_incoming_messages.json", "interactive_cards.json", "media_upload.json",
    "robot_batch_send.json", "robot_group_send.json", "robot_message_file_download.json", "robot_msg_keys.json",
    "stream_connections_open.json", "stream_frame_bot_message.json", "stream_frame_card_callback.json",
    "stream_frame_event.json", "stream_frame_system_disconnect.json", "stream_frame_system_ping.json",
}


def problems(fixture: object) -> list[str]:
    """What is wrong with one fixture object; empty when it is acceptable."""
    if not isinstance(fixture, dict):
        return ["not a JSON object"]
    found = []
    source = fixture.get("source")
    if not isinstance(source, list) or not source:
        found.append("no source list")
    elif not all(isinstance(s, str) and len(s.strip()) > 10 for s in source):
        found.append("a source entry is not a citation string")
    if not PAYLOAD_KEYS & fixture.keys():
        found.append(f"none of {sorted(PAYLOAD_KEYS)}")
    return found


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def check_frame(frame: dict) -> dict:
    assert frame["type"] in {"SYSTEM", "EVENT", "CALLBACK"}
    assert isinstance(frame["headers"], dict) and frame["headers"]["topic"]
    assert isinstance(frame["data"], str), "data travels as a JSON string"
    return json.loads(frame["data"])


def check_ack(ack: dict, frame: dict | None = None) -> dict:
    assert isinstance(ack["code"], int)
    assert ack["headers"]["messageId"]
    assert ack["headers"]["contentType"] == "application/json"
    assert isinstance(ack["message"], str)
    assert isinstance(ack["data"], str)
    return json.loads(ack["data"])


def test_the_expected_fixture_files_exist():
    assert EXPECTED <= {p.name for p in FIXTURES.glob("*.json")}
    assert (FIXTURES / "README.md").is_file()


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.name)
def test_every_fixture_parses_and_cites_a_source(path):
    assert problems(json.loads(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("bad, expected", [
    ({"request": {"method": "POST"}}, "no source list"),
    ({"source": [], "frame": {}}, "no source list"),
    ({"source": [""], "frame": {}}, "a source entry is not a citation string"),
    ({"source": ["https://open.dingtalk.com/document/x"]}, "none of"),
    ([1, 2], "not a JSON object"),
])
def test_the_check_rejects_fixtures_without_sources_or_payload(bad, expected):
    assert any(p.startswith(expected) for p in problems(bad))


def test_access_token_shapes():
    f = load("access_token.json")
    assert f["request"]["method"] == "POST" and f["request"]["url"].endswith("/v1.0/oauth2/accessToken")
    assert set(f["request"]["json"]) == {"appKey", "appSecret"}
    body = f["response"]["json"]
    assert isinstance(body["accessToken"], str) and body["expireIn"] == 7200


def test_connection_open_shapes():
    f = load("stream_connections_open.json")
    req = f["request"]
    assert req["url"] == "https://api.dingtalk.com/v1.0/gateway/connections/open"
    assert {"clientId", "clientSecret", "subscriptions", "ua"} <= req["json"].keys()
    assert {"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"} in req["json"]["subscriptions"]
    assert all(s.keys() == {"type", "topic"} for s in req["json"]["subscriptions"])
    resp = f["response"]["json"]
    assert resp["endpoint"].startswith("wss://") and resp["ticket"]
    assert f["limits"]["ticket_ttl_seconds"] == 90


def test_bot_message_frame_and_ack():
    f = load("stream_frame_bot_message.json")
    frame = f["frame"]
    assert frame["specVersion"] == "1.0" and frame["type"] == "CALLBACK"
    assert frame["headers"]["topic"] == "/v1.0/im/bot/messages/get"
    assert frame["headers"]["messageId"]
    data = check_frame(frame)
    assert data["conversationType"] == "2" and data["isInAtList"] is True
    assert {"conversationId", "senderStaffId", "senderId", "senderNick", "chatbotUserId", "msgId", "sessionWebhook",
            "robotCode", "atUsers"} <= data.keys()
    assert data["msgtype"] == "text" and isinstance(data["text"]["content"], str)
    assert check_ack(f["ack"]) == {"response": None}


def test_event_frame_and_ack():
    f = load("stream_frame_event.json")
    assert f["frame"]["specVersion"] == "1.0" and f["frame"]["type"] == "EVENT"
    assert f["frame"]["headers"]["messageId"] == f["ack"]["headers"]["messageId"]
    check_frame(f["frame"])
    assert check_ack(f["ack"])["status"] == "SUCCESS"
    assert set(f["ack_event_status"]) == {"SUCCESS", "LATER"}


def test_system_frames():
    ping = load("stream_frame_system_ping.json")
    assert ping["frame"]["headers"]["topic"] == "ping"
    assert check_frame(ping["frame"]) == check_ack(ping["ack"]) == {"opaque": "123-dsfs"}, "the ACK echoes opaque"
    assert ping["ack"]["headers"]["messageId"] == ping["frame"]["headers"]["messageId"]
    disc = load("stream_frame_system_disconnect.json")
    assert disc["frame"]["headers"]["topic"] == "disconnect"
    assert check_frame(disc["frame"])["reason"]
    assert disc["ack"] is None


def test_card_callback_topic_and_answer():
    f = load("stream_frame_card_callback.json")
    assert f["topic"] == "/v1.0/card/instances/callback" and f["frame_type"] == "CALLBACK"
    assert {"outTrackId", "userId", "content"} <= f["data_fields"].keys()
    answer = check_ack(f["ack"])
    assert "cardParamMap" in answer["response"]["cardData"]


def test_incoming_message_variants():
    ex = load("bot_incoming_messages.json")["examples"]
    assert {"text_single_chat", "text_group_at_bot", "picture", "file", "richText", "audio", "video"} <= ex.keys()
    assert ex["text_single_chat"]["conversationType"] == "1"
    assert ex["text_single_chat"]["text"]["content"]
    assert {"downloadCode", "fileName"} <= ex["file"]["content"].keys()
    for name, msg in ex.items():
        assert {"conversationId", "conversationType", "senderStaffId", "msgId", "msgtype", "robotCode"} <= msg.keys(), name


def test_sending_shapes():
    one = load("robot_batch_send.json")
    assert one["request"]["url"].endswith("/v1.0/robot/oToMessages/batchSend")
    assert one["request"]["headers"]["x-acs-dingtalk-access-token"]
    assert {"robotCode", "userIds", "msgKey", "msgParam"} == one["request"]["json"].keys()
    assert isinstance(one["request"]["json"]["msgParam"], str), "msgParam is a JSON string, not an object"
    json.loads(one["request"]["json"]["msgParam"])
    assert one["limits"]["userIds_max"] == 20
    assert {"processQueryKey", "invalidStaffIdList", "flowControlledStaffIdList"} <= set(one["response_fields"])
    grp = load("robot_group_send.json")
    assert {"openConversationId", "robotCode", "msgKey", "msgParam"} == grp["request"]["json"].keys()
    assert "processQueryKey" in grp["response_fields"]
    keys = load("robot_msg_keys.json")["msg_keys"]
    assert keys["sampleText"].keys() == {"content"} and keys["sampleMarkdown"].keys() == {"title", "text"}


def test_file_shapes():
    dl = load("robot_message_file_download.json")
    assert {"downloadCode", "robotCode"} == dl["request"]["json"].keys() and dl["response_fields"] == ["downloadUrl"]
    up = load("media_upload.json")
    assert up["request"]["content_type"] == "multipart/form-data" and "media" in up["request"]["form"]
    assert up["limits"]["file"]["max_mb"] == 20 and "xlsx" in up["limits"]["file"]["formats"]


def test_error_bodies():
    errors = load("api_errors.json")["error"]
    assert any(e.get("json", {}).get("code", "").startswith("Forbidden.AccessDenied") for e in errors)
    assert any(e.get("http_status") == 504 for e in errors)
    assert any(e.get("errcode") == 90002 for e in errors)
