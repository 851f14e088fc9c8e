"""An unexpected error in a handler (SPEC §9) through the real Application: the user is told that something went
wrong, and each bound admin is told what — type, message, our frame, the command — through the outbox, in their
language, with the bot token taken out; the same error again within the hour adds nothing, a different error is
told, and the same error an hour later is told again."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

import handlers
from bot.runtime import outbox_sender
from bot.services import directory_search
from bot.texts import t
from models import OutboxMessage, Person, utcnow
from tests.conversation.conftest import CONFIG_ADMIN_ID

TOKEN_LIKE = "7312345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # another bot's token, not the configured one
INSPECTOR, ADMIN = 6003, 6001


@pytest.fixture
def failing(monkeypatch, cfg):
    """/targets fails with whatever exception is set; its message quotes Telegram URLs with tokens in them."""
    raised: dict[str, BaseException] = {}

    def search_targets(*args, **kwargs):
        raise raised["exc"]

    monkeypatch.setattr(directory_search, "search_targets", search_targets)

    def set_error(exc: BaseException) -> None:
        raised["exc"] = exc

    return set_error


def _url(n: int, cfg) -> str:
    return f"https://api.telegram.org/bot{cfg.bot.token}/getFile?n={n} (also bot{TOKEN_LIKE})"


def reports(sessions) -> list[OutboxMessage]:
    with sessions.begin() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.dedup_key.like("error:%"))
                         .order_by(OutboxMessage.id)).all()
        s.expunge_all()
        return rows


@pytest.fixture
def english_admin(sessions, people):
    with sessions.begin() as s:
        s.execute(update(Person).where(Person.telegram_user_id == ADMIN).values(language="en"))


async def test_an_error_reaches_each_admin_once_an_hour(chat, sessions, cfg, people, english_admin, failing,
                                                        monkeypatch):
    failing(RuntimeError(f"lookup 17 failed: {_url(17, cfg)}"))
    await chat.as_user(INSPECTOR).send("/targets 网")
    assert chat.texts() == [t("error.internal", "zh")]  # the user: the user-facing text, nothing else
    rows = reports(sessions)
    assert sorted(r.chat_id for r in rows) == sorted([CONFIG_ADMIN_ID, ADMIN])  # each admin, once
    by_chat = {r.chat_id: r.text for r in rows}
    zh, en = by_chat[CONFIG_ADMIN_ID], by_chat[ADMIN]
    assert zh.startswith("⚠️ 机器人出现未预期的错误") and en.startswith("⚠️ The bot hit an unexpected error")
    for text in (zh, en):
        assert "RuntimeError" in text and "lookup 17 failed" in text and "/targets" in text
        assert "handlers/directory.py:" in text  # our last frame: where /targets called the failing search
        assert "网" not in text  # what the user typed stays out
        assert cfg.bot.token not in text and TOKEN_LIKE not in text and "bot<TOKEN>/getFile" in text

    # the same fault again within the hour (other numbers in its message): nothing more
    failing(RuntimeError(f"lookup 18 failed: {_url(18, cfg)}"))
    await chat.as_user(INSPECTOR).send("/targets 网")
    assert chat.texts() == [t("error.internal", "zh")]
    assert len(reports(sessions)) == 2

    # a different error: told at once
    failing(KeyError("campaign"))
    await chat.as_user(INSPECTOR).send("/targets 网")
    rows = reports(sessions)
    assert len(rows) == 4 and {r.chat_id for r in rows[2:]} == {CONFIG_ADMIN_ID, ADMIN}
    assert all("KeyError" in r.text for r in rows[2:])

    # an hour later the first one again: told again
    later = utcnow() + dt.timedelta(hours=1)
    monkeypatch.setattr(handlers, "utcnow", lambda: later)
    failing(RuntimeError(f"lookup 19 failed: {_url(19, cfg)}"))
    await chat.as_user(INSPECTOR).send("/targets 网")
    rows = reports(sessions)
    assert len(rows) == 6 and all("RuntimeError" in r.text for r in rows[4:])

    # delivered like every notification: to the admins' chats, not to the inspector's
    chat.mark = len(chat.request.calls)
    while (await outbox_sender.deliver_due(chat.app.bot, sessions)).claimed:
        pass
    sent = [c for c in chat.replies() if c.method == "sendMessage"]
    assert sorted(c.chat_id for c in sent) == sorted([CONFIG_ADMIN_ID, ADMIN] * 3)
    assert not any(cfg.bot.token in c.text or TOKEN_LIKE in c.text for c in chat.request.calls
                   if c.method == "sendMessage")


async def test_an_error_on_a_button_names_the_button_kind(chat, sessions, cfg, people, failing):
    failing(ValueError("page 3 of 2"))
    chat.app.user_data[ADMIN]["dir_queries"] = {"tok": "网"}  # the query behind the page button
    await chat.as_user(ADMIN).press_data("dir:targets:2:tok")
    assert chat.alerts() == [t("error.internal", "zh")]
    rows = reports(sessions)
    assert len(rows) == 2 and all("button dir:" in r.text and "ValueError" in r.text for r in rows)
    assert all("handlers/directory.py:" in r.text and " in _render" in r.text for r in rows)


async def test_the_user_is_told_even_when_the_admins_cannot_be(chat, sessions, cfg, people, failing, monkeypatch):
    from bot.services import error_reports

    def broken(*args, **kwargs):
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(error_reports, "tell_admins", broken)
    failing(RuntimeError("boom"))
    await chat.as_user(INSPECTOR).send("/targets 网")
    assert chat.texts() == [t("error.internal", "zh")]
    assert reports(sessions) == []
