"""Changes to a drawn group's staff (SPEC §5.6, §5.10; seed 四(二), 细则 十): the group leader, substitution
(/swap) and recusal (/recuse) approved by the department head, with the deterministic replacement of §5.10.
No Telegram here; the draw record itself never changes — changes live in assignments, requests and the audit
log, and export as the record's `replacements`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from bot.services import audit, outbox
from bot.services.approvers import check_may_decide, require_approvers
from bot.services.refusal import Refusal
from bot.rules import drawalgo
from models import (Assignment, Campaign, Conflict, Department, Draw, DrawGroup, GroupTarget, Person, StaffRequest,
                    Target, utcnow)

OPEN_STATES = ("drawn", "inspecting", "entered")
# A draw's record (its parameters, pools, digests and result: tens of kB of JSON) is not needed to know where a
# person works; loading a Draw without it spares parsing it at every step. Read on access if ever touched.
WITHOUT_DRAW_RECORD = (defer(Draw.public_text), defer(Draw.params), defer(Draw.pools), defer(Draw.digests),
                       defer(Draw.result))


class StaffError(Refusal):
    """A refusal of /leader, /swap, /recuse or of a decision on them; nothing was changed."""


@dataclass(frozen=True)
class AssignmentView:
    assignment: Assignment
    group: DrawGroup
    draw: Draw
    campaign: Campaign


def active_assignments(session: Session, person_id: int) -> list[AssignmentView]:
    """The person's current places in current draws of open campaigns."""
    rows = session.execute(
        select(Assignment, DrawGroup, Draw, Campaign)
        .join(DrawGroup, Assignment.group_id == DrawGroup.id)
        .join(Draw, DrawGroup.draw_id == Draw.id)
        .join(Campaign, Draw.campaign_id == Campaign.id)
        .where(Assignment.person_id == person_id, Assignment.active, Draw.superseded_by_id.is_(None),
               Campaign.state.in_(OPEN_STATES))
        .order_by(Campaign.id, DrawGroup.number)
        .options(*WITHOUT_DRAW_RECORD)
    ).all()
    return [AssignmentView(*r) for r in rows]


def group_targets(session: Session, group_id: int) -> list[Target]:
    return list(session.scalars(select(Target).join(GroupTarget, GroupTarget.target_id == Target.id)
                                .where(GroupTarget.group_id == group_id).order_by(GroupTarget.position)))


def file_request(session: Session, *, person: Person, assignment_id: int, kind: str, reason: str,
                 target_id: int | None = None) -> StaffRequest:
    """An inspector asks to be replaced (swap) or to recuse from a target of their group."""
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or assignment.person_id != person.id or not assignment.active:
        raise StaffError("error.stale_button")
    reason = reason.strip()
    if not reason:
        raise StaffError("staff.reason_required")
    if kind == "recuse":
        if target_id is None or target_id not in {t.id for t in group_targets(session, assignment.group_id)}:
            raise StaffError("error.stale_button")
    pending = session.scalar(select(StaffRequest).where(StaffRequest.assignment_id == assignment_id,
                                                        StaffRequest.state == "pending"))
    if pending is not None:
        raise StaffError("staff.already_pending", request_id=pending.id)
    require_approvers(session, assignment.department_id, person.id, "staff.no_approver", StaffError)
    req = StaffRequest(kind=kind, assignment_id=assignment_id, target_id=target_id, reason=reason)
    session.add(req)
    session.flush()
    audit.record(session, actor=f"person:{person.id}", action=f"staff.{kind}.request", subject=f"request:{req.id}",
                 data={"assignment": assignment_id, "target": target_id, "reason": reason})
    return req


def draw_record_for(session: Session, draw: Draw) -> dict[str, Any]:
    from bot.services.draws import record_of

    return record_of(draw, session.get(Campaign, draw.campaign_id))


def replacements_of(session: Session, draw_id: int) -> list[dict[str, Any]]:
    """The approved replacements of a draw, in order: what the export carries for verification."""
    rows = session.execute(
        select(StaffRequest, Assignment, DrawGroup)
        .join(Assignment, StaffRequest.assignment_id == Assignment.id)
        .join(DrawGroup, Assignment.group_id == DrawGroup.id)
        .where(DrawGroup.draw_id == draw_id, StaffRequest.state == "approved")
        .order_by(StaffRequest.replacement_no)
    ).all()
    out = []
    for req, old, group in rows:
        new = session.get(Assignment, req.replacement_assignment_id)
        out.append({"n": req.replacement_no, "group": group.number, "department": old.department.name,
                    "out": old.person.cert_no, "in": new.person.cert_no, "kind": req.kind})
    return out


def verify_replacements(record: dict[str, Any]) -> list[str]:
    """Re-run each replacement of an exported record in order (§5.10); mismatches by replacement number."""
    mismatches = []
    brought_in: list[str] = []
    reps = record.get("replacements") or []
    if not isinstance(reps, list):  # a verifier reports a hostile file, it does not crash on it
        return ["replacements: not a list"]
    for i, rep in enumerate(reps, start=1):
        if not isinstance(rep, dict):
            mismatches.append(f"replacements[{i}]: not an object")
            continue
        if rep.get("n") != i:
            mismatches.append(f"replacements[{i}].n")
        try:
            expected = drawalgo.replacement_v1(record, group=rep["group"], n=i, department=rep["department"],
                                               excluded=brought_in)
        except (drawalgo.DrawError, KeyError, TypeError) as exc:
            mismatches.append(f"replacements[{i}]: {exc}")
            continue
        if expected != rep.get("in"):
            mismatches.append(f"replacements[{i}].in")
        brought_in.append(rep.get("in"))
    return mismatches


@dataclass(frozen=True)
class Decision:
    request: StaffRequest
    old: Assignment
    new: Assignment | None
    group: DrawGroup
    campaign: Campaign
    leader_changed: bool


def decide(session: Session, request_id: int, *, approver: Person, approve: bool) -> Decision:
    """同意 → the deterministic replacement takes the place; 驳回 → nothing changes but the request's state."""
    req = session.get(StaffRequest, request_id, with_for_update=True)
    if req is None:
        raise StaffError("error.stale_button")
    old = session.get(Assignment, req.assignment_id)
    group = session.get(DrawGroup, old.group_id)
    draw = session.get(Draw, group.draw_id)
    campaign = session.get(Campaign, draw.campaign_id)
    # Rights first (bot.services.approvers): never the requester; the department's heads or any leader.
    check_may_decide(session, approver, old.department_id, old.person_id, leaders_too=True,
                     refusal_key="staff.not_your_department", refusal=StaffError)
    if req.state != "pending":
        raise StaffError("staff.already_decided", state=req.state)
    if draw.superseded_by_id is not None or campaign.state not in OPEN_STATES or not old.active:
        raise StaffError("error.stale_button")
    now = utcnow()
    req.decided_by_person_id = approver.id
    req.decided_at = now
    if not approve:
        req.state = "rejected"
        audit.record(session, actor=f"person:{approver.id}", action=f"staff.{req.kind}.reject",
                     subject=f"request:{req.id}", data={})
        session.flush()
        return Decision(req, old, None, group, campaign, False)
    record = draw_record_for(session, draw)
    done = replacements_of(session, draw.id)
    n = len(done) + 1
    department = session.get(Department, old.department_id)
    cert = drawalgo.replacement_v1(record, group=group.number, n=n, department=department.name,
                                   excluded=[r["in"] for r in done])
    if cert is None:
        req.state = "failed"
        audit.record(session, actor=f"person:{approver.id}", action=f"staff.{req.kind}.no_replacement",
                     subject=f"request:{req.id}", data={"n": n})
        session.flush()
        return Decision(req, old, None, group, campaign, False)
    person = session.scalar(select(Person).where(Person.cert_no == cert))
    old.active = False
    new = Assignment(group_id=group.id, person_id=person.id, department_id=old.department_id,
                     position=old.position, replaces_id=old.id)
    session.add(new)
    session.flush()
    req.state = "approved"
    req.replacement_assignment_id = new.id
    req.replacement_no = n
    if req.kind == "recuse" and req.target_id is not None:
        target = session.get(Target, req.target_id)
        if session.scalar(select(Conflict).where(Conflict.cert_no == old.person.cert_no,
                                                 Conflict.uscc == target.uscc)) is None:
            session.add(Conflict(cert_no=old.person.cert_no, uscc=target.uscc, reason=req.reason))
    leader_changed = False
    if group.leader_person_id == old.person_id:
        group.leader_person_id = _first_lead_inspector(session, group, campaign)
        leader_changed = True
    audit.record(session, actor=f"person:{approver.id}", action=f"staff.{req.kind}.approve",
                 subject=f"request:{req.id}",
                 data={"n": n, "group": group.number, "out": old.person.cert_no, "in": cert})
    session.flush()
    return Decision(req, old, new, group, campaign, leader_changed)


def _first_lead_inspector(session: Session, group: DrawGroup, campaign: Campaign) -> int | None:
    rows = session.scalars(select(Assignment).where(Assignment.group_id == group.id, Assignment.active)
                           .order_by(Assignment.position, Assignment.id)).all()
    lead = [a for a in rows if a.department_id == campaign.lead_department_id]
    chosen = lead or rows
    return chosen[0].person_id if chosen else None


def tell_group(session: Session, text: str, *, group_chat_id: int | None, except_chat: int | None) -> None:
    """A staff change announced in the bound group — unless it was made there (the reply is the announcement)."""
    if group_chat_id and group_chat_id != except_chat:
        outbox.enqueue(session, chat_id=group_chat_id, text=text)


def set_leader(session: Session, *, draw: Draw, group_number: int, query: str, actor: str) -> tuple[DrawGroup, Person]:
    """/leader: name another active member of the group as its leader."""
    group = session.scalar(select(DrawGroup).where(DrawGroup.draw_id == draw.id, DrawGroup.number == group_number))
    if group is None:
        raise StaffError("leader.no_group", group=group_number)
    members = session.scalars(select(Assignment).where(Assignment.group_id == group.id, Assignment.active)).all()
    q = query.strip()
    match = [a.person for a in members if q and q in (a.person.name, a.person.cert_no)]
    if len(match) != 1:
        raise StaffError("leader.not_member", group=group_number, query=q)
    previous = group.leader_person_id
    group.leader_person_id = match[0].id
    audit.record(session, actor=actor, action="draw.leader", subject=f"draw:{draw.id}:group:{group_number}",
                 data={"previous": previous, "leader": match[0].id})
    session.flush()
    return group, match[0]
