"""The bridge's tables (models.platform): stable integer ids, messages, and stored incoming events. Every function
takes the caller's Session; none speaks to a messenger."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.runtime.platform.base import Chat, Sender
from models import PlatformEvent, PlatformId, PlatformMessage, utcnow

KEEP_EVENTS = dt.timedelta(days=7)  # a confirmed event's id is remembered this long (re-deliveries are dropped)


def _id_of(session: Session, platform: str, kind: str, external_id: str, name: str) -> int:
    query = select(PlatformId).where(PlatformId.platform == platform, PlatformId.kind == kind,
                                     PlatformId.external_id == external_id)
    row = session.scalar(query)
    if row is None:
        try:
            with session.begin_nested():  # two events of a new person at once: one insert wins
                row = PlatformId(platform=platform, kind=kind, external_id=external_id, name=name[:200])
                session.add(row)
                session.flush()
        except IntegrityError:
            row = session.scalar(query)
            assert row is not None
    elif name and row.name != name[:200]:
        row.name = name[:200]
    return row.id


def user_id(session: Session, platform: str, external_id: str, name: str = "") -> int:
    """The Bot API id of a messenger's person (also the id of their private chat)."""
    return _id_of(session, platform, "user", external_id, name)


def chat_id(session: Session, platform: str, chat: Chat) -> int:
    """The Bot API id of a chat: a private chat has its person's id, a group a negative id."""
    if chat.kind == "private":
        return user_id(session, platform, chat.external_id)
    return -_id_of(session, platform, "group", chat.external_id, chat.title)


def chat_of(session: Session, platform: str, chat_id_: int) -> tuple[Chat, str] | None:
    """The chat behind a Bot API chat id and its name/title, or None when the id was never given out."""
    kind = "user" if chat_id_ > 0 else "group"
    row = session.scalar(select(PlatformId).where(PlatformId.platform == platform, PlatformId.kind == kind,
                                                  PlatformId.id == abs(chat_id_)))
    if row is None:
        return None
    return Chat("private" if kind == "user" else "group", row.external_id, row.name if kind == "group" else ""), \
        row.name


def external_user(session: Session, platform: str, user_id_: int) -> str | None:
    row = session.get(PlatformId, user_id_)
    return row.external_id if row is not None and row.platform == platform and row.kind == "user" else None


def add_message(session: Session, platform: str, chat_id_: int, *, ref: str | None, outgoing: bool,
                editable: bool = False, text: str | None = None, markup: Any = None) -> PlatformMessage:
    row = PlatformMessage(platform=platform, chat_id=chat_id_, ref=ref, outgoing=outgoing, editable=editable,
                          text=text, markup=markup)
    session.add(row)
    session.flush()
    return row


def message(session: Session, platform: str, message_id: int) -> PlatformMessage | None:
    row = session.get(PlatformMessage, message_id)
    return row if row is not None and row.platform == platform else None


def message_by_ref(session: Session, platform: str, ref: str) -> PlatformMessage | None:
    return session.scalar(select(PlatformMessage).where(PlatformMessage.platform == platform,
                                                        PlatformMessage.ref == ref)
                          .order_by(PlatformMessage.id.desc()).limit(1))


def seen(session: Session, platform: str, external_id: str) -> bool:
    return session.scalar(select(PlatformEvent.id).where(PlatformEvent.platform == platform,
                                                         PlatformEvent.external_id == external_id)) is not None


def presser_of(session: Session, platform: str, press_event_id: str) -> Sender | None:
    """Who made a stored press (its callback_query.from), by the press's event id; None if no such press."""
    update_ = session.scalar(select(PlatformEvent.update).where(PlatformEvent.platform == platform,
                                                                PlatformEvent.external_id == press_event_id))
    user = (update_ or {}).get("callback_query", {}).get("from") if isinstance(update_, dict) else None
    if not user:
        return None
    row = session.get(PlatformId, int(user["id"]))
    if row is None or row.platform != platform or row.kind != "user":
        return None
    return Sender(row.external_id, row.name)


def add_event(session: Session, platform: str, external_id: str, update_: dict[str, Any]) -> int:
    """Store an incoming event the caller found not `seen`; its id is the update_id. (The same event stored by
    another transaction meanwhile violates the unique constraint: that transaction fails, the event is not
    acknowledged, and its re-delivery is then `seen` and dropped.)"""
    return session.execute(insert(PlatformEvent).values(platform=platform, external_id=external_id, update=update_,
                                                        received_at=utcnow()).returning(PlatformEvent.id)).scalar_one()


def add_incoming(session: Session, platform: str, chat_id_: int, ref: str, text: str) -> int:
    """A message a person sent: only its Bot API message_id is needed (Core, no ORM flush: this is on the path
    every event takes before it is acknowledged)."""
    return session.execute(insert(PlatformMessage).values(platform=platform, chat_id=chat_id_, ref=ref, outgoing=False,
                                                          editable=False, text=text, created_at=utcnow())
                           .returning(PlatformMessage.id)).scalar_one()


def pending_events(session: Session, platform: str, offset: int | None, limit: int) -> list[tuple[int, dict]]:
    query = (select(PlatformEvent.id, PlatformEvent.update)
             .where(PlatformEvent.platform == platform, PlatformEvent.confirmed_at.is_(None)))
    if offset:
        query = query.where(PlatformEvent.id >= offset)
    return [(i, u) for i, u in session.execute(query.order_by(PlatformEvent.id).limit(limit))]


def confirm_below(session: Session, platform: str, offset: int) -> int:
    """getUpdates with `offset` confirms every event before it (as the Bot API does)."""
    result = session.execute(update(PlatformEvent)
                             .where(PlatformEvent.platform == platform, PlatformEvent.id < offset,
                                    PlatformEvent.confirmed_at.is_(None))
                             .values(confirmed_at=utcnow()))
    return result.rowcount  # type: ignore[attr-defined]


def prune_events(session: Session, platform: str, now: dt.datetime) -> int:
    result = session.execute(delete(PlatformEvent).where(PlatformEvent.platform == platform,
                                                         PlatformEvent.confirmed_at < now - KEEP_EVENTS))
    return result.rowcount  # type: ignore[attr-defined]
