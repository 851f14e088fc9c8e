"""`DingTalkMessenger`: `bot.runtime.platform.base.Messenger` on 钉钉 (Stream mode + the robot/card open APIs)."""

from __future__ import annotations

import json
import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from bot.runtime.dingtalk.client import (
    MAX_FILE_BYTES,
    TOPIC_BOT_MESSAGE,
    TOPIC_CARD_CALLBACK,
    DingTalkClient,
)
from bot.runtime.dingtalk.stream import Handler, StreamConnection, StreamFrame
from bot.runtime.platform.base import (
    ButtonPress,
    Chat,
    IncomingFile,
    IncomingMessage,
    Keyboard,
    Rejected,
    Sender,
    Sent,
    Sink,
    TooLarge,
)

log = logging.getLogger(__name__)

_LEADING_MENTION = re.compile(r"^@\S*\s+")
_PRESSERS_KEPT = 10_000


def message_text(payload: dict) -> str:
    """A text message's text without the leading whitespace 钉钉 leaves where the bot's @-mention was, nor a
    literal leading "@name " (a group message)."""
    text = ((payload.get("text") or {}).get("content") or "") if isinstance(payload.get("text"), dict) else ""
    text = text.strip()
    if payload.get("conversationType") == "2":
        text = _LEADING_MENTION.sub("", text, count=1).strip()
    return text


def incoming_message(payload: dict) -> IncomingMessage:
    """A bot-message payload (bot_incoming_messages.json) as an IncomingMessage. Pictures, audio, video, rich
    text and unknown types come as text "" without a file: the bridge answers "unsupported"."""
    staff_id = str(payload.get("senderStaffId") or payload.get("senderId") or "")
    sender = Sender(staff_id, str(payload.get("senderNick") or ""))
    if payload.get("conversationType") == "2":
        chat = Chat("group", str(payload.get("conversationId") or ""), str(payload.get("conversationTitle") or ""))
    else:
        chat = Chat("private", staff_id, sender.name)
    created = payload.get("createAt") or payload.get("createA") or 0
    try:
        sent_at = float(created) / 1000
    except (TypeError, ValueError):
        sent_at = 0.0
    kind = payload.get("msgtype")
    text, file = "", None
    content = payload.get("content") if isinstance(payload.get("content"), dict) else {}
    if kind == "text":
        text = message_text(payload)
    elif kind == "file" and content.get("downloadCode"):
        size = content.get("fileSize")
        file = IncomingFile(str(content.get("fileName") or "file"), str(content["downloadCode"]),
                            int(size) if isinstance(size, (int, str)) and str(size).isdigit() else None)
    return IncomingMessage(event_id=str(payload.get("msgId") or ""), sender=sender, chat=chat, text=text,
                           file=file, sent_at=sent_at)


def button_press(message_id: str, payload: dict) -> ButtonPress:
    """A card callback (WIRE.md) as a ButtonPress: data = content.cardPrivateData.params.data."""
    content: Any = payload.get("content") or {}
    if isinstance(content, str):
        content = json.loads(content) if content.strip() else {}
    params = ((content.get("cardPrivateData") or {}).get("params") or {}) if isinstance(content, dict) else {}
    user_id = str(payload.get("userId") or "")
    space_type, space_id = payload.get("spaceType"), payload.get("spaceId")
    chat = None
    if space_type == "IM_GROUP" and space_id:
        chat = Chat("group", str(space_id))
    elif space_type == "IM_ROBOT":
        chat = Chat("private", user_id)  # a private chat is named by the other person's staff id
    return ButtonPress(event_id=message_id, sender=Sender(user_id), message_ref=str(payload.get("outTrackId") or ""),
                       data=str(params.get("data") or ""), chat=chat)


class DingTalkMessenger:
    name = "dingtalk"
    max_file_bytes = MAX_FILE_BYTES

    def __init__(self, client: DingTalkClient, *, robot_code: str, card_template_id: str,
                 stream: Callable[[Handler], StreamConnection] | None = None) -> None:
        """`stream` makes the StreamConnection for a handler (default: StreamConnection(client, handler))."""
        self.client = client
        self.robot_code = robot_code
        self.card_template_id = card_template_id
        self._make_stream = stream or (lambda handler: StreamConnection(client, handler))
        self.stream: StreamConnection | None = None
        self._sink: Sink | None = None
        self._pressers: OrderedDict[str, str] = OrderedDict()  # press event_id → the presser's staff id

    # --- events -------------------------------------------------------------------------------------------------

    async def start(self, sink: Sink) -> None:
        self._sink = sink
        self.stream = self._make_stream(self._handle)
        self.stream.start()

    async def stop(self) -> None:
        if self.stream is not None:
            await self.stream.stop()
            self.stream = None
        await self.client.aclose()

    async def _handle(self, frame: StreamFrame) -> None:
        if self._sink is None:
            raise RuntimeError("not started")
        if frame.topic == TOPIC_BOT_MESSAGE:
            await self._sink(incoming_message(frame.data))
        elif frame.topic == TOPIC_CARD_CALLBACK:
            press = button_press(frame.message_id, frame.data)
            self._pressers[press.event_id] = press.sender.external_id
            while len(self._pressers) > _PRESSERS_KEPT:
                self._pressers.popitem(last=False)
            await self._sink(press)

    # --- actions ------------------------------------------------------------------------------------------------

    async def send_text(self, chat: Chat, text: str, keyboard: Keyboard | None = None, *,
                        editable: bool = False, ref: str | None = None) -> Sent:
        if keyboard or editable:
            ref = await self.client.send_card(chat, text, keyboard, robot_code=self.robot_code,
                                              card_template_id=self.card_template_id, out_track_id=ref)
            return Sent(ref, editable=True)
        if chat.kind == "group":
            ref = await self.client.send_group_text(chat.external_id, text, robot_code=self.robot_code)
        else:
            ref = await self.client.send_private_text(chat.external_id, text, robot_code=self.robot_code)
        return Sent(ref, editable=False)

    async def edit(self, chat: Chat, ref: str, text: str, keyboard: Keyboard | None = None) -> None:
        await self.client.update_card(ref, text, keyboard)

    async def send_file(self, chat: Chat, filename: str, data: bytes, caption: str = "") -> Sent:
        if len(data) > self.max_file_bytes:
            raise TooLarge(f"{filename}: {len(data)} bytes is over {self.max_file_bytes}", self.max_file_bytes)
        media_id = await self.client.upload_file(filename, data)
        ref = await self.client.send_file(chat, media_id, filename, robot_code=self.robot_code)
        if caption:  # sampleFile has no caption: the caption follows as a text
            await self.send_text(chat, caption)
        return Sent(ref, editable=False)

    async def download(self, file: IncomingFile | str) -> bytes:
        return await self.client.download(file if isinstance(file, str) else file.ref, robot_code=self.robot_code)

    async def answer_press(self, press_event_id: str, text: str = "", alert: bool = False,
                           presser: Sender | None = None) -> None:
        """钉钉 has no toast for a card press: nothing without text; with text, a private message to the presser
        (`presser`, which the bridge reads from the stored press — this process may not have seen it arrive)."""
        if not text:
            return
        staff_id = presser.external_id if presser is not None else self._pressers.get(press_event_id)
        if staff_id is None:
            raise Rejected(f"answer to press {press_event_id}: the presser is unknown")
        await self.client.send_private_text(staff_id, text, robot_code=self.robot_code)
