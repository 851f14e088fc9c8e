"""`附件1_抽查情况记录表` workbook (SPEC §8): one printable A4 record form per target, in the seed's layout.

The seed's 附件1 (领域部门联合抽查情况记录表), one sheet per target, columns A–E:

    title (merged A:E)
    抽查任务编号 …                                  检查组 … 检查日期 …
    执法检查人员 | 姓名 | 单位 | 执法证号 | 职务          one row per inspector of the group, 组长 marked
    检查对象     | 名称 | …    | 统一社会信用代码/注册号 | …
                 | 法定代表人/负责人 | … | 地址 | …        地址 未登记 when the directory has none (a taller
                                                           row: room to write it by hand)
                 | 登记机关 | …  | 管辖单位 | …            only when the directory has either
    检查单位     | 检查事项 (B:D)             | 检查结果   one row per item, the department merged down A
    处理意见     | … (B:E)
    备注         | … (B:E)
    检查对象（签字/盖章）        执法检查人员（签字/盖章）
    年　月　日                   年　月　日
    说明：the code legend from `report.codes`, then the seed's notes (2) and (3)

What a code means (problem code, follow-up code) comes from `report.code_set`, the configured set.

Why not openpyxl's writer: 10,000 targets are 10,000 sheets, and openpyxl (even write-only, without lxml)
spends ~70 s on them — a temporary file per sheet, a title check over all sheets per new sheet, a pure-Python
XML serializer per cell. This module writes the same SpreadsheetML parts directly (strings in one shared table,
styles from `reports.styles` serialized by openpyxl) in ~3 s; the tests read the result back with openpyxl.
"""

from __future__ import annotations

import datetime as dt
import math
import zipfile
from collections.abc import Sequence
from functools import lru_cache
from io import BytesIO

from openpyxl.xml.functions import tostring

from bot.rules.codes import CodeSet
from reports.data import CampaignReport, DepartmentBlock, TargetRecord
from reports.styles import (BOLD, BORDER, CENTER, FONT, LEFT, RIGHT, SMALL, TITLE, TOP, clean_text,
                            display_width, safe_text, sheet_title)

COLUMNS = "ABCDE"
WIDTHS = (12.0, 14.0, 24.0, 16.0, 22.0)  # ~88 characters: fits A4 portrait at ~90 % zoom
LINE_HEIGHT = 14.5  # points per line of 11-pt 宋体
ROW_HEIGHT = 24.0  # a table row: room to write by hand on the printed form
TEXT_HEIGHT = 54.0  # 处理意见 / 备注: at least three handwritten lines
NO_ADDRESS = "未登记"  # the 地址 cell of a target without an address
NO_ADDRESS_HEIGHT = 2 * ROW_HEIGHT  # …with room under 未登记 to write the address by hand
MAX_HEIGHT = 409.0  # Excel's row height limit
# A form up to this tall (points) prints on one A4 page, shrunk if need be: one signed sheet per target, as on
# paper. A taller one (dozens of items) keeps its size and runs onto more pages instead of becoming unreadable.
ONE_PAGE_HEIGHT = 1100.0
MAX_CELL = 32767  # Excel's characters per cell
ZIP_LEVEL = 3  # vs the default 6: ~10 % larger, ~0.4 s less for 10,000 forms

# Cell formats (the `s` index of a cell): (font, border, alignment).
_XF = (
    (FONT, None, None),  # 0 default
    (TITLE, None, CENTER),  # 1 title
    (FONT, None, LEFT),  # 2 text above and below the table
    (FONT, None, RIGHT),  # 3 same, right-aligned
    (BOLD, BORDER, CENTER),  # 4 table label
    (FONT, BORDER, LEFT),  # 5 table value
    (FONT, BORDER, CENTER),  # 6 table value, centred
    (FONT, BORDER, TOP),  # 7 long text (处理意见, 备注)
    (SMALL, None, TOP),  # 8 说明
)
S_TITLE, S_INFO, S_INFO_RIGHT, S_LABEL, S_VALUE, S_CENTER, S_TEXT, S_NOTE = range(1, 9)

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

Cell = tuple[int, str | int | None] | None  # (format, value); None = no cell at all


def build_record_forms(report: CampaignReport) -> bytes:
    """The 附件1 workbook: one record form per target of `report.targets`, in order, as .xlsx bytes.

    处理意见 is derived from the results: one line per item with a problem code (§6.10) — department, item, code
    and label, the inspector's description, and for an item with the follow-up code the follow-up measures (with
    the fine); with no problem it reads 未发现问题 once every item is entered, and stays blank while results are
    missing (the form is not final). 备注 lists the optional notes of the other items, the follow-up state of
    items with the follow-up code (未完结 / 已完结 with its date) and the departments that have not submitted yet.
    Result codes are written as numbers, as the form asks; a code not entered stays blank.
    """
    strings = _SharedStrings()
    repeats: dict = {}
    legend = _legend(report.codes)
    title = f"{report.title}情况记录表" if report.title.endswith("抽查") else f"{report.title}部门联合抽查情况记录表"
    used: set[str] = set()
    names: list[str] = []
    last_rows: list[int] = []
    buf = BytesIO()
    stamp = report.generated_at.timetuple()[:6]
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        def put(name: str, data: str) -> None:
            info = zipfile.ZipInfo(name, date_time=stamp)  # fixed timestamps: same report, same bytes
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data.encode("utf-8"), compresslevel=ZIP_LEVEL)

        for seq, target in enumerate(report.targets, 1):
            sheet = _Sheet(strings, repeats)
            _write_form(sheet, report, target, title, legend)
            names.append(_tab_name(seq, target.name, used))
            last_rows.append(sheet.row)
            put(f"xl/worksheets/sheet{seq}.xml", sheet.xml(selected=seq == 1))
        if not names:  # a workbook needs a sheet; before the draw there are no targets
            sheet = _Sheet(strings)
            sheet.merge("A", sheet.add([(S_TITLE, title), None, None, None, None], 36.0), "E")
            sheet.merge("A", sheet.add([(S_INFO, f"抽查任务编号：{report.number}　尚无检查对象（抽取后生成）"),
                                        None, None, None, None], ROW_HEIGHT), "E")
            names.append("抽查情况记录表")
            last_rows.append(sheet.row)
            put("xl/worksheets/sheet1.xml", sheet.xml(selected=True))
        put("xl/sharedStrings.xml", strings.xml())
        put("xl/styles.xml", _stylesheet())
        put("xl/workbook.xml", _workbook(names, last_rows))
        put("xl/_rels/workbook.xml.rels", _workbook_rels(len(names)))
        put("docProps/core.xml", _core(report, title))
        put("_rels/.rels", _ROOT_RELS)
        put("[Content_Types].xml", _content_types(len(names)))
    return buf.getvalue()


def handling_opinion(target: TargetRecord, codes: CodeSet) -> str:
    """处理意见 of a target's form (see `build_record_forms`)."""
    lines = []
    complete = bool(target.departments)
    for dept in target.departments:
        for item in dept.items:
            if item.code is None:
                complete = False
                continue
            if not codes.is_problem(item.code):
                continue
            line = f"{_dept_label(dept)}「{item.item}」{_code_text(item.code, codes.labels)}"
            if item.note:
                line += f"：{item.note}"
            if codes.opens_follow_up(item.code) and item.follow_up is not None:
                measures = _measures(item.follow_up.measures, item.follow_up.penalty_amount)
                if measures:
                    line += f"；处理措施：{measures}"
            lines.append(line)
    if lines:
        return _numbered(lines)
    return "未发现问题" if complete else ""


def remarks(target: TargetRecord, codes: CodeSet) -> str:
    """备注 of a target's form (see `build_record_forms`)."""
    lines = []
    pending = []
    for dept in target.departments:
        label = _dept_label(dept)
        if not dept.submitted or any(i.code is None for i in dept.items):
            pending.append(label)
        for item in dept.items:
            if item.note and item.code is not None and not codes.is_problem(item.code):
                lines.append(f"{label}「{item.item}」：{item.note}")
            if codes.opens_follow_up(item.code):
                fu = item.follow_up
                if fu is None:
                    lines.append(f"{label}「{item.item}」后续处理未登记")
                    continue
                if fu.state == "closed":
                    state = f"已完结（{fu.closed_on.isoformat()}）" if fu.closed_on else "已完结"
                else:
                    state = "未完结"
                lines.append(f"{label}「{item.item}」后续处理{state}" + (f"：{fu.note}" if fu.note else ""))
    if pending:
        lines.append(f"尚未提交结果：{'、'.join(pending)}")
    return _numbered(lines)


def _write_form(sheet: _Sheet, report: CampaignReport, target: TargetRecord, title: str, legend: str) -> None:
    """Append one target's record form to `sheet` (layout in the module docstring)."""
    add, merge = sheet.add, sheet.merge
    merge("A", add([(S_TITLE, title), None, None, None, None], 36.0, repeats=True), "E")
    date = target.inspection_date
    r = add([(S_INFO, f"抽查任务编号：{report.number}"), None, None,
             (S_INFO_RIGHT, f"检查组：第{target.group_number}组　检查日期：{date.isoformat() if date else ''}"), None],
            _fit(ROW_HEIGHT, (f"抽查任务编号：{report.number}", 50.0)))
    merge("A", r, "C")
    merge("D", r, "E")

    first = add([(S_LABEL, "执法检查人员"), (S_LABEL, "姓名"), (S_LABEL, "单位"), (S_LABEL, "执法证号"),
                 (S_LABEL, "职务")], ROW_HEIGHT, repeats=True)
    for p in target.inspectors:
        add([(S_LABEL, None), (S_CENTER, p.name), (S_VALUE, p.department), (S_CENTER, p.cert_no),
             (S_CENTER, "组长" if p.is_leader else "组员")],
            _fit(ROW_HEIGHT, (p.name, WIDTHS[1]), (p.department, WIDTHS[2]), (p.cert_no, WIDTHS[3])))
    if not target.inspectors:
        add([(S_LABEL, None)] + [(S_VALUE, None)] * 4, ROW_HEIGHT)
    merge("A", first, "A", sheet.row)

    legal_rep = target.legal_rep or ""
    first = add([(S_LABEL, "检查对象"), (S_LABEL, "名称"), (S_VALUE, target.name), (S_LABEL, "统一社会信用代码/注册号"),
                 (S_VALUE, target.uscc)],
                _fit(ROW_HEIGHT, (target.name, WIDTHS[2]), ("统一社会信用代码/注册号", WIDTHS[3])))
    address = (target.address or "").strip()
    if address:
        add([(S_LABEL, None), (S_LABEL, "法定代表人/负责人"), (S_VALUE, legal_rep), (S_LABEL, "地址"),
             (S_VALUE, address)],
            _fit(ROW_HEIGHT, ("法定代表人/负责人", WIDTHS[1]), (legal_rep, WIDTHS[2]), (address, WIDTHS[4])))
    else:  # the directory has none (a platform export): 未登记 at the top, room below to write it in on site
        add([(S_LABEL, None), (S_LABEL, "法定代表人/负责人"), (S_VALUE, legal_rep), (S_LABEL, "地址"),
             (S_TEXT, NO_ADDRESS)],
            _fit(NO_ADDRESS_HEIGHT, ("法定代表人/负责人", WIDTHS[1]), (legal_rep, WIDTHS[2])))
    authority = (target.registration_authority or "").strip()
    jurisdiction = (target.jurisdiction or "").strip()
    if authority or jurisdiction:  # only when the directory has them: the seed's form has no such row
        add([(S_LABEL, None), (S_LABEL, "登记机关"), (S_VALUE, authority), (S_LABEL, "管辖单位"),
             (S_VALUE, jurisdiction)],
            _fit(ROW_HEIGHT, (authority, WIDTHS[2]), (jurisdiction, WIDTHS[4])))
    merge("A", first, "A", sheet.row)

    merge("B", add([(S_LABEL, "检查单位"), (S_LABEL, "检查事项"), (S_LABEL, None), (S_LABEL, None),
                    (S_LABEL, "检查结果")], ROW_HEIGHT, repeats=True), "D")
    item_width = WIDTHS[1] + WIDTHS[2] + WIDTHS[3]
    for dept in target.departments:
        items = [(i.item, i.code) for i in dept.items] or [("", None)]
        heights = [_fit(ROW_HEIGHT, (name, item_width)) for name, _ in items]
        short = _fit(0.0, (dept.department, WIDTHS[0])) - sum(heights)
        if short > 0:  # the merged department cell needs more room than its item rows give it
            heights = [h + short / len(heights) for h in heights]
        first = sheet.row + 1
        for k, ((name, code), height) in enumerate(zip(items, heights)):
            merge("B", add([(S_CENTER, dept.department if k == 0 else None), (S_VALUE, name), (S_VALUE, None),
                            (S_VALUE, None), (S_CENTER, code)], height, repeats=True), "D")
        if sheet.row > first:
            merge("A", first, "A", sheet.row)

    text_width = sum(WIDTHS[1:])
    for label, text in (("处理意见", handling_opinion(target, report.code_set)),
                        ("备注", remarks(target, report.code_set))):
        merge("B", add([(S_LABEL, label), (S_TEXT, text), (S_TEXT, None), (S_TEXT, None), (S_TEXT, None)],
                       _fit(TEXT_HEIGHT, (text, text_width))), "E")

    r = add([(S_INFO, "检查对象（签字/盖章）："), None, None, (S_INFO, "执法检查人员（签字/盖章）："), None], 48.0,
            repeats=True)
    merge("A", r, "C")
    merge("D", r, "E")
    r = add([(S_INFO_RIGHT, "年　　月　　日"), None, None, (S_INFO_RIGHT, "年　　月　　日"), None], ROW_HEIGHT,
            repeats=True)
    merge("A", r, "C")
    merge("D", r, "E")
    # 9-pt text: a column holds 11/9 as many characters as at 11 pt.
    height = _fit(ROW_HEIGHT, (legend, sum(WIDTHS) * 11 / 9), line=12.0)
    merge("A", add([(S_NOTE, legend), None, None, None, None], height, repeats=True), "E")


def _legend(codes: dict[int, str]) -> str:
    listed = " ".join(f"{code}. {label}" for code, label in codes.items())
    return (f"说明：（1）检查结果栏填写相应编号：{listed}\n"
            "（2）备注栏可填写检查过程中责令停止违法与督促整改等相关情况。\n"
            "（3）检查对象为非市场主体时，相关数据项可根据工作实际作相应调整。")


def _dept_label(dept: DepartmentBlock) -> str:
    return dept.label or dept.department


def _code_text(code: int, codes: dict[int, str]) -> str:
    label = codes.get(code)
    return f"{code}（{label}）" if label else str(code)


def _measures(measures: Sequence[str], penalty: str | None) -> str:
    out = [f"{m}（罚款{penalty}元）" if m == "行政处罚" and penalty else m for m in measures]
    if penalty and "行政处罚" not in measures:
        out.append(f"罚款{penalty}元")
    return "、".join(out)


def _numbered(lines: list[str]) -> str:
    if len(lines) == 1:
        return lines[0]
    return "\n".join(f"{n}. {line}" for n, line in enumerate(lines, 1))


def _tab_name(seq: int, name: str, used: set[str]) -> str:
    """`1_某某网吧`: the number keeps tabs unique and in order; an apostrophe may not end a tab name (Excel)."""
    name = " ".join(clean_text(name).split()).replace("'", "’")
    base = f"{seq}_{name}"[:31]
    while len(base.encode("utf-16-le")) > 62:  # Excel counts UTF-16 units: an emoji takes two of the 31
        base = base[:-1]
    return sheet_title(base, used)


def _fit(minimum: float, *texts: tuple[str, float], line: float = LINE_HEIGHT) -> float:
    """A row height that shows every (text, column width) given, wrapped; at least `minimum`."""
    lines = 1
    for text, width in texts:
        # Fast path: one line even if every character is CJK (most cells of a form).
        if len(text) * 2 <= width - 1.5 and "\n" not in text:
            continue
        lines = max(lines, _lines(text, width))
    return min(MAX_HEIGHT, max(minimum, lines * line + 8.0))


@lru_cache(maxsize=4096)  # labels, department names and the legend repeat on every form
def _lines(text: str, width: float) -> int:
    usable = max(width - 1.5, 1.0)  # cell padding
    return sum(max(1, math.ceil(display_width(part) / usable)) for part in text.split("\n"))


def _xml_escape(text: str, quote: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;") if quote else text


class _SharedStrings:
    """The workbook's string table: each distinct text stored once, cells refer to it by index."""

    def __init__(self) -> None:
        self._index: dict[str, int] = {}
        self.count = 0

    def index(self, text: str) -> int:
        self.count += 1
        i = self._index.get(text)
        if i is None:
            i = self._index[text] = len(self._index)
        return i

    def xml(self) -> str:
        # Every text goes through safe_text here, once per distinct string (user text: formula injection).
        items = "".join(f'<si><t xml:space="preserve">{_xml_escape(safe_text(clean_text(t))[:MAX_CELL])}</t></si>'
                        for t in self._index)
        return (f'{_XML_HEAD}<sst xmlns="{_MAIN_NS}" count="{self.count}" uniqueCount="{len(self._index)}">'
                f"{items}</sst>")


class _Sheet:
    """One worksheet's XML, appended row by row (columns A–E)."""

    def __init__(self, strings: _SharedStrings, repeats: dict | None = None) -> None:
        self.strings = strings
        self.row = 0
        self.height = 0.0  # points, all rows
        self._rows: list[str] = []
        self._merges: list[str] = []
        self._repeats = {} if repeats is None else repeats  # shared by all sheets of a workbook

    def add(self, cells: Sequence[Cell], height: float, repeats: bool = False) -> int:
        """Append a row; a cell with value None is an empty cell that still carries its format (borders).

        `repeats`: the same row (content and position) recurs on most forms; its XML is made once and reused.
        """
        self.row = r = self.row + 1
        self.height += height
        if repeats:
            key = (r, height, *cells)
            hit = self._repeats.get(key)
            if hit is None:
                hit = self._repeats[key] = self._row_xml(r, cells, height)
            else:
                self.strings.count += hit[1]
            self._rows.append(hit[0])
        else:
            self._rows.append(self._row_xml(r, cells, height)[0])
        return r

    def _row_xml(self, r: int, cells: Sequence[Cell], height: float) -> tuple[str, int]:
        """The row's XML and how many string cells it has."""
        out = [f'<row r="{r}" ht="{height:.2f}" customHeight="1">']
        index = self.strings.index
        n = 0
        for col, cell in zip(COLUMNS, cells):
            if cell is None:
                continue
            style, value = cell
            if value is None or value == "":
                out.append(f'<c r="{col}{r}" s="{style}"/>')
            elif isinstance(value, str):
                out.append(f'<c r="{col}{r}" s="{style}" t="s"><v>{index(value)}</v></c>')
                n += 1
            else:
                out.append(f'<c r="{col}{r}" s="{style}"><v>{int(value)}</v></c>')
        out.append("</row>")
        return "".join(out), n

    def merge(self, first_col: str, first_row: int, last_col: str, last_row: int | None = None) -> None:
        self._merges.append(f'<mergeCell ref="{first_col}{first_row}:{last_col}{last_row or first_row}"/>')

    def xml(self, selected: bool) -> str:
        cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(WIDTHS, 1))
        tab = ' tabSelected="1"' if selected else ""
        return (f'{_XML_HEAD}<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
                '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
                f'<dimension ref="A1:E{self.row}"/>'
                f'<sheetViews><sheetView showGridLines="0"{tab} workbookViewId="0"/>'
                "</sheetViews>"
                '<sheetFormatPr defaultRowHeight="14.25"/>'
                f"<cols>{cols}</cols>"
                f"<sheetData>{''.join(self._rows)}</sheetData>"
                f'<mergeCells count="{len(self._merges)}">{"".join(self._merges)}</mergeCells>'
                '<printOptions horizontalCentered="1"/>'
                '<pageMargins left="0.6" right="0.6" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
                '<pageSetup paperSize="9" orientation="portrait" fitToWidth="1" '
                f'fitToHeight="{1 if self.height <= ONE_PAGE_HEIGHT else 0}"/>'
                "</worksheet>")


def _stylesheet() -> str:
    """styles.xml from the shared style objects (serialized by openpyxl), one cell format per `_XF` entry."""
    fonts: list = []
    borders: list = [None]
    xfs = []
    for font, border, alignment in _XF:
        if font not in fonts:
            fonts.append(font)
        if border not in borders:
            borders.append(border)
        align = tostring(alignment.to_tree()).decode() if alignment is not None else ""
        apply = ' applyAlignment="1"' if align else ""
        xfs.append(f'<xf numFmtId="0" fontId="{fonts.index(font)}" fillId="0" borderId="{borders.index(border)}" '
                   f'xfId="0" applyFont="1" applyBorder="1"{apply}>{align}</xf>')
    font_xml = "".join(tostring(f.to_tree()).decode() for f in fonts)
    border_xml = "".join(tostring(b.to_tree()).decode() if b is not None else
                         "<border><left/><right/><top/><bottom/><diagonal/></border>" for b in borders)
    return (f'{_XML_HEAD}<styleSheet xmlns="{_MAIN_NS}">'
            f'<fonts count="{len(fonts)}">{font_xml}</fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            f'<borders count="{len(borders)}">{border_xml}</borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>")


def _workbook(names: list[str], last_rows: list[int]) -> str:
    sheets = "".join(f'<sheet name="{_xml_escape(n, quote=True)}" sheetId="{i}" r:id="rId{i}"/>'
                     for i, n in enumerate(names, 1))
    areas = "".join(f'<definedName name="_xlnm.Print_Area" localSheetId="{i}">'
                    f"{_xml_escape(_quote_sheet(n))}!$A$1:$E${last}</definedName>"
                    for i, (n, last) in enumerate(zip(names, last_rows)))
    return (f'{_XML_HEAD}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
            '<workbookPr/><bookViews><workbookView activeTab="0"/></bookViews>'
            f"<sheets>{sheets}</sheets>"
            + (f"<definedNames>{areas}</definedNames>" if areas else "")
            + '<calcPr calcId="191029"/></workbook>')


def _quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _workbook_rels(n: int) -> str:
    base = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    rels = [f'<Relationship Id="rId{i}" Type="{base}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, n + 1)]
    rels.append(f'<Relationship Id="rId{n + 1}" Type="{base}/styles" Target="styles.xml"/>')
    rels.append(f'<Relationship Id="rId{n + 2}" Type="{base}/sharedStrings" Target="sharedStrings.xml"/>')
    return f'{_XML_HEAD}<Relationships xmlns="{_PKG_REL_NS}">{"".join(rels)}</Relationships>'


_ROOT_RELS = (
    f'{_XML_HEAD}<Relationships xmlns="{_PKG_REL_NS}">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
    'core-properties" Target="docProps/core.xml"/>'
    "</Relationships>")


def _content_types(n: int) -> str:
    sml = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    sheets = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{sml}.worksheet+xml"/>'
                     for i in range(1, n + 1))
    return (f'{_XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{sml}.sheet.main+xml"/>'
            f"{sheets}"
            f'<Override PartName="/xl/styles.xml" ContentType="{sml}.styles+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{sml}.sharedStrings+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            "</Types>")


def _core(report: CampaignReport, title: str) -> str:
    created = report.generated_at
    if created.tzinfo is None:  # the office's local time (Asia/Shanghai, UTC+8)
        created = created.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    stamp = created.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (f'{_XML_HEAD}<cp:coreProperties '
            'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:title>{_xml_escape(clean_text(title))}</dc:title><dc:creator>双随机抽查助手</dc:creator>"
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
            "</cp:coreProperties>")
