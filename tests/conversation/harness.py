"""Drive the real Application offline: a `BaseRequest` stub answers the Bot API like Telegram and records every
call; `Chat` builds updates as a user would send them and feeds them through `process_update`.

Tests read like a transcript:
    await chat.as_user(admin).send("/invite 张三")
    assert "邀请码" in chat.last_text()
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.request import BaseRequest, RequestData

BOT_ID = 999000
BOT_USERNAME = "shuangsui_test_bot"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.params.get("text") or self.params.get("caption") or ""

    @property
    def chat_id(self) -> int | None:
        cid = self.params.get("chat_id")
        return int(cid) if cid is not None else None

    def buttons(self) -> list[tuple[str, str]]:
        markup = self.params.get("reply_markup") or {}
        if isinstance(markup, str):
            markup = json.loads(markup)
        return [(b["text"], b.get("callback_data", "")) for row in markup.get("inline_keyboard", []) for b in row]


class StubRequest(BaseRequest):
    """Answers like the Bot API; records calls. Files sent by users are served from `files`."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.files: dict[str, bytes] = {}
        self._msg_ids = itertools.count(10_000)
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.reject: dict[str, str] = {}  # Bot API method → the description of a 400 answer (recorded as called)

    @property
    def sent_texts(self) -> list[str]:
        """Texts of the messages the bot sent, in order."""
        return [c.params["text"] for c in self.calls if c.method == "sendMessage"]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    def _message(self, chat_id: int, text: str | None = None, **extra: Any) -> dict[str, Any]:
        mid = next(self._msg_ids)
        chat_type = "private" if chat_id > 0 else "supergroup"
        msg = {"message_id": mid, "date": int(time.time()), "chat": {"id": chat_id, "type": chat_type},
               "from": {"id": BOT_ID, "is_bot": True, "first_name": "抽查助手", "username": BOT_USERNAME}}
        if text is not None:
            msg["text"] = text
        msg.update(extra)
        self.messages[(chat_id, mid)] = msg
        return msg

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout=None, write_timeout=None, connect_timeout=None, pool_timeout=None):
        if "/file/bot" in url:
            path = url.split("/file/bot", 1)[1].split("/", 1)[1]
            return 200, self.files[path]
        api_method = url.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(request_data.parameters) if request_data else {}
        for key in ("reply_markup",):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        files: dict[str, tuple[str, bytes]] = {}
        if request_data and request_data.contains_files:
            for name, value in request_data.multipart_data.items():
                if isinstance(value, tuple) and len(value) >= 2 and isinstance(value[1], bytes):
                    files[name] = (value[0], value[1])
        self.calls.append(Call(api_method, params, files))
        if api_method in self.reject:
            return 400, json.dumps({"ok": False, "error_code": 400, "description": self.reject[api_method]}).encode()
        result = self._result(api_method, params, files)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _result(self, method: str, params: dict[str, Any], files: dict) -> Any:
        if method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "抽查助手", "username": BOT_USERNAME,
                    "can_join_groups": True, "can_read_all_group_messages": False,
                    "supports_inline_queries": False}
        if method == "sendMessage":
            return self._message(int(params["chat_id"]), params.get("text"),
                                 **({"reply_markup": params["reply_markup"]} if params.get("reply_markup") else {}))
        if method == "sendDocument":
            fname = files["document"][0] if "document" in files else "file"
            return self._message(int(params["chat_id"]), None, caption=params.get("caption"),
                                 document={"file_id": f"sent-{fname}", "file_unique_id": "u", "file_name": fname})
        if method in ("editMessageText", "editMessageReplyMarkup"):
            key = (int(params["chat_id"]), int(params["message_id"]))
            msg = self.messages.get(key) or self._message(*key)
            if "text" in params:
                msg["text"] = params["text"]
            if params.get("reply_markup"):
                msg["reply_markup"] = params["reply_markup"]
            else:
                msg.pop("reply_markup", None)
            return msg
        if method == "getFile":
            return {"file_id": params["file_id"], "file_unique_id": "u", "file_path": params["file_id"],
                    "file_size": len(self.files.get(params["file_id"], b""))}
        return True


class Chat:
    """Sends updates as users; reads what the bot answered."""

    def __init__(self, app, request: StubRequest):
        self.app = app
        self.request = request
        self._update_ids = itertools.count(1)
        self._msg_ids = itertools.count(1)
        self.user: dict[str, Any] = {}
        self.chat: dict[str, Any] = {}
        self.mark = 0

    def as_user(self, user_id: int, first_name: str = "用户", language_code: str = "zh-hans",
                chat_id: int | None = None, chat_type: str = "private", title: str = "联合抽查工作群") -> "Chat":
        self.user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code}
        cid = user_id if chat_id is None else chat_id
        self.chat = {"id": cid, "type": chat_type} if chat_type == "private" else \
            {"id": cid, "type": chat_type, "title": title}
        return self

    def in_group(self, chat_id: int, title: str = "联合抽查工作群") -> "Chat":
        self.chat = {"id": chat_id, "type": "supergroup", "title": title}
        return self

    async def _feed(self, payload: dict[str, Any]) -> None:
        self.mark = len(self.request.calls)
        update = Update.de_json({"update_id": next(self._update_ids), **payload}, self.app.bot)
        await self.app.process_update(update)

    def _msg(self, **extra: Any) -> dict[str, Any]:
        return {"message_id": next(self._msg_ids), "date": int(time.time()), "chat": self.chat,
                "from": self.user, **extra}

    async def send(self, text: str) -> None:
        extra: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            extra["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        await self._feed({"message": self._msg(**extra)})

    async def send_document(self, data: bytes, filename: str, mime: str | None = None, *,
                            caption: str | None = None) -> None:
        file_id = f"documents/file_{next(self._msg_ids)}.bin"
        self.request.files[file_id] = data
        doc = {"file_id": file_id, "file_unique_id": file_id, "file_name": filename, "file_size": len(data),
               "mime_type": mime or "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
        extra = {"caption": caption} if caption is not None else {}
        await self._feed({"message": self._msg(document=doc, **extra)})

    async def press_data(self, data: str, message: dict[str, Any] | None = None) -> None:
        message = message or {"message_id": 1, "date": int(time.time()), "chat": self.chat,
                              "from": {"id": BOT_ID, "is_bot": True, "first_name": "抽查助手"}, "text": "…"}
        await self._feed({"callback_query": {"id": str(next(self._msg_ids)), "from": self.user,
                                             "chat_instance": "ci", "data": data, "message": message}})

    async def press(self, button_text: str) -> None:
        """Press the inline button (text starting with `button_text`) on the latest bot message that has it."""
        for call in reversed(self.request.calls):
            for text, data in call.buttons():
                if text.startswith(button_text):
                    msg = self._find_message(call)
                    await self.press_data(data, msg)
                    return
        raise AssertionError(f"no button {button_text!r} in: {[c.buttons() for c in self.request.calls[-5:]]}")

    def _find_message(self, call: Call) -> dict[str, Any] | None:
        chat_id = call.chat_id
        if call.method.startswith("edit"):
            return self.request.messages.get((chat_id, int(call.params["message_id"])))
        for (cid, _mid), msg in reversed(list(self.request.messages.items())):
            if cid == chat_id and msg.get("text") == call.params.get("text"):
                return msg
        return None

    # --- reading the answers
    def replies(self) -> list[Call]:
        """Calls made since the last update was sent."""
        return self.request.calls[self.mark:]

    def texts(self) -> list[str]:
        return [c.text for c in self.replies() if c.text]

    def last_text(self) -> str:
        texts = self.texts()
        assert texts, f"the bot said nothing; calls: {[c.method for c in self.replies()]}"
        return texts[-1]

    def alerts(self) -> list[str]:
        return [c.params.get("text", "") for c in self.replies() if c.method == "answerCallbackQuery"]

    def documents(self) -> list[Call]:
        return [c for c in self.replies() if c.method == "sendDocument"]
