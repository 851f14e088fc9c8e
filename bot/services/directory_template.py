"""Blank import templates (SPEC §3, `/template`, `python -m bot template DIR`), built from the same sheet
definitions the import recognises: header row (required columns marked *), a comment on each column that needs
explaining, drop-down lists, text / date formats and column widths."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from bot.services.directory_import import SHEETS, SheetSpec
from bot.texts import t

COMBINED_NAME = "名录导入模板.xlsx"
LAST_ROW = 1048576
AUTHOR = "双随机抽查助手"

# Styles are created once and shared by every cell.
_FONT = Font(name="宋体", size=11)
_HEADER_FONT = Font(name="宋体", size=11, bold=True)
_REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")
_OPTIONAL_FILL = PatternFill("solid", fgColor="EDEDED")
_THIN = Side(style="thin", color="A6A6A6")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _fill_sheet(ws: Worksheet, spec: SheetSpec, lang: str) -> None:
    for idx, col in enumerate(spec.columns, 1):
        letter = get_column_letter(idx)
        cell = ws.cell(1, idx, f"{col.header}*" if col.required else col.header)
        cell.font, cell.alignment, cell.border = _HEADER_FONT, _CENTER, _BORDER
        cell.fill = _REQUIRED_FILL if col.required else _OPTIONAL_FILL
        note = " ".join(filter(None, (t("template.note.required", lang) if col.required else "",
                                      t(col.note, lang) if col.note else "")))
        if note:
            comment = Comment(note, AUTHOR)
            comment.width, comment.height = 260, 110
            cell.comment = comment
        dim = ws.column_dimensions[letter]
        dim.width = col.width
        # Codes stay text (no 1.38E+10, no lost leading zeros); dates show as dates.
        if col.text:
            dim.number_format = "@"
        elif col.date:
            dim.number_format = "yyyy-mm-dd"
        if col.choices:
            choices = ",".join(col.choices)
            dv = DataValidation(type="list", formula1=f'"{choices}"', allow_blank=True,
                                showErrorMessage=col.strict, errorStyle="stop",
                                errorTitle=t("template.dv.title", lang),
                                error=t("template.dv.error", lang, choices="、".join(col.choices)))
            dv.add(f"{letter}2:{letter}{LAST_ROW}")
            ws.add_data_validation(dv)
        elif col.date:
            dv = DataValidation(type="date", operator="greaterThan", formula1="DATE(1990,1,1)", allow_blank=True,
                                showErrorMessage=True, errorTitle=t("template.dv.title", lang),
                                error=t("import.err.date", lang, value="…"))
            dv.add(f"{letter}2:{letter}{LAST_ROW}")
            ws.add_data_validation(dv)
    ws.row_dimensions[1].height = 24
    ws.freeze_panes = "A2"


def _save(wb: Workbook) -> bytes:
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def sheet_template(kind: str, lang: str = "zh") -> bytes:
    """One blank sheet (departments | items | people | targets | conflicts) as a workbook."""
    spec = next(s for s in SHEETS if s.kind == kind)
    wb = Workbook()
    ws = wb.active
    ws.title = spec.title
    _fill_sheet(ws, spec, lang)
    return _save(wb)


def template_workbook(lang: str = "zh") -> bytes:
    """All five sheets in one workbook, in import order (单位 first) — what /template sends."""
    wb = Workbook()
    wb.remove(wb.active)
    for spec in SHEETS:
        _fill_sheet(wb.create_sheet(spec.title), spec, lang)
    return _save(wb)


def write_templates(directory: Path | str, lang: str = "zh") -> list[Path]:
    """The five single-sheet templates plus the combined one, written into directory (created if needed)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec in SHEETS:
        path = directory / f"{spec.title}.xlsx"
        path.write_bytes(sheet_template(spec.kind, lang))
        paths.append(path)
    combined = directory / COMBINED_NAME
    combined.write_bytes(template_workbook(lang))
    paths.append(combined)
    return paths
