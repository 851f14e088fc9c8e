"""The outbox's sender (SPEC §9): delivers the rows of the queue (`bot.services.outbox`) through the Bot API. The
only outbox code that speaks to a messenger.

`deliver_due` sends outside any transaction, and re-confirms its claim right before each send, so a row is only
ever sent by the worker holding its claim. The one unavoidable window is a crash (or a timeout) after Telegram
accepted a message and before it was marked sent: Telegram has no idempotency key, so that message is sent again
after the lease.

Errors: RetryAfter (flood control) puts the row and the rest of the batch back with `not_before = now +
retry_after` and ends the batch, without counting an attempt. A chat that blocked the bot, was deleted or
never existed fails its rows and the admins are told once per chat. Network errors and Telegram 5xx are
retried with exponential backoff for as long as it takes — an outage never loses a message. A permanent
BadRequest (bad markup, text too long) fails the row at once; any other error fails it after `max_attempts`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import warnings
from io import BytesIO
from typing import Any, Callable

from sqlalchemy.orm import Session, sessionmaker
from telegram import (Bot, ForceReply, InlineKeyboardMarkup, InputFile, ReplyKeyboardMarkup,
                      ReplyKeyboardRemove)
from telegram.error import (BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter,
                            TelegramError)
from telegram.warnings import PTBDeprecationWarning

from bot.services.outbox import (LEASE, MAX_ATTEMPTS, MAX_BACKOFF, SEND_DOCUMENT, AdminIds, Claim, DeliveryReport,
                                 backoff, claim_batch, fail_unreachable, mark, release)
from models import utcnow

log = logging.getLogger(__name__)

# BadRequest descriptions that mean "this chat cannot be reached", like a Forbidden.
UNREACHABLE = ("chat not found", "user not found", "peer_id_invalid", "bot was blocked", "user is deactivated")


def _retry_delay(exc: RetryAfter) -> dt.timedelta:
    with warnings.catch_warnings():  # PTB 22 warns that the int form is deprecated; we take either form
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value if isinstance(value, dt.timedelta) else dt.timedelta(seconds=float(value))


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


async def _send(bot: Bot, claim: Claim) -> int:
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
    claims = claim_batch(sessions, now_fn(), limit, lease)
    report.claimed = len(claims)
    unreachable: dict[int, str] = {}

    for index, claim in enumerate(claims):
        if claim.chat_id in unreachable:  # found unreachable earlier in this batch: don't ask again
            if mark(sessions, claim, state="failed", last_error=unreachable[claim.chat_id]):
                report.failed += 1
            continue
        # Renew the claim right before sending: if another worker took the row over, leave it alone.
        if not mark(sessions, claim, claimed_at=now_fn()):
            log.warning("outbox row %s: claim lost before sending; skipped", claim.id)
            continue
        try:
            message_id = await _send(bot, claim)
        except RetryAfter as exc:
            delay = _retry_delay(exc)
            report.retry_after = delay
            report.retried += release(sessions, claims[index:], now_fn() + delay, f"RetryAfter: {exc}")
            log.info("outbox: flood control, batch paused for %s", delay)
            break
        except ChatMigrated as exc:  # a group became a supergroup: same message, new chat id
            mark(sessions, claim, state="pending", chat_id=exc.new_chat_id, not_before=now_fn(), claimed_at=None,
                 attempts=claim.attempts - 1, last_error=f"ChatMigrated: {exc.new_chat_id}")
            report.retried += 1
        except InvalidToken as exc:
            log.error("outbox: the bot token was rejected (%s); delivery paused", exc)
            report.retried += release(sessions, claims[index:], now_fn() + MAX_BACKOFF, f"InvalidToken: {exc}")
            break
        except (Forbidden, BadRequest) as exc:
            reason = f"{type(exc).__name__}: {exc.message}"
            if _unreachable(exc):
                unreachable[claim.chat_id] = reason
                if fail_unreachable(sessions, claim, reason, now_fn(), admin_chat_ids):
                    report.failed += 1
                    report.blocked_chats.append(claim.chat_id)
                log.warning("outbox row %s: chat %s unreachable: %s", claim.id, claim.chat_id, reason)
            else:
                if mark(sessions, claim, state="failed", last_error=reason):
                    report.failed += 1
                log.error("outbox row %s rejected by Telegram (not retried): %s", claim.id, reason)
        except Exception as exc:  # noqa: BLE001 — every other error: retry later
            reason = f"{type(exc).__name__}: {exc}"
            transient = isinstance(exc, NetworkError)  # timeouts, connection errors, Telegram 5xx
            if not transient:
                log.exception("outbox row %s: unexpected error", claim.id)
            if not transient and claim.attempts >= max_attempts:
                if mark(sessions, claim, state="failed", last_error=reason):
                    report.failed += 1
                log.error("outbox row %s failed after %s attempts: %s", claim.id, claim.attempts, reason)
            elif mark(sessions, claim, state="pending", claimed_at=None, last_error=reason,
                      not_before=now_fn() + backoff(claim.attempts)):
                report.retried += 1
        else:
            if mark(sessions, claim, state="sent", sent_at=now_fn(), message_id=message_id):
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
