"""Issue 14's migration keeps meaning: a database at Alembic 0003 (targets.credit_class String(1), A–D) holding
targets and draws — superseded and current, per class and whole-scope — upgrades to head with every class as it
was, and every old draw still verifies, by the service `/verify` uses and by `python -m bot draw export` +
`draw verify` from the file alone."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import MetaData, select, text, update

from bot.config import config_from_dict
from bot.db import alembic_config, make_engine, make_sessionmaker, migrate
from bot.services import campaigns, draws
from models import Base, Campaign, Draw, Target
from tests.conftest import PG_URL
from tests.drawsetup import PLAN, prepare

ROOT = Path(__file__).resolve().parents[2]


def _upgrade(url: str, revision: str) -> None:
    engine = make_engine(url)
    cfg = alembic_config(url)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


@pytest.fixture
def empty_url(db_url, tmp_path):
    """A new, empty database on the same backend as db_url (no schema yet)."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    schema = f"mig_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _make_draws(sessions) -> None:
    """Draws as the code makes them: per class A–D (and a re-draw superseding it), and a whole-scope one."""
    cfg = config_from_dict({})
    plan = copy.deepcopy(PLAN) | {"targets_per_group": 0,
                                   "sampling": {"by_class": {"A": 0.1, "B": 0.5, "C": 1, "D": 1}, "ratio": 0.2}}
    cid = prepare(sessions, plan=plan, n_targets=40)
    with sessions.begin() as s:
        draws.perform_draw(s, s.get(Campaign, cid), cfg=cfg, person_id=None, actor="test")
    with sessions.begin() as s:
        draws.perform_draw(s, s.get(Campaign, cid), cfg=cfg, person_id=None, actor="test", reason="复核",
                           public_text="2022-09-20 福彩 3D 123")
    plan2 = copy.deepcopy(PLAN) | {"title": "第二次抽查", "targets_per_group": 0, "sampling": {"ratio": 0.3}}
    with sessions.begin() as s:
        cid2 = campaigns.create_campaign(s, plan2, cfg=cfg, actor="test").campaign.id
    with sessions.begin() as s:
        draws.perform_draw(s, s.get(Campaign, cid2), cfg=cfg, person_id=None, actor="test")


def _copy_into(src_url: str, dst_url: str) -> None:
    """Every row of src into dst's (older) tables, the columns dst has; self-references set afterwards."""
    src, dst = make_engine(src_url), make_engine(dst_url)
    try:
        with src.connect() as sc, dst.begin() as dc:
            old = MetaData()
            old.reflect(dc)
            assert "registration_authority" not in old.tables["targets"].c  # really the schema before 0004
            later: list[tuple] = []
            for table in Base.metadata.sorted_tables:
                if table.name not in old.tables:
                    continue
                t_old = old.tables[table.name]
                selfref = [fk.parent.name for fk in t_old.foreign_keys if fk.column.table.name == table.name]
                rows = []
                for r in sc.execute(select(table)):
                    row = {k: v for k, v in r._mapping.items() if k in t_old.c}
                    for col in selfref:
                        if row.get(col) is not None:
                            later.append((t_old, row["id"], col, row[col]))
                            row[col] = None
                    rows.append(row)
                if rows:
                    dc.execute(t_old.insert(), rows)
            for t_old, rid, col, value in later:
                dc.execute(update(t_old).where(t_old.c.id == rid).values({col: value}))
    finally:
        src.dispose()
        dst.dispose()


def _cli(args, url, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[bot]\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    env.update(BOT_CONFIG=str(cfg), DATABASE_URL=url)
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_old_draws_verify_after_upgrade(db_url, sessions, empty_url, tmp_path):
    _make_draws(sessions)
    with sessions.begin() as s:
        classes = dict(s.execute(select(Target.uscc, Target.credit_class)).all())
        n_draws = len(s.scalars(select(Draw.id)).all())
    assert n_draws == 3 and {"A", "B", "C", "D"} <= set(classes.values())

    _upgrade(empty_url, "0003")
    _copy_into(db_url, empty_url)
    engine = make_engine(empty_url)
    migrate(engine)  # as the bot and the CLI upgrade on start
    engine.dispose()

    new = make_engine(empty_url)
    try:
        migrated = make_sessionmaker(new)
        with migrated.begin() as s:
            assert dict(s.execute(select(Target.uscc, Target.credit_class)).all()) == classes
            all_draws = s.scalars(select(Draw).order_by(Draw.id)).all()
            assert len(all_draws) == 3 and all_draws[0].superseded_by_id == all_draws[1].id
            assert "by_class" in all_draws[0].params["sampling"]
            for d in all_draws:
                report = draws.verify_draw(s, d)  # what /verify answers
                assert report.ok, report.mismatches
            ids = [d.id for d in all_draws]
    finally:
        new.dispose()
    for draw_id in ids:
        path = tmp_path / f"draw{draw_id}.json"
        out = _cli(["draw", "export", str(draw_id), str(path)], empty_url, tmp_path)
        assert out.returncode == 0, out.stdout + out.stderr
        out = _cli(["draw", "verify", str(path)], empty_url, tmp_path)
        assert out.returncode == 0 and "一致" in out.stdout, out.stdout + out.stderr
