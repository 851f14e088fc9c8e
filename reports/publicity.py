"""`公示` (SPEC §8): one row per target and department, ready to enter into the national credit publicity system.

One plain header row, no title rows, no merged cells, every value a string in a sheet whose default format is text
(文本): retyping or pasting never turns a code into a number or a date into a locale format. The 40,000 data rows of a
big campaign carry no per-cell style, so `styles.append_rows` writes them (openpyxl writes the header and settings).

Rows go department by department, each in target order: results are published by the department that inspected
("谁检查、谁录入、谁公示", seed 四(四)), so each department takes one contiguous block (the autofilter selects it too).
A department that has not submitted shows 未录入 and no date: the row is visibly not ready to publish.
"""

from __future__ import annotations

from io import BytesIO

from openpyxl.utils import get_column_letter

from reports import labels
from reports.data import CampaignReport
from reports.styles import (BOLD, TEXT_FORMAT, CellStyle, append_rows, cjk_workbook, column_width, landscape_a4,
                            safe_text, sheet_title)

SHEET = "公示"
HEADER = ("企业名称", "统一社会信用代码", "抽查任务编号", "抽查任务名称", "检查实施机关", "抽查事项", "检查结果",
          "检查完成日期")
WIDTH_SAMPLE = 2000


def build_publicity(report: CampaignReport) -> bytes:
    rows = list(_rows(report))
    wb = cjk_workbook(write_only=True, number_format=TEXT_FORMAT)  # every cell 文本, no per-cell style
    ws = wb.create_sheet(sheet_title(SHEET))
    for col, name in enumerate(HEADER, 1):
        sample = [name] + [r[col - 1] for r in rows[:WIDTH_SAMPLE]]
        if name == "抽查事项":  # item lists vary by department: look at every department's, not the first ones'
            sample += [r[col - 1] for r in rows[::max(1, len(report.targets))]]
        dim = ws.column_dimensions[get_column_letter(col)]
        dim.width = column_width(sample, minimum=8, maximum=50)
        dim.number_format = TEXT_FORMAT  # what is typed into the column later is text too
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(HEADER))}{len(rows) + 1}"
    landscape_a4(ws)
    head = CellStyle(ws, font=BOLD, number_format=TEXT_FORMAT)
    ws.append([head(h) for h in HEADER])
    buf = BytesIO()
    wb.save(buf)
    return append_rows(buf.getvalue(), rows, first_row=2)


def _rows(report: CampaignReport):
    number, title = safe_text(report.number), safe_text(report.title)
    targets = [(safe_text(t.name), safe_text(t.uscc), {b.department: b for b in t.departments}) for t in report.targets]
    label_of: dict[tuple[int, ...], str] = {}  # a few dozen distinct code sets among 40,000 rows
    for dept in report.departments:
        if not dept.items:
            continue
        agency = safe_text(dept.name)
        items = safe_text(labels.RESULT_SEPARATOR.join(dept.items))
        for name, uscc, blocks in targets:
            block = blocks.get(dept.name)
            if block is None:
                continue
            if labels.entered(block):
                codes = tuple(labels.result_codes(block.codes))
                result = label_of.get(codes)
                if result is None:
                    result = label_of[codes] = safe_text(labels.result_label(codes, report.codes))
                day = labels.date_text(block.inspection_date) or None
            else:
                result, day = labels.NOT_ENTERED, None
            yield [name, uscc, number, title, agency, items, result or None, day]
