"""The persisted notification outbox (SPEC §9), its queue: reminders, approvals, announcements and reports are
enqueued in the caller's transaction and delivered by the runtime's sender (`bot.runtime.outbox_sender`), so a
messenger outage, a rate limit or a crash delays a message but never loses it. No messenger code here.

Life of a row: pending → sending (claimed by one worker) → sent | failed; pending again after a retryable error.

- `enqueue` is idempotent on `dedup_key` (the unique constraint is the real guard; a SAVEPOINT keeps the
  caller's transaction usable when it fires). `reply_markup` is stored as the Bot API dict.
- `claim_due` / `claim_batch` take due rows, and rows left in "sending" by a crashed worker once their lease has
  expired; `attempts` is the claim token.
- `mark`, `release` and `fail_unreachable` change a claimed row only while the claim still holds (same
  `attempts`, still "sending"), so a row is only ever sent by the worker holding its claim and a "sent" row is
  never sent again. `backoff` is the retry schedule (2^attempts s, at most 10 min).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.texts import outbox as outbox_texts
from models import OutboxMessage, Person, utcnow

log = logging.getLogger(__name__)

SEND_MESSAGE = "sendMessage"
SEND_DOCUMENT = "sendDocument"
METHODS = (SEND_MESSAGE, SEND_DOCUMENT)

LEASE = dt.timedelta(minutes=2)
MAX_BACKOFF = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 20
DEDUP_KEY_MAX = 300  # the column's length

AdminIds = Sequence[int] | Callable[[Session], Iterable[int]]


# --- enqueue / claim -------------------------------------------------------------------------------------------


def enqueue(session: Session, *, chat_id: int, text: str | None = None, method: str = SEND_MESSAGE,
            reply_markup: Any = None, parse_mode: str | None = None, document: bytes | None = None,
            filename: str | None = None, caption: str | None = None, dedup_key: str | None = None,
            not_before: dt.datetime | None = None) -> OutboxMessage | None:
    """Add a message to deliver, in the caller's transaction (the caller commits).

    `reply_markup` is the Bot API dict (an InlineKeyboardMarkup is converted with `to_dict()`). Returns the new
    row, or None when a row with the same `dedup_key` already exists (then nothing is added).
    """
    if method == SEND_MESSAGE:
        if not text:
            raise ValueError("sendMessage needs a text")
    elif method == SEND_DOCUMENT:
        if document is None or not filename:
            raise ValueError("sendDocument needs document bytes and a filename")
    else:
        raise ValueError(f"unknown outbox method {method!r}; use one of {METHODS}")
    if dedup_key is not None and len(dedup_key) > DEDUP_KEY_MAX:
        raise ValueError(f"dedup_key longer than {DEDUP_KEY_MAX} characters: {dedup_key[:40]!r}…")
    if reply_markup is not None and hasattr(reply_markup, "to_dict"):
        reply_markup = reply_markup.to_dict()
    payload = {k: v for k, v in (("reply_markup", reply_markup), ("parse_mode", parse_mode),
                                 ("filename", filename), ("caption", caption)) if v is not None}

    if dedup_key is not None and session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedup_key == dedup_key)) is not None:
        return None
    message = OutboxMessage(chat_id=chat_id, method=method, text=text, payload=payload, document=document,
                            dedup_key=dedup_key, state="pending", attempts=0,
                            not_before=not_before or utcnow())
    try:
        # A concurrent enqueue of the same key (PostgreSQL) passes the pre-check; the unique constraint stops
        # it, and the savepoint keeps the caller's transaction alive.
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        if dedup_key is None:
            raise
        return None
    return message


def claim_due(session: Session, now: dt.datetime, limit: int = 20, lease: dt.timedelta = LEASE) -> list[int]:
    """Claim up to `limit` due rows for this worker: pending with not_before <= now, or stuck in "sending" with
    a claim older than `lease` (the worker crashed mid-send). Sets state "sending", claimed_at and attempts+1.

    On PostgreSQL the rows are locked with SKIP LOCKED, so concurrent workers take disjoint batches; SQLite's
    write lock (BEGIN IMMEDIATE) serializes claimers.
    """
    due = or_(and_(OutboxMessage.state == "pending", OutboxMessage.not_before <= now),
              and_(OutboxMessage.state == "sending", OutboxMessage.claimed_at < now - lease))
    ids = list(session.scalars(
        select(OutboxMessage.id).where(due).order_by(OutboxMessage.not_before, OutboxMessage.id).limit(limit)
        .with_for_update(skip_locked=True)))
    if ids:
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids))
                        .values(state="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
                        .execution_options(synchronize_session=False))
    return ids



# --- marking claimed rows (the sender calls these between its sends) ----------------------------------------


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0  # put back to pending (backoff, flood control, migrated chat)
    failed: int = 0
    blocked_chats: list[int] = field(default_factory=list)
    retry_after: dt.timedelta | None = None  # set when the messenger's flood control ended the batch


@dataclass(frozen=True)
class Claim:
    """A claimed row, detached from any session. `attempts` is the claim token."""

    id: int
    attempts: int
    chat_id: int
    method: str
    text: str | None
    payload: dict[str, Any]
    document: bytes | None


def backoff(attempts: int) -> dt.timedelta:
    """Delay before the next try after `attempts` failed ones: 2, 4, 8 … seconds, at most MAX_BACKOFF."""
    return min(dt.timedelta(seconds=2 ** min(attempts, 20)), MAX_BACKOFF)


def _mine(claim: Claim):
    """The WHERE clause that matches the row only while this worker still holds its claim."""
    return and_(OutboxMessage.id == claim.id, OutboxMessage.state == "sending",
                OutboxMessage.attempts == claim.attempts)


def mark(sessions: sessionmaker[Session], claim: Claim, **values: Any) -> bool:
    with sessions.begin() as s:
        result = s.execute(update(OutboxMessage).where(_mine(claim)).values(**values)
                           .execution_options(synchronize_session=False))
    return result.rowcount == 1  # type: ignore[attr-defined]


def release(sessions: sessionmaker[Session], claims: Iterable[Claim], not_before: dt.datetime,
             error: str | None) -> int:
    """Put claimed rows back to pending without counting an attempt (they were not, or could not be, tried)."""
    n = 0
    with sessions.begin() as s:
        for claim in claims:
            values: dict[str, Any] = {"state": "pending", "not_before": not_before, "claimed_at": None,
                                      "attempts": claim.attempts - 1}
            if error is not None:
                values["last_error"] = error
            result = s.execute(update(OutboxMessage).where(_mine(claim)).values(**values)
                               .execution_options(synchronize_session=False))
            n += result.rowcount  # type: ignore[attr-defined]
    return n


def _admin_ids(session: Session, admin_chat_ids: AdminIds) -> list[int]:
    ids = admin_chat_ids(session) if callable(admin_chat_ids) else admin_chat_ids
    return sorted(set(int(i) for i in ids))


def _lang_of(session: Session, telegram_id: int) -> str:
    lang = session.scalar(select(Person.language).where(Person.telegram_user_id == telegram_id))
    return lang if lang in ("zh", "en") else "zh"


def _who(session: Session, chat_id: int, lang: str) -> str:
    person = session.scalar(select(Person).where(Person.telegram_user_id == chat_id))
    if person is None:
        return outbox_texts.TEXTS["outbox.unknown_person"][lang]
    parts = [person.department.label] if person.department else []
    if person.phone:
        parts.append(person.phone)
    if not parts:
        return person.name
    return f"{person.name}（{'，'.join(parts)}）" if lang == "zh" else f"{person.name} ({', '.join(parts)})"


def fail_unreachable(sessions: sessionmaker[Session], claim: Claim, reason: str, now: dt.datetime,
                      admin_chat_ids: AdminIds) -> bool:
    """Mark the row failed and, in the same transaction, tell each admin once per unreachable chat."""
    with sessions.begin() as s:
        result = s.execute(update(OutboxMessage).where(_mine(claim))
                           .values(state="failed", last_error=reason)
                           .execution_options(synchronize_session=False))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        for admin_id in _admin_ids(s, admin_chat_ids):
            if admin_id == claim.chat_id:
                continue
            lang = _lang_of(s, admin_id)
            text = outbox_texts.TEXTS["outbox.blocked"][lang].format(
                who=_who(s, claim.chat_id, lang), chat_id=claim.chat_id, reason=reason)
            enqueue(s, chat_id=admin_id, text=text, dedup_key=f"blocked:{claim.chat_id}:{admin_id}",
                    not_before=now)
    return True


def claim_batch(sessions: sessionmaker[Session], now: dt.datetime, limit: int, lease: dt.timedelta) -> list[Claim]:
    """Claim one batch (its own transaction) and return it detached, in delivery order."""
    with sessions.begin() as s:
        ids = claim_due(s, now, limit, lease)
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))
                         .order_by(OutboxMessage.not_before, OutboxMessage.id)).all() if ids else []
        return [Claim(r.id, r.attempts, r.chat_id, r.method, r.text, dict(r.payload or {}), r.document)
                for r in rows]
