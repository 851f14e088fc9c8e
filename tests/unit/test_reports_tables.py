"""附件2 (statistics), 附件3 (summary), 公示 (publicity) and `build_all` (SPEC §8), read back with openpyxl.

Expectations are computed here from the input dataclasses, independently of the builders' own helpers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from io import BytesIO

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from reports import REPORT_FILES, build_all, file_stem, labels
from bot.rules.codes import DEFAULT_CODE_SET, CodeSet
from reports.data import DepartmentInfo
from reports.publicity import build_publicity
from reports.statistics import build_statistics
from reports.summary import build_summary
from reports.styles import append_rows, cjk_workbook
from bot.devtools.synthetic_data import synthetic_report

PROBLEM = {2, 3, 4, 5, 6, 8, 10}  # SPEC §6.10, spelled out again on purpose
PASS_FAIL = CodeSet(labels={1: "合格", 2: "不合格"}, problems=frozenset({2}), follow_up=None, clean=1)
ITEMS = (3, 3, 2, 2)


@pytest.fixture(scope="module")
def report():
    """Some departments not submitted (entered=0.6), so completion rates and 未录入 cells are exercised."""
    return synthetic_report(60, ITEMS, entered=0.6)


def load(data: bytes):
    return load_workbook(BytesIO(data))


def entered_codes(block) -> list[int]:
    return [i.code for i in block.items if i.code is not None] if block.submitted else []


def expected_result(block) -> str:
    if not block.submitted:
        return "未录入"
    return ",".join(str(c) for c in sorted(set(entered_codes(block))))


# --- 附件2 ---------------------------------------------------------------------------------------------------------

def stats_table(data: bytes):
    """(sheet, header names by column, {department or 合计: {header: value}}) of 附件2."""
    ws = load(data).active
    h1 = next(r for r in range(1, 20) if ws.cell(r, 1).value == "部门")
    names = {}
    for col in range(1, ws.max_column + 1):
        below, above = ws.cell(h1 + 1, col).value, ws.cell(h1, col).value
        names[col] = below if below is not None else above
    rows, r = {}, h1 + 2
    while ws.cell(r, 1).value not in (None, "") and not str(ws.cell(r, 1).value).startswith("说明"):
        rows[ws.cell(r, 1).value] = {names[c]: ws.cell(r, c).value for c in names}
        r += 1
    return ws, names, rows


def test_statistics_rows_count_every_item_result_of_each_department(report):
    _, names, rows = stats_table(build_statistics(report))
    assert [k for k in rows][:-1] == [d.name for d in report.departments]
    code_headers = [f"{c} {label}" for c, label in report.codes.items()]
    assert [names[c] for c in sorted(names)][7:7 + len(code_headers)] == code_headers
    rates = []
    for dept in report.departments:
        blocks = [b for t in report.targets for b in t.departments if b.department == dept.name]
        codes = [c for b in blocks for c in entered_codes(b)]
        follow = [i.follow_up for b in blocks if b.submitted for i in b.items if i.follow_up is not None]
        row = rows[dept.name]
        assert row["抽查事项数"] == len(dept.items)
        assert row["抽查对象数"] == len(report.targets)
        assert row["检查人员数"] == dept.inspectors
        assert row["应录入结果数"] == len(report.targets) * len(dept.items)
        assert row["已录入结果数"] == len(codes)
        assert row["完成率"] == pytest.approx(len(codes) / (len(report.targets) * len(dept.items)))
        for code, label in report.codes.items():
            assert row[f"{code} {label}"] == codes.count(code), (dept.name, code)
        assert row["发现问题对象数"] == sum(1 for b in blocks if set(entered_codes(b)) & PROBLEM)
        assert row["未完结"] == sum(1 for f in follow if f.state == "open")
        assert row["已完结"] == sum(1 for f in follow if f.state == "closed")
        rates.append(row["完成率"])
    assert min(rates) < 1.0  # the fixture really has missing results
    assert sum(rows[d.name]["未完结"] + rows[d.name]["已完结"] for d in report.departments) > 0


def test_statistics_total_row_is_the_column_sum_except_distinct_targets_and_the_rate(report):
    ws, names, rows = stats_table(build_statistics(report))
    total = rows["合计"]
    depts = [rows[d.name] for d in report.departments]
    summed = ["抽查事项数", "检查人员数", "应录入结果数", "已录入结果数", "未完结", "已完结",
              *(f"{c} {label}" for c, label in report.codes.items())]
    for column in summed:
        assert total[column] == sum(r[column] for r in depts), column
    assert total["抽查对象数"] == len(report.targets)
    problem_targets = sum(1 for t in report.targets if any(set(entered_codes(b)) & PROBLEM for b in t.departments))
    assert total["发现问题对象数"] == problem_targets
    assert total["发现问题对象数"] < sum(r["发现问题对象数"] for r in depts)  # distinct, not a sum
    assert total["完成率"] == pytest.approx(total["已录入结果数"] / total["应录入结果数"])
    assert total["完成率"] != pytest.approx(sum(r["完成率"] for r in depts) / len(depts))
    rate_col = next(c for c, n in names.items() if n == "完成率")
    rate_cells = [row[0] for row in ws.iter_rows(min_col=rate_col, max_col=rate_col) if isinstance(row[0].value, float)]
    assert len(rate_cells) == len(depts) + 1 and all(c.number_format == "0.0%" for c in rate_cells)


def test_statistics_title_chart_and_print_setup(report):
    data = build_statistics(report)
    ws, _, _ = stats_table(data)
    texts = " ".join(str(c.value) for row in ws.iter_rows(max_row=3) for c in row if c.value)
    assert "西华县跨部门“双随机、一公开”联合抽查统计表" in texts
    assert report.number in texts and report.title in texts and "2022-11-01" in texts
    assert len(ws._charts) == 1
    chart = ws._charts[0]
    assert len(chart.series) == len(report.departments)
    first, last = chart.series[0], chart.series[-1]
    assert first.cat.strRef.f.endswith("$H$5:$Q$5")  # the ten code labels, as text categories
    last_row = 5 + len(report.departments)
    assert first.val.numRef.f.endswith("$H$6:$Q$6") and last.val.numRef.f.endswith(f"$H${last_row}:$Q${last_row}")
    assert ws.page_setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.page_setup.fitToWidth == 1
    assert ws.merged_cells.ranges  # the grouped header


def test_statistics_department_without_items_and_custom_codes():
    base = synthetic_report(10, 2, codes=PASS_FAIL)
    report = dataclasses.replace(base, departments=[*base.departments, DepartmentInfo("某某局", "某某", (), 0)])
    _, names, rows = stats_table(build_statistics(report))
    headers = set(names.values())
    assert {"1 合格", "2 不合格"} <= headers
    assert not any(str(h).startswith(("3 ", "10 ")) for h in headers)
    assert rows["某某局"]["应录入结果数"] == 0 and rows["某某局"]["完成率"] is None
    assert rows["合计"]["1 合格"] + rows["合计"]["2 不合格"] == rows["合计"]["已录入结果数"]


# --- 附件3 ---------------------------------------------------------------------------------------------------------

def summary_rows(data: bytes):
    ws = load(data).active
    header_row = next(r for r in range(1, 10) if ws.cell(r, 1).value == "序号")
    header = [c.value for c in ws[header_row]]
    rows = [dict(zip(header, (c.value for c in row))) for row in ws.iter_rows(min_row=header_row + 1)]
    return ws, header_row, header, rows


def test_summary_has_one_row_per_target_with_each_department_result(report):
    ws, header_row, header, rows = summary_rows(build_summary(report))
    assert header[:7] == ["序号", "企业名称", "统一社会信用代码", "地址", "信用等级", "检查组", "组长"]
    assert header[-3:] == ["是否发现问题", "后续处理", "检查日期"]
    assert header[7:-3] == [d.label for d in report.departments]
    assert len(rows) == len(report.targets)
    seen_multi = seen_missing = False
    for n, (target, row) in enumerate(zip(report.targets, rows), 1):
        assert row["序号"] == n
        assert row["企业名称"].lstrip("'") == target.name
        assert row["统一社会信用代码"] == target.uscc
        assert row["信用等级"] == (target.credit_class or "未分类")
        assert row["检查组"] == target.group_number and row["组长"] == target.group_leader
        for block in target.departments:
            dept = next(d for d in report.departments if d.name == block.department)
            assert row[dept.label] == expected_result(block)
            seen_multi |= "," in row[dept.label]
            seen_missing |= row[dept.label] == "未录入"
        problem = any(set(entered_codes(b)) & PROBLEM for b in target.departments)
        assert row["是否发现问题"] == ("是" if problem else "否")
        follow = [i.follow_up for b in target.departments if b.submitted for i in b.items if i.follow_up]
        n_open = sum(1 for f in follow if f.state == "open")
        assert row["后续处理"] == (f"未完结 {n_open}" if n_open else "已完结" if follow else None)
        dates = [b.inspection_date for b in target.departments if b.submitted]
        assert row["检查日期"] == (max(dates).strftime("%Y-%m-%d") if dates else None)
    assert seen_multi and seen_missing


def test_summary_sheet_prints_and_filters(report):
    ws, header_row, header, _ = summary_rows(build_summary(report))
    assert "西华县跨部门“双随机、一公开”联合抽查汇总表" == ws["A1"].value
    assert ws.freeze_panes == f"C{header_row + 1}"
    last = get_column_letter(len(header))
    assert ws.auto_filter.ref == f"A{header_row}:{last}{header_row + len(report.targets)}"
    assert ws.print_title_rows.replace("$", "") == f"{header_row}:{header_row}"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    code = ws.cell(header_row + 1, 3)
    assert code.data_type == "s" and code.number_format == "@"  # a code is text, never a number
    assert ws.cell(header_row + 1, 1).data_type == "n"  # 序号 stays a number
    assert ws.cell(header_row + 1, 2).font.name == "宋体"  # a plain cell: the workbook's default font is CJK
    assert ws.cell(header_row, 2).font.b and ws.cell(header_row, 2).border.left.style == "thin"


def test_a_department_with_codes_8_and_5_shows_5_8_and_a_problem():
    report = synthetic_report(3, 2)
    target = report.targets[0]
    block = target.departments[0]
    items = (dataclasses.replace(block.items[0], code=8), dataclasses.replace(block.items[1], code=5))
    blocks = (dataclasses.replace(block, items=items, submitted=True, inspection_date=dt.date(2022, 10, 11)),
              *(dataclasses.replace(b, items=tuple(dataclasses.replace(i, code=1, follow_up=None) for i in b.items),
                                    submitted=True, inspection_date=dt.date(2022, 10, 10))
                for b in target.departments[1:]))
    report.targets[0] = dataclasses.replace(target, departments=blocks)
    _, _, _, rows = summary_rows(build_summary(report))
    assert rows[0][report.departments[0].label] == "5,8"
    assert rows[0][report.departments[1].label] == "1"
    assert rows[0]["是否发现问题"] == "是"
    assert rows[0]["检查日期"] == "2022-10-11"
    pub = publicity_rows(build_publicity(report))
    assert pub[(target.uscc, report.departments[0].name)]["检查结果"] == "5 发现问题已责令改正；8 发现问题待后续处理"
    assert pub[(target.uscc, report.departments[1].name)]["检查结果"] == "1 未发现问题"
    assert pub[(target.uscc, report.departments[0].name)]["检查完成日期"] == "2022-10-11"


# --- 公示 ----------------------------------------------------------------------------------------------------------

HEADER = ["企业名称", "统一社会信用代码", "抽查任务编号", "抽查任务名称", "检查实施机关", "抽查事项", "检查结果", "检查完成日期"]


def publicity_rows(data: bytes, ws=None):
    ws = ws or load(data).active
    header = [c.value for c in ws[1]]
    assert header == HEADER
    out = {}
    for row in ws.iter_rows(min_row=2, values_only=True):
        rec = dict(zip(header, row))
        key = (rec["统一社会信用代码"], rec["检查实施机关"])
        assert key not in out
        out[key] = rec
    return out


def test_publicity_has_one_row_per_target_and_department_with_code_labels(report):
    ws = load(build_publicity(report)).active
    rows = publicity_rows(b"", ws)
    assert ws.title == "公示" and not ws.merged_cells.ranges
    assert len(rows) == len(report.targets) * len(report.departments)
    for target in report.targets:
        for block in target.departments:
            dept = next(d for d in report.departments if d.name == block.department)
            rec = rows[(target.uscc, dept.name)]
            assert rec["企业名称"].lstrip("'") == target.name
            assert rec["抽查任务编号"] == report.number and rec["抽查任务名称"] == report.title
            assert rec["抽查事项"] == "；".join(dept.items)
            if block.submitted:
                want = "；".join(f"{c} {report.codes[c]}" for c in sorted(set(entered_codes(block))))
                assert rec["检查结果"] == want
                assert rec["检查完成日期"] == block.inspection_date.strftime("%Y-%m-%d")
            else:
                assert rec["检查结果"] == "未录入" and rec["检查完成日期"] is None
    for row in ws.iter_rows(min_row=2):  # all text: the USCC and the date paste as typed
        assert row[1].data_type == "s" and row[1].number_format == "@"
        assert all(c.data_type == "s" and c.number_format == "@" for c in row if c.value is not None)
        assert row[0].font.name == "宋体"


def test_custom_codes_change_the_labels():
    report = synthetic_report(8, 2, codes=PASS_FAIL)
    rows = publicity_rows(build_publicity(report))
    results = {r["检查结果"] for r in rows.values()}
    assert results <= {"1 合格", "2 不合格", "1 合格；2 不合格", "未录入"}
    assert "1 合格；2 不合格" in results


# --- all files ----------------------------------------------------------------------------------------------------

def test_formula_looking_text_stays_text():
    report = synthetic_report(10, 2)
    t = report.targets[0]
    report.targets[0] = dataclasses.replace(t, name="=HYPERLINK(\"http://x\",\"点我\")", address="@SUM(1,2)",
                                            group_leader="-1+1")
    report.title = "=1+1"
    for build in (build_statistics, build_summary, build_publicity):
        wb = load(build(report))
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (build.__name__, cell.coordinate, cell.value)
    _, _, _, rows = summary_rows(build_summary(report))
    assert rows[0]["企业名称"] == "'=HYPERLINK(\"http://x\",\"点我\")" and rows[0]["地址"] == "'@SUM(1,2)"
    assert rows[5]["企业名称"] == "'+西华县某某网吧6号"  # the synthetic data's own formula-looking name


def test_empty_campaign_builds():
    report = synthetic_report(0, 2)
    _, _, rows = stats_table(build_statistics(report))
    assert rows["合计"]["抽查对象数"] == 0 and rows["合计"]["完成率"] is None
    assert summary_rows(build_summary(report))[3] == []
    assert publicity_rows(build_publicity(report)) == {}


def test_build_all_returns_the_five_files_named_by_campaign_number():
    from tests.xlsxcheck import check_xlsx

    report = synthetic_report(12, 2, entered=0.6)
    files = build_all(report)
    assert [name for name, _ in files] == [f"西文旅抽查〔2022〕1号_{kind}.xlsx" for kind in REPORT_FILES]
    for name, data in files:
        check_xlsx(data)
        load(data)
    report.draw = None
    assert [n for n, _ in build_all(report)] == [f"西文旅抽查〔2022〕1号_{kind}.xlsx" for kind in REPORT_FILES[:4]]


@pytest.mark.parametrize("build", [build_statistics, build_summary, build_publicity])
def test_each_table_passes_the_second_reader(build, report):
    from tests.xlsxcheck import check_xlsx

    check_xlsx(build(report))


def test_file_stem_and_labels():
    assert file_stem('抽查/2022:1*?"<>|\\号') == "抽查_2022_1_______号"
    codes = {1: "未发现问题", 5: "发现问题已责令改正", 8: "发现问题待后续处理"}
    assert labels.code_label(1, codes) == "1 未发现问题" and labels.code_label(11, codes) == "11"
    assert labels.result_label("5,8", codes) == "5 发现问题已责令改正；8 发现问题待后续处理"
    assert labels.result_label([8, None, 5, 8], codes) == labels.result_label("5,8", codes)
    assert labels.has_problem("1,7", DEFAULT_CODE_SET) is False and labels.has_problem([1, 8], DEFAULT_CODE_SET) is True
    assert labels.credit_class_label(None) == "未分类" and labels.credit_class_label("B") == "B"
    assert labels.follow_up_state_label("open") == "未完结" and labels.follow_up_state_label("closed") == "已完结"


def test_append_rows_writes_what_openpyxl_writes():
    """The fast row writer of the big sheets produces openpyxl's own sheet XML for the same plain values."""
    rows = [["网吧 & <吧>", 1, None, "  前后空格 ", 2.5, "'=1+1 文本"], [None, "第二行", 10**12, "a\nb", True]]

    def sheet_xml(data: bytes) -> str:
        import zipfile
        return zipfile.ZipFile(BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()

    def workbook(extra_rows):
        wb = cjk_workbook(write_only=True, number_format="@")
        ws = wb.create_sheet("表")
        ws.append(["标题"])
        for row in extra_rows:
            ws.append(row)
        buf = BytesIO()
        wb.save(buf)
        return buf.getvalue()

    fast = append_rows(workbook([]), rows, first_row=2)
    assert sheet_xml(fast) == sheet_xml(workbook(rows))
    ws = load(fast).active
    assert [[c.value for c in r] for r in ws.iter_rows(min_row=2)] == [
        ["网吧 & <吧>", 1, None, "  前后空格 ", 2.5, "'=1+1 文本"], [None, "第二行", 10**12, "a\nb", True, None]]
    formula_like = load(append_rows(workbook([]), [["=1+1"]], first_row=2)).active["A2"]
    assert formula_like.data_type == "s" and formula_like.value == "=1+1"  # never a formula (builders use safe_text too)
    with pytest.raises(TypeError):
        append_rows(workbook([]), [[dt.date(2022, 10, 10)]], first_row=2)
    cleaned = load(append_rows(workbook([]), [["响\x07铃"]], first_row=2)).active["A2"].value
    assert cleaned == "响铃"  # openpyxl would refuse the control character and the whole report with it
