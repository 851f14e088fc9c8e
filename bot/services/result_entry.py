"""Result entry (SPEC §6): per-inspector drafts saved at every answer, the submission lock, results with their
history, follow-ups for the follow-up code, campaign progress. No Telegram here; the caller owns the transaction.
What a code means (problem, follow-up) comes from the configured `CodeSet` (bot.rules.codes) the caller passes.

Who may do what is decided here, from the database at the moment of the call: the person holds an active
assignment in the group holding the target, in the current (not superseded) draw of an open campaign; the item
is one of the campaign's items of that assignment's department; the department's results for the target are not
submitted yet. Every refusal is an `EntryRefused` raised before anything is written.

The lock is the `submissions` row, unique per (draw, target, department): the INSERT decides who wins, never a
check alone. On PostgreSQL the campaign row is locked first (SELECT … FOR UPDATE) so that concurrent submissions
of one campaign serialize and the "all results are in" count cannot miss a concurrent one; SQLite's BEGIN
IMMEDIATE serializes writers anyway.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from sqlalchemy import and_, bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defaultload, lazyload

from bot.services.refusal import Refusal
from bot.rules.codes import CodeSet, department_result  # department_result: SPEC §6.10, also used from here
from bot.services import audit, outbox
from bot.services.draws import current_draw
from bot.services.staffing import OPEN_STATES, WITHOUT_DRAW_RECORD, active_assignments
from bot.services.campaigns import lock_campaign
from bot.texts import t
from models import (Assignment, Campaign, CampaignDepartment, CampaignItem, Department, Draw, DrawGroup, FollowUp,
                    GroupTarget, Item, Person, Result, ResultDraft, ResultHistory, Submission, utcnow)

NOTE_MAX = 500  # characters of a description or note
MAX_DATE_CHOICES = 31  # date buttons offered: the most recent days of the window up to today


class EntryRefused(Refusal):
    """A refusal of a step of result entry; nothing was written."""


class AlreadySubmitted(EntryRefused):
    """The department's results for the target are locked: who submitted them and when."""

    def __init__(self, *, name: str, submitted_at: dt.datetime, department: str, target: str):
        super().__init__("entry.refused.submitted", name=name, department=department, target=target)
        self.name = name
        self.submitted_at = submitted_at


# ------------------------------------------------------------------------------------------------ dates

def date_choices(window_start: dt.date, window_end: dt.date, today: dt.date) -> list[dt.date]:
    """The days an inspection date may be set to: each day of the window up to today (at most the latest
    MAX_DATE_CHOICES). Before the window has started only today itself: an inspection is not dated ahead."""
    last = min(window_end, today)
    if last < window_start:
        return [today]
    first = max(window_start, last - dt.timedelta(days=MAX_DATE_CHOICES - 1))
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def default_inspection_date(window_start: dt.date, window_end: dt.date, today: dt.date) -> dt.date:
    """The day of entry when it lies in the window; after the window its last day; before it, the day of entry."""
    return date_choices(window_start, window_end, today)[-1]


# ------------------------------------------------------------------------------------------------ views

@dataclass(frozen=True)
class ItemState:
    item_id: int
    name: str
    content: str | None
    code: int | None
    note: str | None
    note_done: bool
    bulk: bool = False  # filled by 全部「…」/ 其余全部, not answered one by one

    @property
    def complete(self) -> bool:
        """Answered: a code and, for a problem code, its description (else the note was given or skipped)."""
        return self.code is not None and self.note_done


@dataclass(frozen=True)
class TargetTask:
    """One target of one of the person's groups, seen by that person for their department."""

    group_target_id: int
    draw_id: int
    campaign_id: int
    campaign_number: str
    campaign_title: str
    group_id: int
    group_number: int
    target_id: int
    target_name: str
    department_id: int
    department_name: str
    department_label: str
    window_start: dt.date
    window_end: dt.date
    items: tuple[ItemState, ...]
    chosen_date: dt.date | None  # set by the inspector; None = the default applies
    submitted_by: str | None = None
    submitted_at: dt.datetime | None = None
    submitted_date: dt.date | None = None

    @property
    def submitted(self) -> bool:
        return self.submitted_by is not None

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def answered(self) -> int:
        return sum(1 for i in self.items if i.complete)

    @property
    def complete(self) -> bool:
        return bool(self.items) and all(i.complete for i in self.items)

    @property
    def pending(self) -> ItemState | None:
        """The first item not answered yet, in campaign order."""
        return next((i for i in self.items if not i.complete), None)

    def item(self, item_id: int) -> ItemState | None:
        return next((i for i in self.items if i.item_id == item_id), None)

    def position(self, item_id: int) -> int:
        return next(n for n, i in enumerate(self.items, 1) if i.item_id == item_id)

    def inspection_date(self, today: dt.date) -> dt.date:
        if self.submitted_date is not None:
            return self.submitted_date
        choices = date_choices(self.window_start, self.window_end, today)
        if self.chosen_date is not None and self.chosen_date in choices:
            return self.chosen_date
        return choices[-1]

    @property
    def codes(self) -> list[int]:
        return [i.code for i in self.items if i.code is not None]

    @property
    def untouched(self) -> bool:
        """No item has an answer yet: the moment the bulk shortcuts are offered."""
        return all(i.code is None for i in self.items)

    @property
    def bulk_items(self) -> list[ItemState]:
        return [i for i in self.items if i.bulk and i.code is not None]


@dataclass(frozen=True)
class _Scope:
    """What an authorized action works on."""

    gt: GroupTarget
    group: DrawGroup
    draw: Draw
    campaign: Campaign
    assignment: Assignment
    department: Department
    items: list[Item]


# The scope of an action in one statement: the group target with its group, draw and campaign, the person's
# active assignment in that group (an inner join: no row = not assigned) and its department, and the department's
# submission for the target if there is one. Built once: it is on the path of every answer.
_SCOPE = (
    select(GroupTarget, DrawGroup, Draw, Campaign, Assignment, Department, Submission)
    .join(DrawGroup, DrawGroup.id == GroupTarget.group_id)
    .join(Draw, Draw.id == DrawGroup.draw_id)
    .join(Campaign, Campaign.id == Draw.campaign_id)
    .join(Assignment, and_(Assignment.group_id == DrawGroup.id, Assignment.person_id == bindparam("person_id"),
                           Assignment.active))
    .join(Department, Department.id == Assignment.department_id)
    .outerjoin(Submission, and_(Submission.draw_id == Draw.id, Submission.target_id == GroupTarget.target_id,
                                Submission.department_id == Assignment.department_id))
    .where(GroupTarget.id == bindparam("group_target_id"))
    # Joined eagerly by default but not used here: a lazy load if ever touched. The submitter (joined) is named
    # in every refusal of a submitted target; their department is not.
    .options(lazyload(Campaign.lead_department), lazyload(Assignment.person), lazyload(Assignment.department),
             defaultload(Submission.person).lazyload(Person.department), *WITHOUT_DRAW_RECORD)
)

# The department's items of the campaign, in campaign order, each with the person's draft for the target (if any).
_ITEMS_WITH_DRAFTS = (
    select(Item, ResultDraft)
    .join(CampaignItem, CampaignItem.item_id == Item.id)
    .outerjoin(ResultDraft, and_(ResultDraft.item_id == Item.id, ResultDraft.draw_id == bindparam("draw_id"),
                                 ResultDraft.target_id == bindparam("target_id"),
                                 ResultDraft.person_id == bindparam("person_id")))
    .where(CampaignItem.campaign_id == bindparam("campaign_id"), Item.department_id == bindparam("department_id"))
    .order_by(CampaignItem.position, CampaignItem.id)
    .options(lazyload(Item.department))  # joined eagerly by default, not used here
)


def _load_scope(session: Session, person_id: int,
                group_target_id: int) -> tuple[_Scope, Submission | None, dict[int, ResultDraft]]:
    """The authorized scope, the department's submission for the target (None if open) and the person's drafts
    by item id: two statements."""
    row = session.execute(_SCOPE, {"person_id": person_id, "group_target_id": group_target_id}).first()
    if row is None:  # no such target, or the person holds no active assignment in its group
        raise EntryRefused("entry.refused.not_assigned")
    gt, group, draw, campaign, assignment, department, sub = row
    if draw.superseded_by_id is not None or campaign.state not in OPEN_STATES:
        raise EntryRefused("entry.refused.closed")
    items: list[Item] = []
    drafts: list[ResultDraft] = []
    for item, draft in session.execute(_ITEMS_WITH_DRAFTS, {
            "draw_id": draw.id, "target_id": gt.target_id, "person_id": person_id, "campaign_id": campaign.id,
            "department_id": department.id}):
        items.append(item)
        if draft is not None:
            drafts.append(draft)
    scope = _Scope(gt, group, draw, campaign, assignment, department, items)
    # In id order, as a plain query returns them: the first draft with a date gives the chosen date (_task).
    return scope, sub, {d.item_id: d for d in sorted(drafts, key=lambda d: d.id)}


def _submission(session: Session, draw_id: int, target_id: int, department_id: int) -> Submission | None:
    return session.scalar(select(Submission).where(Submission.draw_id == draw_id, Submission.target_id == target_id,
                                                   Submission.department_id == department_id))


def _already(scope: _Scope, sub: Submission) -> AlreadySubmitted:
    return AlreadySubmitted(name=sub.person.name, submitted_at=sub.submitted_at, department=scope.department.name,
                            target=scope.gt.target.name)


def _task(scope: _Scope, drafts: Mapping[int, ResultDraft], sub: Submission | None,
          results: Mapping[int, Result] | None = None) -> TargetTask:
    """The person's view; for a submitted target the submitted values (from `results`) replace the drafts."""
    states = []
    for i in scope.items:
        if sub is not None:
            r = (results or {}).get(i.id)
            states.append(ItemState(i.id, i.name, i.content, r.code if r else None, r.note if r else None, True))
        else:
            d = drafts.get(i.id)
            states.append(ItemState(i.id, i.name, i.content, d.code if d else None, d.note if d else None,
                                    d.note_done if d else False, bool(d.bulk) if d else False))
    chosen = next((d.inspection_date for d in drafts.values() if d.inspection_date is not None), None)
    return TargetTask(
        group_target_id=scope.gt.id, draw_id=scope.draw.id, campaign_id=scope.campaign.id,
        campaign_number=scope.campaign.number, campaign_title=scope.campaign.title, group_id=scope.group.id,
        group_number=scope.group.number, target_id=scope.gt.target_id, target_name=scope.gt.target.name,
        department_id=scope.department.id, department_name=scope.department.name,
        department_label=scope.department.label, window_start=scope.campaign.window_start,
        window_end=scope.campaign.window_end, items=tuple(states), chosen_date=chosen,
        submitted_by=sub.person.name if sub else None, submitted_at=sub.submitted_at if sub else None,
        submitted_date=sub.inspection_date if sub else None)


def _results(session: Session, sub: Submission) -> dict[int, Result]:
    return {r.item_id: r for r in session.scalars(select(Result).where(Result.submission_id == sub.id))}


def load_task(session: Session, person_id: int, group_target_id: int) -> TargetTask:
    """The person's view of one target (authorized now); a submitted target comes with who submitted it and the
    submitted values."""
    scope, sub, drafts = _load_scope(session, person_id, group_target_id)
    return _task(scope, drafts, sub, _results(session, sub) if sub else None)


def _open_task(session: Session, person_id: int, group_target_id: int) -> tuple[_Scope, dict[int, ResultDraft]]:
    """Authorize a write: the target must not be submitted for the person's department."""
    scope, sub, drafts = _load_scope(session, person_id, group_target_id)
    if sub is not None:
        raise _already(scope, sub)
    return scope, drafts


def _department_items(session: Session, campaign_id: int, department_id: int) -> list[Item]:
    return list(session.scalars(
        select(Item).join(CampaignItem, CampaignItem.item_id == Item.id)
        .where(CampaignItem.campaign_id == campaign_id, Item.department_id == department_id)
        .order_by(CampaignItem.position, CampaignItem.id)))


def tasks_for(session: Session, person_id: int) -> list[TargetTask]:
    """Every target of the person's active assignments (current draws of open campaigns), in campaign, group and
    draw order. Counts only (a submitted target's items show as answered, without their values): a few queries
    per assignment, whatever the number of targets."""
    out: list[TargetTask] = []
    for view in active_assignments(session, person_id):
        department = session.get(Department, view.assignment.department_id)
        items = _department_items(session, view.campaign.id, department.id)
        gts = session.scalars(select(GroupTarget).where(GroupTarget.group_id == view.group.id)
                              .order_by(GroupTarget.position)).all()
        target_ids = [gt.target_id for gt in gts] or [-1]
        drafts: dict[int, dict[int, ResultDraft]] = {}
        for d in session.scalars(select(ResultDraft).where(
                ResultDraft.draw_id == view.draw.id, ResultDraft.person_id == person_id,
                ResultDraft.target_id.in_(target_ids), ResultDraft.item_id.in_([i.id for i in items] or [-1]))):
            drafts.setdefault(d.target_id, {})[d.item_id] = d
        subs = {s.target_id: s for s in session.scalars(select(Submission).where(
            Submission.draw_id == view.draw.id, Submission.department_id == department.id,
            Submission.target_id.in_(target_ids)))}
        for gt in gts:
            scope = _Scope(gt, view.group, view.draw, view.campaign, view.assignment, department, items)
            out.append(_task(scope, drafts.get(gt.target_id, {}), subs.get(gt.target_id)))
    return out


# ------------------------------------------------------------------------------------------------ drafts

def _save_draft(session: Session, scope: _Scope, drafts: dict[int, ResultDraft], person_id: int, item_id: int,
                **values: Any) -> ResultDraft:
    draft = drafts.get(item_id)
    now = utcnow()
    if draft is None:
        inherited = next((d.inspection_date for d in drafts.values() if d.inspection_date is not None), None)
        draft = ResultDraft(draw_id=scope.draw.id, target_id=scope.gt.target_id, item_id=item_id,
                            person_id=person_id, inspection_date=inherited, note_done=False)
        session.add(draft)
        drafts[item_id] = draft
    for key, value in values.items():
        setattr(draft, key, value)
    draft.updated_at = now
    session.flush()
    return draft


def _check_item(scope: _Scope, item_id: int) -> None:
    if item_id not in {i.id for i in scope.items}:
        raise EntryRefused("entry.refused.not_your_item")


def answer(session: Session, *, person_id: int, group_target_id: int, item_id: int, code: int,
           codes: CodeSet) -> TargetTask:
    """Save a result code for an item (a new answer clears an earlier note and a bulk mark). After a problem code
    the item waits for its description (SPEC §6.3); after another code it is complete at once — a note can still
    be added to it (`add_note`), with no 跳过 to press."""
    scope, drafts = _open_task(session, person_id, group_target_id)
    _check_item(scope, item_id)
    if code not in codes:
        raise EntryRefused("entry.refused.unknown_code", code=code)
    _save_draft(session, scope, drafts, person_id, item_id, code=code, note=None,
                note_done=not codes.is_problem(code), bulk=False)
    return _task(scope, drafts, None)


def fill_clean(session: Session, *, person_id: int, group_target_id: int, department_id: int,
               codes: CodeSet) -> TargetTask:
    """全部「1 未发现问题」 / 其余全部: every item without an answer takes the clean code of `codes`, marked as filled
    in bulk (the summary shows which, the submission's audit entry records them). Answers already given stay.
    `department_id` is the department the button was made for: a copy pressed by an inspector of another
    department is refused."""
    scope, drafts = _open_task(session, person_id, group_target_id)
    if scope.department.id != department_id:
        raise EntryRefused("entry.refused.not_your_item")
    if codes.clean is None:
        raise EntryRefused("entry.refused.no_clean_code")
    for item in scope.items:
        draft = drafts.get(item.id)
        if draft is None or draft.code is None:
            _save_draft(session, scope, drafts, person_id, item.id, code=codes.clean, note=None, note_done=True,
                        bulk=True)
    return _task(scope, drafts, None)


def add_note(session: Session, *, person_id: int, group_target_id: int, item_id: int, note: str) -> TargetTask:
    """The description after a problem code (required) or the optional note after another code."""
    scope, drafts = _open_task(session, person_id, group_target_id)
    _check_item(scope, item_id)
    draft = drafts.get(item_id)
    if draft is None or draft.code is None:
        raise EntryRefused("entry.refused.no_code")
    note = " ".join(note.split())
    if not note:
        raise EntryRefused("entry.refused.note_empty")
    if len(note) > NOTE_MAX:
        raise EntryRefused("entry.refused.note_too_long", length=len(note), max=NOTE_MAX)
    _save_draft(session, scope, drafts, person_id, item_id, note=note, note_done=True)
    return _task(scope, drafts, None)


def skip_note(session: Session, *, person_id: int, group_target_id: int, item_id: int,
              codes: CodeSet) -> TargetTask:
    """跳过: no note for a code that does not need one. A problem code of `codes` cannot be skipped."""
    scope, drafts = _open_task(session, person_id, group_target_id)
    _check_item(scope, item_id)
    draft = drafts.get(item_id)
    if draft is None or draft.code is None:
        raise EntryRefused("entry.refused.no_code")
    if codes.is_problem(draft.code):
        raise EntryRefused("entry.refused.note_required")
    if not draft.note_done:  # pressing 跳过 after a note was typed keeps the note
        _save_draft(session, scope, drafts, person_id, item_id, note=None, note_done=True)
    return _task(scope, drafts, None)


def set_inspection_date(session: Session, *, person_id: int, group_target_id: int, day: dt.date,
                        today: dt.date) -> TargetTask:
    """Set the inspection date (a day of the window up to today) on the person's drafts for the target."""
    scope, drafts = _open_task(session, person_id, group_target_id)
    if day not in date_choices(scope.campaign.window_start, scope.campaign.window_end, today):
        raise EntryRefused("entry.refused.bad_date", date=day.isoformat())
    if not drafts:
        raise EntryRefused("entry.refused.incomplete", count=len(scope.items))
    for draft in drafts.values():
        draft.inspection_date = day
        draft.updated_at = utcnow()
    session.flush()
    return _task(scope, drafts, None)


def resume_target(session: Session, person_id: int, preferred: int | None = None) -> int | None:
    """Where /enter continues: the preferred target (the one the conversation was on) if still open to the
    person, else the target of their most recent draft that is not submitted, else their only open target."""
    task = resume_task(session, person_id, preferred)
    return task.group_target_id if task else None


def resume_task(session: Session, person_id: int, preferred: int | None = None,
                tasks: list[TargetTask] | None = None) -> TargetTask | None:
    """The person's task where /enter continues (see `resume_target`), as `load_task` would give it: an open
    task of `tasks_for` carries its drafts in full. `tasks`: `tasks_for(session, person_id)` if the caller has
    it already."""
    tasks = [task for task in (tasks_for(session, person_id) if tasks is None else tasks) if not task.submitted]
    by_gt = {task.group_target_id: task for task in tasks}
    if preferred in by_gt:
        return by_gt[preferred]
    if len(tasks) <= 1:  # the most recent draft could only point at the one open task, if any
        return tasks[0] if tasks else None
    by_key = {(task.draw_id, task.target_id): task for task in tasks}
    recent = session.execute(select(ResultDraft.draw_id, ResultDraft.target_id)
                             .where(ResultDraft.person_id == person_id)
                             .order_by(ResultDraft.updated_at.desc(), ResultDraft.id.desc())).all()
    for draw_id, target_id in recent:
        if (draw_id, target_id) in by_key:
            return by_key[(draw_id, target_id)]
    return None


def last_activity(session: Session, person_id: int) -> dt.datetime | None:
    """When the person last saved an answer (for the idle limit when no other timestamp is known)."""
    return session.scalar(select(func.max(ResultDraft.updated_at)).where(ResultDraft.person_id == person_id))


# ------------------------------------------------------------------------------------------------ submission

@dataclass(frozen=True)
class SubmitOutcome:
    submission_id: int
    task: TargetTask  # as submitted
    inspection_date: dt.date
    result: str  # SPEC §6.10, e.g. "5,8"
    problem: bool
    followups: int
    leader_name: str | None
    leader_notified: bool
    campaign_state: str
    campaign_entered: bool  # this submission completed the campaign (every target × department is in)


def _existing_submission(loaded: Submission | None) -> Submission | None:
    """The pre-check before the INSERT (a fast, friendly answer; the unique constraint stays the arbiter): the
    department's submission as read with the scope, after the campaign lock."""
    return loaded


_CAMPAIGN_OF_GROUP_TARGET = (select(Draw.campaign_id).join(DrawGroup, DrawGroup.draw_id == Draw.id)
                             .join(GroupTarget, GroupTarget.group_id == DrawGroup.id)
                             .where(GroupTarget.id == bindparam("group_target_id")))


def submit(session: Session, *, person_id: int, group_target_id: int, today: dt.date, codes: CodeSet,
           lang: str = "zh") -> SubmitOutcome:
    """提交: lock the department's results for the target with the person's drafts.

    INSERTs the Submission (the unique constraint decides between concurrent submitters: the loser gets
    AlreadySubmitted with the winner's name), copies the drafts into Result rows (version 1) with a history row
    each, opens a follow-up per result with the follow-up code of `codes`, records `result.submit` in the audit
    log, tells the group leader through the outbox and moves the campaign drawn → inspecting → entered. `codes`
    also says which codes are problems and labels them in the leader's message; `lang` is its fallback language."""
    campaign_id = session.scalar(_CAMPAIGN_OF_GROUP_TARGET, {"group_target_id": group_target_id})
    if campaign_id is None:
        raise EntryRefused("entry.refused.not_assigned")
    campaign = lock_campaign(session, campaign_id)  # before anything is checked: see the module docstring
    scope, loaded, drafts = _load_scope(session, person_id, group_target_id)  # after the lock
    existing = _existing_submission(loaded)
    if existing is not None:
        raise _already(scope, existing)
    task = _task(scope, drafts, None)
    if not task.complete:
        raise EntryRefused("entry.refused.incomplete", count=task.total - task.answered)
    day = task.inspection_date(today)
    person = session.get(Person, person_id)

    sub = Submission(draw_id=scope.draw.id, target_id=scope.gt.target_id, department_id=scope.department.id,
                     person_id=person_id, inspection_date=day, submitted_at=utcnow())
    try:
        with session.begin_nested():
            session.add(sub)
            session.flush()
    except IntegrityError:
        # Another submitter's row got in first: theirs stands (committed, so visible now).
        winner = _submission(session, scope.draw.id, scope.gt.target_id, scope.department.id)
        if winner is None:
            raise
        raise _already(scope, winner) from None

    followups = 0
    results: dict[int, Result] = {}
    for state in task.items:
        result = Result(submission_id=sub.id, draw_id=scope.draw.id, target_id=scope.gt.target_id,
                        item_id=state.item_id, department_id=scope.department.id, code=state.code, note=state.note,
                        version=1)
        results[state.item_id] = result  # the submitted values shown back: no need to read them again
        session.add(result)
        session.flush()
        session.add(ResultHistory(result_id=result.id, version=1, code=state.code, note=state.note,
                                  changed_by_person_id=person_id))
        if codes.opens_follow_up(state.code):
            session.add(FollowUp(result_id=result.id, measures=[], state="open"))
            followups += 1
    # The department's drafts for this target (both inspectors') are settled by the submission.
    session.execute(delete(ResultDraft).where(ResultDraft.draw_id == scope.draw.id,
                                              ResultDraft.target_id == scope.gt.target_id,
                                              ResultDraft.item_id.in_([i.id for i in scope.items])))
    session.flush()

    result_text = department_result(task.codes)
    problem = codes.has_problem(task.codes)
    before = campaign.state
    if campaign.state == "drawn":
        campaign.state = "inspecting"
    now = progress(session, campaign.id)
    entered = campaign.state == "inspecting" and now.complete
    if entered:
        campaign.state = "entered"
    audit.record(session, actor=f"person:{person_id}", action="result.submit", subject=f"submission:{sub.id}",
                 data={"campaign": campaign.number, "draw": scope.draw.id, "group": scope.group.number,
                       "target": scope.gt.target.uscc, "department": scope.department.name,
                       "inspection_date": day.isoformat(), "result": result_text,
                       "items": {str(s.item_id): [s.code, s.note] for s in task.items},
                       "bulk": [s.item_id for s in task.items if s.bulk],
                       "campaign_state": [before, campaign.state] if before != campaign.state else campaign.state})

    leader = session.get(Person, scope.group.leader_person_id) if scope.group.leader_person_id else None
    notified = False
    if leader is not None and leader.id != person_id and leader.telegram_user_id:
        llang = leader.language or lang
        group_progress = next(g for g in now.groups if g.number == scope.group.number)
        outbox.enqueue(
            session, chat_id=leader.telegram_user_id, dedup_key=f"entry:submit:{sub.id}:leader",
            text=t("entry.leader_notice", llang, number=campaign.number, group=scope.group.number,
                   target=scope.gt.target.name, department=scope.department.name, result=result_text,
                   problem=t("entry.problem_mark", llang) if problem else "", name=person.name,
                   date=day.isoformat(), done=group_progress.entered, expected=group_progress.expected,
                   lines=result_lines(task, codes, llang)))
        notified = True
    session.flush()
    submitted = _task(scope, {}, sub, results)
    return SubmitOutcome(submission_id=sub.id, task=submitted, inspection_date=day, result=result_text,
                         problem=problem, followups=followups, leader_name=leader.name if leader else None,
                         leader_notified=notified, campaign_state=campaign.state, campaign_entered=entered)


def code_text(code: int | None, codes: CodeSet) -> str:
    """`5 发现问题已责令改正` (the number alone for a code no longer configured); "—" for no code."""
    return "—" if code is None else codes.show(code)


def result_lines(task: TargetTask, codes: CodeSet, lang: str) -> str:
    """One line per item: `1. <item>：<code> <label>`, 〔批量〕 when it was filled in bulk, and its note."""
    lines = []
    for n, item in enumerate(task.items, 1):
        line = t("entry.item_line", lang, n=n, item=item.name, answer=code_text(item.code, codes))
        if item.bulk:
            line += t("entry.bulk_mark", lang)
        if item.note:
            line += t("entry.note_suffix", lang, note=item.note)
        lines.append(line)
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ progress

@dataclass(frozen=True)
class DepartmentProgress:
    department_id: int
    name: str
    label: str
    entered: int  # targets whose results this department has submitted
    expected: int  # targets this department has to enter


@dataclass(frozen=True)
class GroupProgress:
    number: int
    leader_name: str | None
    targets: int
    departments: tuple[DepartmentProgress, ...]

    @property
    def entered(self) -> int:
        return sum(d.entered for d in self.departments)

    @property
    def expected(self) -> int:
        return sum(d.expected for d in self.departments)


@dataclass(frozen=True)
class Progress:
    """Entry progress of a campaign's current draw, per group and department, in (target × department) pairs."""

    campaign_id: int
    number: str
    title: str
    state: str
    draw_id: int | None
    results_due: dt.date | None
    deadlines_provisional: bool
    groups: tuple[GroupProgress, ...]
    departments: tuple[DepartmentProgress, ...]  # totals over the groups

    @property
    def entered(self) -> int:
        return sum(d.entered for d in self.departments)

    @property
    def expected(self) -> int:
        return sum(d.expected for d in self.departments)

    @property
    def complete(self) -> bool:
        return self.draw_id is not None and self.expected > 0 and self.entered == self.expected


def progress(session: Session, campaign_id: int) -> Progress:
    """Who has entered what: every (target × department with items in the campaign) of the current draw."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise LookupError(f"no campaign {campaign_id}")
    departments = [cd.department for cd in session.scalars(
        select(CampaignDepartment).where(CampaignDepartment.campaign_id == campaign_id)
        .order_by(CampaignDepartment.position))]
    with_items = set(session.scalars(select(Item.department_id).join(CampaignItem, CampaignItem.item_id == Item.id)
                                     .where(CampaignItem.campaign_id == campaign_id)))
    departments = [d for d in departments if d.id in with_items]
    draw = current_draw(session, campaign_id, *WITHOUT_DRAW_RECORD)  # only its id is needed
    groups: list[GroupProgress] = []
    totals = {d.id: [0, 0] for d in departments}
    if draw is not None:
        group_rows = session.scalars(select(DrawGroup).where(DrawGroup.draw_id == draw.id)
                                     .order_by(DrawGroup.number)).all()
        group_of = {}
        targets_in: dict[int, int] = {}
        for gid, tid in session.execute(select(GroupTarget.group_id, GroupTarget.target_id)
                                        .join(DrawGroup, GroupTarget.group_id == DrawGroup.id)
                                        .where(DrawGroup.draw_id == draw.id)):
            group_of[tid] = gid
            targets_in[gid] = targets_in.get(gid, 0) + 1
        done: dict[tuple[int, int], int] = {}
        for tid, did in session.execute(select(Submission.target_id, Submission.department_id)
                                        .where(Submission.draw_id == draw.id)):
            if tid in group_of and did in totals:
                key = (group_of[tid], did)
                done[key] = done.get(key, 0) + 1
        leaders = {p.id: p.name for p in session.scalars(
            select(Person).where(Person.id.in_([g.leader_person_id for g in group_rows if g.leader_person_id]
                                               or [-1])))}
        for g in group_rows:
            n = targets_in.get(g.id, 0)
            deps = []
            for d in departments:
                entered = done.get((g.id, d.id), 0)
                deps.append(DepartmentProgress(d.id, d.name, d.label, entered, n))
                totals[d.id][0] += entered
                totals[d.id][1] += n
            groups.append(GroupProgress(g.number, leaders.get(g.leader_person_id), n, tuple(deps)))
    return Progress(
        campaign_id=campaign.id, number=campaign.number, title=campaign.title, state=campaign.state,
        draw_id=draw.id if draw else None, results_due=campaign.results_due,
        deadlines_provisional=campaign.deadlines_provisional, groups=tuple(groups),
        departments=tuple(DepartmentProgress(d.id, d.name, d.label, *totals[d.id]) for d in departments))


def all_results_in(session: Session, campaign_id: int) -> bool:
    """Every (target × department) of the campaign's current draw is submitted."""
    return progress(session, campaign_id).complete


def results_complete(session: Session, campaign_ids: Iterable[int] | None = None) -> dict[int, bool]:
    """Per campaign (by default every drawn campaign that is not published or closed): are all results in?
    Issue 5 sends the reports when this turns True."""
    if campaign_ids is None:
        campaign_ids = session.scalars(select(Campaign.id).where(Campaign.state.in_(OPEN_STATES))
                                       .order_by(Campaign.id)).all()
    return {cid: all_results_in(session, cid) for cid in campaign_ids}
