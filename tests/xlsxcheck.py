"""A second reader for built workbooks, independent of openpyxl: the package rules whose breach makes Excel or
WPS offer to "repair" a file (unparsable XML, parts missing from [Content_Types].xml, dangling relationships,
bad sheet names, cells or rows out of order, overlapping merged ranges, string indexes past the table)."""

from __future__ import annotations

import posixpath
import re
import zipfile
from io import BytesIO
from xml.etree import ElementTree as ET

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_REF = re.compile(r"^([A-Z]{1,3})([0-9]+)$")


def check_xlsx(data: bytes) -> None:
    """Raise AssertionError naming the first problem found in the .xlsx `data`."""
    try:
        zf = zipfile.ZipFile(BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise AssertionError(f"not a zip file: {exc}") from None
    with zf:
        bad = zf.testzip()
        assert bad is None, f"zip member {bad} is corrupt"
        names = set(zf.namelist())
        trees = {}
        for name in sorted(names):
            if name.endswith((".xml", ".rels", ".vml")):
                try:
                    trees[name] = ET.fromstring(zf.read(name))
                except ET.ParseError as exc:
                    raise AssertionError(f"{name}: XML does not parse: {exc}") from None

    assert "[Content_Types].xml" in trees, "no [Content_Types].xml"
    types = trees["[Content_Types].xml"]
    overrides = {o.get("PartName").lstrip("/"): o.get("ContentType") for o in types.iter(f"{CT}Override")}
    defaults = {d.get("Extension").lower(): d.get("ContentType") for d in types.iter(f"{CT}Default")}
    for part in overrides:
        assert part in names, f"[Content_Types].xml lists {part}, which is not in the package"
    for name in names:
        ext = name.rsplit(".", 1)[-1].lower()
        assert name in overrides or ext in defaults, f"{name} has no content type"

    assert "_rels/.rels" in trees, "no _rels/.rels"
    docs = [r.get("Target") for r in trees["_rels/.rels"].iter(f"{PKG_REL}Relationship")
            if r.get("Type") == OFFICE_DOCUMENT]
    assert len(docs) == 1, f"_rels/.rels has {len(docs)} officeDocument relationships"
    workbook = _resolve("", docs[0])
    assert workbook in trees, f"the workbook part {workbook} is missing"
    rels_name = posixpath.join(posixpath.dirname(workbook), "_rels", posixpath.basename(workbook) + ".rels")
    assert rels_name in trees, f"{rels_name} is missing"
    rels = {r.get("Id"): _resolve(posixpath.dirname(workbook), r.get("Target"))
            for r in trees[rels_name].iter(f"{PKG_REL}Relationship") if r.get("TargetMode") != "External"}
    for rid, target in rels.items():
        assert target in names, f"{rels_name}: {rid} points at {target}, which is not in the package"

    book = trees[workbook]
    sheets = book.findall(f"{MAIN}sheets/{MAIN}sheet")
    assert sheets, "the workbook has no sheets"
    seen_names: set[str] = set()
    seen_ids: set[str] = set()
    sheet_names = []
    for sheet in sheets:
        name = sheet.get("name") or ""
        units = len(name.encode("utf-16-le")) // 2  # Excel counts UTF-16 units: 𠀋 is two
        assert units > 0, "sheet name '' is not 1–31 characters: it is empty"
        assert units <= 31, f"sheet name {name!r} is not 1–31 characters: it is {units} UTF-16 units long"
        assert not _BAD_SHEET_CHARS.search(name), f"sheet name {name!r} has a character Excel forbids"
        assert not name.startswith("'") and not name.endswith("'"), f"sheet name {name!r} begins or ends with '"
        assert name.lower() not in seen_names, f"sheet name {name!r} is used twice (Excel ignores case)"
        seen_names.add(name.lower())
        assert sheet.get("sheetId") not in seen_ids, f"sheetId {sheet.get('sheetId')} is used twice"
        seen_ids.add(sheet.get("sheetId"))
        part = rels.get(sheet.get(f"{REL}id"))
        assert part is not None, f"sheet {name!r}: relationship {sheet.get(f'{REL}id')} not in {rels_name}"
        if overrides.get(part) == WORKSHEET_TYPE:
            _check_worksheet(part, trees[part], trees, rels)
        sheet_names.append(name)
    for part, kind in overrides.items():
        if kind == WORKSHEET_TYPE:
            assert part in rels.values(), f"worksheet {part} is not referenced by the workbook"
    for sheet in sheets:
        part = rels[sheet.get(f"{REL}id")]
        assert overrides.get(part) == WORKSHEET_TYPE or part.startswith("xl/chartsheets/"), \
            f"[Content_Types].xml does not list worksheet {part}"

    for dn in book.iter(f"{MAIN}definedName"):
        local = dn.get("localSheetId")
        if local is not None:
            assert 0 <= int(local) < len(sheets), f"defined name {dn.get('name')} refers to sheet index {local}"
        if dn.get("name") == "_xlnm.Print_Area":
            ref = dn.text or ""
            sheet_part = ref.rsplit("!", 1)[0]
            if sheet_part.startswith("'"):
                sheet_part = sheet_part[1:-1].replace("''", "'")
            assert sheet_part in sheet_names, f"print area {ref!r} names no sheet of the workbook"


def _check_worksheet(part: str, root: ET.Element, trees: dict, rels: dict) -> None:
    assert root.tag == f"{MAIN}worksheet", f"{part}: root element is {root.tag}"
    strings = None
    for target in rels.values():
        if target in trees and trees[target].tag == f"{MAIN}sst":
            strings = len(trees[target].findall(f"{MAIN}si"))
    last_row = 0
    for row in root.iter(f"{MAIN}row"):
        r = int(row.get("r"))
        assert r > last_row, f"{part}: row {r} after row {last_row}"
        last_row = r
        last_col = 0
        for c in row.findall(f"{MAIN}c"):
            ref = c.get("r")
            if ref is None:
                continue
            m = _REF.match(ref)
            assert m, f"{part}: bad cell reference {ref!r}"
            assert int(m.group(2)) == r, f"{part}: cell {ref} inside row {r}"
            col = _col_number(m.group(1))
            assert col > last_col, f"{part}: cell {ref} out of order in row {r}"
            last_col = col
            if c.get("t") == "s":
                v = c.find(f"{MAIN}v")
                assert v is not None and v.text is not None, f"{part}: shared-string cell {ref} has no index"
                assert strings is not None, f"{part}: cell {ref} refers to a shared string table that is missing"
                assert 0 <= int(v.text) < strings, f"{part}: cell {ref} refers to string {v.text} of {strings}"
    merges = root.find(f"{MAIN}mergeCells")
    if merges is not None:
        refs = [m.get("ref") for m in merges.findall(f"{MAIN}mergeCell")]
        count = merges.get("count")
        assert count is None or int(count) == len(refs), f"{part}: mergeCells count {count}, {len(refs)} listed"
        covered: dict[tuple[int, int], str] = {}
        for ref in refs:
            first, _, last = ref.partition(":")
            (c1, r1), (c2, r2) = _cell(part, first), _cell(part, last or first)
            assert c1 <= c2 and r1 <= r2, f"{part}: merged range {ref} is reversed"
            assert (c1, r1) != (c2, r2), f"{part}: merged range {ref} is a single cell"
            for rr in range(r1, r2 + 1):
                for cc in range(c1, c2 + 1):
                    other = covered.setdefault((cc, rr), ref)
                    assert other == ref, f"{part}: merged ranges {other} and {ref} overlap"


def _cell(part: str, ref: str) -> tuple[int, int]:
    m = _REF.match(ref.replace("$", ""))
    assert m, f"{part}: bad reference {ref!r}"
    return _col_number(m.group(1)), int(m.group(2))


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _resolve(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(base, target))
