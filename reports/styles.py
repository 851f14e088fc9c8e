"""Shared workbook styling: one CJK font, borders, header fill, safe text (no formula injection)."""

from __future__ import annotations

import re

from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

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
