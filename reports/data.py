"""What the report builders read (SPEC §8): plain data, no database, no Telegram.

`bot.services.reporting.load_report(session, campaign_id, …)` fills a `CampaignReport` from the database; the builders in
this package turn it into workbook bytes. Tests and the benchmark build `CampaignReport`s directly.

Order matters and is the order of the office's paper forms: departments in campaign order, targets by group
number then position in the group, items in campaign order, inspectors as drawn.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from reports.draw_result import DrawSheetData

# SPEC §6.10: a target has a problem if any of its codes is one of these.
PROBLEM_CODES = frozenset({2, 3, 4, 5, 6, 8, 10})
FOLLOW_UP_CODE = 8


@dataclass(frozen=True)
class Inspector:
    name: str
    department: str  # the department's full name (单位)
    cert_no: str  # 执法证号
    is_leader: bool = False  # 组长


@dataclass(frozen=True)
class FollowUpInfo:
    """后续处理 of a code-8 result (SPEC §6.9)."""

    state: str  # "open" (未完结) | "closed" (已完结)
    measures: tuple[str, ...] = ()  # 责令改正, 列入经营异常名录, 立案调查, 行政处罚, 移送
    penalty_amount: str | None = None  # decimal as text, e.g. "2000.00"
    closed_on: dt.date | None = None
    note: str | None = None


@dataclass(frozen=True)
class ItemResult:
    """One item of one department on one target; `code` None = not entered (not submitted)."""

    item: str  # 事项名称
    content: str | None  # 检查内容
    code: int | None
    note: str | None = None  # the description after a problem code, or the optional note
    follow_up: FollowUpInfo | None = None


@dataclass(frozen=True)
class DepartmentBlock:
    """A department's part of a target's record form."""

    department: str  # full name
    label: str  # short name for narrow columns (e.g. 文旅)
    items: tuple[ItemResult, ...]
    submitted: bool = False
    submitted_by: str | None = None
    inspection_date: dt.date | None = None  # 检查日期 of the submission

    @property
    def codes(self) -> list[int]:
        return [i.code for i in self.items if i.code is not None]

    @property
    def result(self) -> str:
        """SPEC §6.10: the distinct codes of its items, in code order ("1" or "5,8"); "" if none entered."""
        return ",".join(str(c) for c in sorted(set(self.codes)))

    @property
    def has_problem(self) -> bool:
        return any(c in PROBLEM_CODES for c in self.codes)


@dataclass(frozen=True)
class TargetRecord:
    group_number: int
    group_leader: str | None
    name: str
    uscc: str  # 统一社会信用代码 / 注册号
    legal_rep: str | None
    address: str
    credit_class: str | None  # A/B/C/D, None = 未分类
    inspectors: tuple[Inspector, ...]  # the group's active inspectors, as drawn
    departments: tuple[DepartmentBlock, ...]  # every campaign department with items, in campaign order

    @property
    def has_problem(self) -> bool:
        return any(d.has_problem for d in self.departments)

    @property
    def inspection_date(self) -> dt.date | None:
        """The latest inspection date of its submitted departments (the target's 检查完成日期)."""
        dates = [d.inspection_date for d in self.departments if d.inspection_date is not None]
        return max(dates) if dates else None

    @property
    def follow_ups(self) -> list[FollowUpInfo]:
        return [i.follow_up for d in self.departments for i in d.items if i.follow_up is not None]


@dataclass(frozen=True)
class DepartmentInfo:
    name: str
    label: str
    items: tuple[str, ...]  # the campaign's items of this department, in order
    inspectors: int  # distinct active inspectors of this department in the current draw
    cooperating: bool = False  # 配合部门


@dataclass
class CampaignReport:
    number: str  # 抽查任务编号
    title: str  # 抽查任务名称
    lead_department: str
    window_start: dt.date
    window_end: dt.date
    results_due: dt.date | None
    publication_due: dt.date | None
    deadlines_provisional: bool
    published_on: dt.date | None
    state: str
    codes: dict[int, str]  # code → label, in code order (config [codes])
    departments: list[DepartmentInfo]
    targets: list[TargetRecord]
    generated_at: dt.datetime  # local time of the office
    draw: DrawSheetData | None = None  # for 抽取结果; None before a draw
    county: str = ""  # the office's county, for titles (e.g. 西华县)
    extra: dict = field(default_factory=dict)

    def code_label(self, code: int) -> str:
        return self.codes.get(code, str(code))
