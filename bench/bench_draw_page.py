"""Benchmark: the draw verification page (SPEC §5.11) in headless Chromium, beside `python -m bot draw verify` on the
same record files, measured in the same run, for draws over 10,000, 100,000 and 1,000,000 targets (four credit
classes at 0.1–1 %, 500 inspectors in four departments, 2 per department, 100 targets per group, 60 回避 records —
the shape of bench_draw.py). Goals (issue 15): 100,000 in ≤ 5 s, 1,000,000 in ≤ 30 s.

For each size it prints: the page's size; the time from opening the file to the verdict on the page (what a reader
waits), and the verifier's own share of it; `draw verify` as a whole process (what a reader with Python waits) and
in-process. Then, at the largest size, the page without WebCrypto (钉钉's and WeChat's in-app browsers), and one
measurement that explains a design choice: HMAC-SHA256 keys per second by WebCrypto's `crypto.subtle.sign` (one
promise per key) and by the page's own code with the key pads hashed once.

    .venv/bin/python bench/bench_draw_page.py [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.devtools.browser import Chromium  # noqa: E402
from bot.rules.drawalgo import dump_record, make_record, new_seed  # noqa: E402
from bot.services.draws import verify_full  # noqa: E402
from reports.draw_page import build_draw_page  # noqa: E402

DEPARTMENTS = ["西华县文化广电和旅游局", "西华县市场监督管理局", "西华县公安局", "西华县消防救援大队"]
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def record_of(n: int) -> dict:
    rnd = random.Random(n)
    usccs: set[str] = set()
    while len(usccs) < n:
        usccs.add("9141" + "".join(rnd.choices(ALPHABET, k=14)))
    ordered = sorted(usccs)
    targets = {c: ordered[i::4] for i, c in enumerate("ABCD")}
    inspectors = {d: [f"豫41162{j}{i:04d}" for i in range(125)] for j, d in enumerate(DEPARTMENTS)}
    certs = [c for pool in inspectors.values() for c in pool]
    conflicts = sorted({(rnd.choice(certs), rnd.choice(ordered)) for _ in range(60)})
    params = {"sampling": {"by_class": {"A": "0.001", "B": "0.002", "C": "0.005", "D": "0.01"}},
              "targets_per_group": max(1, n // 10000), "inspectors_per_department": 2, "departments": DEPARTMENTS,
              "lead_department": DEPARTMENTS[0]}
    record = make_record(seed=new_seed(), seed_source="secrets", public_text=None, params=params,
                         pools={"targets": targets, "inspectors": inspectors,
                                "conflicts": [list(c) for c in conflicts]},
                         campaign={"id": 1, "number": f"基准〔2026〕{n}号", "title": "核验网页基准"})
    record["replacements"] = []
    return record


def open_and_wait(page, path: Path) -> tuple[float, int, str, float]:  # noqa: ANN001
    start = time.perf_counter()
    page.goto(path.as_uri(), timeout=300)
    page.wait_for("['done', 'error'].includes(document.body.dataset.state)", timeout=300)
    wall = time.perf_counter() - start
    ms = int(page.evaluate("document.body.dataset.ms || 0"))
    word = page.evaluate("document.getElementById('verdict').innerText")
    heap = {m["name"]: m["value"] for m in page.call("Performance.getMetrics")["metrics"]}["JSHeapUsedSize"]
    return wall, ms, word, heap / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="bench-page-"))
    rows = []
    with Chromium(timeout=300) as browser:
        print(f"browser: {browser.version}")
        page = browser.new_page()
        page.call("Performance.enable")
        last = None
        for n in sizes:
            t = time.perf_counter()
            record = record_of(n)
            made = time.perf_counter() - t
            json_path, html_path = folder / f"d{n}.json", folder / f"d{n}.html"
            dump_record(record, json_path)
            t = time.perf_counter()
            html_path.write_bytes(build_draw_page(record))
            built = time.perf_counter() - t
            t = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "bot", "draw", "verify", str(json_path)], cwd=ROOT,
                                  capture_output=True, text=True)
            cli = time.perf_counter() - t
            assert proc.returncode == 0, proc.stdout + proc.stderr
            t = time.perf_counter()
            assert verify_full(record).ok
            inproc = time.perf_counter() - t
            wall, ms, word, heap = open_and_wait(page, html_path)
            assert word == "一致", word
            drawn = sum(len(g["targets"]) for g in record["result"]["groups"])
            rows.append((n, drawn, len(record["result"]["groups"]), html_path.stat().st_size, built, wall, ms, heap,
                         cli, inproc))
            print(f"{n:>9,} targets ({drawn:,} drawn, {len(record['result']['groups'])} groups; record made in "
                  f"{made:.1f} s): page {html_path.stat().st_size / 2**20:.1f} MiB built in {built:.2f} s; "
                  f"Chromium open→verdict {wall:.2f} s (verifier {ms / 1000:.2f} s, JS heap {heap:.0f} MiB); "
                  f"draw verify {cli:.2f} s whole process, {inproc:.2f} s in-process", flush=True)
            last = (n, html_path)
        n, html_path = last
        bare = browser.new_page()
        bare.call("Performance.enable")
        bare.call("Page.addScriptToEvaluateOnNewDocument",
                  {"source": "Object.defineProperty(globalThis.crypto, 'subtle', {value: undefined});"})
        wall, ms, word, heap = open_and_wait(bare, html_path)
        assert word == "一致", word
        crypto = bare.evaluate("document.body.dataset.crypto")
        print(f"without WebCrypto ({crypto}), {n:,} targets: open→verdict {wall:.2f} s (verifier {ms / 1000:.2f} s)")
        rates = page.evaluate("""(async () => {
            const n = 20000, seed = '00'.repeat(31) + '01', enc = new TextEncoder();
            const items = Array.from({length: n}, (_, i) => '91411622' + String(i).padStart(10, '0'));
            let t = performance.now();
            new DrawVerifier.Ranker(seed).keys('target|', items);
            const bundled = n / ((performance.now() - t) / 1000);
            const key = await crypto.subtle.importKey('raw', new Uint8Array(32).fill(1),
                                                      {name: 'HMAC', hash: 'SHA-256'}, false, ['sign']);
            t = performance.now();
            await Promise.all(items.map(s => crypto.subtle.sign('HMAC', key, enc.encode('target|' + s))));
            const parallel = n / ((performance.now() - t) / 1000);
            t = performance.now();
            for (const s of items.slice(0, 5000)) await crypto.subtle.sign('HMAC', key, enc.encode('target|' + s));
            const sequential = 5000 / ((performance.now() - t) / 1000);
            return {bundled, parallel, sequential};
        })()""", timeout=300)
        print(f"HMAC keys per second in Chromium: page's own code {rates['bundled']:,.0f}; WebCrypto "
              f"{rates['parallel']:,.0f} (all promises at once), {rates['sequential']:,.0f} (one at a time) — "
              f"1,000,000 targets by WebCrypto alone would take ≥ {1e6 / rates['parallel']:.1f} s of hashing")
    print("\n| targets | drawn | groups | page | open → verdict in Chromium (verifier) "
          "| draw verify (process / in-process) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for n, drawn, groups, size, _built, wall, ms, _heap, cli, inproc in rows:
        print(f"| {n:,} | {drawn:,} | {groups} | {size / 2**20:.1f} MiB | {wall:.2f} s ({ms / 1000:.2f} s) | "
              f"{cli:.2f} s / {inproc:.2f} s |")
    goals = {100_000: 5.0, 1_000_000: 30.0}
    for n, *_rest in rows:
        if n in goals:
            wall = next(r[5] for r in rows if r[0] == n)
            print(f"goal {n:,} ≤ {goals[n]:.0f} s: {'met' if wall <= goals[n] else 'MISSED'} ({wall:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
