"""A local emulator of 钉钉 (DingTalk)'s open platform in Stream mode, for end-to-end tests and demos.

Written from the documentation collected in ``tests/fixtures/dingtalk/`` (each fixture cites its page) and the
contract ``tests/fixtures/dingtalk/WIRE.md`` that our client and this emulator share where the documentation is
silent.  Two servers, each in its own daemon thread:

* an HTTP server (standard library ``ThreadingHTTPServer``) for the open APIs — the new-style
  ``api.dingtalk.com`` paths and the legacy ``oapi.dingtalk.com`` ``/media/upload`` on the same port
  (:attr:`FakeDingTalk.openapi_url` == :attr:`FakeDingTalk.oapi_url`) — plus ``/_control/*``;
* a ``websockets`` (asyncio) server with its own event loop for the Stream WebSocket
  (:attr:`FakeDingTalk.ws_url`, returned as ``endpoint`` by ``connections/open``).

A Python control API plays the people and records what the bot does::

    with FakeDingTalk(client_id="dingappkey", client_secret="s3cret") as dt:     # or start()/stop()
        u = dt.user("staff001", nick="张三")
        g = dt.group("cidGroup1==", title="联合抽查群", members=[u])   # the robot is a member
        u.send("/start ABC")                 # single chat (conversationType "1")
        u.send("/draw", chat=g)              # group @-message (conversationType "2")
        u.send_file(b"...", "名单.xlsx")      # msgtype "file" with a downloadCode (single chats only)
        card = dt.wait_reply(u, after=0)     # a BotMessage: kind/text/buttons/filename/data/ref/updates
        u.press(card, "同意")                 # a card callback with that button's data
        dt.fail("batchSend", "qps"); dt.delay("groupSend", 0.5); dt.outside_visible_range(u)
        dt.calls, dt.pushes, dt.acks, dt.ack_latencies, dt.late_acks, dt.connections

``wait_for``/``wait_reply`` block the calling thread; inside an asyncio test whose loop runs the bot, use
``await dt.wait_for_async(...)`` / ``await dt.wait_reply_async(...)``.

Behaviour taken from the documentation (citations next to the code):

* token (``access_token.json``): ``expireIn`` 7200 s (``token_ttl``); :meth:`FakeDingTalk.expire_tokens` ends all
  current tokens.  Every new-style call checks ``x-acs-dingtalk-access-token``.
* stream (``stream_connections_open.json``, ``stream_frame_*.json``): a ticket is valid 90 s and opens one
  connection; frames ``{"specVersion","type","headers":{appId,connectionId,contentType,messageId,time,topic},
  "data"}``; SYSTEM ``ping`` every ``ping_interval`` s (ACK echoes ``opaque``); SYSTEM ``disconnect`` before the
  server closes the socket (the real one after 10 s: ``disconnect_grace``); several connections may be open and
  each push goes to one of them at random.
* redelivery: the protocol page says EVENT pushes are re-sent when not ACKed, and that bot messages are
  fire-and-forget and **not** re-sent (FAQ: "机器人消息当前是fire-forgot模式，不会因为网络超时而重复推送").  This
  emulator re-sends un-ACKed CALLBACK frames too (``redeliver_callbacks=True``, every ``redeliver_after`` s and on
  the next connection after a disconnect) so that the client's de-duplication by ``messageId`` is exercised; pass
  ``redeliver_callbacks=False`` for the documented behaviour.  Frames pushed while no connection is open wait for
  the next connection either way.
* recipients: ``userIds`` ≤ 20 (``robot_batch_send.json``); unknown users and users outside the app's visible range
  are returned in ``invalidStaffIdList`` (field documented, behaviour ours); group ``msgParam`` ≤ 15,000 bytes
  (``robot_group_send.json``); files from users only in single chats (``bot_incoming_messages.json`` notes);
  upload ≤ 20 MB (``media_upload.json``).

Where the documentation is silent the answer follows WIRE.md ("ours"); the bodies chosen are listed in
``UNDOCUMENTED`` below and are never stricter than WIRE.md.

HTTP control surface (JSON in, ``{"ok": true, "result": …}`` out, like ``botapi_emulator``):

* ``POST /_control/send``       ``{"user_id", "text", "nick"?, "chat_id"?, "chat_title"?}`` -> messageId
* ``POST /_control/send_file``  ``{"user_id", "data_base64", "filename", "nick"?}`` -> messageId
* ``POST /_control/press``      ``{"user_id", "ref", "text" | "data"}`` -> messageId
* ``POST /_control/group``      ``{"chat_id", "title"?, "members"?: [user_id…], "robot"?: bool}``
* ``POST /_control/outside``    ``{"user_id"}`` (outside the app's visible range)
* ``POST /_control/fail``       ``{"api", "kind", "times"?, "target"?}``
* ``POST /_control/delay``      ``{"api", "seconds", "times"?}``
* ``POST /_control/calls``      ``{"since"?}`` -> recorded API calls
* ``POST /_control/sent``       ``{"user_id" | "chat_id"}`` -> bot messages there, as they look now
* ``POST /_control/stats``      -> connections, pushes, acks, ack latencies, late ACKs
* ``POST /_control/disconnect`` ``{"grace"?}``; ``POST /_control/drop``; ``POST /_control/expire_tokens``

Run standalone: ``python -m bot.devtools.dingtalk_emulator --port 8090 --ws-port 8091``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import copy
import hashlib
import itertools
import json
import logging
import random
import re
import secrets
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from bot.devtools.botapi_emulator import _parse_multipart
from bot.devtools.emulator_base import EmulatorHandler, EmulatorServer, serve_until_interrupted, take_rule

__all__ = ["AckLatency", "ApiCall", "BotMessage", "DtError", "FakeDingTalk", "FakeGroup", "FakeUser"]

_LOG = logging.getLogger(__name__)

TOPIC_BOT_MESSAGE = "/v1.0/im/bot/messages/get"          # stream_frame_bot_message.json
TOPIC_CARD_CALLBACK = "/v1.0/card/instances/callback"     # stream_frame_card_callback.json
MAX_BATCH_USERS = 20                                      # robot_batch_send.json limits.userIds_max
MAX_GROUP_MSGPARAM_BYTES = 15_000                         # robot_group_send.json limits.msgParam_max_bytes
MAX_UPLOAD_BYTES = 20 * 1024 * 1024                       # media_upload.json limits.file.max_mb
TICKET_TTL = 90.0                                         # stream_connections_open.json limits.ticket_ttl_seconds
LATE_ACK_SECONDS = 2.0                                    # the "~2 s" card-callback figure (NOT documented: README)
MSG_KEYS = ("sampleText", "sampleMarkdown", "sampleFile")

#: Error bodies for cases the documentation does not show (WIRE.md "ours"; README "Not found").
UNDOCUMENTED = {
    "bad_app_secret": (400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret"),
    "missing_token": (401, "InvalidAuthentication", "缺少访问凭证 x-acs-dingtalk-access-token"),
    "unknown_token": (401, "InvalidAuthentication", "不合法的access_token"),
    "expired_token": (401, "InvalidAuthentication", "access_token已过期"),
    "qps": (403, "Forbidden.AccessDenied.QpsLimitForApi", "调用该接口超过每秒调用上限"),
    "5xx": (504, "GatewayTimeout", "Gateway Timeout 调用网关超时"),
    "unknown_group": (400, "invalidParameter.openConversationId.invalid", "群会话不存在"),
    "robot_not_in_group": (400, "invalidParameter.openConversationId.robotNotInGroup", "机器人不在该群中"),
    "msgparam_too_long": (400, "invalidParameter.msgParam.tooLong", "msgParam超过15000字节"),
    "unknown_media": (400, "invalidParameter.msgParam.mediaId", "mediaId不存在"),
    "unknown_download_code": (400, "invalidParameter.downloadCode.invalid", "downloadCode无效"),
    "unknown_card": (400, "invalidParameter.outTrackId.notExist", "卡片实例不存在"),
    "bad_open_space": (400, "invalidParameter.openSpaceId.invalid", "openSpaceId格式错误"),
    "bad_card_data": (400, "invalidParameter.cardData.invalid", "outTrackId或cardParamMap缺失（值须为字符串）"),
    "bad_json": (400, "invalidParameter.body.invalid", "请求体不是合法的JSON对象"),
    "not_found": (404, "NotFound", "接口不存在"),
}
#: Documented bodies (api_errors.json).
DOCUMENTED = {
    "quota": (403, "Forbidden.AccessDenied.ApiCountLimitForOrg",
              "您的企业本月api调用量已超过限制,调用量:10001次,额度:10000次,请登录开发者后台-资源管理-查看用量明细"),
    "userIds_overMax": (400, "invalidParameter.userIds.overMax", "The user userId list exceeds the maximum limit."),
    "userIds_empty": (400, "invalidParameter.userIds.empty", "The user userId list is empty."),
    "msgKey_invalid": (400, "invalidParameter.msgKey.invalid", "The msgKey is invalid."),
    "msgParam_invalid": (400, "invalidParameter.msgParam.invalid", "The msgParam must be in JSON format."),
    "robotCode_auth": (400, "invalidParameter.robotCode.auth",
                       "This app’s appkey does not match the bot’s robotCode. Use the appkey of the bot’s app."),
}
#: Legacy oapi bodies (errcode/errmsg, HTTP 200).  90002 / 90020 documented (api_errors.json); 40004 for a too
#: large file is WIRE.md's choice; 40014 / 42001 are the well-known token codes (no captured body: README).
LEGACY = {
    "unknown_token": (40014, "不合法的access_token"),
    "expired_token": (42001, "access_token超时"),
    "qps": (90002, "接口调用超过限流阈值"),
    "quota": (90020, DOCUMENTED["quota"][2]),
    "too_large": (40004, "不合法的媒体文件大小：文件不能超过20MB"),
    "bad_type": (40004, "不合法的媒体文件类型"),
    "no_media": (40004, "缺少media参数"),
}
FAULT_KINDS = ("qps", "quota", "5xx", "flow", "expired_token")
APIS = ("token", "open", "batchSend", "groupSend", "upload", "download", "cardCreate", "cardUpdate",
        "downloadFile")


class DtError(Exception):
    """A new-style error answer ``{"code","message","requestid"}`` with an HTTP status (api_errors.json)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message

    @classmethod
    def of(cls, key: str) -> DtError:
        return cls(*(UNDOCUMENTED.get(key) or DOCUMENTED[key]))

    def payload(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "requestid": str(uuid.uuid4()).upper()}


class _Legacy(Exception):
    """A legacy oapi error: HTTP 200 with ``{"errcode","errmsg"}``."""

    def __init__(self, errcode: int, errmsg: str):
        super().__init__(f"{errcode} {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass
class ApiCall:
    """One open-API request, recorded once answered."""

    api: str                          #: "token", "open", "batchSend", "groupSend", "upload", "download", …
    time: float                       #: ``time.time()`` on arrival
    method: str
    path: str
    json: Any                         #: the request JSON (upload: the form fields + filename/size)
    status: int = 200
    response: Any = None              #: the JSON answered (downloadFile: size only)

    @property
    def ok(self) -> bool:
        return self.status == 200 and not (isinstance(self.response, dict) and self.response.get("errcode"))

    def to_json(self) -> dict[str, Any]:
        return {"api": self.api, "time": self.time, "method": self.method, "path": self.path,
                "json": self.json, "status": self.status, "response": self.response}


class AckLatency(NamedTuple):
    """Seconds from a CALLBACK frame's first push to its ACK."""

    topic: str
    seconds: float
    message_id: str


class BotMessage:
    """A message the bot sent into a chat, as it looks now (cards after their updates)."""

    def __init__(self, kind: str, chat_key: str, ref: str, *, msg_key: str | None = None,
                 msg_param: dict[str, Any] | None = None, text: str | None = None,
                 filename: str | None = None, data: bytes | None = None,
                 card_params: dict[str, str] | None = None):
        self.kind = kind                      #: "text" | "markdown" | "file" | "card"
        self.chat_key = chat_key
        self.ref = ref                        #: processQueryKey (sends) or outTrackId (cards)
        self.msg_key = msg_key
        self.msg_param = msg_param or {}
        self.title: str | None = self.msg_param.get("title") if kind == "markdown" else None
        self.text = text
        self.filename = filename
        self.data = data
        self.card_params: dict[str, str] = dict(card_params or {})
        self.updates = 0
        self.time = time.time()

    @property
    def buttons(self) -> list[list[tuple[str, str]]]:
        """Rows of ``(text, data)`` (cards: parsed from ``cardParamMap.buttons``, WIRE.md)."""
        if self.kind != "card":
            return []
        try:
            rows = json.loads(self.card_params.get("buttons") or "[]")
            return [[(str(b.get("text", "")), str(b.get("data", ""))) for b in row] for row in rows]
        except (ValueError, TypeError, AttributeError):
            return []

    @property
    def button_texts(self) -> list[str]:
        return [text for row in self.buttons for text, _ in row]

    def find_button(self, text: str) -> tuple[str, str]:
        for row in self.buttons:
            for button in row:
                if button[0] == text:
                    return button
        raise LookupError(f"no button {text!r} on {self!r}; buttons: {self.button_texts}")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "chat": self.chat_key, "ref": self.ref, "text": self.text,
                "title": self.title, "buttons": [[list(b) for b in row] for row in self.buttons],
                "filename": self.filename, "size": None if self.data is None else len(self.data),
                "updates": self.updates, "msg_key": self.msg_key}

    def __repr__(self) -> str:
        text = (self.text or "")[:60]
        return f"<BotMessage {self.kind} to {self.chat_key} ref={self.ref} {text!r} updates={self.updates}>"


class FakeUser:
    """A simulated 钉钉 user (a staff member of the emulated org)."""

    def __init__(self, dt: FakeDingTalk, staff_id: str, nick: str, *, is_admin: bool = False):
        self.dt = dt
        self.staff_id = staff_id
        self.nick = nick
        self.is_admin = is_admin
        digest = hashlib.sha256(staff_id.encode()).digest()
        self.sender_id = "$:LWCP_v1:$" + base64.b64encode(digest[:18]).decode()
        #: the single chat's conversationId ("cid…=" like bot_incoming_messages.json text_single_chat)
        self.conversation_id = "cid" + base64.b64encode(digest[18:30]).decode()

    @property
    def key(self) -> str:
        return "user:" + self.staff_id

    def send(self, text: str, chat: FakeGroup | str | None = None, *, at_bot: bool = True) -> str | None:
        """A text message: single chat, or a group @-message (``None`` when the robot does not get it)."""
        return self.dt._user_text(self, text, chat, at_bot=at_bot)

    def send_file(self, data: bytes, filename: str = "file.bin", chat: FakeGroup | str | None = None) -> str:
        """A file in the single chat with the bot (documented: files do not reach it from groups)."""
        return self.dt._user_file(self, data, filename, chat)

    def press(self, card: BotMessage | str, text: str) -> str:
        """Press the card's current button with this text: a card callback with its data."""
        return self.dt._press(self, card, text=text)

    def press_data(self, card: BotMessage | str, data: str) -> str:
        """A card callback with arbitrary (e.g. forged) button data."""
        return self.dt._press(self, card, data=data)

    @property
    def inbox(self) -> list[BotMessage]:
        return self.dt.sent_to(self)

    def __repr__(self) -> str:
        return f"<FakeUser {self.staff_id} {self.nick}>"


class FakeGroup:
    """A group chat; ``cid`` is its (open) conversationId."""

    def __init__(self, dt: FakeDingTalk, cid: str, title: str):
        self.dt = dt
        self.cid = cid
        self.title = title
        self.members: list[FakeUser] = []
        self.robot = True

    @property
    def key(self) -> str:
        return "group:" + self.cid

    def add(self, *users: FakeUser) -> None:
        with self.dt._cond:
            for u in users:
                if u not in self.members:
                    self.members.append(u)

    def remove_robot(self) -> None:
        """The robot leaves the group: sends fail, @-messages no longer reach it."""
        with self.dt._cond:
            self.robot = False

    def add_robot(self) -> None:
        with self.dt._cond:
            self.robot = True

    @property
    def messages(self) -> list[BotMessage]:
        return self.dt.sent_to(self)

    def __repr__(self) -> str:
        return f"<FakeGroup {self.cid} {self.title}>"


@dataclass
class _Pending:
    """A pushed frame waiting for its ACK."""

    frame: dict[str, Any]
    topic: str
    redeliver: bool
    first_sent: float | None = None      # monotonic
    last_sent: float | None = None
    attempts: int = 0
    conn_id: str | None = None
    scheduled: bool = False              # a send is in progress


@dataclass
class _Conn:
    conn_id: str
    ws: Any
    opened: float
    draining: bool = False
    tasks: list[Any] = field(default_factory=list)


def _key_of(chat: Any) -> str:
    if isinstance(chat, (FakeUser, FakeGroup)):
        return chat.key
    chat = str(chat)
    return chat if chat.startswith(("user:", "group:")) else "user:" + chat


# --------------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------------


class FakeDingTalk(EmulatorServer):
    """The emulator; see the module docstring.  All state is guarded by one re-entrant lock whose condition is
    notified on every change; the WebSocket side runs on its own event loop thread."""

    def __init__(self, client_id: str = "dingappkey", client_secret: str = "s3cret", *,
                 host: str = "127.0.0.1", port: int = 0, ws_port: int = 0, corp_id: str = "dingcorp0001",
                 token_ttl: float = 7200, ping_interval: float = 10.0, redeliver_after: float = 5.0,
                 redeliver_callbacks: bool = True, max_redeliveries: int = 20,
                 disconnect_grace: float = 10.0, late_ack: float = LATE_ACK_SECONDS, seed: int | None = None):
        self.client_id = client_id
        self.client_secret = client_secret
        self.corp_id = corp_id
        self.token_ttl = token_ttl
        self.ping_interval = ping_interval
        self.redeliver_after = redeliver_after
        self.redeliver_callbacks = redeliver_callbacks
        self.max_redeliveries = max_redeliveries
        self.disconnect_grace = disconnect_grace
        self.late_ack = late_ack
        self.app_id = str(uuid.UUID(bytes=hashlib.md5(client_id.encode()).digest()))
        self.robot_user_id = "$:LWCP_v1:$" + base64.b64encode(hashlib.sha256(
            ("robot" + client_id).encode()).digest()[:18]).decode()
        self._init_server(host, port, _Handler)
        self._ws_port = ws_port
        self._rng = random.Random(seed)
        self._cond = threading.Condition(threading.RLock())
        self._ws_thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ws_server: Any = None
        self._ws_ready = threading.Event()
        self._seq = itertools.count(1)

        self._tokens: dict[str, float] = {}          # token -> monotonic expiry
        self._tickets: dict[str, float] = {}         # unused ticket -> monotonic expiry
        self._users: dict[str, FakeUser] = {}
        self._groups: dict[str, FakeGroup] = {}
        self._outside: set[str] = set()
        self._messages: dict[str, list[BotMessage]] = {}
        self._cards: dict[str, BotMessage] = {}
        self._media: dict[str, tuple[str, bytes, str]] = {}       # media_id -> (filename, data, type)
        self._download_codes: dict[str, tuple[str, bytes]] = {}   # downloadCode -> (filename, data)
        self._download_urls: dict[str, tuple[str, bytes]] = {}    # url token -> (filename, data)
        self._faults: list[dict[str, Any]] = []
        self._delays: list[dict[str, Any]] = []
        self._calls: list[ApiCall] = []
        self._pushes: list[dict[str, Any]] = []
        self._acks: list[dict[str, Any]] = []
        self._pending: dict[str, _Pending] = {}
        self._pings: dict[str, str] = {}             # messageId -> opaque
        self._conns: dict[str, _Conn] = {}
        self._connections_total = 0
        self.ack_latencies: list[AckLatency] = []    #: CALLBACK frames: first push -> ACK
        self.late_acks = 0                           #: ACKs later than ``late_ack`` (2 s) after the first push
        self.duplicate_acks = 0                      #: ACKs of frames already ACKed (redelivered copies)
        self.ping_acks: list[bool] = []              #: one per ping ACK: did it echo ``opaque``?
        self.protocol_errors: list[str] = []         #: frames from the client we could not understand
        self.rejected_handshakes: list[str] = []     #: why WebSocket handshakes were refused
        self.internal_errors: list[str] = []

    # -- lifecycle --------------------------------------------------------------------------

    # start(), stop() and `with`: EmulatorServer, which here also runs the WebSocket (stream) server.

    def _on_start(self) -> None:
        self._ws_thread = threading.Thread(target=self._ws_main, name=f"FakeDingTalk:{self._port}:ws",
                                           daemon=True)
        self._ws_thread.start()
        if not self._ws_ready.wait(10) or self._ws_server is None:
            self.stop()
            raise RuntimeError("FakeDingTalk: the WebSocket server did not start")

    def _on_stop(self) -> None:
        loop = self._loop
        if loop is not None and loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(self._ws_shutdown(), loop).result(5)
            except Exception:  # noqa: BLE001 - best effort on the way out
                _LOG.debug("ws shutdown", exc_info=True)
            loop.call_soon_threadsafe(loop.stop)
        if self._ws_thread is not None:
            self._ws_thread.join(5)

    @property
    def openapi_url(self) -> str:
        """``http://host:port`` — stands for ``https://api.dingtalk.com``."""
        return self.url

    @property
    def oapi_url(self) -> str:
        """Stands for ``https://oapi.dingtalk.com`` (same server)."""
        return self.openapi_url

    @property
    def ws_url(self) -> str:
        """The stream ``endpoint`` (``wss://wss-open-connection.dingtalk.com:443/connect``)."""
        return f"ws://{self._host}:{self._ws_port}/connect"

    # -- simulated people -------------------------------------------------------------------

    def user(self, staff_id: str, nick: str | None = None, *, is_admin: bool | None = None) -> FakeUser:
        """The user with this staffId (created on first use; given fields are updated)."""
        staff_id = str(staff_id)
        with self._cond:
            u = self._users.get(staff_id)
            if u is None:
                u = FakeUser(self, staff_id, nick or f"用户{staff_id}", is_admin=bool(is_admin))
                self._users[staff_id] = u
            else:
                if nick is not None:
                    u.nick = nick
                if is_admin is not None:
                    u.is_admin = is_admin
            return u

    def group(self, cid: str, title: str | None = None, *, members: list[FakeUser] | None = None,
              robot: bool = True) -> FakeGroup:
        """A group (the robot is a member unless ``robot=False``)."""
        with self._cond:
            g = self._groups.get(cid)
            if g is None:
                g = FakeGroup(self, cid, title or f"群{cid}")
                g.robot = robot
                self._groups[cid] = g
            elif title is not None:
                g.title = title
            g.add(*(members or []))
            return g

    def outside_visible_range(self, user: FakeUser | str, outside: bool = True) -> None:
        """The user is (no longer) in the app's visible range: batchSend lists them in invalidStaffIdList."""
        staff_id = user.staff_id if isinstance(user, FakeUser) else str(user)
        with self._cond:
            (self._outside.add if outside else self._outside.discard)(staff_id)

    # -- inspection -------------------------------------------------------------------------

    @property
    def calls(self) -> list[ApiCall]:
        with self._cond:
            return list(self._calls)

    def calls_to(self, *apis: str) -> list[ApiCall]:
        with self._cond:
            return [c for c in self._calls if c.api in apis]

    @property
    def pushes(self) -> list[dict[str, Any]]:
        """Every frame sent to the client: ``{"time","conn","frame","redelivery"}`` (pings included)."""
        with self._cond:
            return list(self._pushes)

    @property
    def acks(self) -> list[dict[str, Any]]:
        """Every frame the client sent: ``{"time","conn","json"}``."""
        with self._cond:
            return list(self._acks)

    @property
    def connections(self) -> int:
        """Stream connections open now (draining ones included)."""
        with self._cond:
            return len(self._conns)

    @property
    def connections_total(self) -> int:
        with self._cond:
            return self._connections_total

    def pending_acks(self) -> list[str]:
        """messageIds of CALLBACK frames not ACKed yet."""
        with self._cond:
            return list(self._pending)

    def sent_to(self, chat: FakeUser | FakeGroup | str) -> list[BotMessage]:
        """The bot's messages in a single chat (user) or group, in order, as they look now."""
        with self._cond:
            return list(self._messages.get(_key_of(chat), []))

    def card(self, out_track_id: str) -> BotMessage:
        with self._cond:
            return self._cards[out_track_id]

    # -- waiting ----------------------------------------------------------------------------

    # wait_reply / wait_reply_async(chat: FakeUser | FakeGroup | str, after=0) -> BotMessage: Waiting.

    def _replies_in(self, chat: FakeUser | FakeGroup | str) -> Any:
        key = _key_of(chat)
        return lambda d: d._messages[key]

    def dump(self, last: int = 25) -> str:
        with self._cond:
            lines = [f"FakeDingTalk at {self.openapi_url} / {self.ws_url}: {len(self._conns)} connection(s), "
                     f"{len(self._pushes)} push(es), {len(self._pending)} un-ACKed"]
            lines += [f"  {c.api} {c.status} {json.dumps(c.json, ensure_ascii=False)[:100]}"
                      for c in self._calls[-last:]] or ["  (no calls)"]
            if self.internal_errors:
                lines += ["EMULATOR INTERNAL ERRORS:"] + self.internal_errors[-3:]
        return "\n".join(lines)

    # -- tokens -----------------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every access token issued so far is expired from now on (401 InvalidAuthentication)."""
        with self._cond:
            for token in self._tokens:
                self._tokens[token] = 0.0

    @property
    def tokens(self) -> list[str]:
        with self._cond:
            return list(self._tokens)

    # -- fault injection --------------------------------------------------------------------

    def fail(self, api: str, kind: str, times: int | None = 1, target: Any = None) -> None:
        """The next ``times`` calls of ``api`` ("*" = any) fail with ``kind`` (``times=None``: until
        :meth:`clear_faults`).  Kinds: "qps" 403 QpsLimitForApi, "quota" 403 ApiCountLimitForOrg,
        "5xx" 504, "flow" (batchSend: the recipients — or only ``target`` — in flowControlledStaffIdList),
        "expired_token" 401 InvalidAuthentication.  ``target``: a user/group (or staffId/cid) the fault is for."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {FAULT_KINDS}")
        if api != "*" and api not in APIS:
            raise ValueError(f"unknown api {api!r}; one of {APIS}")
        if kind == "flow" and api != "batchSend":
            raise ValueError("kind 'flow' is a batchSend answer field")
        with self._cond:
            self._faults.append({"api": api, "kind": kind, "times": times, "target": self._target_id(target)})

    def delay(self, api: str, seconds: float, times: int | None = None) -> None:
        """Delay each call of ``api`` ("*" = any) by ``seconds`` (``times=None``: always)."""
        with self._cond:
            self._delays.append({"api": api, "seconds": seconds, "times": times, "target": None})

    def clear_faults(self) -> None:
        with self._cond:
            self._faults.clear()
            self._delays.clear()

    @staticmethod
    def _target_id(target: Any) -> str | None:
        if target is None:
            return None
        if isinstance(target, FakeUser):
            return target.staff_id
        if isinstance(target, FakeGroup):
            return target.cid
        return str(target)

    @staticmethod
    def _take(rules: list[dict[str, Any]], api: str, targets: set[str]) -> dict[str, Any] | None:
        return take_rule(rules, lambda rule: rule["api"] in ("*", api)
                         and (rule["target"] is None or rule["target"] in targets))

    # -- user side (pushes) -----------------------------------------------------------------

    def _bot_message_data(self, user: FakeUser, msgtype: str, body: dict[str, Any], *,
                          group: FakeGroup | None = None) -> dict[str, Any]:
        """A bot message shaped like bot_incoming_messages.json (text_single_chat / text_group_at_bot / file)."""
        now = int(time.time() * 1000)
        data: dict[str, Any] = {
            "conversationId": group.cid if group else user.conversation_id,
            "chatbotCorpId": self.corp_id,
            "chatbotUserId": self.robot_user_id,
            "msgId": "msg" + base64.b64encode(secrets.token_bytes(12)).decode(),
            "senderNick": user.nick,
            "isAdmin": user.is_admin,
            "senderStaffId": user.staff_id,
            "sessionWebhookExpiredTime": now + 90 * 60 * 1000,   # doc examples: ≈ 90 min after createAt
            "createAt": now,
            "senderCorpId": self.corp_id,
            "conversationType": "2" if group else "1",
            "senderId": user.sender_id,
            "sessionWebhook": f"{self.oapi_url}/robot/sendBySession?session={secrets.token_hex(16)}",
            "robotCode": self.client_id,
            "msgtype": msgtype,
        }
        if group:
            data.update({"atUsers": [{"dingtalkId": self.robot_user_id}], "conversationTitle": group.title,
                         "isInAtList": True})
        data.update(body)
        return data

    def _group_of(self, chat: FakeGroup | str | None) -> FakeGroup | None:
        if chat is None or isinstance(chat, FakeGroup):
            return chat
        return self.group(str(chat))

    def _user_text(self, user: FakeUser, text: str, chat: FakeGroup | str | None, *, at_bot: bool) -> str | None:
        with self._cond:
            group = self._group_of(chat)
            if group is not None:
                group.add(user)
                if not at_bot or not group.robot:   # groups deliver only @-messages, and only to members
                    return None
                # text_group_at_bot: the @mention is removed and the content keeps a leading space
                body = {"text": {"content": " " + text}}
            else:
                body = {"text": {"content": text}}
            data = self._bot_message_data(user, "text", body, group=group)
            return self._push_callback(TOPIC_BOT_MESSAGE, data)

    def _user_file(self, user: FakeUser, payload: bytes, filename: str, chat: FakeGroup | str | None) -> str:
        if chat is not None:
            raise ValueError("documented: users cannot send files to the bot in a group "
                             "(bot_incoming_messages.json notes) — files only in the single chat")
        with self._cond:
            code = base64.b64encode(secrets.token_bytes(24)).decode()
            self._download_codes[code] = (filename, bytes(payload))
            body = {"content": {"spaceId": str(self._rng.randrange(10**8, 10**9)), "fileName": filename,
                                "downloadCode": code, "fileId": str(self._rng.randrange(10**10, 10**11))}}
            data = self._bot_message_data(user, "file", body)
            return self._push_callback(TOPIC_BOT_MESSAGE, data)

    def _press(self, user: FakeUser, card: BotMessage | str, *, text: str | None = None,
               data: str | None = None) -> str:
        with self._cond:
            if not isinstance(card, BotMessage):
                card = self._cards[str(card)]
            if card.kind != "card":
                raise ValueError(f"{card!r} is not a card")
            if text is not None:
                data = card.find_button(text)[1]
            group = card.chat_key.startswith("group:")
            space_id = card.chat_key.split(":", 1)[1]
            # stream_frame_card_callback.json data_fields (SDK names); content's inner shape: WIRE.md (ours)
            payload = {
                "corpId": self.corp_id, "userId": user.staff_id, "outTrackId": card.ref,
                "type": "actionCallback", "spaceType": "IM_GROUP" if group else "IM_ROBOT",
                "spaceId": space_id, "userIdType": 1, "extension": "{}",
                "content": json.dumps({"cardPrivateData": {"actionIds": ["press"], "params": {"data": data}}},
                                      ensure_ascii=False),
            }
            return self._push_callback(TOPIC_CARD_CALLBACK, payload)

    def push_event(self, event_type: str, data: dict[str, Any]) -> str:
        """An EVENT push (stream_frame_event.json), redelivered until ACKed."""
        headers = {"eventType": event_type, "eventId": uuid.uuid4().hex,
                   "eventCorpId": self.corp_id, "eventBornTime": str(int(time.time() * 1000)),
                   "eventUnifiedAppId": self.app_id}
        return self._push("EVENT", event_type, data, redeliver=True, extra_headers=headers)

    # -- stream frames ----------------------------------------------------------------------

    def _message_id(self) -> str:
        # shaped like the documented "212ca9d7_974_1898c159aa6_1783b"
        return f"{secrets.token_hex(4)}_{next(self._seq)}_{int(time.time() * 1000):x}_{secrets.token_hex(3)[:5]}"

    def _frame(self, ftype: str, topic: str, data: Any, conn_id: str = "", message_id: str | None = None,
               extra_headers: dict[str, str] | None = None) -> dict[str, Any]:
        # stream_frame_bot_message.json / stream_frame_event.json / stream_frame_system_*.json
        headers = {"appId": self.app_id, "connectionId": conn_id, "contentType": "application/json",
                   "messageId": message_id or self._message_id(), "time": str(int(time.time() * 1000)),
                   "topic": topic}
        headers.update(extra_headers or {})
        return {"specVersion": "1.0", "type": ftype, "headers": headers,
                "data": data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)}

    def _push_callback(self, topic: str, data: dict[str, Any]) -> str:
        return self._push("CALLBACK", topic, data, redeliver=self.redeliver_callbacks)

    def _push(self, ftype: str, topic: str, data: Any, *, redeliver: bool,
              extra_headers: dict[str, str] | None = None) -> str:
        with self._cond:
            frame = self._frame(ftype, topic, data, extra_headers=extra_headers)
            message_id = frame["headers"]["messageId"]
            self._pending[message_id] = _Pending(frame, topic, redeliver)
        self._schedule(message_id)
        return message_id

    def _schedule(self, message_id: str) -> None:
        loop = self._loop
        if loop is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(self._deliver(message_id), loop)

    async def _send(self, conn: _Conn, frame: dict[str, Any], redelivery: bool = False) -> bool:
        frame = dict(frame, headers=dict(frame["headers"], connectionId=conn.conn_id))
        try:
            await conn.ws.send(json.dumps(frame, ensure_ascii=False))
        except ConnectionClosed:
            return False
        with self._cond:
            self._pushes.append({"time": time.time(), "conn": conn.conn_id, "frame": frame,
                                 "redelivery": redelivery})
            self._cond.notify_all()
        return True

    def _pick(self) -> _Conn | None:
        with self._cond:
            live = [c for c in self._conns.values() if not c.draining]
            return self._rng.choice(live) if live else None

    async def _deliver(self, message_id: str, why: str = "new") -> None:
        """Send a pending frame to one connection (documented: each push goes to one of them).  ``why``: "new"
        (first push), "orphan" (not on any open connection: pushed while disconnected or lost with its socket),
        "timer" (not ACKed within ``redeliver_after``).  Runs on the WebSocket loop; the bookkeeping is done before
        the send so that an ACK can never overtake it."""
        conn = self._pick()
        with self._cond:
            pending = self._pending.get(message_id)
            if pending is None or conn is None or pending.scheduled:
                return                    # ACKed meanwhile / delivered on the next connection / being sent
            if (why == "new" and pending.attempts) or (why == "orphan" and pending.conn_id is not None) or (
                    why == "timer" and time.monotonic() - (pending.last_sent or 0) < self.redeliver_after):
                return                    # someone else delivered it already
            redelivery = pending.attempts > 0
            if redelivery and (not pending.redeliver or pending.attempts > self.max_redeliveries):
                return
            previous = (pending.first_sent, pending.last_sent, pending.conn_id)
            now = time.monotonic()
            pending.first_sent = pending.first_sent or now
            pending.last_sent = now
            pending.attempts += 1
            pending.conn_id = conn.conn_id
            pending.scheduled = True
        sent = await self._send(conn, pending.frame, redelivery)
        with self._cond:
            pending.scheduled = False
            if not sent:
                pending.attempts -= 1
                pending.first_sent, pending.last_sent, _ = previous
                pending.conn_id = None

    # -- WebSocket side (its own thread and loop) -------------------------------------------

    def _ws_main(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._ws_start())
        except Exception:  # noqa: BLE001
            _LOG.exception("FakeDingTalk: WebSocket server failed to start")
            self._ws_ready.set()
            return
        self._ws_ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _ws_start(self) -> None:
        self._ws_server = await serve(self._ws_handler, self._host, self._ws_port,
                                      process_request=self._ws_handshake, ping_interval=None,
                                      close_timeout=1, max_size=2**22)
        self._ws_port = self._ws_server.sockets[0].getsockname()[1]
        self._redeliver_task = asyncio.get_running_loop().create_task(self._redeliver_loop())

    async def _ws_shutdown(self) -> None:
        self._redeliver_task.cancel()
        with self._cond:
            conns = list(self._conns.values())
        for conn in conns:
            for task in conn.tasks:
                task.cancel()
            conn.ws.transport.abort()
        self._ws_server.close(close_connections=False)
        try:
            await asyncio.wait_for(self._ws_server.wait_closed(), 3)
        except asyncio.TimeoutError:
            pass

    def _ws_handshake(self, connection: Any, request: Any) -> Any:
        """``GET /connect?ticket=…`` (stream_connections_open.json websocket): the ticket opens one connection
        within 90 s; anything else is refused with 401 (the refusal is ours: not documented)."""
        split = urlsplit(request.path)
        ticket = (parse_qs(split.query).get("ticket") or [""])[0]
        with self._cond:
            expiry = self._tickets.pop(ticket, None)
            reason = None
            if split.path != "/connect":
                reason = f"unknown path {split.path}"
            elif expiry is None:
                reason = f"unknown or already used ticket {ticket!r}"
            elif expiry < time.monotonic():
                reason = f"expired ticket {ticket!r}"
            if reason:
                self.rejected_handshakes.append(reason)
                self._cond.notify_all()
        if reason:
            return connection.respond(HTTPStatus.UNAUTHORIZED, f"invalid ticket: {reason}\n")
        return None

    async def _ws_handler(self, ws: Any) -> None:
        conn = _Conn(uuid.uuid4().hex, ws, time.monotonic())
        with self._cond:
            self._conns[conn.conn_id] = conn
            self._connections_total += 1
            waiting = [mid for mid, p in self._pending.items()
                       if p.conn_id is None and (p.attempts == 0 or p.redeliver)]
            self._cond.notify_all()
        conn.tasks.append(asyncio.get_running_loop().create_task(self._ping_loop(conn)))
        for mid in waiting:                          # frames pushed while disconnected / lost with the last socket
            await self._deliver(mid, "orphan")
        try:
            async for message in ws:
                self._on_client_frame(conn, message)
        except ConnectionClosed:
            pass
        finally:
            for task in conn.tasks:
                task.cancel()
            with self._cond:
                self._conns.pop(conn.conn_id, None)
                for p in self._pending.values():
                    if p.conn_id == conn.conn_id:
                        p.conn_id = None
                orphans = [mid for mid, p in self._pending.items() if p.conn_id is None and p.redeliver]
                self._cond.notify_all()
            for mid in orphans:                      # re-sent at once to another open connection, if any
                await self._deliver(mid, "orphan")

    async def _ping_loop(self, conn: _Conn) -> None:
        """SYSTEM ping every ``ping_interval`` s (stream_frame_system_ping.json); the ACK must echo opaque."""
        while True:
            await asyncio.sleep(self.ping_interval)
            opaque = str(uuid.uuid4())
            frame = self._frame("SYSTEM", "ping", {"opaque": opaque})
            with self._cond:
                self._pings[frame["headers"]["messageId"]] = opaque
            await self._send(conn, frame)

    async def _redeliver_loop(self) -> None:
        while True:
            await asyncio.sleep(max(0.02, min(0.2, self.redeliver_after / 5)))
            now = time.monotonic()
            with self._cond:
                due = [mid for mid, p in self._pending.items()
                       if p.redeliver and p.attempts and p.last_sent is not None
                       and now - p.last_sent >= self.redeliver_after
                       and p.attempts <= self.max_redeliveries]
            for mid in due:
                await self._deliver(mid, "timer")

    def _on_client_frame(self, conn: _Conn, message: Any) -> None:
        """An ACK: ``{"code":200,"headers":{"contentType","messageId"},"message":"OK","data":…}``
        (stream_frame_bot_message.json ack, stream_frame_system_ping.json ack)."""
        now = time.monotonic()
        try:
            ack = json.loads(message)
            message_id = ack["headers"]["messageId"]
        except (ValueError, TypeError, KeyError):
            with self._cond:
                self.protocol_errors.append(f"not an ACK: {str(message)[:200]}")
                self._cond.notify_all()
            return
        with self._cond:
            self._acks.append({"time": time.time(), "conn": conn.conn_id, "json": ack})
            if message_id in self._pings:
                opaque = self._pings.pop(message_id)
                try:
                    echoed = json.loads(ack.get("data") or "{}").get("opaque")
                except (ValueError, AttributeError):
                    echoed = None
                self.ping_acks.append(echoed == opaque)
                if echoed != opaque:
                    self.protocol_errors.append(f"ping ACK without the opaque {opaque!r}: {ack!r}")
            elif message_id in self._pending:
                pending = self._pending.pop(message_id)
                if pending.first_sent is not None:
                    seconds = now - pending.first_sent
                    self.ack_latencies.append(AckLatency(pending.topic, seconds, message_id))
                    if seconds > self.late_ack:
                        self.late_acks += 1
                if ack.get("code") != 200:
                    self.protocol_errors.append(f"ACK with code {ack.get('code')!r}: {ack!r}")
            elif any(p["frame"]["headers"].get("messageId") == message_id for p in self._pushes):
                self.duplicate_acks += 1
            else:
                self.protocol_errors.append(f"ACK for an unknown messageId {message_id!r}")
            self._cond.notify_all()

    # -- stream control ---------------------------------------------------------------------

    def send_disconnect(self, grace: float | None = None, reason: str = "connection is expired") -> None:
        """SYSTEM ``disconnect`` to every connection (stream_frame_system_disconnect.json), then the server closes
        each socket after ``grace`` s (default ``disconnect_grace``; the real server: 10 s).  Nothing new is pushed
        to a draining connection; its ACKs still count."""
        grace = self.disconnect_grace if grace is None else grace
        loop = self._require_loop()
        asyncio.run_coroutine_threadsafe(self._disconnect_all(grace, reason), loop).result(5)

    async def _disconnect_all(self, grace: float, reason: str) -> None:
        with self._cond:
            conns = [c for c in self._conns.values() if not c.draining]
            for c in conns:
                c.draining = True
        for conn in conns:
            await self._send(conn, self._frame("SYSTEM", "disconnect", {"reason": reason}))
            conn.tasks.append(asyncio.get_running_loop().create_task(self._close_later(conn, grace)))

    @staticmethod
    async def _close_later(conn: _Conn, grace: float) -> None:
        await asyncio.sleep(grace)
        await conn.ws.close()

    def drop_connections(self) -> None:
        """Abort every stream connection's TCP without a close frame (a network failure)."""
        loop = self._require_loop()

        async def drop() -> None:
            with self._cond:
                conns = list(self._conns.values())
            for conn in conns:
                conn.ws.transport.abort()

        asyncio.run_coroutine_threadsafe(drop(), loop).result(5)

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or not self._loop.is_running():
            raise RuntimeError("FakeDingTalk is not running")
        return self._loop

    # -- HTTP: the open APIs ----------------------------------------------------------------

    def _handle(self, method: str, path: str, query: str, headers: Any, body: bytes
                ) -> tuple[int, bytes, str]:
        route = _ROUTES.get((method, path))
        if route is None and method == "GET" and path.startswith("/_download/"):
            route = ("downloadFile", "_api_download_file")
        if route is None:
            return _json_body(404, DtError.of("not_found").payload())
        api, attr = route
        call = ApiCall(api, time.time(), method, path, None)
        legacy = api == "upload"
        try:
            if legacy:
                request: Any = None
            elif api == "downloadFile":
                request = {"path": path}
            else:
                try:
                    request = json.loads(body or b"{}")
                except ValueError:
                    request = None
                if not isinstance(request, dict):
                    call.json = body[:2000].decode("utf-8", "replace")
                    raise DtError.of("bad_json")
            call.json = request
            status, payload = getattr(self, attr)(call, request, query, headers, body)
        except DtError as exc:
            status, payload = exc.status, exc.payload()
        except _Legacy as exc:
            status, payload = 200, {"errcode": exc.errcode, "errmsg": exc.errmsg}
        except Exception as exc:  # noqa: BLE001 - report emulator bugs to the client and tests
            _LOG.exception("FakeDingTalk failed on %s", path)
            with self._cond:
                self.internal_errors.append(traceback.format_exc())
            status, payload = 500, {"code": "InternalError", "message": repr(exc),
                                    "requestid": str(uuid.uuid4()).upper()}
        call.status = status
        if isinstance(payload, (bytes, bytearray)):
            call.response = {"bytes": len(payload)}
            result = (status, bytes(payload), "application/octet-stream")
        else:
            call.response = payload
            result = _json_body(status, payload)
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()
        return result

    def _gate(self, call: ApiCall, targets: set[str] | None = None, *, token: str | None = None,
              check_token: bool = True) -> dict[str, Any] | None:
        """Delay, injected fault, token check — in this order.  Returns a "flow" fault for the caller."""
        targets = targets or set()
        with self._cond:
            delay = self._take(self._delays, call.api, targets)
            fault = self._take(self._faults, call.api, targets)
        if delay:
            time.sleep(delay["seconds"])
        legacy = call.api == "upload"
        if fault and fault["kind"] != "flow":
            kind = fault["kind"]
            if legacy and kind in ("qps", "quota", "expired_token"):
                raise _Legacy(*LEGACY[kind])
            raise DtError.of(kind)
        if check_token:
            self._check_token(token, legacy=legacy)
        return fault

    def _check_token(self, token: str | None, *, legacy: bool = False) -> None:
        with self._cond:
            expiry = self._tokens.get(token or "")
        if not token:
            if legacy:
                raise _Legacy(*LEGACY["unknown_token"])
            raise DtError.of("missing_token")
        if expiry is None:
            if legacy:
                raise _Legacy(*LEGACY["unknown_token"])
            raise DtError.of("unknown_token")
        if expiry <= time.monotonic():
            if legacy:
                raise _Legacy(*LEGACY["expired_token"])
            raise DtError.of("expired_token")

    @staticmethod
    def _header_token(headers: Any) -> str | None:
        return headers.get("x-acs-dingtalk-access-token")

    def _api_token(self, call: ApiCall, req: dict[str, Any], query: str, headers: Any, body: bytes):
        """POST /v1.0/oauth2/accessToken {"appKey","appSecret"} -> {"accessToken","expireIn"} (access_token.json).
        Wrong credentials: 400 invalidClientIdOrSecret (ours: the error body is not documented)."""
        call.json = {**req, "appSecret": "***"} if "appSecret" in req else req
        self._gate(call, check_token=False)
        if req.get("appKey") != self.client_id or req.get("appSecret") != self.client_secret:
            raise DtError.of("bad_app_secret")
        token = secrets.token_hex(16)
        with self._cond:
            self._tokens[token] = time.monotonic() + self.token_ttl
        return 200, {"accessToken": token, "expireIn": int(self.token_ttl)}

    def _api_open(self, call: ApiCall, req: dict[str, Any], query: str, headers: Any, body: bytes):
        """POST /v1.0/gateway/connections/open (stream_connections_open.json): {"endpoint","ticket"}."""
        call.json = {**req, "clientSecret": "***"} if "clientSecret" in req else req
        self._gate(call, check_token=False)
        if req.get("clientId") != self.client_id or req.get("clientSecret") != self.client_secret:
            raise DtError.of("bad_app_secret")
        ticket = str(uuid.uuid4())
        with self._cond:
            now = time.monotonic()
            self._tickets = {t: e for t, e in self._tickets.items() if e > now}
            self._tickets[ticket] = now + TICKET_TTL
        return 200, {"endpoint": self.ws_url, "ticket": ticket}

    def _parse_msg(self, req: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """msgKey/msgParam (robot_msg_keys.json; sampleFile keys per WIRE.md): msgParam is a JSON string."""
        if req.get("robotCode") != self.client_id:
            raise DtError.of("robotCode_auth")
        msg_key = req.get("msgKey")
        if msg_key not in MSG_KEYS:
            raise DtError.of("msgKey_invalid")
        raw = req.get("msgParam")
        try:
            param = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            param = None
        if not isinstance(param, dict):
            raise DtError.of("msgParam_invalid")
        need = {"sampleText": "content", "sampleMarkdown": "text", "sampleFile": "mediaId"}[msg_key]
        if not isinstance(param.get(need), str):
            raise DtError.of("msgParam_invalid")
        if msg_key == "sampleFile":
            with self._cond:
                if param["mediaId"] not in self._media:
                    raise DtError.of("unknown_media")
        return msg_key, param

    def _record(self, chat_key: str, ref: str, msg_key: str, param: dict[str, Any]) -> BotMessage:
        if msg_key == "sampleFile":
            filename, data, _ = self._media[param["mediaId"]]
            message = BotMessage("file", chat_key, ref, msg_key=msg_key, msg_param=param,
                                 filename=param.get("fileName") or filename, data=data)
        elif msg_key == "sampleMarkdown":
            message = BotMessage("markdown", chat_key, ref, msg_key=msg_key, msg_param=param, text=param["text"])
        else:
            message = BotMessage("text", chat_key, ref, msg_key=msg_key, msg_param=param, text=param["content"])
        self._messages.setdefault(chat_key, []).append(message)
        return message

    def _api_batch_send(self, call: ApiCall, req: dict[str, Any], query: str, headers: Any, body: bytes):
        """POST /v1.0/robot/oToMessages/batchSend (robot_batch_send.json): ≤ 20 userIds; unknown users and users
        outside the visible range -> invalidStaffIdList (documented field; behaviour ours)."""
        user_ids = req.get("userIds")
        ids = {str(u) for u in user_ids} if isinstance(user_ids, list) else set()
        fault = self._gate(call, ids, token=self._header_token(headers))
        if not isinstance(user_ids, list) or not user_ids:
            raise DtError.of("userIds_empty")
        if len(user_ids) > MAX_BATCH_USERS:
            raise DtError.of("userIds_overMax")
        msg_key, param = self._parse_msg(req)
        key = base64.b64encode(secrets.token_bytes(24)).decode()
        invalid, flow = [], []
        with self._cond:
            for uid in (str(u) for u in user_ids):
                if uid not in self._users or uid in self._outside:
                    invalid.append(uid)
                elif fault and (fault["target"] is None or fault["target"] == uid):
                    flow.append(uid)
                else:
                    self._record("user:" + uid, key, msg_key, param)
        return 200, {"processQueryKey": key, "invalidStaffIdList": invalid, "flowControlledStaffIdList": flow}

    def _api_group_send(self, call: ApiCall, req: dict[str, Any], query: str, headers: Any, body: bytes):
        """POST /v1.0/robot/groupMessages/send (robot_group_send.json): msgParam ≤ 15,000 bytes; the robot must be
        in the group (400 invalidParameter.openConversationId.*: ours, WIRE.md)."""
        cid = str(req.get("openConversationId") or "")
        self._gate(call, {cid}, token=self._header_token(headers))
        msg_key, param = self._parse_msg(req)
        if len(str(req.get("msgParam")).encode("utf-8")) > MAX_GROUP_MSGPARAM_BYTES:
            raise DtError.of("msgparam_too_long")
        with self._cond:
            group = self._groups.get(cid)
            if group is None:
                raise DtError.of("unknown_group")
            if not group.robot:
                raise DtError.of("robot_not_in_group")
            key = base64.b64encode(secrets.token_bytes(24)).decode()
            self._record(group.key, key, msg_key, param)
        return 200, {"processQueryKey": key}

    def _api_upload(self, call: ApiCall, req: Any, query: str, headers: Any, body: bytes):
        """POST {oapi}/media/upload?access_token=… multipart type/media (media_upload.json): ≤ 20 MB per the
        documented limits; answers errcode/errmsg (legacy) with media_id."""
        token = (parse_qs(query).get("access_token") or [None])[0]
        ctype = headers.get("Content-Type", "")
        match = re.search(r'boundary="?([^";]+)"?', ctype, re.IGNORECASE)
        fields, files = (_parse_multipart(body, match.group(1).encode("latin-1"))
                         if match and ctype.lower().startswith("multipart/form-data") else ({}, {}))
        media = files.get("media")
        call.json = {"query": {k: v for k, v in parse_qs(query).items() if k != "access_token"},
                     "fields": fields, "filename": media.filename if media else None,
                     "size": len(media.data) if media else None}
        self._gate(call, token=token)
        if media is None:
            raise _Legacy(*LEGACY["no_media"])
        mtype = fields.get("type") or (parse_qs(query).get("type") or [""])[0]
        limits = {"image": 20, "voice": 2, "video": 20, "file": 20}       # media_upload.json limits (MB)
        if mtype not in limits:
            raise _Legacy(*LEGACY["bad_type"])
        if len(media.data) > limits[mtype] * 1024 * 1024:
            raise _Legacy(*LEGACY["too_large"])
        media_id = "@" + base64.b64encode(secrets.token_bytes(15)).decode()
        with self._cond:
            self._media[media_id] = (media.filename or "file", media.data, mtype)
        return 200, {"errcode": 0, "errmsg": "ok", "type": mtype, "media_id": media_id,
                     "created_at": int(time.time() * 1000)}

    def _api_download(self, call: ApiCall, req: dict[str, Any], query: str, headers: Any, body: bytes):
        """POST /v1.0/robot/messageFiles/download {"downloadCode","robotCode"} -> {"downloadUrl"}
        (robot_message_file_download.json); the URL is served by this emulator at ``/_download/<token>``."""
        self._gate(call, token=self._header_token(headers))
        if req.get("robotCode") != self.client_id:
            raise DtError.of("robotCode_auth")
        with self._cond:
            stored = self._download_codes.get(str(req.get("downloadCode")))
            if stored is None:
                raise DtError.of("unknown_download_code")
            url_token = secrets.token_urlsafe(16)
            self._download_urls[url_token] = stored
        return 200, {"downloadUrl": f"{self.openapi_url}/_download/{url_token}"}

    def _api_download_file(self, call: ApiCall, req: Any, query: str, headers: Any, body: bytes):
        """GET downloadUrl: the bytes (a temporary link, no token header — doc steps 1-3)."""
        self._gate(call, check_token=False)
        with self._cond:
            stored = self._download_urls.get(call.path[len("/_download/"):])
        if stored is None:
            raise DtError.of("not_found")
        return 200, stored[1]

    def _space(self, req: dict[str, Any]) -> tuple[str, FakeUser | FakeGroup | None, str]:
        """openSpaceId ``dtv1.card//IM_GROUP.<cid>`` / ``dtv1.card//IM_ROBOT.<staffId>`` (interactive_cards.json)."""
        match = re.fullmatch(r"dtv1\.card//(IM_GROUP|IM_ROBOT)\.(.+)", str(req.get("openSpaceId") or ""))
        if not match:
            raise DtError.of("bad_open_space")
        kind, ident = match.groups()
        with self._cond:
            if kind == "IM_GROUP":
                return kind, self._groups.get(ident), ident
            return kind, (None if ident in self._outside else self._users.get(ident)), ident

    def _api_card_create(self, call: ApiCall, req: dict[str, Any], query: str, headers: Any, body: bytes):
        """POST /v1.0/card/instances/createAndDeliver (interactive_cards.json, as the SDK builds it) ->
        ``{"success":true,"result":{"outTrackId"}}`` (WIRE.md, ours).  ``cardParamMap.content`` is the text,
        ``cardParamMap.buttons`` a JSON string of rows of ``{"text","data"}`` (WIRE.md)."""
        space = re.fullmatch(r"dtv1\.card//IM_(?:GROUP|ROBOT)\.(.+)", str(req.get("openSpaceId") or ""))
        self._gate(call, {space.group(1)} if space else set(), token=self._header_token(headers))
        kind, target, ident = self._space(req)
        out_track_id = str(req.get("outTrackId") or "")
        params = (req.get("cardData") or {}).get("cardParamMap")
        if not out_track_id or not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            raise DtError.of("bad_card_data")
        with self._cond:
            if kind == "IM_GROUP":
                if target is None:
                    raise DtError.of("unknown_group")
                if not target.robot:
                    raise DtError.of("robot_not_in_group")
            elif target is None:
                # user unknown / outside the visible range: delivered nowhere (deliverResults shape: ours)
                return 200, {"success": True, "result": {"outTrackId": out_track_id, "deliverResults": [
                    {"spaceType": kind, "spaceId": ident, "success": False,
                     "errorMsg": "user not found or outside the app's visible range"}]}}
            card = BotMessage("card", target.key, out_track_id, text=params.get("content", ""),
                              card_params=params)
            card.msg_param = copy.deepcopy(req)
            self._cards[out_track_id] = card
            self._messages.setdefault(target.key, []).append(card)
        return 200, {"success": True, "result": {"outTrackId": out_track_id, "deliverResults": [
            {"spaceType": kind, "spaceId": ident, "success": True}]}}

    def _api_card_update(self, call: ApiCall, req: dict[str, Any], query: str, headers: Any, body: bytes):
        """PUT /v1.0/card/instances (interactive_cards.json): merge by key with
        ``cardUpdateOptions.updateCardDataByKey`` (WIRE.md), else replace -> ``{"success":true}`` (ours)."""
        out_track_id = str(req.get("outTrackId") or "")
        with self._cond:
            card = self._cards.get(out_track_id)
        self._gate(call, {card.chat_key.split(":", 1)[1]} if card else set(), token=self._header_token(headers))
        if card is None:
            raise DtError.of("unknown_card")
        params = (req.get("cardData") or {}).get("cardParamMap")
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            raise DtError.of("msgParam_invalid")
        by_key = bool((req.get("cardUpdateOptions") or {}).get("updateCardDataByKey"))
        with self._cond:
            card.card_params = {**card.card_params, **params} if by_key else dict(params)
            card.text = card.card_params.get("content", "")
            card.updates += 1
        return 200, {"success": True, "result": True}

    # -- HTTP control surface ---------------------------------------------------------------

    def _handle_control(self, name: str, data: dict[str, Any]) -> Any:
        def user() -> FakeUser:
            return self.user(str(data["user_id"]), data.get("nick"))

        def chat() -> FakeGroup | None:
            if data.get("chat_id") in (None, ""):
                return None
            return self.group(str(data["chat_id"]), data.get("chat_title"))

        if name == "send":
            return user().send(str(data["text"]), chat=chat(), at_bot=bool(data.get("at_bot", True)))
        if name == "send_file":
            return user().send_file(base64.b64decode(data["data_base64"]), str(data.get("filename", "file.bin")))
        if name == "press":
            if data.get("text") is not None:
                return user().press(str(data["ref"]), str(data["text"]))
            return user().press_data(str(data["ref"]), str(data["data"]))
        if name == "group":
            g = self.group(str(data["chat_id"]), data.get("title"),
                           members=[self.user(str(m)) for m in data.get("members") or []])
            if "robot" in data:
                (g.add_robot if data["robot"] else g.remove_robot)()
            return {"chat_id": g.cid, "title": g.title, "members": [m.staff_id for m in g.members],
                    "robot": g.robot}
        if name == "outside":
            self.outside_visible_range(str(data["user_id"]), bool(data.get("outside", True)))
            return True
        if name == "fail":
            self.fail(str(data["api"]), str(data["kind"]), data.get("times", 1), data.get("target"))
            return True
        if name == "delay":
            self.delay(str(data["api"]), float(data["seconds"]), data.get("times"))
            return True
        if name == "calls":
            return [c.to_json() for c in self.calls[int(data.get("since", 0)):]]
        if name == "sent":
            target = (f"group:{data['chat_id']}" if data.get("chat_id") not in (None, "")
                      else f"user:{data['user_id']}")
            return [m.to_json() for m in self.sent_to(target)]
        if name == "stats":
            with self._cond:
                return {"connections": len(self._conns), "connections_total": self._connections_total,
                        "pushes": len(self._pushes), "acks": len(self._acks), "pending": list(self._pending),
                        "ack_latencies": [list(a) for a in self.ack_latencies], "late_acks": self.late_acks,
                        "duplicate_acks": self.duplicate_acks, "protocol_errors": list(self.protocol_errors)}
        if name == "disconnect":
            self.send_disconnect(data.get("grace"))
            return True
        if name == "drop":
            self.drop_connections()
            return True
        if name == "expire_tokens":
            self.expire_tokens()
            return True
        raise KeyError(f"unknown control endpoint {name!r}")


#: (HTTP method, path) -> (api name, handler).  Paths: WIRE.md's endpoint table.
_ROUTES = {
    ("POST", "/v1.0/oauth2/accessToken"): ("token", "_api_token"),
    ("POST", "/v1.0/gateway/connections/open"): ("open", "_api_open"),
    ("POST", "/v1.0/robot/oToMessages/batchSend"): ("batchSend", "_api_batch_send"),
    ("POST", "/v1.0/robot/groupMessages/send"): ("groupSend", "_api_group_send"),
    ("POST", "/media/upload"): ("upload", "_api_upload"),
    ("POST", "/v1.0/robot/messageFiles/download"): ("download", "_api_download"),
    ("POST", "/v1.0/card/instances/createAndDeliver"): ("cardCreate", "_api_card_create"),
    ("PUT", "/v1.0/card/instances"): ("cardUpdate", "_api_card_update"),
}


def _json_body(status: int, payload: Any) -> tuple[int, bytes, str]:
    return status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), "application/json;charset=utf-8"


class _Handler(EmulatorHandler):
    server_version = "FakeDingTalk/1.0"
    logger = _LOG

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
            split = urlsplit(self.path)
            if split.path.startswith("/_control/"):
                data: dict[str, Any] = {k: v[-1] for k, v in parse_qs(split.query).items()}
                try:
                    if body:
                        data.update(json.loads(body))
                    result = self.emulator._handle_control(split.path[len("/_control/"):], data)
                except (LookupError, ValueError, TypeError, RuntimeError) as exc:
                    self._send(*_json_body(400, {"ok": False, "description": f"{exc!r}"}))
                    return
                self._send(*_json_body(200, {"ok": True, "result": result}))
                return
            self._send(*self.emulator._handle(self.command, split.path, split.query, self.headers, body))
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = _dispatch



def main(argv: list[str] | None = None) -> None:
    """Run the emulator standalone until interrupted (for a demo or a benchmark)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--ws-port", type=int, default=8091)
    parser.add_argument("--client-id", default="dingappkey")
    parser.add_argument("--client-secret", default="s3cret")
    args = parser.parse_args(argv)
    dt = FakeDingTalk(args.client_id, args.client_secret, host=args.host, port=args.port,
                      ws_port=args.ws_port).start()
    serve_until_interrupted(dt, f"FakeDingTalk listening\n  openapi/oapi = {dt.openapi_url}\n"
                                f"  stream       = {dt.ws_url}\n  client_id    = {dt.client_id}")


if __name__ == "__main__":
    main()
