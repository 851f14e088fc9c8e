"""The package checker the report tests rely on (tests/xlsxcheck.py) can fail: a workbook Excel would refuse is
refused here too, and a sound one passes."""

from __future__ import annotations

import io
import warnings

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


@pytest.mark.parametrize("title, reason", [("表" * 32, "1–31 characters"),
                                           ("'quoted'", "begins or ends")])
def test_a_sheet_name_excel_refuses_is_refused(title, reason):
    with pytest.raises(AssertionError, match=reason):
        check_xlsx(_book(title))
