"""The 钉钉 emulator (bot.devtools.dingtalk_emulator) driven over real sockets by plain httpx and websockets clients —
no bot code — against the documented shapes in tests/fixtures/dingtalk and the contract WIRE.md."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus

from bot.devtools.dingtalk_emulator import TOPIC_BOT_MESSAGE, TOPIC_CARD_CALLBACK, FakeDingTalk

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dingtalk"
CID, SECRET = "dingappkey", "s3cret"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def dt():
    with FakeDingTalk(client_id=CID, client_secret=SECRET, ping_interval=30, redeliver_after=0.3,
                      disconnect_grace=0.2, seed=1) as emu:
        yield emu


def make(**kwargs) -> FakeDingTalk:
    settings = dict(client_id=CID, client_secret=SECRET, ping_interval=30, redeliver_after=0.3,
                    disconnect_grace=0.2, seed=1)
    settings.update(kwargs)
    return FakeDingTalk(**settings)


def http(dt: FakeDingTalk) -> httpx.Client:
    return httpx.Client(base_url=dt.openapi_url, timeout=10)


def token(dt: FakeDingTalk) -> dict[str, str]:
    r = http(dt).post("/v1.0/oauth2/accessToken", json={"appKey": CID, "appSecret": SECRET})
    assert r.status_code == 200, r.text
    return {"x-acs-dingtalk-access-token": r.json()["accessToken"]}


def open_url(dt: FakeDingTalk) -> str:
    r = http(dt).post("/v1.0/gateway/connections/open", json={
        "clientId": CID, "clientSecret": SECRET, "ua": "test",
        "subscriptions": [{"type": "CALLBACK", "topic": TOPIC_BOT_MESSAGE},
                          {"type": "CALLBACK", "topic": TOPIC_CARD_CALLBACK}]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["endpoint"] == dt.ws_url
    return f"{body['endpoint']}?ticket={body['ticket']}"


def ack(frame: dict, data: str = '{"response": null}') -> str:
    # stream_frame_bot_message.json "ack"
    return json.dumps({"code": 200, "headers": {"contentType": "application/json",
                                                "messageId": frame["headers"]["messageId"]},
                       "message": "OK", "data": data})


async def recv(ws, timeout: float = 3.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


def text_send(user_ids, content="hi", **extra) -> dict:
    return {"robotCode": CID, "userIds": user_ids, "msgKey": "sampleText",
            "msgParam": json.dumps({"content": content}), **extra}


def card_body(space: str, track: str, content: str, buttons: list) -> dict:
    # interactive_cards.json card_instance_create_and_deliver, WIRE.md's two template variables
    return {"cardTemplateId": "tpl.schema", "outTrackId": track, "callbackType": "STREAM",
            "openSpaceId": space, "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT"},
            "cardData": {"cardParamMap": {"content": content, "buttons": json.dumps(buttons, ensure_ascii=False)}}}


# --- token ------------------------------------------------------------------------------------------------------

def test_token_expiry_expire_tokens_and_bad_secret():
    with make(token_ttl=0.3) as dt:
        dt.user("u1")
        c = http(dt)
        r = c.post("/v1.0/oauth2/accessToken", json={"appKey": CID, "appSecret": SECRET})
        assert r.status_code == 200 and set(r.json()) == {"accessToken", "expireIn"}
        h = {"x-acs-dingtalk-access-token": r.json()["accessToken"]}
        assert c.post("/v1.0/robot/oToMessages/batchSend", headers=h, json=text_send(["u1"])).status_code == 200
        time.sleep(0.35)
        r = c.post("/v1.0/robot/oToMessages/batchSend", headers=h, json=text_send(["u1"]))
        assert r.status_code == 401 and r.json()["code"] == "InvalidAuthentication" and r.json()["requestid"]

        r = c.post("/v1.0/oauth2/accessToken", json={"appKey": CID, "appSecret": "wrong"})
        assert r.status_code == 400 and r.json()["code"] == "invalidClientIdOrSecret"
        assert "wrong" not in json.dumps(dt.calls[-1].json)          # secrets are not recorded
    with make() as dt:
        dt.user("u1")
        c = http(dt)
        h = token(dt)
        assert h["x-acs-dingtalk-access-token"] and http(dt).post(
            "/v1.0/oauth2/accessToken", json={"appKey": CID, "appSecret": SECRET}).json()["expireIn"] == 7200
        dt.expire_tokens()
        r = c.post("/v1.0/robot/oToMessages/batchSend", headers=h, json=text_send(["u1"]))
        assert r.status_code == 401 and r.json()["code"] == "InvalidAuthentication"
        r = c.post("/v1.0/robot/oToMessages/batchSend", json=text_send(["u1"]))       # no header
        assert r.status_code == 401 and r.json()["code"] == "InvalidAuthentication"
        r = c.post("/v1.0/robot/oToMessages/batchSend", headers={"x-acs-dingtalk-access-token": "nope"},
                   json=text_send(["u1"]))
        assert r.status_code == 401
        assert c.post("/v1.0/robot/oToMessages/batchSend", headers=token(dt), json=text_send(["u1"])).is_success


# --- stream: open, ticket, ping, push, ACK, redelivery -----------------------------------------------------------

def test_open_checks_credentials_and_a_ticket_opens_one_connection(dt):
    r = http(dt).post("/v1.0/gateway/connections/open", json={"clientId": CID, "clientSecret": "x"})
    assert r.status_code == 400 and r.json()["code"] == "invalidClientIdOrSecret"
    url = open_url(dt)

    async def run():
        async with websockets.connect(url):
            await asyncio.to_thread(dt.wait_for, lambda d: d.connections == 1, 3)
            with pytest.raises(InvalidStatus) as refused:
                async with websockets.connect(url):
                    pass
            assert refused.value.response.status_code == 401
        with pytest.raises(InvalidStatus):
            async with websockets.connect(dt.ws_url + "?ticket=made-up"):
                pass

    asyncio.run(run())
    assert dt.connections_total == 1 and len(dt.rejected_handshakes) == 2
    assert "already used" in dt.rejected_handshakes[0]


def test_ping_is_acked_by_echoing_opaque():
    with make(ping_interval=0.1) as dt:
        async def run():
            async with websockets.connect(open_url(dt)) as ws:
                ping = await recv(ws)
                assert ping["type"] == "SYSTEM" and ping["headers"]["topic"] == "ping"
                assert set(json.loads(ping["data"])) == {"opaque"}
                await ws.send(ack(ping, ping["data"]))          # stream_frame_system_ping.json: echo
                bad = await recv(ws)
                await ws.send(ack(bad, '{"opaque": "wrong"}'))
                await asyncio.to_thread(dt.wait_for, lambda d: len(d.ping_acks) == 2, 3)

        asyncio.run(run())
        assert dt.ping_acks == [True, False] and "opaque" in dt.protocol_errors[0]


def test_single_and_group_messages_are_shaped_like_the_documentation(dt):
    u = dt.user("staff001", nick="张三")
    g = dt.group("cidGroup1==", title="联合抽查群", members=[u])
    documented = fixture("bot_incoming_messages.json")["examples"]

    async def run():
        async with websockets.connect(open_url(dt)) as ws:
            mid = u.send("/start ABC")
            frame = await recv(ws)
            assert frame["headers"]["messageId"] == mid
            assert frame["specVersion"] == "1.0" and frame["type"] == "CALLBACK"
            assert set(frame["headers"]) == {"appId", "connectionId", "contentType", "messageId", "time", "topic"}
            assert frame["headers"]["topic"] == TOPIC_BOT_MESSAGE
            single = json.loads(frame["data"])
            await ws.send(ack(frame))
            u.send("/draw", chat=g)
            frame = await recv(ws)
            group = json.loads(frame["data"])
            await ws.send(ack(frame))
            assert u.send("no mention", chat=g, at_bot=False) is None     # groups deliver only @-messages
            g.remove_robot()
            assert u.send("/draw", chat=g) is None
            await asyncio.to_thread(dt.wait_for, lambda d: len(d.ack_latencies) == 2, 3)
            return single, group

    single, group = asyncio.run(run())
    assert set(single) == set(documented["text_single_chat"])
    assert single["conversationType"] == "1" and single["text"] == {"content": "/start ABC"}
    assert single["senderStaffId"] == "staff001" and single["senderNick"] == "张三" and single["robotCode"] == CID
    assert set(group) == set(documented["text_group_at_bot"]) - {"createA"} | {"createAt"}
    assert group["conversationType"] == "2" and group["isInAtList"] is True
    assert group["conversationId"] == "cidGroup1==" and group["conversationTitle"] == "联合抽查群"
    assert group["text"] == {"content": " /draw"} and group["atUsers"] == [{"dingtalkId": group["chatbotUserId"]}]
    assert [a.topic for a in dt.ack_latencies] == [TOPIC_BOT_MESSAGE] * 2 and dt.pending_acks() == []


def test_an_unacked_message_is_redelivered_until_acked(dt):
    u = dt.user("staff001")

    async def run():
        async with websockets.connect(open_url(dt)) as ws:
            mid = u.send("hello")
            first = await recv(ws)
            again = await recv(ws, 2)                     # redeliver_after=0.3
            assert first["headers"]["messageId"] == again["headers"]["messageId"] == mid
            assert first["data"] == again["data"]
            await ws.send(ack(again))
            await ws.send(ack(first))                     # a duplicate ACK is counted, not an error
            await asyncio.to_thread(dt.wait_for, lambda d: d.duplicate_acks == 1, 3)
            with pytest.raises(asyncio.TimeoutError):
                await recv(ws, 0.6)

    asyncio.run(run())
    assert [p["redelivery"] for p in dt.pushes] == [False, True]
    assert len(dt.ack_latencies) == 1 and dt.ack_latencies[0].seconds >= 0.3 and dt.protocol_errors == []


def test_documented_fire_and_forget_without_redelivery_and_late_acks_counted():
    with make(redeliver_callbacks=False, late_ack=0.2) as dt:
        u = dt.user("staff001")

        async def run():
            async with websockets.connect(open_url(dt)) as ws:
                u.send("hello")
                frame = await recv(ws)
                with pytest.raises(asyncio.TimeoutError):
                    await recv(ws, 0.7)
                await ws.send(ack(frame))
                await asyncio.to_thread(dt.wait_for, lambda d: d.ack_latencies, 3)

        asyncio.run(run())
        assert len(dt.pushes) == 1 and dt.late_acks == 1 and dt.ack_latencies[0].seconds > 0.6


def test_messages_sent_while_disconnected_wait_for_the_next_connection(dt):
    u = dt.user("staff001")
    mid = u.send("early")

    async def run():
        async with websockets.connect(open_url(dt)) as ws:
            frame = await recv(ws)
            await ws.send(ack(frame))
            return frame

    assert asyncio.run(run())["headers"]["messageId"] == mid


def test_disconnect_frame_then_the_server_closes(dt):
    async def run():
        async with websockets.connect(open_url(dt)) as ws:
            await asyncio.to_thread(dt.wait_for, lambda d: d.connections == 1, 3)
            await asyncio.to_thread(dt.send_disconnect)
            frame = await recv(ws)
            assert frame["type"] == "SYSTEM" and frame["headers"]["topic"] == "disconnect"
            assert json.loads(frame["data"]) == {"reason": "connection is expired"}
            started = time.monotonic()
            with pytest.raises(ConnectionClosed):
                await recv(ws, 3)
            assert time.monotonic() - started >= 0.1          # after the grace, not at once
            assert ws.close_code == 1000

    asyncio.run(run())
    dt.wait_for(lambda d: d.connections == 0, 3)


def test_drop_aborts_tcp_and_the_unacked_frame_comes_again_on_the_next_connection(dt):
    u = dt.user("staff001")

    async def run():
        async with websockets.connect(open_url(dt)) as ws:
            mid = u.send("lost?")
            await recv(ws)
            await asyncio.to_thread(dt.drop_connections)
            with pytest.raises(ConnectionClosedError):
                await recv(ws, 3)
            assert ws.protocol.close_rcvd is None                # no close frame
        await asyncio.to_thread(dt.wait_for, lambda d: d.connections == 0, 3)
        async with websockets.connect(open_url(dt)) as ws:
            frame = await recv(ws)
            assert frame["headers"]["messageId"] == mid
            await ws.send(ack(frame))
            await asyncio.to_thread(dt.wait_for, lambda d: d.ack_latencies, 3)

    asyncio.run(run())
    assert dt.connections_total == 2 and dt.pending_acks() == []


def test_each_push_goes_to_one_of_several_connections(dt):
    u = dt.user("staff001")

    async def reader(ws, seen):
        try:
            while True:
                frame = await recv(ws, 1.0)
                seen.append(frame["headers"]["messageId"])
                await ws.send(ack(frame))
        except asyncio.TimeoutError:
            pass

    async def run():
        async with websockets.connect(open_url(dt)) as a, websockets.connect(open_url(dt)) as b:
            await asyncio.to_thread(dt.wait_for, lambda d: d.connections == 2, 3)
            sent = [u.send(f"m{i}") for i in range(12)]
            seen_a, seen_b = [], []
            await asyncio.gather(reader(a, seen_a), reader(b, seen_b))
            return sent, seen_a, seen_b

    sent, seen_a, seen_b = asyncio.run(run())
    assert sorted(seen_a + seen_b) == sorted(sent) and seen_a and seen_b


# --- robot sends ------------------------------------------------------------------------------------------------

def test_batch_send_recipients_and_validation(dt):
    u, v = dt.user("staff001"), dt.user("staff002")
    dt.outside_visible_range(v)
    c, h = http(dt), token(dt)
    r = c.post("/v1.0/robot/oToMessages/batchSend", headers=h, json=text_send(["staff001", "staff002", "ghost"]))
    assert r.status_code == 200
    body = r.json()
    assert body["invalidStaffIdList"] == ["staff002", "ghost"] and body["flowControlledStaffIdList"] == []
    assert [(m.kind, m.text, m.ref) for m in dt.sent_to(u)] == [("text", "hi", body["processQueryKey"])]
    assert dt.sent_to(v) == []

    def err(payload):
        r = c.post("/v1.0/robot/oToMessages/batchSend", headers=h, json=payload)
        assert set(r.json()) == {"code", "message", "requestid"}, r.text
        return r.status_code, r.json()["code"]

    assert err(text_send([f"s{i}" for i in range(21)])) == (400, "invalidParameter.userIds.overMax")
    assert err(text_send([])) == (400, "invalidParameter.userIds.empty")
    assert err({**text_send(["staff001"]), "msgKey": "sampleLink"}) == (400, "invalidParameter.msgKey.invalid")
    assert err({**text_send(["staff001"]), "msgParam": {"content": "x"}}) == (400, "invalidParameter.msgParam.invalid")
    assert err({**text_send(["staff001"]), "robotCode": "other"}) == (400, "invalidParameter.robotCode.auth")
    md = {"robotCode": CID, "userIds": ["staff001"], "msgKey": "sampleMarkdown",
          "msgParam": json.dumps({"title": "标题", "text": "**正文**"})}
    assert c.post("/v1.0/robot/oToMessages/batchSend", headers=h, json=md).is_success
    assert (dt.sent_to(u)[-1].kind, dt.sent_to(u)[-1].text, dt.sent_to(u)[-1].title) == ("markdown", "**正文**", "标题")
    assert [c.api for c in dt.calls].count("batchSend") == 7


def test_group_send_needs_the_robot_in_the_group_and_a_short_msg_param(dt):
    g = dt.group("cidG==", title="群", members=[dt.user("staff001")])
    c, h = http(dt), token(dt)

    def send(cid, content="hi"):
        return c.post("/v1.0/robot/groupMessages/send", headers=h, json={
            "robotCode": CID, "openConversationId": cid, "msgKey": "sampleText",
            "msgParam": json.dumps({"content": content}, ensure_ascii=False)})

    r = send("cidG==")
    assert r.status_code == 200 and set(r.json()) == {"processQueryKey"}
    assert [m.text for m in dt.sent_to(g)] == ["hi"]
    r = send("cidG==", "字" * 5000)                              # 15,000+ bytes of msgParam
    assert r.status_code == 400 and r.json()["code"] == "invalidParameter.msgParam.tooLong"
    assert send("cidG==", "字" * 4990).status_code == 200
    r = send("cidUnknown")
    assert r.status_code == 400 and r.json()["code"].startswith("invalidParameter.openConversationId.")
    g.remove_robot()
    r = send("cidG==")
    assert r.status_code == 400 and r.json()["code"] == "invalidParameter.openConversationId.robotNotInGroup"
    assert len(dt.sent_to(g)) == 2


# --- files ------------------------------------------------------------------------------------------------------

def upload(dt, data: bytes, name="名单.xlsx", access_token=None):
    tok = access_token or token(dt)["x-acs-dingtalk-access-token"]
    return http(dt).post(f"/media/upload?access_token={tok}", data={"type": "file"},
                         files={"media": (name, data, "application/octet-stream")})


def test_upload_then_sample_file_send_records_the_bytes(dt):
    u = dt.user("staff001")
    r = upload(dt, b"PK\x03\x04 xlsx bytes")
    assert r.status_code == 200 and r.json()["errcode"] == 0
    media_id = r.json()["media_id"]
    r = http(dt).post("/v1.0/robot/oToMessages/batchSend", headers=token(dt), json={
        "robotCode": CID, "userIds": ["staff001"], "msgKey": "sampleFile",
        "msgParam": json.dumps({"mediaId": media_id, "fileName": "名单.xlsx", "fileType": "xlsx"})})
    assert r.status_code == 200 and r.json()["invalidStaffIdList"] == []
    sent = dt.sent_to(u)[0]
    assert (sent.kind, sent.filename, sent.data) == ("file", "名单.xlsx", b"PK\x03\x04 xlsx bytes")
    r = http(dt).post("/v1.0/robot/oToMessages/batchSend", headers=token(dt), json={
        "robotCode": CID, "userIds": ["staff001"], "msgKey": "sampleFile", "msgParam": '{"mediaId": "@nope"}'})
    assert r.status_code == 400 and r.json()["code"].startswith("invalidParameter.msgParam")


def test_upload_over_20_mb_is_refused_and_the_legacy_token_is_checked(dt):
    r = upload(dt, b"x" * (20 * 1024 * 1024 + 1))
    assert r.status_code == 200 and r.json()["errcode"] == 40004 and "media_id" not in r.json()
    assert upload(dt, b"x" * 1024).json()["errcode"] == 0
    assert upload(dt, b"x", access_token="bogus").json()["errcode"] == 40014
    tok = token(dt)["x-acs-dingtalk-access-token"]
    dt.expire_tokens()
    assert upload(dt, b"x", access_token=tok).json()["errcode"] == 42001


def test_a_users_file_is_downloaded_through_the_download_code(dt):
    u = dt.user("staff001")
    g = dt.group("cidG==", members=[u])
    with pytest.raises(ValueError):
        u.send_file(b"x", "a.zip", chat=g)                     # documented: files only in single chats

    async def run():
        async with websockets.connect(open_url(dt)) as ws:
            u.send_file("名单内容".encode(), "名单.xlsx")
            frame = await recv(ws)
            await ws.send(ack(frame))
            return json.loads(frame["data"])

    data = asyncio.run(run())
    assert data["msgtype"] == "file" and data["conversationType"] == "1"
    assert set(data["content"]) == set(fixture("bot_incoming_messages.json")["examples"]["file"]["content"])
    assert data["content"]["fileName"] == "名单.xlsx"
    c, h = http(dt), token(dt)
    r = c.post("/v1.0/robot/messageFiles/download", headers=h,
               json={"downloadCode": data["content"]["downloadCode"], "robotCode": CID})
    assert r.status_code == 200 and set(r.json()) == {"downloadUrl"}
    assert httpx.get(r.json()["downloadUrl"]).content == "名单内容".encode()
    r = c.post("/v1.0/robot/messageFiles/download", headers=h, json={"downloadCode": "bad", "robotCode": CID})
    assert r.status_code == 400 and r.json()["code"] == "invalidParameter.downloadCode.invalid"
    assert [c.api for c in dt.calls][-3:] == ["download", "downloadFile", "download"]


# --- cards ------------------------------------------------------------------------------------------------------

def test_card_press_gives_the_wire_callback_and_the_update_changes_the_card(dt):
    u = dt.user("staff001")
    c, h = http(dt), token(dt)
    r = c.post("/v1.0/card/instances/createAndDeliver", headers=h, json=card_body(
        "dtv1.card//IM_ROBOT.staff001", "track-1", "审批？\n第二行",
        [[{"text": "同意", "data": "corr:ok:12"}, {"text": "拒绝", "data": "corr:no:12"}]]))
    assert r.status_code == 200 and r.json()["success"] is True and r.json()["result"]["outTrackId"] == "track-1"
    card = dt.wait_reply(u, after=0)
    assert (card.kind, card.text, card.ref, card.updates) == ("card", "审批？\n第二行", "track-1", 0)
    assert card.buttons == [[("同意", "corr:ok:12"), ("拒绝", "corr:no:12")]]
    with pytest.raises(LookupError):
        u.press(card, "不存在")

    async def run():
        async with websockets.connect(open_url(dt)) as ws:
            mid = u.press(card, "同意")
            frame = await recv(ws)
            await ws.send(ack(frame, '{"response": {}}'))
            u.press_data(card, "forged:data")
            forged = await recv(ws)
            await ws.send(ack(forged, '{"response": {}}'))
            await asyncio.to_thread(dt.wait_for, lambda d: len(d.ack_latencies) == 2, 3)
            assert frame["headers"]["messageId"] == mid
            return frame, forged

    frame, forged = asyncio.run(run())
    assert frame["type"] == "CALLBACK" and frame["headers"]["topic"] == TOPIC_CARD_CALLBACK
    data = json.loads(frame["data"])
    assert set(data) == set(fixture("stream_frame_card_callback.json")["data_fields"])
    assert (data["userId"], data["outTrackId"], data["type"], data["spaceType"], data["userIdType"]) == (
        "staff001", "track-1", "actionCallback", "IM_ROBOT", 1)
    assert json.loads(data["content"]) == {"cardPrivateData": {"actionIds": ["press"],
                                                               "params": {"data": "corr:ok:12"}}}
    assert json.loads(json.loads(forged["data"])["content"])["cardPrivateData"]["params"]["data"] == "forged:data"

    r = c.put("/v1.0/card/instances", headers=h, json={
        "outTrackId": "track-1", "cardData": {"cardParamMap": {"content": "已同意", "buttons": "[]"}},
        "cardUpdateOptions": {"updateCardDataByKey": True}})
    assert r.status_code == 200 and r.json()["success"] is True
    assert (card.text, card.buttons, card.updates) == ("已同意", [], 1)
    r = c.put("/v1.0/card/instances", headers=h, json={"outTrackId": "nope",
                                                        "cardData": {"cardParamMap": {"content": "x"}}})
    assert r.status_code == 400 and r.json()["code"] == "invalidParameter.outTrackId.notExist"


def test_group_cards_need_the_robot_and_unreachable_users_get_no_card(dt):
    g = dt.group("cidG==")
    dt.outside_visible_range(dt.user("staff009"))
    c, h = http(dt), token(dt)
    r = c.post("/v1.0/card/instances/createAndDeliver", headers=h,
               json=card_body("dtv1.card//IM_GROUP.cidG==", "t-g", "x", []))
    assert r.status_code == 200 and dt.sent_to(g)[0].kind == "card"
    r = c.post("/v1.0/card/instances/createAndDeliver", headers=h,
               json=card_body("dtv1.card//IM_ROBOT.staff009", "t-u", "x", []))
    assert r.json()["result"]["deliverResults"][0]["success"] is False and dt.sent_to("staff009") == []
    g.remove_robot()
    r = c.post("/v1.0/card/instances/createAndDeliver", headers=h,
               json=card_body("dtv1.card//IM_GROUP.cidG==", "t-g2", "x", []))
    assert r.status_code == 400 and r.json()["code"] == "invalidParameter.openConversationId.robotNotInGroup"


# --- fault injection --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, status, code", [
    ("qps", 403, "Forbidden.AccessDenied.QpsLimitForApi"),
    ("quota", 403, "Forbidden.AccessDenied.ApiCountLimitForOrg"),
    ("5xx", 504, None),
    ("expired_token", 401, "InvalidAuthentication"),
])
@pytest.mark.parametrize("api", ["batchSend", "groupSend", "cardCreate", "download", "token", "open"])
def test_each_fault_kind_has_its_status_and_body(dt, api, kind, status, code):
    dt.user("staff001")
    dt.group("cidG==")
    h = token(dt)
    requests = {
        "batchSend": ("/v1.0/robot/oToMessages/batchSend", text_send(["staff001"])),
        "groupSend": ("/v1.0/robot/groupMessages/send", {"robotCode": CID, "openConversationId": "cidG==",
                                                         "msgKey": "sampleText", "msgParam": '{"content":"x"}'}),
        "cardCreate": ("/v1.0/card/instances/createAndDeliver",
                       card_body("dtv1.card//IM_GROUP.cidG==", "t1", "x", [])),
        "download": ("/v1.0/robot/messageFiles/download", {"downloadCode": "none", "robotCode": CID}),
        "token": ("/v1.0/oauth2/accessToken", {"appKey": CID, "appSecret": SECRET}),
        "open": ("/v1.0/gateway/connections/open", {"clientId": CID, "clientSecret": SECRET}),
    }
    path, body = requests[api]
    dt.fail(api, kind)
    r = http(dt).post(path, headers=h, json=body)
    assert r.status_code == status, r.text
    assert set(r.json()) == {"code", "message", "requestid"}
    if code:
        assert r.json()["code"] == code
    if kind == "quota":
        assert r.json()["message"] == fixture("api_errors.json")["error"][5]["json"]["errmsg"]
    again = http(dt).post(path, headers=h, json=body)          # times=1: the next call is normal
    assert again.status_code == (400 if api == "download" else 200), again.text


def test_flow_control_target_times_and_delay(dt):
    dt.user("staff001"), dt.user("staff002")
    c, h = http(dt), token(dt)
    dt.fail("batchSend", "flow", target="staff002")
    r = c.post("/v1.0/robot/oToMessages/batchSend", headers=h, json=text_send(["staff001", "staff002"]))
    assert r.json()["flowControlledStaffIdList"] == ["staff002"] and len(dt.sent_to("staff001")) == 1
    assert dt.sent_to("staff002") == []
    dt.fail("batchSend", "qps", times=2, target="staff002")
    assert c.post("/v1.0/robot/oToMessages/batchSend", headers=h, json=text_send(["staff001"])).is_success
    assert c.post("/v1.0/robot/oToMessages/batchSend", headers=h, json=text_send(["staff002"])).status_code == 403
    assert c.post("/v1.0/robot/oToMessages/batchSend", headers=h, json=text_send(["staff002"])).status_code == 403
    assert c.post("/v1.0/robot/oToMessages/batchSend", headers=h, json=text_send(["staff002"])).is_success
    for kind, errcode in (("qps", 90002), ("quota", 90020), ("expired_token", 42001)):
        dt.fail("upload", kind)
        assert upload(dt, b"x").json()["errcode"] == errcode
    dt.fail("upload", "5xx")
    assert upload(dt, b"x").status_code == 504
    with pytest.raises(ValueError):
        dt.fail("groupSend", "flow")
    dt.delay("cardUpdate", 0.3, times=1)
    dt.group("cidG==")
    c.post("/v1.0/card/instances/createAndDeliver", headers=h,
           json=card_body("dtv1.card//IM_GROUP.cidG==", "t1", "x", []))
    started = time.monotonic()
    r = c.put("/v1.0/card/instances", headers=h, json={"outTrackId": "t1", "cardData": {"cardParamMap": {}}})
    assert r.is_success and time.monotonic() - started >= 0.3
    dt.fail("cardUpdate", "expired_token")
    assert c.put("/v1.0/card/instances", headers=h, json={"outTrackId": "t1"}).status_code == 401


# --- the HTTP control surface -----------------------------------------------------------------------------------

def test_the_control_http_surface(dt):
    ctl = httpx.Client(base_url=f"{dt.openapi_url}/_control", timeout=10)

    def call(name, **data):
        r = ctl.post(f"/{name}", json=data)
        assert r.status_code == 200 and r.json()["ok"] is True, r.text
        return r.json()["result"]

    call("group", chat_id="cidG==", title="群", members=["staff001"])
    async def run():
        async with websockets.connect(open_url(dt)) as ws:
            mid = call("send", user_id="staff001", nick="张三", text="/start")
            frame = await recv(ws)
            assert frame["headers"]["messageId"] == mid and json.loads(frame["data"])["senderNick"] == "张三"
            await ws.send(ack(frame))
            # every frame ACKed at once: an un-ACKed one would be re-sent after 0.3 s and, on a loaded machine,
            # arrive before the next one this test waits for
            call("send", user_id="staff001", text="/draw", chat_id="cidG==")
            frame = await recv(ws)
            await ws.send(ack(frame))
            assert json.loads(frame["data"])["conversationType"] == "2"
            call("send_file", user_id="staff001", data_base64=base64.b64encode(b"abc").decode(), filename="a.xlsx")
            frame = await recv(ws)
            await ws.send(ack(frame))
            assert json.loads(frame["data"])["content"]["fileName"] == "a.xlsx"
            h = token(dt)
            await asyncio.to_thread(http(dt).post, "/v1.0/card/instances/createAndDeliver", headers=h,
                                    json=card_body("dtv1.card//IM_ROBOT.staff001", "tr", "c",
                                                   [[{"text": "好", "data": "d:1"}]]))
            call("press", user_id="staff001", ref="tr", text="好")
            pressed = await recv(ws)
            assert pressed["headers"]["topic"] == TOPIC_CARD_CALLBACK
            call("disconnect", grace=0.1)
            assert (await recv(ws))["headers"]["topic"] == "disconnect"

    asyncio.run(run())
    assert call("sent", user_id="staff001")[0]["buttons"] == [[["好", "d:1"]]]
    assert call("fail", api="batchSend", kind="qps") is True
    assert http(dt).post("/v1.0/robot/oToMessages/batchSend", headers=token(dt),
                         json=text_send(["staff001"])).status_code == 403
    assert call("delay", api="token", seconds=0.01, times=1) is True
    assert call("outside", user_id="staff001") is True
    calls = call("calls")
    assert [c["api"] for c in calls][-1] == "batchSend" and calls[-1]["status"] == 403
    assert call("calls", since=len(calls) - 1)[0]["api"] == "batchSend"
    stats = call("stats")
    assert stats["connections_total"] == 1 and stats["ack_latencies"][0][0] == TOPIC_BOT_MESSAGE
    assert call("drop") is True and call("expire_tokens") is True
    r = ctl.post("/nope", json={})
    assert r.status_code == 400 and r.json()["ok"] is False
    assert ctl.post("/fail", json={"api": "batchSend", "kind": "boom"}).status_code == 400


def test_wait_for_async_and_wait_reply(dt):
    u = dt.user("staff001")

    async def run():
        waiter = asyncio.create_task(dt.wait_for_async(lambda d: d.sent_to(u), timeout=3))
        await asyncio.to_thread(http(dt).post, "/v1.0/robot/oToMessages/batchSend", headers=token(dt),
                                json=text_send(["staff001"], "异步"))
        return await waiter

    assert asyncio.run(run())[0].text == "异步"
    assert dt.wait_reply(u, after=0).text == "异步"
    with pytest.raises(TimeoutError):
        dt.wait_reply(u, after=1, timeout=0.2)
