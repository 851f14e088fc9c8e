"""The report data (SPEC §8) on the database: `load_report` reads a campaign into a `reports.data.CampaignReport`
with a handful of bulk queries (no query per target): only *submitted* results count (drafts never), only *active*
assignments are a group's inspectors. The builders in `reports/` turn it into the five workbooks.

Building the workbooks takes seconds for a big campaign, and on SQLite every transaction holds the write lock
(BEGIN IMMEDIATE, bot.db): load inside a short transaction, build outside it (`report_sends.send_reports` and the
handlers do; `build_reports` is the one-call form for a caller that does not share the database, e.g. the CLI).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from collections import defaultdict
from decimal import Decimal
from typing import Callable, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Config
from bot.services.draw_announcements import draw_sheet_data, group_views, published_record
from bot.services.draws import current_draw
from models import (Assignment, Campaign, CampaignDepartment, CampaignItem, DrawGroup, FollowUp,
                    GroupTarget, Item, Person, Result, Submission, Target)
from reports import REPORT_FILES, build_all, build_report
from reports.draw_page import PAGE_KIND, build_draw_page, page_filename
from reports.data import (CampaignReport, DepartmentBlock, DepartmentInfo, FollowUpInfo, Inspector, ItemResult,
                          TargetRecord)

log = logging.getLogger(__name__)

CHUNK = 900  # SQLite's bound-parameter limit (999 on old builds)

# Short names of the files of SPEC §8 (reports.REPORT_FILES, in the order sent) for dedup keys and `kinds`.
KINDS = dict(zip(REPORT_FILES, ("record", "statistics", "summary", "publicity", "draw"), strict=True))


PAGE = "page"  # the draw's verification page (SPEC §5.11), sent with the 公示 list


def file_kind(filename: str) -> str:
    """The stable short name of a report file (`record`, `statistics`, …): its name is f"{number}_{kind}.xlsx"."""
    for full, kind in KINDS.items():
        if filename.endswith(f"_{full}.xlsx"):
            return kind
    if filename.endswith(f"_{PAGE_KIND}.html"):
        return PAGE
    return re.sub(r"[^0-9A-Za-z]+", "", filename)[-20:] or "file"


def _county(department_name: str) -> str:
    """西华县文化广电和旅游局 → 西华县: the office's county, for the workbooks' titles."""
    m = re.match(r"^(.+?(?:自治县|自治旗|县|市|区|旗))", department_name)
    return m.group(1) if m else ""


def chunks(values: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _amount(value) -> str | None:
    if value is None:
        return None
    return f"{Decimal(value):.2f}"


# ------------------------------------------------------------------------------------------------ the data

def load_report(session: Session, campaign_id: int, *, cfg: Config, now: dt.datetime,
                with_page: bool = False) -> CampaignReport:
    """Everything the five workbooks show of a campaign, as plain data (its current draw; submitted results);
    `with_page` also reads the draw's record for the verification page."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise LookupError(f"no campaign {campaign_id}")
    cds = session.scalars(select(CampaignDepartment).where(CampaignDepartment.campaign_id == campaign_id)
                          .order_by(CampaignDepartment.position, CampaignDepartment.id)).all()
    items: dict[int, list[Item]] = defaultdict(list)
    for ci in session.scalars(select(CampaignItem).where(CampaignItem.campaign_id == campaign_id)
                              .order_by(CampaignItem.position, CampaignItem.id)):
        items[ci.item.department_id].append(ci.item)
    with_items = [cd for cd in cds if items.get(cd.department_id)]

    draw = current_draw(session, campaign_id)
    targets: list[TargetRecord] = []
    inspectors_per_dept: dict[int, set[int]] = defaultdict(set)
    draw_data = None
    draw_record = None
    if draw is not None:
        groups = {g.id: g for g in session.scalars(select(DrawGroup).where(DrawGroup.draw_id == draw.id))}
        # The groups' active inspectors, as drawn (a replacement takes its predecessor's position).
        members: dict[int, list[Assignment]] = defaultdict(list)
        for a in session.scalars(select(Assignment).join(DrawGroup, DrawGroup.id == Assignment.group_id)
                                 .where(DrawGroup.draw_id == draw.id, Assignment.active)
                                 .order_by(DrawGroup.number, Assignment.position, Assignment.id)):
            members[a.group_id].append(a)
            inspectors_per_dept[a.department_id].add(a.person_id)
        leader_ids = sorted({g.leader_person_id for g in groups.values() if g.leader_person_id})
        leader_names: dict[int, str] = {}
        for chunk in chunks(leader_ids):
            for pid, name in session.execute(select(Person.id, Person.name).where(Person.id.in_(chunk))):
                leader_names[pid] = name
        group_inspectors = {
            gid: tuple(Inspector(name=a.person.name, department=a.department.name, cert_no=a.person.cert_no or "",
                                 is_leader=a.person_id == groups[gid].leader_person_id) for a in assigned)
            for gid, assigned in members.items()}

        # Submitted results only: a Submission and its Results are written together by bot.services.result_entry.submit; drafts
        # (result_drafts) are never read here.
        submitted: dict[tuple[int, int], tuple[str, dt.date]] = {}
        for tid, did, day, name in session.execute(
                select(Submission.target_id, Submission.department_id, Submission.inspection_date, Person.name)
                .join(Person, Person.id == Submission.person_id).where(Submission.draw_id == draw.id)):
            submitted[(tid, did)] = (name, day)
        follow_ups: dict[int, FollowUpInfo] = {}
        for fu in session.scalars(select(FollowUp).join(Result, Result.id == FollowUp.result_id)
                                  .where(Result.draw_id == draw.id)):
            follow_ups[fu.result_id] = FollowUpInfo(
                state=fu.state, measures=tuple(fu.measures or ()), penalty_amount=_amount(fu.penalty_amount),
                closed_on=fu.closed_on, note=fu.note)
        results: dict[tuple[int, int], tuple[int, str | None, FollowUpInfo | None]] = {}
        for rid, tid, iid, code, note in session.execute(
                select(Result.id, Result.target_id, Result.item_id, Result.code, Result.note)
                .where(Result.draw_id == draw.id)):
            results[(tid, iid)] = (code, note, follow_ups.get(rid))

        # Plain values out of the ORM objects once: the loop below runs for every target × department × item.
        specs = [(cd.department_id, cd.department.name, cd.department.label,
                  [(i.id, i.name, i.content) for i in items[cd.department_id]]) for cd in with_items]
        # A department not submitted yet looks the same on every target: one shared (immutable) block.
        not_submitted = {did: DepartmentBlock(department=name, label=label, items=tuple(
            ItemResult(item=iname, content=content, code=None) for _iid, iname, content in its))
            for did, name, label, its in specs}
        group_info = {gid: (g.number, leader_names.get(g.leader_person_id), group_inspectors.get(gid, ()))
                      for gid, g in groups.items()}
        rows = session.execute(
            select(GroupTarget.group_id, Target.id, Target.name, Target.uscc, Target.legal_rep, Target.address,
                   Target.credit_class, Target.registration_authority, Target.jurisdiction)
            .join(Target, Target.id == GroupTarget.target_id)
            .join(DrawGroup, DrawGroup.id == GroupTarget.group_id).where(DrawGroup.draw_id == draw.id)
            .order_by(DrawGroup.number, GroupTarget.position, GroupTarget.id)).all()
        none = (None, None, None)
        for gid, tid, name, uscc, legal_rep, address, credit_class, authority, jurisdiction in rows:
            blocks = []
            for did, dname, label, its in specs:
                sub = submitted.get((tid, did))
                if sub is None:
                    blocks.append(not_submitted[did])
                    continue
                answers = []
                for iid, iname, content in its:
                    code, note, follow = results.get((tid, iid), none)
                    answers.append(ItemResult(item=iname, content=content, code=code, note=note, follow_up=follow))
                blocks.append(DepartmentBlock(department=dname, label=label, items=tuple(answers), submitted=True,
                                              submitted_by=sub[0], inspection_date=sub[1]))
            number, leader, inspectors = group_info[gid]
            targets.append(TargetRecord(
                group_number=number, group_leader=leader, name=name, uscc=uscc, legal_rep=legal_rep,
                address=address, credit_class=credit_class, inspectors=inspectors, departments=tuple(blocks),
                registration_authority=authority or None, jurisdiction=jurisdiction or None))
        known = {r.uscc: r for r in rows}  # the drawn targets, already read: not read again for 抽取结果
        views = group_views(session, draw, known)
        draw_data = draw_sheet_data(draw, campaign, views, cfg.tz)
        if with_page:  # the verification page's record, on the views already read
            draw_record = published_record(session, draw, tz=cfg.tz, views=views)

    departments = [DepartmentInfo(name=cd.department.name, label=cd.department.label,
                                  items=tuple(i.name for i in items.get(cd.department_id, ())),
                                  inspectors=len(inspectors_per_dept.get(cd.department_id, ())),
                                  cooperating=cd.cooperating) for cd in cds]
    return CampaignReport(
        number=campaign.number, title=campaign.title, lead_department=campaign.lead_department.name,
        window_start=campaign.window_start, window_end=campaign.window_end, results_due=campaign.results_due,
        publication_due=campaign.publication_due, deadlines_provisional=campaign.deadlines_provisional,
        published_on=campaign.published_on, state=campaign.state, code_set=cfg.code_set, departments=departments,
        targets=targets,
        # openpyxl cannot write time zones: the office's local time, naive
        generated_at=now.astimezone(cfg.tz).replace(tzinfo=None, microsecond=0), draw=draw_data,
        county=_county(campaign.lead_department.name),
        extra={"campaign_id": campaign.id, "draw_id": draw.id if draw else None},
        draw_record=draw_record,
        lang=cfg.bot.language)


def build_steps(report: CampaignReport,
                kinds: Iterable[str] | None = None) -> list[tuple[str, Callable[[], tuple[str, bytes] | None]]]:
    """The workbooks one at a time, for a caller that shows progress: (label, build) in SPEC §8's order; a build
    gives (filename, bytes), or None for a file there is nothing for (抽取结果 before a draw). `kinds` (e.g.
    ("publicity",)) keeps only some."""
    wanted = set(KINDS.values()) if kinds is None else set(kinds)
    steps = [(full, functools.partial(build_report, full, report)) for full, kind in KINDS.items() if kind in wanted
             and (kind != "draw" or report.draw is not None)]
    if PAGE in wanted and report.draw_record is not None:
        steps.append((PAGE_KIND, functools.partial(_page, report)))
    return steps


def _page(report: CampaignReport) -> tuple[str, bytes]:
    return page_filename(report.number), build_draw_page(report.draw_record, lang=report.lang)


def build_files(report: CampaignReport, kinds: Iterable[str] | None = None) -> list[tuple[str, bytes]]:
    """The workbooks as (filename, bytes), in SPEC §8's order (reports.build_all); `kinds` keeps only some."""
    if kinds is None:
        return build_all(report)
    return [f for f in (build() for _label, build in build_steps(report, kinds)) if f is not None]


def build_reports(session: Session, campaign_id: int, *, cfg: Config, now: dt.datetime) -> list[tuple[str, bytes]]:
    """load_report + the builders, in one call. The build runs inside the caller's transaction: the bot's own
    code loads in a transaction and builds outside it (see the module docstring)."""
    return build_files(load_report(session, campaign_id, cfg=cfg, now=now))


# ------------------------------------------------------------------------------------------------ sending
