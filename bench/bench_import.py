"""Benchmark the directory import (SPEC §3: 100,000 target rows stream in) against a bare openpyxl read-only
pass over the same file.

    .venv/bin/python bench/bench_import.py [--rows 100000] [--db URL]

Each measured step runs in a fresh child process (multiprocessing, spawn), so its peak RSS
(getrusage ru_maxrss) is its own. Default database: a temporary SQLite file. With a PostgreSQL URL the run
uses a scratch schema of its own (created, migrated, dropped), so it never touches other users' tables.
Goal: the import of 100,000 rows (with commit) in ≤ 20 s and ≤ 250 MB peak RSS. Exit status 1 if missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GOAL_SECONDS = 20.0
GOAL_RSS_MB = 250.0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _engine(url: str, schema: str | None):
    from bot.db import make_engine

    if schema:
        return make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    return make_engine(url)


def baseline_child(path: str, queue) -> None:  # noqa: ANN001
    """openpyxl read-only, values only: every row of every sheet, nothing kept."""
    import openpyxl

    start = time.perf_counter()
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = 0
    for ws in wb.worksheets:
        for _ in ws.iter_rows(values_only=True):
            rows += 1
    wb.close()
    queue.put({"seconds": time.perf_counter() - start, "rss": _peak_rss_mb(), "rows": rows})


def import_child(path: str, url: str, schema: str | None, queue) -> None:  # noqa: ANN001
    """import_workbook + commit, as the bot and the CLI run it."""
    from bot.db import make_sessionmaker
    from bot.services.directory_import import import_workbook

    engine = _engine(url, schema)
    sessions = make_sessionmaker(engine)
    start = time.perf_counter()
    data = Path(path).read_bytes()
    with sessions.begin() as session:
        outcome = import_workbook(session, data, actor="bench", filename=Path(path).name, today=dt.date.today())
    seconds = time.perf_counter() - start
    engine.dispose()
    queue.put({"seconds": seconds, "rss": _peak_rss_mb(), "ok": outcome.ok, "counts": outcome.counts,
               "summary": outcome.summary("en") if not outcome.ok else ""})


def _run(target, *args) -> dict:  # noqa: ANN001
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    if proc.exitcode:
        raise SystemExit(f"{target.__name__} failed with exit code {proc.exitcode}")
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--db", default="", help="database URL (default: a temporary SQLite file)")
    args = ap.parse_args(argv)

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from bot.db import migrate
    from bot.devtools.sample_data import targets_workbook

    tmp = Path(tempfile.mkdtemp(prefix="bench_import_"))
    url = args.db or f"sqlite:///{tmp / 'bench.db'}"
    schema = None
    if make_url(url).get_backend_name() == "postgresql":
        schema = f"bench_import_{os.getpid()}"
        from bot.db import make_engine

        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
    engine = _engine(url, schema)
    migrate(engine)
    engine.dispose()

    path = tmp / f"targets_{args.rows}.xlsx"
    changed = tmp / f"targets_{args.rows}_changed.xlsx"  # same codes, other names/addresses: every row updated
    t0 = time.perf_counter()
    path.write_bytes(targets_workbook(args.rows))
    changed.write_bytes(targets_workbook(args.rows, seed=1))
    print(f"generated {path.name}: {path.stat().st_size / 1048576:.1f} MB (and a changed copy) in "
          f"{time.perf_counter() - t0:.1f} s (not timed below); database: {make_url(url).get_backend_name()}"
          + (f", scratch schema {schema}" if schema else ""))

    try:
        base = _run(baseline_child, str(path))
        first = _run(import_child, str(path), url, schema)
        again = _run(import_child, str(path), url, schema)
        update = _run(import_child, str(changed), url, schema)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if schema:
            from bot.db import make_engine

            admin = make_engine(url)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

    for run in (first, again, update):
        if not run["ok"]:
            print(run["summary"])
            return 1
    print()
    print(f"{'rows':>8}  {'step':<30} {'seconds':>8} {'peak RSS MB':>12}")
    print(f"{args.rows:>8}  {'openpyxl read-only pass':<30} {base['seconds']:>8.1f} {base['rss']:>12.0f}")
    print(f"{args.rows:>8}  {'import, new rows + commit':<30} {first['seconds']:>8.1f} {first['rss']:>12.0f}")
    print(f"{args.rows:>8}  {'re-import, all unchanged':<30} {again['seconds']:>8.1f} {again['rss']:>12.0f}")
    print(f"{args.rows:>8}  {'import, all rows changed':<30} {update['seconds']:>8.1f} {update['rss']:>12.0f}")
    runs = (first, again, update)
    worst_s = max(r["seconds"] for r in runs)
    worst_rss = max(r["rss"] for r in runs)
    print(f"ratio worst import / baseline: time {worst_s / base['seconds']:.1f}×, "
          f"peak RSS {worst_rss / base['rss']:.1f}×")
    print("counts: " + " then ".join(str(r["counts"]["targets"]) for r in runs))
    met = worst_s <= GOAL_SECONDS and worst_rss <= GOAL_RSS_MB
    scale = args.rows / 100_000
    print(f"goal for 100,000 rows: ≤ {GOAL_SECONDS:.0f} s and ≤ {GOAL_RSS_MB:.0f} MB — "
          + ("met" if met else "MISSED") + ("" if scale == 1 else f" (this run: {args.rows} rows)"))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
