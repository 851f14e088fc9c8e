"""Directory import by sending an .xlsx to the bot (admin, private chat), and /template."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from io import BytesIO

from telegram import Update

from bot.runtime.app import Ctx
from bot.services.directory_import import import_workbook
from bot.services.identity import Actor
from bot.services.directory_template import template_workbook
from bot.texts import t
from handlers.toolkit import unit_of_work
from handlers.common import permitted

log = logging.getLogger(__name__)

# 行业=互联网上网服务营业场所 (also 行业类别：…) on a line of the document's caption: the 行业类别 of every target of a
# list without that column (the platforms' exports have none).
_INDUSTRY_CAPTION = re.compile(r"^\s*(?:行业类别|行业)\s*[=＝:：]\s*(\S.*?)\s*$", re.MULTILINE)
MAX_LISTED_INDUSTRIES = 20


def caption_industry(caption: str | None) -> str | None:
    m = _INDUSTRY_CAPTION.search(caption or "")
    return m[1] if m else None


def industry_hint(known: list[str], lang: str) -> str:
    """What to resend when a target list has no 行业类别: the exact caption, with the industries already known."""
    example = known[0] if known else t("upload.industry_example", lang)
    lines = [t("upload.industry_resend", lang, caption=f"行业={example}")]
    if known:
        lines.append(t("upload.industry_known", lang))
        lines += [f"行业={name}" for name in known[:MAX_LISTED_INDUSTRIES]]
    return "\n".join(lines)



class _NotImported(Exception):
    """Rolls the unit of work back: the import found errors (their annotated copy goes back to the admin)."""

    def __init__(self, outcome):
        super().__init__("not imported")
        self.outcome = outcome


@permitted("document")
async def document_msg(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    message = update.effective_message
    doc = message.document
    limit = context.cfg.rules.max_upload_mb * 1024 * 1024
    name = doc.file_name or "upload"
    if not name.lower().endswith(".xlsx"):
        await message.reply_text(t("upload.not_xlsx", lang, filename=name))
        return
    if doc.file_size and doc.file_size > limit:
        await message.reply_text(t("upload.too_big", lang, size_mb=round(doc.file_size / 1048576, 1),
                                   limit_mb=context.cfg.rules.max_upload_mb))
        return
    industry = caption_industry(message.caption)
    progress = await message.reply_text(t("upload.working", lang, filename=name))
    data = bytes(await (await doc.get_file()).download_as_bytearray())
    today = dt.datetime.now(context.cfg.tz).date()

    def run():
        # A thread: a 100,000-row workbook must not stall other users' updates.
        try:
            with unit_of_work(update, context) as session:
                outcome = import_workbook(session, data, actor=actor.label, filename=name, today=today, lang=lang,
                                          max_bytes=limit, credit=context.cfg.credit_scheme, industry=industry)
                if not outcome.ok:
                    raise _NotImported(outcome)  # all or nothing: a refused workbook changes nothing
        except _NotImported as refused:
            return refused.outcome
        return outcome

    outcome = await asyncio.to_thread(run)
    text = outcome.summary(lang)
    if outcome.needs_industry:
        text += "\n\n" + industry_hint(outcome.known_industries, lang)
    await progress.edit_text(text)
    if outcome.annotated:
        stem = name[:-5] if name.lower().endswith(".xlsx") else name
        await message.reply_document(BytesIO(outcome.annotated), filename=f"{stem}_错误标注.xlsx",
                                     caption=t("upload.annotated_caption", lang))


@permitted("template")
async def template_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    await update.effective_message.reply_document(BytesIO(template_workbook()), filename="名录导入模板.xlsx",
                                                  caption=t("upload.template_caption", lang))
