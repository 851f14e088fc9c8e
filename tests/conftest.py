"""Shared fixtures. Every database test runs on real SQLite and, when TEST_DATABASE_URL is set, on real
PostgreSQL (the `db_url` fixture is parametrized over both backends)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.db import make_engine, make_sessionmaker, migrate  # noqa: E402
from models import Base  # noqa: E402

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
PG_SKIP_REASON = "TEST_DATABASE_URL is not set: the PostgreSQL pass is skipped (set it to run on PostgreSQL)"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql",
                 marks=pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)),
]


def pytest_report_header(config):  # noqa: ANN001
    return f"PostgreSQL pass: {'on ' + PG_URL if PG_URL else 'off — ' + PG_SKIP_REASON}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once keeps the suite fast)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()  # closing the last connection checkpoints the WAL into the file
    return path


_pg_migrated = False


def _reset_postgres(url: str) -> None:
    global _pg_migrated
    engine = make_engine(url)
    try:
        if not _pg_migrated:
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            migrate(engine)
            _pg_migrated = True
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path, sqlite_template) -> str:
    """A URL of an empty, migrated database on the parametrized backend."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    _reset_postgres(PG_URL)
    return PG_URL


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine):
    """The session factory; tests open units of work with `with sessions.begin() as s:`."""
    return make_sessionmaker(engine)
