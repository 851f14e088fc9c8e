"""The draw on the database (SPEC §5): freeze the pools, run algorithm v1 (bot.rules.drawalgo), save the immutable
record with its groups and assignments, supersede a previous draw with a reason, verify, export. No Telegram.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from bot.services.refusal import Refusal
from bot.services import audit
from bot.rules import candidates, drawalgo
from bot.config import Config
from models import (Assignment, Campaign, Conflict, Department, Draw, DrawGroup, GroupTarget, Person, Target,
                    utcnow)


class DrawRefused(Refusal):
    """The draw cannot be made now (state, missing reason); nothing was written."""


@dataclass(frozen=True)
class Frozen:
    params: dict[str, Any]
    pools: dict[str, Any]
    target_ids: dict[str, int]
    cert_ids: dict[str, int]
    department_ids: dict[str, int]


def current_draw(session: Session, campaign_id: int, *options: Any) -> Draw | None:
    """The campaign's draw that is not superseded; `options`: loader options (e.g. staffing.WITHOUT_DRAW_RECORD)."""
    return session.scalar(select(Draw).where(Draw.campaign_id == campaign_id, Draw.superseded_by_id.is_(None))
                          .order_by(Draw.id.desc()).limit(1).options(*options))


def draw_for_reference(session: Session, ref: str | None) -> Draw | None:
    """The draw `/verify [ref]` means: a draw id; a campaign (id or number) → its current draw; nothing → the
    current draw of the one open campaign, else the newest draw of all. None when there is no such draw."""
    from bot.services import campaigns

    if ref and ref.isdigit():
        return session.get(Draw, int(ref))
    try:
        campaign = campaigns.resolve_campaign(session, ref)
    except campaigns.CampaignChoiceError:
        return session.scalar(select(Draw).order_by(Draw.id.desc()).limit(1)) if ref is None else None
    return current_draw(session, campaign.id)


def _over_annual_limit(session: Session, campaign: Campaign, limit: int) -> set[int]:
    """Targets already in `limit` drawn (not superseded) campaigns whose window starts in the same year."""
    year = campaign.window_start.year
    stmt = (
        select(GroupTarget.target_id)
        .join(DrawGroup, GroupTarget.group_id == DrawGroup.id)
        .join(Draw, DrawGroup.draw_id == Draw.id)
        .join(Campaign, Draw.campaign_id == Campaign.id)
        .where(Draw.superseded_by_id.is_(None), Campaign.id != campaign.id,
               Campaign.window_start >= dt.date(year, 1, 1), Campaign.window_start <= dt.date(year, 12, 31))
        .group_by(GroupTarget.target_id)
        .having(func.count(func.distinct(Draw.campaign_id)) >= limit)
    )
    return set(session.scalars(stmt))


def drawable_target_clause() -> ColumnElement[bool]:
    """SQL form of bot.rules.candidates.target_drawable: the target's 状态 is the drawable one."""
    return Target.status == candidates.DRAWABLE_TARGET_STATUS


def eligible_inspector_clause(through: dt.date) -> ColumnElement[bool]:
    """SQL narrowing of bot.rules.candidates.inspector_eligible for a window ending on `through`. `roles` is a
    comma list, so the role test here is a substring test; each row it lets through is still decided by the
    predicate itself (`eligible_inspectors`)."""
    return and_(Person.active, Person.cert_no.is_not(None), Person.cert_expiry >= through,
                Person.roles.contains(candidates.INSPECTOR_ROLE))


def eligible_inspectors(session: Session, department_id: int, through: dt.date) -> list[Person]:
    """The department's people who may be drawn for a window ending on `through` (SPEC §5.2)."""
    rows = session.scalars(select(Person).where(Person.department_id == department_id,
                                                eligible_inspector_clause(through)))
    return [p for p in rows if candidates.inspector_eligible(active=p.active, roles=p.role_set, cert_no=p.cert_no,
                                                            cert_expiry=p.cert_expiry, through=through)]


def freeze(session: Session, campaign: Campaign, cfg: Config) -> Frozen:
    """The candidate pools of §5.2, as of now."""
    sampling = dict(campaign.sampling)
    per_class = "by_class" in sampling
    excluded = _over_annual_limit(session, campaign, cfg.rules.max_inspections_per_target_per_year)
    targets: dict[str, list[str]] = {}
    target_ids: dict[str, int] = {}
    rows = session.execute(select(Target.id, Target.uscc, Target.credit_class)
                           .where(Target.industry.in_(campaign.scope), drawable_target_clause()))
    for tid, uscc, credit in rows:
        if tid in excluded:
            continue
        stratum = (credit or "-") if per_class else "*"
        targets.setdefault(stratum, []).append(uscc)
        target_ids[uscc] = tid
    for lst in targets.values():
        lst.sort()

    departments = [cd.department for cd in campaign.departments]
    inspectors: dict[str, list[str]] = {}
    cert_ids: dict[str, int] = {}
    for dep in departments:
        certs = []
        for p in eligible_inspectors(session, dep.id, campaign.window_end):
            certs.append(p.cert_no)
            cert_ids[p.cert_no] = p.id
        inspectors[dep.name] = sorted(certs)

    conflicts = sorted(
        [c, u] for c, u in session.execute(select(Conflict.cert_no, Conflict.uscc))
        if c in cert_ids and u in target_ids
    )
    params = {
        "sampling": sampling,
        "per_class": per_class,
        "targets_per_group": campaign.targets_per_group,
        "inspectors_per_department": campaign.inspectors_per_department,
        "departments": [d.name for d in departments],
        "lead_department": campaign.lead_department.name,
    }
    pools = {"targets": targets, "inspectors": inspectors, "conflicts": conflicts}
    return Frozen(params, pools, target_ids, cert_ids, {d.name: d.id for d in departments})


def perform_draw(session: Session, campaign: Campaign, *, cfg: Config, person_id: int | None, actor: str,
                 public_text: str | None = None, reason: str | None = None) -> Draw:
    """Freeze, seed, draw, save. Raises drawalgo.DrawError (nothing saved) or DrawRefused."""
    if campaign.state in ("published", "closed"):
        raise DrawRefused("draw.refused_state", state=campaign.state)
    previous = current_draw(session, campaign.id)
    if previous is not None and not (reason or "").strip():
        raise DrawRefused("draw.redraw_needs_reason", draw_id=previous.id)
    frozen = freeze(session, campaign, cfg)
    if public_text is not None:
        seed, source = drawalgo.seed_from_public(public_text), "public"
    else:
        seed, source = drawalgo.new_seed(), "secrets"
    record = drawalgo.make_record(
        seed=seed, seed_source=source, public_text=public_text, params=frozen.params, pools=frozen.pools,
        campaign={"id": campaign.id, "number": campaign.number, "title": campaign.title})
    draw = Draw(campaign_id=campaign.id, algorithm=record["algorithm"], seed=seed, seed_source=source,
                public_text=public_text, params=record["params"], pools=record["pools"],
                digests=record["digests"], result=record["result"], triggered_by_person_id=person_id,
                created_at=utcnow())
    session.add(draw)
    session.flush()
    _save_groups(session, draw, record["result"], frozen)
    if previous is not None:
        previous.superseded_by_id = draw.id
        previous.supersede_reason = reason.strip()  # type: ignore[union-attr]
    campaign.state = "drawn"
    audit.record(session, actor=actor, action="draw.create", subject=f"draw:{draw.id}",
                 data={"campaign": campaign.number, "seed": seed, "seed_source": source,
                       "digests": record["digests"], "supersedes": previous.id if previous else None,
                       "reason": reason})
    session.flush()
    return draw


def _save_groups(session: Session, draw: Draw, result: dict[str, Any], frozen: Frozen) -> None:
    for group in result["groups"]:
        g = DrawGroup(draw_id=draw.id, number=group["number"], leader_person_id=frozen.cert_ids.get(group["leader"]))
        session.add(g)
        session.flush()
        session.add_all(GroupTarget(group_id=g.id, target_id=frozen.target_ids[u], position=i)
                        for i, u in enumerate(group["targets"]))
        session.add_all(Assignment(group_id=g.id, person_id=frozen.cert_ids[a["cert_no"]],
                                   department_id=frozen.department_ids[a["department"]], position=i)
                        for i, a in enumerate(group["inspectors"]))
    session.flush()


def record_of(draw: Draw, campaign: Campaign | None = None) -> dict[str, Any]:
    """The exportable record (the JSON of `draw export`), rebuilt from the saved draw."""
    campaign_info = {"id": draw.campaign_id}
    if campaign is not None:
        campaign_info.update(number=campaign.number, title=campaign.title)
    return {
        "format": "shuangsui-draw",
        "algorithm": draw.algorithm,
        "draw_id": draw.id,
        "seed": draw.seed,
        "seed_source": draw.seed_source,
        "public_text": draw.public_text,
        "campaign": campaign_info,
        "params": draw.params,
        "pools": draw.pools,
        "digests": draw.digests,
        "result": draw.result,
    }


def export_record(session: Session, draw: Draw) -> dict[str, Any]:
    """The record plus its approved replacements (§5.10), so substitutions are verifiable too. What the group was
    told besides the codes is added by bot.services.draw_announcements.published_record."""
    from bot.services.staffing import replacements_of

    record = record_of(draw, session.get(Campaign, draw.campaign_id))
    record["replacements"] = replacements_of(session, draw.id)
    return record


def verify_full(record: dict[str, Any]) -> drawalgo.VerifyReport:
    """The draw and then each replacement, from the record alone."""
    from bot.services.staffing import verify_replacements

    report = drawalgo.verify_record(record)
    if not report.ok:
        return report
    extra = verify_replacements(record)
    return report if not extra else drawalgo.VerifyReport(False, tuple(extra))


def verify_draw(session: Session, draw: Draw) -> drawalgo.VerifyReport:
    return verify_full(export_record(session, draw))


def department_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Department.id, Department.name)).all())
