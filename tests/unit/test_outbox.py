"""The outbox delivers every message once: dedup on enqueue, leases after a crash, flood control, outages,
blocked users reported to the admins, documents with their bytes. Telegram is a BaseRequest stub; the
database is real (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Callable

import httpx
import pytest
from sqlalchemy import func, select, update
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.request import BaseRequest, RequestData

from bot.services import outbox

from bot.runtime import outbox_sender
from bot.texts.outbox import TEXTS
from models import Department, OutboxMessage, Person

T0 = dt.datetime(2022, 10, 26, 1, 0, tzinfo=dt.timezone.utc)

Reply = tuple[int, dict[str, Any]]


def ok(result: Any) -> Reply:
    return 200, {"ok": True, "result": result}


def error(status: int, description: str, **parameters: Any) -> Reply:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return status, body


TOO_MANY = error(429, "Too Many Requests: retry after 5", retry_after=5)
BLOCKED = error(403, "Forbidden: bot was blocked by the user")
SERVER_ERROR = error(500, "Internal Server Error")


class TelegramStub(BaseRequest):
    """Answers like the Bot API. `script(method, params)` may return a reply to override the default success;
    every call is recorded with its parameters and, for uploads, the multipart body as httpx would send it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], bytes | None]] = []
        self.script: Callable[[str, dict[str, Any]], Reply | None] = lambda method, params: None
        self._message_id = 1000

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
        body = None
        if request_data is not None and request_data.contains_files:
            body = httpx.Request("POST", url, data=request_data.json_parameters,
                                 files=request_data.multipart_data).read()
        self.calls.append((api, params, body))
        status, payload = self.script(api, params) or self._default(api, params)
        return status, json.dumps(payload).encode()

    def _default(self, api: str, params: dict[str, Any]) -> Reply:
        if api == "getMe":
            return ok({"id": 999, "is_bot": True, "first_name": "抽查助手", "username": "choucha_bot"})
        self._message_id += 1
        message: dict[str, Any] = {"message_id": self._message_id, "date": 0,
                                   "chat": {"id": params["chat_id"], "type": "private"}}
        if api == "sendMessage":
            message["text"] = params["text"]
        elif api == "sendDocument":
            message["document"] = {"file_id": "f", "file_unique_id": "u", "file_name": "x"}
        return ok(message)

    def sent(self, api: str = "sendMessage") -> list[dict[str, Any]]:
        return [params for name, params, _ in self.calls if name == api]


@pytest.fixture
async def tg():
    stub = TelegramStub()
    bot = Bot("123:TEST", request=stub, get_updates_request=stub)
    await bot.initialize()
    stub.calls.clear()
    yield stub, bot
    await bot.shutdown()


def at(seconds: float) -> Callable[[], dt.datetime]:
    return lambda: T0 + dt.timedelta(seconds=seconds)


def rows(sessions) -> list[OutboxMessage]:
    with sessions.begin() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def put(sessions, **kwargs: Any) -> int:
    kwargs.setdefault("not_before", T0)
    with sessions.begin() as s:
        msg = outbox.enqueue(s, **kwargs)
        assert msg is not None
        return msg.id


# --- enqueue ---------------------------------------------------------------------------------------------------


def test_enqueue_is_idempotent_on_dedup_key(sessions):
    with sessions.begin() as s:
        assert outbox.enqueue(s, chat_id=1, text="提醒", dedup_key="remind:1:7:2022-10-26") is not None
        assert outbox.enqueue(s, chat_id=1, text="提醒", dedup_key="remind:1:7:2022-10-26") is None
    with sessions.begin() as s:  # a later run (e.g. after a restart) enqueues the same reminder again
        assert outbox.enqueue(s, chat_id=1, text="提醒", dedup_key="remind:1:7:2022-10-26") is None
    assert [r.dedup_key for r in rows(sessions)] == ["remind:1:7:2022-10-26"]


def test_unique_constraint_guards_enqueue_and_keeps_the_callers_transaction(sessions):
    """When a concurrent writer passed the pre-check, the savepoint absorbs the conflict."""
    with sessions.begin() as s:
        outbox.enqueue(s, chat_id=1, text="a", dedup_key="k")
    with sessions.begin() as s:
        real_scalar = s.scalar
        s.scalar = lambda *a, **kw: None  # type: ignore[method-assign]  # the pre-check sees nothing
        assert outbox.enqueue(s, chat_id=1, text="a", dedup_key="k") is None
        s.scalar = real_scalar  # type: ignore[method-assign]
        assert outbox.enqueue(s, chat_id=2, text="b", dedup_key="other") is not None
    assert sorted(r.dedup_key for r in rows(sessions)) == ["k", "other"]


def test_enqueue_without_key_is_not_deduplicated(sessions):
    put(sessions, chat_id=1, text="a")
    put(sessions, chat_id=1, text="a")
    assert len(rows(sessions)) == 2


def test_enqueue_rejects_incomplete_messages(sessions):
    with sessions.begin() as s:
        with pytest.raises(ValueError):
            outbox.enqueue(s, chat_id=1)
        with pytest.raises(ValueError):
            outbox.enqueue(s, chat_id=1, method="sendDocument", document=b"x")
        with pytest.raises(ValueError):
            outbox.enqueue(s, chat_id=1, text="x", method="sendPhoto")


# --- claim ----------------------------------------------------------------------------------------------------


def test_claim_takes_due_rows_and_expired_leases_only(sessions):
    due = put(sessions, chat_id=1, text="due")
    later = put(sessions, chat_id=1, text="later", not_before=T0 + dt.timedelta(hours=1))
    stuck = put(sessions, chat_id=1, text="crashed while sending")
    busy = put(sessions, chat_id=1, text="being sent right now")
    with sessions.begin() as s:
        s.execute(update(OutboxMessage).where(OutboxMessage.id == stuck)
                  .values(state="sending", attempts=1, claimed_at=T0 - dt.timedelta(minutes=3)))
        s.execute(update(OutboxMessage).where(OutboxMessage.id == busy)
                  .values(state="sending", attempts=1, claimed_at=T0 - dt.timedelta(seconds=30)))
    with sessions.begin() as s:
        claimed = outbox.claim_due(s, T0, lease=dt.timedelta(minutes=2))
    assert sorted(claimed) == sorted([due, stuck])
    by_id = {r.id: r for r in rows(sessions)}
    assert by_id[due].state == "sending" and by_id[due].attempts == 1 and by_id[due].claimed_at == T0
    assert by_id[stuck].attempts == 2
    assert by_id[later].state == "pending" and by_id[busy].claimed_at == T0 - dt.timedelta(seconds=30)
    with sessions.begin() as s:  # claimed rows are not claimed twice
        assert outbox.claim_due(s, T0) == []


def test_concurrent_claimers_take_disjoint_rows_on_postgresql(sessions, engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serializes writers with BEGIN IMMEDIATE: there is no concurrent claim")
    for i in range(4):
        put(sessions, chat_id=i, text="x")
    with sessions.begin() as first:
        mine = outbox.claim_due(first, T0, limit=2)
        with sessions.begin() as second:  # runs while the first claim is still uncommitted
            theirs = outbox.claim_due(second, T0, limit=10)
    assert len(mine) == 2 and len(theirs) == 2 and not set(mine) & set(theirs)


def test_claim_respects_the_limit(sessions):
    for i in range(5):
        put(sessions, chat_id=i, text="x")
    with sessions.begin() as s:
        assert len(outbox.claim_due(s, T0, limit=3)) == 3
    with sessions.begin() as s:
        assert len(outbox.claim_due(s, T0, limit=3)) == 2


# --- delivery -------------------------------------------------------------------------------------------------


async def test_delivers_each_message_once(sessions, tg):
    stub, bot = tg
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("同意", callback_data="approve:1"),
                                      InlineKeyboardButton("驳回", callback_data="reject:1")]])
    a = put(sessions, chat_id=11, text="请审批更正申请", reply_markup=keyboard.to_dict())
    b = put(sessions, chat_id=12, text="<b>提醒</b>", parse_mode="HTML")

    report = await outbox_sender.deliver_due(bot, sessions, now_fn=at(1))
    assert (report.claimed, report.sent, report.failed) == (2, 2, 0)
    again = await outbox_sender.deliver_due(bot, sessions, now_fn=at(60))
    assert again.claimed == 0

    sent = stub.sent()
    assert [(p["chat_id"], p["text"]) for p in sent] == [(11, "请审批更正申请"), (12, "<b>提醒</b>")]
    assert sent[0]["reply_markup"]["inline_keyboard"][0][1]["callback_data"] == "reject:1"
    assert sent[1]["parse_mode"] == "HTML"
    by_id = {r.id: r for r in rows(sessions)}
    assert by_id[a].state == by_id[b].state == "sent"
    assert by_id[a].message_id and by_id[a].message_id != by_id[b].message_id
    assert by_id[a].sent_at == T0 + dt.timedelta(seconds=1)


async def test_not_before_is_respected(sessions, tg):
    stub, bot = tg
    put(sessions, chat_id=1, text="明天九点", not_before=T0 + dt.timedelta(hours=1))
    assert (await outbox_sender.deliver_due(bot, sessions, now_fn=at(60))).claimed == 0
    assert (await outbox_sender.deliver_due(bot, sessions, now_fn=at(3600))).sent == 1


@pytest.fixture(params=["int", "timedelta"])
def retry_after_form(request, monkeypatch):
    """PTB 22 gives RetryAfter.retry_after as int (deprecated) or, with PTB_TIMEDELTA, as a timedelta."""
    if request.param == "timedelta":
        monkeypatch.setenv("PTB_TIMEDELTA", "true")
    else:
        monkeypatch.delenv("PTB_TIMEDELTA", raising=False)
    return request.param


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_flood_control_pauses_the_batch_and_delivers_later_once(sessions, tg, retry_after_form):
    stub, bot = tg
    first = [True]

    def once_429(api: str, params: dict[str, Any]) -> Reply | None:
        if api == "sendMessage" and first[0]:
            first[0] = False
            return TOO_MANY
        return None

    stub.script = once_429
    put(sessions, chat_id=1, text="甲")
    put(sessions, chat_id=2, text="乙")

    report = await outbox_sender.deliver_due(bot, sessions, now_fn=at(0))
    assert report.retry_after == dt.timedelta(seconds=5) and report.sent == 0
    assert len(stub.sent()) == 1  # the second message was not tried during the pause
    for row in rows(sessions):
        assert row.state == "pending" and row.attempts == 0
        assert row.not_before == T0 + dt.timedelta(seconds=5)
    assert "RetryAfter" in (rows(sessions)[0].last_error or "")

    assert (await outbox_sender.deliver_due(bot, sessions, now_fn=at(3))).claimed == 0
    assert (await outbox_sender.deliver_due(bot, sessions, now_fn=at(6))).sent == 2
    delivered = [p["text"] for p in stub.sent()]
    assert delivered == ["甲", "甲", "乙"]  # once refused, then each once
    assert all(r.state == "sent" for r in rows(sessions))


async def test_server_error_backs_off_then_delivers(sessions, tg):
    stub, bot = tg
    failures = [2]

    def flaky(api: str, params: dict[str, Any]) -> Reply | None:
        if api == "sendMessage" and failures[0]:
            failures[0] -= 1
            return SERVER_ERROR
        return None

    stub.script = flaky
    msg = put(sessions, chat_id=1, text="汇总表已生成")

    assert (await outbox_sender.deliver_due(bot, sessions, now_fn=at(0))).retried == 1
    row = rows(sessions)[0]
    assert row.state == "pending" and row.attempts == 1 and "Internal Server Error" in row.last_error
    assert row.not_before == T0 + dt.timedelta(seconds=2)

    assert (await outbox_sender.deliver_due(bot, sessions, now_fn=at(1))).claimed == 0
    assert (await outbox_sender.deliver_due(bot, sessions, now_fn=at(2))).retried == 1
    assert rows(sessions)[0].not_before == T0 + dt.timedelta(seconds=2 + 4)
    assert (await outbox_sender.deliver_due(bot, sessions, now_fn=at(6))).sent == 1
    row = rows(sessions)[0]
    assert (row.id, row.state, row.attempts) == (msg, "sent", 3)
    assert len(stub.sent()) == 3


def test_backoff_is_capped():
    assert outbox.backoff(1) == dt.timedelta(seconds=2)
    assert outbox.backoff(5) == dt.timedelta(seconds=32)
    assert outbox.backoff(50) == dt.timedelta(minutes=10)


async def test_an_outage_never_fails_a_message(sessions, tg):
    stub, bot = tg
    stub.script = lambda api, params: SERVER_ERROR if api == "sendMessage" else None
    put(sessions, chat_id=1, text="x")
    with sessions.begin() as s:
        s.execute(update(OutboxMessage).values(attempts=outbox.MAX_ATTEMPTS + 5))
    await outbox_sender.deliver_due(bot, sessions, now_fn=at(0))
    assert rows(sessions)[0].state == "pending"


async def test_unexpected_errors_fail_after_max_attempts(sessions, tg):
    stub, bot = tg
    stub.script = lambda api, params: error(409, "Conflict: something odd") if api == "sendMessage" else None
    put(sessions, chat_id=1, text="x")
    await outbox_sender.deliver_due(bot, sessions, now_fn=at(0), max_attempts=2)
    assert rows(sessions)[0].state == "pending"
    await outbox_sender.deliver_due(bot, sessions, now_fn=at(10), max_attempts=2)
    row = rows(sessions)[0]
    assert (row.state, row.attempts) == ("failed", 2) and "Conflict" in row.last_error


async def test_blocked_user_fails_and_admins_are_told_once(sessions, tg):
    stub, bot = tg
    with sessions.begin() as s:
        dept = Department(name="西华县市场监督管理局", short_name="县市场监管局")
        s.add(dept)
        s.flush()
        s.add(Person(natural_key="C-1", name="张三", department_id=dept.id, telegram_user_id=42,
                     phone="13800000000"))
    stub.script = lambda api, params: BLOCKED if params.get("chat_id") == 42 else None
    put(sessions, chat_id=42, text="提醒一")
    put(sessions, chat_id=43, text="给别人")
    put(sessions, chat_id=42, text="提醒二")

    report = await outbox_sender.deliver_due(bot, sessions, now_fn=at(0), admin_chat_ids=[1, 2])
    assert (report.sent, report.failed, report.blocked_chats) == (1, 2, [42])
    assert [p["chat_id"] for p in stub.sent()] == [42, 43]  # the second row to 42 was not tried
    to_42 = [r for r in rows(sessions) if r.chat_id == 42]
    assert [r.state for r in to_42] == ["failed", "failed"]
    assert all("bot was blocked" in r.last_error for r in to_42)

    notices = [r for r in rows(sessions) if r.chat_id in (1, 2)]
    assert sorted(r.dedup_key for r in notices) == ["blocked:42:1", "blocked:42:2"]
    assert "张三（县市场监管局，13800000000）" in notices[0].text and "42" in notices[0].text

    # Later messages to the same chat fail too, without telling the admins again.
    put(sessions, chat_id=42, text="提醒三")
    report = await outbox_sender.deliver_due(bot, sessions, now_fn=at(1), admin_chat_ids=lambda s: [1, 2])
    assert report.sent == 2 and report.failed == 1  # the two notices, and 提醒三
    assert sorted(p["chat_id"] for p in stub.sent()[-3:]) == [1, 2, 42]
    assert len([r for r in rows(sessions) if r.chat_id in (1, 2)]) == 2


def test_blocked_notice_texts_have_the_same_placeholders():
    params = dict(who="张三", chat_id=42, reason="Forbidden")
    for entry in TEXTS.values():
        assert set(entry) == {"zh", "en"}
    assert "42" in TEXTS["outbox.blocked"]["zh"].format(**params)
    assert "42" in TEXTS["outbox.blocked"]["en"].format(**params)


async def test_chat_not_found_counts_as_unreachable(sessions, tg):
    stub, bot = tg
    stub.script = lambda api, params: error(400, "Bad Request: chat not found") if api == "sendMessage" else None
    put(sessions, chat_id=77, text="x")
    report = await outbox_sender.deliver_due(bot, sessions, now_fn=at(0), admin_chat_ids=[1])
    assert report.blocked_chats == [77]
    assert any(r.dedup_key == "blocked:77:1" for r in rows(sessions))


async def test_permanent_bad_request_fails_without_retry(sessions, tg):
    stub, bot = tg
    stub.script = lambda api, params: (error(400, "Bad Request: message is too long")
                                       if api == "sendMessage" else None)
    put(sessions, chat_id=5, text="很长")
    report = await outbox_sender.deliver_due(bot, sessions, now_fn=at(0), admin_chat_ids=[1])
    assert report.failed == 1 and report.blocked_chats == []
    assert [r.state for r in rows(sessions)] == ["failed"]  # and no admin notice


async def test_migrated_group_gets_the_message_at_its_new_id(sessions, tg):
    stub, bot = tg
    stub.script = lambda api, params: (error(400, "Bad Request: group chat was upgraded to a supergroup chat",
                                             migrate_to_chat_id=-1001234)
                                       if params.get("chat_id") == -55 else None)
    put(sessions, chat_id=-55, text="抽取结果")
    await outbox_sender.deliver_due(bot, sessions, now_fn=at(0))
    await outbox_sender.deliver_due(bot, sessions, now_fn=at(0))
    row = rows(sessions)[0]
    assert (row.state, row.chat_id) == ("sent", -1001234)
    assert [p["chat_id"] for p in stub.sent()] == [-55, -1001234]


async def test_document_carries_bytes_and_filename(sessions, tg):
    stub, bot = tg
    content = b"PK\x03\x04" + "附件3_联合抽查汇总表".encode() + bytes(range(256))
    put(sessions, chat_id=9, method="sendDocument", document=content, filename="西文旅抽查〔2022〕1号_附件3.xlsx",
        caption="汇总表")
    assert (await outbox_sender.deliver_due(bot, sessions, now_fn=at(0))).sent == 1
    calls = [(params, body) for api, params, body in stub.calls if api == "sendDocument"]
    assert len(calls) == 1
    params, body = calls[0]
    assert params["chat_id"] == 9 and params["caption"] == "汇总表"
    assert body is not None and content in body
    assert 'filename="西文旅抽查〔2022〕1号_附件3.xlsx"'.encode() in body
    assert rows(sessions)[0].state == "sent"


async def test_a_crashed_claim_is_retried_after_its_lease(sessions, tg):
    stub, bot = tg
    put(sessions, chat_id=3, text="x")
    with sessions.begin() as s:  # a worker claimed the row and died before sending
        assert outbox.claim_due(s, T0)
    assert (await outbox_sender.deliver_due(bot, sessions, now_fn=at(60))).claimed == 0
    assert (await outbox_sender.deliver_due(bot, sessions, now_fn=at(121))).sent == 1
    assert (await outbox_sender.deliver_due(bot, sessions, now_fn=at(1000))).claimed == 0
    assert len(stub.sent()) == 1


async def test_worker_drains_more_than_one_batch(sessions, tg):
    stub, bot = tg
    for i in range(5):
        put(sessions, chat_id=i + 1, text=f"第{i + 1}条", not_before=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))

    class App:
        pass

    app = App()
    app.bot = bot  # type: ignore[attr-defined]
    worker = outbox_sender.OutboxWorker(app, sessions, limit=2)
    report = await worker.run_once()
    assert report is not None and report.sent == 5
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state == "sent")) == 5


async def test_start_outbox_worker_registers_a_job(sessions, tg):
    from telegram.ext import ApplicationBuilder

    stub, _bot = tg
    app = ApplicationBuilder().token("123:TEST").request(stub).get_updates_request(stub).updater(None).build()
    worker = outbox_sender.start_outbox_worker(app, interval=0.5, admin_chat_ids=[1], sessions=sessions)
    assert [job.name for job in app.job_queue.jobs()] == ["outbox"]
    assert worker.sessions is sessions
