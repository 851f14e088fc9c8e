"""Exactly-once handling of Telegram updates across a crash (SPEC §9).

Polling confirms an update to Telegram only with a later getUpdates offset, so after a `kill -9` the update
being handled (and, with PTB's Updater, the rest of its batch) is delivered again. Handled update ids are
recorded in `processed_updates`:

- a handler that writes calls `mark_processed(session, update.update_id)` inside its own unit of work, so the
  effect and the marker commit together — the update either happened once or not at all;
- `install_dedup` adds a check before every handler (group -100) that drops an update already recorded, and a
  marker after them (group 100) for handlers that did not record it themselves.

The group-100 marker first flushes PTB's persistence (conversation states), so a crash cannot keep the marker
and lose the state change. It does not run when a handler stops processing with ApplicationHandlerStop, and it
runs before a `block=False` handler has finished; such handlers should call `mark_processed` themselves.

A handler that marks inside its own unit of work commits the marker before PTB stores its new conversation
state (a moment later, in the group-100 step): a conversation that must be exact across a crash should derive
where it is from the database (e.g. the saved drafts), not only from its ConversationHandler state.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
from typing import Any, Callable

from sqlalchemy import bindparam, delete, insert, select, text
from sqlalchemy.orm import Session, sessionmaker
from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.runtime.persistence import SQLAlchemyPersistence
from models import ProcessedUpdate, utcnow

log = logging.getLogger(__name__)

DEDUP_GROUP = -100  # before every feature handler
MARK_GROUP = 100  # after every feature handler
KEEP = dt.timedelta(days=7)  # Telegram keeps an unconfirmed update for 24 hours; a week is plenty


# Update ids a handler marked inside its own unit of work during this process's life (bounded): the final
# marker then needs no transaction of its own. If that unit of work rolled back, nothing was done, and a
# re-delivery handling the update again is right.
_marked_by_handler: "collections.OrderedDict[int, None]" = collections.OrderedDict()
_MARKED_KEEP = 10_000


_PROCESSED = ProcessedUpdate.__table__
# INSERT … ON CONFLICT DO NOTHING (the same SQL on SQLite and PostgreSQL) as text with typed parameters: a
# dialect's on_conflict_do_nothing() construct has no cache key, so SQLAlchemy would compile it at every update.
_INSERT_NEW = text("INSERT INTO processed_updates (update_id, processed_at) VALUES (:update_id, :processed_at) "
                   "ON CONFLICT DO NOTHING").bindparams(bindparam("update_id", type_=_PROCESSED.c.update_id.type),
                                                        bindparam("processed_at", type_=_PROCESSED.c.processed_at.type))
# On the table (Core): a one-column lookup needs nothing of the ORM.
_ALREADY = select(_PROCESSED.c.update_id).where(_PROCESSED.c.update_id == bindparam("update_id"))


def mark_processed(session: Session, update_id: int) -> None:
    """Record `update_id` as handled, in the caller's transaction. Marking it twice is harmless."""
    _marked_by_handler[update_id] = None
    while len(_marked_by_handler) > _MARKED_KEEP:
        _marked_by_handler.popitem(last=False)
    values = {"update_id": update_id, "processed_at": utcnow()}
    if session.get_bind().dialect.name in ("sqlite", "postgresql"):
        session.execute(_INSERT_NEW, values)
    elif not already_processed(session, update_id):
        session.execute(insert(ProcessedUpdate).values(**values))


def already_processed(session: Session, update_id: int) -> bool:
    return session.scalar(_ALREADY, {"update_id": update_id}) is not None


def prune(session: Session, older_than: dt.datetime) -> int:
    """Forget markers recorded before `older_than`; returns how many were removed."""
    result = session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < older_than))
    return result.rowcount  # type: ignore[attr-defined]


def install_dedup(application: Application, sessions: sessionmaker[Session], *, flush_persistence: bool = True,
                  prune_interval: dt.timedelta | None = dt.timedelta(hours=24),
                  preload: Callable[[Session, Update, Any], None] | None = None) -> None:
    """Add the dedup check (group -100) and the marker (group 100); prune old markers daily if a job queue
    is available. No other handler may use those two groups.

    With `flush_persistence` the marker first writes the application's persistence (conversation states,
    user/chat data), so a handled update's new state is in the database before the update counts as handled.
    `preload(session, update, context)` runs in the dedup check's transaction for an update not handled yet (to
    read what every handler of the update needs first, in the same transaction).
    """

    async def skip_processed(update: Update, _context) -> None:  # noqa: ANN001
        with sessions.begin() as session:
            seen = already_processed(session, update.update_id)
            if not seen and preload is not None:
                preload(session, update, _context)
        if seen:
            log.info("update %s was already handled; dropped", update.update_id)
            raise ApplicationHandlerStop

    async def mark_handled(update: Update, context) -> None:  # noqa: ANN001
        app = context.application
        marked = update.update_id in _marked_by_handler

        def mark(session: Session) -> None:
            mark_processed(session, update.update_id)

        if flush_persistence and app.persistence is not None:
            # Save the conversation state and user/chat data this update changed *before* or *with* the marker:
            # otherwise a crash within PTB's update_interval would keep the marker and lose the new state.
            app.mark_data_for_update_persistence(
                chat_ids=update.effective_chat.id if update.effective_chat else None,
                user_ids=update.effective_user.id if update.effective_user else None)
            if isinstance(app.persistence, SQLAlchemyPersistence):
                # The state and the marker in one transaction.
                await app.persistence.save(app, also=None if marked else mark)
                return
            await app.update_persistence()
        if marked:
            return
        with sessions.begin() as session:
            mark(session)

    async def prune_job(_context) -> None:  # noqa: ANN001
        with sessions.begin() as session:
            removed = prune(session, utcnow() - KEEP)
        if removed:
            log.info("pruned %s processed-update markers", removed)

    application.add_handler(TypeHandler(Update, skip_processed), group=DEDUP_GROUP)
    application.add_handler(TypeHandler(Update, mark_handled), group=MARK_GROUP)
    if prune_interval is not None and application.job_queue is not None:
        application.job_queue.run_repeating(prune_job, interval=prune_interval, first=60, name="prune-updates")
