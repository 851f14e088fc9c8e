"""`python -m bot audit verify` (SPEC §9): after real actions (import, group binding, campaign, draw, invite,
result submissions) the chain verifies; altering any hashed column of any row, deleting any row (first, middle,
last), swapping any two neighbours or dropping the tail anchor is detected, and the command names the row."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, update

from bot.services import audit, identity
from bot.cli import main
from models import AuditEntry, Person, Setting
from tests.reportsetup import drawn, enter, pairs_to_enter

HASHED = ("at", "actor", "action", "subject", "data", "prev_hash", "hash")


@pytest.fixture
def acted(sessions):
    """A database after real actions: every audit row was written by the service that did the thing."""
    _campaign_id, draw_id = drawn(sessions)
    with sessions.begin() as s:
        person = s.scalars(select(Person).where(Person.cert_no.is_not(None)).order_by(Person.id)).first()
        identity.issue_invite(s, person, actor="cli", hours=72)
    for person_id, gt in pairs_to_enter(sessions, draw_id)[:3]:
        enter(sessions, person_id, gt)
    return snapshot(sessions)


def snapshot(sessions) -> tuple[list[dict], str]:
    with sessions.begin() as s:
        rows = [dict(r._mapping) for r in s.execute(select(AuditEntry.__table__).order_by(AuditEntry.id))]
        head = s.get(Setting, audit.HEAD_KEY).value
    return rows, head


def restore(sessions, snap: tuple[list[dict], str]) -> None:
    rows, head = snap
    with sessions.begin() as s:
        s.execute(delete(AuditEntry))
        s.execute(insert(AuditEntry.__table__), rows)
        s.execute(delete(Setting).where(Setting.key == audit.HEAD_KEY))
        s.add(Setting(key=audit.HEAD_KEY, value=head))


@pytest.fixture
def cli(db_url, tmp_path, capsys):
    """Run `python -m bot audit verify` in this process on the test database: (exit code, stdout)."""
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")

    def run() -> tuple[int, str]:
        capsys.readouterr()
        code = main(["--config", str(config), "audit", "verify"])
        return code, capsys.readouterr().out

    return run


def changed_value(column: str, value):
    if column == "at":
        return value + dt.timedelta(seconds=1)
    if column in ("prev_hash", "hash"):
        return ("0" if value[0] != "0" else "1") + value[1:]
    if column == "data":
        return value[:-1] + ',"x":1}' if value != "{}" else '{"x":1}'
    return value + "x"


def test_intact_after_real_actions(acted, cli):
    rows, _ = acted
    actions = {r["action"] for r in rows}
    assert {"import", "group.bind", "campaign.create", "draw.create", "invite.issue", "result.submit"} <= actions
    code, out = cli()
    assert code == 0
    assert f"完整 / intact: {len(rows)} rows" in out and rows[-1]["hash"] in out


def test_every_altered_column_of_every_row_is_named(acted, sessions, cli):
    rows, _ = acted
    for row in rows:
        for column in HASHED:
            new = changed_value(column, row[column])
            with sessions.begin() as s:
                s.execute(update(AuditEntry).where(AuditEntry.id == row["id"]).values({column: new}))
            code, out = cli()
            assert code == 1, (row["id"], column, out)
            action = new if column == "action" else row["action"]  # the row as it now reads
            assert f"第 {row['id']} 行" in out and f"（{action}）" in out and "被修改" in out, (column, out)
            with sessions.begin() as s:
                detail = audit.verify(s)
            assert (detail.bad_id, detail.problem, detail.rows) == (row["id"], "changed", row["id"] - 1), column
            restore(sessions, acted)
    assert cli()[0] == 0


def test_every_deleted_row_is_named_first_middle_and_last(acted, sessions, cli):
    rows, _ = acted
    for row in rows:
        with sessions.begin() as s:
            s.execute(delete(AuditEntry).where(AuditEntry.id == row["id"]))
        code, out = cli()
        assert code == 1, (row["id"], out)
        assert f"第 {row['id']} 行" in out and "被删除" in out, out
        restore(sessions, acted)


def test_last_row_deleted_is_caught_by_the_tail_anchor(acted, sessions, cli):
    rows, head = acted
    assert head == f"{rows[-1]['id']}:{rows[-1]['hash']}"
    with sessions.begin() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.id == rows[-1]["id"]))
        assert audit.verify(s).problem == "deleted"
    code, out = cli()
    assert code == 1 and f"第 {rows[-1]['id']} 行" in out and "被删除" in out
    # …and the last two, so that a tail cut anywhere shows.
    with sessions.begin() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.id == rows[-2]["id"]))
    code, out = cli()
    assert code == 1 and f"第 {rows[-2]['id']} 行" in out


def test_dropped_or_forged_anchor_is_caught(acted, sessions, cli):
    with sessions.begin() as s:
        s.execute(delete(Setting).where(Setting.key == audit.HEAD_KEY))
    code, out = cli()
    assert code == 1 and "尾部锚点" in out
    rows, _ = acted
    with sessions.begin() as s:
        s.add(Setting(key=audit.HEAD_KEY, value=f"{rows[-1]['id']}:{'0' * 64}"))
    code, out = cli()
    assert code == 1 and f"第 {rows[-1]['id']} 行" in out and "被修改" in out


def test_row_appended_behind_the_bots_back_is_caught(acted, sessions, cli):
    """A row with a valid hash added by hand (not through audit.record, so the anchor did not move)."""
    rows, head = acted
    with sessions.begin() as s:
        audit.record(s, actor="intruder", action="forged", subject="x")
        s.get(Setting, audit.HEAD_KEY).value = head
    code, out = cli()
    assert code == 1 and f"第 {len(rows) + 1} 行" in out and "（forged）" in out and "不是由机器人追加的" in out


def _swap(sessions, a: int, b: int) -> None:
    with sessions.begin() as s:
        s.execute(update(AuditEntry).where(AuditEntry.id == a).values(id=-1))
        s.execute(update(AuditEntry).where(AuditEntry.id == b).values(id=a))
        s.execute(update(AuditEntry).where(AuditEntry.id == -1).values(id=b))


def test_swapped_rows_are_named_out_of_order(acted, sessions, cli):
    rows, _ = acted
    pairs = [(r["id"], r["id"] + 1) for r in rows[:-1]] + [(rows[0]["id"], rows[-1]["id"])]
    for a, b in pairs:
        _swap(sessions, a, b)
        code, out = cli()
        assert code == 1, (a, b, out)
        assert f"第 {a} 行" in out and "顺序被调换" in out and f"原第 {b} 行" in out, (a, b, out)
        by_id = {r["id"]: r for r in rows}
        assert f"（{by_id[b]['action']}）" in out  # the entry now sitting at row a
        restore(sessions, acted)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_alteration_or_deletion_is_detected(acted, sessions, data):
    """Random tampering — a new value of any type-correct kind in any hashed column, or a deleted row — is
    always detected, at the tampered row."""
    rows, _ = acted
    row = data.draw(st.sampled_from(rows), label="row")
    kind = data.draw(st.sampled_from(HASHED + ("delete",)), label="kind")
    with sessions.begin() as s:
        if kind == "delete":
            s.execute(delete(AuditEntry).where(AuditEntry.id == row["id"]))
        else:
            if kind == "at":
                shift = data.draw(st.integers(min_value=-10**8, max_value=10**8).filter(bool), label="seconds")
                new = row["at"] + dt.timedelta(seconds=shift)
            elif kind in ("prev_hash", "hash"):
                taken = {r[c] for r in rows for c in ("prev_hash", "hash")}  # both columns are unique
                new = data.draw(st.text("0123456789abcdef", min_size=64, max_size=64)
                                .filter(lambda v: v not in taken), label="hex")
            else:
                limit = {"actor": 100, "action": 64, "subject": 200}.get(kind, 500)
                new = data.draw(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                                        max_size=limit).filter(lambda v: v != row[kind]), label="text")
            s.execute(update(AuditEntry).where(AuditEntry.id == row["id"]).values({kind: new}))
    try:
        with sessions.begin() as s:
            out = audit.verify(s)
        assert not out.ok and out.bad_id == row["id"], (kind, out)
    finally:
        restore(sessions, acted)
