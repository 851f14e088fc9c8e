"""Shared fixtures. Every database test runs on real SQLite and, when TEST_DATABASE_URL is set, on real
PostgreSQL (the `db_url` fixture is parametrized over both backends)."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

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


_pg_url: str | None = None


def _pg_schema_url() -> str:
    """This test process's own schema on the PostgreSQL server (runs in parallel do not see each other);
    created and migrated once, dropped at exit."""
    global _pg_url
    if _pg_url is None:
        schema = f"test_{os.getpid()}"
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        sep = "&" if "?" in PG_URL else "?"
        _pg_url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
        engine = make_engine(_pg_url)
        migrate(engine)
        engine.dispose()
        atexit.register(_drop_schema, schema)
    return _pg_url


def _drop_schema(schema: str) -> None:
    admin = make_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()


RESET_LOCK_TIMEOUT = "20s"


class LeftOpen(RuntimeError):
    """The previous test left a transaction open: the per-test reset cannot take its tables."""


def _reset_postgres(lock_timeout: str = RESET_LOCK_TIMEOUT) -> str:
    """Empty every table of this process's schema. A transaction a previous test left open (a session used after
    its `with sessions.begin()` block begins a new one) would block the TRUNCATE for ever and hang the whole run:
    it fails after `lock_timeout` instead, naming what holds the lock."""
    url = _pg_schema_url()
    engine = make_engine(url)
    try:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"SET LOCAL lock_timeout = '{lock_timeout}'"))
            try:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            except OperationalError as exc:
                if "lock timeout" not in str(exc):
                    raise
                held = _open_transactions(engine)
                raise LeftOpen(f"a previous test left a transaction open (used a session after its unit of work?); "
                               f"the reset waited {lock_timeout} for: {held}") from None
    finally:
        engine.dispose()
    return url


def _open_transactions(engine) -> list[str]:  # noqa: ANN001
    with engine.connect() as conn:
        return [f"{state}: {query[:160]}" for state, query in conn.execute(text(
            "SELECT state, query FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"))]


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path, sqlite_template) -> str:
    """A URL of an empty, migrated database on the parametrized backend."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    return _reset_postgres()


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine):
    """The session factory; tests open units of work with `with sessions.begin() as s:`."""
    return make_sessionmaker(engine)


# ------------------------------------------------------------------------------------------------ the browser

@pytest.fixture(scope="session")
def chromium():
    """Debian's headless Chromium (the draw page's tests). Missing, it fails and says how to install it: the page
    is part of the product's acceptance, not optional."""
    from bot.devtools.browser import INSTALL_HINT, Chromium, find_chromium

    if find_chromium() is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    with Chromium() as browser:
        yield browser


@pytest.fixture
def page(chromium):
    tab = chromium.new_page()
    yield tab
    tab.close()
