"""Directory views (SPEC §3): search and page through targets, people and items. No Telegram here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Sequence, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from models import Department, Item, Person, Target

PAGE_SIZE = 8
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: Sequence[T]
    page: int  # 1-based
    pages: int
    total: int


def _page(session: Session, stmt: Select, page: int, size: int) -> Page:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    rows = session.scalars(stmt.limit(size).offset((page - 1) * size)).unique().all()
    return Page(rows, page, pages, total)


def _like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_targets(session: Session, query: str, page: int = 1, size: int = PAGE_SIZE) -> Page[Target]:
    pat = _like(query.strip())
    stmt = select(Target).where(or_(
        Target.name.ilike(pat, escape="\\"), Target.uscc.ilike(pat, escape="\\"),
        Target.address.ilike(pat, escape="\\"), Target.industry.ilike(pat, escape="\\"),
    )).order_by(Target.name, Target.id)
    return _page(session, stmt, page, size)


def list_people(session: Session, query: str = "", page: int = 1, size: int = PAGE_SIZE) -> Page[Person]:
    stmt = select(Person).join(Department, Person.department_id == Department.id)
    if query.strip():
        pat = _like(query.strip())
        stmt = stmt.where(or_(Person.name.ilike(pat, escape="\\"), Person.cert_no.ilike(pat, escape="\\"),
                              Department.name.ilike(pat, escape="\\"),
                              Department.short_name.ilike(pat, escape="\\")))
    return _page(session, stmt.order_by(Department.name, Person.name, Person.id), page, size)


def list_items(session: Session, query: str = "", page: int = 1, size: int = PAGE_SIZE) -> Page[Item]:
    stmt = select(Item).join(Department, Item.department_id == Department.id)
    if query.strip():
        pat = _like(query.strip())
        stmt = stmt.where(or_(Item.name.ilike(pat, escape="\\"), Department.name.ilike(pat, escape="\\"),
                              Department.short_name.ilike(pat, escape="\\")))
    return _page(session, stmt.order_by(Department.name, Item.id), page, size)
