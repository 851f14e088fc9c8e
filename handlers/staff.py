"""/leader (leaders), /swap and /recuse (inspectors, private) and the department head's 同意/驳回 buttons.

Callback data: `swap:<assignment_id>`, `recuse:<assignment_id>:<target_id>`; the approver's `staff:ok|no:<request_id>`
is the one approval flow's (handlers.approvals). The reason typed with the command waits in the user's own data. Everything is re-checked against the database."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.services import approvals, campaigns, draws, identity, staffing
from bot.runtime.app import Ctx
from bot.services.identity import Actor
from bot.texts import join_list, t
from bot.services.refusal import Refusal
from handlers.toolkit import edit, page_buttons, page_of, unit_of_work
from handlers.common import answer_query, permitted, refuse, wake_outbox
from models import Person

_REASON = "staff_reason"
TARGETS_PER_PAGE = 10


@permitted("leader")
async def leader_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    args = context.args or []
    ref = None
    if len(args) >= 3 and args[0].isdigit() and args[1].isdigit():
        ref, args = args[0], args[1:]
    if len(args) < 2 or not args[0].isdigit():
        await update.effective_message.reply_text(t("leader.usage", lang))
        return
    try:
        with unit_of_work(update, context) as session:
            campaign = campaigns.resolve_campaign(session, ref)
            draw = draws.current_draw(session, campaign.id)
            if draw is None:
                raise staffing.StaffError("leader.no_draw")
            group, person = staffing.set_leader(session, draw=draw, group_number=int(args[0]),
                                                query=" ".join(args[1:]), actor=actor.label)
            reply = t("leader.changed", lang, number=campaign.number, group=group.number, name=person.name,
                      department=person.department.label)
            staffing.tell_group(session, reply, except_chat=update.effective_chat.id,
                                group_chat_id=identity.group_chat_id(session, context.cfg.bot.group_chat_id))
    except Refusal as exc:
        reply = exc.text(lang)
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
            reply, markup = _recuse_page(session, views, 1, lang)
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


def _recuse_page(session, views: list[staffing.AssignmentView], page: int,
                 lang: str) -> tuple[str, InlineKeyboardMarkup]:
    """One page of the targets of the person's groups to recuse from: at most TARGETS_PER_PAGE and ‹ › (SPEC §11's
    portable subset, 12 buttons), however many groups and targets the person has."""
    choices = [(v.assignment.id, target) for v in views for target in staffing.group_targets(session, v.group.id)]
    shown, page, pages = page_of(choices, page, TARGETS_PER_PAGE)
    rows = [[InlineKeyboardButton(target.name[:40], callback_data=f"recuse:{assignment_id}:{target.id}")]
            for assignment_id, target in shown]
    nav = page_buttons(page, pages, "recuse:pg:{page}", lang)
    if nav:
        rows.append(nav)
    text = t("staff.pick_target", lang)
    if pages > 1:
        text += "\n" + t("page.of", lang, page=page, pages=pages)
    return text, InlineKeyboardMarkup(rows)


@permitted("swap|recuse:")
async def pick_callback(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    parts = (update.callback_query.data or "").split(":")
    if parts[:2] == ["recuse", "pg"] and len(parts) == 3 and parts[2].isdigit() and len(parts[2]) < 6:
        with context.sessions.begin() as session:  # a page of the picker, from the database now
            views = staffing.active_assignments(session, actor.person.id)
            text, markup = _recuse_page(session, views, int(parts[2]), lang) if views else (None, None)
        await answer_query(update.callback_query)
        await edit(update, text or t("staff.no_assignment", lang), markup)
        return
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
    try:
        with unit_of_work(update, context) as session:
            req = staffing.file_request(session, person=session.get(Person, actor.person.id),
                                        assignment_id=assignment_id, kind=kind, reason=reason, target_id=target_id)
            heads = approvals.ask(session, approvals.STAFF, req.id, context.cfg)
            reply = t("staff.filed", lang, request_id=req.id, approvers=join_list((h.name for h in heads), lang))
        context.user_data.pop(_REASON, None)
    except Refusal as exc:
        refusal = exc.text(lang)
    if refusal is not None:
        await refuse(update, refusal)
        return
    if update.callback_query:
        await answer_query(update.callback_query)
    await update.effective_message.reply_text(reply)
    wake_outbox(context)
