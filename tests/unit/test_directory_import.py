"""Directory import (SPEC §3): recognised by header, validated per cell, all or nothing, upsert counts."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import string
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

import bot.services.directory_import as di
from bot.services.directory_import import import_workbook
from bot.devtools.sample_data import generate_uscc, sample_sheets, sample_workbook, write_workbook
from bot.texts import CATALOG
from bot.texts import directory as directory_texts
from models import AuditEntry, Conflict, Department, ImportRecord, Item, Person, Target

TODAY = dt.date(2024, 6, 1)
TABLES = (Department, Item, Person, Target, Conflict, ImportRecord, AuditEntry)
SAMPLE_COUNTS = {"departments": 4, "items": 9, "people": 32, "targets": 10, "conflicts": 3}

# Columns of the sample sheets (SPEC §3 order).
P_NAME, P_DEPT, P_ROLES, P_CERT, P_EXPIRY, P_PHONE, P_STATUS = range(7)
T_NAME, T_USCC, T_REP, T_ADDR, T_INDUSTRY, T_CREDIT, T_PHONE, T_STATUS = range(8)


# ---------------------------------------------------------------------------------------------------------
# helpers

def sheets(n_targets: int = 10) -> dict[str, list[list]]:
    return sample_sheets(n_targets)


def run(sessions, data: bytes, **kw) -> di.ImportOutcome:
    """One unit of work, committed even on failure: the service itself must have written nothing."""
    kw.setdefault("today", TODAY)
    with sessions.begin() as s:
        return import_workbook(s, data, actor="test", filename="名录.xlsx", **kw)


def table_counts(sessions) -> dict[str, int]:
    with sessions.begin() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) for m in TABLES}


def assert_nothing_written(sessions) -> None:
    assert set(table_counts(sessions).values()) == {0}


def inspectors(book: dict[str, list[list]]) -> list[int]:
    """Indexes of plain inspectors in the 人员名录 rows that no 回避关系 refers to (safe to alter)."""
    referenced = {r[0] for r in book["回避关系"][1:]}
    return [i for i, r in enumerate(book["人员名录"])
            if i and r[P_ROLES] == "检查人员" and r[P_CERT] not in referenced]


def first_inspector(book: dict[str, list[list]]) -> int:
    return inspectors(book)[0]


def free_targets(book: dict[str, list[list]]) -> list[int]:
    """Indexes of 检查对象 rows that no 回避关系 refers to (their codes are safe to alter)."""
    referenced = {r[1] for r in book["回避关系"][1:]}
    return [i for i, r in enumerate(book["检查对象"]) if i and r[T_USCC] not in referenced]


def annotated_notes(outcome: di.ImportOutcome, title: str) -> dict[int, str]:
    """Excel row → text of the 错误说明 column of that sheet in the annotated workbook."""
    wb = openpyxl.load_workbook(io.BytesIO(outcome.annotated))
    ws = wb[title]
    header_row = next(r for r in range(1, 11) if any(c.value == "错误说明" for c in ws[r]))
    col = next(c.column for c in ws[header_row] if c.value == "错误说明")
    return {r: ws.cell(r, col).value for r in range(header_row + 1, ws.max_row + 1) if ws.cell(r, col).value}


def rows_of(counts: dict[str, dict[str, int]], key: str) -> dict[str, int]:
    return {kind: c[key] for kind, c in counts.items()}


# ---------------------------------------------------------------------------------------------------------
# valid imports and counts

def test_sample_imports_with_counts(sessions):
    out = run(sessions, sample_workbook(10))
    assert out.ok, out.summary()
    assert rows_of(out.counts, "added") == SAMPLE_COUNTS
    assert not out.warnings
    assert "导入完成" in out.summary() and "检查对象：新增 10，更新 0，未变 0" in out.summary()
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Target)) == 10
        hou = s.scalars(select(Person).where(Person.name == "侯奇")).one()
        assert hou.roles == "leader,dept_head" and hou.natural_key == "cert:411622010099"
        assert hou.cert_expiry == dt.date(2029, 12, 31) and hou.department.short_name == "西文旅"
        ma = s.scalars(select(Person).where(Person.name == "马勇")).one()
        assert ma.cert_no is None and ma.natural_key == f"ndp:西华县文化广电和旅游局|马勇|{ma.phone}"
        coord = s.scalars(select(Person).where(Person.roles == "coordinator,inspector")).one()
        assert coord.department.name == "西华县文化广电和旅游局"
        item = s.scalars(select(Item).where(Item.name == "主体注册登记情况")).one()
        assert item.department.name == "西华县市场监督管理局" and item.basis
        assert all(not t.is_regno for t in s.scalars(select(Target)))


def test_reimport_is_all_unchanged(sessions):
    data = sample_workbook(10)
    assert run(sessions, data).ok
    again = run(sessions, data)
    assert again.ok
    assert rows_of(again.counts, "unchanged") == SAMPLE_COUNTS
    assert set(rows_of(again.counts, "added").values()) == {0}
    assert set(rows_of(again.counts, "updated").values()) == {0}


def test_one_changed_row_is_one_update(sessions):
    book = sheets()
    assert run(sessions, write_workbook(book)).ok
    book["检查对象"][3][T_ADDR] = "西华县城关镇人民路 1 号"
    book["人员名录"][2][P_STATUS] = "停用"
    out = run(sessions, write_workbook(book))
    assert out.ok
    assert out.counts["targets"] == {"added": 0, "updated": 1, "unchanged": 9}
    assert out.counts["people"] == {"added": 0, "updated": 1, "unchanged": 31}
    with sessions.begin() as s:
        target = s.scalars(select(Target).where(Target.uscc == book["检查对象"][3][T_USCC])).one()
        assert target.address == "西华县城关镇人民路 1 号"
        assert s.scalars(select(Person).where(Person.name == book["人员名录"][2][P_NAME])).one().active is False


def test_absent_optional_column_keeps_stored_values(sessions):
    book = sheets()
    assert run(sessions, write_workbook(book)).ok
    # The same targets without the 信用风险分类 column: nothing changes, the classes stay.
    targets = [[v for i, v in enumerate(row) if i != T_CREDIT] for row in book["检查对象"]]
    out = run(sessions, write_workbook({"对象": targets}))
    assert out.ok and out.counts == {"targets": {"added": 0, "updated": 0, "unchanged": 10}}
    with sessions.begin() as s:
        stored = dict(s.execute(select(Target.uscc, Target.credit_class)).all())
    assert stored == {row[T_USCC]: row[T_CREDIT] for row in book["检查对象"][1:]}


def test_references_resolve_against_the_database(sessions):
    book = sheets()
    assert run(sessions, write_workbook({"单位": book["单位"]})).ok
    # People and items of known departments (one named by its 简称), then conflicts against stored rows.
    book["抽查事项"][1][0] = "西文旅"
    out = run(sessions, write_workbook({"人员": book["人员名录"], "事项": book["抽查事项"],
                                        "对象": book["检查对象"]}))
    assert out.ok, out.summary()
    out = run(sessions, write_workbook({"回避": book["回避关系"]}))
    assert out.ok and out.counts == {"conflicts": {"added": 3, "updated": 0, "unchanged": 0}}
    with sessions.begin() as s:
        item = s.scalars(select(Item).where(Item.name == book["抽查事项"][1][1])).one()
        assert item.department.name == "西华县文化广电和旅游局"


def test_person_stored_without_certificate_key_is_matched_by_certificate(sessions):
    book = sheets()
    assert run(sessions, write_workbook({"单位": book["单位"]})).ok
    row = book["人员名录"][first_inspector(book)]
    with sessions.begin() as s:
        dept = s.scalars(select(Department).where(Department.name == row[P_DEPT])).one()
        # e.g. entered by name first and given the certificate later in chat
        s.add(Person(natural_key=f"ndp:{dept.name}|{row[P_NAME]}|", name=row[P_NAME], department_id=dept.id,
                     roles="inspector", cert_no=row[P_CERT], cert_expiry=row[P_EXPIRY]))
    out = run(sessions, write_workbook({"人员": book["人员名录"]}))
    assert out.ok, out.summary()
    assert out.counts["people"] == {"added": 31, "updated": 1, "unchanged": 0}
    with sessions.begin() as s:
        person = s.scalars(select(Person).where(Person.cert_no == row[P_CERT])).one()
        assert person.natural_key == f"cert:{row[P_CERT]}" and person.phone == row[P_PHONE]


def test_too_long_values_are_errors_not_database_failures(sessions):
    book = sheets()
    book["检查对象"][2][T_NAME] = "网" * 201
    book["人员名录"][2][P_PHONE] = "1" * 40
    out = run(sessions, write_workbook(book))
    assert not out.ok
    assert [(e.sheet, e.row, e.column, e.reason) for e in out.errors] == [
        ("人员名录", 3, "手机号", "超过 32 个字符"), ("检查对象", 3, "名称", "超过 200 个字符")]


def test_header_recognition_is_independent_of_sheet_name_and_order(sessions):
    book = sheets()
    people = book["人员名录"]
    people[0] = [" 姓名 *", "单位＊", "角色(必填)", "执法证号", "执法证\n有效期至", "手机号", "状态"]
    targets = book["检查对象"]
    targets[0] = ["名称*", "统一社会信用代码（注册号）", "法定代表人／负责人", "地址", "行业类别", "信用风险分类",
                  "联系电话", "状态"]
    renamed = {
        "Sheet1": [["2024年检查对象名录"], [], *targets],  # a title row above the header
        "Sheet2": people,
        "Sheet3": book["回避关系"],
        "Sheet4": book["抽查事项"],
        "Sheet5": book["单位"],
        "说明": [["本工作簿用于导入"]],
    }
    out = run(sessions, write_workbook(renamed))
    assert out.ok, out.summary()
    assert rows_of(out.counts, "added") == SAMPLE_COUNTS
    assert [w.sheet for w in out.warnings] == ["说明"]  # the unrecognised sheet is named, not an error


def test_phone_typed_as_number_is_text(sessions):
    book = sheets()
    book["人员名录"][1][P_PHONE] = 13800000000
    book["检查对象"][1][T_PHONE] = 13900000000.0
    cert_row = first_inspector(book)
    book["人员名录"][cert_row][P_CERT] = 411622019999  # a certificate number typed as a number
    assert run(sessions, write_workbook(book)).ok
    with sessions.begin() as s:
        assert s.scalars(select(Person).where(Person.name == book["人员名录"][1][P_NAME])).one().phone \
            == "13800000000"
        assert s.scalars(select(Target).where(Target.uscc == book["检查对象"][1][T_USCC])).one().phone \
            == "13900000000"
        assert s.scalars(select(Person).where(Person.cert_no == "411622019999")).one().natural_key \
            == "cert:411622019999"


def test_regno_of_15_digits_is_accepted_and_marked(sessions):
    book = sheets()
    a, b = free_targets(book)[:2]
    book["检查对象"][a][T_USCC] = 411622600012345  # an old 注册号, typed as a number
    book["检查对象"][b][T_USCC] = " " + generate_uscc(99).lower() + " "  # spaces and lower case are tidied
    assert run(sessions, write_workbook(book)).ok
    with sessions.begin() as s:
        marked = dict(s.execute(select(Target.uscc, Target.is_regno)).all())
    assert marked["411622600012345"] is True
    assert marked[generate_uscc(99)] is False


def test_text_dates_and_role_separators(sessions):
    book = sheets()
    people = book["人员名录"]
    rows = inspectors(book)[:4]
    people[rows[0]][P_EXPIRY] = "2029/12/31"
    people[rows[1]][P_EXPIRY] = "2029-06-30"
    people[rows[1]][P_ROLES] = "检查人员，联络员"
    people[rows[2]][P_ROLES] = "检查人员、管理员;领导小组"
    people[rows[3]][P_STATUS] = "停用"
    assert run(sessions, write_workbook(book)).ok
    with sessions.begin() as s:
        def person(i):
            return s.scalars(select(Person).where(Person.cert_no == people[i][P_CERT])).one()
        assert person(rows[0]).cert_expiry == dt.date(2029, 12, 31)
        assert person(rows[1]).roles == "coordinator,inspector"
        assert person(rows[2]).roles == "admin,leader,inspector"
        assert person(rows[3]).active is False


def test_expired_certificate_is_a_warning_and_the_person_is_imported(sessions):
    book = sheets()
    row = first_inspector(book)
    book["人员名录"][row][P_EXPIRY] = dt.date(2023, 12, 31)
    out = run(sessions, write_workbook(book))
    assert out.ok and not out.errors
    [warning] = out.warnings
    assert (warning.sheet, warning.row, warning.column) == ("人员名录", row + 1, "执法证有效期至")
    assert "2023-12-31" in warning.reason and "不会被抽取" in warning.reason
    assert "提示 1 条" in out.summary() and "人员名录 第 %d 行" % (row + 1) in out.summary()
    with sessions.begin() as s:
        person = s.scalars(select(Person).where(Person.cert_no == book["人员名录"][row][P_CERT])).one()
        assert person.cert_expiry == dt.date(2023, 12, 31)


# ---------------------------------------------------------------------------------------------------------
# row errors: nothing written, errors precise, annotated workbook sent back

def test_bad_check_character_rejects_everything_and_annotates_the_row(sessions):
    book = sheets()
    i = free_targets(book)[1]
    row = i + 1  # as Excel numbers it
    good = book["检查对象"][i][T_USCC]
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    book["检查对象"][i][T_USCC] = bad
    out = run(sessions, write_workbook(book))
    assert not out.ok and out.fatal is None
    assert_nothing_written(sessions)
    [err] = out.errors
    assert (err.sheet, err.row, err.column, err.col) == ("检查对象", row, "统一社会信用代码", 2)
    assert "校验位" in err.reason and bad in err.reason
    summary = out.summary()
    assert summary.startswith("发现 1 处错误，未写入任何数据。已将标注错误的工作簿发回。")
    assert f"检查对象 第 {row} 行 统一社会信用代码：" in summary
    notes = annotated_notes(out, "检查对象")
    assert list(notes) == [row] and "统一社会信用代码" in notes[row] and "校验位" in notes[row]
    ws = openpyxl.load_workbook(io.BytesIO(out.annotated))["检查对象"]
    assert ws.cell(row, 2).fill.fgColor.rgb.endswith("FFC7CE") and ws.cell(row, 2).value == bad
    assert ws.cell(row + 1, 2).fill.fill_type is None
    assert f"row {row}" in out.summary("en")  # rendered again in English


def test_malformed_code_is_a_format_error(sessions):
    book = sheets()
    a, b = free_targets(book)[:2]
    book["检查对象"][a][T_USCC] = "ABC123"
    book["检查对象"][b][T_USCC] = "9141162" + "2" * 10 + "I"  # 18 characters, but I is not in the alphabet
    out = run(sessions, write_workbook(book))
    assert not out.ok
    assert [(e.row, e.key) for e in out.errors] == [(a + 1, "import.err.uscc_format"),
                                                    (b + 1, "import.err.uscc_format")]
    assert "格式不正确" in out.errors[0].reason


def test_duplicates_within_the_file(sessions):
    book = sheets()
    book["检查对象"].append(list(book["检查对象"][2]))
    people = book["人员名录"]
    twin = list(people[first_inspector(book)])
    twin[P_NAME] = "另一人"
    people.append(twin)
    book["抽查事项"].append(["西文旅", *book["抽查事项"][1][1:]])  # same item, department by 简称
    out = run(sessions, write_workbook(book))
    assert not out.ok
    assert_nothing_written(sessions)
    got = {(e.sheet, e.row, e.column): e.reason for e in out.errors}
    assert got == {
        ("抽查事项", len(book["抽查事项"]), "事项名称"): "与「抽查事项」第 2 行重复",
        ("人员名录", len(people), "执法证号"): f"与「人员名录」第 {first_inspector(book) + 1} 行重复",
        ("检查对象", len(book["检查对象"]), "统一社会信用代码"): "与「检查对象」第 3 行重复",
    }


def test_unknown_department(sessions):
    book = sheets()
    book["人员名录"][3][P_DEPT] = "西华县教育局"
    book["抽查事项"][2][0] = "西教育"
    out = run(sessions, write_workbook(book))
    assert not out.ok
    assert_nothing_written(sessions)
    assert [(e.sheet, e.row, e.column) for e in out.errors] == [("抽查事项", 3, "单位"), ("人员名录", 4, "单位")]
    assert "西华县教育局" in out.errors[1].reason and "不在系统中" in out.errors[1].reason


def test_inspector_needs_certificate_and_expiry(sessions):
    book = sheets()
    people = book["人员名录"]
    a, b = inspectors(book)[:2]
    people[a][P_CERT] = None
    people[b][P_EXPIRY] = None
    out = run(sessions, write_workbook(book))
    assert not out.ok
    got = [(e.row, e.column, e.reason) for e in out.errors]
    assert got == [(a + 1, "执法证号", "检查人员必须填写执法证号"), (b + 1, "执法证有效期至", "检查人员必须填写执法证有效期")]
    notes = annotated_notes(out, "人员名录")
    assert set(notes) == {a + 1, b + 1} and "执法证号" in notes[a + 1]


def test_invalid_values_are_named(sessions):
    book = sheets()
    people, targets = book["人员名录"], book["检查对象"]
    people[1][P_ROLES] = "领导小组,组长"
    people[2][P_STATUS] = "休假"
    people[first_inspector(book)][P_EXPIRY] = "31.12.2029"
    people[4][P_NAME] = None
    targets[1][T_CREDIT] = "E"
    targets[2][T_CREDIT] = "b"  # accepted as B
    targets[3][T_STATUS] = "倒闭"  # not a word of the registers (吊销 is: stored, never drawn)
    targets[4][T_INDUSTRY] = None
    out = run(sessions, write_workbook(book))
    assert not out.ok
    keys = sorted((e.sheet, e.row, e.key) for e in out.errors)
    assert keys == sorted([
        ("人员名录", 2, "import.err.role"), ("人员名录", 3, "import.err.person_status"),
        ("人员名录", first_inspector(book) + 1, "import.err.date"), ("人员名录", 5, "import.err.required"),
        ("检查对象", 2, "import.err.credit_class"), ("检查对象", 4, "import.err.target_status"),
        ("检查对象", 5, "import.err.required"),
    ])
    role_error = next(e for e in out.errors if e.key == "import.err.role")
    assert role_error.reason.startswith("角色「组长」无效")
    status_error = next(e for e in out.errors if e.key == "import.err.target_status")
    assert status_error.reason.startswith("状态「倒闭」无效") and "存续" in status_error.reason
    assert "吊销" in status_error.reason and "迁出" in status_error.reason


def test_conflict_with_unknown_certificate_or_target(sessions):
    book = sheets()
    book["回避关系"].append(["411622999999", book["检查对象"][1][T_USCC], "亲属关系"])
    book["回避关系"].append([book["人员名录"][first_inspector(book)][P_CERT], generate_uscc(777), ""])
    out = run(sessions, write_workbook(book))
    assert not out.ok
    assert_nothing_written(sessions)
    assert [(e.row, e.column, e.key) for e in out.errors] == [
        (5, "执法证号", "import.err.unknown_cert"), (6, "统一社会信用代码", "import.err.unknown_uscc")]
    assert "411622999999" in out.errors[0].reason


def test_many_errors_are_capped_in_the_message_but_all_annotated(sessions):
    book = sheets(20)
    for row in book["检查对象"][1:]:
        row[T_INDUSTRY] = None  # (a blank 地址 is allowed: platform lists often lack it)
    out = run(sessions, write_workbook(book))
    assert len(out.errors) == 20
    lines = out.summary().splitlines()
    assert len(lines) == 1 + di.LISTED_ISSUES + 1 and "另有 10 处错误" in lines[-1]
    assert set(annotated_notes(out, "检查对象")) == set(range(2, 22))


def test_big_file_is_annotated_by_streaming(sessions, monkeypatch):
    monkeypatch.setattr(di, "STREAM_ANNOTATE_ROWS", 5)
    book = sheets()
    i = free_targets(book)[-1]
    book["检查对象"][i][T_USCC] = "91411622MA00000000"
    out = run(sessions, write_workbook(book))
    assert not out.ok
    notes = annotated_notes(out, "检查对象")
    assert list(notes) == [i + 1] and "统一社会信用代码" in notes[i + 1]
    wb = openpyxl.load_workbook(io.BytesIO(out.annotated))
    assert wb.sheetnames == list(book)  # every sheet is copied
    assert wb["人员名录"].max_row == len(book["人员名录"])


def test_fixed_annotated_workbook_imports(sessions):
    book = sheets()
    i = free_targets(book)[0]
    book["检查对象"][i][T_USCC] = "bad"
    out = run(sessions, write_workbook(book))
    assert [e.row for e in out.errors] == [i + 1]
    wb = openpyxl.load_workbook(io.BytesIO(out.annotated))
    wb["检查对象"].cell(i + 1, T_USCC + 1).value = generate_uscc(500)
    buf = io.BytesIO()
    wb.save(buf)
    again = run(sessions, buf.getvalue())  # the 错误说明 column is ignored
    assert again.ok, again.summary()
    assert again.counts["targets"]["added"] == 10


# ---------------------------------------------------------------------------------------------------------
# file-level errors

def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("data, kw, phrase", [
    pytest.param(bytes(range(256)) * 8, {}, "不是 Excel 工作簿", id="random-bytes"),
    pytest.param("姓名,单位,角色\n张三,西华县公安局,检查人员\n".encode(), {}, "文本文件（如 CSV）", id="csv"),
    pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096), {}, "密码保护", id="ole2-encrypted"),
    pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512) + "Workbook".encode("utf-16-le") + bytes(512),
                 {}, "旧版 Excel（.xls）", id="xls"),
    pytest.param(None, {}, "已损坏", id="truncated-zip"),
    pytest.param(_zip({"word/document.xml": b"<w/>", "[Content_Types].xml": b"<x/>"}), {}, "不是 Excel 工作簿",
                 id="docx"),
    pytest.param(_zip({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<broken"}), {}, "已损坏",
                 id="broken-xml"),
    pytest.param(None, {"max_bytes": 1000}, "文件过大", id="oversized"),
    pytest.param(b"", {}, "文件是空的", id="empty"),
])
def test_file_level_errors(sessions, data, kw, phrase):
    if data is None:
        whole = sample_workbook(10)
        data = whole[: len(whole) // 2] if "max_bytes" not in kw else whole
    out = run(sessions, data, **kw)
    assert not out.ok and out.fatal and phrase in out.fatal, out.fatal
    assert out.summary() == out.fatal and out.annotated is None and not out.errors
    assert_nothing_written(sessions)


def test_oversized_is_refused_before_opening(monkeypatch, sessions):
    def boom(*a, **k):
        raise AssertionError("opened")
    monkeypatch.setattr(di.openpyxl, "load_workbook", boom)
    out = run(sessions, b"PK\x03\x04" + bytes(2000), max_bytes=1000)
    assert out.fatal.startswith("文件过大（2 KB），上限为 1 KB。")


def test_missing_required_column_is_fatal_and_named(sessions):
    book = sheets()
    book["人员名录"] = [[v for i, v in enumerate(row) if i != P_ROLES] for row in book["人员名录"]]
    out = run(sessions, write_workbook(book))
    assert not out.ok and "「人员名录」" in out.fatal and "角色" in out.fatal
    assert_nothing_written(sessions)


def test_workbook_without_a_recognisable_sheet(sessions):
    out = run(sessions, write_workbook({"Sheet1": [["编号", "备注"], [1, "x"]]}))
    assert not out.ok and "没有可识别的工作表" in out.fatal and "人员名录" in out.fatal
    assert_nothing_written(sessions)


def test_fatal_message_in_english(sessions):
    out = run(sessions, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), lang="en")
    assert "password-protected" in out.fatal and "密码" in out.summary("zh")


# ---------------------------------------------------------------------------------------------------------
# audit and import record

def test_audit_entry_and_import_record_after_success_only(sessions):
    data = sample_workbook(10)
    book = sheets()
    book["检查对象"][1][T_USCC] = "x"
    assert not run(sessions, write_workbook(book)).ok
    counts = table_counts(sessions)
    assert counts["imports"] == 0 and counts["audit_log"] == 0

    out = run(sessions, data)
    sha = hashlib.sha256(data).hexdigest()
    assert out.sha256 == sha
    with sessions.begin() as s:
        record = s.scalars(select(ImportRecord)).one()
        assert (record.actor, record.filename, record.sha256) == ("test", "名录.xlsx", sha)
        assert record.counts == out.counts
        entry = s.scalars(select(AuditEntry)).one()
        assert (entry.action, entry.subject, entry.actor) == ("import", "名录.xlsx", "test")
        assert json.loads(entry.data) == {"counts": out.counts, "sha256": sha}


def test_empty_workbook_is_accepted_and_writes_nothing(sessions):
    book = {title: rows[:1] for title, rows in sheets().items()}
    out = run(sessions, write_workbook(book))
    assert out.ok and out.empty
    assert rows_of(out.counts, "added") == dict.fromkeys(SAMPLE_COUNTS, 0)
    assert "没有数据行" in out.summary()
    assert_nothing_written(sessions)


# ---------------------------------------------------------------------------------------------------------
# texts

def _fields(s: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(s) if f}


def test_directory_texts_have_both_languages_with_same_placeholders():
    for key, entry in directory_texts.TEXTS.items():
        assert key.startswith(("import.", "template.")), key
        assert set(entry) == {"zh", "en"}, key
        assert _fields(entry["zh"]) == _fields(entry["en"]), key


def test_every_text_key_used_exists():
    root = Path(di.__file__).parent
    source = (root / "directory_import.py").read_text() + (root / "directory_template.py").read_text()
    used = set(re.findall(r"\"((?:import|template)\.[a-z_.]+)\"", source))
    used |= {c.note for s in di.SHEETS for c in s.columns if c.note}
    used |= {f"import.sheet.{s.kind}" for s in di.SHEETS}
    used = {k for k in used if not k.endswith(".")}
    assert used - set(CATALOG) == set()
