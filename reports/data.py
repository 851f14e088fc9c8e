"""What the report builders read (SPEC §8): plain data, no database, no Telegram.

`bot.services.report_data.load_report(session, campaign_id, …)` fills a `CampaignReport` from the database; the builders
in this package turn it into workbook bytes. Tests and the benchmark build `CampaignReport`s directly.

What the codes mean (labels, problem codes, the follow-up code) arrives with the data, as the configuration's
`CodeSet` (`CampaignReport.code_set`, a frozen value of bot.rules.codes): the builders never spell a code number.

Order matters and is the order of the office's paper forms: departments in campaign order, targets by group
number then position in the group, items in campaign order, inspectors as drawn.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.rules.codes import CodeSet, department_result
from reports.draw_result import DrawSheetData


@dataclass(frozen=True)
class Inspector:
    name: str
    department: str  # the department's full name (单位)
    cert_no: str  # 执法证号
    is_leader: bool = False  # 组长


@dataclass(frozen=True)
class FollowUpInfo:
    """后续处理 of a result with the follow-up code (SPEC §6.9)."""

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
        return department_result(self.codes)


@dataclass(frozen=True)
class TargetRecord:
    group_number: int
    group_leader: str | None
    name: str
    uscc: str  # 统一社会信用代码 / 注册号
    legal_rep: str | None
    address: str  # "" = not registered (a platform export may have none): the record form shows 未登记
    credit_class: str | None  # A/B/C/D, None = 未分类
    inspectors: tuple[Inspector, ...]  # the group's active inspectors, as drawn
    departments: tuple[DepartmentBlock, ...]  # every campaign department with items, in campaign order
    registration_authority: str | None = None  # 登记机关, when the directory has it
    jurisdiction: str | None = None  # 管辖单位, when the directory has it

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
    code_set: CodeSet  # the configured codes: labels, problem codes, the follow-up code (config [codes])
    departments: list[DepartmentInfo]
    targets: list[TargetRecord]
    generated_at: dt.datetime  # local time of the office
    draw: DrawSheetData | None = None  # for 抽取结果; None before a draw
    county: str = ""  # the office's county, for titles (e.g. 西华县)
    extra: dict = field(default_factory=dict)
    draw_record: dict | None = None  # the draw's exported record, for the verification page (SPEC §5.11)
    lang: str = "zh"  # the office's language, for the verification page

    @property
    def codes(self) -> Mapping[int, str]:
        """code → label, in code order."""
        return self.code_set.labels

    def code_label(self, code: int) -> str:
        return self.codes.get(code, str(code))

    def has_problem(self, part: DepartmentBlock | TargetRecord) -> bool:
        """SPEC §6.10 for a department's part of a target, or for a whole target (any of its departments)."""
        blocks = part.departments if isinstance(part, TargetRecord) else (part,)
        return any(self.code_set.has_problem(b.codes) for b in blocks)
