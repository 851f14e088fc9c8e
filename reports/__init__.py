"""Workbook builders (SPEC §8): pure functions, campaign data (`reports.data.CampaignReport`) in, .xlsx bytes out."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reports.data import CampaignReport

# The five files of SPEC §8, in the order they are sent; each file name is f"{number}_{kind}.xlsx".
REPORT_FILES = ("附件1_抽查情况记录表", "附件2_联合抽查统计表", "附件3_联合抽查汇总表", "公示", "抽取结果")

_BAD_FILENAME = re.compile(r'[/\\:*?"<>|\x00-\x1f]')


def file_stem(number: str) -> str:
    """A campaign number usable in a file name on Windows, macOS, Linux and Telegram."""
    return _BAD_FILENAME.sub("_", number).strip(" .") or "抽查任务"


def build_report(kind: str, report: CampaignReport) -> tuple[str, bytes] | None:
    """One file of SPEC §8 by its kind (an entry of REPORT_FILES); None for 抽取结果 before the draw."""
    # Imported here so that `import reports` stays light and each builder loads only when its file is made.
    if kind == REPORT_FILES[0]:
        from reports.record_forms import build_record_forms as build
    elif kind == REPORT_FILES[1]:
        from reports.statistics import build_statistics as build
    elif kind == REPORT_FILES[2]:
        from reports.summary import build_summary as build
    elif kind == REPORT_FILES[3]:
        from reports.publicity import build_publicity as build
    elif kind == REPORT_FILES[4]:
        if report.draw is None:
            return None
        from reports.draw_result import build_draw_result_workbook
        return f"{file_stem(report.number)}_{kind}.xlsx", build_draw_result_workbook(report.draw)
    else:
        raise ValueError(f"unknown report file kind: {kind!r}")
    return f"{file_stem(report.number)}_{kind}.xlsx", build(report)


def build_all(report: CampaignReport) -> list[tuple[str, bytes]]:
    """All files of SPEC §8 as (file name, bytes), in REPORT_FILES order; 抽取结果 only once there is a draw."""
    return [f for f in (build_report(kind, report) for kind in REPORT_FILES) if f is not None]
