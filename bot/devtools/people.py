"""The people side of a messenger, for simulated people: what a person does (send a text, privately or in a group,
send a file, press a button) and what they see (the bot's messages in their chat as they look now), whatever the
messenger. Used by the scripted inspectors (bot.devtools.simulated_users), their drivers and the offline demo.

Two implementations over the local emulators:

* `TelegramPeople(emu)` over `bot.devtools.botapi_emulator.FakeBotAPI`: a person's key is their Telegram user id
  (also the id the bot sees); "settled" = the emulator holds no update of theirs that the bot has not confirmed
  (the bot confirms an update only after handling it, bot.runtime.polling).
* `DingTalkPeople(dt, sessions)` over `bot.devtools.dingtalk_emulator.FakeDingTalk` and the bot's database: a
  person's key is their 钉钉 staffId; the bot sees the integer id the messenger bridge gave them
  (bot.runtime.platform.store). "Settled" = every frame pushed for the person was ACKed by the bot (the bridge
  ACKs an event only once it is stored) and no stored event of theirs is still unconfirmed (`platform_events`:
  the bridge confirms an event when getUpdates' next offset passes it, i.e. after the bot handled it).

A group's key is the Telegram chat id (negative) or the 钉钉 conversation id.

`People.activity(since)` lists what the bot did (sent, updated, answered) since a mark, in order, for a
transcript; `Seen` is one message as a chat shows it now.
"""

from __future__ import annotations

import json
import re
import time
import weakref
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, NamedTuple

from bot.devtools.botapi_emulator import FakeBotAPI

POLL = 0.005  # seconds between two looks while waiting


class Button(NamedTuple):
    text: str
    data: str  # the callback data


def _find(buttons: tuple[Button, ...], text: str, where: str) -> Button:
    """The button whose text equals `text`, else the only one starting with it (as a person reads a label)."""
    for button in buttons:
        if button.text == text:
            return button
    matches = [b for b in buttons if b.text.startswith(text)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise LookupError(f"ambiguous button prefix {text!r} on {where}: {[b.text for b in matches]}")
    raise LookupError(f"no button {text!r} on {where}; buttons: {[b.text for b in buttons]}")


@dataclass(frozen=True)
class Seen:
    """A message the bot sent into a chat, as the chat shows it now (a snapshot)."""

    id: Any  # stable within the chat: Telegram's message_id, 钉钉's ref (a card's outTrackId)
    text: str
    buttons: tuple[Button, ...] = ()
    filename: str | None = None  # a file message
    data: bytes | None = field(default=None, repr=False)  # its bytes
    updated: bool = False  # edited since it was sent (钉钉: the card was updated)
    deleted: bool = False
    raw: Any = field(default=None, compare=False, repr=False)  # the emulator's own object

    @property
    def button_texts(self) -> list[str]:
        return [b.text for b in self.buttons]

    def find_button(self, text: str) -> Button:
        return _find(self.buttons, text, f"message {self.id}")


@dataclass(frozen=True)
class Shown:
    """One thing the bot did, for a transcript: `kind` "message" (sent), "update" (an edit; 钉钉: a card
    update), "file" (`filename`, `caption`, `data`) or "answer" (the short answer to a press; Telegram only:
    on 钉钉 it arrives as a private "message"). `chat` is a person's or group's key (None for an answer)."""

    chat: Hashable
    kind: str
    text: str = ""
    buttons: tuple[str, ...] = ()
    filename: str | None = None
    caption: str = ""
    data: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Group:
    key: Hashable
    title: str
    raw: Any = field(compare=False, repr=False)


class Person(ABC):
    """One simulated person. `key` names them on the messenger; `user` is the emulator's own user object."""

    key: Hashable
    name: str
    user: Any

    def __init__(self, people: People):
        self.people = people
        self.pressed: dict[str, Button] = {}  # press id → the button pressed (as the message showed it then)

    @abstractmethod
    def send(self, text: str, group: Group | None = None) -> None:
        """A text in the private chat with the bot, or (`group`) to the bot in that group."""

    @abstractmethod
    def send_file(self, data: bytes, filename: str) -> None:
        """A file in the private chat with the bot."""

    @abstractmethod
    def press(self, message: Seen, text: str) -> str:
        """Press the button with this text (or the only one starting with it) on the message as it looks *now*
        (it may have changed since `message` was seen); returns the press's id (for `answer`). `pressed[id]` is
        the button pressed, with the data sent."""

    @abstractmethod
    def answer(self, press_id: str) -> str | None:
        """The text the bot answered a press with ("" without text; None while unanswered — 钉钉: the first
        plain text that arrived in the private chat after the press, None when none did)."""

    def messages(self) -> list[Seen]:
        """The bot's messages in the private chat, in order, as they look now."""
        return self.people.messages(self.key)

    def latest_with_buttons(self) -> Seen | None:
        for message in reversed(self.messages()):
            if message.buttons and not message.deleted:
                return message
        return None

    def settled(self) -> bool:
        """The bot has handled everything this person sent."""
        return self.key not in self.people.pending([self.key])

    def wait_settled(self, timeout: float = 60) -> None:
        self.people.wait_for(self.settled, timeout, f"{self.name} ({self.key}): the bot did not handle it")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key} {self.name}>"


class People(ABC):
    """The simulated people of one messenger (see the module docstring)."""

    platform: str
    emu: Any  # the emulator

    def __init__(self) -> None:
        self._people: dict[Hashable, Person] = {}

    def person(self, key: Hashable, name: str | None = None) -> Person:
        """The person with this key (created on first use; a given name is updated)."""
        found = self._people.get(key)
        if found is None:
            found = self._people[key] = self._new_person(key, name)
        elif name is not None:
            self._rename(found, name)
        return found

    @abstractmethod
    def _new_person(self, key: Hashable, name: str | None) -> Person: ...

    @abstractmethod
    def _rename(self, person: Person, name: str) -> None: ...

    @abstractmethod
    def group(self, key: Hashable, title: str | None = None, members: list[Person] = ()) -> Group:
        """A group chat the bot is in (created on first use)."""

    @abstractmethod
    def messages(self, chat: Hashable | Group) -> list[Seen]:
        """The bot's messages in a person's private chat (their key) or a group, as they look now."""

    @abstractmethod
    def pending(self, keys: list[Hashable] | None = None) -> set[Hashable]:
        """The keys of the people (of `keys`, default all) the bot has not yet handled everything of."""

    @abstractmethod
    def activity(self, since: int = 0) -> tuple[int, list[Shown]]:
        """What the bot did after the mark `since` (0: from the start), in order, and the next mark."""

    @abstractmethod
    def bind(self, session: Any, key: Hashable, name: str) -> int:
        """The integer the bot knows this person by (for `Person.telegram_user_id` when binding directly)."""

    def dump(self) -> str:
        return self.emu.dump()

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
        """Poll `predicate()` (outside the emulator's lock: it may read the database) until it is truthy."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} within {timeout} s\n{self.dump()}")
            time.sleep(POLL)


def as_people(emu_or_people: Any) -> People:
    """A `People` as given, or `TelegramPeople` over a bare `FakeBotAPI` (the callers of old)."""
    if isinstance(emu_or_people, People):
        return emu_or_people
    if isinstance(emu_or_people, FakeBotAPI):  # one per emulator: drivers ask it once for everyone
        found = _TELEGRAM.get(emu_or_people)
        if found is None:
            found = _TELEGRAM[emu_or_people] = TelegramPeople(emu_or_people)
        return found
    raise TypeError(f"not a People nor a FakeBotAPI: {emu_or_people!r}")


# ------------------------------------------------------------------------------------------------ Telegram

_TELEGRAM: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

_TG_SHOWN = frozenset({"sendMessage", "sendDocument", "editMessageText", "answerCallbackQuery"})


def _tg_buttons(markup: Any) -> tuple[Button, ...]:
    if not isinstance(markup, dict):
        return ()
    return tuple(Button(b.get("text", ""), b.get("callback_data", "")) for row in markup.get("inline_keyboard", [])
                 for b in row)


class TelegramPerson(Person):
    def __init__(self, people: TelegramPeople, key: int, name: str | None):
        super().__init__(people)
        self.key = key
        self.user = people.emu.user(key, name, language_code=people.language_code)
        self.name = self.user.first_name

    def send(self, text: str, group: Group | None = None) -> None:
        self.user.send(text, chat=group.raw if group is not None else None)

    def send_file(self, data: bytes, filename: str) -> None:
        self.user.send_document(data, filename=filename)

    def press(self, message: Seen, text: str) -> str:
        button = TelegramPeople.seen(message.raw).find_button(text)  # the live message, as it looks now
        press_id = self.user.press_data(message.raw, button.data)
        self.pressed[press_id] = button
        return press_id

    def answer(self, press_id: str) -> str | None:
        answer = self.people.emu.callback_answer(press_id)
        return None if answer is None else answer.get("text") or ""


class TelegramPeople(People):
    platform = "telegram"

    def __init__(self, emu: FakeBotAPI, language_code: str | None = None):
        """`language_code`: the people's Telegram language (None: not given, as a client may leave it)."""
        super().__init__()
        self.emu = emu
        self.language_code = language_code

    def _new_person(self, key: Hashable, name: str | None) -> Person:
        return TelegramPerson(self, int(key), name)

    def _rename(self, person: Person, name: str) -> None:
        person.user.first_name = person.name = name

    def group(self, key: Hashable, title: str | None = None, members: list[Person] = ()) -> Group:
        chat = self.emu.group(int(key), title)
        return Group(chat.id, chat.title, chat)

    @staticmethod
    def seen(message: Any) -> Seen:
        return Seen(id=message.message_id, text=message.text or "", buttons=_tg_buttons(message.reply_markup),
                    filename=message.filename if message.document else None, data=message.data,
                    updated=bool(message.edits), deleted=message.deleted, raw=message)

    def messages(self, chat: Hashable | Group) -> list[Seen]:
        key = chat.key if isinstance(chat, Group) else chat
        return [self.seen(m) for m in self.emu.sent_to(int(key))]

    def pending(self, keys: list[Hashable] | None = None) -> set[Hashable]:
        senders = self.emu.pending_senders()
        return senders if keys is None else senders & set(keys)

    def activity(self, since: int = 0) -> tuple[int, list[Shown]]:
        calls = self.emu.calls
        out = []
        for call in calls[since:]:
            if not (call.ok and call.method in _TG_SHOWN and isinstance(call.result, (dict, bool))):
                continue
            if call.method == "answerCallbackQuery":
                out.append(Shown(None, "answer", call.params.get("text") or ""))
            elif call.method == "sendDocument":
                out.append(Shown(call.chat_id, "file", filename=(call.result.get("document") or {}).get("file_name")
                                 or call.filename or "文件", caption=call.result.get("caption") or "", data=call.data))
            else:
                out.append(Shown(call.chat_id, "message" if call.method == "sendMessage" else "update",
                                 call.result.get("text", ""),
                                 tuple(b.text for b in _tg_buttons(call.result.get("reply_markup")))))
        return len(calls), out

    def bind(self, session: Any, key: Hashable, name: str) -> int:
        self.person(key, name)
        return int(key)

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
        try:  # under the emulator's lock, woken by its changes: cheap and prompt
            return self.emu.wait_for(lambda _e: predicate(), timeout=timeout)
        except TimeoutError as exc:
            raise TimeoutError(f"{what}: {exc}") from None


# ------------------------------------------------------------------------------------------------ 钉钉

PLATFORM_DT = "dingtalk"
_SPACE = re.compile(r"dtv1\.card//(IM_GROUP|IM_ROBOT)\.(.+)")


def _dt_buttons(raw: str | None) -> tuple[Button, ...]:
    try:
        rows = json.loads(raw or "[]")
        return tuple(Button(str(b.get("text", "")), str(b.get("data", ""))) for row in rows for b in row)
    except (ValueError, TypeError, AttributeError):
        return ()


class DingTalkPerson(Person):
    def __init__(self, people: DingTalkPeople, key: str, name: str | None):
        super().__init__(people)
        self.key = key
        self.user = people.emu.user(key, name)
        self.name = self.user.nick
        self.frames: set[str] = set()  # messageIds of the frames pushed for this person, not yet seen ACKed
        self.press_marks: dict[str, int] = {}  # press id → how many messages the private chat had then
        self.bot_id: int | None = None  # the bridge's integer id, once it exists

    def _pushed(self, frame: str | None) -> str | None:
        if frame is not None:
            self.frames.add(frame)
        return frame

    def send(self, text: str, group: Group | None = None) -> None:
        self._pushed(self.user.send(text, chat=group.raw if group is not None else None))

    def send_file(self, data: bytes, filename: str) -> None:
        self._pushed(self.user.send_file(data, filename))

    def press(self, message: Seen, text: str) -> str:
        card = self.people.emu.card(message.id)  # as it looks now
        button = _find(_dt_buttons(card.card_params.get("buttons")), text, f"card {message.id}")
        mark = len(self.people.emu.sent_to(self.user))
        frame = self._pushed(self.user.press_data(card, button.data))
        self.press_marks[frame] = mark
        self.pressed[frame] = button
        return frame

    def answer(self, press_id: str) -> str | None:
        mark = self.press_marks.get(press_id)
        if mark is None:
            return None
        for message in self.people.emu.sent_to(self.user)[mark:]:
            if message.kind in ("text", "markdown"):
                return message.text or ""
        return None


def _reader(sessions: Any) -> Any:
    """Sessions for the people side's reads of the bot's database. On SQLite, not the bot's own engine: that one
    begins every transaction, reads too, with BEGIN IMMEDIATE (bot.db), i.e. it takes the write lock, so a driver
    asking "settled?" every few milliseconds for hundreds of people queued the bot's writes behind its reads
    (bench_dingtalk, 200 inspectors: 15 ms a look, the bot's handling 2-3× slower). A plain deferred BEGIN reads a
    WAL snapshot and never blocks a writer."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.orm import sessionmaker

    bind = sessions.kw.get("bind") if hasattr(sessions, "kw") else None
    if bind is None or bind.dialect.name != "sqlite" or bind.url.database in (None, "", ":memory:"):
        return sessions
    engine = create_engine(bind.url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        dbapi_conn.execute("PRAGMA busy_timeout=30000")

    @event.listens_for(engine, "begin")
    def _begin(conn):  # noqa: ANN001
        conn.exec_driver_sql("BEGIN")  # deferred: a read snapshot, no lock on the writers

    return sessionmaker(engine, expire_on_commit=False)


class DingTalkPeople(People):
    platform = PLATFORM_DT

    def __init__(self, dt: Any, sessions: Any):
        """`dt`: a started FakeDingTalk; `sessions`: a sessionmaker of the bot's database."""
        super().__init__()
        self.emu = dt
        self.sessions = _reader(sessions)
        self._cards: dict[str, dict[str, str]] = {}  # outTrackId → its params as of the calls read so far
        self._groups: set[str] = set()  # the conversation ids of the groups made here
        self._senders: dict[int, int | None] = {}  # a stored event's id → its sender's id (bridge id)

    def _new_person(self, key: Hashable, name: str | None) -> Person:
        return DingTalkPerson(self, str(key), name)

    def _rename(self, person: Person, name: str) -> None:
        person.user.nick = person.name = name

    def group(self, key: Hashable, title: str | None = None, members: list[Person] = ()) -> Group:
        g = self.emu.group(str(key), title, members=[p.user for p in members])
        self._groups.add(g.cid)
        return Group(g.cid, g.title, g)

    @staticmethod
    def seen(message: Any) -> Seen:
        return Seen(id=message.ref, text=message.text or "",
                    buttons=_dt_buttons(message.card_params.get("buttons")) if message.kind == "card" else (),
                    filename=message.filename if message.kind == "file" else None, data=message.data,
                    updated=message.updates > 0, raw=message)

    def _chat_key(self, chat: Hashable | Group) -> str:
        if isinstance(chat, Group):
            return "group:" + str(chat.key)
        key = str(chat)
        return ("group:" + key) if key in self._groups else "user:" + key

    def messages(self, chat: Hashable | Group) -> list[Seen]:
        return [self.seen(m) for m in self.emu.sent_to(self._chat_key(chat))]

    def _bot_ids(self, people: list[DingTalkPerson]) -> None:
        """Fill in the bridge's integer ids of the people who have one by now (read only)."""
        from sqlalchemy import select

        from models import PlatformId

        missing = {p.key: p for p in people if p.bot_id is None}
        if not missing:
            return
        with self.sessions() as s:
            for external_id, pid in s.execute(select(PlatformId.external_id, PlatformId.id).where(
                    PlatformId.platform == PLATFORM_DT, PlatformId.kind == "user",
                    PlatformId.external_id.in_(list(missing)))):
                missing[external_id].bot_id = pid

    def _unconfirmed_senders(self) -> set[int]:
        """The senders of the stored events the bot has not confirmed yet. Only the events' ids are read each time:
        an event's sender never changes, so each update is decoded once (`_senders`) — decoding every unconfirmed
        update on every look cost the driver a core at 200 inspectors (~130 updates of a few kB each, 50 looks/s)."""
        from sqlalchemy import select

        from models import PlatformEvent

        with self.sessions() as s:
            ids = s.scalars(select(PlatformEvent.id).where(PlatformEvent.platform == PLATFORM_DT,
                                                           PlatformEvent.confirmed_at.is_(None))).all()
            new = [i for i in ids if i not in self._senders]
            for start in range(0, len(new), 500):
                for event_id, update in s.execute(select(PlatformEvent.id, PlatformEvent.update)
                                                  .where(PlatformEvent.id.in_(new[start:start + 500]))):
                    body = update.get("message") or update.get("callback_query") or {}
                    self._senders[event_id] = (body.get("from") or {}).get("id")
        return {self._senders[i] for i in ids if self._senders.get(i) is not None}

    def pending(self, keys: list[Hashable] | None = None) -> set[Hashable]:
        wanted = None if keys is None else set(keys)  # drivers ask about hundreds at once
        people = [p for k, p in self._people.items() if wanted is None or k in wanted]
        unacked = set(self.emu.pending_acks())  # first the ACKs: an ACKed event is already stored
        out: set[Hashable] = set()
        stored = []
        for p in people:
            p.frames &= unacked
            if p.frames:
                out.add(p.key)
            else:
                stored.append(p)
        if stored:
            self._bot_ids(stored)
            senders = self._unconfirmed_senders() if any(p.bot_id is not None for p in stored) else set()
            out |= {p.key for p in stored if p.bot_id in senders}
        return out

    def activity(self, since: int = 0) -> tuple[int, list[Shown]]:
        calls = self.emu.calls
        out: list[Shown] = []
        for call in calls[since:]:
            if not call.ok or not isinstance(call.json, dict):
                continue
            req, resp = call.json, call.response if isinstance(call.response, dict) else {}
            if call.api in ("batchSend", "groupSend"):
                if call.api == "batchSend":
                    skip = set(resp.get("invalidStaffIdList") or []) | set(resp.get("flowControlledStaffIdList") or [])
                    chats = [("user:" + str(u), str(u)) for u in req.get("userIds") or [] if str(u) not in skip]
                else:
                    cid = str(req.get("openConversationId") or "")
                    chats = [("group:" + cid, cid)]
                try:
                    param = json.loads(req.get("msgParam") or "{}")
                except ValueError:
                    continue
                for chat_key, key in chats:
                    if req.get("msgKey") == "sampleFile":
                        sent = next((m for m in self.emu.sent_to(chat_key) if m.ref == resp.get("processQueryKey")),
                                    None)
                        out.append(Shown(key, "file", filename=param.get("fileName") or (sent and sent.filename)
                                         or "文件", data=sent.data if sent else None))
                    else:
                        out.append(Shown(key, "message", param.get("content") or param.get("text") or ""))
            elif call.api == "cardCreate":
                match = _SPACE.fullmatch(str(req.get("openSpaceId") or ""))
                params = dict((req.get("cardData") or {}).get("cardParamMap") or {})
                if match is None:
                    continue
                self._cards[str(req.get("outTrackId"))] = params
                out.append(Shown(match.group(2), "message", params.get("content", ""),
                                 tuple(b.text for b in _dt_buttons(params.get("buttons")))))
            elif call.api == "cardUpdate":
                ref = str(req.get("outTrackId") or "")
                params = dict((req.get("cardData") or {}).get("cardParamMap") or {})
                if (req.get("cardUpdateOptions") or {}).get("updateCardDataByKey"):
                    params = {**self._cards.get(ref, {}), **params}
                self._cards[ref] = params
                try:
                    chat = self.emu.card(ref).chat_key.split(":", 1)[1]
                except KeyError:
                    continue
                out.append(Shown(chat, "update", params.get("content", ""),
                                 tuple(b.text for b in _dt_buttons(params.get("buttons")))))
        return len(calls), _fold_captions(out)

    def bind(self, session: Any, key: Hashable, name: str) -> int:
        from bot.runtime.platform import store

        person = self.person(key, name)
        person.bot_id = store.user_id(session, PLATFORM_DT, str(key), name)
        return person.bot_id


def _fold_captions(shown: list[Shown]) -> list[Shown]:
    """钉钉's file message has no caption: the bridge sends the caption as a text right after the file
    (bot.runtime.dingtalk.adapter.send_file). A plain text next after a file in the same chat is its caption."""
    out: list[Shown] = []
    taken: set[int] = set()
    for i, item in enumerate(shown):
        if i in taken:
            continue
        if item.kind == "file":
            j = next((j for j in range(i + 1, len(shown)) if shown[j].chat == item.chat and j not in taken), None)
            if j is not None and shown[j].kind == "message" and not shown[j].buttons:
                taken.add(j)
                item = Shown(item.chat, "file", filename=item.filename, caption=shown[j].text, data=item.data)
        out.append(item)
    return out
