"""Config (SPEC §10): defaults, env overrides, one clear line naming a bad key, warnings for unknown keys."""

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import DEFAULT_CODES, ConfigError, config_from_dict, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_token_only_file_works(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[bot]\ntoken = "1:A"\n', encoding="utf-8")
    cfg = load_config(p, env={})
    assert cfg.bot.token == "1:A" and cfg.rules.result_entry_workdays == 20
    assert cfg.reminders.before_workdays == (5, 3, 1) and cfg.codes == DEFAULT_CODES
    assert cfg.database.url == "sqlite:///data/shuangsui.db" and cfg.warnings == ()


def test_env_overrides(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[bot]\ntoken = "1:A"\n[database]\nurl = "sqlite:///x.db"\n', encoding="utf-8")
    cfg = load_config(env={"BOT_CONFIG": str(p), "BOT_TOKEN": "2:B", "DATABASE_URL": "sqlite:///y.db"})
    assert cfg.bot.token == "2:B" and cfg.database.url == "sqlite:///y.db"


def test_base_urls_honoured():
    cfg = config_from_dict({"bot": {"base_url": "http://127.0.0.1:1/bot", "base_file_url": "http://127.0.0.1:1/file/bot"}})
    assert cfg.bot.base_url == "http://127.0.0.1:1/bot" and cfg.bot.base_file_url.endswith("/file/bot")


@pytest.mark.parametrize("raw, key", [
    ({"rules": {"result_entry_workdays": "twenty"}}, "rules.result_entry_workdays"),
    ({"rules": {"publication_workdays": 0}}, "rules.publication_workdays"),
    ({"bot": {"mode": "push"}}, "bot.mode"),
    ({"bot": {"language": "fr"}}, "bot.language"),
    ({"bot": {"timezone": "Mars/Olympus"}}, "bot.timezone"),
    ({"reminders": {"time": "9 o'clock"}}, "reminders.time"),
    ({"calendar": {"extra_holidays": ["2027-13-01"]}}, "calendar.extra_holidays"),
    ({"access": {"admins": ["alice"]}}, "access.admins"),
    ({"codes": {"x": "y"}}, "codes.x"),
])
def test_bad_value_names_the_key(raw, key):
    with pytest.raises(ConfigError) as err:
        config_from_dict(raw)
    assert key in str(err.value) and "\n" not in str(err.value)


def test_unknown_key_warns():
    cfg = config_from_dict({"bot": {"tokn": "x"}, "remindres": {}})
    assert any("bot.tokn" in w for w in cfg.warnings) and any("remindres" in w for w in cfg.warnings)


def test_codes_replace_default():
    # A set numbered otherwise than the record form must say what its codes mean (bot.rules.codes).
    cfg = config_from_dict({"codes": {"1": "合格", "2": "不合格", "problems": [2], "follow_up": 0, "clean": 1}})
    assert cfg.codes == {1: "合格", 2: "不合格"}


def test_calendar_dates_parsed():
    import datetime as dt
    cfg = config_from_dict({"calendar": {"extra_holidays": ["2027-01-01"], "extra_workdays": [dt.date(2027, 2, 6)]}})
    assert cfg.calendar.extra_holidays == (dt.date(2027, 1, 1),) and cfg.calendar.extra_workdays == (dt.date(2027, 2, 6),)


def test_run_without_token_prints_one_clear_line(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[bot]\n", encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "BOT_CONFIG": str(p)}
    proc = subprocess.run([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "bot.token" in lines[0] and "BOT_TOKEN" in lines[0]
    assert "Traceback" not in proc.stderr
