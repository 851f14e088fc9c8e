"""Blank templates (SPEC §3 /template): every sheet's header row, notes, drop-downs; the import accepts them."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
from sqlalchemy import func, select

from bot.services.directory_import import SHEETS, import_workbook, normalize_header
from bot.devtools.sample_data import sample_sheets
from bot.services.directory_template import COMBINED_NAME, sheet_template, template_workbook, write_templates
from models import AuditEntry, ImportRecord, Person, Target

TODAY = dt.date(2024, 6, 1)


def _load(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def test_every_sheet_has_its_header_row_with_required_marks():
    wb = _load(template_workbook())
    assert wb.sheetnames == [s.title for s in SHEETS] == ["单位", "抽查事项", "人员名录", "检查对象", "回避关系"]
    for spec in SHEETS:
        ws = wb[spec.title]
        headers = [c.value for c in ws[1]]
        assert headers == [f"{c.header}*" if c.required else c.header for c in spec.columns], spec.title
        assert [normalize_header(h) for h in headers] == [c.header for c in spec.columns]
        assert ws.max_row == 1 and ws.freeze_panes == "A2"
        for col, cell in zip(spec.columns, ws[1]):
            if col.required:
                assert cell.comment is not None and "必填" in cell.comment.text, (spec.title, col.header)
            assert ws.column_dimensions[cell.column_letter].width == col.width


def test_drop_downs_for_roles_statuses_and_credit_classes():
    wb = _load(template_workbook())

    def lists(title: str) -> dict[str, str]:
        ws = wb[title]
        return {str(dv.sqref).split(":")[0][0]: dv.formula1 for dv in ws.data_validations.dataValidation
                if dv.type == "list"}

    assert lists("人员名录") == {"C": '"检查人员,分管领导,领导小组,联络员,管理员"', "G": '"在岗,停用"'}
    assert lists("检查对象") == {"F": '"A,B,C,D"', "H": '"正常,停业,注销"'}
    roles = next(dv for dv in wb["人员名录"].data_validations.dataValidation if dv.formula1.startswith('"检查'))
    assert not roles.showErrorMessage  # comma lists of roles must be allowed
    assert "多个" in wb["人员名录"]["C1"].comment.text
    # Codes are text cells, so Excel keeps 18-digit codes and phone numbers as typed.
    assert wb["检查对象"].column_dimensions["B"].number_format == "@"


def test_english_notes():
    wb = _load(template_workbook("en"))
    assert wb["人员名录"]["A1"].value == "姓名*"  # headers stay as the import expects them
    assert wb["人员名录"]["A1"].comment.text.startswith("Required.")


def test_blank_template_is_accepted_with_zero_counts_and_writes_nothing(sessions):
    with sessions.begin() as s:
        out = import_workbook(s, template_workbook(), actor="test", filename=COMBINED_NAME, today=TODAY)
    assert out.ok and out.empty and not out.warnings
    assert set(out.counts) == {s.kind for s in SHEETS}
    assert all(c == {"added": 0, "updated": 0, "unchanged": 0} for c in out.counts.values())
    assert "没有数据行" in out.summary()
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(ImportRecord)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_filled_template_imports(sessions):
    wb = _load(template_workbook())
    for title, rows in sample_sheets(5).items():
        for row in rows[1:]:
            wb[title].append(row)
    buf = io.BytesIO()
    wb.save(buf)
    with sessions.begin() as s:
        out = import_workbook(s, buf.getvalue(), actor="test", filename="filled.xlsx", today=TODAY)
    assert out.ok, out.summary()
    assert out.counts["targets"]["added"] == 5 and out.counts["people"]["added"] == 32
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Target)) == 5
        assert s.scalar(select(func.count()).select_from(Person).where(Person.cert_no.is_not(None))) == 27


def test_write_templates(tmp_path, sessions):
    paths = write_templates(tmp_path / "out")
    assert [p.name for p in paths] == [f"{s.title}.xlsx" for s in SHEETS] + [COMBINED_NAME]
    for spec, path in zip(SHEETS, paths):
        assert path.read_bytes()[:2] == b"PK"
        assert _load(path.read_bytes()).sheetnames == [spec.title]
        with sessions.begin() as s:
            out = import_workbook(s, path.read_bytes(), actor="test", filename=path.name, today=TODAY)
        assert out.ok and out.empty and list(out.counts) == [spec.kind]
    assert sheet_template("targets")[:2] == b"PK"


def test_template_caption_explains_both_ways_within_telegrams_caption_limit():
    from bot.texts import t
    for lang in ("zh", "en"):
        caption = t("upload.template_caption", lang)
        assert len(caption) <= 1024, (lang, len(caption))  # sendDocument's caption limit
        for needed in ("行业=互联网上网服务营业场所", "--industry", "登记机关", "管辖单位", "未登记",
                       "信用风险低/一般/较高/高", "中高", "存续（在营、开业、在册）", "歇业", "迁出"):
            assert needed in caption, (lang, needed)
