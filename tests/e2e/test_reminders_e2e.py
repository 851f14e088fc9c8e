"""End-to-end over HTTP (SPEC §7, §9): `python -m bot tick` against the Bot API emulator sends each reminder once;
the outbox delivers through 429s, 500s and a `kill -9` with every notification arriving exactly once; the
running bot's scheduled job fires by itself at `[reminders] time`."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from models import OutboxMessage, Person
from tests.e2e.conftest import ADMIN_ID, ROOT, BotProcess
from tests.resultsetup import submit

pytestmark = pytest.mark.e2e
SHANGHAI = ZoneInfo("Asia/Shanghai")


def run_cli(config, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    env["BOT_CONFIG"] = str(config)
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def known_users(sessions, emu) -> dict[int, Person]:
    """Every bound person exists in the emulator (Telegram answers "chat not found" otherwise)."""
    with sessions.begin() as s:
        people = {p.telegram_user_id: p for p in s.scalars(select(Person).where(Person.telegram_user_id.is_not(None)))}
        s.expunge_all()
    for tg, p in people.items():
        emu.user(tg, p.name)
    emu.user(ADMIN_ID, "管理员")
    return people


def outbox_rows(sessions) -> list[OutboxMessage]:
    with sessions.begin() as s:
        rows = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        s.expunge_all()
        return rows


def delivered(emu) -> Counter:
    """(chat id, text) of every sendMessage the emulator accepted, counted."""
    return Counter((c.chat_id, c.params.get("text")) for c in emu.calls_to("sendMessage") if c.ok)


def test_tick_twice_sends_each_reminder_once(sessions, emu, bot_config):
    done = submit(sessions, n_targets=5)
    known_users(sessions, emu)
    first = run_cli(bot_config, "tick", "--now", "2022-10-24T09:00+08:00")
    assert first.returncode == 0, first.stderr
    sent = delivered(emu)
    rows = outbox_rows(sessions)
    assert rows and all(r.state == "sent" for r in rows)
    messages = [r for r in rows if r.method == "sendMessage"]
    assert sum(sent.values()) == len(messages) and set(sent.values()) == {1}
    # publication was due that day (and the summary date had passed): the coordinators got the reports once per
    # deadline — the caption names it
    documents = Counter((c.chat_id, c.filename, c.params.get("caption")) for c in emu.calls_to("sendDocument")
                        if c.ok)
    assert documents and set(documents.values()) == {1}
    assert len(documents) == len(rows) - len(messages)
    # the 5-day reminder went to every inspector with pending entries, and to nobody of the finished group 1
    group1 = {done.tg(sessions, p) for ps in done.inspectors.values() for p in ps}
    reminded = {chat for chat, text in sent if "结果录入提醒" in text}
    assert reminded and not reminded & group1
    second = run_cli(bot_config, "tick", "--now", "2022-10-24T09:00+08:00")
    assert second.returncode == 0, second.stderr
    assert delivered(emu) == sent  # nothing new reached Telegram
    assert Counter((c.chat_id, c.filename, c.params.get("caption")) for c in emu.calls_to("sendDocument")
                   if c.ok) == documents
    assert "已排队 0 条通知" in second.stdout


def test_tick_on_a_holiday_sends_nothing(sessions, emu, bot_config):
    submit(sessions, n_targets=2)
    known_users(sessions, emu)
    out = run_cli(bot_config, "tick", "--now", "2022-10-04T10:00+08:00")  # National Day holiday
    assert out.returncode == 0, out.stderr
    assert "非工作日" in out.stdout
    assert emu.calls_to("sendMessage") == []
    assert outbox_rows(sessions) == []


def test_delivery_survives_429_500_and_kill9_exactly_once(sessions, emu, bot_config, tmp_path):
    submit(sessions, n_targets=2)
    people = known_users(sessions, emu)
    # A short lease so the row in flight when the bot is killed is retried within the test.
    with open(bot_config, "a", encoding="utf-8") as f:
        f.write("[outbox]\nlease_seconds = 5\n")
    queued = run_cli(bot_config, "tick", "--now", "2022-11-01T09:00+08:00", "--no-deliver")
    assert queued.returncode == 0, queued.stderr
    rows = outbox_rows(sessions)
    assert len(rows) >= 20
    blocked = next(r.chat_id for r in rows if "逾期" in (r.text or "") and r.chat_id != ADMIN_ID)
    emu.block(blocked)

    emu.fail("sendMessage", 429, retry_after=1, times=1)  # flood control on the very first send
    emu.delay("sendMessage", 0.05)  # slow enough for the kill to land mid-delivery
    bot = BotProcess(bot_config, tmp_path / "bot.log")
    bot.start(emu)
    try:
        deadline = time.monotonic() + 60
        while sum(delivered(emu).values()) < 5:
            assert time.monotonic() < deadline, bot.log()
            time.sleep(0.05)
        # Telegram starts failing (500) — kill the bot while it is retrying. Every request from now on fails,
        # so no message can be accepted by "Telegram" without the bot having marked it sent.
        emu.fail("sendMessage", 500, times=None)
        answered = len(emu.calls_to("sendMessage"))
        while sum(1 for c in emu.calls_to("sendMessage")[answered:] if c.status == 500) < 2:
            assert time.monotonic() < deadline, bot.log()
            time.sleep(0.02)
        bot.kill9()
        with sessions.begin() as s:
            states = Counter(s.scalars(select(OutboxMessage.state)))
        assert states["pending"] + states["sending"] > 0  # really killed mid-delivery
        bot.start(emu)
        time.sleep(1.0)
        emu.clear_faults()  # Telegram is back
        deadline = time.monotonic() + 90
        while True:
            with sessions.begin() as s:
                open_rows = s.scalar(select(func.count()).select_from(OutboxMessage)
                                     .where(OutboxMessage.state.in_(("pending", "sending"))))
            if open_rows == 0:
                break
            assert time.monotonic() < deadline, f"{open_rows} rows undelivered\n{bot.log()}"
            time.sleep(0.2)
    finally:
        bot.stop()

    sent = delivered(emu)
    assert set(sent.values()) == {1}, [k for k, v in sent.items() if v > 1]  # nothing twice
    documents = Counter((c.chat_id, c.filename, c.params.get("caption")) for c in emu.calls_to("sendDocument")
                        if c.ok)
    assert set(documents.values()) <= {1}
    rows = outbox_rows(sessions)
    for row in rows:
        key = (row.chat_id, row.text) if row.method == "sendMessage" else \
            (row.chat_id, row.payload["filename"], row.payload.get("caption"))
        if row.chat_id == blocked:
            assert row.state == "failed"
            assert key not in sent and key not in documents
        else:
            assert row.state == "sent", (row.id, row.state, row.last_error)
            assert (sent if row.method == "sendMessage" else documents)[key] == 1
    # the admin is told once that the user blocked the bot
    admin_notes = [text for chat, text in sent if chat == ADMIN_ID and str(blocked) in text]
    assert len(admin_notes) == 1 and people[blocked].name in admin_notes[0]
    statuses = Counter(c.status for c in emu.calls_to("sendMessage"))
    assert statuses[429] >= 1 and statuses[500] >= 2


def test_the_scheduled_job_fires_in_the_running_bot(sessions, emu, tmp_path, db_url):
    """`[reminders] time` a few seconds ahead: the overdue notices arrive at that time, from the job itself —
    the start-up catch-up acts for yesterday, declared a holiday here, so it sends nothing."""
    from tests.e2e.conftest import TOKEN

    now = dt.datetime.now(SHANGHAI)
    if now.time() > dt.time(23, 59, 30):  # keep the trigger on the same day
        time.sleep(35)
        now = dt.datetime.now(SHANGHAI)
    trigger = (now + dt.timedelta(seconds=10)).replace(microsecond=0)  # the config holds whole seconds
    today, yesterday = now.date(), now.date() - dt.timedelta(days=1)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[bot]\ntoken = "{TOKEN}"\nbase_url = "{emu.base_url}"\nbase_file_url = "{emu.base_file_url}"\n'
        f'[database]\nurl = "{db_url}"\n[access]\nadmins = [{ADMIN_ID}]\n'
        f'[reminders]\ntime = "{trigger.strftime("%H:%M:%S")}"\n'
        f'[calendar]\nextra_workdays = ["{today.isoformat()}"]\nextra_holidays = ["{yesterday.isoformat()}"]\n',
        encoding="utf-8")
    submit(sessions, n_targets=2)  # results were due 2022-10-31: overdue today
    known_users(sessions, emu)
    bot = BotProcess(config, tmp_path / "bot.log")
    bot.start(emu)
    try:
        deadline = time.monotonic() + 40
        while not [c for c in emu.calls_to("sendMessage") if c.ok and "逾期" in c.params.get("text", "")]:
            assert time.monotonic() < deadline, bot.log()
            time.sleep(0.1)
        first = min(c.time for c in emu.calls_to("sendMessage") if "逾期" in c.params.get("text", ""))
        assert first >= trigger.timestamp()  # sent by the job at its time, not by the start-up catch-up
        assert f"daily checks for {yesterday.isoformat()} (not a working day)" in bot.log()
    finally:
        bot.stop()
    with sessions.begin() as s:
        keys = list(s.scalars(select(OutboxMessage.dedup_key).where(OutboxMessage.dedup_key.like("rem:overdue:%"))))
    assert keys and all(k.endswith(today.isoformat()) for k in keys)
