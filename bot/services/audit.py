"""Append-only, hash-chained audit log (SPEC §9).

Each row's hash is SHA-256 over its id, time, actor, action, subject, canonical JSON data and the previous
row's hash. Changing any field breaks that row's hash; deleting a row breaks the next row's link (and the id
sequence); swapping rows breaks both. Deleting the *last* row leaves a chain that is valid as far as it goes, so
every append also writes a tail anchor (the last id and hash, in `settings`) in the same transaction: a log that
ends before its anchor has lost its tail. `prev_hash` is unique, so two writers racing to append cannot both
chain onto the same row: one gets an IntegrityError and its unit of work is retried by the caller.

What this detects is tampering by hand (an UPDATE or DELETE that does not recompute the hashes). Someone who
rewrites the chain *and* the anchor with the same formula is not caught by the database alone: `audit verify`
prints the head hash so that it can be kept outside the database (a note, a message) and compared later.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEntry, Setting, utcnow

GENESIS = "0" * 64
HEAD_KEY = "audit.head"  # settings row: "<last id>:<last hash>", written with every append


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
    session.flush()  # the insert first: a racing writer fails on the unique prev_hash before touching the anchor
    head = session.get(Setting, HEAD_KEY)
    if head is None:
        session.add(Setting(key=HEAD_KEY, value=f"{entry_id}:{entry.hash}"))
    else:
        head.value = f"{entry_id}:{entry.hash}"
    session.flush()
    return entry


@dataclass(frozen=True)
class VerifyOutcome:
    ok: bool
    rows: int  # rows that hold, up to the first bad one
    bad_id: int | None = None  # the first row that does not hold (or is missing)
    reason: str = ""  # in English, for logs
    problem: str = ""  # changed | deleted | out_of_order | added | anchor
    action: str | None = None  # the bad row's action, when the row is there to read
    moved_from: int | None = None  # out_of_order: the position the row's entry was written at
    head: str = GENESIS  # hash of the last row that holds


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


def _holds_at(row: AuditEntry, entry_id: int) -> bool:
    return _row_hash(entry_id, row.at, row.actor, row.action, row.subject, row.data, row.prev_hash) == row.hash


def _written_at(session: Session, row: AuditEntry, limit: int = 1000) -> int | None:
    """The id a row was written with, when its content is intact but it sits elsewhere (rows swapped): found by
    following its prev_hash back to a row that holds where it is, then counting forward. None if it was changed."""
    trail = [row]
    while len(trail) <= limit:
        prev_hash = trail[-1].prev_hash
        if prev_hash == GENESIS:
            base = 0
            break
        prev = session.scalar(select(AuditEntry).where(AuditEntry.hash == prev_hash))
        if prev is None:
            return None
        if _holds_at(prev, prev.id):
            base = prev.id
            break
        trail.append(prev)
    else:
        return None
    for offset, r in enumerate(reversed(trail), 1):
        if not _holds_at(r, base + offset):
            return None
    return base + len(trail)


def read_head(session: Session) -> tuple[int, str] | None:
    """The tail anchor (last id, last hash); None when there is none."""
    head = session.get(Setting, HEAD_KEY)
    if head is None:
        return None
    last_id, _, last_hash = head.value.partition(":")
    if not last_id.isdigit() or len(last_hash) != 64:
        return -1, head.value
    return int(last_id), last_hash


def verify(session: Session) -> VerifyOutcome:
    """Walk the chain, then compare its end with the tail anchor; name the first row that does not hold."""
    prev_hash, expected_id, count = GENESIS, 1, 0
    for row in _iter_rows(session):
        if row.id != expected_id:
            return VerifyOutcome(False, count, expected_id, f"row {expected_id} is missing (the next row is {row.id})",
                                 "deleted", head=prev_hash)
        if not _holds_at(row, row.id):
            origin = _written_at(session, row)
            if origin is not None and origin != row.id:
                return VerifyOutcome(False, count, row.id, f"row {row.id} holds the entry written as row {origin}",
                                     "out_of_order", row.action, origin, head=prev_hash)
            return VerifyOutcome(False, count, row.id, "content does not match its hash", "changed", row.action,
                                 head=prev_hash)
        if row.prev_hash != prev_hash:
            # The row holds by itself but does not follow the row before it: that row (or this link) was rewritten.
            return VerifyOutcome(False, count, row.id, "link to the previous row is broken", "changed", row.action,
                                 head=prev_hash)
        count += 1
        prev_hash, expected_id = row.hash, row.id + 1
    anchor = read_head(session)
    if anchor is None:
        if count:
            return VerifyOutcome(False, count, None, "the tail anchor is missing", "anchor", head=prev_hash)
        return VerifyOutcome(True, 0)
    last_id, last_hash = anchor
    if last_id < 0:
        return VerifyOutcome(False, count, None, f"the tail anchor is malformed: {last_hash!r}", "anchor",
                             head=prev_hash)
    if last_id > count:
        return VerifyOutcome(False, count, count + 1,
                             f"the log ends at row {count} but its anchor records {last_id} rows", "deleted",
                             head=prev_hash)
    if last_id < count:
        extra = session.get(AuditEntry, last_id + 1)
        return VerifyOutcome(False, last_id, last_id + 1, f"rows after {last_id} were not appended by the bot",
                             "added", extra.action if extra else None, head=prev_hash)
    if last_hash != prev_hash:
        last = session.get(AuditEntry, count) if count else None
        return VerifyOutcome(False, count - 1, count or None, "the last row is not the one the anchor records",
                             "changed", last.action if last else None, head=prev_hash)
    return VerifyOutcome(True, count, head=prev_hash)
