"""Tests of the local Bot API emulator (bot/devtools/botapi_emulator.py), driven by real python-telegram-bot."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import http.server
import json
import socket
import threading
import time
import urllib.request

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonCommands,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.devtools.botapi_emulator import BotMessage, FakeBotAPI

TOKEN = "123456:TEST-fake-token"


@pytest.fixture
def emu():
    with FakeBotAPI(token=TOKEN, bot_username="shuangsui_test_bot") as e:
        yield e
    assert not e.internal_errors, e.internal_errors[-1]


def make_bot(emu: FakeBotAPI, token: str = TOKEN) -> Bot:
    return Bot(token, base_url=emu.base_url, base_file_url=emu.base_file_url)


def make_app(emu: FakeBotAPI):
    return (ApplicationBuilder().token(emu.token)
            .base_url(f"{emu.url}/bot").base_file_url(f"{emu.url}/file/bot").build())


@contextlib.asynccontextmanager
async def running(app):
    await app.initialize()
    await app.updater.start_polling(poll_interval=0, timeout=1)
    await app.start()
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


def seconds(value) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


# -- with a running Application ----------------------------------------------------------------


@pytest.mark.asyncio
async def test_start_command_reaches_handler_and_reply_is_recorded(emu):
    seen = []

    async def start(update, context):
        seen.append(list(context.args))
        await update.message.reply_text(f"你好 {update.effective_user.first_name} {context.args[0]}")

    app = make_app(emu)
    app.add_handler(CommandHandler("start", start))
    u = emu.user(1001, first_name="张三", language_code="zh-hans")
    async with running(app):
        u.send("/start ABC")
        reply = await emu.wait_reply_async(u, after=0)
    assert seen == [["ABC"]]
    assert reply.text == "你好 张三 ABC"
    send = emu.calls_to("sendMessage")[-1]
    assert send.params["chat_id"] == 1001 and send.params["text"] == "你好 张三 ABC"
    assert [c.method for c in emu.calls[:2]] == ["getMe", "deleteWebhook"]
    assert emu.pending_updates() == []          # the final getUpdates confirmed it


@pytest.mark.asyncio
async def test_group_command_with_bot_name(emu):
    handled = []

    async def draw(update, context):
        handled.append(update.message.text)
        await update.effective_chat.send_message("抽签中")

    app = make_app(emu)
    app.add_handler(CommandHandler("draw", draw))
    u, g = emu.user(1001), emu.group(-100123, title="联合抽查群")
    async with running(app):
        u.send("/draw@other_bot", chat=g)         # addressed to another bot: ignored by PTB
        msg = u.send("/draw@shuangsui_test_bot", chat=g)
        await emu.wait_reply_async(g)
    assert msg["entities"] == [{"type": "bot_command", "offset": 0, "length": 24}]
    assert msg["chat"] == {"id": -100123, "type": "supergroup", "title": "联合抽查群"}
    assert handled == ["/draw@shuangsui_test_bot"]
    assert emu.sent_to(g)[0].text == "抽签中"


@pytest.mark.asyncio
async def test_button_press_answer_and_edit(emu):
    answered = []

    async def menu(update, context):
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("确认抽取", callback_data="draw:ok"),
                                          InlineKeyboardButton("取消", callback_data="draw:no")],
                                         [InlineKeyboardButton("帮助", url="https://example.org")]])
        await update.message.reply_text("请选择：", reply_markup=keyboard)

    async def on_button(update, context):
        query = update.callback_query
        answered.append(query.data)
        await query.answer("好的")
        await query.edit_message_text(f"已选择 <b>{query.data}</b>", parse_mode="HTML")

    app = make_app(emu)
    app.add_handler(CommandHandler("menu", menu))
    app.add_handler(CallbackQueryHandler(on_button))
    u = emu.user(1001)
    async with running(app):
        u.send("/menu")
        prompt = await emu.wait_reply_async(u)
        assert prompt.button_texts == ["确认抽取", "取消", "帮助"]
        assert emu.calls_to("sendMessage")[-1].params["reply_markup"]["inline_keyboard"][0][0] \
            == {"text": "确认抽取", "callback_data": "draw:ok"}
        with pytest.raises(LookupError):
            u.press(prompt, "帮助")                 # a URL button sends no callback
        with pytest.raises(LookupError):
            u.press(prompt, "不存在")
        query_id = u.press(prompt, "确认")          # unique prefix
        await emu.wait_for_async(lambda e: e.calls_to("editMessageText"))
    assert answered == ["draw:ok"]
    assert emu.callback_answer(query_id)["text"] == "好的"
    [current] = emu.sent_to(u)
    assert isinstance(current, BotMessage) and current is prompt       # a live view
    assert current.text == "已选择 draw:ok"
    assert current.entities == [{"type": "bold", "offset": 4, "length": 7}]
    assert current.reply_markup is None and current.raw["edit_date"]   # keyboard removed
    assert current.source_text == "已选择 <b>draw:ok</b>"


@pytest.mark.asyncio
async def test_uploaded_document_reaches_bot_and_is_downloadable(emu):
    got = []

    async def on_document(update, context):
        doc = update.message.document
        data = await (await context.bot.get_file(doc.file_id)).download_as_bytearray()
        got.append((doc.file_name, doc.mime_type, doc.file_size, bytes(data)))
        await update.message.reply_text("收到")

    app = make_app(emu)
    app.add_handler(MessageHandler(filters.Document.ALL, on_document))
    u = emu.user(1001)
    payload = bytes(range(256)) * 40
    async with running(app):
        msg = u.send_document(payload, filename="检查对象名单.xlsx", caption="名单")
        await emu.wait_reply_async(u)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert got == [("检查对象名单.xlsx", xlsx, len(payload), payload)]
    file_path = emu.calls_to("getFile")[0].result["file_path"]
    assert file_path.startswith("documents/file_") and file_path.endswith(".xlsx")
    assert emu.calls_to("downloadFile")[0].params["file_path"] == file_path
    assert msg["caption"] == "名单"


# -- with a plain Bot ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_get_me_and_wrong_token(emu):
    async with make_bot(emu) as bot:
        me = await bot.get_me()
    assert me.username == "shuangsui_test_bot" and me.id == 123456 and me.is_bot
    with pytest.raises(InvalidToken):
        async with make_bot(emu, token="123456:WRONG") as bot:
            await bot.get_me()
    assert emu.calls[-1].status == 401


@pytest.mark.asyncio
async def test_download_via_plain_bot(emu):
    u = emu.user(1001)
    doc = u.send_document(b"\x00\x01binary\xff", filename="a.bin")["document"]
    async with make_bot(emu) as bot:
        data = await (await bot.get_file(doc["file_id"])).download_as_bytearray()
        assert bytes(data) == b"\x00\x01binary\xff"
        with pytest.raises(BadRequest, match="(?i)invalid file_id"):
            await bot.get_file("nope")


@pytest.mark.asyncio
async def test_send_document_multipart_and_resend_by_file_id(emu):
    u = emu.user(1001)
    content = "序号,名称\n1,某某公司\n".encode("utf-8") * 100
    async with make_bot(emu) as bot:
        sent = await bot.send_document(1001, document=content, filename="抽查结果 \"2025\".csv",
                                       caption="<b>结果</b> &amp; 说明", parse_mode="HTML")
        again = await bot.send_document(1001, document=sent.document.file_id)
    call = emu.calls_to("sendDocument")[0]
    assert call.files["document"].filename == "抽查结果 \"2025\".csv"
    assert call.data == content and call.params["caption"] == "<b>结果</b> &amp; 说明"
    assert sent.document.file_name == "抽查结果 \"2025\".csv"
    assert sent.document.file_size == len(content) and sent.caption == "结果 & 说明"
    assert again.document.file_id == sent.document.file_id
    first, second = emu.sent_to(u)
    assert (first.data, first.filename, first.text) == (content, "抽查结果 \"2025\".csv", "结果 & 说明")
    assert second.data == content and second.message_id == first.message_id + 1


@pytest.mark.asyncio
async def test_get_updates_offset_confirms(emu):
    u = emu.user(1001)
    u.send("one")
    u.send("two")
    async with make_bot(emu) as bot:
        first = await bot.get_updates(timeout=0)
        assert [x.message.text for x in first] == ["one", "two"]
        assert [x.update_id for x in first] == [1, 2]
        again = await bot.get_updates(timeout=0)               # not confirmed: re-delivered
        assert [x.update_id for x in again] == [1, 2]
        assert [x.update_id for x in await bot.get_updates(offset=2, timeout=0)] == [2]
        assert await bot.get_updates(offset=3, timeout=0) == ()   # confirms 2
        assert emu.pending_updates() == []
        u.send("three")
        assert [x.update_id for x in await bot.get_updates(offset=1, timeout=0)] == [3]
        assert [x.message.message_id for x in await bot.get_updates(timeout=0)] == [3]


@pytest.mark.asyncio
async def test_long_poll_blocks_until_an_update_arrives(emu):
    u = emu.user(1001)
    async with make_bot(emu) as bot:
        asyncio.get_running_loop().call_later(0.2, u.send, "wake up")
        t0 = time.monotonic()
        updates = await bot.get_updates(timeout=5)
        assert [x.message.text for x in updates] == ["wake up"]
        assert 0.15 < time.monotonic() - t0 < 2
        t0 = time.monotonic()
        assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1) == ()
        assert time.monotonic() - t0 >= 0.9


@pytest.mark.asyncio
async def test_concurrent_get_updates_conflict(emu):
    # A second bot instance polling terminates the first one's long poll, like on Telegram.
    # (One Bot cannot overlap getUpdates itself: PTB gives that request a pool of 1 connection.)
    async with make_bot(emu) as bot1, make_bot(emu) as bot2:
        first = asyncio.create_task(bot1.get_updates(timeout=3))
        await emu.wait_for_async(lambda e: e._poll_generation == 1)
        await bot2.get_updates(timeout=0)
        with pytest.raises(Conflict, match="terminated by other getUpdates"):
            await first


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_retry_after_injection(emu):
    emu.user(1001)
    emu.fail("sendMessage", status=429, retry_after=3, times=2)
    async with make_bot(emu) as bot:
        for _ in range(2):
            with pytest.raises(RetryAfter) as info:
                await bot.send_message(1001, "hi")
            assert seconds(info.value.retry_after) == 3
        await bot.send_message(1001, "hi")
    assert [c.status for c in emu.calls_to("sendMessage")] == [429, 429, 200]
    assert len(emu.sent_to(1001)) == 1


@pytest.mark.asyncio
async def test_server_error_injection(emu):
    async with make_bot(emu) as bot:                       # (initialize() calls getMe)
        emu.fail("getMe", status=500, times=1)
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.get_me()
        assert (await bot.get_me()).username == "shuangsui_test_bot"


@pytest.mark.asyncio
async def test_blocked_chat_forbidden_and_unblocked_by_user_message(emu):
    u = emu.user(1001)
    emu.block(u)
    async with make_bot(emu) as bot:
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(1001, "hello")
        u.send("/start")                                   # writing to the bot unblocks
        await bot.send_message(1001, "hello")
        with pytest.raises(BadRequest, match="(?i)chat not found"):
            await bot.send_message(999, "hello")
    assert emu.sent_to(u)[0].message_id == 2                # the user's /start took id 1


@pytest.mark.asyncio
async def test_delay_injection(emu):
    async with make_bot(emu) as bot:
        emu.delay("getMe", 0.3, times=1)
        t0 = time.monotonic()
        await bot.get_me()
        assert time.monotonic() - t0 >= 0.3


@pytest.mark.asyncio
async def test_delay_for_one_chat_is_visible_in_flight(emu):
    emu.user(1001), emu.user(1002)
    emu.delay("sendMessage", 0.5, times=1, chat_id=1002)
    async with make_bot(emu) as bot:
        t0 = time.monotonic()
        await bot.send_message(1001, "不受影响")
        assert time.monotonic() - t0 < 0.3 and emu.in_flight("sendMessage") == 0
        held = asyncio.create_task(bot.send_message(1002, "被延迟"))
        await emu.wait_for_async(lambda e: e.in_flight("sendMessage") == 1)
        assert not emu.sent_to(1002)                   # not answered yet: a kill now loses the reply
        await held
    assert emu.in_flight("sendMessage") == 0 and emu.sent_to(1002)[0].text == "被延迟"


@pytest.mark.asyncio
async def test_formatting_and_validation_errors(emu):
    emu.user(1001)
    async with make_bot(emu) as bot:
        with pytest.raises(BadRequest, match="(?i)can't parse entities: unsupported start tag"):
            await bot.send_message(1001, "a < b", parse_mode="HTML")
        with pytest.raises(BadRequest, match="(?i)unmatched end tag"):
            await bot.send_message(1001, "<b>x</i>", parse_mode="HTML")
        with pytest.raises(BadRequest, match="(?i)character '.' is reserved"):
            await bot.send_message(1001, "共 3 家.", parse_mode="MarkdownV2")
        with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
            await bot.send_message(1001, "x", reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("x", callback_data="数据" * 11)]]))       # 66 bytes
        with pytest.raises(BadRequest, match="(?i)message is too long"):
            await bot.send_message(1001, "字" * 4097)
        with pytest.raises(BadRequest, match="(?i)message to be replied not found"):
            await bot.send_message(1001, "x", reply_to_message_id=77)
        ok = await bot.send_message(1001, "😀 <i>斜体</i> *粗* \\.", parse_mode="HTML")
        assert ok.text == "😀 斜体 *粗* \\." and ok.entities[0].offset == 3   # UTF-16 offsets
        md = await bot.send_message(1001, "*粗体* 和 [链接](https://example.org) 1\\.",
                                    parse_mode="MarkdownV2")
        assert md.text == "粗体 和 链接 1."
        assert [(e.type, e.offset, e.length) for e in md.entities] == \
            [("bold", 0, 2), ("text_link", 5, 2)]
        replied = await bot.send_message(1001, "re", reply_to_message_id=ok.message_id)
        assert replied.reply_to_message.message_id == ok.message_id
        with pytest.raises(BadRequest, match="(?i)message is not modified"):
            await bot.edit_message_text("😀 斜体 *粗* \\.", chat_id=1001,
                                        message_id=ok.message_id,
                                        entities=ok.entities)
        await bot.delete_message(1001, ok.message_id)
        with pytest.raises(BadRequest, match="(?i)message to edit not found"):
            await bot.edit_message_text("x", chat_id=1001, message_id=ok.message_id)
    assert emu.sent_to(1001)[0].deleted
    assert len(emu.sent_to(1001, include_deleted=False)) == 2


@pytest.mark.asyncio
async def test_commands_menu_and_misc_methods(emu):
    u = emu.user(1001)
    g = emu.group(-5005, title="小组")
    g.set_admin(u)
    async with make_bot(emu) as bot:
        await bot.set_my_commands([BotCommand("start", "开始"), BotCommand("help", "帮助")],
                                  language_code="zh")
        await bot.set_my_commands([BotCommand("draw", "抽取")], scope=BotCommandScopeChat(1001))
        assert [c.command for c in await bot.get_my_commands(language_code="zh")] == \
            ["start", "help"]
        assert await bot.get_my_commands() == ()
        with pytest.raises(BadRequest, match="(?i)bot_command_invalid"):
            await bot.set_my_commands([BotCommand("Start", "x")])
        await bot.set_chat_menu_button(menu_button=MenuButtonCommands())
        await bot.send_chat_action(1001, "typing")
        chat = await bot.get_chat(-5005)
        assert chat.title == "小组" and chat.type == "group"
        member = await bot.get_chat_member(-5005, 1001)
        assert member.status == "administrator"
        assert (await bot.get_webhook_info()).url == ""
    assert emu.commands({"type": "chat", "chat_id": 1001}) == \
        [{"command": "draw", "description": "抽取"}]
    assert emu.menu_button() == {"type": "commands"}


@pytest.mark.asyncio
async def test_webhook_blocks_polling(emu):
    async with make_bot(emu) as bot:
        await bot.set_webhook("https://example.org/hook")
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        await bot.delete_webhook()
        assert await bot.get_updates(timeout=0) == ()
    assert emu.webhook_url == ""


# -- webhook delivery ---------------------------------------------------------------------------


class Receiver:
    """A webhook endpoint for the emulator to POST to: records each request and answers with the next status
    from `statuses` (then 200); status 0 drops the connection without an answer (a bot killed mid-update)."""

    def __init__(self, statuses=()):
        self.requests: list[tuple[str, dict, dict]] = []  # (path, headers, JSON body)
        self.statuses = list(statuses)
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.requests.append((self.path, dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if status == 0:
                    self.close_connection = True
                    return
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/abc"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook_emu():
    with FakeBotAPI(token=TOKEN, http_webhooks=True, webhook_retry_delay=0.05) as e:
        yield e
    assert not e.internal_errors, e.internal_errors[-1]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.mark.asyncio
async def test_webhook_receives_updates_with_the_secret_token(hook_emu, receiver):
    emu = hook_emu
    u = emu.user(1001)
    u.send("/start")                                   # queued before the webhook is set: delivered too
    async with make_bot(emu) as bot:
        await bot.send_message(1001, "按钮", reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("确认", callback_data="ok")]]))
        await bot.set_webhook(receiver.url, secret_token="s3cret-Token_1")
        query_id = u.press(emu.sent_to(u)[0], "确认")
        await emu.wait_for_async(lambda e: len(receiver.requests) == 2 and not e.pending_updates())
        info = await bot.get_webhook_info()
    assert [(path, body["update_id"]) for path, _, body in receiver.requests] == [("/hook/abc", 1), ("/hook/abc", 2)]
    for _, headers, _ in receiver.requests:
        assert headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret-Token_1"
        assert headers["Content-Type"] == "application/json"
    assert receiver.requests[0][2]["message"]["text"] == "/start"
    assert receiver.requests[1][2]["callback_query"]["id"] == query_id
    assert [d.ok for d in emu.webhook_deliveries] == [True, True]
    assert info.url == receiver.url and info.pending_update_count == 0 and info.last_error_date is None
    assert emu.webhook_params["secret_token"] == "s3cret-Token_1"


@pytest.mark.asyncio
async def test_webhook_without_secret_sends_no_secret_header(hook_emu, receiver):
    async with make_bot(hook_emu) as bot:
        await bot.set_webhook(receiver.url)
        hook_emu.user(1001).send("hi")
        await hook_emu.wait_for_async(lambda e: receiver.requests and not e.pending_updates())
    assert "X-Telegram-Bot-Api-Secret-Token" not in receiver.requests[0][1]


@pytest.mark.asyncio
async def test_webhook_retries_an_update_until_it_is_answered_2xx_in_order():
    receiver = Receiver(statuses=[500, 0, 403])
    try:
        with FakeBotAPI(token=TOKEN, http_webhooks=True, webhook_retry_delay=0.3) as emu:
            async with make_bot(emu) as bot:
                await bot.set_webhook(receiver.url)
                u = emu.user(1001)
                u.send("one")
                u.send("two")
                await emu.wait_for_async(lambda e: len(e.webhook_deliveries) >= 3)  # the next try is 0.3 s away
                info = await bot.get_webhook_info()
                assert "403" in info.last_error_message and info.pending_update_count == 2
                await emu.wait_for_async(lambda e: not e.pending_updates())
    finally:
        receiver.close()
    # the first update again and again until a 2xx; the second only after it
    assert [body["update_id"] for _, _, body in receiver.requests] == [1, 1, 1, 1, 2]
    assert [d.status for d in emu.webhook_deliveries] == [500, None, 403, 200, 200]


@pytest.mark.asyncio
async def test_unreachable_webhook_keeps_updates_for_polling_after_delete(hook_emu):
    emu = hook_emu
    with socket.socket() as s:                         # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with make_bot(emu) as bot:
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook")
        emu.user(1001).send("still here")
        await emu.wait_for_async(lambda e: len(e.webhook_deliveries) >= 2)
        assert emu.webhook_deliveries[0].status is None and "Connection failed" in emu.webhook_deliveries[0].error
        assert len(emu.pending_updates()) == 1
        await bot.delete_webhook()
        assert [x.message.text for x in await bot.get_updates(timeout=0)] == ["still here"]


@pytest.mark.asyncio
async def test_webhook_url_must_be_https_and_secret_well_formed(emu):
    async with make_bot(emu) as bot:
        with pytest.raises(BadRequest, match="(?i)https url must be provided"):
            await bot.set_webhook("http://127.0.0.1:1/hook")
        with pytest.raises(BadRequest, match="(?i)secret token contains unallowed characters"):
            await bot.set_webhook("https://example.org/hook", secret_token="no spaces")
    assert emu.webhook_url == ""


@pytest.mark.asyncio
async def test_ptb_webhook_server_accepts_the_emulators_deliveries(hook_emu):
    """PTB's own webhook server (which checks the secret header and the content type) handles what the
    emulator POSTs, and its reply reaches the emulator."""
    emu = hook_emu

    async def start(update, context):
        await update.message.reply_text("webhook ok")

    app = make_app(emu)
    app.add_handler(CommandHandler("start", start))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    await app.initialize()
    await app.updater.start_webhook(listen="127.0.0.1", port=port, url_path="tg",
                                    webhook_url=f"http://127.0.0.1:{port}/tg", secret_token="abc")
    await app.start()
    try:
        emu.user(1001).send("/start")
        reply = await emu.wait_reply_async(1001)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert reply.text == "webhook ok"
    assert emu.webhook_deliveries[0].ok


# -- control API --------------------------------------------------------------------------------


def test_wait_for_timeout_dumps_calls(emu):
    emu.user(1001)
    bot = make_bot(emu)

    async def go():
        async with bot:
            await bot.send_message(1001, "记录在案")

    asyncio.run(go())
    with pytest.raises(TimeoutError) as info:
        emu.wait_for(lambda e: e.sent_to(1001)[5], timeout=0.2)
    assert "sendMessage -> 200" in str(info.value) and "记录在案" in str(info.value)


def test_press_by_id_and_forged_data(emu):
    u = emu.user(1001)

    async def go():
        async with make_bot(emu) as bot:
            return await bot.send_message(1001, "选", reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("A", callback_data="a")]]))

    sent = asyncio.run(go())
    u.press(sent.message_id, "A")
    u.press(sent, "A")                                   # a telegram.Message works too
    u.press_data(emu.sent_to(u)[0], "forged:1")
    datas = [x["callback_query"]["data"] for x in emu.pending_updates()]
    assert datas == ["a", "a", "forged:1"]
    cq = emu.pending_updates()[0]["callback_query"]
    assert cq["from"]["id"] == 1001 and cq["message"]["message_id"] == sent.message_id
    with pytest.raises(LookupError):
        u.press(999, "A")


def test_http_control_surface(emu):
    def post(name, payload):
        req = urllib.request.Request(f"{emu.url}/_control/{name}",
                                     data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.loads(resp.read())["result"]

    msg = post("send", {"user_id": 42, "first_name": "李四", "text": "/start"})
    assert msg["from"]["first_name"] == "李四" and msg["entities"][0]["type"] == "bot_command"
    post("send", {"user_id": 42, "chat_id": -100777, "chat_title": "群", "text": "hi"})
    assert emu.pending_updates()[1]["message"]["chat"]["title"] == "群"

    async def go():
        async with make_bot(emu) as bot:
            post("fail", {"method": "getMe", "status": 502})
            with pytest.raises(NetworkError):
                await bot.get_me()

    asyncio.run(go())
    calls = post("calls", {"since": 1})
    assert [(c["method"], c["status"]) for c in calls] == [("getMe", 502)]
    assert calls[0]["error"] == "Bad Gateway"


# -- parsers ------------------------------------------------------------------------------------


def test_text_parsers_directly():
    from bot.devtools.botapi_emulator import _ParseError, _parse_html, _parse_markdown, _parse_markdown_v2

    text, ents = _parse_html('<b>粗<i>斜</i></b> &lt;x&gt; &#8364; A&B '
                             '<a href="https://e.org/?a=1&amp;b=2">链</a>'
                             '<pre><code class="language-python">x = 1</code></pre>')
    assert text == "粗斜 <x> € A&B 链x = 1"
    assert ents == [{"type": "bold", "offset": 0, "length": 2},
                    {"type": "italic", "offset": 1, "length": 1},
                    {"type": "text_link", "offset": 13, "length": 1,
                     "url": "https://e.org/?a=1&b=2"},
                    {"type": "pre", "offset": 14, "length": 5, "language": "python"}]
    for bad in ("<b>open", "<span>x</span>", "<unknown>x</unknown>", "</b>", "<b x"):
        with pytest.raises(_ParseError):
            _parse_html(bad)
    text, ents = _parse_markdown_v2("__下划线__ ||剧透|| `a\\`b` ~删~ \\*")
    assert text == "下划线 剧透 a`b 删 *"
    assert [e["type"] for e in ents] == ["underline", "spoiler", "code", "strikethrough"]
    with pytest.raises(_ParseError, match="Bold"):
        _parse_markdown_v2("*unclosed")
    assert _parse_markdown("*粗* _斜_ [链](https://e.org)")[0] == "粗 斜 链"
    with pytest.raises(_ParseError):
        _parse_markdown("a_b")
