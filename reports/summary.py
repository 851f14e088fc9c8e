"""`附件3_联合抽查汇总表` (SPEC §8): one row per target, one column per department with its §6.10 result.

10,000 targets are 10,000 rows: openpyxl writes the title, the header and the sheet settings, and
`styles.append_rows` the data rows as plain values in the workbook's default style (CJK font, text format; 序号 and
检查组 are numbers, the date is YYYY-MM-DD text). The printout gets its grid from `print_options.gridLines` rather
than a border on each of ~150,000 cells.

A department that has not submitted shows 未录入 (not blank), so a printed table shows the gap and the autofilter can
select it; a department with no block on the target (it has no items in the campaign) is blank.
"""

from __future__ import annotations

from io import BytesIO

from openpyxl.utils import get_column_letter

from reports import labels
from reports.data import CampaignReport
from reports.styles import (BOLD, BORDER, CENTER, HEADER_FILL, TEXT_FORMAT, TITLE, CellStyle, append_rows,
                            cjk_workbook, column_width, landscape_a4, safe_text, sheet_title)

SHEET = "联合抽查汇总表"
LEADING = ("序号", "企业名称", "统一社会信用代码", "地址", "信用等级", "检查组", "组长")
TRAILING = ("是否发现问题", "后续处理", "检查日期")
HEADER_ROW = 3
WIDTH_SAMPLE = 2000  # rows whose values decide the column widths (names and addresses have the same shape)


def build_summary(report: CampaignReport) -> bytes:
    departments = [d for d in report.departments if d.items]
    header = [*LEADING, *(safe_text(d.label or d.name) for d in departments), *TRAILING]
    ncols = len(header)
    last_letter = get_column_letter(ncols)
    rows = [_row(n, target, departments, report) for n, target in enumerate(report.targets, 1)]

    # Text by default: the code stays a code, the date reads YYYY-MM-DD everywhere (and sorts as a date would).
    wb = cjk_workbook(write_only=True, number_format=TEXT_FORMAT)
    ws = wb.create_sheet(sheet_title(SHEET))
    # Sheet settings go before the first row: a write-only sheet streams its XML in order.
    for col in range(1, ncols + 1):
        values = [header[col - 1]] + [r[col - 1] for r in rows[:WIDTH_SAMPLE]]
        dim = ws.column_dimensions[get_column_letter(col)]
        dim.width = column_width(values, minimum=6, maximum=40)
        dim.number_format = TEXT_FORMAT
    ws.freeze_panes = f"C{HEADER_ROW + 1}"  # header, 序号 and 企业名称 stay in view
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.auto_filter.ref = f"A{HEADER_ROW}:{last_letter}{HEADER_ROW + len(rows)}"
    ws.print_options.gridLines = True
    landscape_a4(ws)
    ws.merged_cells.add(f"A1:{last_letter}1")
    ws.merged_cells.add(f"A2:{last_letter}2")

    title = CellStyle(ws, font=TITLE, alignment=CENTER, number_format=TEXT_FORMAT)
    head = CellStyle(ws, font=BOLD, fill=HEADER_FILL, border=BORDER, alignment=CENTER, number_format=TEXT_FORMAT)
    ws.row_dimensions[1].height = 30
    ws.append([title(labels.campaign_title(report.county, "汇总表"))])
    ws.append([safe_text(f"抽查任务编号：{report.number}　　抽查任务名称：{report.title}"
                         f"　　生成日期：{labels.date_text(report.generated_at)}")])
    ws.append([head(h) for h in header])
    buf = BytesIO()
    wb.save(buf)
    return append_rows(buf.getvalue(), rows, first_row=HEADER_ROW + 1)


def _row(n: int, target, departments, report: CampaignReport) -> list:
    blocks = {b.department: b for b in target.departments}
    entered = [b for b in target.departments if labels.entered(b)]
    follow_ups = [i.follow_up for b in entered for i in b.items if i.follow_up is not None]
    row = [n, safe_text(target.name), safe_text(target.uscc), safe_text(target.address),
           safe_text(labels.credit_class_label(target.credit_class)), target.group_number,
           safe_text(target.group_leader), *(labels.department_result(blocks.get(d.name)) for d in departments),
           labels.yes_no(any(report.has_problem(b) for b in entered)), labels.follow_up_summary(follow_ups),
           labels.date_text(target.inspection_date)]
    return [None if v == "" else v for v in row]  # no empty string cells: a blank is no cell
