"""The one approval flow for the three kinds of request that need someone else's 同意: a correction of a submitted
result (SPEC §6.8), a substitution (/swap) and a recusal (/recuse) (§5.10). No messenger code here: the buttons are
Bot API dicts stored in the outbox.

- **Asking**: `ask` sends each approver (bot.services.approvers: the department's heads, else the leaders, never
  the requester) the request with 同意/驳回, through the outbox in the filing transaction, keyed
  `<prefix>:<id>:ask:<person>` so it is sent once.
- **One callback grammar**: `<prefix>:ok|no:<id>`, prefix `corr` (a correction) or `staff` (a substitution or a
  recusal) — the prefixes name the two tables the requests live in; approval messages already in people's chats
  carry exactly these.
- **Deciding**: `decide` → the kind's decision (`corrections.decide_correction`, `staffing.decide`: lock, rights
  first — never the requester —, pending state, effect, audit) → `announce`, the one announcement path: every
  message about the decision is enqueued in the decision's transaction, keyed so each is sent once, and the
  presser gets back the note that replaces the buttons.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bot.config import Config
from bot.services import corrections, identity, outbox, staffing
from bot.services.approvers import approvers
from bot.texts import t
from models import Assignment, Correction, Department, Person, Result, StaffRequest, Target

CORRECTION = "corr"
STAFF = "staff"
PREFIXES = (CORRECTION, STAFF)
APPROVE, REJECT = "ok", "no"
CALLBACK_PATTERN = rf"^({CORRECTION}|{STAFF}):"


@dataclass(frozen=True)
class Press:
    """A parsed 同意/驳回 button."""

    prefix: str
    approve: bool
    request_id: int


def parse(data: str | None) -> Press | None:
    """`corr:ok:12` → Press("corr", True, 12); anything else (forged, truncated, from another version) → None."""
    parts = (data or "").split(":")
    if len(parts) != 3 or parts[0] not in PREFIXES or parts[1] not in (APPROVE, REJECT):
        return None
    if not parts[2].isdigit() or len(parts[2]) > 11:
        return None
    return Press(parts[0], parts[1] == APPROVE, int(parts[2]))


def buttons(prefix: str, request_id: int, lang: str) -> dict[str, Any]:
    return {"inline_keyboard": [[
        {"text": t("approval.approve", lang), "callback_data": f"{prefix}:{APPROVE}:{request_id}"},
        {"text": t("approval.reject", lang), "callback_data": f"{prefix}:{REJECT}:{request_id}"}]]}


def _lang(person: Person, cfg: Config) -> str:
    return person.language or cfg.bot.language


# ------------------------------------------------------------------------------------------------ asking

def ask(session: Session, prefix: str, request_id: int, cfg: Config) -> list[Person]:
    """Send the request to each approver with 同意/驳回 (in the caller's transaction); returns who was asked."""
    if prefix == CORRECTION:
        correction = session.get(Correction, request_id)
        result = session.get(Result, correction.result_id)
        requester = session.get(Person, correction.requested_by_person_id)
        department_id = result.department_id
        text = _correction_ask(session, correction, result, requester, cfg)
    else:
        req = session.get(StaffRequest, request_id)
        view = _staff_view(session, req)
        requester, department_id = view.assignment.person, view.assignment.department_id
        text = _staff_ask(session, req, view)
    people = approvers(session, department_id, requester.id)
    for person in people:
        lang = _lang(person, cfg)
        outbox.enqueue(session, chat_id=person.telegram_user_id, dedup_key=f"{prefix}:{request_id}:ask:{person.id}",
                       text=text(lang), reply_markup=buttons(prefix, request_id, lang))
    return people


def _correction_ask(session: Session, correction: Correction, result: Result, requester: Person, cfg: Config):
    view = corrections.correctable_result(session, requester, result.id)
    submitter = corrections.submitter_of(session, result)
    department = session.get(Department, result.department_id)

    def text(lang: str) -> str:
        return t("correct.ask", lang, correction_id=correction.id, name=requester.name, department=department.label,
                 number=view.campaign.number, group=view.group.number, target=view.target.name,
                 uscc=view.target.uscc, item=result.item.name, old=cfg.code_set.show(result.code),
                 old_note=t("correct.note_suffix", lang, note=result.note) if result.note else "",
                 new=cfg.code_set.show(correction.new_code),
                 new_note=t("correct.note_suffix", lang, note=correction.new_note) if correction.new_note else "",
                 reason=correction.reason, submitter=submitter.name if submitter else "—", version=result.version)
    return text


def _staff_view(session: Session, req: StaffRequest) -> staffing.AssignmentView:
    views = staffing.active_assignments(session, session.get(Assignment, req.assignment_id).person_id)
    return next(v for v in views if v.assignment.id == req.assignment_id)


def _staff_ask(session: Session, req: StaffRequest, view: staffing.AssignmentView):
    person = view.assignment.person
    target = session.get(Target, req.target_id) if req.target_id else None

    def text(lang: str) -> str:
        return t("staff.ask", lang, kind=t(f"staff.kind.{req.kind}", lang), request_id=req.id, name=person.name,
                 department=person.department.label, number=view.campaign.number, group=view.group.number,
                 reason=req.reason, target=t("staff.target", lang, name=target.name) if target else "")
    return text


# ------------------------------------------------------------------------------------------------ deciding

def decide(session: Session, press: Press, *, approver: Person | None, cfg: Config, today: dt.date,
           lang: str) -> str:
    """同意/驳回 by `approver`: the kind's decision, then the announcements. Returns the presser's note; raises a
    Refusal (the caller rolls back) when they may not decide or the request is gone or decided."""
    if press.prefix == CORRECTION:
        try:
            d = corrections.decide_correction(session, press.request_id, approver=approver, approve=press.approve,
                                              codes=cfg.code_set, today=today)
        except corrections.CorrectionError as exc:
            if "state" in exc.params:  # the state's name in the presser's language
                exc.params["state"] = t(f"correct.state.{exc.params['state']}", lang)
            raise
        return _announce_correction(session, d, approver, cfg, lang)
    d = staffing.decide(session, press.request_id, approver=approver, approve=press.approve)
    return _announce_staff(session, d, approver, cfg, lang)


def _announce_correction(session: Session, d: corrections.Decision, approver: Person, cfg: Config, lang: str) -> str:
    """Tell everyone involved, once each: the requester, the original submitter, the group leader."""
    c = d.correction
    key = f"{CORRECTION}:{c.id}"
    old, new = cfg.code_set.show(d.old_code), cfg.code_set.show(c.new_code)
    requester = d.requester
    if not d.approved:
        if requester.telegram_user_id:
            rl = _lang(requester, cfg)
            outbox.enqueue(session, chat_id=requester.telegram_user_id, dedup_key=f"{key}:rejected",
                           text=t("correct.your_rejected", rl, correction_id=c.id, approver=approver.name,
                                  target=d.target.name, item=d.item.name, old=old))
        return t("correct.rejected_note", lang, correction_id=c.id, old=old)

    def followup(lg: str) -> str:
        if d.followup_opened:
            return t("correct.followup_opened", lg)
        if d.followup_kept:
            return t("correct.followup_kept", lg)
        return ""

    told: set[int] = {requester.id}
    if requester.telegram_user_id:
        rl = _lang(requester, cfg)
        outbox.enqueue(session, chat_id=requester.telegram_user_id, dedup_key=f"{key}:approved:{requester.id}",
                       text=t("correct.your_approved", rl, correction_id=c.id, approver=approver.name,
                              target=d.target.name, item=d.item.name, old=old, new=new, version=d.result.version,
                              followup=followup(rl)))
    submitter = d.submitter
    if submitter is not None and submitter.id not in told:
        told.add(submitter.id)
        if submitter.telegram_user_id:
            sl = _lang(submitter, cfg)
            outbox.enqueue(session, chat_id=submitter.telegram_user_id, dedup_key=f"{key}:approved:{submitter.id}",
                           text=t("correct.told_submitter", sl, target=d.target.name, item=d.item.name,
                                  requester=requester.name, approver=approver.name, old=old, new=new,
                                  version=d.result.version, reason=c.reason, followup=followup(sl)))
    leader_id = d.group.leader_person_id if d.group else None
    if leader_id is not None and leader_id not in told:
        leader = session.get(Person, leader_id)
        if leader is not None and leader.telegram_user_id:
            ll = _lang(leader, cfg)
            department = session.get(Department, d.result.department_id)
            outbox.enqueue(session, chat_id=leader.telegram_user_id, dedup_key=f"{key}:approved:{leader.id}",
                           text=t("correct.told_leader", ll, number=d.campaign.number, group=d.group.number,
                                  target=d.target.name, item=d.item.name, department=department.label,
                                  approver=approver.name, old=old, new=new, reason=c.reason,
                                  followup=followup(ll)))
    return t("correct.approved_note", lang, correction_id=c.id, target=d.target.name, item=d.item.name, old=old,
             new=new, version=d.result.version) + followup(lang)


def _announce_staff(session: Session, d: staffing.Decision, approver: Person, cfg: Config, lang: str) -> str:
    """The requester is told the decision; on approval the bound group and the replacement are told too."""
    req, campaign, group = d.request, d.campaign, d.group
    old_person = d.old.person
    requester_lang = _lang(old_person, cfg)
    key = f"{STAFF}:{req.id}"
    if req.state == "rejected":
        outbox.enqueue(session, chat_id=old_person.telegram_user_id, dedup_key=f"{key}:rejected",
                       text=t("staff.your_request_rejected", requester_lang, request_id=req.id))
        return t("staff.rejected_note", lang, request_id=req.id)
    if req.state == "failed":
        outbox.enqueue(session, chat_id=old_person.telegram_user_id, dedup_key=f"{key}:failed",
                       text=t("staff.your_request_failed", requester_lang, request_id=req.id))
        return t("staff.failed_note", lang)
    new_person = d.new.person
    group_lang = cfg.bot.language
    leader = ""
    if d.leader_changed and group.leader_person_id:
        leader = t("staff.new_leader", group_lang, name=session.get(Person, group.leader_person_id).name)
    department = session.get(Department, d.old.department_id)
    group_chat = identity.group_chat_id(session, cfg.bot.group_chat_id)
    if group_chat:
        outbox.enqueue(session, chat_id=group_chat, dedup_key=f"{key}:announce",
                       text=t("staff.announce", group_lang, kind=t(f"staff.kind.{req.kind}", group_lang),
                              number=campaign.number, group=group.number, old=old_person.name,
                              department=department.label, approver=approver.name, new=new_person.name,
                              n=req.replacement_no, leader=leader))
    if old_person.telegram_user_id:
        outbox.enqueue(session, chat_id=old_person.telegram_user_id, dedup_key=f"{key}:approved",
                       text=t("staff.your_request_approved", requester_lang, request_id=req.id, new=new_person.name))
    if new_person.telegram_user_id:
        nl = _lang(new_person, cfg)
        outbox.enqueue(session, chat_id=new_person.telegram_user_id, dedup_key=f"{key}:replacement",
                       text=t("staff.you_replace", nl, number=campaign.number, title=campaign.title,
                              group=group.number, old=old_person.name, start=campaign.window_start.isoformat(),
                              end=campaign.window_end.isoformat()))
    return t("staff.approved_note", lang, group=group.number, old=old_person.name, new=new_person.name,
             n=req.replacement_no)
