"""A local emulator of the Telegram Bot API, for end-to-end tests and the offline demo.

The emulator is an HTTP server (standard library only: ``ThreadingHTTPServer`` in a background
thread) that speaks enough of the Bot API for an unmodified python-telegram-bot application to run
against it with ``run_polling()``::

    app = (ApplicationBuilder().token(emu.token)
           .base_url(f"{emu.url}/bot").base_file_url(f"{emu.url}/file/bot").build())

On the other side a Python control API plays the Telegram users, and records everything the bot
does so that tests can assert on it::

    with FakeBotAPI(token="123:ABC", bot_username="shuangsui_test_bot") as emu:  # or start()/stop()
        u = emu.user(1001, first_name="张三", language_code="zh-hans")   # a simulated user
        g = emu.group(-100123, title="联合抽查群")                      # a group (supergroup: -100…)
        u.send("/start ABC")                  # private message -> queued update (with bot_command)
        u.send("/draw@shuangsui_test_bot", chat=g)
        u.send_document(b"...", filename="名单.xlsx", caption=None, chat=None)
        reply = emu.wait_reply(u, after=0)    # the first bot message to that chat (a BotMessage)
        u.press(reply, "确认")                 # callback_query for the inline button with that text
        u.press_data(reply, "raw:data")       # forged callback data
        emu.calls                             # every Bot API call the bot made (Call objects)
        emu.sent_to(u)                        # BotMessage list, current text/markup after edits
        emu.wait_for(lambda e: ..., timeout=10)
        emu.fail("sendMessage", status=429, retry_after=1, times=2)   # fault injection
        emu.delay("sendMessage", 0.5); emu.block(u)                  # latency; "bot was blocked"
        emu.webhook_deliveries                # each POST to a webhook (WebhookDelivery objects)

``wait_for``/``wait_reply`` block the calling thread: use them when the bot runs in another
thread or process.  Inside an asyncio test whose event loop also runs the bot, use
``await emu.wait_for_async(...)`` / ``await emu.wait_reply_async(...)`` instead.

Behaviour that mirrors the real Bot API (so that bugs show up here rather than in production):

* ``getUpdates`` long-polls (``offset``/``limit``/``timeout``); calling it with ``offset`` confirms
  and forgets every update with a smaller id; a negative offset keeps only the last updates; a
  second concurrent ``getUpdates`` terminates the first with 409 Conflict, as does polling while a
  webhook is set.
* While a webhook is set (``setWebhook``), a delivery thread POSTs the queued updates to its URL,
  one at a time and in order (like ``max_connections=1``), as JSON with the header
  ``X-Telegram-Bot-Api-Secret-Token`` when a ``secret_token`` was given.  An update is forgotten
  only when the bot answers 2xx; any other answer, a refused or dropped connection or no answer
  within ``webhook_timeout`` is retried after ``webhook_retry_delay`` seconds (Telegram retries
  too), so a bot killed while handling an update gets it again.  ``getWebhookInfo`` reports the
  pending count and the last error; ``deleteWebhook`` stops the deliveries and leaves what is
  pending to ``getUpdates``.  Telegram accepts only HTTPS webhook URLs, and so does the emulator
  unless it is created with ``http_webhooks=True`` (a local bot without TLS).
* A wrong token gives 401 Unauthorized, an unknown method 404 (PTB raises ``InvalidToken``).
* Texts and captions are parsed like Telegram does for ``parse_mode`` HTML, MarkdownV2 and
  Markdown: the stored/returned text is the plain text with ``entities`` (UTF-16 offsets), and
  malformed markup is rejected with "Bad Request: can't parse entities: …".  Also checked: empty
  or too long texts/captions, ``callback_data`` longer than 64 bytes (BUTTON_DATA_INVALID),
  inline buttons without an action, unknown chats ("chat not found"), replies to missing messages,
  edits that change nothing ("message is not modified"), edits without ``reply_markup`` remove
  the inline keyboard, answering an unknown/already answered callback query, invalid bot
  commands in ``setMyCommands``.  ``FakeBotAPI(strict=False)`` turns the markup checks off.
* Documents the users upload are stored; ``getFile`` returns ``documents/file_<n>.<ext>`` which is
  served at ``/file/bot<token>/documents/file_<n>.<ext>``.  Documents the bot uploads (multipart)
  are kept with their bytes and filename, and can be re-sent by ``file_id``.
* Only ``bot_command`` entities are generated for user messages (not mentions, URLs, …).

How python-telegram-bot 22 encodes requests (what the parser below undoes): every call is a POST
to ``{base_url}{token}/{method}``.  Without files the body is ``application/x-www-form-urlencoded``;
with files it is ``multipart/form-data`` (httpx: the file part carries ``filename="…"`` with raw
UTF-8 and ``"`` escaped as ``%22``).  In both cases string parameters are sent verbatim and every
other value (ints, bools, lists, ``reply_markup``, ``reply_parameters``…) as a JSON string — so a
value can only be decoded when one knows whether the parameter is a string (see
``_STRING_PARAMS``).  ``reply_to_message_id`` arrives as ``reply_parameters``.  Downloads are GETs
of ``{base_file_url}{token}/{file_path}``.

A small HTTP control surface lets another process (e.g. the demo) drive the emulator; JSON in,
``{"ok": true, "result": …}`` out (GET with a query string works too):

* ``POST /_control/send``           ``{"user_id", "text", "chat_id"?, "first_name"?, "username"?,
  "language_code"?, "chat_title"?}``
* ``POST /_control/send_document``  ``{"user_id", "data_base64", "filename", "caption"?,
  "chat_id"?}``
* ``POST /_control/press``          ``{"user_id", "chat_id"?, "message_id", "text" | "data"}``
* ``POST /_control/fail``           ``{"method", "status"?, "retry_after"?, "times"?, "chat_id"?}``
* ``POST /_control/calls``          ``{"since"?: index}`` -> recorded calls (bytes omitted)
* ``POST /_control/sent``           ``{"chat_id"}`` -> bot messages in that chat
* ``POST /_control/updates``        -> pending (unconfirmed) updates

Run standalone (e.g. for a demo): ``python -m bot.devtools.botapi_emulator --port 8081``.
"""

from __future__ import annotations

import argparse
import base64
import copy
import http.client
import itertools
import json
import logging
import mimetypes
import os
import re
import socket
import threading
import time
import traceback
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from bot.devtools.emulator_base import EmulatorHandler, EmulatorServer, serve_until_interrupted, take_rule

__all__ = ["ApiError", "BotMessage", "Call", "FakeBotAPI", "FakeChat", "FakeUser", "UploadedFile",
           "WebhookDelivery"]

_LOG = logging.getLogger(__name__)

#: Parameters PTB sends verbatim (never JSON-encoded); every other parameter is JSON.
_STRING_PARAMS = frozenset({
    "text", "caption", "parse_mode", "callback_query_id", "inline_message_id", "url", "file_id",
    "language_code", "action", "name", "description", "short_description", "secret_token",
    "ip_address", "title", "business_connection_id", "message_effect_id", "emoji", "query",
    "custom_title", "document", "photo", "audio", "video", "voice", "animation", "sticker",
    "thumbnail", "certificate",
})
#: Parameters holding a chat id: an integer, or an ``@username`` string.
_CHAT_ID_PARAMS = frozenset({"chat_id", "from_chat_id"})

_CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})
_INLINE_BUTTON_ACTIONS = (
    "callback_data", "url", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)
_COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w@/])")

_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
#: Webhook POSTs go straight to the bot, never through an HTTP(S)_PROXY of the environment.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))

_MSG_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)


# --------------------------------------------------------------------------------------------
# Errors and records
# --------------------------------------------------------------------------------------------


class ApiError(Exception):
    """A Bot API error answer: ``{"ok": false, "error_code": status, "description": …}``."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None,
                 parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        params = dict(parameters or {})
        if retry_after is not None:
            params["retry_after"] = retry_after
        self.parameters = params or None

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status,
                                "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, "Bad Request: " + description)


@dataclass
class UploadedFile:
    """One file part of a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class Call:
    """One Bot API request made by the bot, recorded once it has been answered."""

    method: str                       #: canonical name, e.g. ``"sendMessage"``
    params: dict[str, Any]            #: decoded parameters (``reply_markup`` etc. as dicts)
    time: float                       #: ``time.time()`` when the request arrived
    files: dict[str, UploadedFile] = field(default_factory=dict)
    status: int = 200                 #: HTTP status of the answer
    result: Any = None                #: the ``result`` of a successful answer
    error: str | None = None          #: the ``description`` of an error answer

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    @property
    def file(self) -> UploadedFile | None:
        """The first uploaded file, if any."""
        return next(iter(self.files.values()), None)

    @property
    def data(self) -> bytes | None:
        return self.file.data if self.file else None

    @property
    def filename(self) -> str | None:
        return self.file.filename if self.file else None

    def summary(self) -> str:
        parts = [f"{self.method} -> {self.status}"]
        for key in ("chat_id", "message_id", "text", "caption", "callback_query_id", "offset"):
            if key in self.params:
                parts.append(f"{key}={_short(self.params[key])}")
        markup = self.params.get("reply_markup")
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            texts = [b.get("text") for row in markup["inline_keyboard"] for b in row]
            parts.append(f"buttons={_short(texts)}")
        for up in self.files.values():
            parts.append(f"file={up.filename!r}({len(up.data)} B)")
        if self.error:
            parts.append(f"error={self.error!r}")
        return " ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method, "params": self.params, "time": self.time,
            "status": self.status, "result": self.result, "error": self.error,
            "files": {name: {"filename": f.filename, "content_type": f.content_type,
                             "size": len(f.data)} for name, f in self.files.items()},
        }

    def __repr__(self) -> str:
        return f"<Call {self.summary()}>"


@dataclass
class WebhookDelivery:
    """One POST of an update to the bot's webhook."""

    update_id: int
    url: str
    headers: dict[str, str]           #: the request headers the emulator sent
    time: float                       #: ``time.time()`` when the POST started
    status: int | None = None         #: the bot's HTTP status; ``None`` when there was no answer
    error: str | None = None          #: why it did not count as delivered

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _short(value: Any, limit: int = 70) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = repr(text) if isinstance(value, str) else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_name: str | None
    mime_type: str | None

    def document_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"file_id": self.file_id, "file_unique_id": self.file_unique_id,
                               "file_size": len(self.data)}
        if self.file_name:
            doc["file_name"] = self.file_name
        if self.mime_type:
            doc["mime_type"] = self.mime_type
        return doc

    def file_json(self) -> dict[str, Any]:
        return {"file_id": self.file_id, "file_unique_id": self.file_unique_id,
                "file_size": len(self.data), "file_path": self.file_path}


class BotMessage:
    """A message the bot sent, as it currently looks in the chat (edits applied, live object).

    ``text`` is the plain text (or the caption of a document) as Telegram shows it, i.e. after
    ``parse_mode`` was applied; ``source_text`` is what the bot sent.  ``reply_markup`` is the
    current inline keyboard (``None`` once removed); ``sent_markup`` is whatever markup the send
    call carried (also reply keyboards, ``force_reply``, ``remove_keyboard``).
    """

    def __init__(self, raw: dict[str, Any], method: str, params: dict[str, Any],
                 source_text: str | None, sent_markup: dict[str, Any] | None,
                 data: bytes | None = None, filename: str | None = None):
        self.raw = raw                    #: the Message JSON as the bot API returns it now
        self.method = method              #: ``"sendMessage"`` or ``"sendDocument"``
        self.params = params              #: decoded parameters of the send call
        self.source_text = source_text
        self.sent_markup = sent_markup
        self.data = data                  #: document bytes (sendDocument)
        self.filename = filename          #: document file name (sendDocument)
        self.deleted = False
        self.edits: list[tuple[str, dict[str, Any]]] = []   #: (method, params) per edit

    message_id = property(lambda self: self.raw["message_id"])
    chat_id = property(lambda self: self.raw["chat"]["id"])
    date = property(lambda self: self.raw["date"])
    caption = property(lambda self: self.raw.get("caption"))
    document = property(lambda self: self.raw.get("document"))
    reply_markup = property(lambda self: self.raw.get("reply_markup"))

    @property
    def text(self) -> str | None:
        """The text, or for documents the caption (plain, without markup)."""
        return self.raw.get("text", self.raw.get("caption"))

    @property
    def entities(self) -> list[dict[str, Any]]:
        return list(self.raw.get("entities") or self.raw.get("caption_entities") or [])

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """The inline keyboard's buttons, row by row, flattened."""
        markup = self.reply_markup or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    @property
    def button_texts(self) -> list[str]:
        return [b.get("text", "") for b in self.buttons]

    def find_button(self, text: str) -> dict[str, Any]:
        """The inline button whose text equals ``text``, else the only one starting with it."""
        buttons = self.buttons
        for button in buttons:
            if button.get("text") == text:
                return button
        matches = [b for b in buttons if b.get("text", "").startswith(text)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise LookupError(f"ambiguous button prefix {text!r} on message {self.message_id}: "
                              f"{[b['text'] for b in matches]}")
        raise LookupError(f"no inline button {text!r} on message {self.message_id} in chat "
                          f"{self.chat_id}; buttons: {self.button_texts}")

    def json(self) -> dict[str, Any]:
        return copy.deepcopy(self.raw)

    def to_json(self) -> dict[str, Any]:
        return {"message_id": self.message_id, "chat_id": self.chat_id, "text": self.text,
                "reply_markup": self.reply_markup, "document": self.document,
                "filename": self.filename, "deleted": self.deleted, "edits": len(self.edits)}

    def __repr__(self) -> str:
        flag = " deleted" if self.deleted else ""
        extra = f" file={self.filename!r}" if self.document else ""
        buttons = f" buttons={self.button_texts}" if self.buttons else ""
        return (f"<BotMessage {self.chat_id}/{self.message_id}{flag}{extra} "
                f"text={_short(self.text or '')}{buttons}>")


# --------------------------------------------------------------------------------------------
# Simulated chats and users
# --------------------------------------------------------------------------------------------


class FakeChat:
    """A chat known to the emulator: a user's private chat, a group or a supergroup."""

    def __init__(self, emu: FakeBotAPI, chat_id: int, chat_type: str, *, title: str | None = None,
                 username: str | None = None, user: FakeUser | None = None):
        self._emu = emu
        self.id = chat_id
        self.type = chat_type
        self.title = title
        self.username = username
        self.user = user                    #: the user, for private chats
        self.admins: dict[int, str] = {}    #: user id -> "administrator" | "creator"

    def json(self) -> dict[str, Any]:
        if self.user is not None:
            data: dict[str, Any] = {"id": self.id, "type": "private",
                                    "first_name": self.user.first_name}
            if self.user.last_name:
                data["last_name"] = self.user.last_name
            if self.user.username:
                data["username"] = self.user.username
            return data
        data = {"id": self.id, "type": self.type, "title": self.title}
        if self.username:
            data["username"] = self.username
        return data

    def set_admin(self, user: FakeUser | int, status: str = "administrator") -> None:
        """Make ``user`` an administrator (or ``"creator"``) for getChatMember."""
        with self._emu._cond:
            self.admins[_id_of(user)] = status

    @property
    def messages(self) -> list[BotMessage]:
        return self._emu.sent_to(self.id)

    def __repr__(self) -> str:
        return f"<FakeChat {self.id} {self.type} {self.title or ''}>"


class FakeUser:
    """A simulated Telegram user who talks to the bot (see :meth:`FakeBotAPI.user`)."""

    def __init__(self, emu: FakeBotAPI, user_id: int, first_name: str, *, last_name: str | None,
                 username: str | None, language_code: str | None, is_bot: bool = False):
        self._emu = emu
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.is_bot = is_bot
        self.chat = FakeChat(emu, user_id, "private", user=self)   #: the private chat

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot,
                                "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        return data

    def send(self, text: str, chat: FakeChat | int | None = None, *,
             reply_to: Any = None, entities: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Send a text message (private chat unless ``chat``); returns the Message JSON."""
        content: dict[str, Any] = {"text": text}
        ents = _command_entities(text) if entities is None else entities
        if ents:
            content["entities"] = ents
        return self._emu._user_message(self, chat, content, reply_to)

    def send_document(self, data: bytes, filename: str = "document.bin",
                      caption: str | None = None, chat: FakeChat | int | None = None, *,
                      mime_type: str | None = None) -> dict[str, Any]:
        """Upload a document; the bot can download it via getFile.  Returns the Message JSON."""
        return self._emu._user_document(self, chat, bytes(data), filename, caption, mime_type)

    def press(self, message: Any, text: str, chat: FakeChat | int | None = None) -> str:
        """Press the inline button whose text equals (or uniquely starts with) ``text``.

        ``message`` is a :class:`BotMessage`, a ``telegram.Message``, a Message dict or a
        message id (then ``chat`` defaults to this user's private chat).  Returns the callback
        query id.  Raises ``LookupError`` if there is no such callback button.
        """
        return self._emu._press(self, message, chat, text=text)

    def press_data(self, message: Any, data: str, chat: FakeChat | int | None = None) -> str:
        """Send a callback query with arbitrary (possibly forged) ``data`` for ``message``."""
        return self._emu._press(self, message, chat, data=data)

    @property
    def inbox(self) -> list[BotMessage]:
        """The bot's messages in this user's private chat."""
        return self._emu.sent_to(self.id)

    def __repr__(self) -> str:
        return f"<FakeUser {self.id} {self.first_name}>"


def _id_of(obj: Any) -> int:
    if isinstance(obj, (FakeUser, FakeChat)):
        return obj.id
    return int(obj)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _command_entities(text: str) -> list[dict[str, Any]]:
    return [{"type": "bot_command", "offset": _utf16_len(text[: m.start()]),
             "length": _utf16_len(m.group(0))} for m in _COMMAND_RE.finditer(text)]


# --------------------------------------------------------------------------------------------
# Text formatting (parse_mode), like Telegram's server does it
# --------------------------------------------------------------------------------------------


class _ParseError(Exception):
    pass


class _Out:
    """Accumulates plain text and tracks the UTF-16 position (entity offsets are UTF-16)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.pos += _utf16_len(text)

    def text(self) -> str:
        return "".join(self.parts)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _sorted_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((e for e in entities if e["length"] > 0),
                  key=lambda e: (e["offset"], -e["length"]))


_HTML_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler", "a": "text_link", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}
_HTML_ENTITY_RE = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _html_unescape(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name[0] != "#":
            return _HTML_NAMED[name]
        try:
            return chr(int(name[2:], 16) if name[1] in "xX" else int(name[1:]))
        except (ValueError, OverflowError):
            return m.group(0)
    return _HTML_ENTITY_RE.sub(repl, text)


def _parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    out = _Out()
    stack: list[tuple[str, int, dict[str, str]]] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "&":
            m = _HTML_ENTITY_RE.match(text, i)
            if m:
                out.add(_html_unescape(m.group(0)))
                i = m.end()
            else:                      # Telegram keeps a lone '&' as it is
                out.add("&")
                i += 1
            continue
        if c != "<":
            j = i
            while j < n and text[j] not in "<&":
                j += 1
            out.add(text[i:j])
            i = j
            continue
        begin = _byte_offset(text, i)
        if i + 1 < n and text[i + 1] == "/":                       # end tag
            j = text.find(">", i)
            if j < 0:
                raise _ParseError(f"Unclosed end tag at byte offset {begin}")
            name = text[i + 2:j].strip().lower()
            if not stack:
                raise _ParseError(f"Unexpected end tag at byte offset {begin}")
            tag, start, attrs = stack.pop()
            if name != tag:
                raise _ParseError(f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", '
                                  f'found "</{name}>"')
            if tag == "code" and stack and stack[-1][0] == "pre" \
                    and attrs.get("class", "").startswith("language-"):
                stack[-1][2]["_language"] = attrs["class"][len("language-"):]
            else:
                entity = _html_entity(tag, attrs, start, out.pos - start)
                if entity:
                    entities.append(entity)
            i = j + 1
            continue
        j = i + 1                                                  # start tag
        while j < n and not text[j].isspace() and text[j] != ">":
            j += 1
        if j >= n:
            raise _ParseError(f"Unclosed start tag at byte offset {begin}")
        name = text[i + 1:j].lower()
        if name not in _HTML_TAGS:
            raise _ParseError(f'Unsupported start tag "{name}" at byte offset {begin}')
        attrs: dict[str, str] = {}
        while True:
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise _ParseError(f'Unclosed start tag "{name}" at byte offset {begin}')
            if text[j] == ">":
                j += 1
                break
            k = j
            while k < n and not text[k].isspace() and text[k] not in "=>":
                k += 1
            attr = text[j:k].lower()
            while k < n and text[k].isspace():
                k += 1
            if k >= n or text[k] != "=":                           # valueless attribute
                attrs[attr] = ""
                j = k
                continue
            k += 1
            while k < n and text[k].isspace():
                k += 1
            if k >= n:
                raise _ParseError(f'Unclosed start tag "{name}" at byte offset {begin}')
            if text[k] in "\"'":
                end = text.find(text[k], k + 1)
                if end < 0:
                    raise _ParseError(f'Unclosed start tag "{name}" at byte offset {begin}')
                attrs[attr] = _html_unescape(text[k + 1:end])
                j = end + 1
            else:
                end = k
                while end < n and not text[end].isspace() and text[end] != ">":
                    end += 1
                attrs[attr] = _html_unescape(text[k:end])
                j = end
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise _ParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
        stack.append((name, out.pos, attrs))
        i = j
    if stack:
        raise _ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.text(), _sorted_entities(entities)


def _html_entity(tag: str, attrs: dict[str, str], offset: int, length: int) -> dict | None:
    if length <= 0:
        return None
    entity: dict[str, Any] = {"type": _HTML_TAGS[tag], "offset": offset, "length": length}
    if tag == "a":
        if not attrs.get("href"):
            return None
        entity["url"] = attrs["href"]
    elif tag == "pre" and attrs.get("_language"):
        entity["language"] = attrs["_language"]
    elif tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    return entity


_MD2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MD2_MARKERS = {"*": ("bold", "Bold"), "_": ("italic", "Italic"), "__": ("underline", "Underline"),
                "~": ("strikethrough", "Strikethrough"), "||": ("spoiler", "Spoiler")}


def _md_find(text: str, start: int, closing: str, escapes: bool = True) -> int:
    j = start
    while j < len(text):
        if escapes and text[j] == "\\":
            j += 2
            continue
        if text.startswith(closing, j):
            return j
        j += 1
    return -1


def _md2_unescape(text: str) -> str:
    return re.sub(r"\\([\x01-\x7e])", r"\1", text)


def _parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    out = _Out()
    stack: list[tuple[str, int, int]] = []          # (marker, utf16 start, byte offset)
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.add(text[i + 1])
            i += 2
            continue
        if c not in _MD2_RESERVED:
            j = i + 1
            while j < n and text[j] not in _MD2_RESERVED and text[j] != "\\":
                j += 1
            out.add(text[i:j])
            i = j
            continue
        boff = _byte_offset(text, i)
        if c == "`":
            fence = "```" if text.startswith("```", i) else "`"
            end = _md_find(text, i + len(fence), fence)
            if end < 0:
                kind = "Pre" if fence == "```" else "Code"
                raise _ParseError(f"Can't find end of {kind} entity at byte offset {boff}")
            body = text[i + len(fence):end]
            entity: dict[str, Any] = {"type": "pre" if fence == "```" else "code"}
            if fence == "```":
                first, nl, rest = body.partition("\n")
                if nl and first and not any(ch.isspace() for ch in first):
                    entity["language"] = first
                    body = rest
            start = out.pos
            out.add(_md2_unescape(body))
            entity.update(offset=start, length=out.pos - start)
            entities.append(entity)
            i = end + len(fence)
            continue
        if c == "[":
            stack.append(("[", out.pos, boff))
            i += 1
            continue
        if c == "]" and stack and stack[-1][0] == "[":
            _, start, _ = stack.pop()
            url = ""
            if i + 1 < n and text[i + 1] == "(":
                end = _md_find(text, i + 2, ")")
                if end < 0:
                    raise _ParseError(f"Can't find end of a URL at byte offset {boff + 1}")
                url = _md2_unescape(text[i + 2:end])
                i = end + 1
            else:
                i += 1
            if url and out.pos > start:
                entities.append({"type": "text_link", "offset": start,
                                 "length": out.pos - start, "url": url})
            continue
        if c == ">" and (i == 0 or text[i - 1] == "\n"):        # block quote marker
            i += 1
            continue
        marker = None
        if c == "_":
            marker = "__" if text.startswith("__", i) else "_"
        elif c == "|" and text.startswith("||", i):
            marker = "||"
        elif c in "*~":
            marker = c
        if marker is None:
            raise _ParseError(f"Character '{c}' is reserved and must be escaped with the "
                              f"preceding '\\'")
        for k in range(len(stack) - 1, -1, -1):
            if stack[k][0] == marker:
                _, start, _ = stack.pop(k)
                entities.append({"type": _MD2_MARKERS[marker][0], "offset": start,
                                 "length": out.pos - start})
                break
        else:
            stack.append((marker, out.pos, boff))
        i += len(marker)
    if stack:
        marker, _, boff = stack[-1]
        kind = "TextUrl" if marker == "[" else _MD2_MARKERS[marker][1]
        raise _ParseError(f"Can't find end of {kind} entity at byte offset {boff}")
    return out.text(), _sorted_entities(entities)


def _parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Legacy ``Markdown``: *bold* _italic_ `code` ```pre``` [text](url)."""
    out = _Out()
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)
    kinds = {"*": "bold", "_": "italic", "`": "code"}
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            j = i + 1
            while j < n and text[j] not in "_*`[\\":
                j += 1
            out.add(text[i:j])
            i = j
            continue
        error = f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}"
        start = out.pos
        if c == "[":
            end = text.find("]", i + 1)
            if end < 0:
                raise _ParseError(error)
            label, url, i = text[i + 1:end], "", end + 1
            if text.startswith("(", i):
                close = text.find(")", i + 1)
                if close < 0:
                    raise _ParseError(error)
                url, i = text[i + 1:close], close + 1
            out.add(label)
            if url and label:
                entities.append({"type": "text_link", "offset": start,
                                 "length": out.pos - start, "url": url})
            continue
        fence = "```" if text.startswith("```", i) else c
        end = text.find(fence, i + len(fence))
        if end < 0:
            raise _ParseError(error)
        out.add(text[i + len(fence):end])
        entities.append({"type": "pre" if fence == "```" else kinds[c], "offset": start,
                         "length": out.pos - start})
        i = end + len(fence)
    return out.text(), _sorted_entities(entities)


# --------------------------------------------------------------------------------------------
# Request parsing
# --------------------------------------------------------------------------------------------


def _decode_param(name: str, raw: str) -> Any:
    """Undo PTB's encoding: strings verbatim, everything else JSON."""
    if name in _STRING_PARAMS:
        return raw
    if name in _CHAT_ID_PARAMS:
        try:
            return int(raw)
        except ValueError:
            return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


_DISPOSITION_PARAM_RE = re.compile(r';\s*([\w*.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def _unquote_form_value(raw: str) -> str:
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        raw = raw[1:-1]
        # httpx / browsers (HTML5 form encoding): '"' -> %22, control chars -> %XX, '\' -> '\\'
        raw = re.sub(r"%(22|[01][0-9A-Fa-f])", lambda m: chr(int(m.group(1), 16)), raw)
        raw = raw.replace("\\\\", "\\").replace('\\"', '"')
    return raw


def _parse_multipart(body: bytes, boundary: bytes
                     ) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for part in body.split(b"--" + boundary)[1:]:
        if part.startswith(b"--"):
            break
        if part.startswith(b"\r\n"):
            part = part[2:]
        if part.endswith(b"\r\n"):
            part = part[:-2]
        head, _, data = part.partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition: dict[str, str] = {}
        for key, value in _DISPOSITION_PARAM_RE.findall(
                ";" + headers.get("content-disposition", "").partition(";")[2]):
            key = key.lower()
            if key.endswith("*"):                                  # RFC 5987: UTF-8''%E5…
                key, value = key[:-1], unquote(value.split("'", 2)[-1])
            else:
                value = _unquote_form_value(value.strip())
            disposition.setdefault(key, value)
        name = disposition.get("name", "")
        if "filename" in disposition or "content-type" in headers:
            files[name] = UploadedFile(name, disposition.get("filename"),
                                       headers.get("content-type"), data)
        else:
            fields[name] = data.decode("utf-8", "replace")
    return fields, files


def _parse_request(content_type: str, body: bytes, query: str
                   ) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    raw: dict[str, str] = dict(parse_qsl(query, keep_blank_values=True))
    params: dict[str, Any] = {}
    files: dict[str, UploadedFile] = {}
    ctype = content_type.lower()
    if body and ctype.startswith("multipart/form-data"):
        match = re.search(r'boundary="?([^";]+)"?', content_type, re.IGNORECASE)
        if not match:
            raise _bad("multipart request without boundary")
        fields, files = _parse_multipart(body, match.group(1).encode("latin-1"))
        raw.update(fields)
    elif body and ctype.startswith("application/json"):
        try:
            decoded = json.loads(body)
        except ValueError as exc:
            raise _bad(f"can't parse JSON body: {exc}") from None
        if not isinstance(decoded, dict):
            raise _bad("JSON body must be an object")
        params.update(decoded)
    elif body:
        raw.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    for name, value in raw.items():
        params.setdefault(name, _decode_param(name, value))
    return params, files


# --------------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------------

#: Bot API method name -> handler attribute.  Lookup is case-insensitive, like Telegram's.
_API_METHODS = {
    "getMe": "_api_get_me", "logOut": "_api_true", "close": "_api_true",
    "getUpdates": "_api_get_updates", "setWebhook": "_api_set_webhook",
    "deleteWebhook": "_api_delete_webhook", "getWebhookInfo": "_api_get_webhook_info",
    "sendMessage": "_api_send_message", "sendDocument": "_api_send_document",
    "editMessageText": "_api_edit_message_text",
    "editMessageCaption": "_api_edit_message_caption",
    "editMessageReplyMarkup": "_api_edit_message_reply_markup",
    "deleteMessage": "_api_delete_message", "deleteMessages": "_api_delete_messages",
    "answerCallbackQuery": "_api_answer_callback_query", "getFile": "_api_get_file",
    "sendChatAction": "_api_send_chat_action", "setMyCommands": "_api_set_my_commands",
    "deleteMyCommands": "_api_delete_my_commands", "getMyCommands": "_api_get_my_commands",
    "setChatMenuButton": "_api_set_chat_menu_button",
    "getChatMenuButton": "_api_get_chat_menu_button",
    "setMyName": "_api_set_my_name", "setMyDescription": "_api_set_my_description",
    "setMyShortDescription": "_api_set_my_short_description", "getMyName": "_api_get_my_name",
    "getMyDescription": "_api_get_my_description",
    "getMyShortDescription": "_api_get_my_short_description",
    "getChat": "_api_get_chat", "getChatMember": "_api_get_chat_member",
    "getChatAdministrators": "_api_get_chat_administrators",
    "pinChatMessage": "_api_chat_true", "unpinChatMessage": "_api_chat_true",
    "leaveChat": "_api_chat_true",
}


class FakeBotAPI(EmulatorServer):
    """The emulator.  See the module docstring for an overview.

    Thread-safe: all state is guarded by one re-entrant lock, whose condition variable is
    notified on every change (used by long polls and the ``wait_*`` helpers).
    """

    def __init__(self, token: str = "123456:TEST-fake-token",
                 bot_username: str = "shuangsui_test_bot", *,
                 bot_first_name: str = "双随机测试机器人", host: str = "127.0.0.1", port: int = 0,
                 strict: bool = True, http_webhooks: bool = False, webhook_retry_delay: float = 0.25,
                 webhook_timeout: float = 60.0):
        self.token = token
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        prefix = token.split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 123456
        self.strict = strict
        self._init_server(host, port, _Handler)
        self._cond = threading.Condition(threading.RLock())
        self._stopping = False
        self._connections: set[socket.socket] = set()
        self._active_requests = 0
        self._methods = {name.lower(): (name, getattr(self, attr))
                         for name, attr in _API_METHODS.items()}

        self._calls: list[Call] = []
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._poll_generation = 0
        self._users: dict[int, FakeUser] = {}
        self._chats: dict[int, FakeChat] = {}
        self._chat_messages: dict[int, dict[int, dict[str, Any]]] = {}
        self._next_message_id: dict[int, int] = {}
        self._bot_messages: dict[int, list[BotMessage]] = {}
        self._bot_message_index: dict[tuple[int, int], BotMessage] = {}
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._file_seq = itertools.count(1)
        self._callback_seq = itertools.count(1)
        self._callbacks: dict[str, dict[str, Any]] = {}
        self._faults: list[dict[str, Any]] = []
        self._delays: list[dict[str, Any]] = []
        self._in_flight: dict[str, int] = {}
        self._blocked: set[int] = set()
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}
        self._bot_texts: dict[tuple[str, str], str] = {}
        self.webhook_url = ""                       #: set by setWebhook
        self.webhook_params: dict[str, Any] = {}
        self.http_webhooks = http_webhooks
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        self._webhook_deliveries: list[WebhookDelivery] = []
        self._webhook_error: tuple[int, str] | None = None   # (unix time, message) of the last failure
        self._webhook_retry_at = 0.0
        self._webhook_thread: threading.Thread | None = None
        self.internal_errors: list[str] = []        #: tracebacks of emulator bugs (HTTP 500)

    # -- lifecycle --------------------------------------------------------------------------

    # start(), stop(), `with` and `url` (``http://host:port``): EmulatorServer.  Stopping also ends pending long
    # polls and closes open connections.

    def _on_start(self) -> None:
        self._webhook_thread = threading.Thread(target=self._webhook_loop, daemon=True,
                                                name=f"FakeBotAPI:{self._port}:webhook")
        self._webhook_thread.start()

    def _on_stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def _on_http_shutdown(self) -> None:
        with self._cond:              # let in-flight answers (e.g. ended long polls) go out first
            self._cond.wait_for(lambda: self._active_requests == 0, timeout=2)
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _on_stopped(self) -> None:
        if self._webhook_thread is not None:   # a POST in flight ends within webhook_timeout
            self._webhook_thread.join(5)

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def _track_connection(self, conn: socket.socket, opened: bool) -> None:
        with self._cond:
            if opened:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _track_request(self, delta: int) -> None:
        with self._cond:
            self._active_requests += delta
            self._cond.notify_all()

    # -- simulated people -------------------------------------------------------------------

    def user(self, user_id: int, first_name: str | None = None, *, last_name: str | None = None,
             username: str | None = None, language_code: str | None = None,
             is_bot: bool = False) -> FakeUser:
        """The simulated user with this id (created on first use; given fields are updated)."""
        with self._cond:
            u = self._users.get(user_id)
            if u is None:
                u = FakeUser(self, user_id, first_name or f"User{user_id}", last_name=last_name,
                             username=username, language_code=language_code, is_bot=is_bot)
                self._users[user_id] = u
                self._chats[user_id] = u.chat
                return u
            if first_name is not None:
                u.first_name = first_name
            for key, value in (("last_name", last_name), ("username", username),
                               ("language_code", language_code)):
                if value is not None:
                    setattr(u, key, value)
            return u

    def group(self, chat_id: int, title: str | None = None, *, chat_type: str | None = None,
              username: str | None = None) -> FakeChat:
        """A group chat; ids starting with -100 are supergroups unless ``chat_type`` says so."""
        with self._cond:
            chat = self._chats.get(chat_id)
            if chat is None:
                if chat_type is None:
                    chat_type = "supergroup" if str(chat_id).startswith("-100") else "group"
                chat = FakeChat(self, chat_id, chat_type, title=title or f"Group {chat_id}",
                                username=username)
                self._chats[chat_id] = chat
            elif title is not None:
                chat.title = title
            return chat

    def push_update(self, payload: dict[str, Any]) -> int:
        """Queue a raw update (e.g. ``{"my_chat_member": {...}}``); returns its update_id."""
        with self._cond:
            return self._enqueue(copy.deepcopy(payload))

    # -- inspection -------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """A snapshot of all recorded calls, in the order they were answered."""
        with self._cond:
            return list(self._calls)

    def calls_to(self, *methods: str) -> list[Call]:
        """Recorded calls of the given methods (case-insensitive)."""
        wanted = {m.lower() for m in methods}
        with self._cond:
            return [c for c in self._calls if c.method.lower() in wanted]

    def sent_to(self, chat: FakeChat | FakeUser | int, *,
                include_deleted: bool = True) -> list[BotMessage]:
        """Bot messages (sendMessage/sendDocument) in a chat, in order, as they look now."""
        with self._cond:
            messages = list(self._bot_messages.get(_id_of(chat), []))
        return messages if include_deleted else [m for m in messages if not m.deleted]

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by a getUpdates offset."""
        with self._cond:
            return copy.deepcopy(self._updates)

    @property
    def last_update_id(self) -> int:
        """The id of the newest update queued so far (0 before the first): ids run from 1 to it."""
        with self._cond:
            return self._next_update_id - 1

    def pending_senders(self) -> set[int]:
        """Ids of the users with an update not yet confirmed (cheap: no copies; for load drivers)."""
        with self._cond:
            out = set()
            for u in self._updates:
                body = u.get("message") or u.get("callback_query") or {}
                sender = (body.get("from") or {}).get("id")
                if sender is not None:
                    out.add(sender)
            return out

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every POST of an update to a webhook so far, in order (failed attempts included)."""
        with self._cond:
            return list(self._webhook_deliveries)

    def file_bytes(self, file_id: str) -> bytes:
        with self._cond:
            return self._files[file_id].data

    def callback_answer(self, query_id: str) -> dict[str, Any] | None:
        """The answerCallbackQuery parameters for a press, or ``None`` while unanswered."""
        with self._cond:
            return copy.deepcopy(self._callbacks[query_id]["answer"])

    def commands(self, scope: dict[str, Any] | None = None,
                 language_code: str = "") -> list[dict[str, Any]]:
        """The commands set with setMyCommands for this scope and language."""
        with self._cond:
            return copy.deepcopy(self._commands.get(_scope_key(scope, language_code), []))

    def menu_button(self, chat_id: int | None = None) -> dict[str, Any] | None:
        with self._cond:
            return copy.deepcopy(self._menu_buttons.get(chat_id))

    # -- waiting ----------------------------------------------------------------------------

    # wait_reply / wait_reply_async(chat: FakeChat | FakeUser | int, after=0) -> BotMessage: Waiting.

    def _replies_in(self, chat: FakeChat | FakeUser | int) -> Any:
        chat_id = _id_of(chat)
        return lambda e: e._bot_messages[chat_id]

    def dump(self, last: int = 25) -> str:
        """A human-readable summary of recent activity (used in timeout errors)."""
        with self._cond:
            polls = sum(1 for c in self._calls if c.method == "getUpdates")
            calls = [c for c in self._calls if c.method != "getUpdates"][-last:]
            lines = [f"FakeBotAPI at {self.url}: {len(self._updates)} pending update(s), "
                     f"next update_id {self._next_update_id}, {polls} getUpdates call(s)"]
            if self.webhook_url:
                failed = sum(1 for d in self._webhook_deliveries if not d.ok)
                lines.append(f"webhook {self.webhook_url}: {len(self._webhook_deliveries)} POST(s), "
                             f"{failed} failed; last error: {self._webhook_error}")
            lines.append(f"last {len(calls)} other call(s):")
            lines += [f"  {c.summary()}" for c in calls] or ["  (none)"]
            if self.internal_errors:
                lines.append("EMULATOR INTERNAL ERRORS:")
                lines += self.internal_errors[-3:]
        return "\n".join(lines)

    # -- fault injection --------------------------------------------------------------------

    def fail(self, method: str, status: int = 429, *, retry_after: int | None = None,
             times: int | None = 1, description: str | None = None,
             chat_id: FakeChat | FakeUser | int | None = None) -> None:
        """Make the next ``times`` calls of ``method`` ("*" = any) fail with ``status``.

        ``times=None`` fails until :meth:`clear_faults`.  429 carries ``retry_after`` (default 1);
        ``chat_id`` restricts the fault to calls for that chat.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = {
                400: "Bad Request: injected failure", 403: "Forbidden: bot was blocked by the user",
                409: "Conflict: injected failure",
                429: f"Too Many Requests: retry after {retry_after}",
                500: "Internal Server Error", 502: "Bad Gateway",
            }.get(status, f"Injected error {status}")
        with self._cond:
            self._faults.append({"method": method.lower(), "status": status,
                                 "retry_after": retry_after, "times": times,
                                 "description": description,
                                 "chat_id": None if chat_id is None else _id_of(chat_id)})

    def delay(self, method: str, seconds: float, *, times: int | None = None,
              chat_id: FakeChat | FakeUser | int | None = None) -> None:
        """Delay each call of ``method`` ("*" = any) by ``seconds`` (``times=None``: always);
        ``chat_id`` restricts it to calls for that chat."""
        with self._cond:
            self._delays.append({"method": method.lower(), "seconds": seconds, "times": times,
                                 "chat_id": None if chat_id is None else _id_of(chat_id)})

    def in_flight(self, method: str) -> int:
        """How many calls of ``method`` are being answered right now (e.g. held by :meth:`delay`):
        to kill the bot in the middle of one."""
        with self._cond:
            return self._in_flight.get(method.lower(), 0)

    def clear_faults(self) -> None:
        """Remove all pending failures and delays."""
        with self._cond:
            self._faults.clear()
            self._delays.clear()

    def block(self, chat: FakeChat | FakeUser | int) -> None:
        """The user blocked the bot (or the bot was kicked from the group): sends get 403.

        A private chat is unblocked again when the user sends a message, like on Telegram.
        """
        with self._cond:
            self._blocked.add(_id_of(chat))

    def unblock(self, chat: FakeChat | FakeUser | int) -> None:
        with self._cond:
            self._blocked.discard(_id_of(chat))

    @staticmethod
    def _take(rules: list[dict[str, Any]], method: str,
              chat_id: Any = None) -> dict[str, Any] | None:
        return take_rule(rules, lambda rule: rule["method"] in ("*", method.lower())
                         and (rule.get("chat_id") is None or rule["chat_id"] == chat_id))

    # -- user side --------------------------------------------------------------------------

    def _chat_for(self, user: FakeUser, chat: FakeChat | int | None) -> FakeChat:
        if chat is None:
            return user.chat
        chat_id = _id_of(chat)
        found = self._chats.get(chat_id)
        if found is None:
            found = self.group(chat_id) if chat_id < 0 else self.user(chat_id).chat
        return found

    def _alloc_message_id(self, chat_id: int) -> int:
        mid = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = mid + 1
        return mid

    def _enqueue(self, payload: dict[str, Any]) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append({"update_id": update_id, **payload})
        self._cond.notify_all()
        return update_id

    def _reply_snapshot(self, chat_id: int, reply_to: Any) -> dict[str, Any] | None:
        if reply_to is None:
            return None
        if isinstance(reply_to, BotMessage):
            mid = reply_to.message_id
        elif isinstance(reply_to, dict):
            mid = reply_to["message_id"]
        else:
            mid = int(getattr(reply_to, "message_id", reply_to))
        target = self._chat_messages.get(chat_id, {}).get(mid)
        if target is None:
            raise LookupError(f"no message {mid} in chat {chat_id} to reply to")
        snapshot = copy.deepcopy(target)
        snapshot.pop("reply_to_message", None)
        return snapshot

    def _user_message(self, user: FakeUser, chat: FakeChat | int | None, content: dict[str, Any],
                      reply_to: Any = None) -> dict[str, Any]:
        with self._cond:
            target = self._chat_for(user, chat)
            if target.type == "private":
                self._blocked.discard(target.id)       # writing to the bot unblocks it
            msg: dict[str, Any] = {"message_id": self._alloc_message_id(target.id),
                                   "from": user.json(), "chat": target.json(),
                                   "date": int(time.time()), **content}
            snapshot = self._reply_snapshot(target.id, reply_to)
            if snapshot is not None:
                msg["reply_to_message"] = snapshot
            self._chat_messages.setdefault(target.id, {})[msg["message_id"]] = msg
            self._enqueue({"message": copy.deepcopy(msg)})
            return copy.deepcopy(msg)

    def _store_file(self, data: bytes, file_name: str | None, mime_type: str | None,
                    folder: str = "documents") -> _StoredFile:
        n = next(self._file_seq)
        ext = os.path.splitext(file_name or "")[1]
        stored = _StoredFile(file_id=f"BQACAgUAAxkBAAI{n:05d}x{self.bot_id}",
                             file_unique_id=f"AgADfake{n:05d}", file_path=f"{folder}/file_{n}{ext}",
                             data=data, file_name=file_name, mime_type=mime_type)
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _user_document(self, user: FakeUser, chat: FakeChat | int | None, data: bytes,
                       filename: str, caption: str | None, mime_type: str | None
                       ) -> dict[str, Any]:
        with self._cond:
            mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
            stored = self._store_file(data, filename, mime)
            content: dict[str, Any] = {"document": stored.document_json()}
            if caption:
                content["caption"] = caption
                entities = _command_entities(caption)
                if entities:
                    content["caption_entities"] = entities
            return self._user_message(user, chat, content)

    def _resolve_bot_message(self, message: Any, chat: Any) -> BotMessage:
        if isinstance(message, BotMessage):
            return message
        if isinstance(message, dict):
            key = (message["chat"]["id"], message["message_id"])
        elif hasattr(message, "message_id") and hasattr(message, "chat_id"):
            key = (message.chat_id, message.message_id)            # a telegram.Message
        else:
            key = (_id_of(chat), int(message))
        found = self._bot_message_index.get(key)
        if found is None:
            raise LookupError(f"the bot sent no message {key[1]} in chat {key[0]}")
        return found

    def _press(self, user: FakeUser, message: Any, chat: FakeChat | int | None, *,
               text: str | None = None, data: str | None = None) -> str:
        with self._cond:
            bm = self._resolve_bot_message(message, user.id if chat is None else chat)
            if bm.deleted:
                raise LookupError(f"message {bm.message_id} in chat {bm.chat_id} was deleted")
            if text is not None:
                button = bm.find_button(text)
                if "callback_data" not in button:
                    raise LookupError(f"button {button.get('text')!r} has no callback_data: "
                                      f"{button}")
                data = button["callback_data"]
            query_id = str(4_000_000_000_000 + next(self._callback_seq))
            query = {"id": query_id, "from": user.json(), "message": copy.deepcopy(bm.raw),
                     "chat_instance": str(abs(bm.chat_id) * 7 + 1_000_003), "data": data}
            self._callbacks[query_id] = {"query": query, "answer": None}
            self._enqueue({"callback_query": copy.deepcopy(query)})
            return query_id

    # -- HTTP entry points ------------------------------------------------------------------

    def _handle_api(self, token: str, method: str, params: dict[str, Any],
                    files: dict[str, UploadedFile]) -> tuple[int, dict[str, Any]]:
        call = Call(method=method, params=params, time=time.time(), files=files)
        try:
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            canonical, handler = self._methods.get(method.lower(), (method, None))
            call.method = canonical
            if handler is None:
                raise ApiError(404, f"Not Found: method {method!r} is not implemented by "
                                    f"FakeBotAPI")
            chat_id = params.get("chat_id")
            with self._cond:
                # Both taken on arrival: a delay and a fault set together hit the same call.
                delay = self._take(self._delays, canonical, chat_id)
                fault = self._take(self._faults, canonical, chat_id)
                self._in_flight[canonical.lower()] = self._in_flight.get(canonical.lower(), 0) + 1
            try:
                if delay:
                    time.sleep(delay["seconds"])
                with self._cond:
                    if fault:
                        raise ApiError(fault["status"], fault["description"],
                                       retry_after=fault["retry_after"] if fault["status"] == 429
                                       else None)
                    result = handler(params, files)
            finally:
                with self._cond:
                    self._in_flight[canonical.lower()] -= 1
            call.result = result
            status, body = 200, {"ok": True, "result": result}
        except ApiError as exc:
            call.error = exc.description
            status, body = exc.status, exc.payload()
        except Exception as exc:  # noqa: BLE001 - report emulator bugs to the client and tests
            _LOG.exception("FakeBotAPI failed on %s", method)
            with self._cond:
                self.internal_errors.append(traceback.format_exc())
            call.error = f"Internal Server Error: {exc!r}"
            status, body = 500, {"ok": False, "error_code": 500, "description": call.error}
        call.status = status
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()
        return status, body

    def _handle_download(self, token: str, file_path: str) -> tuple[int, bytes, str]:
        call = Call(method="downloadFile", params={"file_path": file_path}, time=time.time())
        with self._cond:
            stored = self._files_by_path.get(file_path) if token == self.token else None
            if token != self.token:
                call.status, call.error = 401, "Unauthorized"
            elif stored is None:
                call.status, call.error = 404, "Not Found"
            self._calls.append(call)
            self._cond.notify_all()
        if stored is None:
            body = json.dumps({"ok": False, "error_code": call.status,
                               "description": call.error}).encode()
            return call.status, body, "application/json"
        return 200, stored.data, stored.mime_type or "application/octet-stream"

    def _handle_control(self, name: str, data: dict[str, Any]) -> Any:
        def user() -> FakeUser:
            return self.user(int(data["user_id"]), data.get("first_name"),
                             last_name=data.get("last_name"), username=data.get("username"),
                             language_code=data.get("language_code"))

        def chat() -> FakeChat | None:
            if data.get("chat_id") in (None, ""):
                return None
            chat_id = int(data["chat_id"])
            if chat_id < 0:
                return self.group(chat_id, data.get("chat_title"))
            return self.user(chat_id).chat

        if name == "send":
            return user().send(str(data["text"]), chat=chat())
        if name == "send_document":
            return user().send_document(base64.b64decode(data["data_base64"]),
                                        filename=data.get("filename", "document.bin"),
                                        caption=data.get("caption"), chat=chat())
        if name == "press":
            target = chat() or user().chat
            if data.get("text") is not None:
                return user().press(int(data["message_id"]), str(data["text"]), chat=target)
            return user().press_data(int(data["message_id"]), str(data["data"]), chat=target)
        if name == "fail":
            self.fail(str(data["method"]), int(data.get("status", 429)),
                      retry_after=data.get("retry_after"), times=data.get("times", 1),
                      description=data.get("description"), chat_id=data.get("chat_id"))
            return True
        if name == "calls":
            return [c.to_json() for c in self.calls[int(data.get("since", 0)):]]
        if name == "sent":
            return [m.to_json() for m in self.sent_to(int(data["chat_id"]))]
        if name == "updates":
            return self.pending_updates()
        raise KeyError(f"unknown control endpoint {name!r}")

    # -- Bot API helpers --------------------------------------------------------------------

    def _bot_json(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": self.bot_first_name,
                "username": self.bot_username}

    def _chat(self, params: dict[str, Any], *, check_blocked: bool = True) -> FakeChat:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise _bad("chat_id is empty")
        chat = None
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            name = chat_id[1:].lower()
            chat = next((c for c in self._chats.values()
                         if (c.username or (c.user.username if c.user else None) or "").lower()
                         == name), None)
        elif isinstance(chat_id, int) or str(chat_id).lstrip("-").isdigit():
            chat = self._chats.get(int(chat_id))
        if chat is None:
            raise _bad("chat not found")
        if check_blocked and chat.id in self._blocked:
            if chat.type == "private":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            raise ApiError(403, f"Forbidden: bot was kicked from the {chat.type} chat")
        return chat

    def _format(self, text: str, parse_mode: Any,
                entities: Any) -> tuple[str, list[dict[str, Any]]]:
        if not parse_mode:
            return text, list(entities or [])
        parsers = {"html": _parse_html, "markdownv2": _parse_markdown_v2,
                   "markdown": _parse_markdown}
        parser = parsers.get(str(parse_mode).lower())
        if parser is None:
            raise _bad(f"unsupported parse_mode {parse_mode!r}")
        try:
            return parser(text)
        except _ParseError as exc:
            if not self.strict:
                return text, []
            raise _bad(f"can't parse entities: {exc}") from None

    def _check_markup(self, markup: Any) -> dict[str, Any] | None:
        """Validate reply_markup; returns the inline keyboard to store on the message, if any."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad("can't parse inline keyboard button: field \"inline_keyboard\" must be an "
                       "Array of Array")
        if self.strict:
            for button in (b for row in rows for b in row):
                if not isinstance(button, dict) or not button.get("text"):
                    raise _bad("can't parse inline keyboard button: Text buttons are unallowed "
                               "in the inline keyboard")
                if not any(key in button for key in _INLINE_BUTTON_ACTIONS):
                    raise _bad("can't parse inline keyboard button: Text buttons are unallowed "
                               "in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                    raise _bad("BUTTON_DATA_INVALID")
                url = button.get("url")
                if url is not None and not re.match(r"(?i)(https?|tg)://\S", str(url)):
                    raise _bad("inline keyboard button URL '%s' is invalid: Wrong HTTP URL" % url)
        return copy.deepcopy(markup) if any(rows) else None

    def _reply_target(self, chat: FakeChat, params: dict[str, Any]) -> dict[str, Any] | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            mid, allow = reply.get("message_id"), reply.get("allow_sending_without_reply")
            if reply.get("chat_id") not in (None, chat.id):
                return None                                     # cross-chat quote: not emulated
        else:
            mid = params.get("reply_to_message_id")
            allow = params.get("allow_sending_without_reply")
        if mid is None:
            return None
        target = self._chat_messages.get(chat.id, {}).get(int(mid))
        if target is None:
            if allow:
                return None
            raise _bad("message to be replied not found")
        snapshot = copy.deepcopy(target)
        snapshot.pop("reply_to_message", None)
        return snapshot

    def _deliver(self, chat: FakeChat, method: str, params: dict[str, Any],
                 content: dict[str, Any], *, source_text: str | None,
                 data: bytes | None = None, filename: str | None = None) -> dict[str, Any]:
        markup = self._check_markup(params.get("reply_markup"))
        reply = self._reply_target(chat, params)
        raw: dict[str, Any] = {"message_id": self._alloc_message_id(chat.id),
                               "from": self._bot_json(), "chat": chat.json(),
                               "date": int(time.time()), **content}
        if reply is not None:
            raw["reply_to_message"] = reply
        if markup is not None:
            raw["reply_markup"] = markup
        message = BotMessage(raw, method, params, source_text,
                             copy.deepcopy(params.get("reply_markup")), data, filename)
        self._chat_messages.setdefault(chat.id, {})[raw["message_id"]] = raw
        self._bot_messages.setdefault(chat.id, []).append(message)
        self._bot_message_index[(chat.id, raw["message_id"])] = message
        return copy.deepcopy(raw)

    def _formatted(self, params: dict[str, Any], key: str, entities_key: str, limit: int,
                   too_long: str) -> dict[str, Any]:
        text = params.get(key)
        if text is None or text == "":
            return {}
        plain, entities = self._format(str(text), params.get("parse_mode"),
                                       params.get(entities_key))
        if self.strict and _utf16_len(plain) > limit:
            raise _bad(too_long)
        content: dict[str, Any] = {key: plain}
        if entities:
            content[entities_key] = entities
        return content

    def _editable(self, params: dict[str, Any]) -> BotMessage:
        if params.get("inline_message_id"):
            raise _bad("inline messages are not emulated")
        chat = self._chat(params)
        try:
            mid = int(params.get("message_id"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise _bad("message identifier is not specified") from None
        message = self._bot_message_index.get((chat.id, mid))
        if message is None or message.deleted:
            if mid in self._chat_messages.get(chat.id, {}):
                raise _bad("message can't be edited")
            raise _bad("message to edit not found")
        return message

    def _apply_edit(self, message: BotMessage, method: str, params: dict[str, Any],
                    changes: dict[str, Any], removed: tuple[str, ...]) -> dict[str, Any]:
        raw = message.raw
        markup = self._check_markup(params.get("reply_markup"))
        new = {k: v for k, v in raw.items() if k not in removed and k != "reply_markup"}
        new.update(changes)
        if markup is not None:
            new["reply_markup"] = markup
        comparable = ("text", "entities", "caption", "caption_entities", "reply_markup")
        if all(new.get(k) == raw.get(k) for k in comparable):
            raise _bad(_MSG_NOT_MODIFIED)
        new["edit_date"] = int(time.time())
        raw.clear()
        raw.update(new)
        message.edits.append((method, params))
        return copy.deepcopy(raw)

    # -- Bot API methods (called with the lock held) ----------------------------------------

    def _api_true(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        return True

    def _api_chat_true(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        self._chat(params, check_blocked=False)
        return True

    def _api_get_me(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> dict:
        return {**self._bot_json(), "can_join_groups": True,
                "can_read_all_group_messages": False, "supports_inline_queries": False,
                "can_connect_to_business": False, "has_main_web_app": False}

    def _api_get_updates(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> list:
        if self.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = params.get("offset")
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = max(0.0, float(params.get("timeout") or 0))
        if offset is not None:
            offset = int(offset)
            if offset < 0:
                del self._updates[:offset]
            else:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        self._cond.notify_all()
        deadline = time.monotonic() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, "Conflict: terminated by other getUpdates request; make sure "
                                    "that only one bot instance is running")
            remaining = deadline - time.monotonic()
            if self._updates or self._stopping or remaining <= 0:
                break
            self._cond.wait(remaining)
        return copy.deepcopy(self._updates[:limit])

    def _api_set_webhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        url = params.get("url") or ""
        scheme = urlsplit(url).scheme.lower()
        if url and not (scheme == "https" or (scheme == "http" and self.http_webhooks)) and self.strict:
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN_RE.fullmatch(str(secret)):
            raise _bad("secret token contains unallowed characters")
        self.webhook_url = url
        self.webhook_params = dict(params) if url else {}
        self._webhook_error = None
        self._webhook_retry_at = 0.0
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._poll_generation += 1       # an active long poll is terminated (409)
        self._cond.notify_all()
        return True

    def _api_delete_webhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        self.webhook_url = ""
        self.webhook_params = {}
        self._webhook_error = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._cond.notify_all()
        return True

    def _api_get_webhook_info(self, params: dict[str, Any],
                              files: dict[str, UploadedFile]) -> dict:
        info: dict[str, Any] = {"url": self.webhook_url, "has_custom_certificate": False,
                                "pending_update_count": len(self._updates)}
        if self.webhook_params.get("allowed_updates"):
            info["allowed_updates"] = self.webhook_params["allowed_updates"]
        if self.webhook_url:
            info["max_connections"] = int(self.webhook_params.get("max_connections") or 40)
        if self._webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    # -- webhook delivery -------------------------------------------------------------------

    def _webhook_loop(self) -> None:
        """The delivery thread: POST the oldest pending update while a webhook is set."""
        while True:
            with self._cond:
                while not self._stopping:
                    wait = self._webhook_retry_at - time.monotonic()
                    if self.webhook_url and self._updates and wait <= 0:
                        break
                    self._cond.wait(wait if self.webhook_url and self._updates else 0.5)
                if self._stopping:
                    return
                update = copy.deepcopy(self._updates[0])
                url = self.webhook_url
                secret = self.webhook_params.get("secret_token")
            delivery = self._post_update(url, secret, update)
            with self._cond:
                self._webhook_deliveries.append(delivery)
                if delivery.ok:
                    self._updates = [u for u in self._updates
                                     if u["update_id"] != update["update_id"]]
                elif url == self.webhook_url:
                    self._webhook_error = (int(time.time()), delivery.error or "")
                    self._webhook_retry_at = time.monotonic() + self.webhook_retry_delay
                self._cond.notify_all()

    def _post_update(self, url: str, secret: Any, update: dict[str, Any]) -> WebhookDelivery:
        headers = {"Content-Type": "application/json"}
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(secret)
        delivery = WebhookDelivery(update_id=update["update_id"], url=url, headers=headers,
                                   time=time.time())
        body = json.dumps(update, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with _DIRECT.open(request, timeout=self.webhook_timeout) as answer:
                answer.read()
                delivery.status = answer.status
        except urllib.error.HTTPError as exc:
            delivery.status = exc.code
            delivery.error = f"Wrong response from the webhook: {exc.code} {exc.reason}"
        except (OSError, http.client.HTTPException) as exc:   # refused, reset, timed out
            delivery.error = f"Connection failed: {exc!r}"
        return delivery

    def _api_send_message(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> dict:
        chat = self._chat(params)
        content = self._formatted(params, "text", "entities", 4096, "message is too long")
        if not content.get("text", "").strip():
            raise _bad("message text is empty")
        return self._deliver(chat, "sendMessage", params, content,
                             source_text=str(params.get("text")))

    def _api_send_document(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> dict:
        chat = self._chat(params)
        ref = params.get("document")
        upload = files.get("document")
        if upload is None and isinstance(ref, str) and ref.startswith("attach://"):
            upload = files.get(ref[len("attach://"):])
        if upload is not None:
            if not upload.data:
                raise _bad("file must be non-empty")
            mime = upload.content_type or mimetypes.guess_type(upload.filename or "")[0]
            stored = self._store_file(upload.data, upload.filename, mime)
        elif isinstance(ref, str) and ref in self._files:
            stored = self._files[ref]
        elif isinstance(ref, str) and ref.lower().startswith(("http://", "https://")):
            name = os.path.basename(urlsplit(ref).path) or "file"
            stored = self._store_file(b"", name, mimetypes.guess_type(name)[0])
        elif not ref:
            raise _bad("there is no document in the request")
        else:
            raise _bad("wrong file identifier/HTTP URL specified")
        content: dict[str, Any] = {"document": stored.document_json()}
        content.update(self._formatted(params, "caption", "caption_entities", 1024,
                                       "message caption is too long"))
        return self._deliver(chat, "sendDocument", params, content,
                             source_text=params.get("caption"), data=stored.data,
                             filename=stored.file_name)

    def _api_edit_message_text(self, params: dict[str, Any],
                               files: dict[str, UploadedFile]) -> dict:
        message = self._editable(params)
        if "text" not in message.raw:
            raise _bad("there is no text in the message to edit")
        content = self._formatted(params, "text", "entities", 4096, "message is too long")
        if not content.get("text", "").strip():
            raise _bad("message text is empty")
        message.source_text = str(params.get("text"))
        return self._apply_edit(message, "editMessageText", params, content, ("entities",))

    def _api_edit_message_caption(self, params: dict[str, Any],
                                  files: dict[str, UploadedFile]) -> dict:
        message = self._editable(params)
        if "text" in message.raw:
            raise _bad("there is no caption in the message to edit")
        content = self._formatted(params, "caption", "caption_entities", 1024,
                                  "message caption is too long")
        message.source_text = params.get("caption")
        return self._apply_edit(message, "editMessageCaption", params, content,
                                ("caption", "caption_entities"))

    def _api_edit_message_reply_markup(self, params: dict[str, Any],
                                       files: dict[str, UploadedFile]) -> dict:
        message = self._editable(params)
        return self._apply_edit(message, "editMessageReplyMarkup", params, {}, ())

    def _delete(self, chat: FakeChat, mid: int) -> bool:
        if self._chat_messages.get(chat.id, {}).pop(mid, None) is None:
            return False
        message = self._bot_message_index.get((chat.id, mid))
        if message is not None:
            message.deleted = True
        return True

    def _api_delete_message(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        chat = self._chat(params)
        if not self._delete(chat, int(params.get("message_id") or 0)):
            raise _bad("message to delete not found")
        return True

    def _api_delete_messages(self, params: dict[str, Any],
                             files: dict[str, UploadedFile]) -> bool:
        chat = self._chat(params)
        for mid in params.get("message_ids") or []:
            self._delete(chat, int(mid))
        return True

    def _api_answer_callback_query(self, params: dict[str, Any],
                                   files: dict[str, UploadedFile]) -> bool:
        entry = self._callbacks.get(str(params.get("callback_query_id")))
        if entry is None or entry["answer"] is not None:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        entry["answer"] = copy.deepcopy(params)
        return True

    def _api_get_file(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> dict:
        stored = self._files.get(str(params.get("file_id")))
        if stored is None:
            raise _bad("invalid file_id")
        return stored.file_json()

    def _api_send_chat_action(self, params: dict[str, Any],
                              files: dict[str, UploadedFile]) -> bool:
        self._chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _api_set_my_commands(self, params: dict[str, Any],
                             files: dict[str, UploadedFile]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = _scope_key(params.get("scope"), params.get("language_code") or "")
        self._commands[key] = copy.deepcopy(commands)
        return True

    def _api_delete_my_commands(self, params: dict[str, Any],
                                files: dict[str, UploadedFile]) -> bool:
        self._commands.pop(_scope_key(params.get("scope"), params.get("language_code") or ""),
                           None)
        return True

    def _api_get_my_commands(self, params: dict[str, Any],
                             files: dict[str, UploadedFile]) -> list:
        key = _scope_key(params.get("scope"), params.get("language_code") or "")
        return copy.deepcopy(self._commands.get(key, []))

    def _api_set_chat_menu_button(self, params: dict[str, Any],
                                  files: dict[str, UploadedFile]) -> bool:
        chat_id = None
        if params.get("chat_id") is not None:
            chat_id = self._chat(params, check_blocked=False).id
        button = params.get("menu_button") or {"type": "default"}
        self._menu_buttons[chat_id] = copy.deepcopy(button)
        return True

    def _api_get_chat_menu_button(self, params: dict[str, Any],
                                  files: dict[str, UploadedFile]) -> dict:
        chat_id = params.get("chat_id")
        button = self._menu_buttons.get(chat_id) or self._menu_buttons.get(None)
        return copy.deepcopy(button or {"type": "default"})

    def _set_my_text(self, kind: str, params: dict[str, Any]) -> bool:
        self._bot_texts[(kind, params.get("language_code") or "")] = params.get(kind) or ""
        return True

    def _get_my_text(self, kind: str, params: dict[str, Any]) -> dict:
        default = self.bot_first_name if kind == "name" else ""
        return {kind: self._bot_texts.get((kind, params.get("language_code") or ""), default)}

    def _api_set_my_name(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        return self._set_my_text("name", params)

    def _api_set_my_description(self, params: dict[str, Any],
                                files: dict[str, UploadedFile]) -> bool:
        return self._set_my_text("description", params)

    def _api_set_my_short_description(self, params: dict[str, Any],
                                      files: dict[str, UploadedFile]) -> bool:
        return self._set_my_text("short_description", params)

    def _api_get_my_name(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> dict:
        return self._get_my_text("name", params)

    def _api_get_my_description(self, params: dict[str, Any],
                                files: dict[str, UploadedFile]) -> dict:
        return self._get_my_text("description", params)

    def _api_get_my_short_description(self, params: dict[str, Any],
                                      files: dict[str, UploadedFile]) -> dict:
        return self._get_my_text("short_description", params)

    def _api_get_chat(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> dict:
        chat = self._chat(params, check_blocked=False)
        return {**chat.json(), "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False,
                                        "unique_gifts": False, "premium_subscription": False,
                                        "gifts_from_channels": False}}

    def _member_json(self, chat: FakeChat, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_id:
            user_json = self._bot_json()
        elif user_id in self._users:
            user_json = self._users[user_id].json()
        else:
            raise _bad("user not found")
        status = chat.admins.get(user_id, "member")
        if chat.type == "private" and user_id != self.bot_id:
            status = "member"
        if user_id == self.bot_id and chat.type != "private":
            status = "administrator"
        member: dict[str, Any] = {"user": user_json, "status": status}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(dict.fromkeys((
                "can_be_edited", "is_anonymous", "can_manage_video_chats", "can_promote_members",
                "can_post_stories", "can_edit_stories", "can_delete_stories"), False))
            member.update(dict.fromkeys((
                "can_manage_chat", "can_delete_messages", "can_restrict_members",
                "can_change_info", "can_invite_users", "can_pin_messages"), True))
        return member

    def _api_get_chat_member(self, params: dict[str, Any],
                             files: dict[str, UploadedFile]) -> dict:
        chat = self._chat(params, check_blocked=False)
        return self._member_json(chat, int(params.get("user_id") or 0))

    def _api_get_chat_administrators(self, params: dict[str, Any],
                                     files: dict[str, UploadedFile]) -> list:
        chat = self._chat(params, check_blocked=False)
        return [self._member_json(chat, uid) for uid in chat.admins]


def _scope_key(scope: dict[str, Any] | None, language_code: str) -> tuple[str, str]:
    return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code or ""


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


class _Handler(EmulatorHandler):
    """Routes ``/bot<token>/<method>``, ``/file/bot<token>/<path>`` and ``/_control/<name>``."""

    server_version = "FakeBotAPI/1.0"
    logger = _LOG

    def setup(self) -> None:
        super().setup()
        self.emulator._track_connection(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.emulator._track_connection(self.connection, False)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    do_POST = do_GET

    def _dispatch(self) -> None:
        self.emulator._track_request(+1)
        try:
            self._route()
        finally:
            self.emulator._track_request(-1)

    def _route(self) -> None:
        try:
            body = self._read_body()
            split = urlsplit(self.path)
            path = split.path
            if path.startswith("/bot"):
                token, _, method = path[len("/bot"):].partition("/")
                try:
                    params, files = _parse_request(self.headers.get("Content-Type", ""), body,
                                                   split.query)
                except ApiError as exc:
                    self._send_json(exc.status, exc.payload())
                    return
                status, payload = self.emulator._handle_api(unquote(token), method, params, files)
                self._send_json(status, payload)
            elif path.startswith("/file/bot"):
                token, _, file_path = path[len("/file/bot"):].partition("/")
                status, data, ctype = self.emulator._handle_download(unquote(token), unquote(file_path))
                self._send(status, data, ctype)
            elif path.startswith("/_control/"):
                data: dict[str, Any] = dict(parse_qsl(split.query))
                try:
                    if body:
                        data.update(json.loads(body))
                    result = self.emulator._handle_control(path[len("/_control/"):], data)
                except (KeyError, LookupError, ValueError, TypeError) as exc:
                    self._send_json(400, {"ok": False, "description": f"{exc!r}"})
                    return
                self._send_json(200, {"ok": True, "result": result})
            else:
                self._send_json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True     # the client gave up (e.g. a cancelled long poll)

    def _send_json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                   "application/json")



def main(argv: list[str] | None = None) -> None:
    """Run the emulator standalone until interrupted (for the offline demo)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST-fake-token")
    parser.add_argument("--username", default="shuangsui_test_bot")
    args = parser.parse_args(argv)
    emu = FakeBotAPI(args.token, args.username, host=args.host, port=args.port).start()
    serve_until_interrupted(emu, f"FakeBotAPI listening on {emu.url}\n  base_url      = {emu.base_url}\n"
                                 f"  base_file_url = {emu.base_file_url}\n  token         = {emu.token}")


if __name__ == "__main__":
    main()
