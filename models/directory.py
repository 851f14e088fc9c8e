"""Directories (SPEC §3): departments, people (roster), targets, inspection items, conflicts of interest."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow

# Role names as stored; Chinese labels live in the text catalog.
ROLES = ("admin", "leader", "dept_head", "coordinator", "inspector")
ROLE_LABELS_ZH = {
    "inspector": "检查人员",
    "dept_head": "分管领导",
    "leader": "领导小组",
    "coordinator": "联络员",
    "admin": "管理员",
}


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    short_name: Mapped[str | None] = mapped_column(String(50))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def label(self) -> str:
        return self.short_name or self.name


class Person(Base):
    """A roster row. Roles are a comma list of ROLES; a Telegram account is bound by an invite code."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    # 执法证号, else 单位+姓名+手机号 (SPEC §3): the import's upsert key, kept in one unique column.
    natural_key: Mapped[str] = mapped_column(String(300), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    roles: Mapped[str] = mapped_column(String(100), default="")
    cert_no: Mapped[str | None] = mapped_column(String(64), unique=True)
    cert_expiry: Mapped[dt.date | None]
    phone: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(default=True)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    language: Mapped[str | None] = mapped_column(String(8))
    bound_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    department: Mapped[Department] = relationship(lazy="joined")

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(r for r in self.roles.split(",") if r)

    def has_role(self, role: str) -> bool:
        return role in self.role_set


class Target(Base):
    __tablename__ = "targets"
    __table_args__ = (Index("ix_targets_industry_status", "industry", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码 or 15-digit 注册号
    is_regno: Mapped[bool] = mapped_column(default=False)  # an old 注册号, accepted and marked
    name: Mapped[str] = mapped_column(String(200), index=True)
    legal_rep: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(300))
    industry: Mapped[str] = mapped_column(String(100))
    # the canonical name of a credit-risk class of the configured scheme (bot.rules.credit; by default A–D), None =
    # 未分类; wide enough for names like 信用风险较高 or 中高风险
    credit_class: Mapped[str | None] = mapped_column(String(32))
    phone: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(8), default="正常")  # 正常/停业/注销
    registration_authority: Mapped[str | None] = mapped_column(String(100))  # 登记机关, as the list gives it
    jurisdiction: Mapped[str | None] = mapped_column(String(100))  # 管辖单位, as the list gives it
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Item(Base):
    """An inspection item (抽查事项) of one department."""

    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("department_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    content: Mapped[str | None] = mapped_column(Text)
    basis: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    department: Mapped[Department] = relationship(lazy="joined")


class Conflict(Base):
    """A 回避关系: the inspector with this certificate must not inspect this target."""

    __tablename__ = "conflicts"
    __table_args__ = (UniqueConstraint("cert_no", "uscc"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cert_no: Mapped[str] = mapped_column(String(64), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
