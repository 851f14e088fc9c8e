"""The newcomer's offline demo (issue 7): `python -m bot demo` runs a whole campaign against the local Bot API
emulator with no token and no configuration, writes the five workbooks into the folder it names on its last
line, and verifies the draw."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

from reports import REPORT_FILES
from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e


def test_demo_runs_a_campaign_offline_and_names_its_folder(tmp_path):
    out = tmp_path / "演示输出"
    broken = tmp_path / "broken.toml"
    broken.write_text("[bot\nthis is not toml", encoding="utf-8")  # the demo must not read the user's config
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    env.update(BOT_CONFIG=str(broken), PYTHONPATH=str(ROOT))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "bot", "demo", "--out", str(out)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert elapsed < 60, f"the demo took {elapsed:.1f} s"

    lines = proc.stdout.rstrip("\n").splitlines()
    assert Path(lines[-1]) == out.resolve()
    for kind in REPORT_FILES:
        [path] = [p for p in out.glob("*.xlsx") if p.name.endswith(f"_{kind}.xlsx")]
        wb = load_workbook(path)
        assert wb.sheetnames and wb.worksheets[0].max_row > 1, path.name
        wb.close()

    transcript = (out / "演示记录.txt").read_text(encoding="utf-8")
    assert transcript == proc.stdout  # what was printed is what was kept
    assert "【随机抽取结果】" in transcript  # the group announcement
    assert "/enter" in transcript and "点击 [1 未发现问题]" in transcript and "点击 [提交]" in transcript
    assert "5 发现问题已责令改正" in transcript and "已提交" in transcript
    assert "结果录入提醒" in transcript  # the reminder reached the inspector who had not entered yet
    assert "一致 / match" in transcript and "不一致" not in transcript
    assert (out / "demo.db").exists() and list(out.glob("抽取记录_*.json"))
    assert "Application.stop() complete" in (out / "bot.log").read_text(encoding="utf-8")  # stopped cleanly
    assert not (tmp_path / "demo-output").exists()


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "old.txt").write_text("x", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    proc = subprocess.run([sys.executable, "-m", "bot", "demo", "--out", str(tmp_path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "不是空的" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.txt"]
