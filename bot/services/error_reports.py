"""Unexpected errors reach the admins (SPEC §9), not only the log: each bound admin is told, in their language,
through the outbox — enqueued in a transaction of its own, so the report survives a crash of the process and a
Telegram outage like every other notification, and is delivered by the outbox's sender. The dedup key is the
error's fingerprint and the hour (bot.rules.error_summary), per admin: the same error is told once an hour
however often it recurs, a different error at once. No messenger code here."""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.rules.error_summary import ErrorSummary, hour_bucket
from bot.services import outbox
from bot.services.identity import admin_chat_ids
from bot.texts import LANGS, t
from models import Person


def dedup_key(summary: ErrorSummary, now: dt.datetime, chat_id: int) -> str:
    return f"error:{summary.fingerprint}:{hour_bucket(now)}:{chat_id}"


def tell_admins(session: Session, summary: ErrorSummary, *, config_admins: Iterable[int], now: dt.datetime,
                default_lang: str = "zh") -> list[int]:
    """Enqueue the report for every admin not yet told of this error this hour; returns the chats newly told."""
    told = []
    for chat_id in admin_chat_ids(session, config_admins):
        lang = session.scalar(select(Person.language).where(Person.telegram_user_id == chat_id))
        lang = lang if lang in LANGS else default_lang
        text = t("error.admin_report", lang, kind=summary.kind, message=summary.message, where=summary.where,
                 origin=summary.origin, fingerprint=summary.fingerprint)
        if outbox.enqueue(session, chat_id=chat_id, text=text, dedup_key=dedup_key(summary, now, chat_id)) is not None:
            told.append(chat_id)
    return told
