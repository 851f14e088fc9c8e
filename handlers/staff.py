"""/leader (leaders), /swap and /recuse (inspectors, private) and the department head's 同意/驳回 buttons.

Callback data: `swap:<assignment_id>`, `recuse:<assignment_id>:<target_id>`, `staff:ok|no:<request_id>`; the
reason typed with the command waits in the user's own data. Everything is re-checked against the database."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.services import campaigns, draws, identity, outbox, staffing
from bot.runtime import exactly_once
from bot.runtime.app import Ctx
from bot.services.identity import Actor
from bot.texts import t
from handlers.common import answer_query, permitted, refuse, wake_outbox
from models import Department, Person, Target

_REASON = "staff_reason"


@permitted("leader")
async def leader_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    args = context.args or []
    ref = None
    if len(args) >= 3 and args[0].isdigit() and args[1].isdigit():
        ref, args = args[0], args[1:]
    if len(args) < 2 or not args[0].isdigit():
        await update.effective_message.reply_text(t("leader.usage", lang))
        return
    with context.sessions.begin() as session:
        try:
            campaign = campaigns.resolve_campaign(session, ref)
        except campaigns.CampaignChoiceError as exc:
            reply = exc.message(lang)
        else:
            draw = draws.current_draw(session, campaign.id)
            if draw is None:
                reply = t("leader.no_draw", lang)
            else:
                try:
                    group, person = staffing.set_leader(session, draw=draw, group_number=int(args[0]),
                                                        query=" ".join(args[1:]), actor=actor.label)
                except staffing.StaffError as exc:
                    reply = t(exc.key, lang, **exc.params)
                else:
                    text = t("leader.changed", lang, number=campaign.number, group=group.number, name=person.name,
                             department=person.department.label)
                    group_chat = identity.group_chat_id(session, context.cfg.bot.group_chat_id)
                    if group_chat and group_chat != update.effective_chat.id:
                        outbox.enqueue(session, chat_id=group_chat, text=text)
                    exactly_once.mark_processed(session, update.update_id)
                    reply = text
    await update.effective_message.reply_text(reply)
    wake_outbox(context)


async def _start_request(update: Update, context: Ctx, actor: Actor, lang: str, kind: str) -> None:
    reason = " ".join(context.args or []).strip()
    if not reason:
        await update.effective_message.reply_text(t(f"staff.{kind}_usage", lang))
        return
    with context.sessions.begin() as session:
        views = staffing.active_assignments(session, actor.person.id)
        single: int | None = None
        reply, markup = t("staff.no_assignment", lang), None
        if views:
            context.user_data[_REASON] = reason
        if not views:
            pass
        elif kind == "swap":
            if len(views) == 1:
                single = views[0].assignment.id
            else:
                reply = t("staff.pick_assignment", lang)
                markup = InlineKeyboardMarkup([[InlineKeyboardButton(
                    t("staff.assignment_button", lang, number=v.campaign.number, group=v.group.number),
                    callback_data=f"swap:{v.assignment.id}")] for v in views])
        else:
            reply = t("staff.pick_target", lang)
            rows = []
            for v in views:
                for target in staffing.group_targets(session, v.group.id):
                    rows.append([InlineKeyboardButton(target.name[:40],
                                                      callback_data=f"recuse:{v.assignment.id}:{target.id}")])
            markup = InlineKeyboardMarkup(rows[:50])
    if single is not None:
        await _file(update, context, actor, lang, "swap", single, None)
        return
    await update.effective_message.reply_text(reply, reply_markup=markup)


@permitted("swap")
async def swap_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    await _start_request(update, context, actor, lang, "swap")


@permitted("recuse")
async def recuse_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    await _start_request(update, context, actor, lang, "recuse")


@permitted("swap|recuse:")
async def pick_callback(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    parts = (update.callback_query.data or "").split(":")
    try:
        if parts[0] == "swap" and len(parts) == 2:
            kind, assignment_id, target_id = "swap", int(parts[1]), None
        elif parts[0] == "recuse" and len(parts) == 3:
            kind, assignment_id, target_id = "recuse", int(parts[1]), int(parts[2])
        else:
            raise ValueError
    except ValueError:
        await refuse(update, t("error.stale_button", lang))
        return
    await _file(update, context, actor, lang, kind, assignment_id, target_id)


async def _file(update: Update, context: Ctx, actor: Actor, lang: str, kind: str, assignment_id: int,
                target_id: int | None) -> None:
    reason = context.user_data.get(_REASON, "")
    refusal = None
    with context.sessions.begin() as session:
        person = session.get(Person, actor.person.id)
        try:
            req = staffing.file_request(session, person=person, assignment_id=assignment_id, kind=kind,
                                        reason=reason, target_id=target_id)
        except staffing.StaffError as exc:
            session.rollback()
            refusal = t(exc.key, lang, **exc.params)
        else:
            view = [v for v in staffing.active_assignments(session, person.id) if v.assignment.id == assignment_id][0]
            heads = staffing.approvers(session, view.assignment.department_id)
            target = session.get(Target, target_id) if target_id else None
            for head in heads:
                hl = head.language or context.cfg.bot.language
                outbox.enqueue(
                    session, chat_id=head.telegram_user_id, dedup_key=f"staff:{req.id}:ask:{head.id}",
                    text=t("staff.ask", hl, kind=t(f"staff.kind.{kind}", hl), request_id=req.id, name=person.name,
                           department=person.department.label, number=view.campaign.number,
                           group=view.group.number, reason=req.reason,
                           target=t("staff.target", hl, name=target.name) if target else ""),
                    reply_markup=InlineKeyboardMarkup([[
                        InlineKeyboardButton(t("staff.approve", hl), callback_data=f"staff:ok:{req.id}"),
                        InlineKeyboardButton(t("staff.reject", hl), callback_data=f"staff:no:{req.id}")]]))
            exactly_once.mark_processed(session, update.update_id)
            reply = t("staff.filed", lang, request_id=req.id) if heads else t("staff.no_approver", lang)
            context.user_data.pop(_REASON, None)
    if refusal is not None:
        await refuse(update, refusal)
        return
    if update.callback_query:
        await answer_query(update.callback_query)
    await update.effective_message.reply_text(reply)
    wake_outbox(context)


@permitted("staff:")
async def decide_callback(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    query = update.callback_query
    parts = (query.data or "").split(":")
    if len(parts) != 3 or parts[1] not in ("ok", "no") or not parts[2].isdigit():
        await refuse(update, t("error.stale_button", lang))
        return
    approve = parts[1] == "ok"
    cfg = context.cfg
    with context.sessions.begin() as session:
        approver = session.get(Person, actor.person.id) if actor.person else None
        try:
            d = staffing.decide(session, int(parts[2]), approver=approver, approve=approve)
        except staffing.StaffError as exc:
            note = t(exc.key, lang, **exc.params)
            session.rollback()
            ok = False
        else:
            ok = True
            note = _announce(session, d, approver, cfg, lang)
            exactly_once.mark_processed(session, update.update_id)
    if not ok:
        await refuse(update, note)
        return
    await answer_query(query)
    await query.edit_message_text(f"{query.message.text}\n\n{note}" if query.message and query.message.text else note)
    wake_outbox(context)


def _announce(session, d: staffing.Decision, approver: Person, cfg, lang: str) -> str:
    req, campaign, group = d.request, d.campaign, d.group
    old_person = d.old.person
    requester_lang = old_person.language or cfg.bot.language
    key = f"staff:{req.id}"
    if req.state == "rejected":
        outbox.enqueue(session, chat_id=old_person.telegram_user_id, dedup_key=f"{key}:rejected",
                       text=t("staff.your_request_rejected", requester_lang, request_id=req.id))
        return t("staff.rejected_note", lang, request_id=req.id)
    if req.state == "failed":
        outbox.enqueue(session, chat_id=old_person.telegram_user_id, dedup_key=f"{key}:failed",
                       text=t("staff.your_request_failed", requester_lang, request_id=req.id))
        return t("staff.failed_note", lang)
    new_person = d.new.person
    leader = ""
    if d.leader_changed and group.leader_person_id:
        leader = t("staff.new_leader", cfg.bot.language, name=session.get(Person, group.leader_person_id).name)
    dep = session.get(Department, d.old.department_id)
    group_chat = identity.group_chat_id(session, cfg.bot.group_chat_id)
    if group_chat:
        outbox.enqueue(session, chat_id=group_chat, dedup_key=f"{key}:announce",
                       text=t("staff.announce", cfg.bot.language, kind=t(f"staff.kind.{req.kind}", cfg.bot.language),
                              number=campaign.number, group=group.number, old=old_person.name,
                              department=dep.label, approver=approver.name, new=new_person.name,
                              n=req.replacement_no, leader=leader))
    if old_person.telegram_user_id:
        outbox.enqueue(session, chat_id=old_person.telegram_user_id, dedup_key=f"{key}:approved",
                       text=t("staff.your_request_approved", requester_lang, request_id=req.id, new=new_person.name))
    if new_person.telegram_user_id:
        nl = new_person.language or cfg.bot.language
        outbox.enqueue(session, chat_id=new_person.telegram_user_id, dedup_key=f"{key}:replacement",
                       text=t("staff.you_replace", nl, number=campaign.number, title=campaign.title,
                              group=group.number, old=old_person.name, start=campaign.window_start.isoformat(),
                              end=campaign.window_end.isoformat()))
    return t("staff.approved_note", lang, group=group.number, old=old_person.name, new=new_person.name,
             n=req.replacement_no)

