"""Telegram's flood limits in production (SPEC §9: 30 messages/s, 20/min per group): `python -m bot run` builds
the Application with PTB's AIORateLimiter in both modes, the limiter spaces messages to a group, and the outbox
behind it honours a RetryAfter from Telegram. Telegram is a BaseRequest stub recording when each call arrived."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import time
from typing import Any

import pytest
from sqlalchemy import select
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import BaseRequest, RequestData

from bot.services import outbox

from bot.runtime import outbox_sender
from bot.runtime.app import build_application
from bot.config import config_from_dict
from models import OutboxMessage

GROUP = -1001234
T0 = dt.datetime(2022, 10, 26, 1, 0, tzinfo=dt.timezone.utc)


class TimedStub(BaseRequest):
    """Answers like the Bot API and records (method, chat_id, monotonic time) of every call; `flood` answers
    that many sendMessage calls with 429 retry_after=`retry_after` first."""

    def __init__(self, flood: int = 0, retry_after: int = 1) -> None:
        self.calls: list[tuple[str, Any, float]] = []
        self.flood = flood
        self.retry_after = retry_after
        self._message_id = 0

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         **_timeouts: Any) -> tuple[int, bytes]:
        api = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        self.calls.append((api, params.get("chat_id"), time.monotonic()))
        if api == "getMe":
            return 200, json.dumps({"ok": True, "result": {"id": 999, "is_bot": True, "first_name": "抽查助手",
                                                           "username": "choucha_bot"}}).encode()
        if api == "sendMessage" and self.flood:
            self.flood -= 1
            return 429, json.dumps({"ok": False, "error_code": 429, "description": "Too Many Requests: retry after "
                                    f"{self.retry_after}", "parameters": {"retry_after": self.retry_after}}).encode()
        self._message_id += 1
        chat_id = params.get("chat_id", 0)
        return 200, json.dumps({"ok": True, "result": {
            "message_id": self._message_id, "date": 0, "text": params.get("text", ""),
            "chat": {"id": chat_id, "type": "supergroup" if int(chat_id) < 0 else "private"}}}).encode()

    def sends(self) -> list[tuple[Any, float]]:
        return [(chat, at) for api, chat, at in self.calls if api == "sendMessage"]


CFG = config_from_dict({"bot": {"token": "123:TEST"}})


@pytest.fixture
async def production_app(sessions):
    """The Application as `python -m bot run` builds it (rate_limiter=True), on a stub."""
    stub = TimedStub()
    app = build_application(CFG, sessions, rate_limiter=True, request=stub)
    await app.bot.initialize()
    yield app, stub
    await app.bot.shutdown()


async def test_the_production_builder_uses_aioratelimiter_with_telegrams_limits(production_app):
    app, _stub = production_app
    limiter = app.bot.rate_limiter
    assert isinstance(app.bot, ExtBot) and isinstance(limiter, AIORateLimiter)
    # Telegram's limits (PTB's defaults): 30 messages per second overall, 20 per minute in one group.
    assert (limiter._base_limiter.max_rate, limiter._base_limiter.time_period) == (30, 1)
    assert (limiter._group_max_rate, limiter._group_time_period) == (20, 60)
    assert limiter._max_retries == 0  # a RetryAfter reaches the caller (the outbox reschedules; see below)


async def test_the_production_bot_holds_the_21st_message_to_a_group(production_app):
    app, stub = production_app
    t0 = time.monotonic()
    await asyncio.gather(*(app.bot.send_message(GROUP, f"第{i}条") for i in range(21)))
    times = sorted(at - t0 for _chat, at in stub.sends())
    assert len(times) == 21
    assert times[19] < 1.0  # the first 20 go at once
    assert times[20] >= 2.5  # the 21st waits for the bucket: 60 s / 20 = 3 s per message


async def test_a_group_limit_spaces_messages_to_that_group_only():
    stub = TimedStub()
    bot = ExtBot("123:TEST", request=stub, get_updates_request=stub,
                 rate_limiter=AIORateLimiter(group_max_rate=2, group_time_period=1))
    async with bot:
        t0 = time.monotonic()
        await asyncio.gather(*(bot.send_message(GROUP, str(i)) for i in range(3)),
                             *(bot.send_message(1000 + i, "私聊") for i in range(3)))
    sends = [(chat, at - t0) for chat, at in stub.sends()]
    group = sorted(at for chat, at in sends if int(chat) == GROUP)
    private = [at for chat, at in sends if int(chat) > 0]
    assert group[1] < 0.3 and group[2] >= 0.4  # the 3rd to the group waits for a slot (1 s / 2)
    assert max(private) < 0.3  # private chats are not held by the group's limit


async def test_without_a_rate_limiter_nothing_is_held(sessions):
    stub = TimedStub()
    app = build_application(CFG, sessions, rate_limiter=False, request=stub)
    async with app.bot:
        assert app.bot.rate_limiter is None
        t0 = time.monotonic()
        await asyncio.gather(*(app.bot.send_message(GROUP, str(i)) for i in range(21)))
    assert max(at for _chat, at in stub.sends()) - t0 < 1.0


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_the_outbox_behind_the_limiter_honours_retry_after(sessions):
    stub = TimedStub(flood=1, retry_after=7)
    app = build_application(CFG, sessions, rate_limiter=True, request=stub)
    with sessions.begin() as s:
        outbox.enqueue(s, chat_id=GROUP, text="甲", not_before=T0)
        outbox.enqueue(s, chat_id=GROUP, text="乙", not_before=T0)
    async with app.bot:
        report = await outbox_sender.deliver_due(app.bot, sessions, now_fn=lambda: T0)
        assert report.retry_after == dt.timedelta(seconds=7) and report.sent == 0
        assert len(stub.sends()) == 1  # the limiter did not retry by itself, the batch stopped
        with sessions.begin() as s:
            rows = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
            assert [(r.state, r.attempts, r.not_before) for r in rows] == \
                [("pending", 0, T0 + dt.timedelta(seconds=7))] * 2
        assert (await outbox_sender.deliver_due(app.bot, sessions, now_fn=lambda: T0 + dt.timedelta(seconds=6))).claimed == 0
        later = await outbox_sender.deliver_due(app.bot, sessions, now_fn=lambda: T0 + dt.timedelta(seconds=8))
    assert later.sent == 2 and len(stub.sends()) == 3  # refused once, then each once
    with sessions.begin() as s:
        assert {r.state for r in s.scalars(select(OutboxMessage))} == {"sent"}


@pytest.mark.parametrize("mode", ["polling", "webhook"])
@pytest.mark.parametrize("flag, expected", [(False, True), (True, False)])
def test_run_builds_with_the_rate_limiter_in_both_modes_unless_told_not_to(monkeypatch, mode, flag, expected):
    import bot.cli as main
    from bot.runtime import app as app_module, polling, webhook

    built: list[dict[str, Any]] = []
    ran: list[str] = []

    def fake_build(cfg, sessions, **kwargs):
        built.append(kwargs)
        return object()

    async def fake_polling(app):
        ran.append("polling")

    async def fake_webhook(app, **kwargs):
        ran.append("webhook")

    monkeypatch.setattr(app_module, "build_application", fake_build)
    monkeypatch.setattr(polling, "run", fake_polling)
    monkeypatch.setattr(webhook, "run", fake_webhook)
    monkeypatch.setattr(main, "_open_db", lambda cfg: None)
    cfg = config_from_dict({"bot": {"token": "123:TEST", "mode": mode, "webhook_url": "https://example.org/hook"}})
    assert main.cmd_run(cfg, argparse.Namespace(no_rate_limiter=flag)) == 0
    assert ran == [mode]
    assert [kwargs.get("rate_limiter") for kwargs in built] == [expected]
