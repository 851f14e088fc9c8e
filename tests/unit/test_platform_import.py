"""Target lists as the national platforms export them (issue 14): title rows above a merged header, the
platforms' own column names, numbers stored as numbers, 15-digit 注册号 beside 18-character codes, the registers'
state words, and no 行业类别 column (given for the whole file)."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from sqlalchemy import select

import bot.services.directory_import as di
from bot.devtools.sample_data import generate_uscc, write_workbook
from bot.rules.candidates import target_drawable
from bot.services.directory_import import import_workbook
from models import Target

TODAY = dt.date(2024, 6, 1)
INDUSTRY = "互联网上网服务营业场所"
REGNO = 411622000012345  # a 15-digit 注册号, typed into Excel as a number

HEADERS = ["序号", "企业名称", "统一社会信用代码/注册号", "法定代表人（负责人）", "住所（经营场所）", None,
           "登记机关", "管辖单位", "登记状态", "信用风险分类结果"]


def platform_export(rows: list[list], headers: list | None = None) -> bytes:
    """Like a platform export: a merged title, a date line, a header whose 住所 cell is merged over two columns."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "检查对象名录"
    headers = headers or HEADERS
    ws.append(["西华县市场监督管理局检查对象名录"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws.append(["导出时间：2024-05-30", None, None, None, None, None, None, None, "单位：户"])
    ws.append(headers)
    if "住所（经营场所）" in headers:
        col = headers.index("住所（经营场所）") + 1
        ws.merge_cells(start_row=3, start_column=col, end_row=3, end_column=col + 1)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def rows() -> list[list]:
    return [
        [1, "西华县星空网吧", generate_uscc(1), "张三", "城关镇人民路 1 号", None, "西华县市场监督管理局",
         "城关市场监督管理所", "存续（在营、开业、在册）", "A类"],
        [2, "西华县极速网咖", REGNO, "李四", None, None, "西华县工商行政管理局", "红花市场监督管理所", "在营",
         "B"],
        [3, "西华县老街网吧", generate_uscc(3), "王五", "红花镇老街 8 号", None, None, None, "吊销，未注销", None],
        [4, "西华县新世纪网吧", generate_uscc(5), None, "址坊镇 2 号", None, None, None, "停业", None],
        [5, "西华县南门网吧", generate_uscc(7), None, "东夏镇 9 号", None, None, None, "迁出", None],
    ]


def run(sessions, data: bytes, **kw) -> di.ImportOutcome:
    kw.setdefault("today", TODAY)
    with sessions.begin() as s:
        return import_workbook(s, data, actor="test", filename="名录.xlsx", **kw)


def stored(sessions) -> dict[str, Target]:
    with sessions.begin() as s:
        found = {t.uscc: t for t in s.scalars(select(Target))}
        s.expunge_all()
        return found


def test_platform_export_without_industry_asks_for_it_and_writes_nothing(sessions):
    out = run(sessions, platform_export(rows()))
    assert not out.ok and out.needs_industry
    assert out.summary() == "工作表「检查对象名录」（检查对象）没有“行业类别”列：请为整个文件指定行业。未写入任何数据。"
    assert stored(sessions) == {}


def test_platform_export_imports_with_the_industry_given_for_the_file(sessions):
    out = run(sessions, platform_export(rows()), industry=INDUSTRY)
    assert out.ok, out.summary()
    assert out.summary().splitlines() == ["导入完成：", "检查对象：新增 5，更新 0，未变 0"]
    t = stored(sessions)
    assert set(t) == {generate_uscc(1), str(REGNO), generate_uscc(3), generate_uscc(5), generate_uscc(7)}
    first, regno = t[generate_uscc(1)], t[str(REGNO)]
    assert (first.name, first.legal_rep, first.address, first.industry, first.status) == (
        "西华县星空网吧", "张三", "城关镇人民路 1 号", INDUSTRY, "正常")
    assert (first.registration_authority, first.jurisdiction) == ("西华县市场监督管理局", "城关市场监督管理所")
    # the number 411622000012345 is its digits, marked as an old 注册号; no 住所 is stored as ""
    assert (regno.uscc, regno.is_regno, regno.address, regno.status) == ("411622000012345", True, "", "正常")
    assert not first.is_regno
    assert {u: x.status for u, x in t.items()} == {
        generate_uscc(1): "正常", str(REGNO): "正常", generate_uscc(3): "吊销", generate_uscc(5): "停业",
        generate_uscc(7): "迁出"}
    assert [u for u, x in t.items() if target_drawable(x.status)] == [generate_uscc(1), str(REGNO)]


def test_reimport_of_a_list_without_address_keeps_the_stored_address(sessions):
    assert run(sessions, platform_export(rows()), industry=INDUSTRY).ok
    no_address = [h if h != "住所（经营场所）" else "备注" for h in HEADERS]
    out = run(sessions, platform_export(rows(), no_address), industry=INDUSTRY)
    assert out.ok, out.summary()
    assert stored(sessions)[generate_uscc(1)].address == "城关镇人民路 1 号"


def test_a_blank_industry_cell_takes_the_files_industry_and_the_column_wins_where_filled(sessions):
    headers = HEADERS[:6] + ["行业类别"] + HEADERS[7:]
    data = rows()
    for row in data:
        row[6] = None
    data[0][6] = "歌舞娱乐场所"
    out = run(sessions, platform_export(data, headers), industry=INDUSTRY)
    assert out.ok, out.summary()
    t = stored(sessions)
    assert t[generate_uscc(1)].industry == "歌舞娱乐场所" and t[str(REGNO)].industry == INDUSTRY
    # without the industry for the file the blank cells are errors as before
    assert not run(sessions, platform_export(data, headers)).ok


@pytest.mark.parametrize("word, status", [
    ("存续", "正常"), ("存续（在营、开业、在册）", "正常"), ("存续(在营、开业、在册)", "正常"), ("在营", "正常"),
    ("开业", "正常"), ("在册", "正常"), ("正常", "正常"), ("停业", "停业"), ("歇业", "歇业"), ("吊销", "吊销"),
    ("吊销，未注销", "吊销"), ("撤销", "撤销"), ("注销", "注销"), ("已注销", "注销"), ("迁出", "迁出"),
    ("倒闭", None), ("", None),
])
def test_registration_state_words(word, status):
    assert di.target_status(word) == status


def test_non_drawable_states_fit_the_status_column():
    assert max(len(v) for v in di.TARGET_STATUS.values()) <= Target.__table__.c.status.type.length


def test_unknown_state_is_refused_with_the_accepted_words(sessions):
    data = rows()
    data[2][8] = "倒闭"
    out = run(sessions, platform_export(data), industry=INDUSTRY)
    assert not out.ok
    assert out.summary().splitlines()[1] == (
        "检查对象名录 第 6 行 状态：状态「倒闭」无效，应为以下之一：" + "、".join(di.TARGET_STATUS))
    assert stored(sessions) == {}


def test_eighteen_character_code_typed_as_text_and_regno_as_a_float(sessions):
    data = rows()[:2]
    data[1][2] = float(REGNO)  # some exports write every number as a double
    out = run(sessions, platform_export(data), industry=INDUSTRY)
    assert out.ok, out.summary()
    assert set(stored(sessions)) == {generate_uscc(1), "411622000012345"}


def test_header_is_the_best_matching_row_not_the_first_recognisable_one(sessions):
    # a summary line above the header that itself looks like a two-column header
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["名称", "地址"])
    ws.append(["名称", "统一社会信用代码", "地址", "行业类别", "状态"])
    ws.append(["西华县星空网吧", generate_uscc(1), "城关镇 1 号", INDUSTRY, "存续"])
    buf = io.BytesIO()
    wb.save(buf)
    out = run(sessions, buf.getvalue())
    assert out.ok, out.summary()
    assert stored(sessions)[generate_uscc(1)].address == "城关镇 1 号"


def test_unrecognised_sheet_names_the_headers_seen_and_needed(sessions):
    out = run(sessions, write_workbook({"Sheet1": [["西华县名单"], ["编号", "店名", "代码"], [1, "x", "y"]]}))
    assert not out.ok
    text = out.summary()
    assert "没有可识别的工作表" in text
    assert "看到的表头：「Sheet1」编号、店名、代码" in text
    assert "检查对象（名称、统一社会信用代码、地址、行业类别）" in text


def test_ignored_sheet_beside_a_recognised_one_names_its_headers(sessions):
    data = write_workbook({"说明": [["填表说明", "版本"]],
                           "对象": [["名称", "统一社会信用代码", "地址", "行业类别"],
                                    ["西华县星空网吧", generate_uscc(1), "城关镇 1 号", INDUSTRY]]})
    out = run(sessions, data)
    assert out.ok
    assert "说明：表头不是任何一种名录，已忽略（看到的表头：填表说明、版本）" in out.summary()


def test_missing_column_names_the_headers_seen(sessions):
    data = write_workbook({"对象": [["企业名称", "法定代表人", "行业类别"], ["西华县星空网吧", "张三", INDUSTRY]]})
    out = run(sessions, data)
    assert out.summary() == ("工作表「对象」（检查对象）缺少必填列：统一社会信用代码。未写入任何数据。\n"
                             "看到的表头：企业名称、法定代表人、行业类别")


# One test per alias the platforms use: a sheet headed by the alias (and enough other target columns to be a
# target sheet) maps the alias to its field.
_PLATFORM = [(kind, f, h) for (kind, f), headers in di.PLATFORM_ALIASES.items() for h in headers]


@pytest.mark.parametrize("kind, field, header", _PLATFORM, ids=[h for _, _, h in _PLATFORM])
def test_platform_header_alias(kind, field, header):
    spec = di.SHEET_BY_KIND[kind]
    others = [c.header for c in spec.columns if c.field != field]
    headers = [di.normalize_header(h) for h in [header, *others]]
    found = di._recognise(headers)
    assert found is not None and found[0].kind == kind
    assert found[1][field] == 0


@pytest.mark.parametrize("header, field", [
    ("企业名称", "name"), ("主体名称", "name"), ("统一社会信用代码/注册号", "uscc"), ("注册号/统一社会信用代码", "uscc"),
    ("统一社会信用代码（注册号）", "uscc"), ("法定代表人（负责人）", "legal_rep"), ("住所（经营场所）", "address"),
    ("登记机关", "registration_authority"), ("管辖单位", "jurisdiction"), ("登记状态", "status"),
    ("信用风险分类结果", "credit_class"), ("分类结果", "credit_class"),
])
def test_issue_headers_are_recognised(header, field):
    lookup = di._LOOKUP["targets"]
    assert lookup[di.normalize_header(header)] == field
