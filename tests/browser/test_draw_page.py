"""The verification page (SPEC §5.11) of draws the bot really made, opened in headless Chromium: 一致 for each, and
不一致 naming the field for each tampering, in agreement with `draw verify`. Also what a citizen sees (names, no phone
numbers), the file picker and drag and drop, no network, browsers without WebCrypto, printing and a phone's width."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from sqlalchemy import select

from bot.config import config_from_dict
from bot.db import make_engine, make_sessionmaker
from bot.rules.drawalgo import dump_record, seed_from_public
from bot.services import draws, staffing
from bot.services.draw_announcements import published_record
from bot.services.draws import verify_full
from models import Assignment, Campaign, Draw, DrawGroup, GroupTarget, Person
from reports.draw_page import build_draw_page
from tests.pagecheck import open_page, pick_file, python_fields, read_verdict
from tests.drawsetup import PLAN, prepare

ROOT = Path(__file__).resolve().parent.parent.parent
CFG = config_from_dict({"bot": {"timezone": "Asia/Shanghai"}})
PUBLIC = "2022年9月16日 福彩3D 第2022249期 5 1 8"
BY_CLASS = {"by_class": {"A": "0.07", "B": "0.3", "C": "0.5", "D": "1"}, "ratio": "0.2"}  # "-" takes the ratio


def _approve(s, draw_id: int, department: str, kind: str, *, group: int = 1) -> None:  # noqa: ANN001
    """An inspector of `department` in `group` asks to leave (swap) or recuse from a target; a head approves."""
    a = s.scalars(select(Assignment).join(DrawGroup, DrawGroup.id == Assignment.group_id)
                  .where(DrawGroup.draw_id == draw_id, DrawGroup.number == group, Assignment.active)
                  .order_by(Assignment.position)).all()
    mine = next(x for x in a if x.department.name == department)
    target = None
    if kind == "recuse":
        target = s.scalar(select(GroupTarget.target_id).where(GroupTarget.group_id == mine.group_id)
                          .order_by(GroupTarget.position))
    req = staffing.file_request(s, person=mine.person, assignment_id=mine.id, kind=kind, reason="出差" if kind == "swap"
                                else "亲属关系", target_id=target)
    head = next(p for p in s.scalars(select(Person).where(Person.department_id == mine.department_id))
                if p.has_role("dept_head") and p.id != mine.person_id)
    decision = staffing.decide(s, req.id, approver=head, approve=True)
    assert decision.new is not None


@pytest.fixture(scope="module")
def made(sqlite_template, tmp_path_factory) -> dict[str, dict]:
    """Draws made by the bot's own services on a sample county, as exported: by class with a fallback ratio (the
    sample's 回避 records in force) and then two approved substitutions, a swap and a recusal; a count with a
    public seed; a re-draw that supersedes it."""
    # The secret seed is fixed (the draw takes it from drawalgo.new_seed): the bot's own draws are then the same on
    # every run, so each tampering below always has the effect it names (with some seeds a changed ratio or seed
    # leaves a group without eligible inspectors, and the re-run fails instead of differing).
    patcher = mock.patch("bot.rules.drawalgo.new_seed", return_value=hashlib.sha256(b"issue 15").hexdigest())
    patcher.start()
    folder = tmp_path_factory.mktemp("made")
    path = folder / "county.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    sessions = make_sessionmaker(engine)
    out: dict[str, dict] = {}
    try:
        first = prepare(sessions, n_targets=80, plan=dict(PLAN, sampling=BY_CLASS, targets_per_group=16))
        with sessions.begin() as s:
            campaign = s.get(Campaign, first)
            second = dict(PLAN, sampling={"count": 7}, targets_per_group=0,
                          window={"start": dt.date(2022, 10, 10), "end": dt.date(2022, 10, 12)},
                          summary_due=dt.date(2022, 10, 20))
            from bot.services import campaigns
            second_id = campaigns.create_campaign(s, second, cfg=CFG, actor="test").campaign.id
            leader = s.scalar(select(Person).where(Person.name == "马勇"))
            by_class = draws.perform_draw(s, campaign, cfg=CFG, person_id=leader.id, actor="马勇")
        with sessions.begin() as s:
            _approve(s, by_class.id, PLAN["departments"][1], "swap")
            _approve(s, by_class.id, PLAN["departments"][2], "recuse", group=2)
        with sessions.begin() as s:
            counted = draws.perform_draw(s, s.get(Campaign, second_id), cfg=CFG, person_id=leader.id, actor="马勇",
                                         public_text=PUBLIC)
        with sessions.begin() as s:
            redrawn = draws.perform_draw(s, s.get(Campaign, second_id), cfg=CFG, person_id=leader.id, actor="马勇",
                                         public_text=PUBLIC + " 补", reason="名录更新后重新抽取")
        with sessions.begin() as s:
            for name, draw_id in (("by_class", by_class.id), ("count_public", counted.id), ("redrawn", redrawn.id)):
                out[name] = published_record(s, s.get(Draw, draw_id), tz=CFG.tz)
            out["phones"] = {p.phone for p in s.scalars(select(Person)) if p.phone}
            out["ids"] = {"by_class": by_class.id, "count_public": counted.id, "redrawn": redrawn.id}
        out["db"] = f"sqlite:///{path}"
    finally:
        patcher.stop()
        engine.dispose()
    return out


def write_page(folder: Path, name: str, record: dict) -> Path:
    path = folder / f"{name}.html"
    path.write_bytes(build_draw_page(record))
    return path


def test_the_bots_draws_are_what_the_test_says(made):
    """The fixture really covers what the acceptance names: by_class with a fallback ratio, conflicts that took
    effect, both kinds of substitution, a count, a public seed, a superseded draw."""
    rec = made["by_class"]
    assert rec["params"]["sampling"] == BY_CLASS and "-" in rec["pools"]["targets"]
    assert rec["pools"]["conflicts"] and len(rec["result"]["groups"]) >= 2
    assert [r["kind"] for r in rec["replacements"]] == ["swap", "recuse"]
    assert made["count_public"]["seed"] == seed_from_public(PUBLIC)
    assert rec["seed_source"] == "secrets" and rec["seed"] == hashlib.sha256(b"issue 15").hexdigest()
    assert made["count_public"]["params"]["sampling"] == {"count": 7}
    assert made["count_public"]["announced"]["superseded"]["reason"] == "名录更新后重新抽取"
    for name in ("by_class", "count_public", "redrawn"):
        assert verify_full(made[name]).ok


@pytest.mark.parametrize("name", ["by_class", "count_public", "redrawn"])
def test_real_draws_show_match(made, page, tmp_path, name):
    record = made[name]
    verdict = open_page(page, write_page(tmp_path, name, record))
    assert verdict.ok and verdict.fields == () and verdict.state == "done", verdict
    assert verdict.crypto == "webcrypto"  # WebCrypto and the bundled code agreed (checked in the page)
    text = page.evaluate("document.body.innerText")
    campaign = record["campaign"]
    assert campaign["number"] in text and campaign["title"] in text and record["seed"] in text
    assert record["announced"]["made_by"] == "马勇" and "马勇" in text
    assert record["announced"]["made_at"] in text and "UTC" not in record["announced"]["made_at"]  # local time
    for group in record["result"]["groups"]:
        for uscc in group["targets"]:
            assert f"{record['announced']['targets'][uscc]}（{uscc}）" in text
        for member in group["inspectors"]:
            assert record["announced"]["inspectors"][member["cert_no"]] in text
    assert not any(phone in text for phone in made["phones"])  # names and units, never a phone number
    # the strata table: candidates and drawn per stratum, filled in by the re-run
    rows = page.evaluate("[...document.querySelectorAll('#strata tr')].map(r => [r.dataset.stratum, "
                         "...[...r.cells].map(c => c.innerText)])")
    drawn = {u for g in record["result"]["groups"] for u in g["targets"]}
    for stratum, label, candidates, rule, shown in rows:
        pool = record["pools"]["targets"][stratum]
        assert int(candidates) == len(pool) and int(shown) == len(drawn & set(pool)), (stratum, rule)
    if name == "by_class":
        assert [r for r in rows if r[0] == "A"][0][3] == "比例 7%（向上取整）"
        assert [r for r in rows if r[0] == "-"][0][1] == "未分类"
        assert "第 2 次：第 2 组" in text and "（回避）" in text and "（调换）" in text
    if name == "redrawn":
        assert "名录更新后重新抽取" not in text  # the new draw is current; the old one says it was superseded
    if name == "count_public":
        assert "该次抽取已被抽取编号" in text and "名录更新后重新抽取" in text and PUBLIC in text


def _swap(lst: list, i: int, j: int) -> None:
    lst[i], lst[j] = lst[j], lst[i]


def _tamper(record: dict, how: str) -> tuple[dict, str]:
    """A tampered copy and the field the page must name."""
    r = copy.deepcopy(record)
    groups = r["result"]["groups"]
    dept = r["params"]["departments"][0]
    strata = r["pools"]["targets"]
    stratum = max(strata, key=lambda s: len(strata[s]))
    drawn = {u for g in groups for u in g["targets"]}
    spare = next(u for u in strata[stratum] if u not in drawn)
    if how == "pool entry added":
        strata[stratum].append("91411622ZZZZZZZZZZ")
        return r, "digests.targets"
    if how == "pool entry removed":
        strata[stratum].remove(spare)
        return r, "digests.targets"
    if how == "pool entry changed":
        strata[stratum][strata[stratum].index(spare)] = spare[:-1] + ("0" if spare[-1] != "0" else "1")
        return r, "digests.targets"
    if how == "inspector pool changed":
        r["pools"]["inspectors"][dept].pop()
        return r, f"digests.inspectors[{dept}]"
    if how == "digest":
        r["digests"]["inspectors"][dept] = "0" * 64
        return r, f"digests.inspectors[{dept}]"
    if how == "conflicts digest":
        r["pools"]["conflicts"] = r["pools"]["conflicts"][1:]
        return r, "digests.conflicts"
    if how == "seed":
        r["seed"] = r["seed"][:-1] + ("0" if r["seed"][-1] != "0" else "1")
        return r, "result.groups[1].targets"
    if how == "public text":
        r["public_text"] += "。"
        return r, "seed"
    if how == "group target swapped":
        _swap_across(groups, "targets")
        return r, "result.groups[1].targets"
    if how == "group inspector swapped":
        _swap_across(groups, "inspectors")
        return r, "result.groups[1].inspectors"
    if how == "target order":
        _swap(groups[0]["targets"], 0, 1)
        return r, "result.groups[1].targets"
    if how == "leader":
        groups[0]["leader"] = groups[0]["inspectors"][-1]["cert_no"]
        return r, "result.groups[1].leader"
    if how == "replacement changed":
        rep = r["replacements"][0]
        pool = r["pools"]["inspectors"][rep["department"]]
        rep["in"] = next(c for c in pool if c != rep["in"])
        return r, "replacements[1].in"
    if how == "ratio changed":  # fewer targets of class B: the groups stay staffable, their targets change
        r["params"]["sampling"]["by_class"]["B"] = "0.2"
        return r, "result.groups"
    if how == "count changed":
        r["params"]["sampling"]["count"] = 6
        return r, "result.groups[1].targets"
    raise AssertionError(how)


def _swap_across(groups: list[dict], key: str) -> None:
    a, b = groups[0][key], groups[1][key]
    a[0], b[0] = b[0], a[0]


TAMPERS_BY_CLASS = ["pool entry added", "pool entry removed", "pool entry changed", "inspector pool changed", "digest",
                    "conflicts digest", "seed", "group target swapped", "group inspector swapped", "target order",
                    "leader", "replacement changed", "ratio changed"]
TAMPERS_PUBLIC = ["public text", "seed", "count changed", "pool entry changed"]


@pytest.mark.parametrize("name,how", [("by_class", h) for h in TAMPERS_BY_CLASS]
                         + [("count_public", h) for h in TAMPERS_PUBLIC])
def test_each_tampering_is_a_mismatch_naming_the_field(made, page, tmp_path, name, how):
    tampered, field = _tamper(made[name], how)
    verdict = open_page(page, write_page(tmp_path, "tampered", tampered))
    assert verdict.word == "不一致" and verdict.state == "done", verdict
    assert any(f == field or f.startswith(field + "[") or f.startswith(field + ".") for f in verdict.fields), \
        (field, verdict.fields)
    report = verify_full(tampered)
    assert not report.ok and verdict.fields == python_fields(report.mismatches), (verdict.fields, report.mismatches)
    # each difference is worded for a reader, with the position where a list differs
    assert all(line and "{" not in line for line in verdict.lines), verdict.lines
    if how == "target order":
        assert any("第 1 组检查对象第 1 位" in line for line in verdict.lines), verdict.lines


def test_the_picker_and_drag_and_drop_verify_other_records(made, page, tmp_path):
    first = open_page(page, write_page(tmp_path, "page", made["by_class"]))
    assert first.ok
    other = tmp_path / "other.json"
    dump_record(made["count_public"], other)
    assert pick_file(page, other).ok
    assert made["count_public"]["campaign"]["number"] in page.evaluate("document.body.innerText")
    tampered, _field = _tamper(made["count_public"], "public text")
    bad = tmp_path / "bad.json"
    dump_record(tampered, bad)
    assert pick_file(page, bad).fields == ("seed",)
    # another verification page (.html) is read for its embedded record
    assert pick_file(page, write_page(tmp_path, "again", made["redrawn"])).ok
    # dropped on the drop zone
    text = json.dumps(tampered, ensure_ascii=False)
    page.evaluate("""(text => {
        const dt = new DataTransfer();
        dt.items.add(new File([text], 'dropped.json', {type: 'application/json'}));
        document.getElementById('drop').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true}));
    })(%s)""" % json.dumps(text))
    page.wait_for("document.getElementById('file-note').innerText.includes('dropped.json')")
    assert read_verdict(page).fields == ("seed",)
    # a file that is not a record: a clear message, and the page keeps what it showed
    junk = tmp_path / "junk.json"
    junk.write_text("这不是抽取记录", encoding="utf-8")
    page.set_files("#record-file", junk)
    message = page.wait_for("!document.getElementById('file-error').hidden && "
                            "document.getElementById('file-error').innerText")
    assert "无法读取“junk.json”" in message
    assert read_verdict(page).fields == ("seed",)


def test_the_page_asks_the_network_for_nothing(made, page, tmp_path):
    path = write_page(tmp_path, "page", made["by_class"])
    assert open_page(page, path).ok
    assert page.requests() == [path.resolve().as_uri()]
    html = path.read_text(encoding="utf-8")
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    assert "<script src" not in html and "<link" not in html and "@import" not in html and "url(" not in html


def test_without_webcrypto_the_bundled_code_gives_the_same_verdicts(made, page, tmp_path):
    """钉钉's and WeChat's in-app browsers open local files without crypto.subtle."""
    page.call("Page.addScriptToEvaluateOnNewDocument",
              {"source": "Object.defineProperty(globalThis.crypto, 'subtle', {value: undefined});"})
    good = open_page(page, write_page(tmp_path, "good", made["by_class"]))
    assert good.ok and good.crypto == "bundled" and "未提供 WebCrypto" in good.detail
    tampered, field = _tamper(made["by_class"], "pool entry changed")
    bad = open_page(page, write_page(tmp_path, "bad", tampered))
    assert bad.crypto == "bundled" and field in bad.fields


def test_bundled_sha256_and_hmac_equal_pythons(page, tmp_path):
    """The page's own SHA-256 and HMAC at every padding boundary and with non-ASCII text, against hashlib."""
    import hashlib
    import hmac

    path = tmp_path / "p.html"
    path.write_bytes(build_draw_page({"format": "x"}))
    page.goto(path.as_uri())
    texts = ["", "abc", "统一社会信用代码", "\U0001F600|x"] + ["a" * n for n in (55, 56, 57, 63, 64, 65, 119, 120, 200)]
    seed = hashlib.sha256(b"seed").hexdigest()
    got = page.evaluate("""((texts, seed) => texts.map(t => [DrawVerifier.sha256Hex(DrawVerifier.utf8(t)),
        new DrawVerifier.Ranker(seed).hex(t)]))(%s, %s)""" % (json.dumps(texts), json.dumps(seed)))
    want = [[hashlib.sha256(t.encode()).hexdigest(), hmac.new(bytes.fromhex(seed), t.encode(), "sha256").hexdigest()]
            for t in texts]
    assert got == want


def test_exact_decimals(page, tmp_path):
    """ceil(100 × 0.07) is 7 in the page (a binary float would give 8)."""
    path = tmp_path / "p.html"
    path.write_bytes(build_draw_page({"format": "x"}))
    page.goto(path.as_uri())
    assert page.evaluate("Math.ceil(100 * 0.07)") == 8  # the trap
    got = page.evaluate("""['0.07', '0.1', '1E-2', '.5', '1', 0.07, '0.3'].map(r => {
        const f = DrawVerifier.decimalFraction(r); return String((100n * f.num + f.den - 1n) / f.den); })""")
    assert got == ["7", "10", "1", "50", "100", "7", "30"]


def test_a_hostile_record_is_shown_as_text(made, page, tmp_path):
    record = copy.deepcopy(made["by_class"])
    uscc = record["result"]["groups"][0]["targets"][0]
    record["announced"]["targets"][uscc] = "<img src=x onerror=\"document.title='pwned'\"></script><b>x</b>"
    record["campaign"]["title"] = "</script><script>document.title='pwned'</script>"
    verdict = open_page(page, write_page(tmp_path, "hostile", record))
    assert verdict.ok  # names are shown, not verified
    assert page.evaluate("document.title") != "pwned" and page.evaluate("document.querySelectorAll('img').length") == 0
    assert "<img src=x" in page.evaluate("document.body.innerText")


def test_english_page(made, page, tmp_path):
    path = tmp_path / "en.html"
    path.write_bytes(build_draw_page(made["by_class"], lang="en"))
    verdict = open_page(page, path)
    assert verdict.word == "MATCH" and "Re-run on this device" in verdict.detail


def test_reads_on_a_phone_and_prints(made, page, tmp_path):
    path = write_page(tmp_path, "page", made["by_class"])
    page.call("Emulation.setDeviceMetricsOverride", {"width": 375, "height": 740, "deviceScaleFactor": 2,
                                                     "mobile": True})
    assert open_page(page, path).ok
    # nothing wider than the phone: no sideways scrolling of the page (the wide table scrolls in its own box)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.evaluate("getComputedStyle(document.getElementById('verdict')).fontSize") in ("27.2px", "28px")
    pdf = page.pdf()
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    page.call("Emulation.setEmulatedMedia", {"media": "print"})
    assert page.evaluate("getComputedStyle(document.getElementById('other-box')).display") == "none"
    assert page.evaluate("getComputedStyle(document.getElementById('group-box')).display") != "none"


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_cli_writes_the_page_from_the_database_and_from_an_exported_file(made, page, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[bot]\ntimezone = "Asia/Shanghai"\n', encoding="utf-8")
    env = {"PATH": os.environ.get("PATH", ""), "BOT_CONFIG": str(config), "DATABASE_URL": made["db"]}
    from_db = tmp_path / "from_db.html"
    proc = _cli("draw", "page", str(made["ids"]["by_class"]), str(from_db), env=env)
    assert proc.returncode == 0 and proc.stdout.strip() == str(from_db), proc.stderr
    verdict = open_page(page, from_db)
    assert verdict.ok and "（调换）" in page.evaluate("document.body.innerText")
    # from an exported record, with no database and no configuration: what anyone holding the file can do
    exported = tmp_path / "draw.json"
    assert _cli("draw", "export", str(made["ids"]["count_public"]), str(exported), env=env).returncode == 0
    bare = {"PATH": os.environ.get("PATH", "")}
    from_file = tmp_path / "from_file.html"
    proc = _cli("draw", "page", str(exported), str(from_file), "--lang", "en", env=bare)
    assert proc.returncode == 0, proc.stderr
    assert open_page(page, from_file).word == "MATCH"
    assert made["count_public"]["announced"]["made_by"] in page.evaluate("document.body.innerText")
    # a missing draw and an unreadable file: one clear line, no page, exit code not 0
    proc = _cli("draw", "page", "999", str(tmp_path / "x.html"), env=env)
    assert proc.returncode == 1 and "没有抽取编号 999" in proc.stderr and not (tmp_path / "x.html").exists()
    junk = tmp_path / "junk.json"
    junk.write_text("[1, 2]", encoding="utf-8")
    proc = _cli("draw", "page", str(junk), str(tmp_path / "y.html"), env=bare)
    assert proc.returncode == 2 and "无法读取抽取记录" in proc.stderr and not (tmp_path / "y.html").exists()
