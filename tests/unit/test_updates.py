"""A Telegram update re-delivered after a crash is handled once (SPEC §9)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from telegram import Update
from telegram.ext import ApplicationBuilder, CommandHandler, ConversationHandler, MessageHandler, filters

from tests.conversation.harness import StubRequest
from bot.runtime import exactly_once
from bot.runtime.persistence import SQLAlchemyPersistence
from models import ProcessedUpdate, Setting, utcnow


def command(update_id: int, text: str, user_id: int = 7) -> dict[str, Any]:
    message: dict[str, Any] = {"message_id": update_id, "date": 1666746000, "text": text,
                               "chat": {"id": user_id, "type": "private"},
                               "from": {"id": user_id, "is_bot": False, "first_name": "张三"}}
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


def count(sessions, model) -> int:
    with sessions.begin() as s:
        return s.scalar(select(func.count()).select_from(model))


# --- markers ---------------------------------------------------------------------------------------------------


def test_mark_processed_is_idempotent(sessions):
    with sessions.begin() as s:
        assert not exactly_once.already_processed(s, 5)
        exactly_once.mark_processed(s, 5)
        exactly_once.mark_processed(s, 5)
        assert exactly_once.already_processed(s, 5)
    with sessions.begin() as s:
        exactly_once.mark_processed(s, 5)
        exactly_once.mark_processed(s, 2**40)  # update ids are 64-bit
    assert count(sessions, ProcessedUpdate) == 2


def test_marker_rolls_back_with_the_unit_of_work(sessions):
    try:
        with sessions.begin() as s:
            exactly_once.mark_processed(s, 9)
            raise RuntimeError("the handler failed")
    except RuntimeError:
        pass
    with sessions.begin() as s:
        assert not exactly_once.already_processed(s, 9)


def test_prune_forgets_old_markers_only(sessions):
    now = utcnow()
    with sessions.begin() as s:
        s.add(ProcessedUpdate(update_id=1, processed_at=now - dt.timedelta(days=8)))
        s.add(ProcessedUpdate(update_id=2, processed_at=now - dt.timedelta(days=1)))
    with sessions.begin() as s:
        assert exactly_once.prune(s, now - exactly_once.KEEP) == 1
    with sessions.begin() as s:
        assert s.scalars(select(ProcessedUpdate.update_id)).all() == [2]


# --- through a real Application --------------------------------------------------------------------------------


def build_app(sessions, stub: StubRequest):
    """/ping only replies (marked by the group-100 marker); /bind writes and marks in its own unit of work."""

    async def ping_cmd(update: Update, context) -> None:  # noqa: ANN001
        await update.effective_message.reply_text("pong")

    async def bind_cmd(update: Update, context) -> None:  # noqa: ANN001
        with sessions.begin() as s:
            s.add(Setting(key=f"bound:{update.update_id}", value=str(update.effective_chat.id)))
            exactly_once.mark_processed(s, update.update_id)
        await update.effective_message.reply_text("已绑定")

    app = ApplicationBuilder().token("123:TEST").request(stub).get_updates_request(stub).updater(None).build()
    exactly_once.install_dedup(app, sessions)
    app.add_handler(CommandHandler("ping", ping_cmd))
    app.add_handler(CommandHandler("bind", bind_cmd))
    return app


async def test_redelivered_update_is_handled_once(sessions):
    stub = StubRequest()
    app = build_app(sessions, stub)
    await app.initialize()
    await app.process_update(Update.de_json(command(100, "/ping"), app.bot))
    await app.process_update(Update.de_json(command(100, "/ping"), app.bot))  # re-delivered
    await app.process_update(Update.de_json(command(101, "/ping"), app.bot))  # a new one
    await app.shutdown()
    assert stub.sent_texts == ["pong", "pong"]
    assert count(sessions, ProcessedUpdate) == 2


async def test_effect_and_marker_commit_together_across_a_restart(sessions):
    stub = StubRequest()
    app = build_app(sessions, stub)
    await app.initialize()
    await app.process_update(Update.de_json(command(200, "/bind"), app.bot))
    await app.shutdown()

    # The process died before confirming the offset: Telegram sends update 200 again to the new process.
    restarted = build_app(sessions, stub)
    await restarted.initialize()
    await restarted.process_update(Update.de_json(command(200, "/bind"), restarted.bot))
    await restarted.shutdown()

    assert stub.sent_texts == ["已绑定"]
    assert count(sessions, Setting) == 1
    assert count(sessions, ProcessedUpdate) == 1


async def test_install_dedup_schedules_pruning(sessions):
    app = build_app(sessions, StubRequest())
    assert [job.name for job in app.job_queue.jobs()] == ["prune-updates"]


def build_conversation_app(sessions, stub: StubRequest):
    """A persistent conversation that only keeps state in PTB (no writes of its own)."""

    async def count_cmd(update: Update, context) -> int:  # noqa: ANN001
        context.user_data["n"] = 0
        await update.effective_message.reply_text("开始")
        return 1

    async def count_msg(update: Update, context) -> int:  # noqa: ANN001
        context.user_data["n"] += 1
        await update.effective_message.reply_text(f"第{context.user_data['n']}条")
        return 1

    app = (ApplicationBuilder().token("123:TEST").request(stub).get_updates_request(stub).updater(None)
           .persistence(SQLAlchemyPersistence(sessions, update_interval=60)).build())
    exactly_once.install_dedup(app, sessions)
    app.add_handler(ConversationHandler(
        entry_points=[CommandHandler("count", count_cmd)],
        states={1: [MessageHandler(filters.TEXT & ~filters.COMMAND, count_msg)]},
        fallbacks=[], name="counter", persistent=True))
    return app


async def test_state_is_saved_before_the_marker_so_a_kill_loses_nothing(sessions):
    stub = StubRequest()
    app = build_conversation_app(sessions, stub)
    await app.initialize()
    await app.process_update(Update.de_json(command(300, "/count"), app.bot))
    await app.process_update(Update.de_json(command(301, "甲"), app.bot))
    # kill -9: no update_persistence, no shutdown. Telegram re-delivers 301, then the user goes on.

    restarted = build_conversation_app(sessions, stub)
    await restarted.initialize()
    await restarted.process_update(Update.de_json(command(301, "甲"), restarted.bot))
    await restarted.process_update(Update.de_json(command(302, "乙"), restarted.bot))
    await restarted.shutdown()

    assert stub.sent_texts == ["开始", "第1条", "第2条"]
