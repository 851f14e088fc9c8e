"""Every label the workbooks print for a code or a state, in one place (SPEC §6.7, §6.9, §6.10, §8).

The builders never spell these strings themselves, so 附件2's column headers, 附件3's cells and 公示's 检查结果 always
agree with each other and with the code buttons of the entry conversation (`"1 未发现问题"`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from bot.rules.codes import CodeSet, show_code
from reports.data import DepartmentBlock, FollowUpInfo

NOT_ENTERED = "未录入"  # a department that has not submitted (drafts are not results, SPEC §6.4)
UNCLASSIFIED = "未分类"  # no credit risk class
YES, NO = "是", "否"
OPEN, CLOSED = "未完结", "已完结"  # 后续处理 states (SPEC §6.9)
FOLLOW_UP_STATES = {"open": OPEN, "closed": CLOSED}
RESULT_SEPARATOR = "；"  # between code labels in 公示's 检查结果, the separator of Chinese lists


def code_label(code: int | None, codes: Mapping[int, str]) -> str:
    """`1 未发现问题`: the number first, as on the entry buttons (bot.rules.codes.show_code); a code outside the set
    shows its number only; "" for no code."""
    return "" if code is None else show_code(code, codes)


def result_codes(result: str | Iterable[int | None]) -> list[int]:
    """The distinct codes of a §6.10 result string ("5,8") or of any list of codes, in code order."""
    if isinstance(result, str):
        found = {int(part) for part in result.replace("，", ",").split(",") if part.strip()}
    else:
        found = {c for c in result if c is not None}
    return sorted(found)


def result_label(result: str | Iterable[int | None], codes: Mapping[int, str]) -> str:
    """公示's 检查结果: `5 发现问题已责令改正；8 发现问题待后续处理`; "" when there are no codes."""
    return RESULT_SEPARATOR.join(code_label(c, codes) for c in result_codes(result))


def has_problem(result: str | Iterable[int | None], codes: CodeSet) -> bool:
    """SPEC §6.10: any of the codes is a problem code of the set (2, 3, 4, 5, 6, 8 or 10 on the record form)."""
    return codes.has_problem(result_codes(result))


def entered(block: DepartmentBlock) -> bool:
    """A department's results count once it has submitted them for the target."""
    return block.submitted


def department_result(block: DepartmentBlock | None) -> str:
    """附件3's department cell: the §6.10 result ("1", "5,8"), 未录入 before submission, "" if not inspected."""
    if block is None:
        return ""
    return block.result if entered(block) else NOT_ENTERED


def is_closed(follow_up: FollowUpInfo) -> bool:
    """Only "closed" is 已完结; any other state is still open work."""
    return follow_up.state == "closed"


def follow_up_state_label(state: str) -> str:
    return FOLLOW_UP_STATES.get(state, OPEN)


def follow_up_summary(follow_ups: Iterable[FollowUpInfo]) -> str:
    """附件3's 后续处理: `未完结 2` while any is open (the count is the work left), `已完结` when all are closed."""
    open_count = closed_count = 0
    for f in follow_ups:
        if is_closed(f):
            closed_count += 1
        else:
            open_count += 1
    if open_count:
        return f"{OPEN} {open_count}"
    return CLOSED if closed_count else ""


def credit_class_label(credit_class: str | None) -> str:
    return credit_class or UNCLASSIFIED


def yes_no(flag: bool) -> str:
    return YES if flag else NO


def date_text(day: dt.date | None) -> str:
    """SPEC §7: YYYY-MM-DD; "" for no date."""
    return day.strftime("%Y-%m-%d") if day is not None else ""


def campaign_title(county: str, kind: str) -> str:
    """The seed's table titles: `西华县跨部门“双随机、一公开”联合抽查统计表`."""
    return f"{county}跨部门“双随机、一公开”联合抽查{kind}"
