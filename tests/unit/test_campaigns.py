"""The campaign service (SPEC §4, §7) and `python -m bot campaign`, on the parametrized real database."""

from __future__ import annotations

import copy
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.services import campaigns
from bot.config import config_from_dict
from bot.services.directory_import import import_workbook
from bot.devtools.sample_data import sample_workbook
from models import AuditEntry, Campaign, CampaignDepartment

ROOT = Path(__file__).resolve().parents[2]
D = dt.date
BEFORE = D(2022, 9, 1)  # "today" in these tests: the seed plan is in the future

WL, SJ, GA, XF = "西华县文化广电和旅游局", "西华县市场监督管理局", "西华县公安局", "西华县消防救援大队"

# The plan of SPEC §4, with items for every department (each participating department needs at least one).
SEED_PLAN_TOML = f"""
number = "西文旅抽查〔2022〕1号"
title = "2022年全县互联网上网服务营业场所经营活动联合抽查"
lead = "{WL}"
departments = ["{WL}", "{SJ}", "{GA}", "{XF}"]
cooperating = ["{XF}"]
scope = ["互联网上网服务营业场所"]
window = {{ start = 2022-09-26, end = 2022-09-28 }}
inspectors_per_department = 2
targets_per_group = 0
summary_due = 2022-09-30

[sampling]
ratio = 0.2

[items]
"{WL}" = ["网络文化经营许可证的许可情况", "接纳未成年人进入营业场所情况"]
"{SJ}" = ["主体注册登记情况"]
"{GA}" = ["利用营业场所制作、下载、复制、查阅、发布、传播违法信息情况"]
"{XF}" = ["消防安全检查合格及消防安全职责履行情况"]
"""


def seed_plan() -> dict:
    import tomllib

    return tomllib.loads(SEED_PLAN_TOML)


@pytest.fixture
def cfg(db_url):
    return config_from_dict({"database": {"url": db_url}})


@pytest.fixture
def directory(sessions):
    with sessions.begin() as s:
        outcome = import_workbook(s, sample_workbook(n_targets=20), actor="test", filename="名录.xlsx", today=BEFORE)
        assert outcome.ok, outcome.errors


def create(sessions, cfg, plan, today=BEFORE):
    with sessions.begin() as s:
        outcome = campaigns.create_campaign(s, plan, cfg=cfg, actor="test", today=today)
        return outcome.campaign.id, outcome.warnings


def count(sessions, model) -> int:
    with sessions.begin() as s:
        return s.scalar(select(func.count()).select_from(model))


# ------------------------------------------------------------------------------------------------ create

def test_seed_plan_creates_campaign_with_statutory_deadlines(sessions, cfg, directory):
    cid, warnings = create(sessions, cfg, seed_plan())
    assert warnings == []
    with sessions.begin() as s:
        c = s.get(Campaign, cid)
        assert c.number == "西文旅抽查〔2022〕1号" and (c.year, c.seq) == (2022, 1)
        assert c.state == "draft" and c.lead_department.name == WL
        assert c.results_due == D(2022, 10, 31) and c.publication_due == D(2022, 10, 24)
        assert c.deadlines_provisional is False
        assert c.summary_due == D(2022, 9, 30)
        assert c.sampling == {"ratio": "0.2"}
        assert c.scope == ["互联网上网服务营业场所"]
        assert (c.inspectors_per_department, c.targets_per_group) == (2, 0)
        assert [(cd.department.name, cd.position, cd.cooperating) for cd in c.departments] == [
            (WL, 1, False), (SJ, 2, False), (GA, 3, False), (XF, 4, True)]
        assert [ci.item.name for ci in c.items][:3] == [
            "网络文化经营许可证的许可情况", "接纳未成年人进入营业场所情况", "主体注册登记情况"]
        assert [ci.position for ci in c.items] == [1, 2, 3, 4, 5]
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "campaign.create")).one()
        assert entry.subject == f"campaign:{cid}" and "西文旅抽查〔2022〕1号" in entry.data


def test_number_is_generated_per_lead_department_and_year(sessions, cfg, directory):
    plan = seed_plan()
    del plan["number"]
    plan["lead"] = "西文旅"  # the short name is accepted
    first, _ = create(sessions, cfg, plan)
    second, _ = create(sessions, cfg, plan)
    other = copy.deepcopy(plan)
    other["lead"] = SJ
    third, _ = create(sessions, cfg, other)
    later = copy.deepcopy(plan)
    later["window"] = {"start": "2023-03-01", "end": "2023-03-03"}
    later.pop("summary_due")
    fourth, _ = create(sessions, cfg, later)
    with sessions.begin() as s:
        numbers = [s.get(Campaign, i).number for i in (first, second, third, fourth)]
    assert numbers == ["西文旅抽查〔2022〕1号", "西文旅抽查〔2022〕2号", "西市监抽查〔2022〕1号", "西文旅抽查〔2023〕1号"]


def test_given_number_is_kept_and_generation_continues_after_it(sessions, cfg, directory):
    plan = seed_plan()
    plan["number"] = "西文旅抽查〔2022〕5号"
    create(sessions, cfg, plan)
    del plan["number"]
    cid, _ = create(sessions, cfg, plan)
    with sessions.begin() as s:
        assert s.get(Campaign, cid).number == "西文旅抽查〔2022〕6号"


def test_number_already_used_is_an_error(sessions, cfg, directory):
    create(sessions, cfg, seed_plan())
    with pytest.raises(campaigns.PlanError) as err:
        create(sessions, cfg, seed_plan())
    assert err.value.key == "number"
    assert count(sessions, Campaign) == 1


def _broken(change):
    plan = seed_plan()
    change(plan)
    return plan


BAD_PLANS = [
    ("titel", lambda p: p.update(titel="x")),
    ("title", lambda p: p.pop("title")),
    ("departments", lambda p: p["departments"].append("西华县教育局")),
    ("departments", lambda p: p["departments"].append("西文旅")),  # the lead again, by its short name
    ("lead", lambda p: p.update(lead=SJ, departments=[WL, GA, XF], cooperating=[])),
    ("cooperating", lambda p: p.update(cooperating=["西华县教育局"])),
    ("cooperating", lambda p: p.update(cooperating=[WL])),
    ("scope", lambda p: p.update(scope=[])),
    ("window", lambda p: p.update(window={"start": D(2022, 9, 28), "end": D(2022, 9, 26)})),
    ("window", lambda p: p.update(window={"start": D(2022, 9, 28)})),
    ("window.middle", lambda p: p["window"].update(middle=D(2022, 9, 27))),
    ("window.end", lambda p: p["window"].update(end="9月28日")),
    ("window.end", lambda p: p["window"].update(end=D(9999, 12, 31))),
    ("inspectors_per_department", lambda p: p.update(inspectors_per_department=0)),
    ("inspectors_per_department", lambda p: p.update(inspectors_per_department=1, departments=[WL],
                                                     cooperating=[], items={WL: ["主体注册登记情况"]})),
    ("targets_per_group", lambda p: p.update(targets_per_group=-1)),
    ("summary_due", lambda p: p.update(summary_due=D(2022, 9, 1))),
    ("sampling", lambda p: p.update(sampling={})),
    ("sampling", lambda p: p.pop("sampling")),
    ("sampling", lambda p: p.update(sampling={"ratio": 0.2, "count": 3})),
    ("sampling.ratio", lambda p: p.update(sampling={"ratio": 1.5})),
    ("sampling.ratio", lambda p: p.update(sampling={"ratio": 0})),
    ("sampling.count", lambda p: p.update(sampling={"count": 0})),
    ("sampling.count", lambda p: p.update(sampling={"count": True})),
    ("sampling.rate", lambda p: p.update(sampling={"rate": 0.2})),
    ("sampling.by_class", lambda p: p.update(sampling={"by_class": {"A": 0.05, "B": 0.1, "C": 0.3, "D": 1.0}})),
    ("sampling.by_class.E", lambda p: p.update(sampling={"ratio": 0.2, "by_class": {"E": 0.5}})),
    ("sampling.by_class.A", lambda p: p.update(sampling={"ratio": 0.2, "by_class": {"A": 2}})),
    (f"items.{GA}", lambda p: p["items"].update({GA: ["不存在的事项"]})),
    (f"items.{GA}", lambda p: p["items"].update({GA: ["主体注册登记情况"]})),  # another department's item
    (f"items.{XF}", lambda p: p["items"].pop(XF)),
    ("items.西华县教育局", lambda p: p["items"].update({"西华县教育局": ["x"]})),
    ("items", lambda p: p.pop("items")),
]


@pytest.mark.parametrize("key,change", BAD_PLANS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(BAD_PLANS)])
def test_bad_plan_names_the_key_and_writes_nothing(sessions, cfg, directory, key, change):
    with pytest.raises(campaigns.PlanError) as err:
        create(sessions, cfg, _broken(change))
    assert err.value.key == key, str(err.value)
    assert str(err.value).startswith(f"{key}: ") and err.value.message
    assert count(sessions, Campaign) == 0 and count(sessions, CampaignDepartment) == 0


def test_by_class_without_fallback_names_the_classes_lacking_a_rule(sessions, cfg, directory):
    plan = _broken(lambda p: p.update(sampling={"by_class": {"A": 0.05, "B": 0.1, "C": 0.3}}))
    with pytest.raises(campaigns.PlanError) as err:
        create(sessions, cfg, plan)
    assert "D、-" in err.value.message and "免抽" in err.value.message
    en = campaigns.PlanError
    with sessions.begin() as s, pytest.raises(en) as err_en:
        campaigns.create_campaign(s, plan, cfg=cfg, actor="test", today=BEFORE, lang="en")
    assert "D、-" in err_en.value.message and "exempt" in err_en.value.message


def test_sampling_is_stored_as_decimal_strings(sessions, cfg, directory):
    ids = []
    for sampling in ({"ratio": 0.07}, {"ratio": "20%"}, {"count": 10},
                     {"by_class": {"A": 0.05, "B": 0.1, "C": 0.3, "D": 1.0, "-": 0.2}},
                     {"by_class": {"D": 1.0, "未分类": "50%"}, "count": 3},
                     {"by_class": {"a": 0.05}, "ratio": 0.2}):
        plan = seed_plan()
        del plan["number"]
        plan["sampling"] = sampling
        ids.append(create(sessions, cfg, plan)[0])
    with sessions.begin() as s:
        stored = [s.get(Campaign, i).sampling for i in ids]
    assert stored == [
        {"ratio": "0.07"}, {"ratio": "0.2"}, {"count": 10},
        {"by_class": {"A": "0.05", "B": "0.1", "C": "0.3", "D": "1", "-": "0.2"}},
        {"count": 3, "by_class": {"D": "1", "-": "0.5"}},
        {"ratio": "0.2", "by_class": {"A": "0.05"}},
    ]
    assert campaigns.sampling_text(stored[3], "zh") == "按信用分类：A类 5%，B类 10%，C类 30%，D类 100%，未分类 20%"
    assert campaigns.sampling_text(stored[1], "zh") == "按比例 20%"


def test_a_fourth_campaign_of_a_department_in_a_year_is_a_warning(sessions, cfg, directory):
    plan = seed_plan()
    del plan["number"]
    for _ in range(3):
        _, warnings = create(sessions, cfg, plan)
        assert warnings == []
    cid, warnings = create(sessions, cfg, plan)
    assert cid and len(warnings) == 4  # all four departments are in their fourth campaign of 2022
    assert WL in warnings[0] and "2022" in warnings[0] and "3" in warnings[0]
    other_year = copy.deepcopy(plan)
    other_year["window"] = {"start": D(2023, 4, 1), "end": D(2023, 4, 3)}
    other_year.pop("summary_due")
    assert create(sessions, cfg, other_year)[1] == []


def test_unknown_scope_and_past_window_are_warnings(sessions, cfg, directory):
    plan = seed_plan()
    plan["scope"] = ["互联网上网服务营业场所", "网吧"]
    _, warnings = create(sessions, cfg, plan, today=D(2024, 1, 1))
    assert any("网吧" in w for w in warnings)
    assert any("2022-09-26" in w for w in warnings)


# ------------------------------------------------------------------------------------------------ deadlines

def test_deadlines_in_an_uncovered_year_are_provisional_and_recomputed(sessions, cfg, directory):
    plan = seed_plan()
    plan.update(number=None, window={"start": D(2026, 12, 14), "end": D(2026, 12, 18)}, summary_due=None)
    cid, warnings = create(sessions, cfg, plan, today=D(2026, 12, 1))
    assert any("暂定" in w for w in warnings)
    with sessions.begin() as s:
        c = s.get(Campaign, cid)
        assert c.deadlines_provisional and c.results_due.year == 2027
        assert campaigns.provisional_marks(c, cfg) == (True, True)
        assert campaigns.date_text(c.results_due, True, "zh").endswith("（暂定）")
    with sessions.begin() as s:
        assert campaigns.recompute_provisional(s, cfg) == 0
    # The 2027 schedule arrives (here: through config naming every day of January 2027).
    january = [D(2027, 1, 1) + dt.timedelta(days=i) for i in range(31)]
    holidays = [d for d in january if d.weekday() >= 5 or d.day == 1]
    known = config_from_dict({"database": {"url": cfg.database.url},
                              "calendar": {"extra_holidays": [d.isoformat() for d in holidays],
                                           "extra_workdays": [d.isoformat() for d in january if d not in holidays]}})
    with sessions.begin() as s:
        assert campaigns.recompute_provisional(s, known) == 1
    with sessions.begin() as s:
        c = s.get(Campaign, cid)
        assert not c.deadlines_provisional
        assert c.results_due == D(2027, 1, 18)  # 2027-01-01 is a holiday now
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "campaign.deadlines")).one()
        assert campaigns.recompute_provisional(s, known) == 0


def test_config_calendar_moves_the_deadlines(sessions, cfg, directory, db_url):
    shifted = config_from_dict({"database": {"url": db_url}, "calendar": {"extra_holidays": ["2022-09-29"]}})
    with sessions.begin() as s:
        c = campaigns.create_campaign(s, seed_plan(), cfg=shifted, actor="test", today=BEFORE).campaign
        assert (c.results_due, c.publication_due) == (D(2022, 11, 1), D(2022, 10, 25))


# ------------------------------------------------------------------------------------------------ queries

def test_resolve_campaign_by_id_number_or_the_one_open(sessions, cfg, directory):
    with sessions.begin() as s, pytest.raises(campaigns.CampaignChoiceError) as err:
        campaigns.resolve_campaign(s, None)
    assert err.value.reason == "none_open"
    first, _ = create(sessions, cfg, seed_plan())
    with sessions.begin() as s:
        assert campaigns.resolve_campaign(s, None).id == first
        assert campaigns.resolve_campaign(s, str(first)).id == first
        assert campaigns.resolve_campaign(s, f"#{first}").id == first
        assert campaigns.resolve_campaign(s, "西文旅抽查〔2022〕1号").id == first
    plan = seed_plan()
    del plan["number"]
    second, _ = create(sessions, cfg, plan)
    with sessions.begin() as s:
        with pytest.raises(campaigns.CampaignChoiceError) as err:
            campaigns.resolve_campaign(s, None)
        assert err.value.reason == "several" and [c.id for c in err.value.candidates] == [first, second]
        assert f"ID {second}" in err.value.message("zh")
        with pytest.raises(campaigns.CampaignChoiceError) as err:
            campaigns.resolve_campaign(s, "999")
        assert err.value.reason == "not_found" and "999" in err.value.message("zh")
        s.get(Campaign, first).state = "published"
    with sessions.begin() as s:
        assert campaigns.resolve_campaign(s, None).id == second
        assert [c.id for c in campaigns.list_campaigns(s)] == [second, first]
        assert [c.id for c in campaigns.list_campaigns(s, open_only=True)] == [second]


def test_state_labels():
    assert [campaigns.state_label(s, "zh") for s in ("draft", "drawn", "inspecting", "entered", "published",
                                                     "closed")] == ["草稿", "已抽取", "检查中", "已录入", "已公示",
                                                                    "已办结"]
    assert campaigns.state_label("drawn", "en") == "drawn"


def test_parse_ratio_and_count():
    from decimal import Decimal

    assert campaigns.parse_ratio("20%") == Decimal("0.2")
    assert campaigns.parse_ratio("２０％") == Decimal("0.2")
    assert campaigns.parse_ratio(" 0.07 ") == Decimal("0.07")
    assert campaigns.parse_ratio(1) == Decimal(1)
    for bad in ("20", "0", "-0.1", "abc", "", "NaN", "inf", True, None, "150%"):
        assert campaigns.parse_ratio(bad) is None, bad
    assert campaigns.parse_count("10") == 10 and campaigns.parse_count("１０户") == 10
    for bad in ("0", "-1", "1.5", "x", 0, True, 2.0):
        assert campaigns.parse_count(bad) is None, bad
    assert campaigns.percent_text("0.125") == "12.5%" and campaigns.percent_text("1") == "100%"


# ------------------------------------------------------------------------------------------------ plan files

def test_load_plan_reads_the_seed_plan_and_reports_syntax_errors_with_line(tmp_path):
    path = tmp_path / "plan.toml"
    path.write_text(SEED_PLAN_TOML, encoding="utf-8")
    plan = campaigns.load_plan(path)
    assert plan["window"] == {"start": D(2022, 9, 26), "end": D(2022, 9, 28)}
    bad = tmp_path / "bad.toml"
    bad.write_text('title = "x"\nlead = \n', encoding="utf-8")
    with pytest.raises(campaigns.PlanError) as err:
        campaigns.load_plan(bad)
    assert err.value.key == str(bad) and "line 2" in err.value.message
    with pytest.raises(campaigns.PlanError):
        campaigns.load_plan(tmp_path / "missing.toml")


def _cli(args, db_url, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[bot]\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN",)}
    env.update(BOT_CONFIG=str(cfg), DATABASE_URL=db_url)
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_cli_create_prints_the_id_last_and_list_shows_it(db_url, tmp_path, sessions, directory):
    path = tmp_path / "plan.toml"
    path.write_text(SEED_PLAN_TOML, encoding="utf-8")
    proc = _cli(["campaign", "create", str(path)], db_url, tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    campaign_id = int(lines[-1])
    assert any("2022-10-31" in line for line in lines[:-1])
    assert any("检查时间" in line for line in lines[:-1])  # the window is past today: a warning line
    with sessions.begin() as s:
        assert s.get(Campaign, campaign_id).number == "西文旅抽查〔2022〕1号"

    proc = _cli(["campaign", "list"], db_url, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"{campaign_id}\t西文旅抽查〔2022〕1号\t草稿" in proc.stdout and "2022-10-24" in proc.stdout


def test_cli_errors_name_the_key_on_one_line(db_url, tmp_path, sessions, directory):
    path = tmp_path / "plan.toml"
    path.write_text(SEED_PLAN_TOML.replace("ratio = 0.2", "by_class = { A = 0.05 }"), encoding="utf-8")
    proc = _cli(["campaign", "create", str(path)], db_url, tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == ""
    errors = [line for line in proc.stderr.splitlines() if "计划文件错误" in line]
    assert len(errors) == 1 and errors[0].startswith("计划文件错误：sampling.by_class: ")
    assert "B、C、D、-" in errors[0]

    path.write_text("title = \n", encoding="utf-8")
    proc = _cli(["campaign", "create", str(path)], db_url, tmp_path)
    assert proc.returncode == 1 and proc.stderr.strip().splitlines()[-1].startswith(f"计划文件错误：{path}: ")
    assert "line 1" in proc.stderr
    assert count(sessions, Campaign) == 0
