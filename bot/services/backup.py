"""`python -m bot backup FILE` (SPEC §2 admin, §9): a consistent copy of the database while the bot runs.

SQLite: the sqlite3 online backup API copies the database in one step inside a single read transaction, so the
copy is one consistent snapshot; in WAL mode writers are not blocked meanwhile (and what sits in the WAL is
included). The copy is written next to FILE under a temporary name, switched to a self-contained rollback
journal, checked (`PRAGMA integrity_check`), and only then renamed to FILE — a failed backup never leaves a
half-written file under the name the operator asked for.

PostgreSQL: a backup is pg_dump's job; the command line for the configured URL is given instead (exit 2).
"""

from __future__ import annotations

import os
import shlex
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """A backup that was not made; the message says why (Chinese first, English after)."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int  # bytes
    tables: int  # tables in the copy (a sanity figure for the operator)


@dataclass(frozen=True)
class PgDumpAdvice:
    command: str  # the pg_dump command line for the configured URL (no password in it)


def pg_dump_command(url: str, file: str | os.PathLike) -> str:
    """`pg_dump -Fc -h HOST -p PORT -U USER -d DB -f FILE` for a SQLAlchemy PostgreSQL URL. The password is never
    put on the command line (it would show in `ps` and the shell history): pg_dump reads PGPASSWORD or ~/.pgpass."""
    u = make_url(url)
    args = ["pg_dump", "-Fc"]
    if u.host:
        args += ["-h", u.host]
    if u.port:
        args += ["-p", str(u.port)]
    if u.username:
        args += ["-U", u.username]
    if u.database:
        args += ["-d", u.database]
    args += ["-f", str(file)]
    return " ".join(shlex.quote(a) for a in args)


def _sqlite_path(url: str) -> Path:
    u = make_url(url)
    database = u.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"无法备份内存数据库或 URI 形式的数据库：{url} / cannot back up this SQLite database: {url}")
    return Path(database)


def _integrity(path: Path) -> tuple[str, int]:
    """(PRAGMA integrity_check's answer, number of tables) of the file, opened read-only."""
    conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
        tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    finally:
        conn.close()
    return "; ".join(str(r[0]) for r in rows), tables


def backup_sqlite(url: str, dest: str | os.PathLike, *, overwrite: bool = False) -> BackupResult:
    source = _sqlite_path(url)
    dest = Path(dest)
    if not source.exists():
        raise BackupError(f"数据库文件不存在：{source} / database file not found: {source}")
    if dest.exists() and dest.resolve() == source.resolve():
        raise BackupError(f"备份文件不能是数据库本身：{dest} / the backup cannot be the database itself")
    if dest.exists() and not overwrite:
        raise BackupError(f"文件已存在：{dest}（如需覆盖请加 --force） / file exists: {dest} (use --force)")
    if dest.is_dir():
        raise BackupError(f"这是一个目录：{dest} / this is a directory: {dest}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    tmp.unlink(missing_ok=True)
    try:
        src = sqlite3.connect(source, timeout=30)  # not mode=ro: that cannot create a WAL database's -shm file
        try:
            src.execute("PRAGMA busy_timeout = 30000")
            dst = sqlite3.connect(tmp)
            try:
                # pages=-1 (the default): the whole database in one step, i.e. one read transaction — a single
                # consistent snapshot even while the bot writes (WAL readers and writers do not block each other).
                src.backup(dst)
                # The copy stands alone: a rollback journal, no -wal/-shm files needed beside it.
                dst.execute("PRAGMA journal_mode = DELETE")
            finally:
                dst.close()
        finally:
            src.close()
        answer, tables = _integrity(tmp)
        if answer != "ok":
            raise BackupError(f"备份副本未通过完整性检查：{answer} / the copy failed PRAGMA integrity_check: {answer}")
        os.replace(tmp, dest)
    except sqlite3.Error as exc:
        raise BackupError(f"备份失败：{exc} / backup failed: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return BackupResult(dest, dest.stat().st_size, tables)


def backup(url: str, dest: str | os.PathLike, *, overwrite: bool = False) -> BackupResult | PgDumpAdvice:
    """Back up the database at `url` into `dest` (SQLite), or say how (PostgreSQL)."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return backup_sqlite(url, dest, overwrite=overwrite)
    if backend == "postgresql":
        return PgDumpAdvice(pg_dump_command(url, dest))
    raise BackupError(f"不支持备份此类数据库：{backend} / unsupported database backend: {backend}")
