"""A PTB `BaseRequest` that answers the Bot API calls the bot makes by actions on a `Messenger` (SPEC §11).

The application, its handlers and the outbox run unchanged: they call the Bot API, and this request object answers
every method they use (`METHODS`; any other fails loudly with a 400 naming it) from the messenger and the bridge's
tables (bot.runtime.platform.store):

| Bot API | here |
| --- | --- |
| getMe | a bot user with a stable id; username "robot" (a group command may say /draw@robot) |
| getUpdates | the stored events in order; `offset` confirms the ones before it; long-polls for `timeout` s |
| sendMessage | `Messenger.send_text`; with an inline keyboard → something editable (钉钉: a card) |
| editMessageText / editMessageReplyMarkup | `Messenger.edit` on an editable message; a message that was sent as plain text cannot be changed on 钉钉, so the new text is sent as a new message |
| answerCallbackQuery | `Messenger.answer_press` (钉钉: the press was acknowledged when it arrived; a text is sent to the presser) |
| sendDocument | `Messenger.send_file`; over the messenger's size limit the chat is told, in words, instead |
| getFile + the download | `Messenger.download` of the file's ref |
| setMyCommands / deleteMyCommands / getMyCommands | no equivalent: accepted and ignored (/help lists the commands) |
| deleteWebhook / setWebhook | accepted and ignored (events come from the messenger's own connection) |

Incoming: the messenger calls `store_event` (its sink) for each event; the event becomes a Telegram-shaped update
stored in `platform_events` (unique by the messenger's id) before the messenger acknowledges it. Failures of the
messenger come back as the Bot API's: RateLimited → 429 with retry_after (the outbox pauses), Unreachable → 403
(the outbox fails the chat's messages and tells the admins once), Transient → 502 (retried with backoff),
Rejected → 400.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import html
import json
import logging
import math
import re
import time
import uuid
from typing import Any, Awaitable, Callable

from sqlalchemy.orm import Session, sessionmaker
from telegram.request import BaseRequest, RequestData

from bot.runtime.platform import store
from bot.runtime.platform.base import (Button, ButtonPress, Chat, Event, IncomingMessage, Messenger,
                                       MessengerError, RateLimited, TooLarge, Transient, Unreachable)
from bot.texts import t
from models import utcnow

log = logging.getLogger(__name__)

BOT_USERNAME = "robot"
BOT_EXTERNAL_ID = "@robot"  # the bot's own row in platform_ids
_TAG = re.compile(r"<[^>]+>")
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?")


class ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: float | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


def _answer(result: Any) -> tuple[int, bytes]:
    return 200, json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode()


def _error(exc: ApiError) -> tuple[int, bytes]:
    body: dict[str, Any] = {"ok": False, "error_code": exc.status, "description": exc.description}
    if exc.retry_after is not None:
        body["parameters"] = {"retry_after": max(1, math.ceil(exc.retry_after))}
    return exc.status, json.dumps(body, ensure_ascii=False).encode()


def _api_error(exc: MessengerError) -> ApiError:
    if isinstance(exc, RateLimited):
        return ApiError(429, f"Too Many Requests: {exc.description}", exc.retry_after)
    if isinstance(exc, Unreachable):
        return ApiError(403, f"Forbidden: {exc.description}")
    if isinstance(exc, Transient):
        return ApiError(502, f"Bad Gateway: {exc.description}")
    if isinstance(exc, TooLarge):
        return ApiError(400, f"Bad Request: file is too big: {exc.description}")
    return ApiError(400, f"Bad Request: {exc.description}")


def file_id_of(ref: str) -> str:
    """A file's Bot API id: its messenger ref, URL-safe (it travels in the download URL's path)."""
    return base64.urlsafe_b64encode(ref.encode()).decode().rstrip("=")


def ref_of(file_id: str) -> str:
    return base64.urlsafe_b64decode(file_id + "=" * (-len(file_id) % 4)).decode()


def keyboard_of(markup: Any) -> tuple[list[list[Button]] | None, list[str]]:
    """An inline keyboard as buttons; URL buttons (not in the portable subset) become lines of text."""
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return None, []  # reply keyboards / force_reply have no equivalent: dropped
    rows: list[list[Button]] = []
    links: list[str] = []
    for row in markup["inline_keyboard"]:
        buttons = []
        for button in row:
            if button.get("callback_data") is not None:
                buttons.append(Button(button["text"], button["callback_data"]))
            elif button.get("url"):
                links.append(f"{button['text']}：{button['url']}")
        if buttons:
            rows.append(buttons)
    return (rows or None), links


def plain_text(text: str, parse_mode: str | None) -> str:
    """The text a messenger without Telegram's formatting shows: HTML tags dropped, entities unescaped."""
    if parse_mode and parse_mode.upper() == "HTML":
        return html.unescape(_TAG.sub("", text))
    return text


class BridgeRequest(BaseRequest):
    """Give the same instance as the application's `request` and `get_updates_request`."""

    def __init__(self, messenger: Messenger, sessions: sessionmaker[Session], *, bot_name: str = "双随机抽查助手",
                 language: str = "zh") -> None:
        self.messenger = messenger
        self.sessions = sessions
        self.platform = messenger.name
        self.bot_name = bot_name
        self.language = language
        self._arrived = asyncio.Event()
        self._listening = False
        self._closed = False
        self._known: dict[tuple[str, str], tuple[int, str]] = {}  # (kind, messenger id) → (id, name), committed
        self._chats: dict[int, tuple[Chat, str]] = {}  # Bot API chat id → (chat, name/title)
        self._bot_id: int | None = None
        self._presses: dict[str, int] = {}  # callback_query id → chat id (answerCallbackQuery's text goes there)
        self._methods: dict[str, Callable[[dict[str, Any], dict[str, Any]], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": self._send_document,
            "getFile": self._get_file,
            "setMyCommands": self._accept,
            "deleteMyCommands": self._accept,
            "getMyCommands": self._no_commands,
            "deleteWebhook": self._accept,
            "setWebhook": self._accept,
            "close": self._accept,
            "logOut": self._accept,
        }

    METHODS = ("getMe", "getUpdates", "sendMessage", "editMessageText", "editMessageReplyMarkup",
               "answerCallbackQuery", "sendDocument", "getFile", "setMyCommands", "deleteMyCommands",
               "getMyCommands", "deleteWebhook", "setWebhook", "close", "logOut")

    # --- BaseRequest ------------------------------------------------------------------------------------------

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        # PTB shuts down its request objects one after the other; this one may be both of them.
        if not self._closed:
            self._closed = True
            self._listening = False
            await self.messenger.stop()

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None, connect_timeout: Any = None,
                         pool_timeout: Any = None) -> tuple[int, bytes]:
        try:
            if method == "GET":
                return 200, await self._download(url)
            name = url.rsplit("/", 1)[-1]
            handler = self._methods.get(name)
            if handler is None:
                log.error("Bot API method %s is not supported on %s", name, self.platform)
                raise ApiError(400, f"Bad Request: method {name} is not supported on {self.platform}")
            params = request_data.parameters if request_data else {}
            files = request_data.multipart_data if request_data and request_data.contains_files else {}
            return _answer(await handler(dict(params), dict(files)))
        except ApiError as exc:
            return _error(exc)
        except MessengerError as exc:
            return _error(_api_error(exc))

    # --- incoming ---------------------------------------------------------------------------------------------

    async def store_event(self, event: Event) -> None:
        """The messenger's sink: the event as a stored update (or nothing, for a re-delivery). Returns only when it
        is committed, so the messenger acknowledges only what is stored. On the path of every 钉钉 ACK: ids come from
        a cache of committed rows, and the rows are written with Core (bench/bench_bridge.py)."""
        learned: dict[tuple[str, str], tuple[int, str]] = {}
        with self.sessions.begin() as session:
            if store.seen(session, self.platform, event.event_id):
                log.info("%s event %s delivered again: dropped", self.platform, event.event_id)
                return
            update = self._update_of(session, event, learned)
            if update is None:
                return
            store.add_event(session, self.platform, event.event_id, update)
        self._known.update(learned)  # only ids whose rows are committed
        self._arrived.set()

    def _id(self, session: Session, kind: str, external_id: str, name: str,
            learned: dict[tuple[str, str], tuple[int, str]]) -> int:
        known = self._known.get((kind, external_id))
        if known is not None and (not name or known[1] == name):
            return known[0]
        if kind == "user":
            found = store.user_id(session, self.platform, external_id, name)
        else:
            found = -store.chat_id(session, self.platform, Chat("group", external_id, name))
        learned[(kind, external_id)] = (found, name or (known[1] if known else ""))
        return found

    def _user(self, session: Session, sender, learned) -> dict[str, Any]:
        uid = self._id(session, "user", sender.external_id, sender.name, learned)
        return {"id": uid, "is_bot": False, "first_name": sender.name or sender.external_id}

    def _chat(self, session: Session, chat: Chat, sender_name: str, learned) -> dict[str, Any]:
        if chat.kind == "private":
            cid = self._id(session, "user", chat.external_id, "", learned)
            return {"id": cid, "type": "private", "first_name": sender_name or chat.external_id}
        cid = -self._id(session, "group", chat.external_id, chat.title, learned)
        return {"id": cid, "type": "group", "title": chat.title or chat.external_id}

    def _update_of(self, session: Session, event: Event, learned) -> dict[str, Any] | None:
        user = self._user(session, event.sender, learned)
        if isinstance(event, IncomingMessage):
            chat = self._chat(session, event.chat, event.sender.name, learned)
            message_id = store.add_incoming(session, self.platform, chat["id"], event.event_id, event.text)
            message: dict[str, Any] = {"message_id": message_id, "date": int(event.sent_at or time.time()),
                                       "chat": chat, "from": user}
            if event.file is not None:
                message["document"] = {"file_id": file_id_of(event.file.ref),
                                       "file_unique_id": hashlib.sha1(event.file.ref.encode()).hexdigest()[:16],
                                       "file_name": event.file.name}
                if event.file.size is not None:
                    message["document"]["file_size"] = event.file.size
                if event.text:
                    message["caption"] = event.text
            elif event.text:
                message["text"] = event.text
                command = _COMMAND.match(event.text)
                if command:
                    message["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
            return {"message": message}
        assert isinstance(event, ButtonPress)
        row = store.message_by_ref(session, self.platform, event.message_ref)
        if row is None:
            log.warning("%s press on unknown message %s: dropped", self.platform, event.message_ref)
            return None
        found = self._chat_of(session, row.chat_id)
        chat_json: dict[str, Any] = {"id": row.chat_id, "type": "private" if row.chat_id > 0 else "group"}
        if found is not None and row.chat_id < 0:
            chat_json["title"] = found[1] or found[0].external_id
        elif found is not None:
            chat_json["first_name"] = found[1] or found[0].external_id
        message = {"message_id": row.id, "date": int(row.created_at.timestamp()), "chat": chat_json,
                   "from": self._bot_user(session), "text": row.text or ""}
        if row.markup:
            message["reply_markup"] = row.markup
        return {"callback_query": {"id": event.event_id, "from": user, "message": message,
                                   "chat_instance": str(row.chat_id), "data": event.data}}

    async def _get_updates(self, params: dict[str, Any], _files) -> list[dict[str, Any]]:
        if not self._listening:  # the first getUpdates starts the messenger's connection (senders never do)
            self._listening = True
            await self.messenger.start(self.store_event)
        offset = params.get("offset")
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        if offset:
            with self.sessions.begin() as session:
                store.confirm_below(session, self.platform, int(offset))
        while True:
            self._arrived.clear()
            with self.sessions.begin() as session:
                rows = store.pending_events(session, self.platform, offset, limit)
            if rows or time.monotonic() >= deadline:
                return [{"update_id": i, **u} for i, u in rows]
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout=max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                pass

    # --- outgoing ---------------------------------------------------------------------------------------------

    def _bot_user(self, session: Session) -> dict[str, Any]:
        if self._bot_id is None:
            self._bot_id = store.user_id(session, self.platform, BOT_EXTERNAL_ID, self.bot_name)
        return {"id": self._bot_id, "is_bot": True, "first_name": self.bot_name, "username": BOT_USERNAME}

    async def _get_me(self, _params, _files) -> dict[str, Any]:
        with self.sessions.begin() as session:
            me = self._bot_user(session)
        return {**me, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    async def _accept(self, _params, _files) -> bool:
        return True

    async def _no_commands(self, _params, _files) -> list:
        return []

    def _target(self, chat_id: Any) -> tuple[int, Chat, dict[str, Any]]:
        try:
            cid = int(chat_id)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        found = self._chats.get(cid)
        if found is None:
            with self.sessions.begin() as session:
                found = self._chat_of(session, cid)
        if found is None:
            raise ApiError(400, "Bad Request: chat not found")
        chat, name = found
        chat_json = ({"id": cid, "type": "private", "first_name": name or chat.external_id} if chat.kind == "private"
                     else {"id": cid, "type": "group", "title": name or chat.external_id})
        return cid, chat, chat_json

    def _chat_of(self, session: Session, cid: int) -> tuple[Chat, str] | None:
        """A chat by its Bot API id (a row that exists never changes its messenger id: cached)."""
        found = self._chats.get(cid)
        if found is None:
            found = store.chat_of(session, self.platform, cid)
            if found is not None:
                self._chats[cid] = found
        return found

    def _message_json(self, row, chat_json: dict[str, Any], bot_user: dict[str, Any]) -> dict[str, Any]:
        message = {"message_id": row.id, "date": int(row.created_at.timestamp()), "chat": chat_json,
                   "from": bot_user, "text": row.text or ""}
        if row.markup:
            message["reply_markup"] = row.markup
        return message

    async def _send_message(self, params: dict[str, Any], _files) -> dict[str, Any]:
        cid, chat, chat_json = self._target(params.get("chat_id"))
        text = plain_text(str(params.get("text") or ""), params.get("parse_mode"))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        markup = params.get("reply_markup")
        keyboard, links = keyboard_of(markup)
        if links:
            text = text + "\n" + "\n".join(links)
        return await self._send_recorded(cid, chat, chat_json, text, keyboard, markup if keyboard is not None else None)

    async def _send_recorded(self, cid: int, chat: Chat, chat_json: dict[str, Any], text: str, keyboard,
                             markup: Any) -> dict[str, Any]:
        """Send and record a message. One with buttons is recorded *before* it is sent, under a ref chosen here: a
        `kill -9` between the send and the record would otherwise leave a card whose presses lead nowhere."""
        if keyboard is None:
            sent = await self.messenger.send_text(chat, text)
            with self.sessions.begin() as session:
                row = store.add_message(session, self.platform, cid, ref=sent.ref, outgoing=True,
                                        editable=sent.editable, text=text)
                return self._message_json(row, chat_json, self._bot_user(session))
        ref = uuid.uuid4().hex
        with self.sessions.begin() as session:
            message_id = store.add_message(session, self.platform, cid, ref=ref, outgoing=True, editable=True,
                                           text=text, markup=markup).id
        try:
            sent = await self.messenger.send_text(chat, text, keyboard, editable=True, ref=ref)
        except BaseException:
            with self.sessions.begin() as session:
                session.delete(store.message(session, self.platform, message_id))
            raise
        with self.sessions.begin() as session:
            row = store.message(session, self.platform, message_id)
            row.ref, row.editable = sent.ref, sent.editable
            session.flush()
            return self._message_json(row, chat_json, self._bot_user(session))

    async def _edit(self, params: dict[str, Any], text: str | None) -> dict[str, Any]:
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: inline messages are not supported")
        cid, chat, chat_json = self._target(params.get("chat_id"))
        with self.sessions.begin() as session:
            row = store.message(session, self.platform, int(params.get("message_id") or 0))
            if row is None or row.chat_id != cid or not row.outgoing:
                raise ApiError(400, "Bad Request: message to edit not found")
            old_text, old_markup, editable, ref = row.text, row.markup, row.editable, row.ref
        markup = params.get("reply_markup")
        keyboard, links = keyboard_of(markup)
        new_text = old_text or "" if text is None else text
        if text is not None and links:
            new_text = new_text + "\n" + "\n".join(links)
        new_markup = markup if keyboard is not None else None
        if new_text == old_text and new_markup == old_markup:
            raise ApiError(400, "Bad Request: message is not modified: specified new message content and reply "
                                "markup are exactly the same as a current content and reply markup of the message")
        if editable and ref:
            await self.messenger.edit(chat, ref, new_text, keyboard)
            with self.sessions.begin() as session:
                row = store.message(session, self.platform, int(params["message_id"]))
                row.text, row.markup = new_text, new_markup
                session.flush()
                return self._message_json(row, chat_json, self._bot_user(session))
        if text is None:  # only the buttons of a plain message changed: nothing a user could see
            with self.sessions.begin() as session:
                row = store.message(session, self.platform, int(params["message_id"]))
                return self._message_json(row, chat_json, self._bot_user(session))
        # Sent as plain text (钉钉 cannot change it): the new text goes out as a new message.
        return await self._send_recorded(cid, chat, chat_json, new_text, keyboard, new_markup)

    async def _edit_message_text(self, params: dict[str, Any], _files) -> dict[str, Any]:
        text = plain_text(str(params.get("text") or ""), params.get("parse_mode"))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        return await self._edit(params, text)

    async def _edit_message_reply_markup(self, params: dict[str, Any], _files) -> dict[str, Any]:
        return await self._edit(params, None)

    async def _answer_callback_query(self, params: dict[str, Any], _files) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        text = str(params.get("text") or "")
        presser = None
        if text:  # who pressed, from the stored press: this process may have been started after it arrived
            with self.sessions.begin() as session:
                presser = store.presser_of(session, self.platform, query_id)
            if presser is None:
                raise ApiError(400, "Bad Request: query id is invalid")
        await self.messenger.answer_press(query_id, text, bool(params.get("show_alert")), presser=presser)
        return True

    async def _send_document(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        cid, chat, chat_json = self._target(params.get("chat_id"))
        upload = files.get("document")
        if upload is None:
            raise ApiError(400, "Bad Request: there is no document in the request (re-sending by file_id is not "
                                f"supported on {self.platform})")
        filename, content = upload[0], upload[1]
        data = content if isinstance(content, bytes) else content.read()
        caption = plain_text(str(params.get("caption") or ""), params.get("parse_mode"))
        limit = self.messenger.max_file_bytes
        refused = False
        try:
            if len(data) > limit:
                raise TooLarge(f"{len(data)} bytes", limit)
            sent = await self.messenger.send_file(chat, filename, data, caption)  # the caption too, as it can
        except TooLarge as exc:
            # Never dropped in silence: the chat is told what did not arrive and why.
            refused = True
            refusal = t("bridge.file_too_large", self.language, filename=filename,
                        size_mb=round(len(data) / 1048576, 1), limit_mb=round(exc.limit / 1048576))
            caption = f"{caption}\n{refusal}" if caption else refusal  # what the file was for, then why it is missing
            log.warning("%s: %s (%s bytes) is over the %s-byte limit; the chat was told", self.platform, filename,
                        len(data), exc.limit)
            sent = await self.messenger.send_text(chat, caption)
        with self.sessions.begin() as session:
            row = store.add_message(session, self.platform, cid, ref=sent.ref, outgoing=True, editable=False,
                                    text=caption)
            message = self._message_json(row, chat_json, self._bot_user(session))
        if not refused:
            message.pop("text", None)
            message["document"] = {"file_id": file_id_of(f"sent:{sent.ref}"),
                                   "file_unique_id": hashlib.sha1(sent.ref.encode()).hexdigest()[:16],
                                   "file_name": filename, "file_size": len(data)}
            if caption:
                message["caption"] = caption
        return message

    async def _get_file(self, params: dict[str, Any], _files) -> dict[str, Any]:
        file_id = str(params.get("file_id") or "")
        try:
            ref_of(file_id)
        except ValueError:
            raise ApiError(400, "Bad Request: invalid file_id") from None
        return {"file_id": file_id, "file_unique_id": hashlib.sha1(file_id.encode()).hexdigest()[:16],
                "file_path": f"{self.platform}/{file_id}"}

    async def _download(self, url: str) -> bytes:
        marker = f"/{self.platform}/"
        if marker not in url:
            raise ApiError(404, "Not Found: no such file")
        file_id = url.rsplit(marker, 1)[1]
        try:
            ref = ref_of(file_id)
        except ValueError:
            raise ApiError(404, "Not Found: no such file") from None
        return await self.messenger.download(ref)


def prune(sessions: sessionmaker[Session], platform: str, now: dt.datetime | None = None) -> int:
    with sessions.begin() as session:
        return store.prune_events(session, platform, now or utcnow())
