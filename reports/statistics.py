"""`附件2_联合抽查统计表` (SPEC §8): one row per department, a 合计 row, a bar chart of the results by code.

Counting rules (the seed gives the table's name, not its columns, so these are ours and printed under the table):
- 检查结果 columns count **item results** (one per item per target), so per department they add up to 已录入结果数.
- A department's results count once it has submitted them for a target (`labels.entered`); drafts do not.
- In the 合计 row every column is the sum of the department rows except three: 抽查对象数 and 发现问题对象数 count
  distinct targets (one target is inspected by every department — summing would count it four times), and
  完成率 is total entered ÷ total due, not a sum or mean of rates.
- A code found in the data but missing from the configured set (the set changed mid-campaign) gets its own
  column after the configured ones, so the code columns still add up to 已录入结果数.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from io import BytesIO

from openpyxl.chart import BarChart, Reference, Series
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter

from reports import labels
from reports.data import CampaignReport
from reports.styles import (BOLD, BORDER, CENTER, FONT, HEADER_FILL, PERCENT_FORMAT, TITLE, WRAP, cjk_workbook,
                            landscape_a4, safe_text, sheet_title, width_for)

SHEET = "联合抽查统计表"
LEADING = ("部门", "抽查事项数", "抽查对象数", "检查人员数", "应录入结果数", "已录入结果数", "完成率")
RESULTS_HEADER = "检查结果（事项数）"
PROBLEMS = "发现问题对象数"
FOLLOW_UP = "后续处理"
TOTAL = "合计"
NOTE = ("说明：检查结果按事项计数；抽查对象数、发现问题对象数的合计为去重后的对象数；"
        "合计完成率 = 已录入结果数合计 ÷ 应录入结果数合计；其余合计为各部门之和。")
NUMBER_ALIGN = Alignment(horizontal="center", vertical="center")


@dataclass
class DepartmentTally:
    items: int
    inspectors: int
    targets: int = 0
    entered: int = 0
    codes: Counter = field(default_factory=Counter)
    problem_targets: int = 0
    open: int = 0
    closed: int = 0

    @property
    def expected(self) -> int:
        return self.targets * self.items


def tally(report: CampaignReport) -> tuple[dict[str, DepartmentTally], int]:
    """Per department counts, and the number of distinct targets where any department found a problem."""
    by_name = {d.name: DepartmentTally(items=len(d.items), inspectors=d.inspectors) for d in report.departments}
    problem_targets = 0
    for target in report.targets:
        target_problem = False
        for block in target.departments:
            t = by_name.get(block.department)
            if t is None:
                continue
            t.targets += 1
            if not labels.entered(block):
                continue
            codes = block.codes
            t.entered += len(codes)
            t.codes.update(codes)
            if labels.has_problem(codes, report.code_set):
                t.problem_targets += 1
                target_problem = True
            for item in block.items:
                if item.follow_up is not None:
                    if labels.is_closed(item.follow_up):
                        t.closed += 1
                    else:
                        t.open += 1
        problem_targets += target_problem
    return by_name, problem_targets


def _rate(entered: int, expected: int) -> float | None:
    return entered / expected if expected else None


def _put(ws, row: int, col: int, value, *, font=FONT, fill=None, align=CENTER, number_format=None):
    cell = ws.cell(row=row, column=col, value=safe_text(value))
    cell.font = font
    cell.border = BORDER
    cell.alignment = align
    if fill is not None:
        cell.fill = fill
    if number_format is not None:
        cell.number_format = number_format
    return cell


def build_statistics(report: CampaignReport) -> bytes:
    tallies, problem_targets = tally(report)
    configured = list(report.codes)
    extra = sorted({c for t in tallies.values() for c in t.codes} - set(configured))
    codes = configured + extra

    wb = cjk_workbook()
    ws = wb.active
    ws.title = sheet_title(SHEET)
    first_code = len(LEADING) + 1
    last_code = first_code + len(codes) - 1
    problems_col = last_code + 1
    open_col, closed_col = problems_col + 1, problems_col + 2
    ncols = closed_col
    last_letter = get_column_letter(ncols)

    # Title block (rows 1–3).
    ws.merge_cells(f"A1:{last_letter}1")
    ws["A1"] = labels.campaign_title(report.county, "统计表")
    ws["A1"].font = TITLE
    ws["A1"].alignment = CENTER
    ws.row_dimensions[1].height = 30
    ws.merge_cells(f"A2:{last_letter}2")
    ws["A2"] = safe_text(f"抽查任务编号：{report.number}　　抽查任务名称：{report.title}")
    ws.merge_cells(f"A3:{last_letter}3")
    ws["A3"] = (f"检查时间：{labels.date_text(report.window_start)} 至 {labels.date_text(report.window_end)}"
                f"　　生成日期：{labels.date_text(report.generated_at)}")
    for ref in ("A2", "A3"):
        ws[ref].font = FONT
        ws[ref].alignment = Alignment(horizontal="left", vertical="center")

    # Two header rows: grouped headers above, code labels and follow-up states below.
    h1, h2 = 4, 5
    for col, text in enumerate(LEADING, 1):
        _put(ws, h1, col, text, font=BOLD, fill=HEADER_FILL)
        _put(ws, h2, col, None, fill=HEADER_FILL)
        ws.merge_cells(start_row=h1, start_column=col, end_row=h2, end_column=col)
    _put(ws, h1, first_code, RESULTS_HEADER, font=BOLD, fill=HEADER_FILL)
    for col in range(first_code, last_code + 1):
        if col > first_code:
            _put(ws, h1, col, None, fill=HEADER_FILL)
        _put(ws, h2, col, labels.code_label(codes[col - first_code], report.codes), font=BOLD, fill=HEADER_FILL)
    if len(codes) > 1:
        ws.merge_cells(start_row=h1, start_column=first_code, end_row=h1, end_column=last_code)
    _put(ws, h1, problems_col, PROBLEMS, font=BOLD, fill=HEADER_FILL)
    _put(ws, h2, problems_col, None, fill=HEADER_FILL)
    ws.merge_cells(start_row=h1, start_column=problems_col, end_row=h2, end_column=problems_col)
    _put(ws, h1, open_col, FOLLOW_UP, font=BOLD, fill=HEADER_FILL)
    _put(ws, h1, closed_col, None, fill=HEADER_FILL)
    ws.merge_cells(start_row=h1, start_column=open_col, end_row=h1, end_column=closed_col)
    _put(ws, h2, open_col, labels.OPEN, font=BOLD, fill=HEADER_FILL)
    _put(ws, h2, closed_col, labels.CLOSED, font=BOLD, fill=HEADER_FILL)

    # One row per department, then 合计.
    row = h2
    for dept in report.departments:
        t = tallies[dept.name]
        row += 1
        values = [dept.name, t.items, t.targets, t.inspectors, t.expected, t.entered, _rate(t.entered, t.expected),
                  *(t.codes.get(c, 0) for c in codes), t.problem_targets, t.open, t.closed]
        for col, value in enumerate(values, 1):
            _put(ws, row, col, value, align=WRAP if col == 1 else NUMBER_ALIGN,
                 number_format=PERCENT_FORMAT if col == 7 else None)
    first_dept_row, last_dept_row = h2 + 1, row
    all_t = list(tallies.values())

    def total(attr: str) -> int:
        return sum(getattr(t, attr) for t in all_t)

    expected, entered = total("expected"), total("entered")
    totals = [TOTAL, total("items"), len(report.targets), total("inspectors"), expected, entered,
              _rate(entered, expected), *(sum(t.codes.get(c, 0) for t in all_t) for c in codes),
              problem_targets, total("open"), total("closed")]
    row += 1
    for col, value in enumerate(totals, 1):
        _put(ws, row, col, value, font=BOLD, align=NUMBER_ALIGN,
             number_format=PERCENT_FORMAT if col == 7 else None)
    row += 1
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
    ws.cell(row=row, column=1, value=NOTE).alignment = WRAP
    ws.row_dimensions[row].height = 30

    # Widths: department names decide column A; code labels wrap in narrow columns.
    # +4: a CJK character is a little wider than two digits in 宋体, and a full name should not wrap
    names = [d.name for d in report.departments] + [TOTAL]
    ws.column_dimensions["A"].width = width_for(names, minimum=12, maximum=30) + 4
    for col in range(2, ncols + 1):
        ws.column_dimensions[get_column_letter(col)].width = 11 if first_code <= col <= last_code else 9.5
    ws.row_dimensions[h1].height = 30
    longest = max((width_for([labels.code_label(c, report.codes)]) - 2 for c in codes), default=4)
    ws.row_dimensions[h2].height = max(30, 15 * -(-longest // 9) + 6)  # ~9 half-width characters per line

    if codes and report.departments:
        _add_chart(ws, report, codes, first_code, last_code, h2, first_dept_row, last_dept_row, row + 2)

    ws.freeze_panes = ws.cell(row=h2 + 1, column=2)
    ws.print_title_rows = f"{h1}:{h2}"
    landscape_a4(ws)
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _add_chart(ws, report: CampaignReport, codes: list[int], first_code: int, last_code: int, header_row: int,
               first_row: int, last_row: int, anchor_row: int) -> None:
    """Horizontal bars, one per code (code 1 on top), stacked by department: totals and who found what at once."""
    chart = BarChart()
    chart.type = "bar"
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.title = "检查结果分布（事项数）"
    chart.y_axis.title = "事项数"
    chart.x_axis.scaling.orientation = "maxMin"  # read top-down in code order
    chart.x_axis.delete = False  # newer Excel hides axes openpyxl leaves unset
    chart.y_axis.delete = False
    chart.y_axis.majorGridlines = None
    chart.legend.position = "b"
    for r, dept in zip(range(first_row, last_row + 1), report.departments):
        values = Reference(ws, min_col=first_code, max_col=last_code, min_row=r, max_row=r)
        chart.series.append(Series(values, title=safe_text(dept.label or dept.name)))
    # The categories are the code labels (text): a strRef, where openpyxl's set_categories would write a numRef.
    categories = Reference(ws, min_col=first_code, max_col=last_code, min_row=header_row, max_row=header_row)
    for series in chart.series:
        series.cat = AxDataSource(strRef=StrRef(f=str(categories)))
    chart.width = 26
    chart.height = max(8.0, 1.1 * len(codes) + 3)
    ws.add_chart(chart, f"A{anchor_row}")
