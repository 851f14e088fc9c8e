"""Benchmark: the five workbooks of SPEC §8 for 10,000 targets × 10 items (synthetic campaign data, no database),
wall time and peak RSS, beside a baseline measured in the same run: a raw openpyxl write-only dump of exactly the
same cells (the values the builders wrote, read back from their files), no styles, no merges, no chart.

Each side runs in its own child process, so each peak RSS is its own. The children first build the campaign
data (not timed); the figure reported is the time of writing the workbooks. RSS includes the data each side
holds: the `CampaignReport` for the builders, the list of cell values for the baseline.

    .venv/bin/python bench/bench_report.py [--targets 10000]
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ITEMS = (3, 3, 2, 2)  # ten items over the seed's four departments


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_build(n: int, out: Path) -> dict:
    from reports import build_all
    from bot.devtools.synthetic_data import synthetic_report

    report = synthetic_report(n, ITEMS)
    before = peak_mb()
    started = time.perf_counter()
    files = build_all(report)
    elapsed = time.perf_counter() - started
    sizes = {}
    for name, data in files:
        (out / name).write_bytes(data)
        sizes[name] = len(data)
    return {"seconds": elapsed, "peak_mb": peak_mb(), "peak_before_mb": before, "sizes": sizes}


def child_baseline(cells_file: Path, out: Path) -> dict:
    from openpyxl import Workbook

    with open(cells_file, "rb") as f:
        books = pickle.load(f)
    before = peak_mb()
    started = time.perf_counter()
    sizes = {}
    for name, sheets in books:
        wb = Workbook(write_only=True)
        for title, rows in sheets:
            ws = wb.create_sheet(title)
            for row in rows:
                ws.append(row)
        buf = BytesIO()
        wb.save(buf)
        sizes[name] = len(buf.getvalue())
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "peak_mb": peak_mb(), "peak_before_mb": before, "sizes": sizes}


def read_cells(folder: Path) -> list:
    """Every cell value the builders wrote, per file and sheet (read-only mode: streaming)."""
    from openpyxl import load_workbook

    books = []
    for path in sorted(folder.glob("*.xlsx")):
        wb = load_workbook(path, read_only=True)
        sheets = []
        for ws in wb.worksheets:
            sheets.append((ws.title, [list(r) for r in ws.iter_rows(values_only=True)]))
        wb.close()
        books.append((path.name, sheets))
    return books


def run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=10000)
    parser.add_argument("--child", choices=("build", "baseline"))
    parser.add_argument("--dir")
    parser.add_argument("--cells")
    args = parser.parse_args()
    if args.child == "build":
        print(json.dumps(child_build(args.targets, Path(args.dir))))
        return
    if args.child == "baseline":
        print(json.dumps(child_baseline(Path(args.cells), Path(args.dir))))
        return

    with tempfile.TemporaryDirectory(prefix="bench_report_") as tmp:
        tmp = Path(tmp)
        (tmp / "built").mkdir()
        build = run_child("--child", "build", "--targets", str(args.targets), "--dir", str(tmp / "built"))
        started = time.perf_counter()
        books = read_cells(tmp / "built")
        cells = sum(len(r) for _, sheets in books for _, rows in sheets for r in rows)
        with open(tmp / "cells.pickle", "wb") as f:
            pickle.dump(books, f, protocol=pickle.HIGHEST_PROTOCOL)
        del books
        read_back = time.perf_counter() - started
        base = run_child("--child", "baseline", "--cells", str(tmp / "cells.pickle"), "--dir", str(tmp))

    print(f"{args.targets} targets × {sum(ITEMS)} items; {cells:,} cells in all "
          f"(read back for the baseline in {read_back:.1f} s)")
    print(f"{'file':42} {'built':>10} {'baseline':>10}")
    for name, size in build["sizes"].items():
        print(f"{name:42} {size / 1e6:8.1f}MB {base['sizes'].get(name, 0) / 1e6:8.1f}MB")
    print()
    print(f"{'run':40} {'seconds':>8} {'peak RSS MB':>12} {'RSS before writing':>19}")
    print(f"{'five report files (reports.build_all)':40} {build['seconds']:8.2f} {build['peak_mb']:12.0f} "
          f"{build['peak_before_mb']:19.0f}")
    print(f"{'baseline: raw write-only dump, same cells':40} {base['seconds']:8.2f} {base['peak_mb']:12.0f} "
          f"{base['peak_before_mb']:19.0f}")
    ratio = build["seconds"] / base["seconds"]
    ok = build["seconds"] <= 10 and build["peak_mb"] <= 300 and ratio <= 1.5
    print(f"time ratio {ratio:.2f}×; goal ≤ 10 s, ≤ 300 MB, ≤ 1.5× the baseline: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
