"""Submitted results made directly in the database (for corrections and follow-ups, before the entry flow's own
submit exists): the county of tests/drawsetup.py, a draw, then for the first targets of group 1 one submission
per department, its results, their history (version 1) and a follow-up for each result with the follow-up code."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select

from bot.services import draws
from bot.config import config_from_dict
from bot.rules.codes import CodeSet
from models import (Assignment, Campaign, CampaignItem, Department, DrawGroup, FollowUp, GroupTarget, Item, Person,
                    Result, ResultHistory, Submission, Target)
from tests.drawsetup import LEADER_TG, prepare

CFG = config_from_dict({})
WL, SJ, GA, XF = "西华县文化广电和旅游局", "西华县市场监督管理局", "西华县公安局", "西华县消防救援大队"


@dataclass
class Submitted:
    campaign_id: int
    draw_id: int
    group_id: int
    group_number: int
    leader_id: int | None  # the group's leader (a person id)
    targets: list[int]  # target ids with submitted results, in group order
    # department name → the drawn inspectors of group 1 (person ids, in draw order; the first one submitted)
    inspectors: dict[str, list[int]]
    heads: dict[str, int]  # department name → its 分管领导 (person id)
    # (target id, item name) → result id
    results: dict[tuple[int, str], int] = field(default_factory=dict)
    followups: dict[int, int] = field(default_factory=dict)  # result id → follow-up id
    leader_tg: int = LEADER_TG

    def tg(self, sessions, person_id: int) -> int:
        with sessions.begin() as s:
            return s.get(Person, person_id).telegram_user_id


def submit(sessions, *, n_targets: int = 2, codes: dict[str, int] | None = None,
           notes: dict[int, str] | None = None, code_set: CodeSet = CFG.code_set, default_code: int = 1,
           plan: dict | None = None) -> Submitted:
    """Prepare, draw, and submit every department's results on the first `n_targets` targets of group 1.
    `codes` maps an item name to its code on every target (default `default_code`); problem codes of `code_set`
    get a note, its follow-up code a follow-up."""
    codes = codes or {}
    notes = notes or {}
    campaign_id = prepare(sessions, plan=plan)
    with sessions.begin() as s:
        campaign = s.get(Campaign, campaign_id)
        draw = draws.perform_draw(s, campaign, cfg=CFG, person_id=None, actor="test")
        campaign.state = "inspecting"
        group = s.scalar(select(DrawGroup).where(DrawGroup.draw_id == draw.id, DrawGroup.number == 1))
        targets = list(s.scalars(select(Target).join(GroupTarget, GroupTarget.target_id == Target.id)
                                 .where(GroupTarget.group_id == group.id).order_by(GroupTarget.position)))
        targets = targets[:n_targets]
        assignments = s.scalars(select(Assignment).where(Assignment.group_id == group.id)
                                .order_by(Assignment.position)).all()
        inspectors: dict[str, list[int]] = {}
        for a in assignments:
            inspectors.setdefault(a.department.name, []).append(a.person_id)
        heads = {}
        for p in s.scalars(select(Person)):
            if p.has_role("dept_head"):
                heads[p.department.name] = p.id
        items = s.execute(select(Item, Department.name).join(CampaignItem, CampaignItem.item_id == Item.id)
                          .join(Department, Department.id == Item.department_id)
                          .where(CampaignItem.campaign_id == campaign_id).order_by(CampaignItem.position)).all()
        out = Submitted(campaign_id=campaign_id, draw_id=draw.id, group_id=group.id, group_number=group.number,
                        leader_id=group.leader_person_id, targets=[t.id for t in targets], inspectors=inspectors,
                        heads=heads)
        day = dt.date(2022, 9, 27)
        for target in targets:
            for dept_name, person_ids in inspectors.items():
                dept_items = [i for i, d in items if d == dept_name]
                submission = Submission(draw_id=draw.id, target_id=target.id,
                                        department_id=dept_items[0].department_id, person_id=person_ids[0],
                                        inspection_date=day)
                s.add(submission)
                s.flush()
                for item in dept_items:
                    code = codes.get(item.name, default_code)
                    note = notes.get(code, f"发现问题：{item.name}") if code_set.is_problem(code) else None
                    result = Result(submission_id=submission.id, draw_id=draw.id, target_id=target.id,
                                    item_id=item.id, department_id=item.department_id, code=code, note=note,
                                    version=1)
                    s.add(result)
                    s.flush()
                    s.add(ResultHistory(result_id=result.id, version=1, code=code, note=note,
                                        changed_by_person_id=person_ids[0]))
                    out.results[(target.id, item.name)] = result.id
                    if code_set.opens_follow_up(code):
                        fu = FollowUp(result_id=result.id, measures=[], state="open")
                        s.add(fu)
                        s.flush()
                        out.followups[result.id] = fu.id
        return out
