"""Conversation state and user/chat/bot data live in the database and survive a restart (SPEC §9)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import event, select
from telegram import Update
from telegram.ext import (ApplicationBuilder, CommandHandler, ConversationHandler, MessageHandler,
                          PersistenceInput, filters)

from tests.conversation.harness import StubRequest
from bot.runtime.persistence import SQLAlchemyPersistence
from models import ConversationRow, PersistenceEntry


# --- the persistence API directly ------------------------------------------------------------------------------


async def test_data_and_conversations_survive_a_restart(sessions):
    before = SQLAlchemyPersistence(sessions)
    await before.update_user_data(7, {"lang": "zh", "draft": {"target": 3, "codes": [1, 5]}})
    await before.update_chat_data(-100123, {"bound": True})
    await before.update_bot_data({"version": 2, "名称": "双随机"})
    await before.update_conversation("entry", (7, 7), 2)
    await before.update_conversation("entry", (-100123, 8), 1)
    await before.update_callback_data(([("kb-1", 1666746000.5, {"btn-1": "enter:code:3:1"})], {"q-9": "kb-1"}))

    after = SQLAlchemyPersistence(sessions)  # a new process
    assert await after.get_user_data() == {7: {"lang": "zh", "draft": {"target": 3, "codes": [1, 5]}}}
    assert await after.get_chat_data() == {-100123: {"bound": True}}
    assert await after.get_bot_data() == {"version": 2, "名称": "双随机"}
    assert await after.get_conversations("entry") == {(7, 7): 2, (-100123, 8): 1}
    assert await after.get_conversations("other") == {}
    assert await after.get_callback_data() == ([("kb-1", 1666746000.5, {"btn-1": "enter:code:3:1"})],
                                               {"q-9": "kb-1"})


async def test_empty_database_gives_empty_data(sessions):
    p = SQLAlchemyPersistence(sessions)
    assert await p.get_user_data() == {}
    assert await p.get_chat_data() == {}
    assert await p.get_bot_data() == {}
    assert await p.get_callback_data() is None


async def test_updates_overwrite_and_drops_remove(sessions):
    p = SQLAlchemyPersistence(sessions)
    await p.update_user_data(1, {"n": 1})
    await p.update_user_data(1, {"n": 2})
    await p.update_user_data(2, {"n": 9})
    await p.update_chat_data(5, {"x": 1})
    await p.drop_user_data(1)
    await p.drop_chat_data(5)
    await p.drop_chat_data(6)  # never stored: nothing happens

    fresh = SQLAlchemyPersistence(sessions)
    assert await fresh.get_user_data() == {2: {"n": 9}}
    assert await fresh.get_chat_data() == {}
    await p.update_user_data(1, {"n": 3})  # stored again after a drop
    assert (await fresh.get_user_data())[1] == {"n": 3}


async def test_ending_a_conversation_removes_its_row(sessions):
    p = SQLAlchemyPersistence(sessions)
    await p.update_conversation("entry", (7, 7), 1)
    await p.update_conversation("entry", (7, 7), 3)
    await p.update_conversation("entry", (8, 8), 1)
    await p.update_conversation("entry", (7, 7), None)
    await p.update_conversation("entry", (9, 9), None)  # never stored
    assert await SQLAlchemyPersistence(sessions).get_conversations("entry") == {(8, 8): 1}
    with sessions.begin() as s:
        assert s.scalars(select(ConversationRow.key)).all() == ["[8,8]"]


async def test_non_json_data_is_refused_naming_the_key(sessions):
    p = SQLAlchemyPersistence(sessions)
    with pytest.raises(TypeError, match=r"user_data\[7\]\['draft'\]\['when'\]: datetime"):
        await p.update_user_data(7, {"draft": {"when": dt.datetime(2022, 9, 26)}})
    with pytest.raises(TypeError, match=r"chat_data\[5\]: key 3 is a int"):
        await p.update_chat_data(5, {3: "int keys would come back as strings"})
    with pytest.raises(TypeError, match=r"bot_data\['s'\]: set"):
        await p.update_bot_data({"s": {1, 2}})
    with pytest.raises(TypeError, match=r"conversation 'entry'"):
        await p.update_conversation("entry", (1, 1), object())
    with sessions.begin() as s:
        assert s.scalars(select(PersistenceEntry)).all() == []


async def test_unchanged_data_is_not_written_again(sessions, engine):
    p = SQLAlchemyPersistence(sessions)
    await p.update_bot_data({"a": 1})
    await p.update_conversation("entry", (1, 1), 2)
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        await p.update_bot_data({"a": 1})
        await p.update_conversation("entry", (1, 1), 2)
        assert statements == []
        await p.update_bot_data({"a": 2})
        assert statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert await SQLAlchemyPersistence(sessions).get_bot_data() == {"a": 2}


# --- a real Application with a persistent ConversationHandler --------------------------------------------------

COUNTING = 1


async def count_cmd(update: Update, context) -> int:  # noqa: ANN001
    context.user_data["n"] = 0
    await update.effective_message.reply_text("开始计数")
    return COUNTING


async def count_msg(update: Update, context) -> int:  # noqa: ANN001
    context.user_data["n"] += 1
    await update.effective_message.reply_text(f"第{context.user_data['n']}条")
    return COUNTING


async def done_cmd(update: Update, context) -> int:  # noqa: ANN001
    await update.effective_message.reply_text(f"共{context.user_data.pop('n')}条")
    return ConversationHandler.END


def build_app(sessions, stub: StubRequest):
    app = (ApplicationBuilder().token("123:TEST").request(stub).get_updates_request(stub).updater(None)
           .persistence(SQLAlchemyPersistence(sessions, store_data=PersistenceInput(callback_data=False)))
           .build())
    app.add_handler(ConversationHandler(
        entry_points=[CommandHandler("count", count_cmd)],
        states={COUNTING: [MessageHandler(filters.TEXT & ~filters.COMMAND, count_msg)]},
        fallbacks=[CommandHandler("done", done_cmd)],
        name="counter", persistent=True))
    return app


class Chat:
    """One user writing to the bot in a private chat."""

    def __init__(self, user_id: int = 7) -> None:
        self.user_id = user_id
        self.update_id = 0

    def update(self, app, text: str) -> Update:
        self.update_id += 1
        message: dict[str, Any] = {
            "message_id": self.update_id, "date": 1666746000, "text": text,
            "chat": {"id": self.user_id, "type": "private"},
            "from": {"id": self.user_id, "is_bot": False, "first_name": "张三", "language_code": "zh-hans"}}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return Update.de_json({"update_id": self.update_id, "message": message}, app.bot)

    async def send(self, app, *texts: str) -> None:
        for text in texts:
            await app.process_update(self.update(app, text))


async def test_conversation_continues_after_a_restart(sessions):
    stub = StubRequest()
    chat = Chat()

    app = build_app(sessions, stub)
    await app.initialize()
    await chat.send(app, "/count", "甲", "乙")
    await app.update_persistence()
    await app.shutdown()
    with sessions.begin() as s:
        assert s.execute(select(ConversationRow.name, ConversationRow.key, ConversationRow.state)).all() == [
            ("counter", "[7,7]", COUNTING)]

    restarted = build_app(sessions, stub)  # a new process on the same database
    await restarted.initialize()
    assert restarted.user_data[7] == {"n": 2}
    await chat.send(restarted, "丙", "/done")
    await restarted.update_persistence()
    await restarted.shutdown()

    assert stub.sent_texts == ["开始计数", "第1条", "第2条", "第3条", "共3条"]
    with sessions.begin() as s:
        assert s.scalars(select(ConversationRow)).all() == []
    assert await SQLAlchemyPersistence(sessions).get_user_data() == {7: {}}


async def test_shutdown_flushes_without_an_explicit_update(sessions):
    stub = StubRequest()
    chat = Chat(user_id=8)
    app = build_app(sessions, stub)
    await app.initialize()
    await chat.send(app, "/count", "甲")
    await app.shutdown()  # PTB updates the persistence on shutdown
    assert await SQLAlchemyPersistence(sessions).get_conversations("counter") == {(8, 8): COUNTING}
