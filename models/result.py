"""Result entry (SPEC §6): per-inspector drafts, the submission lock, results with history, corrections,
follow-ups."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Numeric, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.directory import Item, Person


class ResultDraft(Base):
    """An answer given but not yet submitted; saved at every answer so nothing is lost on a crash."""

    __tablename__ = "result_drafts"
    __table_args__ = (UniqueConstraint("draw_id", "target_id", "item_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("draws.id"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    code: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(Text)
    note_done: Mapped[bool] = mapped_column(default=False)
    # filled by a bulk action (全部「1 未发现问题」 / 其余全部), not answered one by one: shown as such in the summary
    bulk: Mapped[bool] = mapped_column(default=False, server_default=false())
    inspection_date: Mapped[dt.date | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Submission(Base):
    """The lock: one row per (draw, target, department). The unique constraint makes exactly one win."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("draw_id", "target_id", "department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("draws.id"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    inspection_date: Mapped[dt.date]
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship(lazy="joined")


class Result(Base):
    __tablename__ = "results"
    __table_args__ = (UniqueConstraint("draw_id", "target_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("draws.id"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    code: Mapped[int]
    note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    item: Mapped[Item] = relationship(lazy="joined")


class ResultHistory(Base):
    """Every value a result ever had; rows are only added."""

    __tablename__ = "result_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("results.id"), index=True)
    version: Mapped[int]
    code: Mapped[int]
    note: Mapped[str | None] = mapped_column(Text)
    changed_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    correction_id: Mapped[int | None] = mapped_column(ForeignKey("corrections.id"))
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Correction(Base):
    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("results.id"), index=True)
    requested_by_person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    new_code: Mapped[int]
    new_note: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending/approved/rejected
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[dt.datetime | None]


class FollowUp(Base):
    """后续处理 opened by code 8 (SPEC §6.9)."""

    __tablename__ = "followups"

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("results.id"), unique=True)
    measures: Mapped[list[str]] = mapped_column(JSON, default=list)  # 责令改正, 列入经营异常名录, …
    penalty_amount: Mapped[Any | None] = mapped_column(Numeric(14, 2))
    state: Mapped[str] = mapped_column(String(8), default="open")  # open (未完结) / closed (已完结)
    closed_on: Mapped[dt.date | None]
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
