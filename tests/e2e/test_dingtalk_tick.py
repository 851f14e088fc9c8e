"""`python -m bot tick` on 钉钉: the daily checks' process delivers the outbox through the bridge and the 钉钉
client (no Stream connection: it only sends), to the people the running bot knows by their 钉钉 ids."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.db import make_engine, make_sessionmaker
from bot.devtools.dingtalk_emulator import FakeDingTalk
from bot.runtime.platform import store
from bot.services import outbox
from models import OutboxMessage
from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e


def test_tick_delivers_the_outbox_on_dingtalk(tmp_path, db_url):
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    with FakeDingTalk(client_id="dingappkey", client_secret="s3cret") as dt:
        config = tmp_path / "config.toml"
        config.write_text(f'[bot]\nplatform = "dingtalk"\n[dingtalk]\nclient_id = "dingappkey"\n'
                          f'client_secret = "s3cret"\ncard_template_id = "tpl.schema"\nadmins = ["admin001"]\n'
                          f'openapi_endpoint = "{dt.openapi_url}"\noapi_endpoint = "{dt.oapi_url}"\n'
                          f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
        wang = dt.user("staff9", "王五")
        with sessions.begin() as s:
            uid = store.user_id(s, "dingtalk", "staff9", "王五")
            outbox.enqueue(s, chat_id=uid, text="结果录入提醒：请在截止日前录入")
            outbox.enqueue(s, chat_id=uid, method="sendDocument", document=b"PK\x03\x04report", filename="附件1.xlsx",
                           caption="附件1")
        env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
        env.update(BOT_CONFIG=str(config), PYTHONPATH=str(ROOT))
        done = subprocess.run([sys.executable, "-m", "bot", "tick", "--now", "2026-12-07T09:00+08:00"], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "已发送 2 条" in done.stdout
        received = [(m.kind, m.text, m.filename, m.data) for m in dt.sent_to(wang)]
        assert received == [("text", "结果录入提醒：请在截止日前录入", None, None),
                            ("file", None, "附件1.xlsx", b"PK\x03\x04report"), ("text", "附件1", None, None)]
        assert dt.connections_total == 0  # a sending process never opens the Stream (it would take events)
    with sessions.begin() as s:
        assert {m.state for m in s.query(OutboxMessage)} == {"sent"}
    engine.dispose()
