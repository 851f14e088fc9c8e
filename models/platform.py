"""What the messenger bridge (bot.runtime.platform, SPEC §11) keeps for a messenger other than Telegram: stable
integer ids for the messenger's string ids, the messages it sent or received (so a button press or an edit finds
its message), and the incoming events stored before they are acknowledged (exactly once across a crash)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class PlatformId(Base):
    """A messenger's person or group, by its string id. The Bot API id is `id` for a person (and their private
    chat) and `-id` for a group. Ids are never reused (AUTOINCREMENT on SQLite, a sequence on PostgreSQL)."""

    __tablename__ = "platform_ids"
    __table_args__ = (UniqueConstraint("platform", "kind", "external_id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))  # user | group
    external_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PlatformMessage(Base):
    """A message in a chat, sent or received; `id` is its Bot API message_id. `ref` is the messenger's id of what
    was sent (钉钉: a card's outTrackId); `text`/`markup` are its current content (a press shows them to the
    handler as `callback_query.message`)."""

    __tablename__ = "platform_messages"
    __table_args__ = (Index("ix_platform_messages_platform_ref", "platform", "ref"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    ref: Mapped[str | None] = mapped_column(String(200))
    outgoing: Mapped[bool] = mapped_column(Boolean, default=True)
    editable: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str | None] = mapped_column(Text)
    markup: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PlatformEvent(Base):
    """An incoming event as a Telegram-shaped update (without update_id: `id` is the update_id). Unique by the
    messenger's own id, so a re-delivery is dropped; `confirmed_at` is set when getUpdates' offset passes it, and
    confirmed events are pruned after a week (the dedup window)."""

    __tablename__ = "platform_events"
    __table_args__ = (UniqueConstraint("platform", "external_id"),
                      Index("ix_platform_events_pending", "platform", "confirmed_at", "id"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(200))
    update: Mapped[Any] = mapped_column(JSON)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[dt.datetime | None]
