"""The command line (`python -m bot …`) on the parametrized real database."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
from sqlalchemy import func, select

from bot.devtools.sample_data import sample_workbook
from models import Invite, Target

ROOT = Path(__file__).resolve().parents[2]


def _run(args, db_url, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[bot]\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN",)}
    env.update(BOT_CONFIG=str(cfg), DATABASE_URL=db_url)
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_import_cli_counts_and_reimport_unchanged(db_url, tmp_path, sessions):
    path = tmp_path / "名录.xlsx"
    path.write_bytes(sample_workbook(n_targets=12))
    proc = _run(["import", str(path)], db_url, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "新增" in proc.stdout
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Target)) == 12
    proc = _run(["import", str(path)], db_url, tmp_path)
    assert proc.returncode == 0 and "未变" in proc.stdout


def test_import_cli_with_errors_writes_annotated_file_and_nothing_else(db_url, tmp_path, sessions):
    wb = openpyxl.load_workbook(io.BytesIO(sample_workbook(n_targets=4)))
    for ws in wb.worksheets:
        header = [str(c.value or "").rstrip("*").strip() for c in ws[1]]
        if "统一社会信用代码" in header and "名称" in header:
            cell = ws.cell(row=2, column=header.index("统一社会信用代码") + 1)
            cell.value = "91411622MA4XXXXXX0"
    path = tmp_path / "bad.xlsx"
    wb.save(path)
    proc = _run(["import", str(path)], db_url, tmp_path)
    assert proc.returncode == 1
    assert (tmp_path / "bad_错误标注.xlsx").exists()
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Target)) == 0


def test_template_cli_writes_files(db_url, tmp_path):
    out = tmp_path / "tpl"
    proc = _run(["template", str(out)], db_url, tmp_path)
    assert proc.returncode == 0, proc.stderr
    files = list(out.glob("*.xlsx"))
    assert files and all(openpyxl.load_workbook(f).worksheets for f in files)


def test_invite_cli_prints_code_and_link(db_url, tmp_path, sessions):
    path = tmp_path / "名录.xlsx"
    path.write_bytes(sample_workbook(n_targets=2))
    assert _run(["import", str(path)], db_url, tmp_path).returncode == 0
    with sessions.begin() as s:
        from models import Person
        cert = s.scalars(select(Person.cert_no).where(Person.cert_no.is_not(None)).order_by(Person.id)).first()
    proc = _run(["invite", cert, "--bot-username", "xh_bot"], db_url, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "https://t.me/xh_bot?start=" in proc.stdout and "/start " in proc.stdout
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Invite)) == 1
    proc = _run(["invite", "没有这个人"], db_url, tmp_path)
    assert proc.returncode == 1


def test_tick_cli_refuses_a_bad_instant_and_writes_nothing(db_url, tmp_path, sessions):
    from models import OutboxMessage

    out = _run(["tick", "--now", "next tuesday"], db_url, tmp_path)
    assert out.returncode == 2
    assert "--now" in out.stderr and "2022-10-26T09:00+08:00" in out.stderr
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_tick_cli_without_a_token_queues_and_says_so(db_url, tmp_path):
    out = _run(["tick", "--now", "2022-10-04T10:00+08:00"], db_url, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "2022-10-04（非工作日" in out.stdout and "已排队 0 条通知" in out.stdout
    assert "未配置 token" in out.stdout


def test_import_cli_industry_for_a_list_without_the_column(db_url, tmp_path, sessions):
    from tests.unit.test_platform_import import INDUSTRY, platform_export, rows

    path = tmp_path / "对象.xlsx"
    path.write_bytes(platform_export(rows()))
    proc = _run(["import", str(path)], db_url, tmp_path)
    assert proc.returncode == 1
    assert "没有“行业类别”列" in proc.stdout and f"python -m bot import {path} --industry 行业名称" in proc.stdout
    proc = _run(["import", str(path), "--industry", INDUSTRY], db_url, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "检查对象：新增 5" in proc.stdout
    with sessions.begin() as s:
        assert set(s.scalars(select(Target.industry))) == {INDUSTRY}
