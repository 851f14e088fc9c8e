"""Benchmark: 200 simulated inspectors enter results at the same time through the local Bot API emulator over
HTTP, against the real bot process (`python -m bot run`). Prints updates/s and handling latency (inside the bot:
`process_update` time per update; and as a user sees it: from sending to the bot having handled it), beside a
baseline measured in the same run: the same number of trivial updates (`/help` from a bound user) through the
same path.

Issue 13: the entry runs several times in one invocation, each on a fresh database with the same population
(`--items` per department, 10 by default as in the issue): item by item, and with the shortcut mix (seeded:
70 % 全部「1 未发现问题」 → 提交, 30 % 标记问题事项 → one problem → 其余全部 → 提交); with `--old-code DIR` (a checkout
of the code before issue 13, e.g. `git worktree add /tmp/old 311265b`) also the old flow (a code and 跳过 for
every item), that checkout's bot against the same schema. For each: presses per submitted target × department.

    .venv/bin/python bench/bench_entry.py [--inspectors 200] [--items 10] [--old-code DIR] [--db URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import func, insert, select  # noqa: E402

from crowd import blast, enter_all  # noqa: E402
from bot.services import campaigns, draws, identity# noqa: E402
from bot.config import config_from_dict  # noqa: E402
from bot.db import make_engine, make_sessionmaker, migrate  # noqa: E402
from bot.devtools.botapi_emulator import FakeBotAPI  # noqa: E402
from bot.devtools.sample_data import generate_uscc  # noqa: E402
from models import Assignment, Department, Item, Person, Submission, Target  # noqa: E402

TOKEN = "777:BENCH"
DEPARTMENTS = ["西华县文化广电和旅游局", "西华县市场监督管理局", "西华县公安局", "西华县消防救援大队"]
INDUSTRY = "互联网上网服务营业场所"
GROUP = -1009000


def populate(sessions, n_inspectors: int, n_items: int = 2) -> int:
    per_dept = n_inspectors // 4
    groups = per_dept // 2
    now = dt.datetime.now(dt.timezone.utc)
    with sessions.begin() as s:
        deps = [Department(name=name, short_name=name[3:5]) for name in DEPARTMENTS]
        s.add_all(deps)
        s.flush()
        for d in deps:
            s.add_all([Item(department_id=d.id, name=f"{d.short_name}事项{i + 1}", content="检查内容")
                       for i in range(n_items)])
        s.execute(insert(Person), [
            {"natural_key": f"cert:{41162200000 + i}", "name": f"检查员{i}", "department_id": deps[i % 4].id,
             "roles": "inspector", "cert_no": str(41162200000 + i), "cert_expiry": dt.date(2030, 12, 31),
             "active": True, "telegram_user_id": 100000 + i, "updated_at": now} for i in range(per_dept * 4)])
        s.add(Person(natural_key="ndp:leader", name="马勇", department_id=deps[0].id, roles="leader",
                     telegram_user_id=99999))
        s.execute(insert(Target), [
            {"uscc": generate_uscc(i), "is_regno": False, "name": f"网吧{i}", "address": "西华县", "industry": INDUSTRY,
             "credit_class": "A", "status": "正常", "updated_at": now} for i in range(groups)])
        identity.bind_group(s, GROUP, actor="bench")
        plan = {"title": "录入基准", "lead": DEPARTMENTS[0], "departments": DEPARTMENTS, "scope": [INDUSTRY],
                "window": {"start": dt.date(2026, 11, 2), "end": dt.date(2026, 11, 27)},
                "inspectors_per_department": 2, "targets_per_group": 1, "sampling": {"count": groups},
                "items": {d.name: [f"{d.short_name}事项{i + 1}" for i in range(n_items)] for d in deps}}
        cfg = config_from_dict({})
        campaign = campaigns.create_campaign(s, plan, cfg=cfg, actor="bench").campaign
        draws.perform_draw(s, campaign, cfg=cfg, person_id=None, actor="bench")
        return campaign.id


class Bot:
    """The real bot process (`python -m bot run`) against the emulator `emu`; `config` replaces the Telegram
    configuration (bench_dingtalk: the bot on 钉钉). `stop()` returns the per-update handling times."""

    def __init__(self, emu: FakeBotAPI | None, db_url: str, tmp: Path, code: Path = ROOT, config: str | None = None):
        self.config = tmp / "config.toml"
        if config is None:
            config = (f'[bot]\ntoken = "{TOKEN}"\nbase_url = "{emu.base_url}"\n'
                      f'base_file_url = "{emu.base_file_url}"\n[database]\nurl = "{db_url}"\n')
        self.config.write_text(config, encoding="utf-8")
        self.timings = tmp / "timings.json"
        self.log = tmp / "bot.log"
        env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
        env.update(BOT_CONFIG=str(self.config), SHUANGSUI_TIMINGS=str(self.timings), PYTHONUNBUFFERED="1",
                   PYTHONPATH=str(code))
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--no-rate-limiter"], cwd=code, env=env,
                                     stdout=open(self.log, "wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while "polling as @" not in self.log.read_text(encoding="utf-8", errors="replace"):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(self.log.read_text(encoding="utf-8", errors="replace")[-3000:])
            time.sleep(0.05)

    def stop(self) -> list[float]:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        return json.loads(self.timings.read_text())


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]


def run(args, label: str, code: Path, kinds: list[tuple[bool, bool]]) -> dict:
    """One entry run on a fresh database: each inspector i gets (shortcuts, problem_first) = kinds[i % len]."""
    tmp = Path(tempfile.mkdtemp(prefix="bench_entry_"))
    url = args.db or f"sqlite:///{tmp}/bench.db"
    engine = make_engine(url)
    if code == ROOT:
        migrate(engine)
    else:  # the old checkout's bot migrates to its own newest revision at start: leave it that one
        from alembic import command

        from bot.db import alembic_config

        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
    sessions = make_sessionmaker(engine)
    populate(sessions, args.inspectors, args.items)
    with sessions.begin() as s:
        cast = [(a.person.telegram_user_id, a.person.name) for a in s.scalars(select(Assignment))]
    with FakeBotAPI(token=TOKEN, bot_username="bench_bot") as emu:
        bot = Bot(emu, url, tmp, code)
        # baseline: every user sends /help once, all at the same time
        base_wall, base_lat = blast(emu, cast, "/help")
        workers, entry_wall, errors = enter_all(emu, cast, kinds)
        timings = bot.stop()
    entry_lat = [x for w in workers for x in w.latencies]
    n_base = len(base_lat)
    with sessions.begin() as s:
        subs = s.scalar(select(func.count()).select_from(Submission))
    engine.dispose()
    presses = sum(len(w.presses) for w in workers)
    return {"label": label, "errors": errors, "subs": subs, "presses": presses, "updates": len(entry_lat),
            "wall": entry_wall, "inside": timings[n_base:], "user": entry_lat, "base_n": n_base,
            "base_wall": base_wall, "base_inside": timings[:n_base], "base_user": base_lat}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inspectors", type=int, default=200)
    parser.add_argument("--items", type=int, default=10, help="items per department (the issue's ten)")
    parser.add_argument("--old-code", default="", help="a checkout of the code before issue 13 (the old flow)")
    parser.add_argument("--db", default="")
    args = parser.parse_args()
    mix = [(True, False)] * 7 + [(True, True)] * 3  # 70 % all clean, 30 % one problem marked first
    runs = []
    if args.old_code:
        runs.append(run(args, "old flow (code + 跳过 per item)", Path(args.old_code).resolve(), [(False, False)]))
    runs.append(run(args, "item by item, no 跳过", ROOT, [(False, False)]))
    runs.append(run(args, "shortcut mix (70/30)", ROOT, mix))
    first = runs[0]
    print(f"{args.inspectors} inspectors, {args.items} items per department; baseline /help from each user: "
          f"{first['base_n'] / first['base_wall']:.1f} updates/s, in-bot p95 "
          f"{pct(first['base_inside'], 0.95) * 1000:.1f} ms")
    print()
    print(f"{'run':34} {'subs':>5} {'presses/sub':>11} {'updates':>8} {'updates/s':>10} {'in-bot p50':>10} "
          f"{'in-bot p95':>10} {'user p95':>9} {'wall s':>7}")
    for r in runs:
        if r["errors"]:
            print(f"{r['label']}: ERROR {r['errors'][0]!r:.300}")
            continue
        print(f"{r['label']:34} {r['subs']:5d} {r['presses'] / r['subs']:11.2f} {r['updates']:8d} "
              f"{r['updates'] / r['wall']:10.1f} {statistics.median(r['inside']) * 1000:8.1f}ms "
              f"{pct(r['inside'], 0.95) * 1000:8.1f}ms {pct(r['user'], 0.95) * 1000:7.1f}ms {r['wall']:7.1f}")


if __name__ == "__main__":
    main()
