"""附件1_抽查情况记录表: one record form per target, read back with openpyxl and checked against the input data."""

from __future__ import annotations

import dataclasses
import re
import zipfile
from io import BytesIO

import pytest
from openpyxl import load_workbook

from bot.rules.codes import CodeSet
from reports.data import FollowUpInfo, ItemResult
from reports.record_forms import build_record_forms
from reports.styles import safe_text
from bot.devtools.synthetic_data import synthetic_report
from tests.xlsxcheck import check_xlsx

PROBLEM_CODES = {2, 3, 4, 5, 6, 8, 10}  # SPEC §6.10, the record form's (the synthetic report's default set)
CUSTOM_CODES = {1: "符合要求", 2: "基本符合", 3: "不符合要求", 8: "发现问题待后续处理"}
CUSTOM_SET = CodeSet(labels=CUSTOM_CODES, problems=frozenset({2, 3, 8}), follow_up=8, clean=1)


def _load(report):
    data = build_record_forms(report)
    check_xlsx(data)
    return data, load_workbook(BytesIO(data))


@pytest.fixture(scope="module")
def built():
    report = synthetic_report(24, (3, 3, 2, 2), entered=0.7)
    data, wb = _load(report)
    return report, data, wb


def _row_of(ws, label: str) -> int:
    rows = [c.row for c in ws["A"] if c.value == label]
    assert len(rows) == 1, f"label {label!r} in column A: rows {rows}"
    return rows[0]


def _values(ws, row: int) -> list:
    return [ws.cell(row=row, column=c).value for c in range(1, 6)]


def _merged(ws) -> set[str]:
    return {str(r) for r in ws.merged_cells.ranges}


def _item_rows(ws) -> list[tuple[str, str, object]]:
    """(department, item, code) for each item row, the department carried down its merged cell."""
    out = []
    dept = None
    for r in range(_row_of(ws, "检查单位") + 1, _row_of(ws, "处理意见")):
        a, b, _, _, e = _values(ws, r)
        if a is not None:
            dept = a
        out.append((dept, b, e))
    return out


def test_one_sheet_per_target_in_order_with_short_unique_titles(built):
    report, _, wb = built
    assert len(wb.sheetnames) == len(report.targets)
    assert len(set(wb.sheetnames)) == len(wb.sheetnames)
    for seq, (ws, target) in enumerate(zip(wb.worksheets, report.targets), 1):
        assert ws.title == f"{seq}_{target.name}"[:31]
        assert ws["C" + str(_row_of(ws, "检查对象"))].value == safe_text(target.name)
    assert wb.worksheets[0]["A1"].value == "互联网上网服务营业场所跨部门联合抽查情况记录表"
    assert report.number in wb.worksheets[0]["A2"].value


def test_long_and_odd_names_give_valid_unique_tab_names():
    report = synthetic_report(4, 1)
    long = "西华县" + "很长的名称" * 10
    report.targets = [dataclasses.replace(report.targets[0], name=long),
                      dataclasses.replace(report.targets[1], name=long),
                      dataclasses.replace(report.targets[2], name="网吧[一]:*?/\\" + "x" * 17 + "'"),
                      dataclasses.replace(report.targets[3], name="电竞🎮" * 12)]
    _, wb = _load(report)  # check_xlsx: ≤ 31 UTF-16 units, no forbidden character, unique ignoring case
    assert all(len(t) <= 31 for t in wb.sheetnames)
    assert wb.sheetnames[3].startswith("4_电竞🎮电竞🎮")
    assert wb.sheetnames[0].startswith("1_西华县很长的名称") and wb.sheetnames[1].startswith("2_西华县很长的名称")
    assert not wb.sheetnames[2].endswith("'") and "[" not in wb.sheetnames[2]


def test_inspectors_block_lists_the_group_with_its_leader(built):
    report, _, wb = built
    for ws, target in zip(wb.worksheets, report.targets):
        head = _row_of(ws, "执法检查人员")
        assert _values(ws, head)[1:] == ["姓名", "单位", "执法证号", "职务"]
        rows = [_values(ws, head + 1 + k)[1:] for k in range(len(target.inspectors))]
        assert rows == [[p.name, p.department, p.cert_no, "组长" if p.is_leader else "组员"]
                        for p in target.inspectors]
        assert f"A{head}:A{head + len(target.inspectors)}" in _merged(ws)
        assert ws.cell(row=head + 1 + len(target.inspectors), column=1).value == "检查对象"


def test_target_block(built):
    report, _, wb = built
    for ws, target in zip(wb.worksheets, report.targets):
        r = _row_of(ws, "检查对象")
        assert _values(ws, r) == ["检查对象", "名称", safe_text(target.name), "统一社会信用代码/注册号", target.uscc]
        assert _values(ws, r + 1) == [None, "法定代表人/负责人", target.legal_rep, "地址", target.address]
        assert f"A{r}:A{r + 1}" in _merged(ws)


def test_target_without_address_shows_unregistered_with_room_to_write():
    report = synthetic_report(2, 1)
    report.targets[0] = dataclasses.replace(report.targets[0], address="")
    _, wb = _load(report)
    ws, other = wb.worksheets
    r = _row_of(ws, "检查对象")
    assert _values(ws, r + 1) == [None, "法定代表人/负责人", report.targets[0].legal_rep, "地址", "未登记"]
    cell = ws.cell(row=r + 1, column=5)
    assert cell.alignment.vertical == "top" and cell.border.bottom.style  # text at the top, the blank below it
    assert ws.row_dimensions[r + 1].height >= 48  # two written lines under 未登记
    assert _values(ws, r + 2)[0] == "检查单位"  # no 登记机关 row when the directory has neither
    assert f"A{r}:A{r + 1}" in _merged(ws)
    # a target with its address keeps the plain row
    r2 = _row_of(other, "检查对象")
    assert _values(other, r2 + 1)[4] == report.targets[1].address
    assert other.row_dimensions[r2 + 1].height < 48


def test_registration_authority_and_jurisdiction_get_their_own_row_when_present():
    report = synthetic_report(3, 1)
    t0, t1, t2 = report.targets
    report.targets = [
        dataclasses.replace(t0, registration_authority="西华县市场监督管理局", jurisdiction="西华县市场监督管理局城关所"),
        dataclasses.replace(t1, jurisdiction="西华县市场监督管理局址坊所", address=""),
        t2]
    _, wb = _load(report)
    ws = wb.worksheets[0]
    r = _row_of(ws, "检查对象")
    assert _values(ws, r + 1)[3:] == ["地址", t0.address]
    assert _values(ws, r + 2) == [None, "登记机关", "西华县市场监督管理局", "管辖单位", "西华县市场监督管理局城关所"]
    assert f"A{r}:A{r + 2}" in _merged(ws)
    assert _values(ws, r + 3)[0] == "检查单位"
    ws = wb.worksheets[1]  # only 管辖单位, and no address
    r = _row_of(ws, "检查对象")
    assert _values(ws, r + 1)[3:] == ["地址", "未登记"]
    assert _values(ws, r + 2) == [None, "登记机关", None, "管辖单位", "西华县市场监督管理局址坊所"]
    assert ws.cell(row=r + 2, column=3).border.left.style  # the blank 登记机关 cell keeps its borders
    assert f"A{r}:A{r + 2}" in _merged(ws)
    ws = wb.worksheets[2]  # neither: the seed's layout
    r = _row_of(ws, "检查对象")
    assert _values(ws, r + 2)[0] == "检查单位"
    assert "登记机关" not in [c.value for c in ws["B"]]


def test_each_item_code_beside_its_item_and_department(built):
    report, _, wb = built
    for ws, target in zip(wb.worksheets, report.targets):
        expected = [(d.department, i.item, i.code) for d in target.departments for i in d.items]
        assert _item_rows(ws) == expected
        header = _row_of(ws, "检查单位")
        assert _values(ws, header) == ["检查单位", "检查事项", None, None, "检查结果"]
        merged = _merged(ws)
        r = header + 1
        for dept in target.departments:
            n = len(dept.items)
            assert f"A{r}:A{r + n - 1}" in merged
            assert all(f"B{k}:D{k}" in merged for k in range(r, r + n))
            r += n


def test_not_submitted_department_shows_blank_codes_and_is_named_in_remarks(built):
    report, _, wb = built
    checked = 0
    for ws, target in zip(wb.worksheets, report.targets):
        pending = [d for d in target.departments if not d.submitted]
        if not pending:
            continue
        rows = _item_rows(ws)
        for dept in pending:
            assert [code for name, _, code in rows if name == dept.department] == [None] * len(dept.items)
        remarks = ws.cell(row=_row_of(ws, "备注"), column=2).value
        assert "尚未提交结果：" + "、".join(d.label for d in pending) in remarks
        checked += 1
    assert checked >= 3  # the fixture has targets with departments pending


def test_handling_opinion_lists_problems_notes_and_follow_up_measures(built):
    report, _, wb = built
    seen_problem = seen_closed = seen_open = 0
    for ws, target in zip(wb.worksheets, report.targets):
        opinion = ws.cell(row=_row_of(ws, "处理意见"), column=2).value
        remarks = ws.cell(row=_row_of(ws, "备注"), column=2).value or ""
        problems = [(d, i) for d in target.departments for i in d.items if i.code in PROBLEM_CODES]
        for dept, item in problems:
            line = f"{dept.label}「{item.item}」{item.code}（{report.codes[item.code]}）：{item.note}"
            assert line in opinion
            seen_problem += 1
            if item.code == 8:
                fu = item.follow_up
                if fu.state == "closed":
                    assert "处理措施：责令改正、行政处罚（罚款2000.00元）" in opinion
                    assert f"「{item.item}」后续处理已完结（{fu.closed_on.isoformat()}）" in remarks
                    seen_closed += 1
                else:
                    assert f"「{item.item}」后续处理未完结" in remarks
                    seen_open += 1
        if not problems:
            complete = all(i.code is not None for d in target.departments for i in d.items)
            assert opinion == ("未发现问题" if complete else None)
        elif len(problems) > 1:
            assert opinion.startswith("1. ")
    assert seen_problem and seen_closed and seen_open


def test_opinion_is_no_problem_when_all_clear_and_blank_when_nothing_entered():
    report = synthetic_report(2, 2)
    clear, empty = report.targets
    clear = dataclasses.replace(clear, departments=tuple(
        dataclasses.replace(d, submitted=True, items=tuple(dataclasses.replace(i, code=1, note=None, follow_up=None)
                                                           for i in d.items)) for d in clear.departments))
    empty = dataclasses.replace(empty, departments=tuple(
        dataclasses.replace(d, submitted=False, items=tuple(dataclasses.replace(i, code=None, note=None,
                                                                                follow_up=None) for i in d.items))
        for d in empty.departments))
    # an optional note on a code-7 item belongs in 备注, not in 处理意见
    first = clear.departments[0]
    noted = dataclasses.replace(first, items=(dataclasses.replace(first.items[0], code=7, note="已停业"),
                                              *first.items[1:]))
    clear = dataclasses.replace(clear, departments=(noted, *clear.departments[1:]))
    report.targets = [clear, empty]
    _, wb = _load(report)
    ws_clear, ws_empty = wb.worksheets
    assert ws_clear.cell(row=_row_of(ws_clear, "处理意见"), column=2).value == "未发现问题"
    assert ws_clear.cell(row=_row_of(ws_clear, "备注"), column=2).value == f"{first.label}「{first.items[0].item}」：已停业"
    assert ws_empty.cell(row=_row_of(ws_empty, "处理意见"), column=2).value is None
    assert [code for _, _, code in _item_rows(ws_empty)] == [None] * 8
    assert ws_empty.cell(row=_row_of(ws_empty, "备注"), column=2).value == "尚未提交结果：" + "、".join(
        d.label for d in empty.departments)


def test_signature_lines_and_default_code_legend(built):
    report, _, wb = built
    ws = wb.worksheets[0]
    texts = [v for row in ws.iter_rows(min_row=_row_of(ws, "备注") + 1, values_only=True) for v in row if v]
    assert "检查对象（签字/盖章）：" in texts and "执法检查人员（签字/盖章）：" in texts
    assert texts.count("年　　月　　日") == 2
    legend = texts[-1]
    assert legend.startswith("说明：（1）检查结果栏填写相应编号：1. 未发现问题 2. 未按规定公示应当公示的信息 ")
    assert "8. 发现问题待后续处理 9. 合格 10. 不合格" in legend
    assert "（2）备注栏可填写" in legend
    assert f"A{ws.max_row}:E{ws.max_row}" in _merged(ws)


def test_custom_code_set_in_legend_and_opinion():
    report = synthetic_report(6, 2, codes=CUSTOM_SET)
    _, wb = _load(report)
    for ws, target in zip(wb.worksheets, report.targets):
        legend = ws.cell(row=ws.max_row, column=1).value
        assert legend.startswith("说明：（1）检查结果栏填写相应编号：1. 符合要求 2. 基本符合 3. 不符合要求 8. 发现问题待后续处理\n")
        assert "未发现问题" not in legend and "10." not in legend
        assert [code for _, _, code in _item_rows(ws)] == [i.code for d in target.departments for i in d.items]
        opinion = ws.cell(row=_row_of(ws, "处理意见"), column=2).value or ""
        for d in target.departments:
            for i in d.items:
                if i.code in PROBLEM_CODES:
                    assert f"「{i.item}」{i.code}（{CUSTOM_CODES[i.code]}）" in opinion


def test_formula_looking_text_is_stored_as_text():
    report = synthetic_report(2, 1)
    t = report.targets[0]
    p = t.inspectors[0]
    d = t.departments[0]
    report.targets[0] = dataclasses.replace(
        t, name="+西华县某某网吧", legal_rep="=cmd|' /C calc'!A0", address="@SUM(1+1)",
        inspectors=(dataclasses.replace(p, name="-张三"), *t.inspectors[1:]),
        departments=(dataclasses.replace(d, items=(ItemResult(item="=HYPERLINK(\"http://x\")", content=None, code=1),)),
                     *t.departments[1:]))
    data, wb = _load(report)
    ws = wb.worksheets[0]
    r = _row_of(ws, "检查对象")
    cells = [ws.cell(row=r, column=3), ws.cell(row=r + 1, column=3), ws.cell(row=r + 1, column=5),
             ws.cell(row=_row_of(ws, "执法检查人员") + 1, column=2), ws.cell(row=_row_of(ws, "检查单位") + 1, column=2)]
    originals = ["+西华县某某网吧", "=cmd|' /C calc'!A0", "@SUM(1+1)", "-张三", "=HYPERLINK(\"http://x\")"]
    for cell, original in zip(cells, originals):
        assert cell.data_type == "s"
        assert cell.value == "'" + original
    with zipfile.ZipFile(BytesIO(data)) as zf:
        assert not any(b"<f>" in zf.read(n) or b"<f " in zf.read(n) for n in zf.namelist() if "worksheets" in n)


def test_control_characters_are_dropped():
    report = synthetic_report(1, 1)
    report.targets[0] = dataclasses.replace(report.targets[0], name="某某\x07网吧\x00", address="人民路\x1b1号")
    _, wb = _load(report)
    ws = wb.worksheets[0]
    r = _row_of(ws, "检查对象")
    assert ws.cell(row=r, column=3).value == "某某网吧"
    assert ws.cell(row=r + 1, column=5).value == "人民路1号"
    assert ws.title == "1_某某网吧"


def test_a_very_long_form_runs_onto_more_pages_instead_of_shrinking():
    report = synthetic_report(1, (40, 40, 0, 0))
    _, wb = _load(report)
    ws = wb.worksheets[0]
    assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0


def test_printable_on_a4_fit_to_width(built):
    report, _, wb = built
    for ws in wb.worksheets[:3]:
        assert int(ws.page_setup.paperSize) == 9  # A4
        assert ws.page_setup.orientation == "portrait"
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 1  # one signed page per target
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True
        assert ws.print_options.horizontalCentered is True
        assert ws.print_area == f"'{ws.title}'!$A$1:$E${ws.max_row}"
        assert 0.3 <= ws.page_margins.left <= 1.0
        assert sum(ws.column_dimensions[c].width for c in "ABCDE") > 60
        assert "A1:E1" in _merged(ws)


def test_table_cells_have_borders_cjk_font_and_wrap(built):
    _, _, wb = built
    ws = wb.worksheets[0]
    title = ws["A1"]
    assert title.font.name == "宋体" and title.font.b
    r = _row_of(ws, "检查对象")
    for col in range(1, 6):
        cell = ws.cell(row=r, column=col)
        assert cell.border.left.style == "thin" and cell.border.bottom.style == "thin"
        assert cell.font.name == "宋体"
    opinion = ws.cell(row=_row_of(ws, "处理意见"), column=2)
    assert opinion.alignment.wrap_text and opinion.alignment.vertical == "top"
    # empty cells inside a merged range keep their borders, so the printed table has its right edge
    assert ws.cell(row=_row_of(ws, "处理意见"), column=5).border.right.style == "thin"


def test_row_height_grows_with_long_text():
    report = synthetic_report(1, 1)
    t = report.targets[0]
    d = t.departments[0]
    long_note = "现场检查发现未按规定悬挂许可证，已当场责令改正。" * 12
    item = dataclasses.replace(d.items[0], code=5, note=long_note, follow_up=None)
    report.targets[0] = dataclasses.replace(t, departments=(dataclasses.replace(d, items=(item,)), *t.departments[1:]))
    _, wb = _load(report)
    ws = wb.worksheets[0]
    r = _row_of(ws, "处理意见")
    assert long_note in ws.cell(row=r, column=2).value
    assert ws.row_dimensions[r].height >= 14.5 * 6  # ~ 600 columns of text in ~78: at least 6 lines


def test_follow_up_without_record_and_fine_without_penalty_measure():
    report = synthetic_report(1, 1)
    t = report.targets[0]
    d1, d2 = t.departments[:2]
    a = dataclasses.replace(d1.items[0], code=8, note="无证经营", follow_up=None)
    b = dataclasses.replace(d2.items[0], code=8, note="超时经营",
                            follow_up=FollowUpInfo(state="open", measures=("立案调查",), penalty_amount="500.00",
                                                   note="待听证"))
    report.targets[0] = dataclasses.replace(t, departments=(dataclasses.replace(d1, items=(a,)),
                                                            dataclasses.replace(d2, items=(b,)), *t.departments[2:]))
    _, wb = _load(report)
    ws = wb.worksheets[0]
    opinion = ws.cell(row=_row_of(ws, "处理意见"), column=2).value
    remarks = ws.cell(row=_row_of(ws, "备注"), column=2).value
    assert f"{d1.label}「{a.item}」8（发现问题待后续处理）：无证经营" in opinion
    assert "处理措施：立案调查、罚款500.00元" in opinion
    assert f"{d1.label}「{a.item}」后续处理未登记" in remarks
    assert f"{d2.label}「{b.item}」后续处理未完结：待听证" in remarks


def test_no_targets_still_gives_a_valid_workbook():
    report = synthetic_report(1, 1)
    report.targets = []
    _, wb = _load(report)
    assert len(wb.worksheets) == 1
    assert "尚无检查对象" in wb.worksheets[0]["A2"].value


def test_same_report_same_bytes(built):
    report, data, _ = built
    assert build_record_forms(report) == data


def test_xlsx_check_catches_broken_packages(built):
    _, data, _ = built

    def rewrite(change) -> bytes:
        out = BytesIO()
        with zipfile.ZipFile(BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
            for info in src.infolist():
                body = change(info.filename, src.read(info.filename))
                if body is not None:
                    dst.writestr(info.filename, body)
        return out.getvalue()

    broken = {
        "unparsable sheet": rewrite(lambda n, b: b[:-20] if n == "xl/worksheets/sheet2.xml" else b),
        "sheet missing from content types": rewrite(
            lambda n, b: re.sub(rb'<Override PartName="/xl/worksheets/sheet3.xml"[^>]*/>', b"", b)
            if n == "[Content_Types].xml" else b),
        "overlapping merges": rewrite(
            lambda n, b: b.replace(b'<mergeCell ref="A1:E1"/>', b'<mergeCell ref="A1:E2"/>')
            if n == "xl/worksheets/sheet1.xml" else b),
        "missing part": rewrite(lambda n, b: None if n == "xl/worksheets/sheet4.xml" else b),

        "not a zip": b"PK\x03\x04 nothing",
    }
    for what, bad in broken.items():
        with pytest.raises(AssertionError):
            check_xlsx(bad)
            pytest.fail(f"check_xlsx accepted a package with {what}")

    def renamed(name: str) -> bytes:  # the second sheet renamed in workbook.xml
        return rewrite(lambda n, b: re.sub(rb'<sheet name="[^"]*" sheetId="2"',
                                            f'<sheet name="{name}" sheetId="2"'.encode(), b)
                       if n == "xl/workbook.xml" else b)

    for name, message in (("网" * 32, "is not 1–31 characters"), ("", "is not 1–31 characters"),
                          ("a[b]", "character Excel forbids"), ("'x", "begins or ends with")):
        with pytest.raises(AssertionError, match=message):
            check_xlsx(renamed(name))
