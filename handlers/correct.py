"""/correct — an inspector asks for a correction of a submitted result (SPEC §6.8; seed 四(四) "检查结果一经录入，
不得随意修改"), in a private chat; the decision is the one approval flow's (handlers.approvals). What a code
means comes from `cfg.code_set` (bot.rules.codes).

Callback data carries ids only; each press is re-checked against the database (rights, scope, state):
  correct:t:<draw_id>:<target_id> → correct:r:<result_id> → correct:c:<result_id>:<code> → [correct:skip]
  → correct:ok | correct:cancel; then the approvers' corr:ok|no:<correction_id> (sent through the outbox).

The draft lives in the user's own `user_data` (persisted as JSON) with the time of the last step: PTB's
`conversation_timeout` is not restored after a restart (PTB #3522), so the 30-minute idle limit is checked from
that stored time. Step buttons must come from the message the draft last sent (`msg`).
"""

from __future__ import annotations

import time
from enum import IntEnum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from bot.runtime.app import Ctx
from bot.services import approvals, corrections
from bot.services.corrections import CorrectionError
from bot.services.identity import Actor
from bot.texts import join_list, t
from handlers.common import answer_query, draft_step, permitted, refuse, wake_outbox
from handlers.common import prompt as _prompt
from handlers.common import stale as _stale
from handlers.toolkit import (END, MAX_BUTTONS, callback_parts, cancel_flow, conversation, Draft, drop_buttons, edit,
                              from_prompt, ints, page_buttons, page_of, page_step, person_of, pressed_ids, short,
                              unit_of_work)

CORRECT = "correct"  # user_data key of the /correct draft
TARGETS_PER_PAGE = 10


class CorrectState(IntEnum):
    """What /correct waits for."""

    CHOOSING_TARGET = 1
    CHOOSING_ITEM = 2
    CHOOSING_CODE = 3
    TYPING_NOTE = 4
    TYPING_REASON = 5
    CONFIRMING = 6


# A step of /correct: the caller may still use the command, the draft is not idle too long.
_step = draft_step(CORRECT, "correct", "correct.expired")




def _target_groups(views: list[corrections.CorrectableResult]) -> list[tuple[tuple[int, int], list]]:
    groups: dict[tuple[int, int], list] = {}
    for v in views:
        groups.setdefault((v.draw.id, v.target.id), []).append(v)
    return list(groups.items())


@permitted("correct")
async def correct_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> object:
    """/correct — list the targets with submitted results the inspector may ask to correct."""
    context.user_data.pop(CORRECT, None)
    with context.sessions.begin() as session:
        text, markup = _list_page(session, context, actor, 1, lang)
    if markup is None:
        await update.effective_message.reply_text(text)
        return END
    now = time.time()
    draft: Draft = {"started": now, "touched": now}
    context.user_data[CORRECT] = draft
    await _prompt(update, draft, text, markup)
    return CorrectState.CHOOSING_TARGET


def _list_page(session, context: Ctx, actor: Actor, page: int, lang: str) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of the targets with correctable results: at most TARGETS_PER_PAGE buttons and ‹ › — within SPEC
    §11's portable subset (12 buttons), however many targets an inspector has entered. No buttons: none left."""
    views = corrections.correctable_results(session, person_of(session, actor))
    if not views:
        return t("correct.none", lang), None
    groups = _target_groups(views)
    several = len({draw_id for (draw_id, _), _ in groups}) > 1
    shown, page, pages = page_of(groups, page, TARGETS_PER_PAGE)
    rows = []
    for (draw_id, target_id), vs in shown:
        label = t("correct.target_button", lang, name=short(vs[0].target.name, 30), count=len(vs))
        if several:
            label = f"{vs[0].campaign.number} · {label}"
        if any(v.pending for v in vs):
            label = "⏳ " + label
        rows.append([InlineKeyboardButton(label, callback_data=f"correct:t:{draw_id}:{target_id}")])
    nav = page_buttons(page, pages, "correct:pg:{page}", lang)
    if nav:
        rows.append(nav)
    text = t("correct.pick_target", lang, count=len(groups))
    if pages > 1:
        text += "\n" + t("page.of", lang, page=page, pages=pages)
    return text, InlineKeyboardMarkup(rows)


page_callback = _step(page_step("correct:pg", _list_page))  # ‹ › on the target list


@_step
async def target_callback(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    ids = pressed_ids(update, draft, "correct:t", 2)
    if ids is None:
        await _stale(update, lang)
        return None
    draw_id, target_id = ids
    cfg = context.cfg
    with context.sessions.begin() as session:
        views = [v for v in corrections.correctable_results(session, person_of(session, actor))
                 if v.draw.id == draw_id and v.target.id == target_id]
        if views:
            first = views[0]
            chosen = t("correct.target_chosen", lang, name=first.target.name, uscc=first.target.uscc,
                       number=first.campaign.number, title=first.campaign.title)
            lines = [t("correct.item_line", lang, n=n, item=v.result.item.name,
                       code=cfg.code_set.show(v.result.code),
                       pending=t("correct.pending_mark", lang, correction_id=v.pending.id) if v.pending else "")
                     for n, v in enumerate(views, 1)]
            rows = [[InlineKeyboardButton(
                ("⏳ " if v.pending else "") + t("correct.item_button", lang, n=n, item=short(v.result.item.name, 28),
                                                 code=v.result.code),
                callback_data=f"correct:r:{v.result.id}")] for n, v in enumerate(views[:MAX_BUTTONS], 1)]
            department = actor.person.department.label if actor.person else ""
    if not views:
        await _stale(update, lang)
        return None
    draft.update(draw=draw_id, target=target_id)
    await answer_query(update.callback_query)
    await edit(update, chosen)
    await _prompt(update, draft, t("correct.pick_item", lang, department=department, lines="\n".join(lines)),
                  InlineKeyboardMarkup(rows))
    return CorrectState.CHOOSING_ITEM


def _current(session, actor: Actor, draft: Draft, result_id: int) -> corrections.CorrectableResult | None:
    """The result, if it is still one the caller may correct and belongs to the target chosen in this draft."""
    view = corrections.correctable_result(session, person_of(session, actor), result_id)
    if view is None or view.draw.id != draft.get("draw") or view.target.id != draft.get("target"):
        return None
    return view


@_step
async def item_callback(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    ids = pressed_ids(update, draft, "correct:r", 1)
    if ids is None:
        await _stale(update, lang)
        return None
    cfg = context.cfg
    with context.sessions.begin() as session:
        view = _current(session, actor, draft, ids[0])
        if view is not None and view.pending is None:
            r = view.result
            author = corrections.submitter_of(session, r)
            text = t("correct.pick_code", lang, item=r.item.name, content=r.item.content or "—",
                     code=cfg.code_set.show(r.code),
                     note=t("correct.note_suffix", lang, note=r.note) if r.note else "",
                     submitter=author.name if author else "—", version=r.version)
            rows = [[InlineKeyboardButton(short(cfg.code_set.show(code), 60), callback_data=f"correct:c:{r.id}:{code}")]
                    for code in cfg.code_set.codes if code != r.code]
            chosen = t("correct.item_chosen", lang, item=r.item.name, code=cfg.code_set.show(r.code))
    if view is None:
        await _stale(update, lang)
        return None
    if view.pending is not None:
        await refuse(update, t("correct.already_pending", lang, correction_id=view.pending.id))
        return None
    draft.update(result=ids[0], from_code=view.result.code)
    await answer_query(update.callback_query)
    await edit(update, chosen)
    await _prompt(update, draft, text, InlineKeyboardMarkup(rows))
    return CorrectState.CHOOSING_CODE


@_step
async def code_callback(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    parts = callback_parts(update, "correct:c", 2)
    ids = ints(parts) if parts else None
    if ids is None or not from_prompt(update, draft) or ids[0] != draft.get("result"):
        await _stale(update, lang)
        return None
    result_id, code = ids
    cfg = context.cfg
    with context.sessions.begin() as session:
        view = _current(session, actor, draft, result_id)
        current = view.result.code if view else None
        pending = view.pending.id if view and view.pending else None
    if view is None or code not in cfg.code_set:
        await _stale(update, lang)
        return None
    if pending is not None:
        await refuse(update, t("correct.already_pending", lang, correction_id=pending))
        return None
    if code == current:
        await refuse(update, t("correct.same_code", lang, code=code))
        return None
    draft.update(code=code, from_code=current, note=None)
    await answer_query(update.callback_query)
    await edit(update, t("correct.code_chosen", lang, old=cfg.code_set.show(current), new=cfg.code_set.show(code)))
    if cfg.code_set.is_problem(code):
        draft["note_required"] = True
        await update.effective_message.reply_text(t("correct.ask_note_required", lang, max=corrections.MAX_TEXT))
    else:
        draft["note_required"] = False
        await _prompt(update, draft, t("correct.ask_note_optional", lang, max=corrections.MAX_TEXT),
                      InlineKeyboardMarkup([[InlineKeyboardButton(t("correct.skip_button", lang),
                                                                  callback_data="correct:skip")]]))
    return CorrectState.TYPING_NOTE


@_step
async def note_msg(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    note = (update.effective_message.text or "").strip()
    if not note:
        await update.effective_message.reply_text(t("correct.note_required", lang))
        return None
    if len(note) > corrections.MAX_TEXT:
        await update.effective_message.reply_text(t("correct.too_long", lang, max=corrections.MAX_TEXT))
        return None
    draft["note"] = note
    await update.effective_message.reply_text(t("correct.ask_reason", lang, max=corrections.MAX_TEXT))
    return CorrectState.TYPING_REASON


@_step
async def skip_note_callback(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    if not from_prompt(update, draft) or draft.get("note_required", True):
        await _stale(update, lang)
        return None
    with context.sessions.begin() as session:
        view = _current(session, actor, draft, int(draft.get("result") or 0))
        pending = view.pending.id if view and view.pending else None
    if view is None:
        await _stale(update, lang)
        return None
    if pending is not None:
        await refuse(update, t("correct.already_pending", lang, correction_id=pending))
        return None
    draft["note"] = None
    await answer_query(update.callback_query)
    await drop_buttons(update)
    await update.effective_message.reply_text(t("correct.ask_reason", lang, max=corrections.MAX_TEXT))
    return CorrectState.TYPING_REASON


@_step
async def reason_msg(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    reason = (update.effective_message.text or "").strip()
    if not reason:
        await update.effective_message.reply_text(t("correct.reason_required", lang))
        return None
    if len(reason) > corrections.MAX_TEXT:
        await update.effective_message.reply_text(t("correct.too_long", lang, max=corrections.MAX_TEXT))
        return None
    draft["reason"] = reason
    cfg = context.cfg
    with context.sessions.begin() as session:
        view = _current(session, actor, draft, int(draft.get("result") or 0))
        if view is not None:
            summary = t("correct.summary", lang, number=view.campaign.number, target=view.target.name,
                        item=view.result.item.name, old=cfg.code_set.show(view.result.code),
                        new=cfg.code_set.show(draft["code"]),
                        note=t("correct.note_suffix", lang, note=draft["note"]) if draft.get("note") else "",
                        reason=reason)
    if view is None:
        context.user_data.pop(CORRECT, None)
        await update.effective_message.reply_text(t("correct.not_yours", lang))
        return END
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(t("correct.submit_button", lang), callback_data="correct:ok"),
                                    InlineKeyboardButton(t("correct.cancel_button", lang),
                                                         callback_data="correct:cancel")]])
    await _prompt(update, draft, summary, markup)
    return CorrectState.CONFIRMING


@_step
async def submit_callback(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    if not from_prompt(update, draft):
        await _stale(update, lang)
        return None
    cfg = context.cfg
    error = None
    try:
        with unit_of_work(update, context) as session:
            correction = corrections.request_correction(
                session, person=person_of(session, actor), result_id=int(draft.get("result") or 0),
                new_code=int(draft.get("code") or 0), reason=draft.get("reason") or "", new_note=draft.get("note"),
                cfg=cfg)
            heads = approvals.ask(session, approvals.CORRECTION, correction.id, cfg)
            reply = t("correct.filed", lang, correction_id=correction.id,
                      approvers=join_list((h.name for h in heads), lang))
    except CorrectionError as exc:
        error = exc.text(lang)
    context.user_data.pop(CORRECT, None)
    await drop_buttons(update)
    if error is not None:
        await refuse(update, error)
        await update.effective_message.reply_text(t("correct.not_filed", lang, error=error))
        return END
    await answer_query(update.callback_query)
    await update.effective_message.reply_text(reply)
    wake_outbox(context)
    return END


@_step
async def correct_press_button_msg(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    """Text typed where a button is expected: say so, change nothing."""
    await update.effective_message.reply_text(t("correct.press_button", lang))
    return None


@permitted("cancel")
async def correct_cancel(update: Update, context: Ctx, actor: Actor, lang: str) -> object:
    """/cancel or the 取消 button: drop the draft, change nothing."""
    return await cancel_flow(update, context, lang, CORRECT, "correct.cancelled")


def correct_conversation() -> ConversationHandler:
    """/correct: target → item (with its current code) → new code (every configured code but the current one) →
    description (required for a problem code, else optional with 跳过) → reason (required) → 提交申请 / 取消.
    The department head then gets 同意/驳回 (`correction_decide_callback`). /cancel at any step; 30 idle
    minutes end it."""
    text = filters.TEXT & ~filters.COMMAND
    buttons_only = MessageHandler(text, correct_press_button_msg)
    return conversation(
        "correct",
        entry_points=[CommandHandler("correct", correct_cmd)],
        states={
            CorrectState.CHOOSING_TARGET: [CallbackQueryHandler(target_callback, pattern=r"^correct:t:"),
                                           CallbackQueryHandler(page_callback, pattern=r"^correct:pg:"),
                                           buttons_only],
            CorrectState.CHOOSING_ITEM: [CallbackQueryHandler(item_callback, pattern=r"^correct:r:"),
                                         buttons_only],
            CorrectState.CHOOSING_CODE: [CallbackQueryHandler(code_callback, pattern=r"^correct:c:"),
                                         buttons_only],
            CorrectState.TYPING_NOTE: [MessageHandler(text, note_msg),
                                       CallbackQueryHandler(skip_note_callback, pattern=r"^correct:skip$")],
            CorrectState.TYPING_REASON: [MessageHandler(text, reason_msg)],
            CorrectState.CONFIRMING: [CallbackQueryHandler(submit_callback, pattern=r"^correct:ok$"),
                                      buttons_only],
        },
        fallbacks=[CommandHandler("cancel", correct_cancel),
                   CallbackQueryHandler(correct_cancel, pattern=r"^correct:cancel$")],
        allow_reentry=True,
    )
