"""Benchmark: the 钉钉 bridge's incoming path — `BridgeRequest.store_event`, the work done before a 钉钉 event is
ACKed (SPEC §11; 钉钉 waits for a card callback's answer ~2 s) — for N events from `--people` people (half
messages, half presses on cards), beside a baseline from the same run: the same number of one-row transactions
inserting into `platform_events` directly (the floor: what storing costs without the mapping). Prints per-event
mean/p95/p99 and events/s.

    .venv/bin/python bench/bench_bridge.py [--events 2000] [--people 200] [--db URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bot.db import make_engine, make_sessionmaker, migrate  # noqa: E402
from bot.runtime.platform.base import ButtonPress, Chat, IncomingMessage, Sender, Sent  # noqa: E402
from bot.runtime.platform.bridge import BridgeRequest  # noqa: E402
from models import Base, PlatformEvent, utcnow  # noqa: E402


class NullMessenger:
    name = "dingtalk"
    max_file_bytes = 20 * 1024 * 1024

    def __init__(self) -> None:
        self.n = 0

    async def start(self, sink) -> None: ...
    async def stop(self) -> None: ...

    async def send_text(self, chat, text, keyboard=None, *, editable=False, ref=None) -> Sent:
        self.n += 1
        return Sent(ref or f"r{self.n}", keyboard is not None or editable)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]


async def run(sessions, n_events: int, n_people: int) -> tuple[list[float], list[float]]:
    from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

    bridge = BridgeRequest(NullMessenger(), sessions)
    bot = Bot("dingtalk", base_url="bridge://dingtalk/bot", request=bridge, get_updates_request=bridge)
    people = [Sender(f"staff{i}", f"检查员{i}") for i in range(n_people)]
    # every person has written once and got a card to press
    cards = []
    for i, person in enumerate(people):
        await bridge.store_event(IncomingMessage(f"warm{i}", person, Chat("private", person.external_id), "/enter"))
    updates = await bot.get_updates(timeout=0, limit=n_people)
    for u in updates:
        sent = await bot.send_message(u.effective_chat.id, "请选择", reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("1 未发现问题", callback_data="ent:c:1")]]))
        cards.append(sent)
    with sessions.begin() as s:
        refs = [r for (r,) in s.execute(text("SELECT ref FROM platform_messages WHERE outgoing ORDER BY id"))]
    await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    timings = []
    for n in range(n_events):
        person = people[n % n_people]
        if n % 2:
            event = ButtonPress(f"press{n}", person, refs[n % n_people], "ent:c:1")
        else:
            event = IncomingMessage(f"msg{n}", person, Chat("private", person.external_id), "1")
        t0 = time.perf_counter()
        await bridge.store_event(event)
        timings.append(time.perf_counter() - t0)
    baseline = []
    table = PlatformEvent.__table__
    for n in range(n_events):
        t0 = time.perf_counter()
        with sessions.begin() as s:
            s.execute(table.insert().values(platform="floor", external_id=f"f{n}", update={"message": {"text": "1"}},
                                            received_at=utcnow()))
        baseline.append(time.perf_counter() - t0)
    return timings, baseline


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--db", default="")
    args = parser.parse_args()
    url = args.db or f"sqlite:///{tempfile.mkdtemp(prefix='bench_bridge_')}/bench.db"
    engine = make_engine(url)
    migrate(engine)
    if args.db:
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE " + ", ".join(t.name for t in Base.metadata.sorted_tables)
                              + " RESTART IDENTITY CASCADE"))
    timings, baseline = asyncio.run(run(make_sessionmaker(engine), args.events, args.people))
    engine.dispose()
    print(f"{args.events} events from {args.people} people on {engine.url.get_backend_name()}")
    for label, values in (("store_event (mapped, as ACKed)", timings), ("baseline: bare one-row insert", baseline)):
        print(f"  {label:32} mean {statistics.mean(values) * 1000:6.2f} ms  p95 {pct(values, .95) * 1000:6.2f} ms  "
              f"p99 {pct(values, .99) * 1000:6.2f} ms  {len(values) / sum(values):7.0f} events/s")


if __name__ == "__main__":
    main()
