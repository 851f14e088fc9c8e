"""The newcomer's offline demo (issue 7): `python -m bot demo` runs a whole campaign against the local Bot API
emulator with no token and no configuration, writes the five workbooks into the folder it names on its last
line, and verifies the draw. `--platform dingtalk` runs the same story on the local 钉钉 emulator."""

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


def test_demo_runs_a_campaign_offline_and_names_its_folder(tmp_path, page):
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
    _the_page_the_group_received_matches(out, page)
    assert not (tmp_path / "demo-output").exists()


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "old.txt").write_text("x", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    proc = subprocess.run([sys.executable, "-m", "bot", "demo", "--out", str(tmp_path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "不是空的" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.txt"]


def test_demo_on_dingtalk_runs_the_same_campaign_on_the_local_dingtalk_emulator(tmp_path, capsys, page):
    """`python -m bot demo --platform dingtalk`, in this process (so the emulator can be looked at afterwards):
    the same story on 钉钉 — cards updated in place, group commands as @-messages, the workbooks to the coordinator
    as file messages, every card press ACKed in time."""
    from io import BytesIO

    from sqlalchemy import select

    from bot.cli import main as cli_main
    from bot.devtools import demo as demo_module
    from bot.devtools.dingtalk_emulator import LATE_ACK_SECONDS, TOPIC_CARD_CALLBACK
    from models import Person

    with pytest.raises(SystemExit):  # the demo's --platform flag, with its choices
        cli_main(["demo", "--platform", "wechat"])
    assert "invalid choice: 'wechat'" in capsys.readouterr().err
    out = tmp_path / "钉钉演示"
    started = time.monotonic()
    code, demo = demo_module.run(str(out), platform="dingtalk")
    elapsed = time.monotonic() - started
    transcript = (out / "演示记录.txt").read_text(encoding="utf-8")
    assert code == 0, transcript[-4000:] + (out / "bot.log").read_text(encoding="utf-8")[-4000:]
    assert elapsed < 60, f"the demo took {elapsed:.1f} s"

    lines = transcript.rstrip("\n").splitlines()
    assert Path(lines[-1]) == out.resolve()
    for kind in REPORT_FILES:
        [path] = [p for p in out.glob("*.xlsx") if p.name.endswith(f"_{kind}.xlsx")]
        wb = load_workbook(path)
        assert wb.sheetnames and wb.worksheets[0].max_row > 1, path.name
        wb.close()
    assert "本地钉钉模拟器" in transcript and "Telegram 的替身" not in transcript
    assert "【随机抽取结果】" in transcript
    assert "@机器人 /bindgroup" in transcript and "@机器人 /draw" in transcript and "/start " in transcript
    assert "/enter" in transcript and "点击 [1 未发现问题]" in transcript and "点击 [提交]" in transcript
    assert "5 发现问题已责令改正" in transcript and "已提交" in transcript
    assert "更新卡片" in transcript and "更新消息" not in transcript
    assert "结果录入提醒" in transcript
    assert "一致 / match" in transcript and "不一致" not in transcript
    assert (out / "demo.db").exists() and list(out.glob("抽取记录_*.json"))
    assert "Application.stop() complete" in (out / "bot.log").read_text(encoding="utf-8")
    _the_page_the_group_received_matches(out, page)

    dt = demo.emu
    # the automatic send after every result was in: five file messages to the coordinator, each followed by its
    # caption as a text (钉钉's file message has none)
    with demo.sessions() as s:
        coordinator = next(p for p in s.scalars(select(Person).where(Person.telegram_user_id.is_not(None)))
                           if p.has_role("coordinator"))
        key = demo.keys[coordinator.telegram_user_id]
    inbox = dt.sent_to(dt.user(key))
    sent = [(m, inbox[i + 1].text or "") for i, m in enumerate(inbox[:-1]) if m.kind == "file"]
    entered = [m for m, caption in sent if "全部结果已录入" in caption]
    assert len(entered) == len(REPORT_FILES), inbox
    for kind in REPORT_FILES:
        [message] = [m for m in entered if m.filename.endswith(f"_{kind}.xlsx")]
        wb = load_workbook(BytesIO(message.data))
        assert wb.sheetnames and wb.worksheets[0].max_row > 1, message.filename
        wb.close()
    # every card press was ACKed within 2 s, and the bot spoke the protocol cleanly
    presses = [a.seconds for a in dt.ack_latencies if a.topic == TOPIC_CARD_CALLBACK]
    assert len(presses) >= transcript.count("点击 ["), (len(presses), transcript.count("点击 ["))
    assert max(presses) < LATE_ACK_SECONDS, sorted(presses)[-5:]
    assert not dt.pending_acks() and not dt.protocol_errors and not dt.internal_errors


def _the_page_the_group_received_matches(out, page) -> None:  # noqa: ANN001
    """The verification page the group received over the messenger, saved by the demo, says 一致 in Chromium."""
    from tests.pagecheck import open_page

    (received,) = out.glob("*_抽取核验.html")
    verdict = open_page(page, received)
    assert verdict.ok and verdict.fields == (), verdict
