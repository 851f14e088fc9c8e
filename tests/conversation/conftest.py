"""Fixtures for conversation tests: the real Application over a StubRequest, on a real database."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.runtime.app import build_application
from bot.config import config_from_dict
from models import Department, Person
from tests.conversation.harness import Chat, StubRequest

CONFIG_ADMIN_ID = 5000


@pytest.fixture
def cfg(db_url):
    return config_from_dict({"bot": {"token": "123:TEST"}, "database": {"url": db_url},
                             "access": {"admins": [CONFIG_ADMIN_ID]}})


@pytest.fixture
async def chat(cfg, sessions):
    request = StubRequest()
    app = build_application(cfg, sessions, request=request)
    await app.initialize()
    yield Chat(app, request)
    await app.shutdown()


@pytest.fixture
def people(sessions):
    """A small roster: departments, an admin, a leader, an inspector (bound), one unbound inspector."""
    with sessions.begin() as s:
        wl = Department(name="西华县文化广电和旅游局", short_name="西文旅")
        sj = Department(name="西华县市场监督管理局", short_name="西市监")
        s.add_all([wl, sj])
        s.flush()
        future = dt.date.today() + dt.timedelta(days=365)
        rows = {
            "admin": Person(natural_key="ndp:admin", name="管理员甲", department_id=wl.id, roles="admin",
                            telegram_user_id=6001),
            "leader": Person(natural_key="ndp:leader", name="马勇", department_id=wl.id, roles="leader",
                             telegram_user_id=6002),
            "inspector": Person(natural_key="cert:41000001", name="侯奇", department_id=wl.id, roles="inspector",
                                cert_no="41000001", cert_expiry=future, telegram_user_id=6003),
            "unbound": Person(natural_key="cert:41000002", name="陈彦兵", department_id=sj.id, roles="inspector",
                              cert_no="41000002", cert_expiry=future, phone="13800000002"),
            "twin1": Person(natural_key="cert:41000003", name="王黎明", department_id=wl.id, roles="inspector",
                            cert_no="41000003", cert_expiry=future),
            "twin2": Person(natural_key="cert:41000004", name="王黎明", department_id=sj.id, roles="inspector",
                            cert_no="41000004", cert_expiry=future),
        }
        s.add_all(rows.values())
        s.flush()
        return {k: (v.id, v.telegram_user_id) for k, v in rows.items()}
