"""Campaigns (抽查任务, SPEC §4) with their departments, items and derived deadlines (§7)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.directory import Department, Item

# 草稿 → 已抽取 → 检查中 → 已录入 → 已公示 → 已办结
CAMPAIGN_STATES = ("draft", "drawn", "inspecting", "entered", "published", "closed")


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("lead_department_id", "year", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(100), unique=True)  # 西文旅抽查〔2022〕1号
    year: Mapped[int]
    seq: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    lead_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    state: Mapped[str] = mapped_column(String(16), default="draft")
    scope: Mapped[list[str]] = mapped_column(JSON)  # 行业类别 values
    # {"ratio": "0.2"} | {"count": 10} | {"by_class": {"A": "0.05", ...}, "ratio": ...}; decimals as strings
    sampling: Mapped[dict[str, Any]] = mapped_column(JSON)
    inspectors_per_department: Mapped[int] = mapped_column(default=2)
    targets_per_group: Mapped[int] = mapped_column(default=0)
    window_start: Mapped[dt.date]
    window_end: Mapped[dt.date]
    summary_due: Mapped[dt.date | None]
    results_due: Mapped[dt.date | None]
    publication_due: Mapped[dt.date | None]
    deadlines_provisional: Mapped[bool] = mapped_column(default=False)  # 暂定: calendar did not cover the year
    published_on: Mapped[dt.date | None]
    closed_on: Mapped[dt.date | None]
    created_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    notes: Mapped[str | None] = mapped_column(Text)

    lead_department: Mapped[Department] = relationship(lazy="joined")
    departments: Mapped[list["CampaignDepartment"]] = relationship(
        order_by="CampaignDepartment.position", cascade="all, delete-orphan"
    )
    items: Mapped[list["CampaignItem"]] = relationship(
        order_by="CampaignItem.position", cascade="all, delete-orphan"
    )


class CampaignDepartment(Base):
    """A department of a campaign, in campaign order (the draw walks departments in this order)."""

    __tablename__ = "campaign_departments"
    __table_args__ = (UniqueConstraint("campaign_id", "department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    position: Mapped[int]
    cooperating: Mapped[bool] = mapped_column(default=False)  # 配合部门

    department: Mapped[Department] = relationship(lazy="joined")


class CampaignItem(Base):
    __tablename__ = "campaign_items"
    __table_args__ = (UniqueConstraint("campaign_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    position: Mapped[int]

    item: Mapped[Item] = relationship(lazy="joined")
