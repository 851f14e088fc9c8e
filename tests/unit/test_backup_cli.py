"""`python -m bot backup FILE` (SPEC §2, §9): an online, consistent, checked copy of a SQLite database — made
while another connection keeps writing — and, for PostgreSQL, the pg_dump command line instead."""

from __future__ import annotations

import shlex
import sqlite3
import threading
import time

import pytest
from sqlalchemy import func, select, text

from bot.services import audit, backup
from bot.cli import main
from bot.db import make_engine, make_sessionmaker
from models import AuditEntry, Base, Person, Target
from tests.drawsetup import prepare


@pytest.fixture
def sqlite_url(tmp_path, sqlite_template) -> str:
    import shutil

    path = tmp_path / "live.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def _config(tmp_path, url: str):
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    return str(path)


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {t.name: conn.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}
    finally:
        engine.dispose()


def test_backup_while_another_connection_writes(sqlite_url, tmp_path, capsys):
    engine = make_engine(sqlite_url)
    sessions = make_sessionmaker(engine)
    prepare(sessions)
    stop = threading.Event()
    written = []

    def writer():
        # Audit rows through the service, each in its own transaction, as fast as SQLite takes them.
        n = 0
        while not stop.is_set():
            with sessions.begin() as s:
                audit.record(s, actor="test", action="busy", subject=f"w{n}", data={"pad": "x" * 2000})
            n += 1
            written.append(n)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 20:  # the writer is going
            time.sleep(0.01)
        dest = tmp_path / "backups" / "copy.db"
        code = main(["--config", _config(tmp_path, sqlite_url), "backup", str(dest)])
        during = len(written)
        while len(written) < during + 20:  # …and keeps going after the backup: it was never blocked for long
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join()
    out = capsys.readouterr().out
    assert code == 0, out
    assert str(dest) in out and f"{dest.stat().st_size} bytes" in out and "integrity_check ok" in out
    assert not list(dest.parent.glob(".*part"))  # no temporary file left

    # The copy stands alone (no -wal beside it), is intact and is one consistent snapshot: its audit chain
    # verifies up to its own anchor, and it holds every directory row of the source.
    assert not dest.with_name(dest.name + "-wal").exists() or dest.with_name(dest.name + "-wal").stat().st_size == 0
    conn = sqlite3.connect(dest)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()
    copy_url = f"sqlite:///{dest}"
    copy_sessions = make_sessionmaker(make_engine(copy_url))
    with copy_sessions.begin() as s:
        outcome = audit.verify(s)
        copied_busy = s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "busy"))
    assert outcome.ok, outcome
    assert 20 <= copied_busy <= len(written)
    source, copy = _counts(sqlite_url), _counts(copy_url)
    for table in ("people", "targets", "departments", "items", "conflicts", "campaigns", "settings"):
        assert copy[table] == source[table] > 0, table
    with copy_sessions.begin() as s, sessions.begin() as live:
        assert s.scalars(select(Person.cert_no).order_by(Person.id)).all() == \
            live.scalars(select(Person.cert_no).order_by(Person.id)).all()
        assert s.scalars(select(Target.uscc).order_by(Target.id)).all() == \
            live.scalars(select(Target.uscc).order_by(Target.id)).all()
    engine.dispose()


def test_backup_refuses_to_overwrite_and_to_copy_onto_itself(sqlite_url, tmp_path, capsys):
    config = _config(tmp_path, sqlite_url)
    dest = tmp_path / "b.db"
    dest.write_bytes(b"keep me")
    assert main(["--config", config, "backup", str(dest)]) == 1
    assert "文件已存在" in capsys.readouterr().err and dest.read_bytes() == b"keep me"
    assert main(["--config", config, "backup", "--force", str(dest)]) == 0
    assert sqlite3.connect(dest).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    live = sqlite_url.removeprefix("sqlite:///")
    before = _counts(sqlite_url)
    assert main(["--config", config, "backup", "--force", live]) == 1
    assert "不能是数据库本身" in capsys.readouterr().err
    assert _counts(sqlite_url) == before


def test_backup_of_a_missing_database_creates_nothing(tmp_path, capsys):
    missing = tmp_path / "nope.db"
    config = _config(tmp_path, f"sqlite:///{missing}")
    assert main(["--config", config, "backup", str(tmp_path / "b.db")]) == 1
    assert "数据库文件不存在" in capsys.readouterr().err
    assert not missing.exists() and not (tmp_path / "b.db").exists()


def test_postgresql_gets_the_pg_dump_command(tmp_path, capsys):
    """No server needed: the advice is built from the URL alone; the password never appears."""
    url = "postgresql+psycopg://shuangsui:s3cret@db.example.org:5433/county"
    dest = tmp_path / "备份 2024.dump"
    code = main(["--config", _config(tmp_path, url), "backup", str(dest)])
    captured = capsys.readouterr()
    assert code == 2
    assert "pg_dump" in captured.err
    line = captured.out.strip()
    assert shlex.split(line) == ["pg_dump", "-Fc", "-h", "db.example.org", "-p", "5433", "-U", "shuangsui",
                                 "-d", "county", "-f", str(dest)]
    assert "s3cret" not in captured.out + captured.err
    assert not dest.exists()


def test_pg_dump_command_for_a_local_socket_url():
    assert backup.pg_dump_command("postgresql+psycopg:///county", "x.dump") == "pg_dump -Fc -d county -f x.dump"
    assert backup.pg_dump_command("postgresql+psycopg://postgres@127.0.0.1/test", "/tmp/a b.dump") == \
        "pg_dump -Fc -h 127.0.0.1 -U postgres -d test -f '/tmp/a b.dump'"


def test_backup_of_the_test_database_on_every_backend(db_url, tmp_path, capsys):
    """On the parametrized backend: SQLite gives a copy with the same rows; PostgreSQL the advice (exit 2)."""
    engine = make_engine(db_url)
    prepare(make_sessionmaker(engine))
    dest = tmp_path / "b.db"
    code = main(["--config", _config(tmp_path, db_url), "backup", str(dest)])
    out = capsys.readouterr().out
    if db_url.startswith("sqlite"):
        assert code == 0 and dest.exists()
        assert _counts(f"sqlite:///{dest}") == _counts(db_url)
    else:
        assert code == 2 and out.startswith("pg_dump -Fc -h 127.0.0.1") and not dest.exists()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
