"""A target list without 行业类别 sent in chat (issue 14): the industry comes from the caption `行业=…`; without it the
admin is told the exact caption to resend with, and the industries already known."""

from __future__ import annotations

from sqlalchemy import select

from bot.devtools.sample_data import sample_workbook
from handlers.imports import caption_industry
from models import Target
from tests.conversation.conftest import CONFIG_ADMIN_ID
from tests.unit.test_platform_import import INDUSTRY, REGNO, platform_export, rows


def _targets(sessions) -> dict[str, tuple[str, str]]:
    with sessions.begin() as s:
        return {t.uscc: (t.industry, t.status) for t in s.scalars(select(Target))}


async def test_list_without_industry_asks_for_the_caption_then_imports_with_it(chat, sessions):
    admin = chat.as_user(CONFIG_ADMIN_ID)
    await admin.send_document(platform_export(rows()), "对象名录.xlsx")
    assert chat.last_text() == (
        "工作表「检查对象名录」（检查对象）没有“行业类别”列：请为整个文件指定行业。未写入任何数据。\n\n"
        "请重新发送该文件，并在文件说明（caption）中写上：\n行业=行业名称")
    assert _targets(sessions) == {}

    await admin.send_document(platform_export(rows()), "对象名录.xlsx", caption=f"行业={INDUSTRY}")
    assert chat.last_text() == "导入完成：\n检查对象：新增 5，更新 0，未变 0"
    stored = _targets(sessions)
    assert len(stored) == 5 and {i for i, _ in stored.values()} == {INDUSTRY}
    assert stored[str(REGNO)] == (INDUSTRY, "正常")


async def test_the_hint_lists_the_industries_already_known(chat, sessions):
    admin = chat.as_user(CONFIG_ADMIN_ID)
    await admin.send_document(sample_workbook(n_targets=20), "名录.xlsx")
    with sessions.begin() as s:
        known = list(dict.fromkeys(s.scalars(select(Target.industry))))
    await admin.send_document(platform_export(rows()), "对象名录.xlsx")
    text = chat.last_text()
    first = text.splitlines()[3]
    assert first.startswith("行业=") and first.removeprefix("行业=") in known
    assert "系统中已有的行业（可复制其中一行作为说明）：" in text
    assert {line.removeprefix("行业=") for line in text.splitlines()[5:]} == set(known)


async def test_caption_for_a_list_that_has_the_column_changes_nothing(chat, sessions):
    await chat.as_user(CONFIG_ADMIN_ID).send_document(sample_workbook(n_targets=5), "名录.xlsx",
                                                      caption="行业=文化娱乐场所")
    assert "新增 5" in chat.last_text()
    assert "文化娱乐场所" not in {i for i, _ in _targets(sessions).values()}  # it fills blank cells only


async def test_caption_from_an_inspector_is_refused_like_the_file(chat, sessions, people):
    await chat.as_user(6003).send_document(platform_export(rows()), "对象名录.xlsx", caption=f"行业={INDUSTRY}")
    assert "权限" in chat.last_text()
    assert _targets(sessions) == {}


def test_caption_forms():
    assert caption_industry(f"行业={INDUSTRY}") == INDUSTRY
    assert caption_industry(f"西华县名单\n行业类别：{INDUSTRY} ") == INDUSTRY
    assert caption_industry("行业＝ 旅馆业") == "旅馆业"
    assert caption_industry("名录") is None and caption_industry(None) is None and caption_industry("行业=") is None
