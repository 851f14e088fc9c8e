"""A campaign with results for the report tests: the county of tests/drawsetup.py, drawn, and every (target ×
department) entered through bot.services.result_entry's own answer/submit — so the last submission moves the campaign to
"entered" exactly as in the bot."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from bot.services import draws, result_entry
from bot.config import config_from_dict
from models import Assignment, Campaign, DrawGroup, GroupTarget, Person
from tests.drawsetup import prepare

CFG = config_from_dict({})
DAY = dt.date(2022, 9, 27)  # inside the window 2022-09-26 … 2022-09-28


@dataclass
class Entered:
    campaign_id: int
    draw_id: int
    pairs: list[tuple[int, int]]  # (person id, group target id) in the order entered
    outcomes: list[result_entry.SubmitOutcome]


def drawn(sessions, **kwargs) -> tuple[int, int]:
    """Prepare and draw; (campaign id, draw id)."""
    cid = prepare(sessions, **kwargs)
    with sessions.begin() as s:
        draw = draws.perform_draw(s, s.get(Campaign, cid), cfg=CFG, person_id=None, actor="test")
        return cid, draw.id


def pairs_to_enter(sessions, draw_id: int) -> list[tuple[int, int]]:
    """For every group target and department: the department's first active inspector of the group."""
    out = []
    with sessions.begin() as s:
        for g in s.scalars(select(DrawGroup).where(DrawGroup.draw_id == draw_id).order_by(DrawGroup.number)):
            first: dict[int, int] = {}
            for a in s.scalars(select(Assignment).where(Assignment.group_id == g.id, Assignment.active)
                               .order_by(Assignment.position)):
                first.setdefault(a.department_id, a.person_id)
            for gt in s.scalars(select(GroupTarget).where(GroupTarget.group_id == g.id)
                                .order_by(GroupTarget.position)):
                out += [(person_id, gt.id) for person_id in first.values()]
    return out


def enter(sessions, person_id: int, gt: int, code: int = 1, note: str | None = None) -> result_entry.SubmitOutcome:
    """Answer every item of the person's department on the target with `code` (and `note`), then submit."""
    with sessions.begin() as s:
        task = result_entry.load_task(s, person_id, gt)
        for item in task.items:
            result_entry.answer(s, person_id=person_id, group_target_id=gt, item_id=item.item_id, code=code,
                                codes=CFG.code_set)
            if note or CFG.code_set.is_problem(code):
                result_entry.add_note(s, person_id=person_id, group_target_id=gt, item_id=item.item_id,
                               note=note or "发现问题，已责令改正")
            else:
                result_entry.skip_note(s, person_id=person_id, group_target_id=gt, item_id=item.item_id,
                                       codes=CFG.code_set)
        return result_entry.submit(s, person_id=person_id, group_target_id=gt, today=DAY, codes=CFG.code_set)


def enter_all(sessions, *, leave: int = 0, **kwargs) -> Entered:
    """Draw and enter everything but the last `leave` (target × department) pairs."""
    cid, draw_id = drawn(sessions, **kwargs)
    pairs = pairs_to_enter(sessions, draw_id)
    todo = pairs[:len(pairs) - leave] if leave else pairs
    outcomes = [enter(sessions, person_id, gt) for person_id, gt in todo]
    return Entered(cid, draw_id, pairs, outcomes)


def coordinator_tgs(sessions) -> dict[int, int]:
    """Bound, active coordinators: person id → Telegram id."""
    with sessions.begin() as s:
        return {p.id: p.telegram_user_id for p in s.scalars(select(Person).order_by(Person.id))
                if p.has_role("coordinator") and p.active and p.telegram_user_id}
