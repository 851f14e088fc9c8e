"""The package checker the report tests rely on (tests/xlsxcheck.py) can fail: a workbook Excel would refuse is
refused here too, and a sound one passes."""

from __future__ import annotations

import io
import warnings
import zipfile

import openpyxl
import pytest

from tests.xlsxcheck import check_xlsx


def _book(title: str) -> bytes:
    wb = openpyxl.Workbook()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about a long title but writes it
        wb.active.title = title
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_a_sound_workbook_passes():
    check_xlsx(_book("抽取结果"))


@pytest.mark.parametrize("title, reason", [("表" * 32, "not 1–31 characters: it is 32 UTF-16 units"),
                                           # 16 characters beyond U+FFFF: 32 UTF-16 units
                                           ("\U0002000b" * 16, "not 1–31 characters: it is 32 UTF-16 units"),
                                           ("'quoted'", "begins or ends")])
def test_a_sheet_name_excel_refuses_is_refused(title, reason):
    with pytest.raises(AssertionError, match=reason):
        check_xlsx(_book(title))


def test_31_units_pass_and_an_empty_name_is_refused():
    check_xlsx(_book("表" * 31))
    check_xlsx(_book("\U0002000b" * 15 + "表"))
    with pytest.raises(AssertionError, match="not 1–31 characters: it is empty"):
        check_xlsx(_renamed(_book("抽取结果"), "抽取结果", ""))


def _renamed(data: bytes, old: str, new: str) -> bytes:
    """The package with the sheet's name attribute rewritten in xl/workbook.xml (openpyxl refuses an empty title)."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "xl/workbook.xml":
                body = body.replace(f'name="{old}"'.encode(), f'name="{new}"'.encode())
            dst.writestr(item, body)
    return out.getvalue()
