"""The normalised events and actions between a messenger adapter and the bridge (SPEC §11).

An adapter (e.g. `bot.runtime.dingtalk.adapter.DingTalkMessenger`) implements `Messenger`: it turns what its
messenger pushes into the events below and hands each to the bridge's `sink` — which stores it durably and only
then returns, so the adapter acknowledges an event to its messenger only after it is stored — and it performs
the actions below on the messenger's open APIs. Its failures are the `MessengerError`s below; the bridge maps
them to the Bot API's error answers, so the outbox's retry, backoff and "unreachable" handling work unchanged.

Nothing here knows Telegram or any messenger: ids are the messenger's own strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Awaitable, Callable, Literal, Protocol, Sequence

ChatKind = Literal["private", "group"]


@dataclass(frozen=True)
class Sender:
    external_id: str  # 钉钉: senderStaffId (the userId inside the organisation)
    name: str = ""


@dataclass(frozen=True)
class Chat:
    kind: ChatKind
    external_id: str  # private: the other person's external id (= Sender.external_id); group: the conversation id
    title: str = ""


@dataclass(frozen=True)
class IncomingFile:
    name: str
    ref: str  # what `Messenger.download` needs (钉钉: the downloadCode)
    size: int | None = None


@dataclass(frozen=True)
class IncomingMessage:
    event_id: str  # unique per message on the messenger (钉钉: msgId); a re-delivery has the same id
    sender: Sender
    chat: Chat
    text: str = ""  # the bot's @-mention already removed
    file: IncomingFile | None = None
    sent_at: float = 0.0  # unix seconds (0 = unknown: the bridge uses the time it stored it)


@dataclass(frozen=True)
class ButtonPress:
    event_id: str  # unique per press (钉钉: the stream frame's messageId)
    sender: Sender
    message_ref: str  # the ref `Messenger.send_text` returned for the pressed message (钉钉: outTrackId)
    data: str  # the button's callback data, as the bot gave it
    chat: Chat | None = None  # when the messenger says where the message is


Event = IncomingMessage | ButtonPress
Sink = Callable[[Event], Awaitable[None]]


@dataclass(frozen=True)
class Button:
    text: str
    data: str  # callback data (≤ 64 bytes, SPEC §11); URL buttons are not part of the portable subset


Keyboard = Sequence[Sequence[Button]]


@dataclass(frozen=True)
class Sent:
    ref: str  # the messenger's id of what was sent (钉钉: a card's outTrackId, a message's processQueryKey)
    editable: bool


# --- failures ------------------------------------------------------------------------------------------------


class MessengerError(Exception):
    """A failed action. `description` is one line for logs and the outbox's last_error."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class RateLimited(MessengerError):
    """Flow control or quota: try again after `retry_after` seconds (the outbox pauses, like for a 429)."""

    def __init__(self, description: str, retry_after: float = 5.0) -> None:
        super().__init__(description)
        self.retry_after = retry_after


class Unreachable(MessengerError):
    """This recipient cannot be reached (outside the app's visible range, left the organisation, not a member of
    the group): the outbox fails the chat's messages and tells the admins once, like a user who blocked the bot."""


class Transient(MessengerError):
    """A 5xx, a timeout, a dropped connection: retried with backoff for as long as it takes."""


class Rejected(MessengerError):
    """The messenger refused the request itself (a bad parameter): retrying cannot help."""


class TooLarge(MessengerError):
    """A file over the messenger's size limit (`limit` bytes)."""

    def __init__(self, description: str, limit: int) -> None:
        super().__init__(description)
        self.limit = limit


class Messenger(Protocol):
    """What the bridge needs of a messenger. Every call is async and must not block the event loop."""

    name: str  # "dingtalk": the namespace of the bridge's id and event tables
    max_file_bytes: int  # the largest file `send_file` accepts

    async def start(self, sink: Sink) -> None:
        """Connect and start delivering events to `sink` in the background (reconnecting as needed). The adapter
        acknowledges an event only after `await sink(event)` returned; if it raised, the event is not
        acknowledged (the messenger may re-deliver it)."""

    async def stop(self) -> None:
        """Stop receiving and close connections."""

    async def send_text(self, chat: Chat, text: str, keyboard: Keyboard | None = None, *,
                        editable: bool = False, ref: str | None = None) -> Sent:
        """Send `text` (plain text). With a keyboard, or when `editable`, send something `edit` can change
        later (钉钉: an interactive card) and use `ref` as its id when given: the bridge records an editable message
        before sending it, so a crash between the send and the record cannot leave a card whose presses lead
        nowhere."""

    async def edit(self, chat: Chat, ref: str, text: str, keyboard: Keyboard | None = None) -> None:
        """Replace the text and buttons of an editable message sent earlier (no keyboard = no buttons)."""

    async def send_file(self, chat: Chat, filename: str, data: bytes, caption: str = "") -> Sent:
        """Send a file (raises TooLarge over `max_file_bytes`)."""

    async def download(self, file: IncomingFile | str) -> bytes:
        """The bytes of a file a user sent (`IncomingFile.ref`)."""

    async def answer_press(self, press_event_id: str, text: str = "", alert: bool = False,
                           presser: Sender | None = None) -> None:
        """Acknowledge a press to the user who pressed (`presser`; a toast where the messenger has one). Without text
        it may do nothing; a text must reach the presser."""


@dataclass
class BotIdentity:
    """What getMe answers."""

    user_id: int
    first_name: str
    username: str
    extra: dict = field(default_factory=dict)
