"""Shared workbook styling: one CJK font, borders, header fill, safe text (no formula injection)."""

from __future__ import annotations

import re
from copy import copy

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.styles.numbers import BUILTIN_FORMATS_REVERSE
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.properties import PageSetupProperties

FONT_NAME = "宋体"
FONT = Font(name=FONT_NAME, size=11)
BOLD = Font(name=FONT_NAME, size=11, bold=True)
TITLE = Font(name=FONT_NAME, size=14, bold=True)
THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
WRAP = Alignment(wrap_text=True, vertical="center")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)

_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")


def safe_text(value):
    """Neutralize a leading '=', '+', '-', '@' in user text so a spreadsheet never runs it as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def sheet_title(name: str, used: set[str] | None = None) -> str:
    title = _BAD_TITLE.sub("_", name).strip() or "Sheet"
    title = title[:31]
    if used is not None:
        base, n = title, 2
        while title in used:
            suffix = f"_{n}"
            title = base[: 31 - len(suffix)] + suffix
            n += 1
        used.add(title)
    return title


def width_for(values, minimum: int = 6, maximum: int = 60) -> float:
    """A column width from the longest value; CJK characters count double."""
    longest = 0
    for v in values:
        s = str(v) if v is not None else ""
        longest = max(longest, sum(2 if ord(ch) > 0x2E80 else 1 for ch in s))
    return float(min(max(longest + 2, minimum), maximum))


# --- Additions for the big tables (附件2, 附件3, 公示) --------------------------------------------------------------

DATE_FORMAT = "yyyy-mm-dd"  # SPEC §7: dates show as YYYY-MM-DD
TEXT_FORMAT = "@"  # 文本: a code column stays text when someone retypes or pastes into it
PERCENT_FORMAT = "0.0%"


def cjk_workbook(write_only: bool = False, number_format: str | None = None) -> Workbook:
    """A workbook whose default cell style (style 0, the Normal style) has the CJK font, and `number_format` if given.

    Every cell written without a style then renders in 宋体 too, so the big write-only sheets can write plain
    values (the fastest path in openpyxl) and style only the cells that need more; `number_format=TEXT_FORMAT` makes
    every plain cell 文本. openpyxl has no public setter for the default style; `tests/unit/test_reports_tables.py`
    reads it back, so an openpyxl upgrade that breaks this fails a test instead of silently falling back to Calibri.
    """
    wb = Workbook(write_only=write_only)
    wb._fonts = IndexedList([FONT])
    wb._named_styles["Normal"].font = copy(FONT)
    if number_format is not None:
        default = StyleArray()
        default.numFmtId = BUILTIN_FORMATS_REVERSE[number_format]
        wb._cell_styles = IndexedList([default])
        wb._named_styles["Normal"].number_format = number_format
    return wb


class CellStyle:
    """One style stamped on many write-only cells: assigning Font/Border objects per cell costs a lookup each time."""

    def __init__(self, ws, **attrs) -> None:
        template = WriteOnlyCell(ws)
        for name, value in attrs.items():
            setattr(template, name, value)
        self.ws = ws
        self.array = template._style

    def __call__(self, value) -> Cell:
        return Cell(self.ws, row=1, column=1, value=value, style_array=self.array)


def column_width(values, minimum: int = 6, maximum: int = 60) -> float:
    """`width_for` for tens of thousands of values: the same CJK-counts-double width from UTF-8 lengths (C speed).

    A 3-byte UTF-8 character (CJK, full-width punctuation) counts 2, ASCII 1; close enough for a column width.
    """
    longest = 0
    for v in values:
        if v is None:
            continue
        s = v if isinstance(v, str) else str(v)
        n = (len(s) + len(s.encode("utf-8")) + 1) // 2
        if n > longest:
            longest = n
    return float(min(max(longest + 2, minimum), maximum))


def landscape_a4(ws, fit_width: bool = True) -> None:
    """Print setup of the office's tables: A4 landscape, one page wide, as many pages tall as needed."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = 9  # A4 (ws.PAPERSIZE_A4; write-only sheets lack the constant)
    if fit_width:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.6, bottom=0.6, header=0.3, footer=0.3)
    ws.print_options.horizontalCentered = True


# Additions for the record forms (附件1); the names above keep their behaviour.
SMALL = Font(name=FONT_NAME, size=9)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
RIGHT = Alignment(horizontal="right", vertical="center")
TOP = Alignment(horizontal="left", vertical="top", wrap_text=True)

# XML 1.0 forbids these control characters; openpyxl refuses them, Excel reports a damaged file.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean_text(value: str) -> str:
    """Drop the control characters a workbook cannot store (pasted text sometimes carries them)."""
    return _ILLEGAL_XML.sub("", value)


_WIDE = re.compile("[\u2e81-\U0010ffff]")


def display_width(text: str) -> int:
    """Width of one line of text in column-width units; CJK characters count double (as in `width_for`)."""
    return len(text) + len(_WIDE.findall(text))
