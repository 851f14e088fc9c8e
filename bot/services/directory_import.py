"""Directory import from .xlsx workbooks (SPEC §3): sheets recognised by their header row, every row validated
with a cell-precise reason, an upsert by key that is all or nothing.

The workbook is read once, streaming (openpyxl read-only mode); only the parsed rows are kept, as small tuples,
so 100,000 targets fit in a modest memory budget. The database is touched only after the whole file has been
read: on SQLite the write lock is taken at the first statement, so a slow upload does not hold it while it is
parsed. Existing rows are looked up in chunks and written with bulk INSERT / UPDATE statements, never one
SELECT per row. The service adds and flushes; the caller owns the transaction (and rolls back on failure).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import warnings
import zipfile
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from io import BytesIO
from itertools import chain, islice
from typing import Any, Callable, Iterable, Iterator

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session
from stdnum.cn import uscc as uscc_check
from stdnum.exceptions import InvalidChecksum, ValidationError

from bot.rules.candidates import INSPECTOR_ROLE, certificate_valid_on
from bot.rules.credit import DEFAULT_CREDIT_SCHEME, CreditScheme, is_unclassified
from bot.services import audit
from bot.texts import t
from models import ROLE_LABELS_ZH, ROLES, Conflict, Department, ImportRecord, Item, Person, Target, utcnow

log = logging.getLogger(__name__)

# openpyxl warns about features of the uploaded file it does not keep (extensions, missing default style).
# They concern the user's file, not this code, and would only clutter the log.
warnings.filterwarnings("ignore", category=UserWarning, module=r"openpyxl\.")

MAX_BYTES = 10 * 1024 * 1024
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024  # a zip bomb is refused before any XML is parsed
HEADER_SCAN_ROWS = 10  # a title row or two above the header is common in office spreadsheets
LISTED_ISSUES = 10  # errors / warnings quoted in a message; the annotated workbook has all of them
STREAM_ANNOTATE_ROWS = 20_000  # above this the annotated copy is streamed instead of loaded whole
CHUNK = 1000  # keys per IN (…) lookup and rows per bulk statement

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
ERROR_FONT = Font(color="9C0006")
ERROR_HEADER_FONT = Font(color="9C0006", bold=True)


# ---------------------------------------------------------------------------------------------------------
# The five sheets (SPEC §3). Templates are built from the same definitions.

@dataclass(frozen=True)
class Column:
    field: str
    header: str  # as in SPEC §3 and the templates
    required: bool = False
    aliases: tuple[str, ...] = ()  # other headers offices use for the same column
    width: int = 16
    text: bool = False  # a code: kept as text in the template (no scientific notation, no lost zeros)
    date: bool = False
    choices: tuple[str, ...] = ()  # the template's drop-down
    strict: bool = True  # the drop-down refuses other values (角色 takes comma lists, so it does not)
    note: str = ""  # text key of the template's comment on the header
    # required in the template, but a list without the column (or with blank cells) is accepted: stored as ""
    blank_ok: bool = False


@dataclass(frozen=True)
class SheetSpec:
    kind: str  # departments | items | people | targets | conflicts
    title: str
    columns: tuple[Column, ...]
    anchors: frozenset[str]  # a header with any of these fields is this sheet (else two known columns)

    def column(self, field_name: str) -> Column:
        return next(c for c in self.columns if c.field == field_name)


_CERT_ALIASES = ("执法证件号", "执法证件号码", "执法证号码", "执法证编号")
_USCC_ALIASES = ("统一社会信用代码/注册号", "统一社会信用代码(注册号)", "统一社会信用代码或注册号",
                 "统一社会信用代码(或注册号)", "注册号", "信用代码")
ROLE_CHOICES = tuple(ROLE_LABELS_ZH[r] for r in ("inspector", "dept_head", "leader", "coordinator", "admin"))
PERSON_STATUS = {"在岗": True, "在职": True, "停用": False, "离岗": False, "调离": False}
# 登记状态 in the words of the national registers → what is stored. Drawable ones become 正常
# (bot.rules.candidates.DRAWABLE_TARGET_STATUS); the others are stored as the register's own word, never drawn
# (停业/歇业 may reopen, 吊销/撤销/注销/迁出 are gone). A bracketed gloss is dropped: 存续（在营、开业、在册）→ 存续.
TARGET_STATUS = {"正常": "正常", "存续": "正常", "在业": "正常", "在营": "正常", "开业": "正常", "在册": "正常",
                 "停业": "停业", "歇业": "歇业",
                 "吊销": "吊销", "撤销": "撤销", "注销": "注销", "迁出": "迁出"}
_STATUS_GLOSS = re.compile(r"[(（\[【,，、;；].*$")  # 存续（在营、开业、在册）, 吊销，未注销
CREDIT_CLASSES = DEFAULT_CREDIT_SCHEME.classes  # the template's drop-down; the import takes cfg's scheme (any alias)

SHEETS: tuple[SheetSpec, ...] = (
    SheetSpec("departments", "单位", (
        Column("name", "单位名称", True, ("部门名称", "单位全称"), width=34, note="template.note.department_name"),
        Column("short_name", "简称", False, ("单位简称", "部门简称"), width=14, note="template.note.short_name"),
    ), frozenset({"name", "short_name"})),
    SheetSpec("items", "抽查事项", (
        Column("department", "单位", True, ("部门", "检查单位", "实施部门"), width=30,
               note="template.note.item_department"),
        Column("name", "事项名称", True, ("抽查事项", "检查事项", "抽查事项名称"), width=40,
               note="template.note.item_name"),
        Column("content", "检查内容", False, ("抽查内容",), width=50),
        Column("basis", "检查依据", False, ("抽查依据", "依据"), width=50),
    ), frozenset({"name", "content", "basis"})),
    SheetSpec("people", "人员名录", (
        Column("name", "姓名", True, width=12),
        Column("department", "单位", True, ("部门", "所在单位", "工作单位"), width=30,
               note="template.note.person_department"),
        Column("roles", "角色", True, ("人员角色",), width=24, choices=ROLE_CHOICES, strict=False,
               note="template.note.roles"),
        Column("cert_no", "执法证号", False, _CERT_ALIASES, width=20, text=True, note="template.note.cert_no"),
        Column("cert_expiry", "执法证有效期至", False, ("有效期至", "执法证有效期", "证件有效期至"), width=16,
               date=True, note="template.note.cert_expiry"),
        Column("phone", "手机号", False, ("手机", "手机号码", "联系电话"), width=16, text=True),
        Column("status", "状态", False, ("人员状态",), width=10, choices=("在岗", "停用"),
               note="template.note.person_status"),
    ), frozenset({"name", "roles", "cert_expiry"})),
    SheetSpec("targets", "检查对象", (
        Column("name", "名称", True, ("企业名称", "对象名称", "主体名称", "检查对象名称"), width=32),
        Column("uscc", "统一社会信用代码", True, _USCC_ALIASES, width=22, text=True, note="template.note.uscc"),
        Column("legal_rep", "法定代表人/负责人", False, ("法定代表人", "负责人", "法定代表人(负责人)", "经营者"),
               width=16),
        Column("address", "地址", True, ("经营地址", "住所", "经营场所", "住所(经营场所)"), width=40,
               blank_ok=True),
        Column("industry", "行业类别", True, ("行业", "行业分类"), width=24, note="template.note.industry"),
        Column("credit_class", "信用风险分类", False, ("信用风险等级", "风险分类", "信用分类"), width=14,
               choices=CREDIT_CLASSES, strict=False, note="template.note.credit_class"),
        Column("phone", "联系电话", False, ("电话",), width=16, text=True),
        Column("status", "状态", False, ("经营状态", "登记状态"), width=10, choices=("正常", "停业", "注销"),
               note="template.note.target_status"),
        Column("registration_authority", "登记机关", False, width=24),
        Column("jurisdiction", "管辖单位", False, ("管辖机关", "属地监管单位"), width=24),
    ), frozenset({"name", "legal_rep", "address", "industry", "credit_class"})),
    SheetSpec("conflicts", "回避关系", (
        Column("cert_no", "执法证号", True, _CERT_ALIASES, width=20, text=True, note="template.note.conflict_cert"),
        Column("uscc", "统一社会信用代码", True, _USCC_ALIASES, width=22, text=True,
               note="template.note.conflict_uscc"),
        Column("reason", "原因", False, ("回避原因",), width=30, note="template.note.reason"),
    ), frozenset({"reason"})),
)
SHEET_BY_KIND = {s.kind: s for s in SHEETS}

# Column names of the lists exported from the national 双随机 / credit platforms, beside the aliases above:
# (sheet kind, field) → headers. Each is tested (tests/unit/test_directory_import.py); normalize_header folds
# full-width brackets and slashes, so 法定代表人（负责人） and 法定代表人(负责人) are one entry.
PLATFORM_ALIASES: dict[tuple[str, str], tuple[str, ...]] = {
    ("targets", "name"): ("企业名称", "主体名称", "市场主体名称"),
    ("targets", "uscc"): ("统一社会信用代码/注册号", "注册号/统一社会信用代码", "统一社会信用代码(注册号)", "注册号"),
    ("targets", "legal_rep"): ("法定代表人(负责人)", "法定代表人/负责人/经营者", "法定代表人(负责人、经营者)"),
    ("targets", "address"): ("住所(经营场所)", "住所/经营场所", "经营场所/住所", "住所"),
    ("targets", "registration_authority"): ("登记机关",),
    ("targets", "jurisdiction"): ("管辖单位", "管辖机关"),
    ("targets", "status"): ("登记状态", "经营状态", "企业状态"),
    ("targets", "industry"): ("行业类别", "行业门类", "所属行业"),
    ("targets", "credit_class"): ("信用风险分类结果", "分类结果", "信用风险分类"),
}

_HEADER_TRANS = str.maketrans({"（": "(", "）": ")", "／": "/", "＊": "*"})
_HEADER_SPACE = re.compile(r"[\s\u200b\ufeff]+")
_HEADER_SUFFIXES = ("(必填)", "(选填)", "(可选)", "(可不填)")


def normalize_header(value: Any) -> str:
    """'  执法证有效期至 *', '统一社会信用代码（注册号）', '姓名(必填)' → the bare header."""
    if not isinstance(value, str):
        return ""
    text = _HEADER_SPACE.sub("", value.translate(_HEADER_TRANS))
    while True:
        before = text
        text = text.strip("*")
        for suffix in _HEADER_SUFFIXES:
            text = text.removesuffix(suffix)
        if text == before:
            return text


_LOOKUP: dict[str, dict[str, str]] = {
    spec.kind: {normalize_header(h): c.field
                for c in spec.columns for h in (c.header, *c.aliases, *PLATFORM_ALIASES.get((spec.kind, c.field), ()))}
    for spec in SHEETS
}
_ERROR_HEADERS = frozenset({"错误说明", "errors"})


def _recognise(headers: list[str]) -> tuple[SheetSpec, dict[str, int]] | None:
    """The sheet whose columns the header row matches best (ties go to the earlier sheet)."""
    best: tuple[SheetSpec, dict[str, int]] | None = None
    for spec in SHEETS:
        lookup = _LOOKUP[spec.kind]
        col_of: dict[str, int] = {}
        for idx, header in enumerate(headers):
            name = lookup.get(header)
            if name is not None and name not in col_of:
                col_of[name] = idx
        if not col_of or (not (col_of.keys() & spec.anchors) and len(col_of) < 2):
            continue
        if best is None or len(col_of) > len(best[1]):
            best = (spec, col_of)
    return best


# ---------------------------------------------------------------------------------------------------------
# Outcome

@dataclass(frozen=True)
class CellError:
    """A problem with one cell (or a whole sheet when row is None). Warnings have the same shape."""

    sheet: str
    row: int | None
    column: str | None  # the column's header as in SPEC §3
    reason: str  # in the import's language
    col: int | None = None  # 1-based column number in the sheet, for the red fill
    key: str = ""  # text key and params, to render the reason in another language
    params: tuple[tuple[str, Any], ...] = ()

    def describe(self, lang: str) -> str:
        reason = t(self.key, lang, **dict(self.params)) if self.key else self.reason
        if self.row is None:
            return t("import.summary.sheet_issue", lang, sheet=self.sheet, reason=reason)
        return t("import.summary.issue", lang, sheet=self.sheet, row=self.row, column=self.column or "-",
                 reason=reason)


@dataclass
class ImportOutcome:
    ok: bool
    fatal: str | None = None
    errors: list[CellError] = field(default_factory=list)
    warnings: list[CellError] = field(default_factory=list)
    # kind → {"added": n, "updated": n, "unchanged": n}, for every kind with a sheet in the file
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    annotated: bytes | None = None  # the uploaded workbook with a 错误说明 column, when there are row errors
    sha256: str = ""
    lang: str = "zh"
    fatal_key: str = ""
    fatal_params: dict[str, Any] = field(default_factory=dict)
    # import.fatal.industry_needed: the industries already in the directory, most targets first (to offer them)
    known_industries: list[str] = field(default_factory=list)

    @property
    def needs_industry(self) -> bool:
        return self.fatal_key == "import.fatal.industry_needed"

    @property
    def empty(self) -> bool:
        """Accepted, but the file held no data rows (e.g. a blank template): nothing was written."""
        return self.ok and not any(sum(c.values()) for c in self.counts.values())

    def summary(self, lang: str | None = None) -> str:
        lang = lang or self.lang
        if self.fatal is not None:
            return t(self.fatal_key, lang, **self.fatal_params) if self.fatal_key else self.fatal
        lines: list[str] = []
        if not self.ok:
            lines.append(t("import.summary.failed", lang, count=len(self.errors)))
            lines += [e.describe(lang) for e in self.errors[:LISTED_ISSUES]]
            if len(self.errors) > LISTED_ISSUES:
                lines.append(t("import.summary.more_errors", lang, count=len(self.errors) - LISTED_ISSUES))
            return "\n".join(lines)
        if self.empty:
            lines.append(t("import.summary.empty", lang))
        else:
            lines.append(t("import.summary.done", lang))
            for kind, c in self.counts.items():
                lines.append(t("import.summary.counts", lang, sheet=t(f"import.sheet.{kind}", lang), **c))
        if self.warnings:
            lines.append(t("import.summary.warnings", lang, count=len(self.warnings)))
            lines += [w.describe(lang) for w in self.warnings[:LISTED_ISSUES]]
            if len(self.warnings) > LISTED_ISSUES:
                lines.append(t("import.summary.more_warnings", lang, count=len(self.warnings) - LISTED_ISSUES))
        return "\n".join(lines)


def annotated_filename(filename: str, lang: str = "zh") -> str:
    stem = filename[:-5] if filename.lower().endswith(".xlsx") else filename
    return f"{stem}_{t('import.annotated_suffix', lang)}.xlsx"


class _Fatal(Exception):
    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key, self.params = key, params


def _fatal(key: str, lang: str, **params: Any) -> ImportOutcome:
    return ImportOutcome(ok=False, fatal=t(key, lang, **params), lang=lang, fatal_key=key, fatal_params=params)


# ---------------------------------------------------------------------------------------------------------
# The container: size, format, encryption, corruption — checked before any XML is parsed.

def _size(n: int) -> str:
    return f"{n / 1048576:.1f} MB" if n >= 1048576 else f"{max(1, round(n / 1024))} KB"


def _looks_like_text(head: bytes) -> bool:
    return bool(head) and not any(b < 9 or 13 < b < 27 or 27 < b < 32 for b in head)


def _check_container(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise _Fatal("import.fatal.too_big", size=_size(len(data)), limit=_size(max_bytes))
    if not data:
        raise _Fatal("import.fatal.empty")
    if data.startswith(OLE2_MAGIC):
        # An encrypted .xlsx is stored as an OLE2 compound file holding EncryptionInfo + EncryptedPackage;
        # a legacy .xls is an OLE2 file holding a Workbook stream. Anything else OLE2: say encrypted.
        if "EncryptionInfo".encode("utf-16-le") not in data and (
                "Workbook".encode("utf-16-le") in data or "Book\0".encode("utf-16-le") in data):
            raise _Fatal("import.fatal.xls")
        raise _Fatal("import.fatal.encrypted")
    if not data.startswith(ZIP_MAGICS):
        if _looks_like_text(data[:4096]):
            raise _Fatal("import.fatal.text")
        raise _Fatal("import.fatal.not_xlsx")
    try:
        with zipfile.ZipFile(BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
        # NotImplementedError: a damaged header asking for a zip version or compression zipfile does not know.
        log.info("corrupt upload: %s", exc)
        raise _Fatal("import.fatal.corrupt") from exc
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise _Fatal("import.fatal.not_xlsx")
    unpacked = sum(i.file_size for i in infos)
    if unpacked > MAX_UNPACKED_BYTES:
        raise _Fatal("import.fatal.unpacked_too_big", size=_size(unpacked))


# Errors raised by reading a damaged archive or damaged XML (ParseError is a SyntaxError; openpyxl's typed
# descriptors raise TypeError for an attribute it does not know or cannot convert, e.g. a cut <mergeCell ref>).
_CORRUPT = (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError, ValueError, SyntaxError, IndexError,
            TypeError, NotImplementedError)
EXCEL_MAX_ROWS = 1_048_576


def _rows(ws) -> Iterator[tuple]:
    """The sheet's rows as values; a damaged part surfaces as a file-level error, not a crash. openpyxl fills
    the gap before a row with empty rows one by one, so a row numbered beyond what Excel allows (a damaged or
    crafted `<row r="99999999">`) would keep the import busy for minutes: past Excel's last row it is damaged."""
    it = ws.iter_rows(values_only=True)
    n = 0
    while True:
        try:
            row = next(it)
        except StopIteration:
            return
        except _CORRUPT as exc:
            log.info("corrupt sheet %r: %s", ws.title, exc)
            raise _Fatal("import.fatal.corrupt") from exc
        n += 1
        if n > EXCEL_MAX_ROWS:
            log.info("sheet %r goes past Excel's last row", ws.title)
            raise _Fatal("import.fatal.corrupt")
        yield row


# ---------------------------------------------------------------------------------------------------------
# Cell values

_STRIP = " \t\r\n\u3000\xa0\u200b\ufeff"
_NO_SPACE = re.compile(r"[\s\u3000\xa0\u200b\ufeff]+")
_DATE_TEXT = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_ROLE_SPLIT = re.compile(r"[,，、;；/\s]+")
ROLE_BY_LABEL = {label: role for role, label in ROLE_LABELS_ZH.items()} | {r: r for r in ROLES} | {
    "执法检查人员": "inspector", "执法人员": "inspector", "主要负责人": "dept_head", "领导小组成员": "leader",
}


def _cell(value: Any) -> Any:
    """None for blank; numbers typed as numbers become their text (13800000000, not 13800000000.0)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip(_STRIP)
        return value or None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value
    return str(value).strip(_STRIP) or None


def _text(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _date(value: Any) -> dt.date | None:
    """A datetime cell, or YYYY-MM-DD / YYYY/MM/DD (also YYYY.MM.DD, YYYY年M月D日, YYYYMMDD) text."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    m = _DATE_TEXT.match(value) or _DATE_COMPACT.match(value)
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def target_status(raw: str) -> str | None:
    """The stored status for a 登记状态 / 状态 cell (None: not a known word). 存续（在营、开业、在册）→ 正常."""
    word = _NO_SPACE.sub("", raw)
    word = _STATUS_GLOSS.sub("", word) or word
    return TARGET_STATUS.get(word.removeprefix("已"))


def _code(value: str) -> str:
    return _NO_SPACE.sub("", value)


def _compact_uscc(value: str) -> str:
    return _NO_SPACE.sub("", value).replace("-", "").upper()


def _max_len(model, name: str) -> int | None:
    return getattr(model.__table__.c[name].type, "length", None)


_LIMITS = {
    ("departments", "name"): _max_len(Department, "name"),
    ("departments", "short_name"): _max_len(Department, "short_name"),
    ("items", "name"): _max_len(Item, "name"),
    ("people", "name"): _max_len(Person, "name"),
    ("people", "cert_no"): _max_len(Person, "cert_no"),
    ("people", "phone"): _max_len(Person, "phone"),
    ("targets", "name"): _max_len(Target, "name"),
    ("targets", "legal_rep"): _max_len(Target, "legal_rep"),
    ("targets", "address"): _max_len(Target, "address"),
    ("targets", "industry"): _max_len(Target, "industry"),
    ("targets", "phone"): _max_len(Target, "phone"),
    ("targets", "registration_authority"): _max_len(Target, "registration_authority"),
    ("targets", "jurisdiction"): _max_len(Target, "jurisdiction"),
    ("conflicts", "cert_no"): _max_len(Conflict, "cert_no"),
}
_NATURAL_KEY_MAX = _max_len(Person, "natural_key") or 300


# ---------------------------------------------------------------------------------------------------------
# Parsing: one pass over the workbook, no database access.

@dataclass
class _Sheet:
    index: int  # position among the recognised sheets
    title: str
    spec: SheetSpec
    header_row: int
    col_of: dict[str, int]  # field → 0-based column
    error_col: int | None  # 0-based column of an existing 错误说明 (a re-uploaded annotated file)
    width: int  # widest row seen, in cells
    rows: int = 0  # data rows (blank rows skipped)


class _Parser:
    """Validates row by row and keeps only the parsed values.

    Targets and conflicts are keyed as they are read (their keys do not depend on other sheets); people and
    items name a department that may be defined in a later 单位 sheet, so their keys are made after the
    whole workbook has been read. A row with an error is still remembered by its key (as a 2-tuple), so it
    counts for duplicates and references and the user is not shown knock-on errors.
    """

    def __init__(self, lang: str, today: dt.date, credit: CreditScheme = DEFAULT_CREDIT_SCHEME,
                 industry: str | None = None) -> None:
        self.lang, self.today, self.credit = lang, today, credit
        self.industry = industry  # 行业类别 for the whole file, for lists without the column (or blank cells)
        self.unrecognised: list[tuple[str, list[str]]] = []  # (sheet title, headers seen) of ignored sheets
        self.sheets: list[_Sheet] = []
        self.errors: list[CellError] = []
        self.warnings: list[CellError] = []
        self.departments: dict[str, tuple] = {}  # name → (si, row[, short_name])
        self.items: list[tuple] = []  # (si, row, ok, department text, name, content, basis)
        self.people: list[tuple] = []  # (si, row, ok, name, department text, roles, cert, expiry, phone, active)
        self.targets: dict[str, tuple] = {}  # uscc → (si, row[, is_regno, name, legal_rep, address, …])
        self.conflicts: dict[tuple[str, str], tuple] = {}  # (cert, uscc) → (si, row[, reason])
        self._interned: dict[str, str] = {}

    # -- issues
    def _issue(self, sink: list[CellError], sheet: _Sheet, row: int | None, field_name: str | None, key: str, /,
               **params: Any) -> None:
        column = sheet.spec.column(field_name).header if field_name else None
        idx = sheet.col_of.get(field_name) if field_name else None
        sink.append(CellError(sheet.title, row, column, t(key, self.lang, **params),
                              None if idx is None else idx + 1, key, tuple(params.items())))

    def error(self, sheet: _Sheet, row: int, field_name: str | None, key: str, /, **params: Any) -> None:
        self._issue(self.errors, sheet, row, field_name, key, **params)

    def warn(self, sheet: _Sheet, row: int | None, field_name: str | None, key: str, /, **params: Any) -> None:
        self._issue(self.warnings, sheet, row, field_name, key, **params)

    def _intern(self, value: str | None) -> str | None:
        # Low-cardinality columns (行业类别 …) would otherwise hold 100,000 copies of the same string.
        if value is None:
            return None
        return self._interned.setdefault(value, value)

    # -- the workbook
    def parse(self, wb) -> None:
        for ws in wb.worksheets:
            ws.reset_dimensions()  # some writers store a wrong <dimension>; read-only mode would cut rows
            rows = _rows(ws)
            # The header is the row among the first few that matches a sheet best: platform exports put a
            # title (often merged across the columns, its value in the first cell only) and a date line above it.
            scanned = list(islice(rows, HEADER_SCAN_ROWS))
            found = None
            best_seen: list[str] = []
            for row_no, row in enumerate(scanned, 1):
                if all(v is None for v in row):
                    continue
                headers = [normalize_header(v) for v in row]
                seen = [h for h in headers if h]
                if len(seen) > len(best_seen):
                    best_seen = seen
                match = _recognise(headers)
                if match and (found is None or len(match[1]) > len(found[1][1])):
                    found = (row_no, match, headers, len(row))
            if not found:
                if best_seen:
                    self.unrecognised.append((ws.title, best_seen))
                    self.warn_sheet(ws.title, "import.warn.ignored_sheet", headers="、".join(best_seen[:20]))
                continue
            row_no, (spec, col_of), headers, width = found
            missing = [c.header for c in spec.columns
                       if c.required and not c.blank_ok and c.field not in col_of
                       and not (c.field == "industry" and self.industry)]
            if spec.kind == "targets" and missing == [spec.column("industry").header]:
                # A list from the platforms has no 行业类别: the admin names it for the whole file.
                raise _Fatal("import.fatal.industry_needed", sheet=ws.title)
            if missing:
                raise _Fatal("import.fatal.missing_column", sheet=ws.title, kind=spec.title,
                             columns="、".join(missing), seen="、".join(h for h in headers if h))
            error_col = next((i for i, h in enumerate(headers) if h.lower() in _ERROR_HEADERS), None)
            sheet = _Sheet(len(self.sheets), ws.title, spec, row_no, col_of, error_col, width)
            self.sheets.append(sheet)
            self._parse_rows(sheet, chain(scanned[row_no:], rows))

    def warn_sheet(self, title: str, key: str, **params: Any) -> None:
        self.warnings.append(CellError(title, None, None, t(key, self.lang, **params), key=key,
                                       params=tuple(params.items())))

    def _parse_rows(self, sheet: _Sheet, rows: Iterator[tuple]) -> None:
        handle: Callable[[_Sheet, int, dict[str, Any], bool], None] = getattr(self, f"_{sheet.spec.kind}")
        fields = list(sheet.col_of.items())
        required = [c.field for c in sheet.spec.columns if c.required and not c.blank_ok and c.field in sheet.col_of
                    and not (c.field == "industry" and self.industry)]
        kind = sheet.spec.kind
        limits = [(f, n) for (k, f), n in _LIMITS.items() if k == kind and n and f in sheet.col_of]
        width = sheet.width
        for row_no, row in enumerate(rows, sheet.header_row + 1):
            n = len(row)
            if not n:  # a row missing from the file, filled in by openpyxl: nothing to look at
                continue
            if n > width:
                width = n
            cells = {f: _cell(row[i]) if i < n else None for f, i in fields}
            if all(v is None for v in cells.values()):
                continue
            sheet.rows += 1
            before = len(self.errors)
            for f in required:
                if cells[f] is None:
                    self.error(sheet, row_no, f, "import.err.required")
            for f, limit in limits:
                v = cells[f]
                if v is not None and len(_text(v)) > limit:
                    self.error(sheet, row_no, f, "import.err.too_long", max=limit)
            handle(sheet, row_no, cells, len(self.errors) == before)
        sheet.width = width

    # -- one handler per sheet kind: (sheet, Excel row, {field: cell}, no error so far)
    def _departments(self, sheet: _Sheet, row: int, c: dict[str, Any], ok: bool) -> None:
        name = _text(c["name"])
        if name is None:
            return
        if name in self.departments:
            self.duplicate(sheet, row, "name", self.departments[name])
            return
        short = _text(c.get("short_name"))
        self.departments[name] = (sheet.index, row, short) if ok else (sheet.index, row)

    def _items(self, sheet: _Sheet, row: int, c: dict[str, Any], ok: bool) -> None:
        self.items.append((sheet.index, row, ok, _text(c["department"]), _text(c["name"]), _text(c.get("content")),
                           _text(c.get("basis"))))

    def _people(self, sheet: _Sheet, row: int, c: dict[str, Any], ok: bool) -> None:
        errors_before = len(self.errors)
        roles: set[str] = set()
        raw_roles = _text(c["roles"])
        if raw_roles is not None:
            bad = []
            for token in filter(None, _ROLE_SPLIT.split(raw_roles)):
                role = ROLE_BY_LABEL.get(token) or ROLE_BY_LABEL.get(token.lower())
                if role is None:
                    bad.append(token)
                else:
                    roles.add(role)
            if bad:
                self.error(sheet, row, "roles", "import.err.role", value="、".join(bad),
                           choices="、".join(ROLE_CHOICES))
        cert = c.get("cert_no")
        cert = _code(_text(cert)) if cert is not None else None
        expiry = None
        raw_expiry = c.get("cert_expiry")
        if raw_expiry is not None:
            expiry = _date(raw_expiry)
            if expiry is None:
                self.error(sheet, row, "cert_expiry", "import.err.date", value=_text(raw_expiry))
        if INSPECTOR_ROLE in roles:
            if cert is None:
                self.error(sheet, row, "cert_no", "import.err.cert_required")
            if raw_expiry is None:
                self.error(sheet, row, "cert_expiry", "import.err.expiry_required")
            elif expiry is not None and not certificate_valid_on(expiry, self.today):  # kept, never drawn
                self.warn(sheet, row, "cert_expiry", "import.warn.cert_expired", date=expiry.isoformat())
        active = True
        raw_status = _text(c.get("status"))
        if raw_status is not None:
            if raw_status in PERSON_STATUS:
                active = PERSON_STATUS[raw_status]
            else:
                self.error(sheet, row, "status", "import.err.person_status", value=raw_status)
        phone = c.get("phone")
        phone = _code(_text(phone)) if phone is not None else None
        ok = ok and len(self.errors) == errors_before
        roles_s = ",".join(r for r in ROLES if r in roles)
        self.people.append((sheet.index, row, ok, _text(c["name"]), _text(c["department"]), roles_s, cert, expiry,
                            phone, active))

    def _targets(self, sheet: _Sheet, row: int, c: dict[str, Any], ok: bool) -> None:
        raw = c["uscc"]
        if raw is None:
            return
        code, is_regno = self._uscc(sheet, row, "uscc", _text(raw))
        if code is None:
            return
        if code in self.targets:
            self.duplicate(sheet, row, "uscc", self.targets[code])
            return
        credit = _text(c.get("credit_class"))
        if credit is not None:
            canonical = self.credit.resolve(credit)  # stored by its canonical name, whatever the wording
            if canonical is not None:
                credit = canonical
            elif is_unclassified(credit):
                credit = None
            else:
                self.error(sheet, row, "credit_class", "import.err.credit_class", value=credit,
                           accepted="、".join(self.credit.words()))
                ok = False
        status = "正常"
        raw_status = _text(c.get("status"))
        if raw_status is not None:
            status = target_status(raw_status)
            if status is None:
                self.error(sheet, row, "status", "import.err.target_status", value=raw_status,
                           choices="、".join(TARGET_STATUS))
                ok = False
        if not ok:
            self.targets[code] = (sheet.index, row)
            return
        phone = c.get("phone")
        industry = _text(c.get("industry")) or self.industry
        self.targets[code] = (sheet.index, row, is_regno, _text(c["name"]), _text(c.get("legal_rep")),
                              _text(c.get("address")) or "", self._intern(industry), credit,
                              _code(_text(phone)) if phone is not None else None, status,
                              self._intern(_text(c.get("registration_authority"))),
                              self._intern(_text(c.get("jurisdiction"))))

    def _conflicts(self, sheet: _Sheet, row: int, c: dict[str, Any], ok: bool) -> None:
        if c["cert_no"] is None or c["uscc"] is None:
            return
        cert = _code(_text(c["cert_no"]))
        code, _ = self._uscc(sheet, row, "uscc", _text(c["uscc"]))
        if code is None:
            return
        key = (cert, code)
        if key in self.conflicts:
            self.duplicate(sheet, row, "uscc", self.conflicts[key])
            return
        self.conflicts[key] = (sheet.index, row, _text(c.get("reason"))) if ok else (sheet.index, row)

    # -- helpers
    def _uscc(self, sheet: _Sheet, row: int, field_name: str, raw: str) -> tuple[str | None, bool]:
        """(code, is_regno); (None, False) after reporting the error. A 15-digit 注册号 is accepted as such."""
        code = _compact_uscc(raw)
        if len(code) == 15 and code.isdigit():
            return code, True
        try:
            uscc_check.validate(code)
        except InvalidChecksum:
            self.error(sheet, row, field_name, "import.err.uscc_check", value=raw)
            return None, False
        except ValidationError:
            self.error(sheet, row, field_name, "import.err.uscc_format", value=raw)
            return None, False
        return code, False

    def duplicate(self, sheet: _Sheet, row: int, field_name: str, first: tuple) -> None:
        self.error(sheet, row, field_name, "import.err.duplicate", first_sheet=self.sheets[first[0]].title,
                   first_row=first[1])


# ---------------------------------------------------------------------------------------------------------
# Cross-sheet checks against the database, then the writes.

def _chunks(iterable: Iterable, size: int = CHUNK) -> Iterator[list]:
    it = iter(iterable)
    while batch := list(islice(it, size)):
        yield batch


class _Departments:
    """Full names from the file and the database; a 简称 is accepted where it names exactly one."""

    def __init__(self, session: Session, parser: _Parser) -> None:
        self.db = {name: (id_, short) for id_, name, short in
                   session.execute(select(Department.id, Department.name, Department.short_name))}
        shorts = {name: short for name, (_, short) in self.db.items()}
        for name, rec in parser.departments.items():
            has_short = len(rec) > 2 and "short_name" in parser.sheets[rec[0]].col_of
            shorts[name] = rec[2] if has_short else shorts.get(name)
        self.names = set(shorts)
        by_short: dict[str, set[str]] = defaultdict(set)
        for name, short in shorts.items():
            if short:
                by_short[short].add(name)
        self.by_short = {s: next(iter(n)) for s, n in by_short.items() if len(n) == 1}

    def resolve(self, text: str | None) -> str | None:
        if text is None:
            return None
        if text in self.names:
            return text
        return self.by_short.get(text)


def _existing(session: Session, column, values: Iterable) -> set:
    found: set = set()
    for batch in _chunks(sorted(set(values))):
        found.update(session.scalars(select(column).where(column.in_(batch))))
    return found


def _cross_check(session: Session, p: _Parser, deps: _Departments) -> tuple[list, list]:
    """Resolve departments, key people and items, check duplicates and 回避关系 references."""
    sheets = p.sheets
    items: list[tuple] = []
    first: dict[Any, tuple] = {}
    for si, row, ok, dept_text, name, content, basis in p.items:
        sheet = sheets[si]
        dept = deps.resolve(dept_text)
        if dept is None and dept_text is not None:
            p.error(sheet, row, "department", "import.err.unknown_department", value=dept_text)
            ok = False
        if dept is None or name is None:
            continue
        key = (dept, name)
        if key in first:
            p.duplicate(sheet, row, "name", first[key])
            continue
        first[key] = (si, row)
        if ok:
            items.append((si, dept, name, content, basis))

    people: list[tuple] = []
    first = {}
    for si, row, ok, name, dept_text, roles, cert, expiry, phone, active in p.people:
        sheet = sheets[si]
        dept = deps.resolve(dept_text)
        if dept is None and dept_text is not None:
            p.error(sheet, row, "department", "import.err.unknown_department", value=dept_text)
            ok = False
        if cert:
            key = f"cert:{cert}"
        elif dept is not None and name is not None:
            key = f"ndp:{dept}|{name}|{phone or ''}"
        else:
            continue
        if len(key) > _NATURAL_KEY_MAX:
            p.error(sheet, row, "name", "import.err.too_long", max=_NATURAL_KEY_MAX - len(key) + len(name or ""))
            continue
        if key in first:
            p.duplicate(sheet, row, "cert_no" if cert else "name", first[key])
            continue
        first[key] = (si, row)
        if ok and dept is not None:
            people.append((si, key, name, dept, roles, cert, expiry, phone, active))

    if p.conflicts:
        file_certs = {rec[6] for rec in p.people if rec[6]}
        certs = {c for c, _ in p.conflicts} - file_certs
        usccs = {u for _, u in p.conflicts} - p.targets.keys()
        known_certs = file_certs | _existing(session, Person.cert_no, certs)
        known_usccs = _existing(session, Target.uscc, usccs)
        for (cert, code), rec in p.conflicts.items():
            sheet = sheets[rec[0]]
            if cert not in known_certs:
                p.error(sheet, rec[1], "cert_no", "import.err.unknown_cert", value=cert)
            if code not in known_usccs and code not in p.targets:
                p.error(sheet, rec[1], "uscc", "import.err.unknown_uscc", value=code)
    return items, people


class _Counter:
    def __init__(self) -> None:
        self.added = self.updated = self.unchanged = 0

    def as_dict(self) -> dict[str, int]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged}


Lookup = Callable[[list], dict[Any, tuple[int, dict[str, Any]]]]


def _sync(session: Session, model, rows: Iterable[tuple[Any, dict[str, Any]]], lookup: Lookup,
          now: dt.datetime, counter: _Counter, insert_defaults: dict[str, Any] | None = None) -> None:
    """Upsert by key in chunks: rows are (key, {field: value}) holding exactly the fields the file sets
    (a column absent from the sheet leaves the stored value alone); lookup(keys) → {key: (id, current)}."""
    for batch in _chunks(rows):
        found = lookup([key for key, _ in batch])
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for key, values in batch:
            hit = found.get(key)
            if hit is None:
                values["updated_at"] = now
                inserts.append({**insert_defaults, **values} if insert_defaults else values)
                counter.added += 1
                continue
            row_id, current = hit
            if all(current[f] == v for f, v in values.items()):
                counter.unchanged += 1
            else:
                values["id"], values["updated_at"] = row_id, now
                updates.append(values)
                counter.updated += 1
        # Updates first: one may free a unique value (a 执法证号 moved to another person) that an insert takes.
        if updates:
            session.execute(update(model), updates)
        if inserts:
            # render_nulls: a None must not drop its column from the INSERT, or the ORM splits the batch
            # into one statement per run of rows with the same non-null columns (thousands on PostgreSQL).
            session.execute(insert(model).execution_options(render_nulls=True), inserts)


def _select_by(session: Session, model, key_col, fields: tuple[str, ...], keys: list) -> dict:
    fields = tuple(f for f in fields if f != key_col.key)
    cols = [getattr(model, f) for f in fields]
    out = {}
    for row in session.execute(select(model.id, key_col, *cols).where(key_col.in_(keys))):
        current = dict(zip(fields, row[2:]))
        current[key_col.key] = row[1]
        out[row[1]] = (row[0], current)
    return out


def _present(sheet: _Sheet, optional: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f for f in optional if f in sheet.col_of)


def _write(session: Session, p: _Parser, deps: _Departments, items: list, people: list) -> dict[str, dict]:
    now = utcnow()
    kinds = {s.spec.kind for s in p.sheets}
    counters = {s.kind: _Counter() for s in SHEETS if s.kind in kinds}
    sheets = p.sheets

    # Departments first: items and people refer to them by id.
    if "departments" in counters:
        def dep_rows():
            for name, rec in p.departments.items():
                values: dict[str, Any] = {"name": name}
                if "short_name" in sheets[rec[0]].col_of:
                    values["short_name"] = rec[2]
                yield name, values

        def dep_lookup(keys):
            return {k: (deps.db[k][0], {"name": k, "short_name": deps.db[k][1]}) for k in keys if k in deps.db}

        _sync(session, Department, dep_rows(), dep_lookup, now, counters["departments"])

    needed = {rec[3] for rec in people} | {rec[1] for rec in items}
    dept_ids = dict(session.execute(select(Department.name, Department.id).where(Department.name.in_(needed))).all()
                    ) if needed else {}

    if "items" in counters:
        fields = ("department_id", "name", "content", "basis")
        current = {}
        if dept_ids:
            for row in session.execute(select(Item.id, *[getattr(Item, f) for f in fields])
                                       .where(Item.department_id.in_(sorted(set(dept_ids.values()))))):
                current[(row[1], row[2])] = (row[0], dict(zip(fields, row[1:])))

        def item_rows():
            for si, dept, name, content, basis in items:
                values: dict[str, Any] = {"department_id": dept_ids[dept], "name": name}
                optional = {"content": content, "basis": basis}
                values.update({f: optional[f] for f in _present(sheets[si], ("content", "basis"))})
                yield (values["department_id"], name), values

        _sync(session, Item, item_rows(), lambda keys: {k: current[k] for k in keys if k in current}, now,
              counters["items"])

    if "people" in counters:
        fields = ("natural_key", "name", "department_id", "roles", "cert_no", "cert_expiry", "phone", "active")
        file_keys = {rec[1] for rec in people}

        def people_lookup(keys):
            found = _select_by(session, Person, Person.natural_key, fields, keys)
            # A row first keyed by 单位+姓名+手机号 that has since been given this 执法证号 (e.g. by an edit in
            # chat) is the same person: match it by certificate rather than insert a clashing duplicate.
            by_cert = {k[5:]: k for k in keys if k not in found and k.startswith("cert:")}
            if by_cert:
                for row_id, values in _select_by(session, Person, Person.cert_no, fields, list(by_cert)).values():
                    if values["natural_key"] not in file_keys:
                        found[by_cert[values["cert_no"]]] = (row_id, values)
            return found

        def people_rows():
            for si, key, name, dept, roles, cert, expiry, phone, active in people:
                values: dict[str, Any] = {"natural_key": key, "name": name, "department_id": dept_ids[dept],
                                          "roles": roles, "cert_no": cert}
                col_of = sheets[si].col_of
                if "cert_expiry" in col_of:
                    values["cert_expiry"] = expiry
                if "phone" in col_of:
                    values["phone"] = phone
                if "status" in col_of:  # 状态 → active
                    values["active"] = active
                yield key, values

        _sync(session, Person, people_rows(), people_lookup, now, counters["people"])

    if "targets" in counters:
        fields = ("uscc", "is_regno", "name", "legal_rep", "address", "industry", "credit_class", "phone", "status",
                  "registration_authority", "jurisdiction")
        optional = ("legal_rep", "address", "credit_class", "phone", "status", "registration_authority",
                    "jurisdiction")
        present = [_present(s, optional) for s in sheets]

        def target_rows():
            for code, rec in p.targets.items():
                si, _, is_regno, name, legal_rep, address, industry, credit, phone, status, authority, juris = rec
                values = {"uscc": code, "is_regno": is_regno, "name": name, "industry": industry}
                for f in present[si]:
                    values[f] = {"legal_rep": legal_rep, "address": address, "credit_class": credit,
                                 "phone": phone, "status": status, "registration_authority": authority,
                                 "jurisdiction": juris}[f]
                yield code, values

        # A list without 地址 leaves a stored address alone; a new target gets "" (forms show 未登记).
        _sync(session, Target, target_rows(), lambda keys: _select_by(session, Target, Target.uscc, fields, keys),
              now, counters["targets"], insert_defaults={"address": ""})

    if "conflicts" in counters:
        def conflict_lookup(keys):
            wanted = set(keys)
            out = {}
            for row in session.execute(select(Conflict.id, Conflict.cert_no, Conflict.uscc, Conflict.reason)
                                       .where(Conflict.cert_no.in_(sorted({c for c, _ in keys})))):
                if (row[1], row[2]) in wanted:
                    out[(row[1], row[2])] = (row[0], {"cert_no": row[1], "uscc": row[2], "reason": row[3]})
            return out

        def conflict_rows():
            for (cert, code), rec in p.conflicts.items():
                values: dict[str, Any] = {"cert_no": cert, "uscc": code}
                if "reason" in sheets[rec[0]].col_of:
                    values["reason"] = rec[2]
                yield (cert, code), values

        _sync(session, Conflict, conflict_rows(), conflict_lookup, now, counters["conflicts"])

    session.flush()
    return {kind: c.as_dict() for kind, c in counters.items()}


# ---------------------------------------------------------------------------------------------------------
# The annotated copy (error case only).

def _row_note(errors: list[CellError]) -> str:
    return "；".join(f"{e.column}：{e.reason}" if e.column else e.reason for e in errors)[:32000]


def _annotate(data: bytes, sheets: list[_Sheet], errors: list[CellError], lang: str) -> bytes | None:
    by_sheet: dict[str, dict[int, list[CellError]]] = defaultdict(lambda: defaultdict(list))
    for e in errors:
        if e.row is not None:
            by_sheet[e.sheet][e.row].append(e)
    info = {s.title: s for s in sheets}
    label = t("import.error_column", lang)
    # The whole-workbook reader keeps the formatting but is stricter than the streaming one the rows were read
    # with (a damaged style index, say): then the values-only copy; if even that fails, no copy — the answer
    # still lists the errors with their rows.
    attempts = [_annotate_streaming]
    if sum(s.rows for s in sheets) <= STREAM_ANNOTATE_ROWS:
        attempts.insert(0, _annotate_whole)
    for attempt in attempts:
        try:
            return attempt(data, by_sheet, info, label)
        except Exception as exc:  # noqa: BLE001 — anything the reader trips over in a damaged upload
            log.info("could not annotate the workbook (%s): %s", attempt.__name__, exc)
    return None


def _annotate_whole(data: bytes, by_sheet: dict, info: dict[str, _Sheet], label: str) -> bytes:
    # Loaded whole (formulas and formatting kept) — fine at this size, and only when there are errors.
    wb = openpyxl.load_workbook(BytesIO(data))
    for title, rows in by_sheet.items():
        sheet, ws = info[title], wb[title]
        col = sheet.error_col + 1 if sheet.error_col is not None else max(ws.max_column, sheet.width) + 1
        if sheet.error_col is not None:  # a re-uploaded annotated file: the old notes go
            for r in range(sheet.header_row + 1, ws.max_row + 1):
                ws.cell(r, col).value = None
        head = ws.cell(sheet.header_row, col, label)
        head.font = ERROR_HEADER_FONT
        for r, errs in rows.items():
            note = ws.cell(r, col, _row_note(errs))
            note.font = ERROR_FONT
            note.alignment = Alignment(wrap_text=True, vertical="top")
            for e in errs:
                if e.col is not None:
                    ws.cell(r, e.col).fill = ERROR_FILL
        ws.column_dimensions[get_column_letter(col)].width = 60
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _annotate_streaming(data: bytes, by_sheet: dict, info: dict[str, _Sheet], label: str) -> bytes:
    """Values only (formatting is not kept), but memory stays flat however big the file is."""
    src = openpyxl.load_workbook(BytesIO(data), read_only=True, data_only=True)
    out = openpyxl.Workbook(write_only=True)
    try:
        for ws in src.worksheets:
            ws.reset_dimensions()
            dst = out.create_sheet(ws.title)
            rows_err = by_sheet.get(ws.title)
            sheet = info.get(ws.title)
            if not rows_err or sheet is None:
                try:
                    for row in _rows(ws):
                        dst.append(row)
                except _Fatal:
                    # Damage in a sheet the import did not read to the end (one it did not recognise): the
                    # copy keeps what could be read rather than coming back without the error column at all.
                    log.info("annotated copy: sheet %r cut where it is damaged", ws.title)
                continue
            col = sheet.error_col + 1 if sheet.error_col is not None else sheet.width + 1
            dst.column_dimensions[get_column_letter(col)].width = 60
            for r, row in enumerate(_rows(ws), 1):
                errs = rows_err.get(r)
                if r == sheet.header_row:
                    cells: list[Any] = list(row) + [None] * max(0, col - len(row))
                    head = WriteOnlyCell(dst, value=label)
                    head.font = ERROR_HEADER_FONT
                    cells[col - 1] = head
                    dst.append(cells)
                elif errs or (sheet.error_col is not None and r > sheet.header_row):
                    cells = list(row) + [None] * max(0, col - len(row))
                    cells[col - 1] = None
                    for e in errs or ():
                        if e.col is not None:
                            cell = WriteOnlyCell(dst, value=cells[e.col - 1])
                            cell.fill = ERROR_FILL
                            cells[e.col - 1] = cell
                    if errs:
                        note = WriteOnlyCell(dst, value=_row_note(errs))
                        note.font = ERROR_FONT
                        cells[col - 1] = note
                    dst.append(cells)
                else:
                    dst.append(row)
    finally:
        src.close()
    buf = BytesIO()
    out.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------------------

def known_industries(session: Session) -> list[str]:
    """The 行业类别 already in the directory, the most common first."""
    return list(session.scalars(select(Target.industry).where(Target.industry != "").group_by(Target.industry)
                                .order_by(func.count().desc(), Target.industry)))


def import_workbook(session: Session, data: bytes, *, actor: str, filename: str, today: dt.date,
                    lang: str = "zh", max_bytes: int = MAX_BYTES, credit: CreditScheme = DEFAULT_CREDIT_SCHEME,
                    industry: str | None = None) -> ImportOutcome:
    """Import a directory workbook (any subset of the five sheets), all or nothing. Adds and flushes. `credit`
    is the configuration's scheme (`cfg.credit_scheme`): a class in any of its words is stored canonically.
    `industry`: the 行业类别 of every target of a list without that column (or with the cell blank)."""
    industry = (industry or "").strip(_STRIP) or None
    if industry is not None and len(industry) > (_LIMITS[("targets", "industry")] or 100):
        return _fatal("import.fatal.industry_too_long", lang, max=_LIMITS[("targets", "industry")])
    try:
        _check_container(data, max_bytes)
    except _Fatal as f:
        return _fatal(f.key, lang, **f.params)
    try:
        wb = openpyxl.load_workbook(BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 — anything openpyxl trips over in an upload is a damaged file
        log.info("unreadable workbook %r: %s", filename, exc)
        return _fatal("import.fatal.corrupt", lang)
    parser = _Parser(lang, today, credit, industry)
    try:
        parser.parse(wb)
    except _Fatal as f:
        outcome = _fatal(f.key, lang, **f.params)
        if outcome.needs_industry:
            outcome.known_industries = known_industries(session)
        return outcome
    finally:
        wb.close()
    if not parser.sheets:
        seen = "；".join(f"「{title}」{'、'.join(h[:20])}" for title, h in parser.unrecognised) or "-"
        needed = "；".join(f"{s.title}（{'、'.join(c.header for c in s.columns if c.required)}）" for s in SHEETS)
        return _fatal("import.fatal.no_sheet", lang, sheets="、".join(s.title for s in SHEETS), seen=seen,
                      needed=needed)

    sha = hashlib.sha256(data).hexdigest()
    if not any(s.rows for s in parser.sheets):
        # A blank template: accepted, but there is nothing to write or to record.
        counts = {s.kind: _Counter().as_dict() for s in SHEETS if any(x.spec is s for x in parser.sheets)}
        return ImportOutcome(ok=True, counts=counts, warnings=parser.warnings, sha256=sha, lang=lang)

    deps = _Departments(session, parser)
    items, people = _cross_check(session, parser, deps)
    if parser.errors:
        order = {s.title: s.index for s in parser.sheets}
        errors = sorted(parser.errors, key=lambda e: (order.get(e.sheet, -1), e.row or 0, e.col or 0))
        return ImportOutcome(ok=False, errors=errors, warnings=parser.warnings, sha256=sha, lang=lang,
                             annotated=_annotate(data, parser.sheets, errors, lang))

    counts = _write(session, parser, deps, items, people)
    session.add(ImportRecord(actor=actor[:100], filename=filename[:300], sha256=sha, counts=counts))
    audit.record(session, actor=actor, action="import", subject=filename[:200], data={"counts": counts, "sha256": sha})
    log.info("imported %s (%s) by %s: %s", filename, sha[:12], actor, counts)
    return ImportOutcome(ok=True, counts=counts, warnings=parser.warnings, sha256=sha, lang=lang)


__all__ = ["CellError", "Column", "ImportOutcome", "SHEETS", "SHEET_BY_KIND", "SheetSpec", "annotated_filename",
           "import_workbook", "normalize_header"]
