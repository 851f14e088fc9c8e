"""Credit classes end to end (issue 14): targets imported in each class vocabulary are stored canonically, a
by_class plan written in each vocabulary draws by those classes, and the draw record verifies — in the database
(`/verify`) and from the exported file alone (`python -m bot draw verify`)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import config_from_dict
from bot.devtools.sample_data import sample_sheets, write_workbook
from bot.services import campaigns, draws
from bot.services.directory_import import import_workbook
from models import Campaign, Target
from tests.drawsetup import PLAN

ROOT = Path(__file__).resolve().parents[2]
T_CREDIT = 5  # 信用风险分类 in the sample's 检查对象 rows
T_USCC = 1

# Each class in each wording an office writes it in; A–D is what the default scheme stores.
VOCABULARIES = {
    "letters": {"A": "A", "B": "b类", "C": "Ｃ", "D": "D"},
    "national": {"A": "信用风险低（A类）", "B": "信用风险一般", "C": "信用风险较高(C类)", "D": "信用风险高"},
    "henan": {"A": "低风险", "B": "中风险", "C": "中高风险（C类）", "D": "高风险"},
}
# A plan's by_class keys, in the same vocabularies (a plan need not match the workbook's wording).
PLAN_WORDS = {
    "letters": {"A": "A", "B": "B", "C": "C", "D": "D"},
    "national": {"A": "信用风险低", "B": "信用风险一般（B类）", "C": "信用风险较高", "D": "信用风险高（D类）"},
    "henan": {"A": "低风险", "B": "中", "C": "中高风险", "D": "高风险"},
}
# A tenth, B half, C and D all, unclassified a tenth: how many a draw takes of each stratum tells them apart.
RATIOS = {"A": 0.1, "B": 0.5, "C": 1, "D": 1, "-": 0.1}


def book_in(vocab: dict[str, str] | None, n_targets: int = 40) -> tuple[dict, dict[str, str | None]]:
    """The sample sheets with the 信用风险分类 column rewritten; and uscc → the canonical class it means."""
    book = sample_sheets(n_targets=n_targets)
    truth: dict[str, str | None] = {}
    for i, row in enumerate(book["检查对象"][1:]):
        row[T_CREDIT] = ("A", "B", "C", "D", None)[i % 5]  # every class present in the scope
        truth[row[T_USCC]] = row[T_CREDIT]
        if vocab is not None and row[T_CREDIT] is not None:
            row[T_CREDIT] = vocab[row[T_CREDIT]]
    return book, truth


def import_book(sessions, book, cfg):
    with sessions.begin() as s:
        return import_workbook(s, write_workbook(book), actor="test", filename="名录.xlsx",
                               today=dt.date(2022, 9, 1), credit=cfg.credit_scheme)


def by_class_plan(words: dict[str, str]) -> dict:
    plan = copy.deepcopy(PLAN) | {"targets_per_group": 0}  # one group: the sample has inspectors for one
    plan["sampling"] = {"by_class": {words.get(c, c): r for c, r in RATIOS.items()}}
    return plan


def draw_and_verify(sessions, cfg, plan, tmp_path, db_url) -> dict:
    with sessions.begin() as s:
        cid = campaigns.create_campaign(s, plan, cfg=cfg, actor="test").campaign.id
    with sessions.begin() as s:
        draw = draws.perform_draw(s, s.get(Campaign, cid), cfg=cfg, person_id=None, actor="test")
        assert draws.verify_draw(s, draw).ok  # what /verify answers
        record = draws.export_record(s, draw)
    path = tmp_path / "draw.json"
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    out = subprocess.run([sys.executable, "-m", "bot", "draw", "verify", str(path)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return record


@pytest.mark.parametrize("vocab", sorted(VOCABULARIES))
def test_import_stores_the_canonical_class(sessions, vocab):
    book, truth = book_in(VOCABULARIES[vocab])
    out = import_book(sessions, book, config_from_dict({}))
    assert out.ok, out.summary("zh")
    with sessions.begin() as s:
        stored = dict(s.execute(select(Target.uscc, Target.credit_class)).all())
    assert stored == truth and {"A", "B", "C", "D"} <= set(stored.values())


def test_import_refuses_an_unknown_class_listing_the_accepted_words(sessions):
    book, _ = book_in(None)
    book["检查对象"][2][T_CREDIT] = "极高风险"
    out = import_book(sessions, book, config_from_dict({}))
    assert not out.ok
    [err] = [e.reason for e in out.errors if "极高风险" in e.reason]
    assert "信用风险较高" in err and "中高风险" in err and "A" in err


# Each plan vocabulary against a workbook in the same words, and against one in letters (a plan need not match).
PAIRS = [(book, plan) for plan in sorted(PLAN_WORDS) for book in dict.fromkeys((plan, "letters"))]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the vocabularies are the database's no matter; the
@pytest.mark.parametrize("book_vocab, plan_vocab", PAIRS)       # end-to-end test below draws on PostgreSQL too
def test_by_class_plan_in_each_vocabulary_draws_and_verifies(sessions, db_url, tmp_path, book_vocab, plan_vocab):
    cfg = config_from_dict({})
    book, truth = book_in(VOCABULARIES[book_vocab])
    assert import_book(sessions, book, cfg).ok
    record = draw_and_verify(sessions, cfg, by_class_plan(PLAN_WORDS[plan_vocab]), tmp_path, db_url)
    # The record speaks canonical names: the rule's keys and the pools' strata.
    assert list(record["params"]["sampling"]["by_class"]) == ["A", "B", "C", "D", "-"]
    assert set(record["pools"]["targets"]) <= {"A", "B", "C", "D", "-"}
    for stratum, usccs in record["pools"]["targets"].items():
        assert {truth[u] or "-" for u in usccs} == {stratum}
    assert_drawn_by_class(record, RATIOS)


def assert_drawn_by_class(record: dict, ratios: dict[str, float]) -> None:
    drawn = {u for g in record["result"]["groups"] for u in g["targets"]}
    pools = record["pools"]["targets"]
    assert set(pools) == set(ratios)
    for stratum, usccs in pools.items():
        assert len(drawn & set(usccs)) == math.ceil(len(usccs) * ratios[stratum]), stratum


def test_renamed_classes_draw_by_their_names(sessions, db_url, tmp_path):
    # An office whose classes are Henan's words: stored, drawn by and recorded as those words.
    names = ["低风险", "中风险", "中高风险", "高风险"]
    cfg = config_from_dict({"credit": {"classes": names, "aliases": {"低风险": ["A"]}}})
    henan = dict(zip("ABCD", names))
    book, truth = book_in(henan)
    assert import_book(sessions, book, cfg).ok
    with sessions.begin() as s:
        assert set(s.scalars(select(Target.credit_class))) - {None} == set(names)
    plan = copy.deepcopy(PLAN) | {"targets_per_group": 0}  # one group: the sample has inspectors for one
    plan["sampling"] = {"by_class": {"a": 0.1, "中风险": 0.5, "中高风险（C类）": 1, "高风险": 1}, "ratio": 0.1}
    record = draw_and_verify(sessions, cfg, plan, tmp_path, db_url)
    assert list(record["params"]["sampling"]["by_class"]) == names
    assert set(record["pools"]["targets"]) <= set(names) | {"-"}
    assert_drawn_by_class(record, dict(zip(names, (0.1, 0.5, 1, 1))) | {"-": 0.1})
    assert campaigns.class_label("中高风险", "zh") == "中高风险" and campaigns.class_label("A", "zh") == "A类"


@pytest.mark.parametrize("word", ["极高风险", "E", "信用风险低（D类）"])
def test_plan_naming_an_unknown_class_is_refused_naming_it(sessions, word):
    cfg = config_from_dict({})
    book, _ = book_in(None)
    assert import_book(sessions, book, cfg).ok
    plan = by_class_plan(PLAN_WORDS["letters"])
    plan["sampling"]["by_class"][word] = 0.1
    with sessions.begin() as s:
        with pytest.raises(campaigns.PlanError) as err:
            campaigns.create_campaign(s, plan, cfg=cfg, actor="test")
    assert err.value.key == f"sampling.by_class.{word}" and f"「{word}」" in err.value.message
    assert "信用风险一般" in err.value.message  # it says what is accepted


def test_same_class_twice_in_two_wordings_is_refused(sessions):
    cfg = config_from_dict({})
    book, _ = book_in(None)
    assert import_book(sessions, book, cfg).ok
    plan = by_class_plan(PLAN_WORDS["letters"])
    plan["sampling"]["by_class"]["中高风险"] = 0.1
    with sessions.begin() as s:
        with pytest.raises(campaigns.PlanError) as err:
            campaigns.create_campaign(s, plan, cfg=cfg, actor="test")
    assert err.value.key == "sampling.by_class.中高风险"


def test_a_platform_export_in_national_words_draws_by_a_henan_plan_and_verifies(sessions, db_url, tmp_path):
    """The whole of issue 14 at once: the roster from our template, the targets as the platform exported them (a
    merged title and a date line above the header, 住所 merged over two columns, a 15-digit 注册号 stored as a
    number beside 18-character codes, bracketed state words, national credit words, no 行业类别 — given for the
    file), then a by_class plan in Henan's words: the draw takes each class by its ratio and its record verifies."""
    from bot.devtools.sample_data import generate_uscc
    from tests.unit.test_platform_import import REGNO, platform_export

    cfg = config_from_dict({})
    book, _ = book_in(None)
    del book["检查对象"], book["回避关系"]  # the 回避关系 rows name the sample's targets
    assert import_book(sessions, book, cfg).ok  # departments, items, people
    national = ("信用风险低（A类）", "信用风险一般（B类）", "信用风险较高（C类）", "信用风险高（D类）", None)
    states = ("存续（在营、开业、在册）", "在营", "开业", "在册", "存续")
    rows = [[i + 1, f"西华县第{i + 1}网吧", REGNO if i == 0 else generate_uscc(100 + i), "张三", f"城关镇 {i} 号", None,
             "西华县市场监督管理局", "城关市场监督管理所", states[i % 5], national[i % 5]] for i in range(40)]
    rows.append([41, "西华县吊销网吧", generate_uscc(99), None, None, None, None, None, "吊销，未注销", "信用风险高"])
    with sessions.begin() as s:
        out = import_workbook(s, platform_export(rows), actor="test", filename="平台导出.xlsx",
                              today=dt.date(2022, 9, 1), credit=cfg.credit_scheme, industry=PLAN["scope"][0])
        assert out.ok, out.summary("zh")
    with sessions.begin() as s:
        regno = s.scalar(select(Target).where(Target.uscc == str(REGNO)))
        assert regno is not None and regno.is_regno and regno.credit_class == "A"
        assert regno.registration_authority == "西华县市场监督管理局" and regno.jurisdiction == "城关市场监督管理所"
    record = draw_and_verify(sessions, cfg, by_class_plan(PLAN_WORDS["henan"]), tmp_path, db_url)
    assert list(record["params"]["sampling"]["by_class"]) == ["A", "B", "C", "D", "-"]
    assert sum(len(v) for v in record["pools"]["targets"].values()) == 40  # the 吊销 one is never drawable
    assert_drawn_by_class(record, RATIOS)
