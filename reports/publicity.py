"""`公示` (SPEC §8): one row per target and department, ready to enter into the national credit publicity system.

One plain header row, no title rows, no merged cells, every value a string; the code and date columns are also
formatted as text (文本), so retyping or pasting never turns a code into a number or a date into a locale format.

Rows go department by department, each in target order: results are published by the department that inspected
("谁检查、谁录入、谁公示", seed 四(四)), so each department takes one contiguous block (the autofilter selects it too).
A department that has not submitted shows 未录入 and no date: the row is visibly not ready to publish.
"""

from __future__ import annotations

from io import BytesIO

from openpyxl.utils import get_column_letter

from reports import labels
from reports.data import CampaignReport
from reports.styles import (BOLD, TEXT_FORMAT, CellStyle, cjk_workbook, column_width, landscape_a4, safe_text,
                            sheet_title)

SHEET = "公示"
HEADER = ("企业名称", "统一社会信用代码", "抽查任务编号", "抽查任务名称", "检查实施机关", "抽查事项", "检查结果",
          "检查完成日期")
WIDTH_SAMPLE = 2000


def build_publicity(report: CampaignReport) -> bytes:
    rows = list(_rows(report))
    wb = cjk_workbook(write_only=True)
    ws = wb.create_sheet(sheet_title(SHEET))
    for col, name in enumerate(HEADER, 1):
        sample = [name] + [r[col - 1] for r in rows[:WIDTH_SAMPLE]]
        if name == "抽查事项":  # item lists vary by department: look at every department's, not the first ones'
            sample += [r[col - 1] for r in rows[::max(1, len(report.targets))]]
        ws.column_dimensions[get_column_letter(col)].width = column_width(sample, minimum=8, maximum=50)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(HEADER))}{len(rows) + 1}"
    landscape_a4(ws)

    head = CellStyle(ws, font=BOLD)
    text = CellStyle(ws, number_format=TEXT_FORMAT)
    ws.append([head(h) for h in HEADER])
    code_col, date_col = HEADER.index("统一社会信用代码"), HEADER.index("检查完成日期")
    for row in rows:  # every value is a string already; the two columns a paste could reinterpret are typed 文本
        row[code_col] = text(row[code_col])
        row[date_col] = text(row[date_col]) if row[date_col] else None
        ws.append(row)
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _rows(report: CampaignReport):
    number, title = safe_text(report.number), safe_text(report.title)
    for dept in report.departments:
        if not dept.items:
            continue
        agency = safe_text(dept.name)
        items = safe_text(labels.RESULT_SEPARATOR.join(dept.items))
        for target in report.targets:
            block = next((b for b in target.departments if b.department == dept.name), None)
            if block is None:
                continue
            if labels.entered(block):
                result = safe_text(labels.result_label(block.codes, report.codes))
                day = labels.date_text(block.inspection_date)
            else:
                result, day = labels.NOT_ENTERED, ""
            yield [safe_text(target.name), safe_text(target.uscc), number, title, agency, items, result, day]
