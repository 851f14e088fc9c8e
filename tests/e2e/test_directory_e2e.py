"""End-to-end over HTTP (issue 2): directory import by document, /targets, invites, refusals, and a kill -9
between two updates."""

from __future__ import annotations

import io
import re
import time

import openpyxl
import pytest
from sqlalchemy import func, select

from bot.db import make_engine, make_sessionmaker
from bot.devtools.sample_data import sample_workbook
from models import AuditEntry, ImportRecord, Person, ProcessedUpdate, Target
from tests.e2e.conftest import ADMIN_ID

pytestmark = pytest.mark.e2e


def _count(db_url, model) -> int:
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine).begin() as s:
            return s.scalar(select(func.count()).select_from(model))
    finally:
        engine.dispose()


def _wait_text(emu, chat, n, timeout=30):
    """The n-th bot message in chat once its text is final (the import edits its progress message)."""
    def ready(e):
        msgs = e.sent_to(chat)
        if len(msgs) > n and msgs[n].text and "请稍候" not in msgs[n].text:
            return msgs[n]
        return None
    return emu.wait_for(ready, timeout)


def _first_target(data: bytes) -> tuple[str, str]:
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    for ws in wb.worksheets:
        rows = ws.iter_rows(values_only=True)
        header = [str(c or "").strip().rstrip("*") for c in next(rows)]
        if "统一社会信用代码" in header:
            row = next(rows)
            return str(row[header.index("名称")]), str(row[header.index("统一社会信用代码")])
    raise AssertionError("no target sheet")


def test_admin_imports_workbook_and_finds_target(emu, bot, db_url):
    admin = emu.user(ADMIN_ID, "管理员", language_code="zh-hans")
    data = sample_workbook(n_targets=30)
    admin.send_document(data, filename="名录.xlsx")
    reply = _wait_text(emu, admin, 0)
    assert "新增" in reply.text, reply.text
    assert _count(db_url, Target) == 30 and _count(db_url, Person) > 10
    name, uscc = _first_target(data)
    admin.send(f"/targets {uscc}")
    found = emu.wait_reply(admin, 1, timeout=15)
    assert name in found.text and uscc in found.text


def test_bad_check_digit_returns_annotated_workbook_and_writes_nothing(emu, bot, db_url):
    admin = emu.user(ADMIN_ID, "管理员")
    data = sample_workbook(n_targets=5)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    bad_cell = None
    for ws in wb.worksheets:
        header = [str(c.value or "").strip().rstrip("*") for c in ws[1]]
        if "统一社会信用代码" in header and "名称" in header:
            col = header.index("统一社会信用代码") + 1
            cell = ws.cell(row=3, column=col)
            last = cell.value[-1]
            cell.value = cell.value[:-1] + ("0" if last != "0" else "1")
            bad_cell = (ws.title, 3)
    buf = io.BytesIO()
    wb.save(buf)
    admin.send_document(buf.getvalue(), filename="坏名录.xlsx")
    reply = _wait_text(emu, admin, 0)
    assert "错误" in reply.text and "未写入" in reply.text, reply.text
    doc = emu.wait_for(lambda e: [m for m in e.sent_to(admin) if m.document], timeout=15)[0]
    annotated = openpyxl.load_workbook(io.BytesIO(doc.data))
    ws = annotated[bad_cell[0]]
    header = [str(c.value or "") for c in ws[1]]
    assert "错误说明" in header
    note = ws.cell(row=bad_cell[1], column=header.index("错误说明") + 1).value
    assert note and "统一社会信用代码" in note
    assert _count(db_url, Target) == 0 and _count(db_url, Person) == 0 and _count(db_url, ImportRecord) == 0


def test_wrong_files_get_clear_errors(emu, bot, db_url):
    admin = emu.user(ADMIN_ID, "管理员")
    admin.send_document(b"name,uscc\n", filename="list.csv", mime_type="text/csv")
    assert ".xlsx" in _wait_text(emu, admin, 0).text
    admin.send_document(b"x" * (10 * 1024 * 1024 + 1), filename="big.xlsx")
    assert "过大" in _wait_text(emu, admin, 1).text
    admin.send_document(b"PK\x03\x04 not really a zip", filename="broken.xlsx")
    assert "未写入" in _wait_text(emu, admin, 2).text or "无法" in _wait_text(emu, admin, 2).text
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["名称", "法定代表人/负责人", "地址", "行业类别"])  # 统一社会信用代码 is missing
    ws.append(["某网吧", "张三", "西华县", "互联网上网服务营业场所"])
    buf = io.BytesIO()
    wb.save(buf)
    admin.send_document(buf.getvalue(), filename="缺列.xlsx")
    text = _wait_text(emu, admin, 3).text
    assert "统一社会信用代码" in text, text
    assert _count(db_url, Target) == 0


def test_non_admin_cannot_import_invite_or_bind(emu, bot, db_url):
    admin = emu.user(ADMIN_ID, "管理员")
    admin.send_document(sample_workbook(n_targets=3), filename="名录.xlsx")
    _wait_text(emu, admin, 0)
    stranger = emu.user(7001, "路人")
    stranger.send_document(sample_workbook(n_targets=3, seed=1), filename="名录.xlsx")
    assert "邀请码" in emu.wait_reply(stranger, 0).text
    stranger.send("/invite 张三")
    assert "邀请码" in emu.wait_reply(stranger, 1).text
    group = emu.group(-1001234, "联合抽查群")
    stranger.send("/bindgroup", chat=group)
    assert "邀请码" in emu.wait_reply(group, 0).text
    assert _count(db_url, Target) == 3


def test_invite_start_binds_and_code_works_once(emu, bot, db_url):
    admin = emu.user(ADMIN_ID, "管理员")
    admin.send_document(sample_workbook(n_targets=3), filename="名录.xlsx")
    _wait_text(emu, admin, 0)
    engine = make_engine(db_url)
    with make_sessionmaker(engine).begin() as s:
        inspector = s.scalars(select(Person).where(Person.cert_no.is_not(None)).order_by(Person.id)).first()
        cert, name = inspector.cert_no, inspector.name
    engine.dispose()
    admin.send(f"/invite {cert}")
    text = emu.wait_reply(admin, 1).text
    code = re.search(r"/start ([A-Z0-9]+)", text).group(1)
    assert f"?start={code}" in text
    worker = emu.user(8101, "检查员")
    worker.send(f"/start {code}")
    assert "绑定成功" in emu.wait_reply(worker, 0).text and name in emu.wait_reply(worker, 0).text
    other = emu.user(8102, "另一人")
    other.send(f"/start {code}")
    assert "已被使用" in emu.wait_reply(other, 0).text
    worker.send("/me")
    assert cert in emu.wait_reply(worker, 1).text


def test_kill9_between_updates_loses_nothing_and_repeats_nothing(emu, bot, db_url):
    admin = emu.user(ADMIN_ID, "管理员")
    # The confirming getUpdates after the import is held up, so the kill lands after the import committed
    # but before Telegram was told: the update is re-delivered to the restarted bot, which must drop it.
    admin.send("/help")  # a round trip first: afterwards the bot sits in a fresh long poll
    emu.wait_reply(admin, 0, timeout=15)
    time.sleep(0.3)
    emu.delay("getUpdates", 5, times=1)  # applies to the next poll, the one that follows the import
    admin.send_document(sample_workbook(n_targets=20), filename="名录.xlsx")
    _wait_text(emu, admin, 1)
    time.sleep(0.5)
    bot.kill9()
    assert emu.pending_updates(), "the import update should still be unconfirmed"
    bot.start(emu)
    emu.wait_for(lambda e: not e.pending_updates(), timeout=15)
    admin.send("/targets 网")
    emu.wait_reply(admin, 2, timeout=15)
    time.sleep(0.5)
    texts = [m.text for m in emu.sent_to(admin)]
    assert sum("新增" in (t or "") for t in texts) == 1, texts
    assert _count(db_url, Target) == 20 and _count(db_url, ImportRecord) == 1
    engine = make_engine(db_url)
    with make_sessionmaker(engine).begin() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "import")) == 1
        assert s.scalar(select(func.count()).select_from(ProcessedUpdate)) >= 2
    engine.dispose()
