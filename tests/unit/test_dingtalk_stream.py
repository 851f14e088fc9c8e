"""The 钉钉 Stream loop and the messenger adapter against the shared emulator (bot.devtools.dingtalk_emulator) over
real sockets: ACK only after the sink stored the event, pings, card presses within 2 s, disconnect and drops,
backoff, stop(); and the adapter's actions round-tripped through the emulator."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from bot.devtools.dingtalk_emulator import FakeDingTalk
from bot.runtime.dingtalk.adapter import DingTalkMessenger
from bot.runtime.dingtalk.client import DingTalkClient
from bot.runtime.dingtalk.stream import StreamConnection
from bot.runtime.platform.base import (
    Button,
    ButtonPress,
    Chat,
    IncomingMessage,
    RateLimited,
    TooLarge,
    Unreachable,
)


class Sink:
    def __init__(self) -> None:
        self.events: list = []
        self.fail = False
        self.delay = 0.0

    async def __call__(self, event) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("storage is down")
        self.events.append(event)

    async def wait(self, n: int = 1, timeout: float = 5.0) -> list:
        deadline = time.monotonic() + timeout
        while len(self.events) < n:
            assert time.monotonic() < deadline, f"{len(self.events)} events, wanted {n}"
            await asyncio.sleep(0.01)
        return self.events


def acks_for(dt: FakeDingTalk, message_id: str) -> list[dict]:
    return [a["json"] for a in dt.acks if a["json"].get("headers", {}).get("messageId") == message_id]


@pytest.fixture
def dt():
    fake = FakeDingTalk(client_id="dingappkey", client_secret="s3cret", ping_interval=0.2,
                        redeliver_callbacks=False, disconnect_grace=5.0)
    with fake:
        yield fake


@pytest.fixture
async def messenger(dt):
    client = DingTalkClient("dingappkey", "s3cret", openapi_endpoint=dt.openapi_url, oapi_endpoint=dt.oapi_url,
                            timeout=5.0)
    m = DingTalkMessenger(client, robot_code="dingappkey", card_template_id="tpl.schema",
                          stream=lambda handler: StreamConnection(client, handler, backoff_initial=0.05,
                                                                  backoff_max=0.5, healthy_after=1.0))
    yield m
    await m.stop()
    await client.aclose()


async def started(messenger, dt, sink=None) -> Sink:
    sink = sink or Sink()
    await messenger.start(sink)
    await dt.wait_for_async(lambda d: d.connections == 1)
    return sink


# --- stream -------------------------------------------------------------------------------------------------------

async def test_a_bot_message_reaches_the_sink_and_is_acked_after_it(dt, messenger):
    sink = await started(messenger, dt)
    u = dt.user("staff001", "张三")
    message_id = u.send("/start ABC")
    (event,) = await sink.wait()
    assert isinstance(event, IncomingMessage)
    assert event.text == "/start ABC" and event.chat == Chat("private", "staff001", "张三")
    assert event.sender.external_id == "staff001" and event.sender.name == "张三" and event.event_id.startswith("msg")
    await dt.wait_for_async(lambda d: acks_for(d, message_id))
    (ack,) = acks_for(dt, message_id)
    assert ack["code"] == 200 and json.loads(ack["data"]) == {"response": None}


async def test_no_ack_when_the_sink_raises(dt, messenger):
    sink = await started(messenger, dt)
    sink.fail = True
    message_id = dt.user("staff001").send("hello")
    await asyncio.sleep(0.5)
    assert acks_for(dt, message_id) == [] and message_id in dt.pending_acks()
    sink.fail = False  # the stream keeps serving afterwards
    second = dt.user("staff001").send("again")
    await dt.wait_for_async(lambda d: acks_for(d, second))


async def test_pings_are_acked_echoing_opaque_even_while_a_handler_is_slow(dt, messenger):
    sink = await started(messenger, dt)
    sink.delay = 1.5
    dt.user("staff001").send("slow one")
    before = len(dt.ping_acks)
    await asyncio.sleep(1.0)
    assert len(dt.ping_acks) >= before + 3 and all(dt.ping_acks)
    assert not dt.protocol_errors


async def test_a_card_press_becomes_a_button_press_acked_within_2_s(dt, messenger):
    sink = await started(messenger, dt)
    u = dt.user("staff001", "张三")
    sent = await messenger.send_text(Chat("private", "staff001"), "请审批",
                                     [[Button("同意", "corr:ok:12"), Button("拒绝", "corr:no:12")]])
    assert sent.editable
    card = await dt.wait_reply_async(u)
    assert card.kind == "card" and card.ref == sent.ref and card.text == "请审批"
    assert card.buttons == [[("同意", "corr:ok:12"), ("拒绝", "corr:no:12")]]
    sink.delay = 0.3  # a sink that takes a while to store still answers well within 2 s
    message_id = u.press(card, "同意")
    (press,) = await sink.wait()
    assert press == ButtonPress(event_id=message_id, sender=press.sender, message_ref=sent.ref, data="corr:ok:12",
                                chat=Chat("private", "staff001"))
    assert press.sender.external_id == "staff001"
    await dt.wait_for_async(lambda d: acks_for(d, message_id))
    assert json.loads(acks_for(dt, message_id)[0]["data"]) == {"response": {}}
    (latency,) = [a for a in dt.ack_latencies if a[2] == message_id]
    assert latency[1] < 2.0 and dt.late_acks == 0


async def test_an_event_is_acked_with_the_documented_status(dt, messenger):
    await started(messenger, dt)
    message_id = dt.push_event("user_add_org", {"timestamp": "1", "userId": ["x"]})
    await dt.wait_for_async(lambda d: acks_for(d, message_id))
    assert json.loads(acks_for(dt, message_id)[0]["data"]) == {"status": "SUCCESS", "message": "success"}


async def test_disconnect_drains_then_reconnects_with_a_new_ticket(dt, messenger):
    sink = await started(messenger, dt)
    assert len(dt.calls_to("open")) == 1
    dt.send_disconnect(grace=5.0)
    started_at = time.monotonic()
    await dt.wait_for_async(lambda d: d.connections_total == 2 and d.connections == 1, timeout=4)
    assert time.monotonic() - started_at < 3  # we closed the old socket ourselves, well before the server's 5 s
    assert len(dt.calls_to("open")) == 2 and not dt.rejected_handshakes  # a new, single-use ticket
    message_id = dt.user("staff001").send("after the disconnect")
    await sink.wait()
    await dt.wait_for_async(lambda d: acks_for(d, message_id))


async def test_a_dropped_connection_reconnects_with_backoff(dt, messenger):
    await started(messenger, dt)
    dt.fail("open", "5xx", times=3)
    dt.drop_connections()
    await dt.wait_for_async(lambda d: d.connections_total == 2 and d.connections == 1, timeout=6)
    delays = messenger.stream.delays
    assert len(delays) == 4  # the drop, then three refused opens
    assert all(0 < d <= 0.5 for d in delays) and delays == sorted(delays)  # doubling (jitter ≤ ×0.5), capped
    assert len(dt.calls_to("open")) == 5


async def test_stop_ends_the_stream_promptly(dt, messenger):
    sink = await started(messenger, dt)
    sink.delay = 30  # a handler in flight does not hold stop() up
    dt.user("staff001").send("never stored")
    await asyncio.sleep(0.1)
    started_at = time.monotonic()
    await messenger.stop()
    assert time.monotonic() - started_at < 1.5
    await dt.wait_for_async(lambda d: d.connections == 0, timeout=3)


async def test_stop_while_waiting_to_reconnect(dt):
    client = DingTalkClient("dingappkey", "s3cret", openapi_endpoint=dt.openapi_url)
    dt.fail("open", "5xx", times=None)
    stream = StreamConnection(client, Sink(), backoff_initial=30)
    stream.start()
    await dt.wait_for_async(lambda d: d.calls_to("open"))
    started_at = time.monotonic()
    await stream.stop()
    assert time.monotonic() - started_at < 1
    await client.aclose()


# --- adapter actions round-tripped ---------------------------------------------------------------------------------

async def test_plain_texts_private_and_group(dt, messenger):
    u = dt.user("staff001", "张三")
    g = dt.group("cidG1==", "联合抽查群", members=[u])
    sent = await messenger.send_text(Chat("private", "staff001"), "你好")
    assert not sent.editable and sent.ref
    assert [m.text for m in dt.sent_to(u)] == ["你好"]
    await messenger.send_text(Chat("group", "cidG1=="), "大家好")
    assert [m.text for m in dt.sent_to(g)] == ["大家好"]


async def test_group_at_message_and_reply(dt, messenger):
    sink = await started(messenger, dt)
    u = dt.user("staff002", "李四")
    g = dt.group("cidG2==", "测试群", members=[u])
    u.send("/draw 3", chat=g)
    (event,) = await sink.wait()
    assert event.text == "/draw 3" and event.chat == Chat("group", "cidG2==", "测试群")
    await messenger.send_text(event.chat, "抽签完成")
    assert dt.sent_to(g)[-1].text == "抽签完成"


async def test_editable_card_is_edited(dt, messenger):
    u = dt.user("staff001")
    sent = await messenger.send_text(Chat("private", "staff001"), "第一版", editable=True)
    await messenger.edit(Chat("private", "staff001"), sent.ref, "第二版", [[Button("下一步", "n:1")]])
    card = dt.card(sent.ref)
    assert card.text == "第二版" and card.updates == 1
    assert json.loads(card.card_params["buttons"]) == [[{"text": "下一步", "data": "n:1"}]]
    await messenger.edit(Chat("private", "staff001"), sent.ref, "完成")
    assert dt.card(sent.ref).card_params["buttons"] == "[]" and dt.sent_to(u)[0].ref == sent.ref
    # the bridge chooses the card's outTrackId (it records the card before sending it)
    chosen = await messenger.send_text(Chat("private", "staff001"), "第三张", [[Button("好", "ok")]], ref="bridge-ref-1")
    assert chosen.ref == "bridge-ref-1" and dt.card("bridge-ref-1").text == "第三张"


async def test_file_out_and_file_in(dt, messenger):
    sink = await started(messenger, dt)
    u = dt.user("staff001")
    await messenger.send_file(Chat("private", "staff001"), "结果.xlsx", b"PK\x03\x04result", caption="本周结果")
    file_message, caption = dt.sent_to(u)
    assert file_message.kind == "file" and file_message.filename == "结果.xlsx"
    assert file_message.data == b"PK\x03\x04result" and caption.text == "本周结果"
    assert json.loads(dt.calls_to("batchSend")[0].json["msgParam"])["fileType"] == "xlsx"

    u.send_file(b"name,code\n", "名单.csv")
    (event,) = await sink.wait()
    assert event.text == "" and event.file.name == "名单.csv"
    assert await messenger.download(event.file) == b"name,code\n"


async def test_a_file_over_the_limit_is_refused_without_uploading(dt, messenger):
    with pytest.raises(TooLarge):
        await messenger.send_file(Chat("private", "staff001"), "big.zip", b"\0" * (messenger.max_file_bytes + 1))
    assert dt.calls_to("upload") == []


async def test_answer_press_sends_a_private_text_only_with_text(dt, messenger):
    sink = await started(messenger, dt)
    u = dt.user("staff003", "王五")
    g = dt.group("cidG3==", "群", members=[u])
    sent = await messenger.send_text(Chat("group", "cidG3=="), "选一个", [[Button("A", "a")]])
    u.press(dt.card(sent.ref), "A")
    (press,) = await sink.wait()
    assert press.chat == Chat("group", "cidG3==") and press.data == "a"
    await messenger.answer_press(press.event_id)
    assert dt.sent_to(u) == []
    await messenger.answer_press(press.event_id, "已选择 A", alert=True)
    assert [m.text for m in dt.sent_to(u)] == ["已选择 A"]
    assert len(dt.sent_to(g)) == 1


async def test_failures_through_the_adapter(dt, messenger):
    u = dt.user("staff001")
    dt.outside_visible_range(u)
    with pytest.raises(Unreachable):
        await messenger.send_text(Chat("private", "staff001"), "hi")
    with pytest.raises(Unreachable):  # a card to a user outside the visible range is delivered nowhere
        await messenger.send_text(Chat("private", "staff001"), "hi", editable=True)
    dt.outside_visible_range(u, False)
    dt.fail("batchSend", "flow", target=u)
    with pytest.raises(RateLimited) as caught:
        await messenger.send_text(Chat("private", "staff001"), "hi")
    assert caught.value.retry_after == 1
    dt.group("cidNoRobot==", robot=False)
    with pytest.raises(Unreachable):
        await messenger.send_text(Chat("group", "cidNoRobot=="), "hi")
    dt.fail("groupSend", "quota")
    with pytest.raises(RateLimited) as caught:
        await messenger.send_text(Chat("group", "cidG=="), "hi")
    assert caught.value.retry_after == 3600


async def test_expired_tokens_are_refreshed_transparently(dt, messenger):
    u = dt.user("staff001")
    await messenger.send_text(Chat("private", "staff001"), "one")
    dt.expire_tokens()
    await messenger.send_text(Chat("private", "staff001"), "two")
    dt.expire_tokens()
    await messenger.send_file(Chat("private", "staff001"), "a.pdf", b"%PDF")  # the legacy upload too
    assert [m.kind for m in dt.sent_to(u)] == ["text", "text", "file"] and len(dt.tokens) == 3
