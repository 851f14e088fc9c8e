"""Directory import by sending an .xlsx to the bot (admin, private chat), and /template."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
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
    progress = await message.reply_text(t("upload.working", lang, filename=name))
    data = bytes(await (await doc.get_file()).download_as_bytearray())
    today = dt.datetime.now(context.cfg.tz).date()

    def run():
        # A thread: a 100,000-row workbook must not stall other users' updates.
        try:
            with unit_of_work(update, context) as session:
                outcome = import_workbook(session, data, actor=actor.label, filename=name, today=today, lang=lang,
                                          max_bytes=limit, credit=context.cfg.credit_scheme)
                if not outcome.ok:
                    raise _NotImported(outcome)  # all or nothing: a refused workbook changes nothing
        except _NotImported as refused:
            return refused.outcome
        return outcome

    outcome = await asyncio.to_thread(run)
    await progress.edit_text(outcome.summary(lang))
    if outcome.annotated:
        stem = name[:-5] if name.lower().endswith(".xlsx") else name
        await message.reply_document(BytesIO(outcome.annotated), filename=f"{stem}_错误标注.xlsx",
                                     caption=t("upload.annotated_caption", lang))


@permitted("template")
async def template_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    await update.effective_message.reply_document(BytesIO(template_workbook()), filename="名录导入模板.xlsx",
                                                  caption=t("upload.template_caption", lang))
