"""The page and `draw verify` agree (SPEC §5.11): 240 generated records — random pools and credit classes, ratios
where binary floats go wrong (0.07 of 100), counts, per-class rules with a fallback, 回避 records, substitutions,
public seeds, certificate numbers whose code-point order differs from JavaScript's UTF-16 order — and the tampered
twin of each. For every one, the verdict the page shows and the fields it names equal those of
`bot.services.draws.verify_full`, the function `python -m bot draw verify` runs.

The records are verified through the page's file picker, one page for all: the same verifier as the embedded
record's, without reloading the page 480 times."""

from __future__ import annotations

import copy
import random
import string
from pathlib import Path

import pytest

from bot.rules.drawalgo import DrawError, dump_record, make_record, replacement_v1, seed_from_public
from bot.services.draws import verify_full
from reports.draw_page import build_draw_page
from tests.pagecheck import pick_file, python_fields

CASES = 240
RATIOS = ["0", "0.05", "0.07", "0.1", "0.25", "0.3", "0.333", "0.5", "0.999", "1", "1.0", 0.2, 0.07, "7E-2"]
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
DEPTS = ["西华县文化广电和旅游局", "西华县市场监督管理局", "西华县公安局", "西华县消防救援大队"]
# Certificate prefixes on both sides of the UTF-16 surrogates: 豫 (U+8C6B), Ａ (U+FF21), 𠀋 (U+2000B). By code point
# 豫 < Ａ < 𠀋; by UTF-16 unit 豫 < 𠀋 < Ａ — a digest built in JavaScript's default order would differ.
PREFIXES = ["豫", "\uff21", "\U0002000b", "41"]


def _uscc(rnd: random.Random) -> str:
    return "9141" + "".join(rnd.choice(ALPHABET) for _ in range(14))


def generate(i: int) -> dict:
    """One draw record, made by the Python implementation from random inputs (regenerated until drawable)."""
    rnd = random.Random(20261207 + i)
    while True:
        per_class = rnd.random() < 0.55
        if i % 8 == 0:  # 100 candidates at 7 %: 7, where a binary float gives 8
            strata = {"*": 100} if not per_class else {"B": 100, "A": rnd.randint(0, 30)}
        elif per_class:
            strata = {s: rnd.randint(0, 60) for s in rnd.sample(["A", "B", "C", "D", "-"], rnd.randint(1, 5))}
        else:
            strata = {"*": rnd.choice([1, 2, 5, 13, 40, 100, 250, 600])}
        usccs = set()
        while len(usccs) < sum(strata.values()):
            usccs.add(_uscc(rnd))
        usccs = sorted(usccs)
        rnd.shuffle(usccs)
        targets, at = {}, 0
        for s, n in strata.items():
            targets[s], at = usccs[at:at + n], at + n
        if per_class and i % 8 == 0:
            sampling: dict = {"by_class": {"B": rnd.choice(["0.07", 0.07])}, "ratio": rnd.choice(RATIOS)}
        elif per_class:
            named = rnd.sample(sorted(strata), rnd.randint(1, len(strata)))
            sampling = {"by_class": {c: rnd.choice(RATIOS) for c in named}}
            if set(named) != set(strata) or rnd.random() < 0.5:
                if rnd.random() < 0.6:
                    sampling["ratio"] = rnd.choice(RATIOS)
                else:
                    sampling["count"] = rnd.randint(0, 12)
        elif i % 8 == 0:
            sampling = {"ratio": rnd.choice(["0.07", 0.07, "7E-2"])}
        else:
            sampling = rnd.choice([{"ratio": rnd.choice(RATIOS)}, {"count": rnd.randint(0, 30)}])
        depts = DEPTS[:rnd.randint(1, 3)]
        k = rnd.randint(2 if len(depts) == 1 else 1, 3)
        per_group = rnd.choice([0, 0, 1, 2, 3, 5, 10])
        inspectors = {d: sorted({f"{rnd.choice(PREFIXES)}{rnd.randint(0, 99999):05d}"
                                 for _ in range(rnd.randint(k, 40))}) for d in depts}
        certs = sorted({c for pool in inspectors.values() for c in pool})
        conflicts = sorted({(rnd.choice(certs), rnd.choice(usccs)) for _ in range(rnd.randint(0, 12))}) \
            if usccs else []
        public = rnd.random() < 0.3
        text = "".join(rnd.choice("福彩3D第期0123456789 " + string.ascii_letters) for _ in range(20)) \
            if public else None
        seed = seed_from_public(text) if public else rnd.randbytes(32).hex()
        params = {"sampling": sampling, "targets_per_group": per_group, "inspectors_per_department": k,
                  "departments": depts, "lead_department": rnd.choice([*depts, None])}
        try:
            record = make_record(seed=seed, seed_source="public" if public else "secrets", public_text=text,
                                 params=params, pools={"targets": targets, "inspectors": inspectors,
                                                       "conflicts": [list(c) for c in conflicts]},
                                 campaign={"id": i, "number": f"测试抽查〔2026〕{i}号", "title": "生成的抽取"})
        except DrawError:
            continue  # too few inspectors, no targets: not a record; draw again
        record["replacements"] = _replacements(record, rnd)
        return record


def _replacements(record: dict, rnd: random.Random) -> list[dict]:
    out: list[dict] = []
    brought_in: list[str] = []
    for n in range(1, rnd.randint(0, 3) + 1):
        group = rnd.choice(record["result"]["groups"])
        member = rnd.choice(group["inspectors"])
        new = replacement_v1(record, group=group["number"], n=n, department=member["department"],
                             excluded=brought_in)
        if new is None:
            break
        out.append({"n": n, "group": group["number"], "department": member["department"], "out": member["cert_no"],
                    "in": new, "kind": rnd.choice(["swap", "recuse"])})
        brought_in.append(new)
    return out


def tamper(record: dict, rnd: random.Random) -> dict:
    """A copy changed in one way a forger (or a careless editor) might."""
    r = copy.deepcopy(record)
    groups = r["result"]["groups"]
    ways = ["pool added", "pool removed", "pool changed", "inspector pool", "digest", "seed", "target swapped",
            "inspector swapped", "leader", "ratio", "group dropped", "malformed"]
    if r["seed_source"] == "public":
        ways.append("public text")
    if r["pools"]["conflicts"]:
        ways.append("conflicts")
    if r["replacements"]:
        ways += ["replacement", "replacement n", "replacement junk"]
    way = rnd.choice(ways)
    strata = [s for s, lst in r["pools"]["targets"].items() if lst]
    stratum = rnd.choice(strata)
    pool = r["pools"]["targets"][stratum]
    dept = rnd.choice(r["params"]["departments"])
    if way == "pool added":
        pool.insert(rnd.randint(0, len(pool)), _uscc(rnd))
    elif way == "pool removed":
        pool.pop(rnd.randrange(len(pool)))
    elif way == "pool changed":
        j = rnd.randrange(len(pool))
        pool[j] = pool[j][:-1] + rnd.choice([c for c in ALPHABET if c != pool[j][-1]])
    elif way == "inspector pool":
        people = r["pools"]["inspectors"][dept]
        people.append(people[0] + "0") if rnd.random() < 0.5 else people.pop(rnd.randrange(len(people)))
    elif way == "digest":
        key = rnd.choice(["targets", "conflicts", "inspectors"])
        if key == "inspectors":
            r["digests"]["inspectors"][dept] = r["digests"]["targets"]
        else:
            r["digests"][key] = "f" * 64
    elif way == "seed":
        r["seed"] = rnd.randbytes(32).hex()
    elif way == "public text":
        r["public_text"] = r["public_text"] + " "
    elif way == "conflicts":
        r["pools"]["conflicts"].pop(rnd.randrange(len(r["pools"]["conflicts"])))
    elif way == "target swapped":
        g = rnd.choice(groups)
        if len(groups) > 1:
            h = rnd.choice([x for x in groups if x is not g])
            g["targets"][0], h["targets"][0] = h["targets"][0], g["targets"][0]
        elif len(g["targets"]) > 1:
            g["targets"].reverse()
        else:
            g["targets"][0] = _uscc(rnd)
    elif way == "inspector swapped":
        g = rnd.choice(groups)
        if len(groups) > 1:
            h = rnd.choice([x for x in groups if x is not g])
            g["inspectors"][0], h["inspectors"][0] = h["inspectors"][0], g["inspectors"][0]
        else:
            g["inspectors"].reverse()
    elif way == "leader":
        g = rnd.choice(groups)
        g["leader"] = g["inspectors"][-1]["cert_no"] if g["leader"] != g["inspectors"][-1]["cert_no"] else None
    elif way == "ratio":
        sampling = r["params"]["sampling"]
        if "by_class" in sampling:
            cls = rnd.choice(sorted(sampling["by_class"]))
            sampling["by_class"][cls] = rnd.choice(["0.01", "0.5", "1", "0.071"])
        elif "ratio" in sampling:
            sampling["ratio"] = rnd.choice(["0.01", "0.5", "1", "0.071"])
        else:
            sampling["count"] = sampling["count"] + 1
    elif way == "group dropped":
        groups.pop()
    elif way == "replacement":
        rep = rnd.choice(r["replacements"])
        others = [c for c in r["pools"]["inspectors"][rep["department"]] if c != rep["in"]]
        rep["in"] = rnd.choice(others) if others else rep["in"] + "x"
    elif way == "replacement n":
        r["replacements"][0]["n"] = 7
    elif way == "replacement junk":  # neither verifier may crash on it
        r["replacements"] = rnd.choice([{"n": 1}, "调换", [["not", "an", "object"], *r["replacements"]]])
    elif way == "malformed":
        choice = rnd.choice(["ratio text", "department twice", "bar in entry", "too few", "stratum"])
        if choice == "ratio text":
            r["params"]["sampling"] = {"ratio": "百分之五"}
        elif choice == "department twice":
            r["params"]["departments"].append(r["params"]["departments"][0])
        elif choice == "bar in entry":
            pool[0] = "A|B"
        elif choice == "too few":
            r["params"]["inspectors_per_department"] = 0
        else:
            r["pools"]["targets"]["*" if r["params"]["per_class"] else "A"] = ["914100000000000000"]
    r["tampered"] = way  # informational: ignored by both verifiers
    return r


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> list[tuple[Path, dict, Path, dict]]:
    folder = tmp_path_factory.mktemp("records")
    out = []
    for i in range(CASES):
        record = generate(i)
        twin = tamper(record, random.Random(i))
        good, bad = folder / f"r{i:03d}.json", folder / f"r{i:03d}-t.json"
        dump_record(record, good)
        dump_record(twin, bad)
        out.append((good, record, bad, twin))
    return out


def test_the_generated_records_cover_what_matters(records):
    """The generator is not vacuous: it produces what the acceptance names, and tampered twins that fail."""
    recs = [r for _g, r, _b, _t in records]
    assert len(recs) >= 200
    assert sum(r["params"]["per_class"] for r in recs) >= 80
    assert sum("count" in r["params"]["sampling"] for r in recs) >= 40
    assert sum(r["seed_source"] == "public" for r in recs) >= 40
    assert sum(bool(r["pools"]["conflicts"]) for r in recs) >= 100
    assert sum(bool(r["replacements"]) for r in recs) >= 60
    assert sum(len(r["result"]["groups"]) > 1 for r in recs) >= 80
    seven = [(r, r["pools"]["targets"].get("*") or r["pools"]["targets"]["B"]) for r in recs
             if r["campaign"]["id"] % 8 == 0]
    assert len(seven) == CASES // 8 and all(len(pool) == 100 for _r, pool in seven)
    for r, pool in seven:  # ceil(100 × 0.07) = 7 exactly, in Python's record (and so in the page, which agrees)
        assert len({u for g in r["result"]["groups"] for u in g["targets"]} & set(pool)) == 7
    twins = [verify_full(t) for _g, _r, _b, t in records]
    assert sum(not rep.ok for rep in twins) >= 0.9 * len(twins)
    assert {t["tampered"] for _g, _r, _b, t in records} >= {"pool added", "pool removed", "pool changed", "digest",
                                                           "seed", "public text", "target swapped", "ratio",
                                                           "replacement", "malformed", "conflicts"}


def test_page_and_draw_verify_agree_on_every_record_and_twin(records, page, tmp_path):
    start = tmp_path / "page.html"
    start.write_bytes(build_draw_page(records[0][1]))
    page.goto(start.as_uri())
    disagreements = []
    mismatches = 0
    for good, record, bad, twin in records:
        for path, rec in ((good, record), (bad, twin)):
            report = verify_full(rec)
            shown = pick_file(page, path)
            mismatches += not report.ok
            if shown.ok != report.ok or shown.fields != python_fields(report.mismatches) or shown.state != "done":
                disagreements.append((path.name, rec.get("tampered"), shown, report.mismatches))
    assert not disagreements, disagreements[:3]
    assert mismatches >= 0.9 * len(records)  # the twins: almost every tampering is caught (both agree on the rest)
