"""The audit chain detects a changed or deleted row, on both backends."""

from sqlalchemy import delete, update

from bot.services import audit
from models import AuditEntry


def _fill(sessions, n=5):
    with sessions.begin() as s:
        for i in range(n):
            audit.record(s, actor="cli", action="test", subject=f"row {i}", data={"i": i, "名": "张三"})


def test_intact_chain_verifies(sessions):
    _fill(sessions)
    with sessions.begin() as s:
        out = audit.verify(s)
    assert out.ok and out.rows == 5


def test_changed_row_is_named(sessions):
    _fill(sessions)
    with sessions.begin() as s:
        s.execute(update(AuditEntry).where(AuditEntry.id == 3).values(data='{"i":99}'))
    with sessions.begin() as s:
        out = audit.verify(s)
    assert not out.ok and out.bad_id == 3


def test_deleted_row_is_named(sessions):
    _fill(sessions)
    with sessions.begin() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.id == 2))
    with sessions.begin() as s:
        out = audit.verify(s)
    assert not out.ok and out.bad_id == 2


def test_deleted_first_row_is_named(sessions):
    _fill(sessions, 3)
    with sessions.begin() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.id == 1))
    with sessions.begin() as s:
        out = audit.verify(s)
    assert not out.ok and out.bad_id == 1
