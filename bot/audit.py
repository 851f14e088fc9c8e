"""Append-only, hash-chained audit log (SPEC §9).

Each row's hash is SHA-256 over its id, time, actor, action, subject, canonical JSON data and the previous
row's hash. Changing any field breaks that row's hash; deleting a row breaks the next row's link (and the id
sequence). `prev_hash` is unique, so two writers racing to append cannot both chain onto the same row: one
gets an IntegrityError and its unit of work is retried by the caller.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEntry, utcnow

GENESIS = "0" * 64


def canonical_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _row_hash(entry_id: int, at: dt.datetime, actor: str, action: str, subject: str, data: str,
              prev_hash: str) -> str:
    at_s = at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    material = "\n".join([str(entry_id), at_s, actor, action, subject, data, prev_hash])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def record(session: Session, *, actor: str, action: str, subject: str, data: dict[str, Any] | None = None,
           at: dt.datetime | None = None) -> AuditEntry:
    """Append one entry in the caller's transaction (flushed, not committed)."""
    last = session.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    prev_id, prev_hash = (last[0], last[1]) if last else (0, GENESIS)
    # Microseconds are truncated so the time reads back identically from every backend.
    at = (at or utcnow()).astimezone(dt.timezone.utc).replace(microsecond=0)
    data_s = canonical_json(data or {})
    entry_id = prev_id + 1
    entry = AuditEntry(id=entry_id, at=at, actor=actor, action=action, subject=subject, data=data_s,
                       prev_hash=prev_hash,
                       hash=_row_hash(entry_id, at, actor, action, subject, data_s, prev_hash))
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class VerifyOutcome:
    ok: bool
    rows: int
    bad_id: int | None = None
    reason: str = ""


def _iter_rows(session: Session, batch: int = 2000) -> Iterator[AuditEntry]:
    last_id = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def verify(session: Session) -> VerifyOutcome:
    """Walk the chain; name the first row that does not hold."""
    prev_hash, expected_id, count = GENESIS, 1, 0
    for row in _iter_rows(session):
        count += 1
        if row.id != expected_id:
            return VerifyOutcome(False, count, expected_id, f"row {expected_id} is missing (next is {row.id})")
        if row.prev_hash != prev_hash:
            return VerifyOutcome(False, count, row.id, "link to the previous row is broken")
        if _row_hash(row.id, row.at, row.actor, row.action, row.subject, row.data, row.prev_hash) != row.hash:
            return VerifyOutcome(False, count, row.id, "content does not match its hash")
        prev_hash, expected_id = row.hash, row.id + 1
    return VerifyOutcome(True, count)
