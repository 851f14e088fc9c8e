"""/followup — the measures taken on a result with the follow-up code (后续处理, 8 on the record form; SPEC §6.9,
seed 四(五)), by an inspector of the result's department in a private chat. What a code means comes from
`cfg.code_set` (bot.rules.codes).

Callback data carries ids only; each press is re-checked against the database (rights, scope, state):
  fu:f:<followup_id> → fu:m:<measure index> … fu:next → [amount typed] → fu:skip | note typed
  → fu:save | fu:close | fu:cancel

The draft lives in the user's own `user_data` (persisted as JSON) with the time of the last step: PTB's
`conversation_timeout` is not restored after a restart (PTB #3522), so the 30-minute idle limit is checked from
that stored time. Step buttons must come from the message the draft last sent (`msg`).
"""

from __future__ import annotations

import datetime as dt
import time
from enum import IntEnum
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from bot.runtime.app import Ctx
from bot.services import corrections
from bot.services.corrections import FollowUpError
from bot.services.identity import Actor
from bot.texts import t
from handlers.common import answer_query, draft_step, permitted, refuse
from handlers.common import prompt as _prompt
from handlers.common import stale as _stale
from handlers.toolkit import (END, callback_parts, cancel_flow, conversation, Draft, drop_buttons, edit, from_prompt,
                              ints, page_buttons, page_of, page_step, person_of, pressed_ids, short, today,
                              unit_of_work)

FOLLOWUP = "followup"  # user_data key of the /followup draft
PER_PAGE = 10


class FollowUpState(IntEnum):
    """What /followup waits for."""

    CHOOSING_FOLLOWUP = 1
    CHOOSING_MEASURES = 2
    TYPING_AMOUNT = 3
    TYPING_NOTE = 4
    CONFIRMING = 5


# A step of /followup: the caller may still use the command, the draft is not idle too long.
_step = draft_step(FOLLOWUP, "followup", "followup.expired")




def _no_followups(cfg, lang: str) -> str:
    codes = cfg.code_set
    if codes.follow_up is None:
        return t("followup.none_no_code", lang)
    return t("followup.none", lang, code=codes.show(codes.follow_up))


def _corrected(cfg, code: int, lang: str) -> str:
    """`（结果已更正，原为 8）` on a follow-up whose result no longer has the follow-up code."""
    codes = cfg.code_set
    if codes.opens_follow_up(code):
        return ""
    return t("followup.corrected", lang, code=codes.follow_up if codes.follow_up is not None else "—")


def _measure_label(measure: str, lang: str) -> str:
    return t(f"followup.measure.{corrections.MEASURE_KEYS[measure]}", lang)


def _measures_text(measures: list[str], lang: str) -> str:
    if not measures:
        return t("followup.no_measures", lang)
    return ("、" if lang == "zh" else ", ").join(_measure_label(m, lang) for m in measures)


def _amount_text(amount: Any, lang: str) -> str:
    return t("followup.amount", lang, amount=f"{amount:.2f}" if not isinstance(amount, str) else amount) \
        if amount is not None else t("followup.no_amount", lang)


def _card(view: corrections.FollowUpView, cfg, lang: str) -> str:
    fu, r = view.followup, view.result
    state = t("followup.state.closed", lang, date=fu.closed_on.isoformat() if fu.closed_on else "—") \
        if fu.state == "closed" else t("followup.state.open", lang)
    return t("followup.card", lang, number=view.campaign.number, target=view.target.name, uscc=view.target.uscc,
             item=view.item.name, code=cfg.code_set.show(r.code),
             corrected=_corrected(cfg, r.code, lang),
             measures=_measures_text(list(fu.measures or []), lang),
             amount=_amount_text(fu.penalty_amount, lang), state=state, note=fu.note or "—")


@permitted("followup")
async def followup_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> object:
    """/followup — the department's open follow-ups (and the latest closed ones, read-only)."""
    context.user_data.pop(FOLLOWUP, None)
    with context.sessions.begin() as session:
        text, markup = _list_page(session, context, actor, 1, lang)
    if markup is None:
        await update.effective_message.reply_text(text)
        return END
    now = time.time()
    draft: Draft = {"started": now, "touched": now}
    context.user_data[FOLLOWUP] = draft
    await _prompt(update, draft, text, markup)
    return FollowUpState.CHOOSING_FOLLOWUP


def _list_page(session, context: Ctx, actor: Actor, page: int, lang: str) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of the department's follow-ups, the open ones first, then the latest closed (✔, read-only): at most
    PER_PAGE buttons and ‹ › (SPEC §11's portable subset, 12). No markup when there are none."""
    person = person_of(session, actor)
    open_ = corrections.open_followups(session, person)
    closed = corrections.closed_followups(session, person)
    listed = [(v, False) for v in open_] + [(v, True) for v in closed]
    if not listed:
        return _no_followups(context.cfg, lang), None
    shown, page, pages = page_of(listed, page, PER_PAGE)
    first = (page - 1) * PER_PAGE + 1
    lines = [t("followup.line", lang, n=n, target=v.target.name, item=v.item.name, number=v.campaign.number,
               corrected=_corrected(context.cfg, v.result.code, lang),
               measures=_measures_text(list(v.followup.measures or []), lang))
             for n, (v, was_closed) in enumerate(shown, first) if not was_closed]
    rows = [[InlineKeyboardButton(("✔ " if was_closed else "")
                                  + t("followup.button", lang, target=short(v.target.name, 24), item=short(v.item.name, 20)),
                                  callback_data=f"fu:f:{v.followup.id}")] for v, was_closed in shown]
    nav = page_buttons(page, pages, "fu:pg:{page}", lang)
    if nav:
        rows.append(nav)
    text = t("followup.list", lang, open=len(open_), lines="\n".join(lines) or t("followup.no_open", lang),
             closed=t("followup.list_closed", lang, count=len(closed)) if closed else "")
    if pages > 1:
        text += "\n" + t("page.of", lang, page=page, pages=pages)
    return text, InlineKeyboardMarkup(rows)


page_callback = _step(page_step("fu:pg", _list_page))  # ‹ › on the follow-up list


def _measures_keyboard(draft: Draft, lang: str) -> InlineKeyboardMarkup:
    chosen = set(draft.get("measures") or [])
    rows = [[InlineKeyboardButton(("✅ " if m in chosen else "") + _measure_label(m, lang), callback_data=f"fu:m:{i}")]
            for i, m in enumerate(corrections.MEASURES)]
    rows.append([InlineKeyboardButton(t("followup.next_button", lang), callback_data="fu:next")])
    return InlineKeyboardMarkup(rows)


def _load_open(session, actor: Actor, draft: Draft) -> tuple[corrections.FollowUpView | None, str | None]:
    """The draft's follow-up re-read now: (view, None) if still open and the caller's department's; else
    (view or None, error text key)."""
    try:
        view = corrections.followup_view(session, int(draft.get("fid") or 0), person_of(session, actor))
    except FollowUpError as exc:
        return None, exc.key
    if view.followup.state != "open":
        return view, "followup.readonly"
    return view, None


@_step
async def pick_followup_callback(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    ids = pressed_ids(update, draft, "fu:f", 1)
    if ids is None:
        await _stale(update, lang)
        return None
    cfg = context.cfg
    with context.sessions.begin() as session:
        try:
            view = corrections.followup_view(session, ids[0], person_of(session, actor))
        except FollowUpError as exc:
            view, error = None, t(exc.key, lang, **exc.params)
        else:
            error = None
            card = _card(view, cfg, lang)
            closed = view.followup.state != "open"
            fu = view.followup
            amount = f"{fu.penalty_amount:.2f}" if fu.penalty_amount is not None else None
            updated = fu.updated_at.isoformat()
            measures = list(fu.measures or [])
    if view is None:
        await refuse(update, error)
        return None
    await answer_query(update.callback_query)
    if closed:  # read-only: show it, keep the list for another choice
        await update.effective_message.reply_text(card + "\n\n" + t("followup.readonly", lang))
        return None
    draft.update(fid=ids[0], measures=measures, amount=amount, updated=updated, note=None)
    await drop_buttons(update)
    await _prompt(update, draft, card + "\n\n" + t("followup.pick_measures", lang), _measures_keyboard(draft, lang))
    return FollowUpState.CHOOSING_MEASURES


async def _gone(update: Update, context: Ctx, lang: str, view, key: str) -> object:
    """The follow-up was closed (or left the department) meanwhile: show why, end."""
    context.user_data.pop(FOLLOWUP, None)
    text = t(key, lang)
    if view is not None:
        text = _card(view, context.cfg, lang) + "\n\n" + text
    await refuse(update, t(key, lang))
    await update.effective_message.reply_text(text)
    return END


async def _ask_note(update: Update, draft: Draft, lang: str) -> None:
    await _prompt(update, draft, t("followup.ask_note", lang, max=corrections.MAX_TEXT),
                  InlineKeyboardMarkup([[InlineKeyboardButton(t("followup.skip_button", lang),
                                                              callback_data="fu:skip")]]))


@_step
async def measures_callback(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    data = update.callback_query.data or ""
    parts = callback_parts(update, "fu:m", 1)
    index = ints(parts) if parts else None
    if not from_prompt(update, draft) or (data != "fu:next" and (index is None
                                                                   or index[0] >= len(corrections.MEASURES))):
        await _stale(update, lang)
        return None
    with context.sessions.begin() as session:
        view, error = _load_open(session, actor, draft)
        card = _card(view, context.cfg, lang) if view is not None and error is None else ""
    if error is not None:
        return await _gone(update, context, lang, view, error)
    if data != "fu:next":
        measure = corrections.MEASURES[index[0]]
        chosen = list(draft.get("measures") or [])
        chosen = [m for m in chosen if m != measure] if measure in chosen else chosen + [measure]
        draft["measures"] = [m for m in corrections.MEASURES if m in chosen]
        await answer_query(update.callback_query)
        await edit(update, card + "\n\n" + t("followup.pick_measures", lang), _measures_keyboard(draft, lang))
        return None
    await answer_query(update.callback_query)
    await edit(update, t("followup.measures_chosen", lang, measures=_measures_text(draft["measures"], lang)))
    if corrections.PENALTY in draft["measures"]:
        current = t("followup.current_amount", lang, amount=draft["amount"]) if draft.get("amount") else ""
        await update.effective_message.reply_text(t("followup.ask_amount", lang, current=current))
        return FollowUpState.TYPING_AMOUNT
    draft["amount"] = None
    await _ask_note(update, draft, lang)
    return FollowUpState.TYPING_NOTE


@_step
async def amount_msg(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    text = (update.effective_message.text or "").strip()
    value = corrections.parse_amount(text)
    if value is None:
        await update.effective_message.reply_text(t("followup.bad_amount", lang, value=short(text, 40)))
        return None
    draft["amount"] = f"{value:.2f}"
    await _ask_note(update, draft, lang)
    return FollowUpState.TYPING_NOTE


async def _summary(update: Update, draft: Draft, lang: str, context: Ctx, actor: Actor) -> object:
    with context.sessions.begin() as session:
        view, error = _load_open(session, actor, draft)
        if error is None:
            text = t("followup.summary", lang, target=view.target.name, item=view.item.name,
                     measures=_measures_text(draft["measures"], lang),
                     amount=_amount_text(draft.get("amount"), lang), note=draft.get("note") or "—")
    if error is not None:
        return await _gone(update, context, lang, view, error)
    buttons = [InlineKeyboardButton(t("followup.save_button", lang), callback_data="fu:save")]
    if draft["measures"]:  # closing needs at least one measure taken
        buttons.append(InlineKeyboardButton(t("followup.close_button", lang), callback_data="fu:close"))
    markup = InlineKeyboardMarkup([buttons, [InlineKeyboardButton(t("followup.cancel_button", lang),
                                                                  callback_data="fu:cancel")]])
    await _prompt(update, draft, text, markup)
    return FollowUpState.CONFIRMING


@_step
async def followup_note_msg(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    note = (update.effective_message.text or "").strip()
    if len(note) > corrections.MAX_TEXT:
        await update.effective_message.reply_text(t("followup.note_too_long", lang, max=corrections.MAX_TEXT))
        return None
    draft["note"] = note or None
    return await _summary(update, draft, lang, context, actor)


@_step
async def skip_followup_note_callback(update: Update, context: Ctx, actor: Actor, lang: str,
                                      draft: Draft) -> object:
    if not from_prompt(update, draft):
        await _stale(update, lang)
        return None
    draft["note"] = None
    await answer_query(update.callback_query)
    await drop_buttons(update)
    return await _summary(update, draft, lang, context, actor)


@_step
async def save_callback(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    data = update.callback_query.data
    if data not in ("fu:save", "fu:close") or not from_prompt(update, draft):
        await _stale(update, lang)
        return None
    close = data == "fu:close"
    day = today(context)
    error_key = error = None
    try:
        with unit_of_work(update, context) as session:
            person = person_of(session, actor)
            fu = corrections.update_followup(
                session, int(draft.get("fid") or 0), person=person,
                measures=list(draft.get("measures") or []), amount=draft.get("amount"), note=draft.get("note"),
                close=close, today=day,
                expected_updated_at=dt.datetime.fromisoformat(draft["updated"]) if draft.get("updated") else None)
            view = corrections.followup_view(session, fu.id, person)
            key = "followup.closed_done" if close else "followup.saved"
            reply = t(key, lang, target=view.target.name, item=view.item.name,
                      measures=_measures_text(list(fu.measures), lang), date=day.isoformat())
    except FollowUpError as exc:
        error_key, error = exc.key, exc.text(lang)
    if error_key == "followup.close_needs_measure":
        await refuse(update, error)  # fix it here: the summary and its buttons stay
        return None
    context.user_data.pop(FOLLOWUP, None)
    await drop_buttons(update)
    if error is not None:
        await refuse(update, error)
        await update.effective_message.reply_text(t("followup.not_saved", lang, error=error))
        return END
    await answer_query(update.callback_query)
    await update.effective_message.reply_text(reply)
    return END


@_step
async def followup_press_button_msg(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    """Text typed where a button is expected: say so, change nothing."""
    await update.effective_message.reply_text(t("followup.press_button", lang))
    return None


@permitted("cancel")
async def followup_cancel(update: Update, context: Ctx, actor: Actor, lang: str) -> object:
    """/cancel or the 取消 button: drop the draft, change nothing."""
    return await cancel_flow(update, context, lang, FOLLOWUP, "followup.cancelled")


def followup_conversation() -> ConversationHandler:
    """/followup: a follow-up of the department (closed ones read-only) → measures (toggle ✅; 下一步) → the
    amount if 行政处罚 (yuan, re-asked until valid) → an optional note (跳过) → 保存 / 保存并办结 / 取消.
    /cancel at any step; 30 idle minutes end it."""
    text = filters.TEXT & ~filters.COMMAND
    buttons_only = MessageHandler(text, followup_press_button_msg)
    return conversation(
        "followup",
        entry_points=[CommandHandler("followup", followup_cmd)],
        states={
            FollowUpState.CHOOSING_FOLLOWUP: [CallbackQueryHandler(pick_followup_callback, pattern=r"^fu:f:"),
                                              CallbackQueryHandler(page_callback, pattern=r"^fu:pg:"),
                                              buttons_only],
            FollowUpState.CHOOSING_MEASURES: [CallbackQueryHandler(measures_callback, pattern=r"^fu:(m:|next$)"),
                                              buttons_only],
            FollowUpState.TYPING_AMOUNT: [MessageHandler(text, amount_msg)],
            FollowUpState.TYPING_NOTE: [MessageHandler(text, followup_note_msg),
                                        CallbackQueryHandler(skip_followup_note_callback, pattern=r"^fu:skip$")],
            FollowUpState.CONFIRMING: [CallbackQueryHandler(save_callback, pattern=r"^fu:(save|close)$"),
                                       buttons_only],
        },
        fallbacks=[CommandHandler("cancel", followup_cancel),
                   CallbackQueryHandler(followup_cancel, pattern=r"^fu:cancel$")],
        allow_reentry=True,
    )
