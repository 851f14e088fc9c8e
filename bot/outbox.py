"""The persisted notification outbox (SPEC §9): reminders, approvals, announcements and reports are enqueued in
the caller's transaction and delivered by a worker, so a Telegram outage, a 429 or a crash delays a message but
never loses it.

Life of a row: pending → sending (claimed by one worker) → sent | failed; pending again after a retryable error.

- `enqueue` is idempotent on `dedup_key` (the unique constraint is the real guard; a SAVEPOINT keeps the
  caller's transaction usable when it fires).
- `claim_due` takes due rows, and rows left in "sending" by a crashed worker once their lease has expired.
- `deliver_due` sends outside any transaction, and re-confirms its claim (same `attempts`, still "sending")
  right before each send, so a row is only ever sent by the worker holding its claim and a "sent" row is never
  sent again. The one unavoidable window is a crash (or a timeout) after Telegram accepted a message and before
  it was marked sent: Telegram has no idempotency key, so that message is sent again after the lease.

Errors: RetryAfter (flood control) puts the row and the rest of the batch back with `not_before = now +
retry_after` and ends the batch, without counting an attempt. A chat that blocked the bot, was deleted or
never existed fails its rows and the admins are told once per chat. Network errors and Telegram 5xx are
retried with exponential backoff (2^attempts s, at most 10 min) for as long as it takes — an outage never
loses a message. A permanent BadRequest (bad markup, text too long) fails the row at once; any other error
fails it after `max_attempts`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import warnings
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from telegram import (Bot, ForceReply, InlineKeyboardMarkup, InputFile, ReplyKeyboardMarkup,
                      ReplyKeyboardRemove)
from telegram.error import (BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter,
                            TelegramError)
from telegram.warnings import PTBDeprecationWarning

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

# BadRequest descriptions that mean "this chat cannot be reached", like a Forbidden.
UNREACHABLE = ("chat not found", "user not found", "peer_id_invalid", "bot was blocked", "user is deactivated")

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


# --- delivery --------------------------------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0  # put back to pending (backoff, flood control, migrated chat)
    failed: int = 0
    blocked_chats: list[int] = field(default_factory=list)
    retry_after: dt.timedelta | None = None  # set when Telegram's flood control ended the batch


@dataclass(frozen=True)
class _Claim:
    """A claimed row, detached from any session. `attempts` is the claim token."""

    id: int
    attempts: int
    chat_id: int
    method: str
    text: str | None
    payload: dict[str, Any]
    document: bytes | None


def _retry_delay(exc: RetryAfter) -> dt.timedelta:
    with warnings.catch_warnings():  # PTB 22 warns that the int form is deprecated; we take either form
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value if isinstance(value, dt.timedelta) else dt.timedelta(seconds=float(value))


def backoff(attempts: int) -> dt.timedelta:
    """Delay before the next try after `attempts` failed ones: 2, 4, 8 … seconds, at most MAX_BACKOFF."""
    return min(dt.timedelta(seconds=2 ** min(attempts, 20)), MAX_BACKOFF)


def _markup(data: dict[str, Any] | None, bot: Bot):
    if not data:
        return None
    if "inline_keyboard" in data:
        return InlineKeyboardMarkup.de_json(data, bot)
    if "keyboard" in data:
        return ReplyKeyboardMarkup.de_json(data, bot)
    if "remove_keyboard" in data:
        return ReplyKeyboardRemove.de_json(data, bot)
    if "force_reply" in data:
        return ForceReply.de_json(data, bot)
    raise ValueError(f"unknown reply_markup {sorted(data)}")


async def _send(bot: Bot, claim: _Claim) -> int:
    payload = claim.payload
    kwargs: dict[str, Any] = {}
    if payload.get("reply_markup"):
        kwargs["reply_markup"] = _markup(payload["reply_markup"], bot)
    if payload.get("parse_mode"):
        kwargs["parse_mode"] = payload["parse_mode"]
    if claim.method == SEND_DOCUMENT:
        document = InputFile(BytesIO(claim.document or b""), filename=payload["filename"])
        message = await bot.send_document(claim.chat_id, document=document, caption=payload.get("caption"),
                                          **kwargs)
    else:
        message = await bot.send_message(claim.chat_id, claim.text or "", **kwargs)
    return message.message_id


def _mine(claim: _Claim):
    """The WHERE clause that matches the row only while this worker still holds its claim."""
    return and_(OutboxMessage.id == claim.id, OutboxMessage.state == "sending",
                OutboxMessage.attempts == claim.attempts)


def _set(sessions: sessionmaker[Session], claim: _Claim, **values: Any) -> bool:
    with sessions.begin() as s:
        result = s.execute(update(OutboxMessage).where(_mine(claim)).values(**values)
                           .execution_options(synchronize_session=False))
    return result.rowcount == 1  # type: ignore[attr-defined]


def _release(sessions: sessionmaker[Session], claims: Iterable[_Claim], not_before: dt.datetime,
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


def _fail_unreachable(sessions: sessionmaker[Session], claim: _Claim, reason: str, now: dt.datetime,
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


def _unreachable(exc: TelegramError) -> bool:
    if isinstance(exc, Forbidden):
        return True
    return isinstance(exc, BadRequest) and any(m in exc.message.lower() for m in UNREACHABLE)


async def deliver_due(bot: Bot, sessions: sessionmaker[Session], now_fn: Callable[[], dt.datetime] = utcnow,
                      limit: int = 20, admin_chat_ids: AdminIds = (), *, lease: dt.timedelta = LEASE,
                      max_attempts: int = MAX_ATTEMPTS) -> DeliveryReport:
    """Claim one batch of due messages and send them. Never awaits Telegram inside a transaction.

    `admin_chat_ids` are told when a chat is unreachable: a list, or a function of a Session returning one.
    """
    report = DeliveryReport()
    with sessions.begin() as s:
        ids = claim_due(s, now_fn(), limit, lease)
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))
                         .order_by(OutboxMessage.not_before, OutboxMessage.id)).all() if ids else []
        claims = [_Claim(r.id, r.attempts, r.chat_id, r.method, r.text, dict(r.payload or {}), r.document)
                  for r in rows]
    report.claimed = len(claims)
    unreachable: dict[int, str] = {}

    for index, claim in enumerate(claims):
        if claim.chat_id in unreachable:  # found unreachable earlier in this batch: don't ask again
            if _set(sessions, claim, state="failed", last_error=unreachable[claim.chat_id]):
                report.failed += 1
            continue
        # Renew the claim right before sending: if another worker took the row over, leave it alone.
        if not _set(sessions, claim, claimed_at=now_fn()):
            log.warning("outbox row %s: claim lost before sending; skipped", claim.id)
            continue
        try:
            message_id = await _send(bot, claim)
        except RetryAfter as exc:
            delay = _retry_delay(exc)
            report.retry_after = delay
            report.retried += _release(sessions, claims[index:], now_fn() + delay, f"RetryAfter: {exc}")
            log.info("outbox: flood control, batch paused for %s", delay)
            break
        except ChatMigrated as exc:  # a group became a supergroup: same message, new chat id
            _set(sessions, claim, state="pending", chat_id=exc.new_chat_id, not_before=now_fn(), claimed_at=None,
                 attempts=claim.attempts - 1, last_error=f"ChatMigrated: {exc.new_chat_id}")
            report.retried += 1
        except InvalidToken as exc:
            log.error("outbox: the bot token was rejected (%s); delivery paused", exc)
            report.retried += _release(sessions, claims[index:], now_fn() + MAX_BACKOFF, f"InvalidToken: {exc}")
            break
        except (Forbidden, BadRequest) as exc:
            reason = f"{type(exc).__name__}: {exc.message}"
            if _unreachable(exc):
                unreachable[claim.chat_id] = reason
                if _fail_unreachable(sessions, claim, reason, now_fn(), admin_chat_ids):
                    report.failed += 1
                    report.blocked_chats.append(claim.chat_id)
                log.warning("outbox row %s: chat %s unreachable: %s", claim.id, claim.chat_id, reason)
            else:
                if _set(sessions, claim, state="failed", last_error=reason):
                    report.failed += 1
                log.error("outbox row %s rejected by Telegram (not retried): %s", claim.id, reason)
        except Exception as exc:  # noqa: BLE001 — every other error: retry later
            reason = f"{type(exc).__name__}: {exc}"
            transient = isinstance(exc, NetworkError)  # timeouts, connection errors, Telegram 5xx
            if not transient:
                log.exception("outbox row %s: unexpected error", claim.id)
            if not transient and claim.attempts >= max_attempts:
                if _set(sessions, claim, state="failed", last_error=reason):
                    report.failed += 1
                log.error("outbox row %s failed after %s attempts: %s", claim.id, claim.attempts, reason)
            elif _set(sessions, claim, state="pending", claimed_at=None, last_error=reason,
                      not_before=now_fn() + backoff(claim.attempts)):
                report.retried += 1
        else:
            if _set(sessions, claim, state="sent", sent_at=now_fn(), message_id=message_id):
                report.sent += 1
            else:  # sent, but the claim had been taken over meanwhile (a send slower than the lease)
                log.warning("outbox row %s sent after its claim was taken over", claim.id)
    return report


# --- the worker ------------------------------------------------------------------------------------------------


class OutboxWorker:
    """Runs `deliver_due` from PTB's job queue; `wake()` asks for a run now instead of at the next tick."""

    def __init__(self, application, sessions: sessionmaker[Session], *, admin_chat_ids: AdminIds = (),
                 limit: int = 20, max_batches: int = 10, lease: dt.timedelta = LEASE) -> None:
        self.application = application
        self.sessions = sessions
        self.admin_chat_ids = admin_chat_ids
        self.limit = limit
        self.max_batches = max_batches
        self.lease = lease
        self._lock = asyncio.Lock()

    async def run_once(self) -> DeliveryReport | None:
        """Deliver batches until the due messages are drained (at most `max_batches`); None if already running."""
        if self._lock.locked():
            return None
        total = DeliveryReport()
        async with self._lock:
            for _ in range(self.max_batches):
                report = await deliver_due(self.application.bot, self.sessions, limit=self.limit,
                                           admin_chat_ids=self.admin_chat_ids, lease=self.lease)
                total.claimed += report.claimed
                total.sent += report.sent
                total.retried += report.retried
                total.failed += report.failed
                total.blocked_chats += report.blocked_chats
                total.retry_after = report.retry_after
                if report.claimed < self.limit or report.retry_after is not None:
                    break
        return total

    async def job(self, context) -> None:  # noqa: ANN001 — a PTB job callback
        try:
            await self.run_once()
        except Exception:  # noqa: BLE001 — e.g. the database is briefly unreachable: the next tick retries
            log.exception("outbox delivery run failed")

    def wake(self) -> None:
        """Deliver as soon as possible (after a handler enqueued something the user waits for)."""
        self.application.job_queue.run_once(self.job, 0, name="outbox-wake")


def start_outbox_worker(application, interval: float = 1.0, admin_chat_ids: AdminIds = (), *,
                        sessions: sessionmaker[Session] | None = None, limit: int = 20,
                        lease: dt.timedelta = LEASE) -> OutboxWorker:
    """Register the repeating delivery job. `sessions` defaults to `application.bot_data.sessions`."""
    if application.job_queue is None:
        raise RuntimeError("the outbox worker needs PTB's job queue (python-telegram-bot[job-queue])")
    worker = OutboxWorker(application, sessions or application.bot_data.sessions, admin_chat_ids=admin_chat_ids,
                          limit=limit, lease=lease)
    application.job_queue.run_repeating(worker.job, interval=interval, first=0, name="outbox")
    return worker
