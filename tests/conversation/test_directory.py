"""Directory import by document and the paged directory views, through the real Application."""

from __future__ import annotations

import io

import openpyxl
from sqlalchemy import func, select

from bot.devtools.sample_data import sample_workbook
from models import Item, Person, Target
from tests.conversation.conftest import CONFIG_ADMIN_ID


def _count(sessions, model) -> int:
    with sessions.begin() as s:
        return s.scalar(select(func.count()).select_from(model))


async def _import(chat, n=30):
    await chat.as_user(CONFIG_ADMIN_ID).send_document(sample_workbook(n_targets=n), "名录.xlsx")


async def test_admin_import_reports_counts_then_reimport_is_unchanged(chat, sessions):
    await _import(chat)
    first = chat.last_text()
    assert "新增" in first and _count(sessions, Target) == 30
    await _import(chat)
    assert "未变" in chat.last_text() and _count(sessions, Target) == 30


async def test_import_in_group_or_by_inspector_is_refused(chat, sessions, people):
    await chat.as_user(6003).send_document(sample_workbook(n_targets=3), "名录.xlsx")
    assert "权限" in chat.last_text()
    assert _count(sessions, Target) == 0


async def test_template_is_a_workbook_with_five_sheets(chat):
    await chat.as_user(CONFIG_ADMIN_ID).send("/template")
    docs = chat.documents()
    assert docs, chat.replies()
    filename, data = docs[0].files["document"]
    wb = openpyxl.load_workbook(io.BytesIO(data))
    headers = {tuple(str(c.value or "").rstrip("*").strip() for c in ws[1])[:2] for ws in wb.worksheets}
    assert any("姓名" in h for h in headers) and any("名称" in h for h in headers)
    assert len([ws for ws in wb.worksheets if ws.max_row >= 1]) >= 5


async def test_targets_search_pages_with_buttons(chat, sessions):
    await _import(chat, n=30)
    await chat.send("/targets 互联网")
    text = chat.last_text()
    assert "第 1/" in text
    with sessions.begin() as s:
        total = s.scalar(select(func.count()).select_from(Target).where(Target.industry.like("%互联网%")))
    assert f"共 {total} 条" in text
    await chat.press("下一页")
    edit = [c for c in chat.replies() if c.method == "editMessageText"][-1]
    assert "第 2/" in edit.text
    await chat.press("‹ 上一页")
    edit = [c for c in chat.replies() if c.method == "editMessageText"][-1]
    assert "第 1/" in edit.text


async def test_targets_without_query_explains_usage_and_no_match_says_so(chat):
    await _import(chat, n=3)
    await chat.send("/targets")
    assert "用法" in chat.last_text()
    await chat.send("/targets 不存在的名字xyz")
    assert "没有找到" in chat.last_text()


async def test_people_only_for_staff_and_items_for_everyone(chat, sessions, people):
    await chat.as_user(6003).send("/people")
    assert "权限" in chat.last_text()
    await chat.as_user(6002).send("/people")
    assert "马勇" in chat.last_text()
    await _import(chat, n=3)
    await chat.as_user(6003).send("/items 文化")
    text = chat.last_text()
    assert "网络文化经营许可证" in text or "文旅" in text
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Item)) > 0


async def test_page_button_copied_to_another_user_is_refused(chat, people):
    await _import(chat, n=30)
    await chat.as_user(CONFIG_ADMIN_ID).send("/targets 互联网")
    buttons = [b for c in chat.replies() for b in c.buttons()]
    data = [d for text, d in buttons if text.startswith("下一页")][0]
    await chat.as_user(6003).press_data(data)  # same data, a different user: their user_data has no such query
    assert "失效" in chat.alerts()[-1]


async def test_non_xlsx_document_gets_clear_error(chat, sessions):
    await chat.as_user(CONFIG_ADMIN_ID).send_document(b"a,b\n1,2\n", "list.csv", mime="text/csv")
    assert ".xlsx" in chat.last_text()
    assert _count(sessions, Person) == 0
