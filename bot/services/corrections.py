"""Corrections of submitted results and follow-ups (SPEC §6.8, §6.9; seed 四(四), 四(五)). No Telegram.

A submitted result is locked (seed 四(四): "检查结果一经录入，不得随意修改"). An inspector of the result's
department who holds — or held — a place in the group of its target asks for a correction; the department's head
(分管领导; the leaders when the department has no bound head — bot.services.approvers) approves it ("经所在单位主要负责人签字确认后及时
更正"). Approval changes the result, bumps its version and adds a `ResultHistory` row; history rows are only ever
added, so every value a result had stays readable. One pending correction per result at a time.

The follow-up code of the configured set (`CodeSet.follow_up`; 8 发现问题待后续处理 on the record form) opens a
`FollowUp`; `/followup` records the measures of seed 四(五) and closes it. A correction to a problem code needs a
description, as entry does. A follow-up whose result is corrected away from the follow-up code is kept, with a
line saying so appended to its note: measures already taken (a case opened, a fine imposed) are facts a
correction cannot undo, and the department still has to close the record.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services import audit
from bot.services.approvers import check_may_decide, require_approvers
from bot.services.refusal import Refusal
from bot.config import Config
from bot.rules.candidates import is_active_inspector
from bot.rules.codes import CodeSet
from bot.texts import t
from models import (Assignment, Campaign, CampaignItem, Correction, Draw, DrawGroup, FollowUp,
                    GroupTarget, Item, Person, Result, ResultHistory, Submission, Target, utcnow)

MAX_TEXT = 500  # reason and notes: keeps the approval message far below Telegram's 4096 characters

# seed 四(五) and SPEC §6.9; stored as these Chinese names (they go into the reports as they are)
MEASURES = ("责令改正", "列入经营异常名录", "立案调查", "行政处罚", "移送")
MEASURE_KEYS = {"责令改正": "order", "列入经营异常名录": "abnormal", "立案调查": "case", "行政处罚": "penalty",
                "移送": "transfer"}
PENALTY = "行政处罚"
MAX_AMOUNT = Decimal("999999999999.99")  # Numeric(14, 2)


class CorrectionError(Refusal):
    """A refusal of /correct or of a decision on a correction; nothing was changed."""


class FollowUpError(CorrectionError):
    pass


# ------------------------------------------------------------------------------------------------ scope

@dataclass(frozen=True)
class CorrectableResult:
    result: Result
    target: Target
    draw: Draw
    campaign: Campaign
    group: DrawGroup
    pending: Correction | None


def _is_inspector(person: Person | None) -> bool:
    return person is not None and is_active_inspector(active=person.active, roles=person.role_set)


def _scope_query(person: Person):
    """Results of the person's department on targets of groups where they hold or held an assignment for that
    department, in current (not superseded) draws. A replaced inspector keeps the right: they may have entered
    the result before being replaced."""
    return (
        select(Result, Target, Draw, Campaign, DrawGroup)
        .join(Draw, Result.draw_id == Draw.id)
        .join(Campaign, Draw.campaign_id == Campaign.id)
        .join(DrawGroup, DrawGroup.draw_id == Draw.id)
        .join(GroupTarget, (GroupTarget.group_id == DrawGroup.id) & (GroupTarget.target_id == Result.target_id))
        .join(Assignment, (Assignment.group_id == DrawGroup.id) & (Assignment.person_id == person.id)
              & (Assignment.department_id == Result.department_id))
        .join(Target, Target.id == Result.target_id)
        .outerjoin(CampaignItem, (CampaignItem.campaign_id == Campaign.id) & (CampaignItem.item_id == Result.item_id))
        .where(Draw.superseded_by_id.is_(None), Result.department_id == person.department_id)
        .order_by(Campaign.id, DrawGroup.number, GroupTarget.position, CampaignItem.position, Result.item_id)
    )


def _pending_by_result(session: Session, result_ids: Iterable[int]) -> dict[int, Correction]:
    ids = list(result_ids)
    if not ids:
        return {}
    rows = session.scalars(select(Correction).where(Correction.result_id.in_(ids), Correction.state == "pending"))
    return {c.result_id: c for c in rows}


def correctable_results(session: Session, person: Person | None) -> list[CorrectableResult]:
    """What `/correct` offers the person, in campaign, group, target and item order."""
    if not _is_inspector(person):
        return []
    rows = session.execute(_scope_query(person)).all()
    pending = _pending_by_result(session, (r[0].id for r in rows))
    return [CorrectableResult(r[0], r[1], r[2], r[3], r[4], pending.get(r[0].id)) for r in rows]


def correctable_result(session: Session, person: Person | None, result_id: int) -> CorrectableResult | None:
    """One result if the person may ask to correct it now, else None."""
    if not _is_inspector(person):
        return None
    row = session.execute(_scope_query(person).where(Result.id == result_id)).first()
    if row is None:
        return None
    pending = _pending_by_result(session, [result_id])
    return CorrectableResult(row[0], row[1], row[2], row[3], row[4], pending.get(result_id))


# ------------------------------------------------------------------------------------------------ request

def _lock(session: Session, model: type, row_id: int) -> bool:
    """Lock one row for this transaction (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already holds
    the write lock); False if it does not exist. Only the id is selected: FOR UPDATE cannot apply to the
    outer joins of eager-loaded relationships."""
    return session.execute(select(model.id).where(model.id == row_id).with_for_update()).first() is not None


def _clean(text: str | None) -> str:
    return (text or "").strip()


def request_correction(session: Session, *, person: Person, result_id: int, new_code: int, reason: str,
                       cfg: Config, new_note: str | None = None) -> Correction:
    """File a pending correction of a submitted result. Raises CorrectionError (nothing written) when the
    person may not, the code is not a configured one or is the current one, a reason (or, for a problem code,
    a description) is missing, another correction of the result is pending, or nobody could approve it."""
    # Lock the result row first, so two requests for one result cannot both pass the pending check.
    if not _lock(session, Result, result_id):
        raise CorrectionError("error.stale_button")
    view = correctable_result(session, person, result_id)
    if view is None:
        raise CorrectionError("correct.not_yours")
    result = view.result
    if new_code not in cfg.code_set:
        raise CorrectionError("correct.bad_code", code=new_code)
    if new_code == result.code:
        raise CorrectionError("correct.same_code", code=new_code)
    reason = _clean(reason)
    if not reason:
        raise CorrectionError("correct.reason_required")
    note = _clean(new_note) or None
    if cfg.code_set.is_problem(new_code) and not note:
        raise CorrectionError("correct.note_required")
    if len(reason) > MAX_TEXT or len(note or "") > MAX_TEXT:
        raise CorrectionError("correct.too_long", max=MAX_TEXT)
    if view.pending is not None:
        raise CorrectionError("correct.already_pending", correction_id=view.pending.id)
    require_approvers(session, result.department_id, person.id, "correct.no_approver", CorrectionError)
    correction = Correction(result_id=result.id, requested_by_person_id=person.id, new_code=new_code,
                            new_note=note, reason=reason, state="pending", requested_at=utcnow())
    session.add(correction)
    session.flush()
    audit.record(session, actor=f"person:{person.id}", action="correction.request",
                 subject=f"correction:{correction.id}",
                 data={"result": result.id, "version": result.version, "from": result.code, "to": new_code,
                       "note": note, "reason": reason})
    return correction


# ------------------------------------------------------------------------------------------------ decide

@dataclass(frozen=True)
class Decision:
    correction: Correction
    result: Result
    old_code: int
    old_note: str | None
    requester: Person
    submitter: Person | None
    target: Target
    item: Item
    campaign: Campaign
    group: DrawGroup | None
    followup: FollowUp | None  # the result's follow-up after the decision, if it has one
    followup_opened: bool  # approval to the follow-up code opened it
    followup_kept: bool  # approval away from the follow-up code kept it (and noted that on it)

    @property
    def approved(self) -> bool:
        return self.correction.state == "approved"


def _group_of(session: Session, result: Result) -> DrawGroup | None:
    return session.scalar(select(DrawGroup).join(GroupTarget, GroupTarget.group_id == DrawGroup.id)
                          .where(DrawGroup.draw_id == result.draw_id, GroupTarget.target_id == result.target_id))


def decide_correction(session: Session, correction_id: int, *, approver: Person | None, approve: bool,
                      codes: CodeSet, today: dt.date | None = None) -> Decision:
    """同意 → the result takes the new code and note, version + 1, a history row; a follow-up opens for the
    follow-up code of `codes`.
    驳回 → only the correction's state changes. Raises CorrectionError (nothing written) for a presser who may
    not decide or a correction no longer pending."""
    if not _lock(session, Correction, correction_id):
        raise CorrectionError("error.stale_button")
    correction = session.get(Correction, correction_id, populate_existing=True)
    _lock(session, Result, correction.result_id)
    result = session.get(Result, correction.result_id, populate_existing=True)
    # Rights first: someone who may not decide learns nothing about the request's state.
    check_may_decide(session, approver, result.department_id, correction.requested_by_person_id, leaders_too=False,
                     refusal_key="correct.not_your_department", refusal=CorrectionError)
    if correction.state != "pending":
        raise CorrectionError("correct.already_decided", correction_id=correction.id, state=correction.state)
    assert approver is not None
    now = utcnow()
    today = today or now.date()
    correction.decided_by_person_id = approver.id
    correction.decided_at = now
    old_code, old_note = result.code, result.note
    requester = session.get(Person, correction.requested_by_person_id)
    submission = session.get(Submission, result.submission_id)
    submitter = submitter_of(session, result)
    target = session.get(Target, result.target_id)
    item = session.get(Item, result.item_id)
    draw = session.get(Draw, result.draw_id)
    campaign = session.get(Campaign, draw.campaign_id)
    group = _group_of(session, result)
    followup = session.scalar(select(FollowUp).where(FollowUp.result_id == result.id))
    subject = f"correction:{correction.id}"

    if not approve:
        correction.state = "rejected"
        audit.record(session, actor=f"person:{approver.id}", action="correction.reject", subject=subject,
                     data={"result": result.id, "version": result.version, "code": result.code,
                           "proposed": correction.new_code})
        session.flush()
        return Decision(correction, result, old_code, old_note, requester, submitter, target, item, campaign,
                        group, followup, False, False)

    # The value being replaced must be in the history: the entry flow writes version 1; older data may not.
    if session.scalar(select(ResultHistory.id).where(ResultHistory.result_id == result.id,
                                                     ResultHistory.version == result.version)) is None:
        session.add(ResultHistory(result_id=result.id, version=result.version, code=result.code, note=result.note,
                                  changed_by_person_id=submission.person_id if submission else None,
                                  changed_at=now))
    result.code = correction.new_code
    result.note = correction.new_note
    result.version += 1
    # The history row names the author of the value (the requester); the approver is on the correction.
    session.add(ResultHistory(result_id=result.id, version=result.version, code=result.code, note=result.note,
                              changed_by_person_id=correction.requested_by_person_id, correction_id=correction.id,
                              changed_at=now))
    correction.state = "approved"

    opened = kept = False
    if codes.opens_follow_up(result.code) and followup is None:
        followup = FollowUp(result_id=result.id, measures=[], state="open")
        session.add(followup)
        session.flush()
        opened = True
        audit.record(session, actor=f"person:{approver.id}", action="followup.open", subject=f"followup:{followup.id}",
                     data={"result": result.id, "correction": correction.id})
    elif codes.opens_follow_up(old_code) and not codes.opens_follow_up(result.code) and followup is not None:
        kept = True
        line = t("followup.corrected_note", "zh", correction_id=correction.id, old=old_code, new=result.code)
        followup.note = _append_line(followup.note, today, line)
    # (8 → x → 8 on the record form: the follow-up the result already has carries on, open or closed, untouched.)
    audit.record(session, actor=f"person:{approver.id}", action="correction.approve", subject=subject,
                 data={"result": result.id, "version": result.version, "from": old_code, "to": result.code,
                       "note": result.note, "requested_by": correction.requested_by_person_id,
                       "followup": "opened" if opened else "kept" if kept else None})
    session.flush()
    return Decision(correction, result, old_code, old_note, requester, submitter, target, item, campaign, group,
                    followup, opened, kept)


def submitter_of(session: Session, result: Result) -> Person | None:
    """Who submitted the result's value (the original entry), if it was submitted."""
    submission = session.get(Submission, result.submission_id)
    return session.get(Person, submission.person_id) if submission else None


def result_history(session: Session, result_id: int) -> list[ResultHistory]:
    """Every value the result ever had, oldest first."""
    return list(session.scalars(select(ResultHistory).where(ResultHistory.result_id == result_id)
                                .order_by(ResultHistory.version, ResultHistory.id)))


# ------------------------------------------------------------------------------------------------ follow-ups

@dataclass(frozen=True)
class FollowUpView:
    followup: FollowUp
    result: Result
    target: Target
    item: Item
    campaign: Campaign


def _followup_query(department_id: int):
    return (select(FollowUp, Result, Target, Item, Campaign)
            .join(Result, FollowUp.result_id == Result.id)
            .join(Target, Target.id == Result.target_id)
            .join(Item, Item.id == Result.item_id)
            .join(Draw, Draw.id == Result.draw_id)
            .join(Campaign, Campaign.id == Draw.campaign_id)
            .where(Result.department_id == department_id))


def open_followups(session: Session, person: Person | None) -> list[FollowUpView]:
    """The open follow-ups of the person's department (an inspector's), oldest first. A follow-up whose result
    was since corrected away from the follow-up code is still listed until it is closed."""
    if not _is_inspector(person):
        return []
    rows = session.execute(_followup_query(person.department_id).where(FollowUp.state == "open")
                           .order_by(Campaign.id, FollowUp.id)).all()
    return [FollowUpView(*r) for r in rows]


def closed_followups(session: Session, person: Person | None, limit: int = 10) -> list[FollowUpView]:
    """The department's most recently closed follow-ups (shown read-only)."""
    if not _is_inspector(person):
        return []
    rows = session.execute(_followup_query(person.department_id).where(FollowUp.state == "closed")
                           .order_by(FollowUp.closed_on.desc(), FollowUp.id.desc()).limit(limit)).all()
    return [FollowUpView(*r) for r in rows]


def followup_view(session: Session, followup_id: int, person: Person | None) -> FollowUpView:
    """One follow-up of the person's department, or FollowUpError."""
    if not _is_inspector(person):
        raise FollowUpError("followup.not_yours")
    row = session.execute(_followup_query(person.department_id).where(FollowUp.id == followup_id)).first()
    if row is None:
        raise FollowUpError("followup.not_yours")
    return FollowUpView(*row)


_AMOUNT = re.compile(r"^(\d+)(?:\.(\d{1,2}))?$")


def parse_amount(text: str | None) -> Decimal | None:
    """A penalty amount in yuan: a positive number with at most two decimals (`5000`, `5,000.50`, `５０００元`);
    None if it is not one."""
    s = unicodedata.normalize("NFKC", text or "").strip()
    s = s.removesuffix("元").strip().replace(",", "").replace(" ", "")
    if not _AMOUNT.match(s):
        return None
    try:
        value = Decimal(s)
    except InvalidOperation:  # pragma: no cover — the pattern already rules it out
        return None
    if value <= 0 or value > MAX_AMOUNT:
        return None
    return value.quantize(Decimal("0.01"))


def _append_line(note: str | None, today: dt.date, line: str) -> str:
    entry = f"{today.isoformat()} {line}"
    return f"{note}\n{entry}" if note else entry


def normalize_measures(measures: Sequence[str]) -> list[str]:
    unknown = [m for m in measures if m not in MEASURES]
    if unknown:
        raise FollowUpError("followup.bad_measure", measure=unknown[0])
    return [m for m in MEASURES if m in set(measures)]


def update_followup(session: Session, followup_id: int, *, person: Person | None, measures: Sequence[str],
                    amount: Decimal | str | None, note: str | None, close: bool, today: dt.date,
                    expected_updated_at: dt.datetime | None = None) -> FollowUp:
    """Record the measures taken (行政处罚 needs its amount), append an optional dated note, and close the
    record when asked (state closed, closed_on = today). A closed follow-up is read-only.

    `expected_updated_at` is the time the caller read it: if someone changed it since, FollowUpError
    ("followup.changed") rather than overwriting their measures."""
    # Lock and re-read the row before checking it: a second inspector may be saving the same record.
    if not _lock(session, FollowUp, followup_id):
        raise FollowUpError("followup.not_yours")
    session.get(FollowUp, followup_id, populate_existing=True)
    fu = followup_view(session, followup_id, person).followup
    assert person is not None
    if fu.state != "open":
        raise FollowUpError("followup.already_closed", closed_on=fu.closed_on.isoformat() if fu.closed_on else "")
    if expected_updated_at is not None and fu.updated_at != expected_updated_at:
        raise FollowUpError("followup.changed")
    chosen = normalize_measures(measures)
    value: Decimal | None = None
    if PENALTY in chosen:
        if amount is None:
            raise FollowUpError("followup.amount_required")
        value = parse_amount(str(amount))
        if value is None:
            raise FollowUpError("followup.bad_amount", value=str(amount))
    elif amount is not None:
        raise FollowUpError("followup.amount_without_penalty")
    note = _clean(note)
    if len(note) > MAX_TEXT:
        raise FollowUpError("followup.note_too_long", max=MAX_TEXT)
    if close and not chosen:
        raise FollowUpError("followup.close_needs_measure")
    fu.measures = chosen
    fu.penalty_amount = value
    if note:
        fu.note = _append_line(fu.note, today, note)
    subject = f"followup:{fu.id}"
    actor = f"person:{person.id}"
    audit.record(session, actor=actor, action="followup.update", subject=subject,
                 data={"result": fu.result_id, "measures": chosen, "amount": str(value) if value is not None else None,
                       "note": note or None})
    if close:
        fu.state = "closed"
        fu.closed_on = today
        audit.record(session, actor=actor, action="followup.close", subject=subject,
                     data={"result": fu.result_id, "closed_on": today.isoformat()})
    fu.updated_at = utcnow()
    session.flush()
    return fu
