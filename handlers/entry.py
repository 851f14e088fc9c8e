"""/enter (guided result entry, SPEC §6), /tasks (an inspector's assignments) and /progress (entry progress).

The database is the source of truth: drafts are saved at every answer (bot.services.result_entry), and where the conversation
stands is derived from them — `/enter` after a restart (even one that lost PTB's conversation state) resumes at
the first unanswered item of the target the inspector was on. The conversation state only routes typed text
(a code number, a note). `user_data["entry"]` holds the target and item being asked and the time of the last
action; PTB's `conversation_timeout` is not restored after a restart (PTB #3522), so the 30-minute idle limit
is checked from that stored time at every step.

Callback data (all ≤ 64 bytes; every id is re-checked against the database, nothing in it is trusted):
  ent:t:<gt>               choose a target (gt = group_targets.id: the target in one group of one draw)
  ent:p:<page>             page of the target list
  ent:c:<gt>:<item>:<code> answer an item with a code
  ent:s:<gt>:<item>        跳过: no note after a code that needs none
  ent:e:<gt>:<item>        (re-)ask one item (修改, 重选)
  ent:ed:<gt>              修改: pick the item to change
  ent:dt:<gt>              检查日期: pick the inspection date
  ent:dd:<gt>:<yyyymmdd>   set the inspection date
  ent:v:<gt>               back to the summary
  ent:ok:<gt>              提交
  ent:b                    ‹ 返回: the target list
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import time
import unicodedata
from enum import IntEnum
from typing import Any, Awaitable, Callable

from sqlalchemy.exc import IntegrityError
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from bot.rules.codes import CodeSet
from bot.services import campaigns, result_entry, identity
from bot.runtime import exactly_once
from bot.runtime.app import Ctx
from bot.services.identity import Actor
from bot.services.staffing import active_assignments
from bot.texts import t
from handlers.common import answer_query, permitted, refuse, wake_outbox
from handlers.toolkit import conversation
from handlers.report import wake_reports
from models import Person

log = logging.getLogger(__name__)

KEY = "entry"  # in user_data: {"gt": int | None, "item": int | None, "at": float, "page": int}
IDLE_MINUTES = 30
PAGE_SIZE = 8
DATE_COLUMNS = 4
NAME_MAX = 28  # characters of a target or item name on a button
MAX_MESSAGE = 3800
SUBMIT_ATTEMPTS = 3  # the audit chain's unique prev_hash may make a concurrent writer retry (bot.services.audit)
END = ConversationHandler.END


class EntryState(IntEnum):
    """What the bot waits for in /enter."""

    CHOOSING_TARGET = 1
    CHOOSING_CODE = 2
    TYPING_NOTE = 3
    CONFIRMING = 4  # the summary, the item picker of 修改 and the date picker: buttons only


Step = Callable[[Update, Ctx, Actor, str, dict[str, Any]], Awaitable[object]]


# ------------------------------------------------------------------------------------------------ helpers

def _today(context: Ctx) -> dt.date:
    return dt.datetime.now(context.cfg.tz).date()


def _when(moment: dt.datetime | None, context: Ctx) -> str:
    return moment.astimezone(context.cfg.tz).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _short(text: str, limit: int = NAME_MAX) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _refusal(exc: result_entry.EntryRefused, lang: str, context: Ctx) -> str:
    if isinstance(exc, result_entry.AlreadySubmitted):
        return t("entry.refused.submitted", lang, name=exc.name, at=_when(exc.submitted_at, context),
                 department=exc.params["department"], target=_short(exc.params["target"], 40))
    return t(exc.key, lang, **exc.params)


def _state(context: Ctx) -> dict[str, Any]:
    state = context.user_data.get(KEY)
    if not isinstance(state, dict):
        state = {}
        context.user_data[KEY] = state
    return state


def _touch(context: Ctx, **values: Any) -> None:
    state = _state(context)
    state.update(values)
    state["at"] = time.time()


async def _edit(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Replace the pressed message (its buttons are spent); send a new one if it cannot be edited."""
    query = update.callback_query
    try:
        if query is not None and query.message is not None:
            await query.edit_message_text(text, reply_markup=markup)
            return
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return
        log.info("could not edit the entry message: %s", exc)
    await update.effective_chat.send_message(text, reply_markup=markup)


async def _send(update: Update, text: str, markup: InlineKeyboardMarkup | None = None):
    return await update.effective_chat.send_message(text, reply_markup=markup)


async def _answer(update: Update, text: str | None = None) -> None:
    if update.callback_query is not None:
        await answer_query(update.callback_query, text)


async def _answer_and_edit(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Stop the button's spinner and replace the message at the same time: two round trips in one."""
    await asyncio.gather(_answer(update), _edit(update, text, markup))


def _step(func: Step) -> Callable[[Update, Ctx], Awaitable[object]]:
    """A step of /enter: the caller may still use /enter (checked now, from the permission table) and the
    conversation has not been idle for IDLE_MINUTES (from the stored time of the last action)."""

    @permitted("enter")
    @functools.wraps(func)
    async def wrapper(update: Update, context: Ctx, actor: Actor, lang: str) -> object:
        state = context.user_data.get(KEY)
        last = float(state.get("at", 0)) if isinstance(state, dict) else 0.0
        if time.time() - last > IDLE_MINUTES * 60:
            context.user_data.pop(KEY, None)
            await _answer(update)
            await _send(update, t("entry.expired", lang, minutes=IDLE_MINUTES))
            return END
        return await func(update, context, actor, lang, state)

    return wrapper


# ------------------------------------------------------------------------------------------------ views

def _codes_markup(task: result_entry.TargetTask, item_id: int, codes: CodeSet, lang: str) -> InlineKeyboardMarkup:
    """One button per code, its text beginning with the code number; then ‹ 返回."""
    gt = task.group_target_id
    rows = [[InlineKeyboardButton(_short(codes.show(code), 40), callback_data=f"ent:c:{gt}:{item_id}:{code}")]
            for code in codes.codes]
    rows.append([InlineKeyboardButton(t("entry.back_button", lang), callback_data="ent:b")])
    return InlineKeyboardMarkup(rows)


def _item_text(task: result_entry.TargetTask, item: result_entry.ItemState, codes: CodeSet, lang: str) -> str:
    current = t("entry.item_current", lang, answer=result_entry.code_text(item.code, codes)) if item.code else ""
    return t("entry.item_prompt", lang, target=task.target_name, n=task.position(item.item_id), total=task.total,
             department=task.department_name, item=item.name, content=item.content or "—", current=current)


def _note_view(task: result_entry.TargetTask, item: result_entry.ItemState, codes: CodeSet,
               lang: str) -> tuple[str, InlineKeyboardMarkup]:
    gt = task.group_target_id
    answer = result_entry.code_text(item.code, codes)
    rechoose = InlineKeyboardButton(t("entry.rechoose_button", lang), callback_data=f"ent:e:{gt}:{item.item_id}")
    n = task.position(item.item_id)
    if codes.is_problem(item.code):
        return (t("entry.ask_problem_note", lang, n=n, total=task.total, item=item.name, answer=answer,
                  max=result_entry.NOTE_MAX), InlineKeyboardMarkup([[rechoose]]))
    skip = InlineKeyboardButton(t("entry.skip_button", lang), callback_data=f"ent:s:{gt}:{item.item_id}")
    return (t("entry.ask_optional_note", lang, n=n, total=task.total, item=item.name, answer=answer,
              max=result_entry.NOTE_MAX), InlineKeyboardMarkup([[skip, rechoose]]))


def _done_text(task: result_entry.TargetTask, item: result_entry.ItemState, codes: CodeSet, lang: str) -> str:
    """What an answered item's message turns into once its note is given or skipped (buttons gone)."""
    answer = result_entry.code_text(item.code, codes)
    n = task.position(item.item_id)
    if item.note:
        return t("entry.noted", lang, n=n, total=task.total, item=item.name, answer=answer, note=item.note)
    return t("entry.note_skipped", lang, n=n, total=task.total, item=item.name, answer=answer)


def _summary_view(task: result_entry.TargetTask, codes: CodeSet, lang: str,
                  today: dt.date) -> tuple[str, InlineKeyboardMarkup]:
    gt = task.group_target_id
    day = task.inspection_date(today)
    default = "" if task.chosen_date == day else t("entry.date_default", lang)
    text = t("entry.summary", lang, target=task.target_name, department=task.department_name,
             lines=result_entry.result_lines(task, codes, lang), date=day.isoformat(), default=default,
             result=result_entry.department_result(task.codes),
             problem=t("entry.problem_mark", lang) if codes.has_problem(task.codes) else "")
    markup = InlineKeyboardMarkup([
        [InlineKeyboardButton(t("entry.submit_button", lang), callback_data=f"ent:ok:{gt}"),
         InlineKeyboardButton(t("entry.edit_button", lang), callback_data=f"ent:ed:{gt}")],
        [InlineKeyboardButton(t("entry.date_button", lang), callback_data=f"ent:dt:{gt}")],
        [InlineKeyboardButton(t("entry.back_button", lang), callback_data="ent:b")],
    ])
    return text, markup


def _list_view(tasks: list[result_entry.TargetTask], page: int, lang: str) -> tuple[str, InlineKeyboardMarkup | None]:
    pending = [task for task in tasks if not task.submitted]
    several_groups = len({(task.campaign_id, task.group_id) for task in tasks}) > 1
    departments = "、".join(dict.fromkeys(task.department_name for task in tasks))
    pages = max(1, -(-len(tasks) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    rows = []
    for task in tasks[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]:
        prefix = t("entry.group_prefix", lang, group=task.group_number) if several_groups else ""
        name = _short(task.target_name)
        label = t("entry.target_done", lang, prefix=prefix, name=name) if task.submitted else \
            t("entry.target_button", lang, prefix=prefix, name=name, answered=task.answered, total=task.total)
        rows.append([InlineKeyboardButton(label, callback_data=f"ent:t:{task.group_target_id}")])
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton(t("entry.prev_page", lang), callback_data=f"ent:p:{page - 1}"))
    if page < pages - 1:
        nav.append(InlineKeyboardButton(t("entry.next_page", lang), callback_data=f"ent:p:{page + 1}"))
    if nav:
        rows.append(nav)
    key = "entry.choose_target" if pending else "entry.all_submitted"
    text = t(key, lang, department=departments, pending=len(pending), total=len(tasks))
    if pages > 1:
        text += "\n" + t("entry.page", lang, page=page + 1, pages=pages)
    return text, InlineKeyboardMarkup(rows)


def _date_view(task: result_entry.TargetTask, lang: str, today: dt.date) -> tuple[str, InlineKeyboardMarkup]:
    gt = task.group_target_id
    current = task.inspection_date(today)
    choices = result_entry.date_choices(task.window_start, task.window_end, today)
    buttons = [InlineKeyboardButton(("✓ " if d == current else "") + d.strftime("%m-%d"),
                                    callback_data=f"ent:dd:{gt}:{d.strftime('%Y%m%d')}") for d in choices]
    rows = [buttons[i:i + DATE_COLUMNS] for i in range(0, len(buttons), DATE_COLUMNS)]
    rows.append([InlineKeyboardButton(t("entry.summary_back_button", lang), callback_data=f"ent:v:{gt}")])
    text = t("entry.pick_date", lang, target=task.target_name, start=task.window_start.isoformat(),
             end=task.window_end.isoformat(), date=current.isoformat())
    return text, InlineKeyboardMarkup(rows)


def _pick_item_view(task: result_entry.TargetTask, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    gt = task.group_target_id
    rows = [[InlineKeyboardButton(t("entry.pick_item_button", lang, n=n, item=_short(item.name),
                                    code=item.code if item.code is not None else "—"),
                                  callback_data=f"ent:e:{gt}:{item.item_id}")]
            for n, item in enumerate(task.items, 1)]
    rows.append([InlineKeyboardButton(t("entry.summary_back_button", lang), callback_data=f"ent:v:{gt}")])
    return t("entry.pick_item", lang, target=task.target_name), InlineKeyboardMarkup(rows)


async def _show_next(update: Update, context: Ctx, lang: str, task: result_entry.TargetTask, *,
                     edit: bool = False) -> EntryState:
    """Ask what the task needs next: the first unanswered item (or its note), else the summary."""
    codes = context.cfg.code_set
    show = _edit if edit else _send
    item = task.pending
    if item is None:
        _touch(context, gt=task.group_target_id, item=None)
        text, markup = _summary_view(task, codes, lang, _today(context))
        await show(update, text, markup)
        return EntryState.CONFIRMING
    _touch(context, gt=task.group_target_id, item=item.item_id)
    if item.code is not None:  # a code without its note (e.g. the phone dropped off): ask for the note
        text, markup = _note_view(task, item, codes, lang)
        message = await _send(update, text, markup)
        _touch(context, msg=message.message_id)
        return EntryState.TYPING_NOTE
    await show(update, _item_text(task, item, codes, lang), _codes_markup(task, item.item_id, codes, lang))
    return EntryState.CHOOSING_CODE


async def _show_list(update: Update, context: Ctx, actor: Actor, lang: str, *, page: int = 0,
                     edit: bool = False, tasks: list[result_entry.TargetTask] | None = None) -> object:
    """The target list; `tasks`: the person's tasks if the caller has just read them."""
    if tasks is None:
        with context.sessions.begin() as session:
            tasks = result_entry.tasks_for(session, actor.person.id)
    if not tasks:
        context.user_data.pop(KEY, None)
        await (_edit if edit else _send)(update, t("entry.no_tasks", lang))
        return END
    _touch(context, gt=None, item=None, page=page)
    text, markup = _list_view(tasks, page, lang)
    await (_edit if edit else _send)(update, text, markup)
    return EntryState.CHOOSING_TARGET


# ------------------------------------------------------------------------------------------------ /enter

@permitted("enter")
async def enter_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> object:
    """/enter — resume where the inspector left off (from the saved drafts), else list their targets."""
    previous = context.user_data.get(KEY)
    preferred = previous.get("gt") if isinstance(previous, dict) else None
    with context.sessions.begin() as session:
        tasks = result_entry.tasks_for(session, actor.person.id)
        task = result_entry.resume_task(session, actor.person.id, preferred if isinstance(preferred, int) else None,
                                 tasks=tasks)
    if task is None:
        return await _show_list(update, context, actor, lang, tasks=tasks)
    resumed = task.answered > 0 or any(i.code is not None for i in task.items)
    header = "entry.resume" if resumed else "entry.target_chosen"
    await _send(update, t(header, lang, target=task.target_name, number=task.campaign_number,
                          group=task.group_number, answered=task.answered, total=task.total))
    return await _show_next(update, context, lang, task)


@permitted("enter")
async def ended_callback(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    """An `ent:` button outside the conversation (after /cancel, the idle limit or a restart that lost PTB's
    state): nothing is done; /enter resumes from the saved drafts."""
    query = update.callback_query
    own = query.message is not None and query.message.chat.id == update.effective_user.id
    await refuse(update, t("entry.ended" if own else "error.stale_button", lang))


@permitted("cancel")
async def cancel_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> int:
    """/cancel — leave the conversation; the drafts stay and /enter resumes."""
    context.user_data.pop(KEY, None)
    await update.effective_message.reply_text(t("entry.cancelled", lang))
    return END


def _ints(parts: list[str], n: int) -> list[int] | None:
    if len(parts) != n or not all(p.isascii() and p.isdigit() and len(p) <= 12 for p in parts):
        return None
    return [int(p) for p in parts]


@_step
async def entry_callback(update: Update, context: Ctx, actor: Actor, lang: str, state: dict[str, Any]) -> object:
    """Every `ent:` button, in every state: parsed, then re-checked against the database."""
    query = update.callback_query
    # A button travels with its message: one from another chat is a copy, not this user's own.
    if query.message is None or query.message.chat.id != update.effective_user.id:
        await refuse(update, t("error.stale_button", lang))
        return None
    parts = (query.data or "").split(":")
    kind, args = (parts[1], parts[2:]) if len(parts) >= 2 and parts[0] == "ent" else ("", [])
    arity = {"t": 1, "p": 1, "c": 3, "s": 2, "e": 2, "ed": 1, "dt": 1, "dd": 2, "v": 1, "ok": 1, "b": 0}
    ids = _ints(args, arity[kind]) if kind in arity else None
    if ids is None:
        await refuse(update, t("error.stale_button", lang))
        return None
    if kind == "b":
        await answer_query(query)
        return await _show_list(update, context, actor, lang, page=int(state.get("page") or 0), edit=True)
    if kind == "p":
        await answer_query(query)
        return await _show_list(update, context, actor, lang, page=ids[0], edit=True)
    handler = _ACTIONS[kind]
    return await handler(update, context, actor, lang, *ids)


async def _load_open(update: Update, context: Ctx, actor: Actor, lang: str, gt: int) -> result_entry.TargetTask | None:
    """The person's task on a target still open to them; else the refusal is answered and None returned."""
    refusal = None
    with context.sessions.begin() as session:
        try:
            task = result_entry.load_task(session, actor.person.id, gt)
        except result_entry.EntryRefused as exc:
            refusal = _refusal(exc, lang, context)
    if refusal is None and task.submitted:
        refusal = t("entry.refused.submitted", lang, name=task.submitted_by, at=_when(task.submitted_at, context),
                    department=task.department_name, target=_short(task.target_name, 40))
    if refusal is not None:
        await refuse(update, refusal)
        return None
    return task


async def _choose_target(update: Update, context: Ctx, actor: Actor, lang: str, gt: int) -> object:
    task = await _load_open(update, context, actor, lang, gt)
    if task is None:
        return None
    await _answer_and_edit(update, t("entry.target_chosen", lang, target=task.target_name,
                                     number=task.campaign_number, group=task.group_number,
                                     answered=task.answered, total=task.total))
    return await _show_next(update, context, lang, task)


async def _write(update: Update, context: Ctx, lang: str, action: Callable[..., result_entry.TargetTask],
                 **kwargs: Any) -> tuple[result_entry.TargetTask | None, result_entry.EntryRefused | None]:
    """Run a draft-writing service call in one unit of work with the update's processed marker; a refusal is
    answered (alert on a button, reply to a message) and nothing is written."""
    with context.sessions.begin() as session:
        try:
            task = action(session, **kwargs)
        except result_entry.EntryRefused as exc:
            refused = exc
        else:
            exactly_once.mark_processed(session, update.update_id)
            return task, None
    await refuse(update, _refusal(refused, lang, context))
    return None, refused


async def _after_refusal(update: Update, context: Ctx, actor: Actor, lang: str,
                         refused: result_entry.EntryRefused | None) -> object:
    """Typed text for a target someone else has just submitted: the list again, so the next text is not stuck."""
    if update.callback_query is None and isinstance(refused, result_entry.AlreadySubmitted):
        return await _show_list(update, context, actor, lang)
    return None


async def _close_prompt(context: Ctx, chat_id: int, state: dict[str, Any], text: str) -> bool:
    """Turn the note prompt (found by its stored message id) into the answered item, without its buttons."""
    msg = state.pop("msg", None)
    if not isinstance(msg, int):
        return False
    try:
        await context.bot.edit_message_text(text, chat_id=chat_id, message_id=msg, reply_markup=None)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.info("could not close the note prompt: %s", exc)
            return False
    return True


async def _choose_code(update: Update, context: Ctx, actor: Actor, lang: str, gt: int, item_id: int,
                       code: int) -> object:
    codes = context.cfg.code_set
    task, refused = await _write(update, context, lang, result_entry.answer, person_id=actor.person.id,
                                 group_target_id=gt, item_id=item_id, code=code, codes=codes)
    if task is None:
        return await _after_refusal(update, context, actor, lang, refused)
    item = task.item(item_id)
    text, markup = _note_view(task, item, codes, lang)
    query = update.callback_query
    if query is not None and query.message is not None:  # the item's message becomes its note prompt
        await _answer_and_edit(update, text, markup)
        msg = query.message.message_id
    else:
        await _answer(update)
        msg = (await _send(update, text, markup)).message_id
    _touch(context, gt=gt, item=item_id, msg=msg)
    return EntryState.TYPING_NOTE


async def _skip(update: Update, context: Ctx, actor: Actor, lang: str, gt: int, item_id: int) -> object:
    task, _refused = await _write(update, context, lang, result_entry.skip_note, person_id=actor.person.id,
                                  group_target_id=gt, item_id=item_id, codes=context.cfg.code_set)
    if task is None:
        return None
    _state(context).pop("msg", None)
    await _answer_and_edit(update, _done_text(task, task.item(item_id), context.cfg.code_set, lang))
    return await _show_next(update, context, lang, task)


async def _ask_item(update: Update, context: Ctx, actor: Actor, lang: str, gt: int, item_id: int) -> object:
    """修改 / 重选: ask one item again (its earlier answer is shown until a new one is given)."""
    task = await _load_open(update, context, actor, lang, gt)
    if task is None:
        return None
    if task.item(item_id) is None:
        await refuse(update, t("entry.refused.not_your_item", lang))
        return None
    codes = context.cfg.code_set
    await _answer(update)
    _touch(context, gt=gt, item=item_id)
    await _edit(update, _item_text(task, task.item(item_id), codes, lang), _codes_markup(task, item_id, codes, lang))
    return EntryState.CHOOSING_CODE


async def _pick_item(update: Update, context: Ctx, actor: Actor, lang: str, gt: int) -> object:
    task = await _load_open(update, context, actor, lang, gt)
    if task is None:
        return None
    await _answer(update)
    _touch(context, gt=gt, item=None)
    text, markup = _pick_item_view(task, lang)
    await _edit(update, text, markup)
    return EntryState.CONFIRMING


async def _pick_date(update: Update, context: Ctx, actor: Actor, lang: str, gt: int) -> object:
    task = await _load_open(update, context, actor, lang, gt)
    if task is None:
        return None
    await _answer(update)
    _touch(context, gt=gt, item=None)
    text, markup = _date_view(task, lang, _today(context))
    await _edit(update, text, markup)
    return EntryState.CONFIRMING


async def _set_date(update: Update, context: Ctx, actor: Actor, lang: str, gt: int, ymd: int) -> object:
    try:
        day = dt.datetime.strptime(str(ymd), "%Y%m%d").date()
    except ValueError:
        await refuse(update, t("error.stale_button", lang))
        return None
    task, _refused = await _write(update, context, lang, result_entry.set_inspection_date, person_id=actor.person.id,
                                  group_target_id=gt, day=day, today=_today(context))
    if task is None:
        return None
    await _answer(update)
    return await _show_next(update, context, lang, task, edit=True)


async def _view(update: Update, context: Ctx, actor: Actor, lang: str, gt: int) -> object:
    task = await _load_open(update, context, actor, lang, gt)
    if task is None:
        return None
    await _answer(update)
    return await _show_next(update, context, lang, task, edit=True)


async def _submit(update: Update, context: Ctx, actor: Actor, lang: str, gt: int) -> object:
    refusal = None
    for attempt in range(1, SUBMIT_ATTEMPTS + 1):
        try:
            with context.sessions.begin() as session:
                try:
                    outcome = result_entry.submit(session, person_id=actor.person.id, group_target_id=gt,
                                           today=_today(context), codes=context.cfg.code_set,
                                           lang=context.cfg.bot.language)
                except result_entry.EntryRefused as exc:
                    refusal = _refusal(exc, lang, context)
                else:
                    exactly_once.mark_processed(session, update.update_id)
                    tasks = result_entry.tasks_for(session, actor.person.id)  # for the list shown afterwards
            break
        except IntegrityError:
            if attempt == SUBMIT_ATTEMPTS:
                raise
            log.info("submission of %s retried after a concurrent write", gt)
    if refusal is not None:
        await refuse(update, refusal)
        return None
    await _answer(update, t("entry.submitted_alert", lang))
    codes = context.cfg.code_set
    task = outcome.task
    leader = t("entry.leader_told", lang, leader=outcome.leader_name) if outcome.leader_notified else ""
    text = t("entry.submitted", lang, target=task.target_name, department=task.department_name,
             lines=result_entry.result_lines(task, codes, lang), date=outcome.inspection_date.isoformat(),
             result=outcome.result, problem=t("entry.problem_mark", lang) if outcome.problem else "",
             leader=leader)
    if outcome.followups:
        text += "\n" + t("entry.followup_opened", lang, count=outcome.followups)
    if outcome.campaign_entered:
        text += "\n" + t("entry.campaign_entered", lang, number=task.campaign_number)
    await _edit(update, text)
    wake_outbox(context)
    if outcome.campaign_entered:  # the coordinators' reports, once (bot.services.report_sends: built off the event loop)
        wake_reports(context)
    return await _show_list(update, context, actor, lang, tasks=tasks)


_ACTIONS: dict[str, Callable[..., Awaitable[object]]] = {
    "t": _choose_target, "c": _choose_code, "s": _skip, "e": _ask_item, "ed": _pick_item, "dt": _pick_date,
    "dd": _set_date, "v": _view, "ok": _submit,
}


# ------------------------------------------------------------------------------------------------ typed text

def _typed_code(text: str) -> int | None:
    text = unicodedata.normalize("NFKC", text).strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 4 else None


@_step
async def code_msg(update: Update, context: Ctx, actor: Actor, lang: str, state: dict[str, Any]) -> object:
    """Text where a code button is expected: a code number is accepted as if its button were pressed; anything
    else gets the hint and changes nothing."""
    code = _typed_code(update.effective_message.text or "")
    gt, item_id = state.get("gt"), state.get("item")
    if code is None or not isinstance(gt, int) or not isinstance(item_id, int):
        await update.effective_message.reply_text(t("entry.press_code", lang))
        return None
    if code not in context.cfg.code_set:
        await update.effective_message.reply_text(t("entry.refused.unknown_code", lang, code=code) + "\n"
                                                  + t("entry.press_code", lang))
        return None
    return await _choose_code(update, context, actor, lang, gt, item_id, code)


@_step
async def note_msg(update: Update, context: Ctx, actor: Actor, lang: str, state: dict[str, Any]) -> object:
    """The description after a problem code, or the optional note after another code."""
    gt, item_id = state.get("gt"), state.get("item")
    if not isinstance(gt, int) or not isinstance(item_id, int):
        await update.effective_message.reply_text(t("entry.lost", lang))
        return END
    task, refused = await _write(update, context, lang, result_entry.add_note, person_id=actor.person.id,
                                 group_target_id=gt, item_id=item_id, note=update.effective_message.text or "")
    if task is None:
        return await _after_refusal(update, context, actor, lang, refused)
    done = _done_text(task, task.item(item_id), context.cfg.code_set, lang)
    if not await _close_prompt(context, update.effective_chat.id, state, done):
        await update.effective_message.reply_text(done)
    return await _show_next(update, context, lang, task)


@_step
async def target_hint_msg(update: Update, context: Ctx, actor: Actor, lang: str, state: dict[str, Any]) -> object:
    await update.effective_message.reply_text(t("entry.press_target", lang))
    return None


@_step
async def confirm_hint_msg(update: Update, context: Ctx, actor: Actor, lang: str, state: dict[str, Any]) -> object:
    await update.effective_message.reply_text(t("entry.press_button", lang))
    return None


def entry_conversation() -> ConversationHandler:
    """/enter: target (buttons `某某网吧 2/5`, ✅ when submitted) → for each pending item of the inspector's own
    department: code (buttons `1 未发现问题` …, or the number typed) → description (required after a problem
    code) or note / 跳过 → summary: 提交 / 修改 (pick an item) / 检查日期 → submitted, the group leader told, the
    list again. ‹ 返回 goes back to the list; /cancel leaves (drafts stay); 30 idle minutes end it."""
    text = filters.TEXT & ~filters.COMMAND
    buttons = CallbackQueryHandler(entry_callback, pattern=r"^ent:")
    return conversation(
        "entry",
        # Not allow_reentry: with it PTB would try the entry points (and their `ent:` handler) before the
        # states; /enter restarts through the fallbacks instead.
        entry_points=[CommandHandler("enter", enter_cmd),
                      CallbackQueryHandler(ended_callback, pattern=r"^ent:")],
        states={
            EntryState.CHOOSING_TARGET: [buttons, MessageHandler(text, target_hint_msg)],
            EntryState.CHOOSING_CODE: [buttons, MessageHandler(text, code_msg)],
            EntryState.TYPING_NOTE: [buttons, MessageHandler(text, note_msg)],
            EntryState.CONFIRMING: [buttons, MessageHandler(text, confirm_hint_msg)],
        },
        fallbacks=[CommandHandler("cancel", cancel_cmd), CommandHandler("enter", enter_cmd)],
    )


# ------------------------------------------------------------------------------------------------ /tasks

@permitted("tasks")
async def tasks_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    """/tasks — each assignment: campaign, group, leader, targets with this department's status, deadlines."""
    blocks = []
    with context.sessions.begin() as session:
        views = active_assignments(session, actor.person.id)
        tasks = result_entry.tasks_for(session, actor.person.id)
        for view in views:
            leader = session.get(Person, view.group.leader_person_id) if view.group.leader_person_id else None
            c = view.campaign
            res, _pub = campaigns.provisional_marks(c, context.cfg)
            mine = [task for task in tasks if task.group_id == view.group.id]
            lines = []
            for n, task in enumerate(mine, 1):
                if task.submitted:
                    lines.append(t("tasks.target_done", lang, n=n, name=task.target_name, by=task.submitted_by,
                                   date=task.submitted_date.isoformat() if task.submitted_date else "—"))
                else:
                    lines.append(t("tasks.target_pending", lang, n=n, name=task.target_name,
                                   answered=task.answered, total=task.total))
            done = sum(1 for task in mine if task.submitted)
            blocks.append(t("tasks.assignment", lang, number=c.number, title=c.title, group=view.group.number,
                            leader=leader.name if leader else "—", department=view.assignment.department.name,
                            start=c.window_start.isoformat(), end=c.window_end.isoformat(),
                            due=campaigns.date_text(c.results_due, res, lang),
                            done=done, count=len(mine), targets="\n".join(lines)))
    if not blocks:
        await update.effective_message.reply_text(t("tasks.none", lang))
        return
    for text in _paginate(t("tasks.header", lang, count=len(blocks)), blocks, t("tasks.footer", lang)):
        await update.effective_message.reply_text(text)


def _paginate(header: str, blocks: list[str], footer: str) -> list[str]:
    """Blocks joined into messages below Telegram's limit; a block too long for one message is cut at lines."""
    pieces: list[str] = []
    for block in blocks:
        while len(block) > MAX_MESSAGE:
            cut = block.rfind("\n", 0, MAX_MESSAGE)
            cut = cut if cut > 0 else MAX_MESSAGE
            pieces.append(block[:cut])
            block = block[cut:].lstrip("\n")
        pieces.append(block)
    messages, current = [], header
    for piece in pieces + ([footer] if footer else []):
        if len(current) + len(piece) + 2 > MAX_MESSAGE:
            messages.append(current)
            current = piece
        else:
            current += "\n\n" + piece
    messages.append(current)
    return messages


# ------------------------------------------------------------------------------------------------ /progress

@permitted("progress")
async def progress_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    """/progress [campaign] — entered/expected targets per group and department, totals, the results deadline."""
    chat = update.effective_chat
    if chat is not None and chat.type != ChatType.PRIVATE:
        with context.sessions.begin() as session:
            bound = identity.group_chat_id(session, context.cfg.bot.group_chat_id)
        if bound != chat.id:
            await refuse(update, t("error.wrong_group", lang))
            return
    ref = " ".join(context.args or []) or None
    with context.sessions.begin() as session:
        try:
            campaign = campaigns.resolve_campaign(session, ref)
        except campaigns.CampaignChoiceError as exc:
            messages = [exc.message(lang)]
        else:
            p = result_entry.progress(session, campaign.id)
            res, _pub = campaigns.provisional_marks(campaign, context.cfg)
            messages = _progress_messages(p, campaigns.date_text(p.results_due, res, lang), lang)
    for text in messages:
        await update.effective_message.reply_text(text)


def _progress_messages(p: result_entry.Progress, due: str, lang: str) -> list[str]:
    sep = "、" if lang == "zh" else ", "
    header = t("progress.header", lang, number=p.number, title=p.title, state=campaigns.state_label(p.state, lang),
               draw_id=p.draw_id or "—")
    if p.draw_id is None:
        return [header + "\n" + t("progress.no_draw", lang, due=due)]
    blocks = []
    for g in p.groups:
        deps = sep.join(t("progress.department", lang, department=d.label, entered=d.entered, expected=d.expected)
                        + (" ✅" if d.expected and d.entered == d.expected else "") for d in g.departments)
        blocks.append(t("progress.group", lang, group=g.number, leader=g.leader_name or "—", targets=g.targets,
                        entered=g.entered, expected=g.expected, departments=deps))
    percent = round(100 * p.entered / p.expected) if p.expected else 0
    totals = sep.join(t("progress.department", lang, department=d.label, entered=d.entered, expected=d.expected)
                      for d in p.departments)
    footer = t("progress.total", lang, entered=p.entered, expected=p.expected, percent=percent, departments=totals,
               due=due)
    if p.complete:
        footer += "\n" + t("progress.complete", lang)
    return _paginate(header, blocks, footer)
