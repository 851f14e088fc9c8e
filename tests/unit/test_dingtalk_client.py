"""The 钉钉 client over real sockets on 127.0.0.1 (tests/unit/dingtalk_loopback.py): token caching and refresh,
WIRE.md's error table, sends, cards, upload and download."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from bot.runtime.dingtalk.client import MAX_FILE_BYTES, DingTalkClient, buttons_json, chunks
from bot.runtime.platform.base import (
    Button, Chat, RateLimited, Rejected, TooLarge, Transient, Unreachable,
)
from tests.unit.dingtalk_loopback import Loopback

BATCH = "/v1.0/robot/oToMessages/batchSend"
GROUP = "/v1.0/robot/groupMessages/send"
TOKEN = "/v1.0/oauth2/accessToken"


@pytest.fixture
async def dt():
    async with Loopback() as fake:
        yield fake


@pytest.fixture
async def client(dt):
    c = DingTalkClient("appkey", "secret", robot_code="robot1", openapi_endpoint=dt.url, oapi_endpoint=dt.url,
                       timeout=2.0, card_template_id="tpl.schema")
    yield c
    await c.aclose()


# --- token ------------------------------------------------------------------------------------------------------

async def test_token_is_fetched_once_and_shared_by_concurrent_calls(dt, client):
    await asyncio.gather(*(client.send_private_text("u1", f"hi {i}") for i in range(10)))
    assert len(dt.calls(TOKEN)) == 1
    assert dt.calls(TOKEN)[0]["json"] == {"appKey": "appkey", "appSecret": "secret"}
    assert {c["headers"]["x-acs-dingtalk-access-token"] for c in dt.calls(BATCH)} == {"token-1"}


async def test_token_is_refreshed_a_little_before_expire_in(dt):
    dt.expire_in = 1  # refreshed 0.1 s early (a tenth of the lifetime when shorter than 5 min)
    client = DingTalkClient("appkey", "secret", openapi_endpoint=dt.url, oapi_endpoint=dt.url)
    try:
        await client.send_private_text("u1", "a")
        await client.send_private_text("u1", "b")
        assert len(dt.calls(TOKEN)) == 1
        await asyncio.sleep(0.95)
        await client.send_private_text("u1", "c")
        assert len(dt.calls(TOKEN)) == 2
        assert dt.calls(BATCH)[-1]["headers"]["x-acs-dingtalk-access-token"] == "token-2"
    finally:
        await client.aclose()


async def test_a_401_refreshes_the_token_once_and_retries_once(dt, client):
    await client.send_private_text("u1", "a")
    dt.expire_tokens()  # the server no longer accepts token-1
    await client.send_private_text("u1", "b")
    assert [c["headers"]["x-acs-dingtalk-access-token"] for c in dt.calls(BATCH)] == ["token-1", "token-1", "token-2"]
    assert len(dt.calls(TOKEN)) == 2


async def test_a_second_401_is_not_retried_again(dt, client):
    await client.send_private_text("u1", "a")
    body = {"code": "InvalidAuthentication", "message": "no"}
    dt.fail(BATCH, 401, body, times=2)
    with pytest.raises(Transient):
        await client.send_private_text("u1", "b")
    assert len(dt.calls(BATCH)) == 3 and len(dt.calls(TOKEN)) == 2


async def test_a_wrong_secret_is_rejected(dt):
    client = DingTalkClient("appkey", "wrong", openapi_endpoint=dt.url)
    with pytest.raises(Rejected):
        await client.send_private_text("u1", "a")
    await client.aclose()


async def test_the_legacy_upload_refreshes_on_an_invalid_token_errcode(dt, client):
    await client.access_token()
    dt.expire_tokens()
    assert (await client.upload_file("a.xlsx", b"x")).startswith("@media")
    assert [c["query"]["access_token"] for c in dt.calls("/media/upload")] == [["token-1"], ["token-2"]]


# --- WIRE.md's error table ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("status, body, expected, retry_after", [
    (403, {"code": "Forbidden.AccessDenied.QpsLimitForApi", "message": "qps"}, RateLimited, 1),
    (429, {"code": "Throttling.Api", "message": "slow down"}, RateLimited, 1),
    (403, {"code": "Forbidden.AccessDenied.ApiCountLimitForOrg", "message": "quota"}, RateLimited, 3600),
    (504, {}, Transient, None),
    (500, {"code": "InternalError", "message": "x"}, Transient, None),
    (400, {"code": "invalidParameter.msgParam.invalid", "message": "bad"}, Rejected, None),
    (400, {"code": "invalidParameter.openConversationId.notExist", "message": "not in group"}, Unreachable, None),
    (403, {"code": "Forbidden.AccessDenied.AccessTokenPermissionDenied", "message": "no scope"}, Rejected, None),
])
async def test_error_answers_map_to_the_base_failures(dt, client, status, body, expected, retry_after):
    dt.fail(GROUP, status, body)
    with pytest.raises(expected) as caught:
        await client.send_group_text("cid1", "hi")
    assert type(caught.value) is expected
    if retry_after is not None:
        assert caught.value.retry_after == retry_after
    assert str(status) in caught.value.description


async def test_batch_send_lists_map_to_unreachable_and_rate_limited(dt, client):
    dt.answers[BATCH] = {"invalidStaffIdList": ["gone"]}
    with pytest.raises(Unreachable):
        await client.send_private_text("gone", "hi")
    dt.answers[BATCH] = {"flowControlledStaffIdList": ["busy"]}
    with pytest.raises(RateLimited) as caught:
        await client.send_private_text("busy", "hi")
    assert caught.value.retry_after == 1
    dt.answers[BATCH] = {}
    assert (await client.send_private_text("busy", "hi")).startswith("pqk-")


async def test_timeouts_and_refused_connections_are_transient(dt, client):
    await client.access_token()
    dt.delays[GROUP] = 0.5
    slow = DingTalkClient("appkey", "secret", openapi_endpoint=dt.url, timeout=0.2)
    with pytest.raises(Transient, match="timeout"):
        await slow.send_group_text("cid1", "hi")
    await slow.aclose()
    nowhere = DingTalkClient("appkey", "secret", openapi_endpoint="http://127.0.0.1:9", timeout=1)
    with pytest.raises(Transient):
        await nowhere.send_group_text("cid1", "hi")
    await nowhere.aclose()


async def test_legacy_upload_errcodes(dt, client):
    await client.access_token()
    dt.fail("/media/upload", 200, {"errcode": 90002, "errmsg": "rate"})
    with pytest.raises(RateLimited):
        await client.upload_file("a.xlsx", b"x")
    dt.fail("/media/upload", 200, {"errcode": 40004, "errmsg": "too large"})
    with pytest.raises(TooLarge):
        await client.upload_file("a.xlsx", b"x")
    dt.fail("/media/upload", 200, {"errcode": 88, "errmsg": ""})
    with pytest.raises(Transient):
        await client.upload_file("a.xlsx", b"x")


async def test_a_file_over_20_mb_is_refused_before_uploading(dt, client):
    with pytest.raises(TooLarge) as caught:
        await client.upload_file("big.zip", b"\0" * (MAX_FILE_BYTES + 1))
    assert caught.value.limit == MAX_FILE_BYTES
    assert dt.calls("/media/upload") == []


# --- requests as WIRE.md shapes them -----------------------------------------------------------------------------

async def test_private_and_group_text_requests(dt, client):
    await client.send_private_text("u1", "你好\nworld")
    await client.send_group_text("cid1", "hi all")
    (private,) = dt.calls(BATCH)
    assert private["json"] == {"robotCode": "robot1", "userIds": ["u1"], "msgKey": "sampleText",
                               "msgParam": json.dumps({"content": "你好\nworld"}, ensure_ascii=False)}
    (group,) = dt.calls(GROUP)
    assert group["json"]["openConversationId"] == "cid1" and group["json"]["robotCode"] == "robot1"
    assert json.loads(group["json"]["msgParam"]) == {"content": "hi all"}


async def test_batch_send_chunks_twenty_recipients_a_call(dt, client):
    ids = [f"u{i}" for i in range(45)]
    answers = await client.batch_send(ids, "sampleText", {"content": "x"})
    assert len(answers) == 3
    assert [c["json"]["userIds"] for c in dt.calls(BATCH)] == [ids[:20], ids[20:40], ids[40:]]
    assert list(chunks([], 20)) == []


async def test_card_create_and_update(dt, client):
    keyboard = [[Button("同意", "corr:ok:12"), Button("拒绝", "corr:no:12")], [Button("‹", "p:1")]]
    ref = await client.send_card(Chat("group", "cid1"), "请审批", keyboard)
    (create,) = dt.calls("/v1.0/card/instances/createAndDeliver")
    body = create["json"]
    assert body["outTrackId"] == ref and body["cardTemplateId"] == "tpl.schema"
    assert body["callbackType"] == "STREAM"
    assert body["openSpaceId"] == "dtv1.card//IM_GROUP.cid1"
    assert body["imGroupOpenDeliverModel"] == {"robotCode": "robot1"}
    assert body["cardData"]["cardParamMap"]["content"] == "请审批"
    assert json.loads(body["cardData"]["cardParamMap"]["buttons"]) == [
        [{"text": "同意", "data": "corr:ok:12"}, {"text": "拒绝", "data": "corr:no:12"}], [{"text": "‹", "data": "p:1"}]]

    private_ref = await client.send_card(Chat("private", "u1"), "hi", None)
    private = dt.calls("/v1.0/card/instances/createAndDeliver")[1]["json"]
    assert private["openSpaceId"] == "dtv1.card//IM_ROBOT.u1"
    assert private["imRobotOpenDeliverModel"]["spaceType"] == "IM_ROBOT"
    assert private["cardData"]["cardParamMap"]["buttons"] == "[]" and private_ref != ref

    await client.update_card(ref, "已同意", None)
    (update,) = dt.calls("/v1.0/card/instances")
    assert update["method"] == "PUT"
    assert update["json"] == {"outTrackId": ref, "cardData": {"cardParamMap": {"content": "已同意", "buttons": "[]"}},
                              "cardUpdateOptions": {"updateCardDataByKey": True}}


async def test_upload_send_file_and_download(dt, client):
    media_id = await client.upload_file("报表.xlsx", b"PK\x03\x04data")
    upload = dt.calls("/media/upload")[0]
    assert b'name="type"' in upload["raw"] and b"file" in upload["raw"]
    assert dt.uploads[media_id] == ("报表.xlsx", b"PK\x03\x04data")
    await client.send_file(Chat("private", "u1"), media_id, "报表.xlsx")
    sent = dt.calls(BATCH)[0]["json"]
    assert sent["msgKey"] == "sampleFile"
    assert json.loads(sent["msgParam"]) == {"mediaId": media_id, "fileName": "报表.xlsx", "fileType": "xlsx"}

    dt.files["CODE1"] = b"\x00\x01bytes"
    assert await client.download("CODE1") == b"\x00\x01bytes"
    assert dt.calls("/v1.0/robot/messageFiles/download")[0]["json"] == {"downloadCode": "CODE1",
                                                                        "robotCode": "robot1"}
    assert "x-acs-dingtalk-access-token" not in dt.calls("/files/CODE1")[0]["headers"]


async def test_open_connection(dt, client):
    endpoint, ticket = await client.open_connection(["/v1.0/im/bot/messages/get"])
    assert endpoint.startswith("ws://127.0.0.1") and ticket
    body = dt.calls("/v1.0/gateway/connections/open")[0]["json"]
    assert body["clientId"] == "appkey" and body["clientSecret"] == "secret"
    assert body["subscriptions"] == [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}]


async def test_a_shared_http_client_is_not_closed(dt):
    http = httpx.AsyncClient()
    client = DingTalkClient("appkey", "secret", openapi_endpoint=dt.url, http=http)
    await client.send_group_text("cid", "x")
    await client.aclose()
    assert not http.is_closed
    await http.aclose()


def test_buttons_json():
    assert buttons_json(None) == "[]" and buttons_json([]) == "[]"
    assert json.loads(buttons_json([[Button("a", "1")]])) == [[{"text": "a", "data": "1"}]]
