"""The bot on 钉钉 end to end: `python -m bot run` with `[bot] platform = "dingtalk"` as a child process, against the
local 钉钉 emulator (bot.devtools.dingtalk_emulator.FakeDingTalk) over real sockets, on the parametrized database.

People of the test counties (tests/drawsetup.py, tests/resultsetup.py) are bound by `Person.telegram_user_id`; here
each bound person is re-bound to a 钉钉 user `staff<old id>` through the bridge's id table (the integer the bot uses
is `store.user_id(session, "dingtalk", staff id)`), and the county's bound group to a 钉钉 group.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from bot.devtools.dingtalk_emulator import (
    TOPIC_BOT_MESSAGE,
    TOPIC_CARD_CALLBACK,
    BotMessage,
    FakeDingTalk,
    FakeUser,
)
from bot.runtime.platform import store
from bot.runtime.platform.base import Chat
from bot.services import identity
from models import Person, PlatformEvent, PlatformMessage
from tests.e2e.conftest import BotProcess

CLIENT_ID = "dingappkey"
CLIENT_SECRET = "s3cret"
ADMIN_STAFF = "admin001"
GROUP_CID = "cidGroupE2E=="
GROUP_TITLE = "联合抽查工作群"
PLATFORM = "dingtalk"


def emulator() -> FakeDingTalk:
    """Short intervals: un-ACKed frames are re-sent after 0.5 s, a disconnect closes the socket after 0.3 s."""
    return FakeDingTalk(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, ping_interval=2.0, redeliver_after=0.5,
                        disconnect_grace=0.3, seed=7)


def write_config(path: Path, dt: FakeDingTalk, db_url: str, *, lease_seconds: int = 5) -> Path:
    path.write_text(
        f'[bot]\nplatform = "dingtalk"\n'
        f'[dingtalk]\nclient_id = "{CLIENT_ID}"\nclient_secret = "{CLIENT_SECRET}"\n'
        f'card_template_id = "tpl.e2e.schema"\nadmins = ["{ADMIN_STAFF}"]\n'
        f'openapi_endpoint = "{dt.openapi_url}"\noapi_endpoint = "{dt.oapi_url}"\n'
        f'[database]\nurl = "{db_url}"\n'
        # no daily digest on the real date landing in the chats under test
        f'[reminders]\nenabled = false\n'
        f'[outbox]\nlease_seconds = {lease_seconds}\n', encoding="utf-8")
    return path


class DingTalkBot(BotProcess):
    """The bot process on 钉钉: started = polling and a stream connection opened (with a fresh ticket)."""

    def start(self, dt: FakeDingTalk, timeout: float = 30) -> None:  # type: ignore[override]
        before = dt.connections_total
        super().start(dt, timeout)
        deadline = time.monotonic() + timeout
        while dt.connections_total <= before:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"bot exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the bot opened no stream connection:\n{self.log()}\n{dt.dump()}")
            time.sleep(0.02)

    def pause(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)


@dataclass
class People:
    """The 钉钉 users of the bound people: person id → user, old Telegram id → user."""

    by_person: dict[int, FakeUser] = field(default_factory=dict)
    by_old_tg: dict[int, FakeUser] = field(default_factory=dict)
    ids: dict[int, int] = field(default_factory=dict)  # person id → the bridge's integer id

    def of(self, person_id: int) -> FakeUser:
        return self.by_person[person_id]


def bind_people(sessions, dt: FakeDingTalk) -> People:
    """Every bound person becomes the 钉钉 user staff<old id> (allocated in the bridge's id table)."""
    out = People()
    with sessions.begin() as s:
        for p in s.scalars(select(Person).where(Person.telegram_user_id.is_not(None)).order_by(Person.id)):
            old = int(p.telegram_user_id)
            staff = f"staff{old}"
            new = store.user_id(s, PLATFORM, staff, p.name)
            p.telegram_user_id = new
            user = dt.user(staff, p.name)
            out.by_person[p.id] = out.by_old_tg[old] = user
            out.ids[p.id] = new
    return out


def bind_group(sessions, dt: FakeDingTalk, members: list[FakeUser] = ()) -> int:
    """The 钉钉 group becomes the county's bound group; returns its bridge chat id (negative)."""
    group = dt.group(GROUP_CID, GROUP_TITLE, members=list(members))
    with sessions.begin() as s:
        chat_id = store.chat_id(s, PLATFORM, Chat("group", group.cid, group.title))
        identity.bind_group(s, chat_id, actor="test", title=group.title)
    return chat_id


def admin_id(sessions) -> int:
    with sessions.begin() as s:
        return store.user_id(s, PLATFORM, ADMIN_STAFF)


# --- what happened to a frame -----------------------------------------------------------------------------------


def frame_of(dt: FakeDingTalk, message_id: str) -> dict | None:
    for push in dt.pushes:
        if push["frame"]["headers"].get("messageId") == message_id:
            return push["frame"]
    return None


def event_id(dt: FakeDingTalk, message_id: str) -> str:
    """The id the bridge stores an event under: a bot message's msgId, a card press's frame messageId."""
    frame = dt.wait_for(lambda d: frame_of(d, message_id), timeout=10)
    if frame["headers"]["topic"] == TOPIC_BOT_MESSAGE:
        return json.loads(frame["data"])["msgId"]
    return message_id


def acked(dt: FakeDingTalk, message_id: str) -> bool:
    return any(a["json"].get("headers", {}).get("messageId") == message_id for a in dt.acks)


def events(sessions, external_id: str) -> list[PlatformEvent]:
    with sessions.begin() as s:
        rows = s.scalars(select(PlatformEvent).where(PlatformEvent.platform == PLATFORM,
                                                     PlatformEvent.external_id == external_id)).all()
        s.expunge_all()
        return rows


def wait_handled(dt: FakeDingTalk, sessions, message_id: str, timeout: float = 15) -> PlatformEvent:
    """The frame was ACKed and its stored event confirmed (the bot's next getUpdates passed it)."""
    ext = event_id(dt, message_id)
    deadline = time.monotonic() + timeout
    while True:
        rows = events(sessions, ext)
        if acked(dt, message_id) and rows and rows[0].confirmed_at is not None:
            assert len(rows) == 1
            return rows[0]
        if time.monotonic() > deadline:
            raise TimeoutError(f"{message_id} not handled: acked={acked(dt, message_id)} rows={rows}\n{dt.dump()}")
        time.sleep(0.05)


def texts(dt: FakeDingTalk, chat) -> list[str]:
    return [m.text or "" for m in dt.sent_to(chat)]


def wait_text(dt: FakeDingTalk, chat, needle: str, timeout: float = 15, start: int = 0) -> BotMessage:
    """The first bot message in `chat` (from index `start`) whose current text contains `needle`."""
    return dt.wait_for(lambda d: next((m for m in d.sent_to(chat)[start:] if needle in (m.text or "")), None),
                       timeout=timeout)


def wait_card(dt: FakeDingTalk, chat, button: str, timeout: float = 15, start: int = 0) -> BotMessage:
    """The latest card in `chat` (from index `start`) that has a button with this text."""
    def find(d):
        cards = [m for m in d.sent_to(chat)[start:] if m.kind == "card" and button in m.button_texts]
        return cards[-1] if cards else None
    return dt.wait_for(find, timeout=timeout)


def card_ack_latencies(dt: FakeDingTalk) -> list[float]:
    return [a.seconds for a in dt.ack_latencies if a.topic == TOPIC_CARD_CALLBACK]


def wait_stored(sessions, card: BotMessage, timeout: float = 10) -> None:
    """Until the bridge has stored the card it sent (its row is written once 钉钉 answered the send). A press in the
    few milliseconds before that is dropped as a press on an unknown message — no person is that fast."""
    deadline = time.monotonic() + timeout
    while True:
        with sessions.begin() as s:
            if s.scalar(select(PlatformMessage.id).where(PlatformMessage.platform == PLATFORM,
                                                         PlatformMessage.ref == card.ref).limit(1)):
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the bridge never stored {card!r}")
        time.sleep(0.02)


def press(sessions, user: FakeUser, card: BotMessage, text: str) -> str:
    wait_stored(sessions, card)
    return user.press(card, text)


def press_data(sessions, user: FakeUser, card: BotMessage, data: str) -> str:
    wait_stored(sessions, card)
    return user.press_data(card, data)
