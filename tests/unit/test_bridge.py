"""The messenger bridge (bot.runtime.platform.bridge): a PTB Bot whose requests it answers, over a recording
messenger (the 钉钉 adapter over the 钉钉 emulator is tested end to end in tests/e2e/test_dingtalk_e2e.py). What is
checked is what PTB and the handlers see: the updates, the Message objects, the errors."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.runtime.platform import store
from bot.runtime.platform.base import (ButtonPress, Chat, IncomingFile, IncomingMessage, RateLimited, Rejected,
                                       Sender, Sent, Transient, Unreachable)
from bot.runtime.platform.bridge import BridgeRequest
from models import PlatformEvent


class RecordingMessenger:
    name = "dingtalk"
    max_file_bytes = 1000

    def __init__(self) -> None:
        self.sent: list[tuple] = []
        self.edits: list[tuple] = []
        self.files: list[tuple] = []
        self.answers: list[tuple] = []
        self.downloads = {"code-1": b"PK\x03\x04workbook"}
        self.fail_next: Exception | None = None
        self.sink = None
        self.started = 0
        self._refs = itertools.count(1)

    async def start(self, sink) -> None:
        self.sink = sink
        self.started += 1

    async def stop(self) -> None:
        pass

    def _maybe_fail(self) -> None:
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc

    async def send_text(self, chat, text, keyboard=None, *, editable=False, ref=None) -> Sent:
        self._maybe_fail()
        self.sent.append((chat, text, keyboard, editable))
        return Sent(ref or f"ref{next(self._refs)}", editable or keyboard is not None)

    async def edit(self, chat, ref, text, keyboard=None) -> None:
        self._maybe_fail()
        self.edits.append((chat, ref, text, keyboard))

    async def send_file(self, chat, filename, data, caption="") -> Sent:
        self._maybe_fail()
        self.files.append((chat, filename, data))
        return Sent(f"file{next(self._refs)}", False)

    async def download(self, ref) -> bytes:
        return self.downloads[ref]

    async def answer_press(self, press_event_id, text="", alert=False, presser=None) -> None:
        self.answers.append((press_event_id, text, alert, presser))


ZHANG = Sender("staff001", "张三")
PRIVATE = Chat("private", "staff001")
GROUP = Chat("group", "cidGroup1==", "联合抽查群")


@pytest.fixture
async def rig(sessions):
    messenger = RecordingMessenger()
    bridge = BridgeRequest(messenger, sessions)
    bot = Bot("dingtalk", base_url="bridge://dingtalk/bot", base_file_url="bridge://dingtalk/file/bot",
              request=bridge, get_updates_request=bridge)
    await bot.initialize()
    yield bot, bridge, messenger
    await bot.shutdown()


async def test_events_are_served_in_order_confirmed_by_offset_and_deduplicated(rig, sessions):
    bot, bridge, messenger = rig
    assert await bot.get_updates(timeout=0) == ()  # the first getUpdates starts the messenger
    assert messenger.started == 1
    await bridge.store_event(IncomingMessage("msg1", ZHANG, PRIVATE, "/start ABC123"))
    await bridge.store_event(IncomingMessage("msg2", ZHANG, GROUP, "/draw"))
    await bridge.store_event(IncomingMessage("msg1", ZHANG, PRIVATE, "/start ABC123"))  # re-delivered: dropped
    updates = await bot.get_updates(timeout=0)
    assert [u.effective_message.text for u in updates] == ["/start ABC123", "/draw"]
    first, second = updates
    assert first.effective_message.entities[0].type == "bot_command"
    assert first.effective_message.entities[0].length == len("/start")
    assert first.effective_chat.type == "private" and first.effective_chat.id == first.effective_user.id > 0
    assert second.effective_chat.type == "group" and second.effective_chat.id < 0
    assert second.effective_chat.title == "联合抽查群"
    assert second.effective_user.id == first.effective_user.id  # the same person, the same stable id
    # not confirmed yet: served again (a crash before handling loses nothing)
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [first.update_id, second.update_id]
    # the next offset confirms the first only
    assert [u.update_id for u in await bot.get_updates(offset=second.update_id, timeout=0)] == [second.update_id]
    # a new process (a restart) serves what is unconfirmed, and still drops a re-delivery of a confirmed event
    other = BridgeRequest(RecordingMessenger(), sessions)
    await other.store_event(IncomingMessage("msg1", ZHANG, PRIVATE, "/start ABC123"))
    bot2 = Bot("dingtalk", base_url="bridge://dingtalk/bot", request=other, get_updates_request=other)
    assert [u.update_id for u in await bot2.get_updates(timeout=0)] == [second.update_id]
    with sessions.begin() as s:
        assert s.query(PlatformEvent).count() == 2


async def test_get_updates_long_polls_until_an_event_arrives(rig):
    bot, bridge, _ = rig
    waiting = asyncio.create_task(bot.get_updates(timeout=5, read_timeout=10))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    await bridge.store_event(IncomingMessage("m9", ZHANG, PRIVATE, "你好"))
    updates = await asyncio.wait_for(waiting, 2)
    assert [u.message.text for u in updates] == ["你好"]
    assert updates[0].message.entities == ()


async def test_keyboard_becomes_editable_and_a_press_comes_back_as_callback_query(rig, sessions):
    bot, bridge, messenger = rig
    await bridge.store_event(IncomingMessage("m1", ZHANG, PRIVATE, "/enter"))
    (update,) = await bot.get_updates(timeout=0)
    chat_id = update.effective_chat.id
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("同意", callback_data="corr:ok:1"),
                                    InlineKeyboardButton("驳回", callback_data="corr:no:1")]])
    sent = await bot.send_message(chat_id, "请审批", reply_markup=markup)
    chat, text, keyboard, editable = messenger.sent[-1]
    assert chat == PRIVATE and text == "请审批" and editable
    assert [[(b.text, b.data) for b in row] for row in keyboard] == [[("同意", "corr:ok:1"), ("驳回", "corr:no:1")]]
    assert sent.reply_markup == markup and sent.chat.id == chat_id

    with sessions.begin() as s:
        card_ref = store.message(s, "dingtalk", sent.message_id).ref  # chosen by the bridge, recorded before sending
    await bridge.store_event(ButtonPress("press-1", ZHANG, card_ref, "corr:ok:1"))
    (press,) = await bot.get_updates(offset=update.update_id + 1, timeout=0)
    query = press.callback_query
    assert query.data == "corr:ok:1" and query.from_user.id == update.effective_user.id
    assert query.message.message_id == sent.message_id and query.message.text == "请审批"
    assert query.message.reply_markup == markup

    edited = await bot.edit_message_text("已同意", chat_id=chat_id, message_id=sent.message_id)
    assert messenger.edits[-1] == (PRIVATE, card_ref, "已同意", None)  # no reply_markup: the buttons go
    assert edited.text == "已同意" and not edited.reply_markup
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("已同意", chat_id=chat_id, message_id=sent.message_id)
    assert len(messenger.edits) == 1
    assert await bot.answer_callback_query(query.id, text="已记录") is True
    assert messenger.answers == [("press-1", "已记录", False, ZHANG)]  # the presser, from the stored press
    with pytest.raises(BadRequest, match="(?i)query id is invalid"):  # handlers then say it in the chat instead
        await bot.answer_callback_query("no-such-press", text="已记录")


async def test_a_press_on_an_unknown_card_is_dropped(rig, sessions):
    bot, bridge, _ = rig
    await bridge.store_event(ButtonPress("press-x", ZHANG, "no-such-card", "x"))
    assert await bot.get_updates(timeout=0) == ()


async def test_editing_plain_text_sends_the_new_text_as_a_new_message(rig):
    bot, bridge, messenger = rig
    await bridge.store_event(IncomingMessage("m1", ZHANG, PRIVATE, "hi"))
    (update,) = await bot.get_updates(timeout=0)
    plain = await bot.send_message(update.effective_chat.id, "进度：1/3")
    assert messenger.sent[-1][3] is False
    again = await bot.edit_message_text("进度：2/3", chat_id=update.effective_chat.id, message_id=plain.message_id)
    assert messenger.edits == []
    assert messenger.sent[-1][1] == "进度：2/3" and again.message_id != plain.message_id


async def test_documents_both_ways(rig):
    bot, bridge, messenger = rig
    await bridge.store_event(IncomingMessage("m1", ZHANG, PRIVATE, "",
                                             file=IncomingFile("名录.xlsx", "code-1", 12)))
    (update,) = await bot.get_updates(timeout=0)
    document = update.message.document
    assert document.file_name == "名录.xlsx" and document.file_size == 12
    data = await (await document.get_file()).download_as_bytearray()
    assert bytes(data) == b"PK\x03\x04workbook"

    chat_id = update.effective_chat.id
    message = await bot.send_document(chat_id, document=b"small", filename="附件1.xlsx", caption="附件1")
    assert messenger.files[-1] == (PRIVATE, "附件1.xlsx", b"small")
    assert message.document.file_name == "附件1.xlsx" and message.caption == "附件1"
    # over the messenger's limit: the chat is told in words, nothing is dropped in silence
    message = await bot.send_document(chat_id, document=b"x" * 2000, filename="附件2.xlsx", caption="抽查结果汇总")
    assert len(messenger.files) == 1
    assert "附件2.xlsx" in messenger.sent[-1][1] and "上限" in messenger.sent[-1][1]
    assert messenger.sent[-1][1].startswith("抽查结果汇总\n")  # the caption is kept
    assert message.document is None and "附件2.xlsx" in message.text


@pytest.mark.parametrize("failure, error", [
    (RateLimited("flow control", retry_after=3), RetryAfter),
    (Unreachable("user outside the visible range"), Forbidden),
    (Transient("504 Gateway Timeout"), NetworkError),
    (Rejected("invalidParameter.msgParam.invalid"), BadRequest),
])
async def test_messenger_failures_become_the_bot_api_errors_the_outbox_handles(rig, failure, error):
    bot, bridge, messenger = rig
    await bridge.store_event(IncomingMessage("m1", ZHANG, PRIVATE, "hi"))
    (update,) = await bot.get_updates(timeout=0)
    messenger.fail_next = failure
    with pytest.raises(error) as caught:
        await bot.send_message(update.effective_chat.id, "通知")
    if error is RetryAfter:
        assert caught.value.retry_after in (3, __import__("datetime").timedelta(seconds=3))
    if error is Forbidden:
        assert "visible range" in caught.value.message


async def test_unknown_methods_and_chats_fail_loudly(rig):
    bot, _, _ = rig
    with pytest.raises(BadRequest, match="(?i)sendphoto is not supported on dingtalk"):
        await bot.send_photo(1, photo=b"x")
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(424242, "x")
    me = await bot.get_me()
    assert me.is_bot and me.username == "robot"
    assert await bot.set_my_commands([("help", "帮助")]) is True


async def test_ids_are_stable_and_distinct(sessions):
    with sessions.begin() as s:
        a = store.user_id(s, "dingtalk", "staff001", "张三")
        b = store.user_id(s, "dingtalk", "staff002", "李四")
        g = store.chat_id(s, "dingtalk", GROUP)
    with sessions.begin() as s:
        assert store.user_id(s, "dingtalk", "staff001") == a
        assert store.chat_id(s, "dingtalk", PRIVATE) == a
        assert store.chat_of(s, "dingtalk", g)[0] == GROUP
        assert store.chat_of(s, "dingtalk", a)[0] == PRIVATE
    assert a != b and g < 0


async def test_confirmed_events_are_pruned_after_a_week_and_only_then(rig, sessions):
    import datetime as dt

    from bot.runtime.platform.bridge import prune
    from models import utcnow

    bot, bridge, _ = rig
    await bridge.store_event(IncomingMessage("old", ZHANG, PRIVATE, "a"))
    await bridge.store_event(IncomingMessage("new", ZHANG, PRIVATE, "b"))
    first, second = await bot.get_updates(timeout=0)
    await bot.get_updates(offset=second.update_id, timeout=0)  # confirms the first only
    assert prune(sessions, "dingtalk", utcnow() + dt.timedelta(days=6)) == 0
    assert prune(sessions, "dingtalk", utcnow() + dt.timedelta(days=8)) == 1
    with sessions.begin() as s:
        assert [e.external_id for e in s.query(PlatformEvent)] == ["new"]  # unconfirmed: never pruned


async def test_a_card_is_recorded_before_it_is_sent_and_forgotten_if_the_send_fails(rig, sessions):
    from models import PlatformMessage

    bot, bridge, messenger = rig
    await bridge.store_event(IncomingMessage("m1", ZHANG, PRIVATE, "/enter"))
    (update,) = await bot.get_updates(timeout=0)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("1 未发现问题", callback_data="ent:c:1")]])
    seen_before_send = []
    original = messenger.send_text

    async def send_text(chat, text, keyboard=None, *, editable=False, ref=None):
        with sessions.begin() as s:  # what a kill -9 at this moment would leave
            seen_before_send.append(s.query(PlatformMessage).filter_by(ref=ref, outgoing=True).count())
        return await original(chat, text, keyboard, editable=editable, ref=ref)

    messenger.send_text = send_text
    await bot.send_message(update.effective_chat.id, "请选择", reply_markup=markup)
    assert seen_before_send == [1]
    messenger.fail_next = Transient("504")
    with pytest.raises(NetworkError):
        await bot.send_message(update.effective_chat.id, "请选择", reply_markup=markup)
    with sessions.begin() as s:
        assert s.query(PlatformMessage).filter_by(outgoing=True).count() == 1
