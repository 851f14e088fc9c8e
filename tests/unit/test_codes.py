"""The result codes (bot.rules.codes, SPEC §6.7/§6.10): the CodeSet and its `[codes]` configuration, good and bad; then
a county that renumbers its codes, in process on the database, showing that the configured set — not the record
form's numbers — drives entry, corrections, follow-ups, publication and the workbooks.

The renumbered set reuses numbers of the record form with other meanings on purpose: 1 is a problem code here and
8 the clean code, so code that still thinks "8 opens a follow-up" or "1 needs no description" fails these tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.config import DEFAULT_CODES, ConfigError, config_from_dict, load_config
from bot.rules.codes import (DEFAULT_CODE_SET, CodeSet, CodeSetError, code_set_from_config, department_result,
                             show_code)
from bot.services import corrections, publication, report_data, result_entry
from bot.services.corrections import CorrectionError
from bot.services.result_entry import EntryRefused
from models import Department, FollowUp, Item, Person, Result, Target
from reports.publicity import build_publicity
from reports.record_forms import build_record_forms
from reports.statistics import build_statistics
from tests.reportsetup import DAY, drawn, pairs_to_enter
from tests.unit.test_reports_tables import publicity_rows, stats_table

RENUMBERED_TOML = """
[codes]
1 = "不合格"
5 = "不涉及"
8 = "合格"
12 = "责令改正"
19 = "发现问题待后续处理"
problems = [1, 12, 19]
follow_up = 19
clean = 8
"""
CFG = config_from_dict(tomllib.loads(RENUMBERED_TOML))
CODES = CFG.code_set
PROBLEMS = {1, 12, 19}  # spelled out again: the expectations do not ask the CodeSet
NOW = dt.datetime(2022, 10, 20, 2, 0, tzinfo=dt.timezone.utc)


# ------------------------------------------------------------------------------------------------ the CodeSet

def test_the_default_set_is_the_record_forms_ten():
    codes = DEFAULT_CODE_SET
    assert dict(codes.labels) == DEFAULT_CODES and codes.codes == tuple(range(1, 11))
    assert codes.problems == {2, 3, 4, 5, 6, 8, 10} and codes.follow_up == 8 and codes.clean == 1
    assert codes.show(8) == "8 发现问题待后续处理" and codes.show(11) == "11"
    assert show_code(1, {1: "合格"}) == "1 合格"
    assert 10 in codes and 11 not in codes and codes.label(7) == "未发现本次抽查涉及的经营活动"
    assert codes.is_problem(5) and not codes.is_problem(7) and not codes.is_problem(None)
    assert codes.has_problem([1, None, 10]) and not codes.has_problem([1, 7, 9, None])
    assert codes.opens_follow_up(8) and not codes.opens_follow_up(5) and not codes.opens_follow_up(None)
    assert department_result([8, 5, 8, None]) == "5,8" and department_result([]) == ""


def test_a_code_set_is_a_frozen_value():
    codes = CodeSet(labels={3: " 三 ", 1: "一"}, problems=[3], follow_up=3, clean=1)
    assert list(codes.labels.items()) == [(1, "一"), (3, "三")]  # code order, labels trimmed
    with pytest.raises(TypeError):
        codes.labels[2] = "二"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        codes.clean = 3  # type: ignore[misc]
    same = CodeSet(labels={1: "一", 3: "三"}, problems=frozenset({3}), follow_up=3, clean=1)
    assert codes == same and hash(codes) == hash(same) and len({codes, same, DEFAULT_CODE_SET}) == 2


@pytest.mark.parametrize("kwargs, key", [
    (dict(labels={}, problems=(), follow_up=None, clean=None), "codes"),
    (dict(labels={0: "零"}, problems=(), follow_up=None, clean=None), "0"),
    (dict(labels={1: " "}, problems=(), follow_up=None, clean=None), "1"),
    (dict(labels={1: "合格", 2: "不合格"}, problems={3}, follow_up=None, clean=1), "problems"),
    (dict(labels={1: "合格", 2: "不合格"}, problems={2}, follow_up=3, clean=1), "follow_up"),
    (dict(labels={1: "合格", 2: "不合格"}, problems={2}, follow_up=1, clean=None), "follow_up"),
    (dict(labels={1: "合格", 2: "不合格"}, problems={2}, follow_up=2, clean=3), "clean"),
    (dict(labels={1: "合格", 2: "不合格"}, problems={2}, follow_up=2, clean=2), "clean"),
])
def test_facts_that_do_not_fit_are_refused(kwargs, key):
    with pytest.raises(CodeSetError) as err:
        CodeSet(**kwargs)
    assert err.value.key == key


# ------------------------------------------------------------------------------------------------ [codes]

def test_without_a_codes_table_the_record_form_applies():
    cfg = config_from_dict({})
    assert cfg.code_set is DEFAULT_CODE_SET and cfg.codes is cfg.code_set.labels  # built once, labels from it


def test_relabelled_record_form_numbers_keep_their_meaning():
    raw = {str(c): f"{label}（本县）" for c, label in DEFAULT_CODES.items()}
    codes = config_from_dict({"codes": raw}).code_set
    assert codes.show(8) == "8 发现问题待后续处理（本县）"
    assert (codes.problems, codes.follow_up, codes.clean) == (DEFAULT_CODE_SET.problems, 8, 1)


def test_the_facts_alone_adjust_the_record_form():
    codes = config_from_dict({"codes": {"problems": [2, 3, 4, 6, 10], "follow_up": 0, "clean": 9}}).code_set
    assert codes.labels == DEFAULT_CODE_SET.labels
    assert codes.problems == {2, 3, 4, 6, 10} and codes.follow_up is None and codes.clean == 9
    assert not codes.opens_follow_up(8) and not codes.is_problem(5)


def test_a_renumbered_set_says_everything_and_loads_from_toml(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[bot]\ntoken = "1:A"\n' + RENUMBERED_TOML, encoding="utf-8")
    codes = load_config(path, env={}).code_set
    assert codes == CODES
    assert codes.codes == (1, 5, 8, 12, 19) and codes.problems == PROBLEMS
    assert codes.follow_up == 19 and codes.clean == 8 and codes.show(19) == "19 发现问题待后续处理"
    none = config_from_dict({"codes": {"1": "合格", "2": "不合格", "problems": [], "follow_up": 0, "clean": 0}})
    assert none.code_set.problems == frozenset() and none.code_set.follow_up is None and none.code_set.clean is None


@pytest.mark.parametrize("table, key", [
    # a set with its own numbers must say what they mean: no guessing by number
    ({"1": "合格", "2": "不合格"}, "codes.problems"),
    ({"1": "合格", "2": "不合格", "problems": [2]}, "codes.follow_up"),
    ({"1": "合格", "2": "不合格", "problems": [2], "follow_up": 2}, "codes.clean"),
    # every named code exists in the set
    ({"1": "合格", "2": "不合格", "problems": [2, 3], "follow_up": 2, "clean": 1}, "codes.problems"),
    ({"problems": [2, 11]}, "codes.problems"),
    ({"follow_up": 11}, "codes.follow_up"),
    ({"clean": 11}, "codes.clean"),
    # the follow-up code is a problem code; the clean code is not
    ({"follow_up": 7}, "codes.follow_up"),
    ({"problems": [2, 3]}, "codes.follow_up"),  # the default follow_up = 8 is no longer a problem code
    ({"clean": 2}, "codes.clean"),
    ({"problems": [1, 8], "follow_up": 8}, "codes.clean"),  # the default clean = 1 became a problem code
    # values of the wrong kind
    ({"problems": "2,3"}, "codes.problems"),
    ({"problems": [2, "3"]}, "codes.problems"),
    ({"problems": [True]}, "codes.problems"),
    ({"follow_up": "8"}, "codes.follow_up"),
    ({"follow_up": -1}, "codes.follow_up"),
    ({"clean": True}, "codes.clean"),
    ({"problem": [2]}, "codes.problem"),  # a typo is not taken for a code
    ({"3": ""}, "codes.3"),
    ({"-1": "负"}, "codes.-1"),
])
def test_a_bad_codes_table_is_refused_naming_the_key(table, key):
    with pytest.raises(ConfigError) as err:
        config_from_dict({"codes": table})
    message = str(err.value)
    assert message.startswith(key + ":") and "\n" not in message


def test_the_refusal_of_a_renumbered_set_names_every_missing_key():
    with pytest.raises(ConfigError) as err:
        config_from_dict({"codes": {"1": "合格", "2": "不合格", "follow_up": 0}})
    assert "codes.problems" in str(err.value) and "codes.clean" in str(err.value)
    assert "codes.follow_up" not in str(err.value)


def test_code_set_from_config_without_config_is_the_default():
    assert code_set_from_config() == DEFAULT_CODE_SET


# ------------------------------------------------------------------------------------------------ in process

def _task_with_items(sessions, draw_id: int, n_items: int):
    """The first (person, group target) to enter whose department has `n_items` items."""
    for person, gt in pairs_to_enter(sessions, draw_id):
        with sessions.begin() as s:
            if len(result_entry.load_task(s, person, gt).items) == n_items:
                return person, gt
    raise AssertionError(f"no department with {n_items} items")


def _enter(s, person: int, gt: int, codes: list[int]) -> result_entry.SubmitOutcome:
    """Answer the items in order with `codes` (a description wherever the set asks for one), then submit."""
    task = result_entry.load_task(s, person, gt)
    for item, code in zip(task.items, codes, strict=True):
        result_entry.answer(s, person_id=person, group_target_id=gt, item_id=item.item_id, code=code, codes=CODES)
        if code in PROBLEMS:
            result_entry.add_note(s, person_id=person, group_target_id=gt, item_id=item.item_id,
                                  note=f"问题{code}")
        else:
            result_entry.skip_note(s, person_id=person, group_target_id=gt, item_id=item.item_id, codes=CODES)
    return result_entry.submit(s, person_id=person, group_target_id=gt, today=DAY, codes=CODES)


def test_renumbered_codes_drive_entry(sessions):
    _cid, draw_id = drawn(sessions)
    person, gt = _task_with_items(sessions, draw_id, 2)
    with sessions.begin() as s:
        first, second = result_entry.load_task(s, person, gt).items
        for code in (3, 10):  # codes of the record form that this set does not have
            with pytest.raises(EntryRefused) as err:
                result_entry.answer(s, person_id=person, group_target_id=gt, item_id=first.item_id, code=code,
                                    codes=CODES)
            assert err.value.key == "entry.refused.unknown_code"
        # 1 is a problem code here: its description is required
        result_entry.answer(s, person_id=person, group_target_id=gt, item_id=first.item_id, code=1, codes=CODES)
        with pytest.raises(EntryRefused) as err:
            result_entry.skip_note(s, person_id=person, group_target_id=gt, item_id=first.item_id, codes=CODES)
        assert err.value.key == "entry.refused.note_required"
        result_entry.add_note(s, person_id=person, group_target_id=gt, item_id=first.item_id, note="无证经营")
        # 8 is the clean code here: no description needed
        result_entry.answer(s, person_id=person, group_target_id=gt, item_id=second.item_id, code=8, codes=CODES)
        task = result_entry.skip_note(s, person_id=person, group_target_id=gt, item_id=second.item_id,
                                      codes=CODES)
        assert task.complete
        out = result_entry.submit(s, person_id=person, group_target_id=gt, today=DAY, codes=CODES)
        assert (out.result, out.problem, out.followups) == ("1,8", True, 0)  # 8 opens no follow-up here
        lines = result_entry.result_lines(out.task, CODES, "zh")
        assert f"1. {first.name}：1 不合格\n   说明：无证经营" in lines and f"2. {second.name}：8 合格" in lines
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(FollowUp)) == 0

    # 19 opens the follow-up; a target answered with non-problem codes only has no problem
    pairs = [(p, g) for p, g in pairs_to_enter(sessions, draw_id) if p == person and g != gt]
    with sessions.begin() as s:
        out = _enter(s, person, pairs[0][1], [19, 5])
        assert (out.result, out.problem, out.followups) == ("5,19", True, 1)
        out = _enter(s, person, pairs[1][1], [5, 8])
        assert (out.result, out.problem, out.followups) == ("5,8", False, 0)
    with sessions.begin() as s:
        opened = s.scalars(select(Result.code).join(FollowUp, FollowUp.result_id == Result.id)).all()
        assert opened == [19]


def _results_of(s, gt_target: int, department: str) -> list[Result]:
    return list(s.scalars(select(Result).join(Item, Item.id == Result.item_id).join(Department)
                          .where(Result.target_id == gt_target, Department.name == department)
                          .order_by(Result.item_id)))


def test_renumbered_codes_drive_corrections_and_follow_ups(sessions):
    _cid, draw_id = drawn(sessions)
    person, gt = _task_with_items(sessions, draw_id, 2)
    with sessions.begin() as s:
        out = _enter(s, person, gt, [8, 8])
        assert (out.problem, out.followups) == (False, 0)
        department = out.task.department_name
        first, second = (r.id for r in _results_of(s, out.task.target_id, department))
        head = next(p.id for p in s.scalars(select(Person).order_by(Person.id))
                    if p.has_role("dept_head") and p.department.name == department)

    def request(result_id: int, code: int, note: str | None) -> int:
        with sessions.begin() as s:
            return corrections.request_correction(s, person=s.get(Person, person), result_id=result_id,
                                                  new_code=code, reason="录入时误选", new_note=note, cfg=CFG).id

    def approve(correction_id: int) -> tuple[bool, bool, bool]:
        with sessions.begin() as s:
            d = corrections.decide_correction(s, correction_id, approver=s.get(Person, head), approve=True,
                                              codes=CODES, today=dt.date(2022, 10, 10))
            return d.approved, d.followup_opened, d.followup_kept

    for code, key in ((19, "correct.note_required"), (1, "correct.note_required"), (10, "correct.bad_code")):
        with pytest.raises(CorrectionError) as err:
            request(first, code, None)
        assert err.value.key == key, code

    # (approved, follow-up opened, follow-up kept)
    assert approve(request(first, 19, "未按规定公示")) == (True, True, False)  # a description, then a follow-up
    assert approve(request(second, 5, None)) == (True, False, False)  # not a problem code here: no description
    assert approve(request(first, 8, None)) == (True, False, True)  # away from the follow-up code: kept, noted
    with sessions.begin() as s:
        (fu,) = s.scalars(select(FollowUp)).all()
        assert fu.result_id == first and "由 19 改为 8" in fu.note and s.get(Result, first).code == 8


def _sheet_row(ws, label: str) -> int:
    (row,) = [c.row for c in ws["A"] if c.value == label]
    return row


def test_renumbered_codes_drive_publication_and_the_workbooks(sessions):
    cid, draw_id = drawn(sessions)
    cycle = [8, 1, 5, 12, 19, 8, 8, 5]
    entered: dict[tuple[str, str], list[tuple[str, int]]] = {}  # (uscc, department) → [(item, code)]
    gts: list[int] = []
    with sessions.begin() as s:
        for n, (person, gt) in enumerate(pairs_to_enter(sessions, draw_id)):
            task = result_entry.load_task(s, person, gt)
            gts += [gt] if gt not in gts else []
            if len(gts) % 3 == 0:  # every third target: clean and not-applicable codes only (no problem)
                codes = [(8, 5)[(n + k) % 2] for k in range(len(task.items))]
            else:
                codes = [cycle[(n + k) % len(cycle)] for k in range(len(task.items))]
            _enter(s, person, gt, codes)
            uscc = s.get(Target, task.target_id).uscc
            entered[(uscc, task.department_name)] = [(i.name, c) for i, c in zip(task.items, codes)]
        leader = s.scalar(select(Person.id).where(Person.name == "马勇"))
        outcome = publication.publish(s, cid, person_id=leader, today=dt.date(2022, 10, 20), cfg=CFG)
    problem_targets = {u for (u, _d), pairs in entered.items() if any(c in PROBLEMS for _i, c in pairs)}
    assert 0 < outcome.problems == len(problem_targets) < outcome.targets

    with sessions.begin() as s:
        report = report_data.load_report(s, cid, cfg=CFG, now=NOW)
    departments = [d.name for d in report.departments]

    # 附件2: one column per configured code, in code order; counts and problem targets by the configured set
    _ws, names, rows = stats_table(build_statistics(report))
    headers = [names[c] for c in sorted(names)]
    assert headers[7:12] == ["1 不合格", "5 不涉及", "8 合格", "12 责令改正", "19 发现问题待后续处理"]
    assert headers[12:] == ["发现问题对象数", "未完结", "已完结"]
    for dept in departments:
        codes = [c for (_u, d), pairs in entered.items() if d == dept for _i, c in pairs]
        row = rows[dept]
        assert row["已录入结果数"] == len(codes)
        for code, header in zip((1, 5, 8, 12, 19), headers[7:12]):
            assert row[header] == codes.count(code), (dept, code)
        assert row["发现问题对象数"] == sum(1 for (_u, d), pairs in entered.items()
                                       if d == dept and any(c in PROBLEMS for _i, c in pairs))
        assert (row["未完结"], row["已完结"]) == (codes.count(19), 0)
    assert rows["合计"]["发现问题对象数"] == len(problem_targets)

    # 公示: 检查结果 in the configured labels
    published = publicity_rows(build_publicity(report))
    for (uscc, dept), pairs in entered.items():
        want = "；".join(CODES.show(c) for c in sorted({c for _i, c in pairs}))
        assert published[(uscc, dept)]["检查结果"] == want

    # 附件1: the legend lists the configured set; 处理意见 has a line for each problem code and only for those
    wb = load_workbook(BytesIO(build_record_forms(report)))
    assert len(wb.worksheets) == len(report.targets)
    seen = 0
    for ws, target in zip(wb.worksheets, report.targets):
        legend = ws.cell(row=ws.max_row, column=1).value
        assert legend.startswith("说明：（1）检查结果栏填写相应编号：1. 不合格 5. 不涉及 8. 合格 12. 责令改正 "
                                 "19. 发现问题待后续处理\n")
        opinion = ws.cell(row=_sheet_row(ws, "处理意见"), column=2).value or ""
        remarks = ws.cell(row=_sheet_row(ws, "备注"), column=2).value or ""
        for dept in target.departments:
            for item, code in entered[(target.uscc, dept.department)]:
                line = f"「{item}」{code}（{CODES.label(code)}）"
                assert (line in opinion) == (code in PROBLEMS), (target.uscc, item, code)
                assert (f"「{item}」后续处理未完结" in remarks) == (code == 19)
                seen += code in PROBLEMS
        if target.uscc not in problem_targets:
            assert opinion == "未发现问题"
    assert seen > 0
