"""Shared workbook styling: one CJK font, borders, header fill, safe text (no formula injection)."""

from __future__ import annotations

import math
import re
import zipfile
from copy import copy
from io import BytesIO

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.styles.numbers import BUILTIN_FORMATS_REVERSE
from openpyxl.utils import get_column_letter
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


# --- Fast rows for the big sheets ----------------------------------------------------------------------------------

_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML 1.0 at all
EXCEL_CELL_LIMIT = 32767  # characters in one cell; more makes Excel repair the file


def xml_text(value: str) -> str:
    """A cell string as XML text: control characters dropped (openpyxl would raise on them), escaped, capped."""
    if _XML_ILLEGAL.search(value):
        value = _XML_ILLEGAL.sub("", value)
    return value[:EXCEL_CELL_LIMIT].translate(_XML_ESCAPES)


def append_rows(xlsx: bytes, rows, *, first_row: int, part: str = "xl/worksheets/sheet1.xml") -> bytes:
    """Append plain rows (str, int, float, None) to a saved workbook's sheet, after the rows openpyxl wrote.

    openpyxl spends ~10 µs per cell building an element tree (~4 s for the 320,000 cells of a 10,000-target 公示);
    this writes the same XML openpyxl writes for an unstyled cell (`<c r="A5" t="inlineStr"><is><t>…`) from string
    templates, ~10 times faster. The sheet keeps everything openpyxl wrote: styled title and header rows, column
    widths, freeze panes, autofilter, print setup. Unstyled cells take the workbook's default style, so use it with
    `cjk_workbook` (CJK font, and text format where wanted). `first_row` must follow the last row openpyxl wrote.
    """
    src = zipfile.ZipFile(BytesIO(xlsx))
    sheet = src.read(part).decode("utf-8")
    end = sheet.rfind("</sheetData>")
    if end < 0:
        raise ValueError(f"{part}: write at least one row with openpyxl before appending")
    letters = [get_column_letter(c) for c in range(1, 1 + max((len(r) for r in rows), default=0))]
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != part:
                dst.writestr(info, src.read(info.filename))
                continue
            fresh = zipfile.ZipInfo(part, date_time=info.date_time)
            fresh.compress_type = zipfile.ZIP_DEFLATED
            with dst.open(fresh, "w") as out:  # streamed: the sheet's XML is never whole in memory
                out.write(sheet[:end].encode("utf-8"))
                for chunk in _row_xml(rows, letters, first_row):
                    out.write(chunk.encode("utf-8"))
                out.write(sheet[end:].encode("utf-8"))
    return buf.getvalue()


def _row_xml(rows, letters: list[str], first_row: int, chunk_rows: int = 2000):
    """The rows' XML, `chunk_rows` rows per string."""
    escaped: dict[str, str] = {}  # most strings repeat (task number, department, results)
    out: list[str] = []
    add = out.append
    for r, row in enumerate(rows, first_row):
        add(f'<row r="{r}">')
        for letter, value in zip(letters, row):
            if value is None:
                continue
            kind = type(value)
            if kind is str:
                text = escaped.get(value)
                if text is None:
                    text = xml_text(value)
                    if text[:1].isspace() or text[-1:].isspace():
                        text = f'<t xml:space="preserve">{text}</t>'
                    else:
                        text = f"<t>{text}</t>"
                    escaped[value] = text
                add(f'<c r="{letter}{r}" t="inlineStr"><is>{text}</is></c>')
            elif kind is bool:
                add(f'<c r="{letter}{r}" t="b"><v>{int(value)}</v></c>')
            elif kind is int or (kind is float and math.isfinite(value)):
                add(f'<c r="{letter}{r}" t="n"><v>{value!r}</v></c>')
            else:
                raise TypeError(f"append_rows writes str, int, finite float and None, not {value!r}")
        add("</row>")
        if len(out) > chunk_rows * 10:
            yield "".join(out)
            out.clear()
    if out:
        yield "".join(out)
