"""`python -m bot report CAMPAIGN --out DIR` (SPEC §8) on the parametrized real database: the five workbooks written
and their paths printed, by id or by number; an unknown campaign is one line on stderr and nothing is written."""

from __future__ import annotations

from pathlib import Path

import openpyxl
from sqlalchemy import func, select

from models import Campaign, DrawGroup, GroupTarget
from reports import REPORT_FILES
from tests.reportsetup import enter_all
from tests.unit.test_cli import _run


def test_report_cli_writes_the_five_workbooks(db_url, tmp_path, sessions):
    done = enter_all(sessions)
    with sessions.begin() as s:
        number = s.get(Campaign, done.campaign_id).number
        n_targets = s.scalar(select(func.count()).select_from(GroupTarget).join(DrawGroup)
                             .where(DrawGroup.draw_id == done.draw_id))
    out = tmp_path / "报表"
    proc = _run(["report", str(done.campaign_id), "--out", str(out)], db_url, tmp_path)
    assert proc.returncode == 0, proc.stderr
    paths = [Path(line) for line in proc.stdout.splitlines()]
    assert paths == [out / f"{number}_{kind}.xlsx" for kind in REPORT_FILES]
    for path in paths:
        assert openpyxl.load_workbook(path).worksheets
    summary = openpyxl.load_workbook(paths[2]).active
    assert summary.max_row - 3 == n_targets  # title, subtitle, header, then one row per target

    again = _run(["report", number, "--out", str(tmp_path / "by-number")], db_url, tmp_path)  # by number
    assert again.returncode == 0, again.stderr
    assert len(again.stdout.splitlines()) == 5


def test_report_cli_unknown_campaign_is_one_line(db_url, tmp_path, sessions):
    enter_all(sessions)
    out = tmp_path / "out"
    proc = _run(["report", "999", "--out", str(out)], db_url, tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "没有找到抽查任务「999」。"
    assert proc.stdout == "" and not out.exists()
