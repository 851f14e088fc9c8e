"""Benchmark: 200 simulated inspectors enter results at once through the local 钉钉 emulator (the bot with
`[bot] platform = "dingtalk"`, behind the messenger bridge), beside the same run on the local Telegram Bot API
emulator. Both runs: the same population (bench_entry.populate: `--inspectors`, `--items` per department) on a
fresh database each, the shortcut mix of bench_entry (seeded: 70 % 全部「1 未发现问题」 → 提交, 30 % 标记问题事项 →
one problem → 其余全部 → 提交), after a baseline of `/help` from every user at once.

Per run:
* updates/s: the events the bot handled (one per action of an inspector) / the wall time of the entry;
* in-bot p50/p95: `process_update` per update (the bot's SHUANGSUI_TIMINGS file, as bench_entry);
* press → update p50/p95/p99, from the emulators' own records (not the driver's polling): from the press (钉钉: the
  emulator pushing the card-callback frame; Telegram: the emulator queueing the callback_query) to the emulator
  receiving the visible change — 钉钉: `PUT /v1.0/card/instances` for that outTrackId, or the next card/message to
  the presser (an answer's text arrives as one); Telegram: `editMessageText`/`editMessageReplyMarkup`, the next
  message to that chat, or the press answered with a text (a toast: "已由 … 提交") — before the presser's next
  event. Telegram also "handed → update": from getUpdates handing the callback_query to the bot
  (on 钉钉 the push *is* the hand-over: the bridge stores and ACKs it at once, the bot then reads it from the
  database);
* 钉钉: the card-callback ACK latency (first push → ACK: `FakeDingTalk.ack_latencies`) p50/p99/max and how many
  took over 2 s (钉钉 wants a card callback answered within 2 s).

Goal (issue): 钉钉's p99 press → update ≤ 0.5 s, and every ACK within 2 s.

    .venv/bin/python bench/bench_dingtalk.py [--inspectors 200] [--items 10] [--db URL] [--only telegram|dingtalk]
                                             [--repeat N]

`--db` takes a PostgreSQL URL: each run gets a fresh schema there, dropped afterwards.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import func, select, text  # noqa: E402

from bench_entry import Bot, pct, populate  # noqa: E402
from crowd import blast, enter_all  # noqa: E402
from bot.db import make_engine, make_sessionmaker, migrate  # noqa: E402
from bot.devtools.botapi_emulator import FakeBotAPI  # noqa: E402
from bot.devtools.dingtalk_emulator import TOPIC_CARD_CALLBACK, FakeDingTalk  # noqa: E402
from bot.devtools.people import DingTalkPeople, People, TelegramPeople  # noqa: E402
from bot.runtime.platform import store  # noqa: E402
from bot.runtime.platform.base import Chat  # noqa: E402
from bot.runtime.platform.bridge import plain_text  # noqa: E402
from bot.services import identity  # noqa: E402
from models import Assignment, OutboxMessage, Person, Submission  # noqa: E402

TOKEN = "777:BENCH"
DT_CLIENT_ID, DT_CLIENT_SECRET = "dingappkey", "s3cret"
DT_GROUP = "cidBenchGroup000000=="
MIX = [(True, False)] * 7 + [(True, True)] * 3  # (shortcuts, problem_first): bench_entry's shortcut mix
GOAL_P99 = 0.5  # s, press → card update on 钉钉
ACK_LIMIT = 2.0  # s, 钉钉's card-callback answer
TG_VISIBLE = frozenset({"editMessageText", "editMessageReplyMarkup", "sendMessage", "sendDocument"})


class TimedBotAPI(FakeBotAPI):
    """The Telegram emulator, also recording when each update was queued (`queued[update_id]`) and first handed
    to the bot by getUpdates (`handed[update_id]`), with its sender (`sender[update_id]`), in time.time()."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.queued: dict[int, float] = {}
        self.handed: dict[int, float] = {}
        self.sender: dict[int, tuple[int, str | None]] = {}  # update_id → (user id, callback query id)

    def _enqueue(self, payload):
        update_id = super()._enqueue(payload)
        self.queued[update_id] = time.time()
        body = payload.get("callback_query") or payload.get("message") or {}
        query = payload.get("callback_query")
        self.sender[update_id] = ((body.get("from") or {}).get("id"), query["id"] if query else None)
        return update_id

    def _api_get_updates(self, params, files):
        result = super()._api_get_updates(params, files)
        now = time.time()
        for update in result:
            self.handed.setdefault(update["update_id"], now)
        return result


def _first_in(index: dict, key, start: float, end: float) -> float | None:
    """The first time in index[key] (sorted) at or after `start` and before `end`."""
    times = index.get(key)
    if not times:
        return None
    i = bisect.bisect_left(times, start)
    return times[i] if i < len(times) and times[i] < end else None


def outbox_texts(sessions, chat_key) -> set[tuple[str, str]]:
    """(chat, text) of what the outbox sent (the leader's 【检查结果已提交】 notices): not an answer to a press, though
    it may land in the presser's chat while the press is under way. `chat_key`: the bot's chat id → the key used
    in the emulator's records."""
    with sessions() as s:
        rows = s.execute(select(OutboxMessage.chat_id, OutboxMessage.text, OutboxMessage.payload)).all()
    return {(chat_key(chat), plain_text(text or "", (payload or {}).get("parse_mode"))) for chat, text, payload in rows}


def telegram_presses(emu: TimedBotAPI, since_update: int, outbox: set[tuple[str, str]]) -> dict:
    """Press → visible update from the emulator's records, for the callback_queries queued from `since_update`."""
    events: dict[int, list[float]] = {}  # user → queue times of all their updates (the window's end)
    for uid, (user, _q) in emu.sender.items():
        if uid >= since_update:
            events.setdefault(user, []).append(emu.queued[uid])
    for times in events.values():
        times.sort()
    visible: dict[str, list[float]] = {}
    answered: dict[str, float] = {}  # callback query id → when answered with a text (a toast: visible)
    for call in emu.calls:
        if call.ok and call.method in TG_VISIBLE:
            if call.method == "sendMessage" and (str(call.chat_id), (call.result or {}).get("text", "")) in outbox:
                continue
            visible.setdefault(str(call.chat_id), []).append(call.time)
        elif call.ok and call.method == "answerCallbackQuery" and call.params.get("text"):
            answered.setdefault(str(call.params.get("callback_query_id")), call.time)
    for times in visible.values():
        times.sort()
    from_press, from_handed, unanswered = [], [], 0
    for uid, (user, query) in emu.sender.items():
        if uid < since_update or query is None:
            continue
        queued, handed = emu.queued[uid], emu.handed.get(uid)
        later = events[user][bisect.bisect_right(events[user], queued):]
        end = later[0] if later else float("inf")
        if handed is None:
            unanswered += 1
            continue
        seen = [t for t in (_first_in(visible, str(user), handed, end), answered.get(query)) if t is not None]
        if not seen:
            unanswered += 1
            continue
        from_press.append(min(seen) - queued)
        from_handed.append(min(seen) - handed)
    return {"press": from_press, "handed": from_handed, "unanswered": unanswered}


def dingtalk_presses(dt: FakeDingTalk, since_push: int, outbox: set[tuple[str, str]]) -> dict:
    """Press → visible update from the emulator's records: from the card-callback frame's first push to the card's
    update (cardUpdate of that outTrackId) or the next card/message to the presser, before their next event."""
    pushes = dt.pushes[since_push:]
    events: dict[str, list[float]] = {}  # staffId → first-push times of all their frames
    presses = []
    for push in pushes:
        frame = push["frame"]
        if push["redelivery"] or frame.get("type") != "CALLBACK":
            continue
        data = json.loads(frame["data"])
        topic = frame["headers"]["topic"]
        who = str(data.get("userId") if topic == TOPIC_CARD_CALLBACK else data.get("senderStaffId"))
        events.setdefault(who, []).append(push["time"])
        if topic == TOPIC_CARD_CALLBACK:
            presses.append((who, str(data.get("outTrackId")), push["time"]))
    for times in events.values():
        times.sort()
    visible: dict[tuple[str, str], list[float]] = {}
    for call in dt.calls:
        if not call.ok or not isinstance(call.json, dict):
            continue
        req = call.json
        keys = []
        if call.api == "cardUpdate":
            keys.append(("card", str(req.get("outTrackId"))))
        elif call.api == "cardCreate":
            space = str(req.get("openSpaceId") or "")
            if space.startswith("dtv1.card//IM_ROBOT."):
                keys.append(("user", space.split(".", 2)[-1]))
        elif call.api == "batchSend":
            try:
                content = json.loads(req.get("msgParam") or "{}").get("content") or ""
            except (ValueError, AttributeError):
                content = ""
            keys += [("user", str(u)) for u in req.get("userIds") or [] if (str(u), content) not in outbox]
        for key in keys:
            visible.setdefault(key, []).append(call.time)
    for times in visible.values():
        times.sort()
    from_press, unanswered = [], 0
    for who, ref, pushed in presses:
        later = events[who][bisect.bisect_right(events[who], pushed):]
        end = later[0] if later else float("inf")
        seen = [t for t in (_first_in(visible, ("card", ref), pushed, end),
                            _first_in(visible, ("user", who), pushed, end)) if t is not None]
        if not seen:
            unanswered += 1
            continue
        from_press.append(min(seen) - pushed)
    return {"press": from_press, "handed": [], "unanswered": unanswered}


class Database:
    """A fresh database for one run: SQLite in `tmp`, or (`--db`) a new schema on that PostgreSQL server."""

    def __init__(self, base_url: str, tmp: Path):
        self.base_url = base_url
        self.schema = None
        if not base_url:
            self.url = f"sqlite:///{tmp}/bench.db"
            return
        self.schema = f"bench_dt_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = make_engine(base_url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        admin.dispose()
        sep = "&" if "?" in base_url else "?"
        self.url = f"{base_url}{sep}options=-csearch_path%3D{self.schema}"

    def drop(self) -> None:
        if self.schema:
            admin = make_engine(self.base_url)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            admin.dispose()


def run(args, platform: str) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"bench_{platform}_"))
    db = Database(args.db, tmp)
    engine = make_engine(db.url)
    try:
        migrate(engine)
        sessions = make_sessionmaker(engine)
        populate(sessions, args.inspectors, args.items)
        if platform == "telegram":
            emu = TimedBotAPI(token=TOKEN, bot_username="bench_bot").start()
            people: People = TelegramPeople(emu)
            config = None
        else:
            emu = FakeDingTalk(client_id=DT_CLIENT_ID, client_secret=DT_CLIENT_SECRET).start()
            people = DingTalkPeople(emu, sessions)
            config = (f'[bot]\nplatform = "dingtalk"\n[dingtalk]\nclient_id = "{DT_CLIENT_ID}"\n'
                      f'client_secret = "{DT_CLIENT_SECRET}"\ncard_template_id = "tpl.schema"\nadmins = []\n'
                      f'openapi_endpoint = "{emu.openapi_url}"\noapi_endpoint = "{emu.oapi_url}"\n'
                      f'[database]\nurl = "{db.url}"\n')
        try:
            with sessions.begin() as s:
                key_of = {}  # Person.id → their key on the messenger
                staff_of = {}  # 钉钉: the bridge's id → the staffId
                for p in s.scalars(select(Person).where(Person.telegram_user_id.is_not(None))):
                    if platform == "dingtalk":  # their 钉钉 account: the staffId "staff<their Telegram id>"
                        key_of[p.id] = f"staff{p.telegram_user_id}"
                        p.telegram_user_id = people.bind(s, key_of[p.id], p.name)
                        staff_of[p.telegram_user_id] = key_of[p.id]
                    else:
                        key_of[p.id] = p.telegram_user_id
                if platform == "dingtalk":  # the bound group: a 钉钉 group (no entry step speaks there)
                    group = people.group(DT_GROUP, "联合抽查群")
                    identity.bind_group(s, store.chat_id(s, "dingtalk", Chat("group", group.key, group.title)),
                                        actor="bench")
                cast = [(key_of[a.person_id], a.person.name) for a in s.scalars(select(Assignment))]
            load = os.getloadavg()[0]
            cpu0, children0 = time.process_time(), _children_cpu()
            bot = Bot(emu if platform == "telegram" else None, db.url, tmp, config=config)
            base_wall, base_user = blast(people, cast, "/help")
            mark_update = emu.last_update_id + 1 if platform == "telegram" else 0
            mark_push = len(emu.pushes) if platform == "dingtalk" else 0
            mark_ack = len(emu.ack_latencies) if platform == "dingtalk" else 0
            workers, wall, errors = enter_all(people, cast, MIX)
            timings = bot.stop()
            cpu = {"bot": _children_cpu() - children0, "driver": time.process_time() - cpu0}
            outbox = outbox_texts(sessions, str if platform == "telegram" else lambda chat: staff_of.get(chat))
            if platform == "telegram":
                presses = telegram_presses(emu, mark_update, outbox)
                acks, base_acks, redeliveries = [], [], 0
            else:
                presses = dingtalk_presses(emu, mark_push, outbox)
                acks = [a.seconds for a in emu.ack_latencies[mark_ack:] if a.topic == TOPIC_CARD_CALLBACK]
                base_acks = [a.seconds for a in emu.ack_latencies[:mark_ack]]
                redeliveries = sum(1 for p in emu.pushes if p["redelivery"])
        finally:
            emu.stop()
        with sessions.begin() as s:
            subs = s.scalar(select(func.count()).select_from(Submission))
    finally:
        engine.dispose()
        db.drop()
    user = [x for w in workers for x in w.latencies]
    n_base = len(base_user)
    return {"platform": platform, "errors": errors, "subs": subs, "updates": len(user), "wall": wall,
            "presses": sum(len(w.presses) for w in workers), "inside": timings[n_base:], "user": user,
            "base_n": n_base, "base_wall": base_wall, "base_inside": timings[:n_base], "base_user": base_user,
            "base_acks": base_acks, "acks": acks, "redeliveries": redeliveries, **{"p_" + k: v for k, v in
                                                                                  presses.items()},
            "log": tmp / "bot.log", "cpu": cpu, "load": load}


def _children_cpu() -> float:
    """CPU seconds of the waited-for child processes (the bot, once stopped)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ms(values: list[float], p: float | None = None) -> str:
    if not values:
        return "—"
    value = statistics.median(values) if p is None else pct(values, p)
    return f"{value * 1000:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inspectors", type=int, default=200)
    parser.add_argument("--items", type=int, default=10, help="items per department (the issue's ten)")
    parser.add_argument("--db", default="", help="a PostgreSQL URL (a fresh schema per run); default SQLite")
    parser.add_argument("--only", choices=("telegram", "dingtalk"), default="")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the pair this many times, alternating (a busy machine then weighs on both alike)")
    args = parser.parse_args()
    platforms = [args.only] if args.only else ["telegram", "dingtalk"]
    runs = [run(args, p) for _ in range(args.repeat) for p in platforms]
    print(f"{args.inspectors} inspectors, {args.items} items per department, shortcut mix (70/30), "
          f"{'PostgreSQL' if args.db else 'SQLite'}, {os.cpu_count()} cores; times in ms")
    print()
    print(f"{'run':16} {'subs':>4} {'updates':>7} {'upd/s':>6} {'in-bot p50':>10} {'p95':>6} "
          f"{'press→update p50':>16} {'p95':>6} {'p99':>6} {'max':>6} {'handed→upd p99':>14} {'wall s':>6} "
          f"{'CPU s bot':>9} {'driver':>6} {'load':>5}")
    for r in runs:
        if r["errors"]:
            print(f"{r['platform']}: ERROR {r['errors'][0]!r:.300} (log: {r['log']})")
            continue
        press = r["p_press"]
        print(f"{r['platform']:16} {r['subs']:4d} {r['updates']:7d} {r['updates'] / r['wall']:6.1f} "
              f"{ms(r['inside']):>10} {ms(r['inside'], 0.95):>6} {ms(press):>16} {ms(press, 0.95):>6} "
              f"{ms(press, 0.99):>6} {ms(press, 1.0):>6} {ms(r['p_handed'], 0.99):>14} {r['wall']:6.1f} "
              f"{r['cpu']['bot']:9.1f} {r['cpu']['driver']:6.1f} {r['load']:5.1f}")
        print(f"{'  /help baseline':16} {'':4} {r['base_n']:7d} {r['base_n'] / r['base_wall']:6.1f} "
              f"{ms(r['base_inside']):>10} {ms(r['base_inside'], 0.95):>6}")
    print()
    for r in runs:
        if r["errors"]:
            continue
        line = f"{r['platform']}: {len(r['p_press'])} presses timed, {r['p_unanswered']} without a visible update"
        if r["platform"] == "dingtalk":
            acks = r["acks"]
            over = sum(1 for a in acks if a > ACK_LIMIT)
            line += (f"; card-callback ACK p50 {ms(acks)}, p99 {ms(acks, 0.99)}, max {ms(acks, 1.0)} ms, "
                     f"{over} over {ACK_LIMIT:.0f} s, {r['redeliveries']} frames re-sent "
                     f"(/help ACK max {ms(r['base_acks'], 1.0)} ms)")
        print(line)
    for dt in (r for r in runs if r["platform"] == "dingtalk" and not r["errors"]):
        p99 = pct(dt["p_press"], 0.99) if dt["p_press"] else float("inf")
        ack99 = pct(dt["acks"], 0.99) if dt["acks"] else float("inf")
        ok = p99 <= GOAL_P99 and ack99 < ACK_LIMIT
        print(f"钉钉 goal {'MET' if ok else 'NOT MET'}: press→update p99 {p99 * 1000:.0f} ms "
              f"({'≤' if p99 <= GOAL_P99 else '>'} {GOAL_P99 * 1000:.0f} ms), card-callback ACK p99 "
              f"{ack99 * 1000:.0f} ms ({'<' if ack99 < ACK_LIMIT else '≥'} {ACK_LIMIT * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
