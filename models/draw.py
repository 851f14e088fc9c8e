"""Draws (SPEC §5): the immutable record, its groups, assignments and staff change requests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.directory import Department, Person, Target


class Draw(Base):
    """Saved once, never updated except to be marked superseded by a later draw (with a reason)."""

    __tablename__ = "draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    algorithm: Mapped[str] = mapped_column(String(16))  # "v1"
    seed: Mapped[str] = mapped_column(String(64))
    seed_source: Mapped[str] = mapped_column(String(16))  # "secrets" | "public"
    public_text: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    pools: Mapped[dict[str, Any]] = mapped_column(JSON)
    digests: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    triggered_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("draws.id"))
    supersede_reason: Mapped[str | None] = mapped_column(Text)
    announced_message_id: Mapped[int | None]

    groups: Mapped[list["DrawGroup"]] = relationship(order_by="DrawGroup.number", back_populates="draw")


class DrawGroup(Base):
    __tablename__ = "draw_groups"
    __table_args__ = (UniqueConstraint("draw_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("draws.id"), index=True)
    number: Mapped[int]
    leader_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    draw: Mapped[Draw] = relationship(back_populates="groups")
    targets: Mapped[list["GroupTarget"]] = relationship(order_by="GroupTarget.position")
    assignments: Mapped[list["Assignment"]] = relationship(order_by="Assignment.position")


class GroupTarget(Base):
    __tablename__ = "group_targets"
    __table_args__ = (UniqueConstraint("group_id", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("draw_groups.id"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id"), index=True)
    position: Mapped[int]

    target: Mapped[Target] = relationship(lazy="joined")


class Assignment(Base):
    """An inspector in a group for a department. A replaced assignment stays, inactive, with its successor."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("group_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("draw_groups.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    position: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship(lazy="joined")
    department: Mapped[Department] = relationship(lazy="joined")


class StaffRequest(Base):
    """/swap (cannot serve) or /recuse (conflict with a target), decided by the department head (§5.10)."""

    __tablename__ = "staff_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # "swap" | "recuse"
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    target_id: Mapped[int | None] = mapped_column(ForeignKey("targets.id"))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending/approved/rejected/failed
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[dt.datetime | None]
    replacement_assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id"))
    replacement_no: Mapped[int | None]  # n of §5.10, counted per draw from 1
