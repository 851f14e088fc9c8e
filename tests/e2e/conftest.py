"""End-to-end: the bot runs as a subprocess (`python -m bot run`) against the local Bot API emulator over
HTTP, on the parametrized real database."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.devtools.botapi_emulator import FakeBotAPI

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "424242:E2E-test-token"
ADMIN_ID = 6001


class BotProcess:
    """`python -m bot run` as a child process; start, kill -9, restart."""

    ready = "polling as @"  # the log line that says start-up is done (webhook mode: "webhook as @")

    def __init__(self, config_path: Path, log_path: Path):
        self.config_path = config_path
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self, emu: FakeBotAPI, timeout: float = 30) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
        env["BOT_CONFIG"] = str(self.config_path)
        env["PYTHONUNBUFFERED"] = "1"
        log = open(self.log_path, "ab")
        start_at = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--no-rate-limiter"], cwd=ROOT,
                                     env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        # Updates sent before the first poll simply wait in the emulator; "polling as" means start-up is done.
        while self.ready not in self.log_path.read_text(encoding="utf-8", errors="replace")[start_at:]:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bot exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"bot did not start polling:\n{self.log()}")
            time.sleep(0.05)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-6000:]


@contextlib.contextmanager
def drawn_database(db_url: str, **prepare_kwargs):
    """The county of tests/drawsetup.py with its campaign drawn, on `db_url`: yields (sessions, campaign id)."""
    from bot.services import draws
    from bot.config import config_from_dict
    from bot.db import make_engine, make_sessionmaker
    from models import Campaign
    from tests.drawsetup import prepare

    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    cid = prepare(sessions, **prepare_kwargs)
    with sessions.begin() as s:
        draws.perform_draw(s, s.get(Campaign, cid), cfg=config_from_dict({}), person_id=None, actor="test")
    try:
        yield sessions, cid
    finally:
        engine.dispose()


@contextlib.contextmanager
def webhook_emulator():
    """The emulator, accepting a plain-HTTP webhook on 127.0.0.1 and retrying a failed delivery quickly."""
    with FakeBotAPI(token=TOKEN, bot_username="shuangsui_test_bot", http_webhooks=True,
                    webhook_retry_delay=0.1) as api:
        yield api
    assert not api.internal_errors, api.internal_errors[-1]


@pytest.fixture
def emu():
    with FakeBotAPI(token=TOKEN, bot_username="shuangsui_test_bot") as api:
        yield api


@pytest.fixture
def bot_config(tmp_path, db_url, emu) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[bot]\ntoken = "{TOKEN}"\nbase_url = "{emu.base_url}"\nbase_file_url = "{emu.base_file_url}"\n'
        f'[database]\nurl = "{db_url}"\n[access]\nadmins = [{ADMIN_ID}]\n'
        # The daily checks run at start-up on the real date: off here, so no digest lands in another test's chats
        # (tests/e2e/test_reminders_e2e.py turns them on).
        '[reminders]\nenabled = false\n', encoding="utf-8")
    return path


@pytest.fixture
def bot(bot_config, tmp_path, emu):
    proc = BotProcess(bot_config, tmp_path / "bot.log")
    proc.start(emu)
    yield proc
    proc.stop()
