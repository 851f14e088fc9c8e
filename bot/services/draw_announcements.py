"""What a draw tells people (SPEC §5.8): the group announcement (or a summary plus the 抽取结果 workbook), each
drawn inspector's private notice, each department head's 抽调函, and the 未绑定 list for the leader. All go
through the outbox in the draw's own transaction, so a crash can delay them but never lose them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services import outbox
from bot.config import Config
from bot.texts import t
from models import Campaign, Department, Draw, Person, Target
from bot.services.draws import export_record
from reports.draw_page import build_draw_page, page_filename
from reports.draw_result import DrawSheetData, build_draw_result_workbook

MAX_MESSAGE = 3900  # Telegram's limit is 4096; leave room for entities


@dataclass
class GroupView:
    number: int
    leader: Person | None
    inspectors: list[tuple[Person, str]]  # (person, department name)
    targets: list[Target]


def group_views(session: Session, draw: Draw, targets: Mapping[str, Any] | None = None) -> list[GroupView]:
    """The draw's groups as drawn, with their people and targets. `targets`: uscc → target (anything with the
    Target columns read) the caller has already loaded; only the others are looked up."""
    certs = {a["cert_no"] for g in draw.result["groups"] for a in g["inspectors"]}
    known = dict(targets or {})
    usccs = {u for g in draw.result["groups"] for u in g["targets"] if u not in known}
    people: dict[str, Person] = {}
    chunk = sorted(certs)
    for i in range(0, len(chunk), 900):  # SQLite's bound-parameter limit
        for person in session.scalars(select(Person).where(Person.cert_no.in_(chunk[i:i + 900]))):
            people[person.cert_no] = person
    targets = known
    chunk = sorted(usccs)
    for i in range(0, len(chunk), 900):
        for target in session.scalars(select(Target).where(Target.uscc.in_(chunk[i:i + 900]))):
            targets[target.uscc] = target
    views = []
    for g in draw.result["groups"]:
        views.append(GroupView(
            number=g["number"], leader=people.get(g["leader"]),
            inspectors=[(people[a["cert_no"]], a["department"]) for a in g["inspectors"]],
            targets=[targets[u] for u in g["targets"]]))
    return views


def _short_dept(session: Session) -> dict[str, str]:
    return {d.name: d.label for d in session.scalars(select(Department))}


def announcement(session: Session, draw: Draw, campaign: Campaign, views: list[GroupView], *, lang: str,
                 who: str, tz) -> tuple[str, bool]:
    """The announcement text, and whether it had to be shortened to a summary (then a workbook follows)."""
    short = _short_dept(session)
    when = draw.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    redraw = ""
    old = session.scalar(select(Draw).where(Draw.superseded_by_id == draw.id))
    if old is not None:
        redraw = t("draw.ann.redraw", lang, old=old.id, reason=old.supersede_reason)
    head = [t("draw.ann.head", lang, number=campaign.number, title=campaign.title, draw_id=draw.id, when=when,
              who=who, redraw=redraw),
            t("draw.ann.totals", lang, targets=sum(len(v.targets) for v in views), groups=len(views))]
    body: list[str] = []
    for v in views:
        body.append(t("draw.ann.group", lang, n=v.number, leader=v.leader.name if v.leader else "—"))
        body.append(t("draw.ann.members", lang, members="、".join(
            f"{p.name}（{short.get(d, d)}）" for p, d in v.inspectors)))
        body.append(t("draw.ann.targets", lang))
        body += [_target_line(tg, i, lang) for i, tg in enumerate(v.targets, 1)]
    tail = [t("draw.ann.seed", lang, seed=draw.seed)]
    if draw.seed_source == "public":
        tail.append(t("draw.ann.public", lang, text=draw.public_text))
    tail.append(t("draw.ann.digests", lang))
    pools = draw.pools
    tail.append(t("draw.ann.digest_targets", lang, size=sum(len(x) for x in pools["targets"].values()),
                  digest=draw.digests["targets"]))
    for dep, digest in draw.digests["inspectors"].items():
        tail.append(t("draw.ann.digest_dept", lang, department=short.get(dep, dep),
                      size=len(pools["inspectors"].get(dep, [])), digest=digest))
    tail.append(t("draw.ann.digest_conflicts", lang, size=len(pools["conflicts"]), digest=draw.digests["conflicts"]))
    tail.append(t("draw.ann.verify", lang, draw_id=draw.id))
    full = "\n".join(head + body + tail)
    if len(full) <= MAX_MESSAGE:
        return full, False
    summary_body = [t("draw.ann.group", lang, n=v.number, leader=v.leader.name if v.leader else "—")
                    + f"（{len(v.inspectors)}/{len(v.targets)}）" for v in views]
    text = "\n".join(head + summary_body[:60] + tail + [t("draw.ann.summary_note", lang)])
    return text[:MAX_MESSAGE], True


def target_unit(target: Any) -> str:
    """The unit a target belongs to, for short lines: its 管辖单位, or else its 登记机关; "" when the directory has
    neither (lists made from our template usually have none)."""
    for name in ("jurisdiction", "registration_authority"):
        value = (getattr(target, name, None) or "").strip()
        if value:
            return value
    return ""


def _target_line(target: Any, i: int, lang: str) -> str:
    unit = target_unit(target)
    if unit:
        return t("draw.ann.target_unit", lang, i=i, name=target.name, uscc=target.uscc, unit=unit)
    return t("draw.ann.target", lang, i=i, name=target.name, uscc=target.uscc)


def _notice_line(target: Any, i: int, lang: str) -> str:
    """A target in an inspector's notice: where to go (地址, or 地址未登记) and, when known, whose it is."""
    address = (target.address or "").strip() or t("draw.notice.no_address", lang)
    unit = target_unit(target)
    return f"  {i}. {target.name}（{address}）" + (f"· {unit}" if unit else "")


def published_record(session: Session, draw: Draw, *, tz: dt.tzinfo | None,
                     views: list[GroupView] | None = None) -> dict[str, Any]:
    """The draw's exported record (`python -m bot draw export`) plus `announced`: what the group was told besides
    the codes — when (the office's local time; UTC without `tz`) and by whom it was made, the names of the drawn
    targets and inspectors and of everyone a substitution brought in, a re-draw's reason. Names only: no phone
    numbers, no certificate dates (SPEC §5.8). The verification page shows it; no verifier reads it. `views`: the
    draw's group views when the caller has them already."""
    record = export_record(session, draw)
    views = group_views(session, draw) if views is None else views
    targets = {t.uscc: t.name for v in views for t in v.targets}
    people = {p.cert_no: p.name for v in views for p, _dep in v.inspectors}
    brought_in = sorted({r[k] for r in record["replacements"] for k in ("out", "in")} - people.keys())
    if brought_in:  # a handful: one per approved substitution
        people.update(session.execute(select(Person.cert_no, Person.name).where(Person.cert_no.in_(brought_in))).all())
    who = session.get(Person, draw.triggered_by_person_id) if draw.triggered_by_person_id else None
    made_at = draw.created_at.astimezone(tz or dt.timezone.utc)  # a UTCDateTime column: always aware
    record["announced"] = {
        "made_at": made_at.strftime("%Y-%m-%d %H:%M") + ("" if tz else " UTC"),
        "made_by": who.name if who else None,
        "targets": dict(sorted(targets.items())),
        "inspectors": dict(sorted(people.items())),
    }
    if draw.superseded_by_id is not None:
        record["announced"]["superseded"] = {"by": draw.superseded_by_id, "reason": draw.supersede_reason}
    return record


def verification_page(record: Mapping[str, Any], *, lang: str) -> tuple[str, bytes]:
    """The self-contained web page that re-runs the draw in a browser (SPEC §5.11): (file name, bytes)."""
    return page_filename(record["campaign"].get("number"), record.get("draw_id")), build_draw_page(record, lang=lang)


def draw_sheet_data(draw: Draw, campaign: Campaign, views: list[GroupView], tz) -> DrawSheetData:
    """What the 抽取结果 workbook shows of a draw (the announcement's workbook and the reports' fifth file)."""
    return DrawSheetData(
        number=campaign.number, title=campaign.title, draw_id=draw.id,
        created=draw.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), seed=draw.seed,
        seed_source=draw.seed_source, public_text=draw.public_text, digests=draw.digests,
        pool_sizes={"检查对象": sum(len(x) for x in draw.pools["targets"].values()),
                    **{d: len(c) for d, c in draw.pools["inspectors"].items()},
                    "回避关系": len(draw.pools["conflicts"])},
        groups=[{"number": v.number, "leader_cert": v.leader.cert_no if v.leader else None,
                 "inspectors": [(p.name, d, p.cert_no, p.phone or "") for p, d in v.inspectors],
                 "targets": [(tg.name, tg.uscc, tg.address, tg.credit_class or "未分类") for tg in v.targets]}
                for v in views],
        pools=draw.pools)


def draw_workbook(draw: Draw, campaign: Campaign, views: list[GroupView], tz) -> bytes:
    return build_draw_result_workbook(draw_sheet_data(draw, campaign, views, tz))


def _date(d: dt.date | None) -> str:
    return d.isoformat() if d else "—"


def enqueue_draw_notices(session: Session, draw: Draw, campaign: Campaign, *, cfg: Config, group_chat_id: int,
                         requester_chat_id: int | None, who: str) -> None:
    lang = cfg.bot.language
    tz = cfg.tz
    views = group_views(session, draw)
    text, summarized = announcement(session, draw, campaign, views, lang=lang, who=who, tz=tz)
    key = f"draw:{draw.id}"
    outbox.enqueue(session, chat_id=group_chat_id, text=text, dedup_key=f"{key}:announce")
    if summarized:
        outbox.enqueue(session, chat_id=group_chat_id, method="sendDocument",
                       document=draw_workbook(draw, campaign, views, tz),
                       filename=f"{campaign.number}_抽取结果.xlsx",
                       caption=t("draw.ann.caption", lang, number=campaign.number, draw_id=draw.id),
                       dedup_key=f"{key}:workbook")
    # The page anyone can open in a browser to re-run the draw (SPEC §5.11), beside the announcement.
    page_name, page = verification_page(published_record(session, draw, tz=tz, views=views), lang=lang)
    outbox.enqueue(session, chat_id=group_chat_id, method="sendDocument", document=page, filename=page_name,
                   caption=t("draw.page.caption", lang, draw_id=draw.id), dedup_key=f"{key}:page")
    short = _short_dept(session)
    prov = t("draw.provisional", lang) if campaign.deadlines_provisional else ""
    unbound: list[Person] = []
    for v in views:
        members = "、".join(f"{p.name}（{short.get(d, d)}）" for p, d in v.inspectors)
        for person, _dep in v.inspectors:
            if person.telegram_user_id is None:
                unbound.append(person)
                continue
            plang = person.language or lang
            targets = "\n".join(_notice_line(tg, i, plang) for i, tg in enumerate(v.targets, 1))
            outbox.enqueue(session, chat_id=person.telegram_user_id, dedup_key=f"{key}:notice:{person.id}",
                           text=t("draw.notice", plang, number=campaign.number, title=campaign.title,
                                  group=v.number, leader=v.leader.name if v.leader else "—", members=members,
                                  targets=targets, start=_date(campaign.window_start),
                                  end=_date(campaign.window_end), results_due=_date(campaign.results_due),
                                  publication_due=_date(campaign.publication_due),
                                  provisional=t("draw.provisional", plang) if prov else ""))
    # 抽调函 to each department head, for their department
    by_dept: dict[str, list[Person]] = {}
    for v in views:
        for person, dep in v.inspectors:
            by_dept.setdefault(dep, []).append(person)
    today = draw.created_at.astimezone(tz).date()
    for dep_name, drawn in by_dept.items():
        dep = session.scalar(select(Department).where(Department.name == dep_name))
        heads = session.scalars(select(Person).where(Person.department_id == dep.id, Person.active)).all()
        for head in heads:
            if not head.has_role("dept_head"):
                continue
            if head.telegram_user_id is None:
                unbound.append(head)
                continue
            outbox.enqueue(session, chat_id=head.telegram_user_id, dedup_key=f"{key}:letter:{head.id}",
                           text=t("draw.letter", head.language or lang, department=dep_name, date=today.isoformat(),
                                  lead=campaign.lead_department.name, number=campaign.number, title=campaign.title,
                                  groups=len(views), units=len(by_dept), count=len(drawn),
                                  names="、".join(p.name for p in drawn), start=_date(campaign.window_start),
                                  end=_date(campaign.window_end)))
    if unbound and requester_chat_id:
        lines = "\n".join(f"· {p.name}（{p.department.label}）{p.phone or ''}" for p in unbound)
        outbox.enqueue(session, chat_id=requester_chat_id, dedup_key=f"{key}:unbound",
                       text=t("draw.unbound", lang, lines=lines))
