"""/enter — guided result entry (SPEC §6), an inspector in a private chat. What each step shows is
handlers.enter_views'; /tasks and /progress are handlers.tasks.

Longer than the ~400 lines a handler module keeps to, on purpose: it is one flow — eleven kinds of button and
two typed answers, routed by `entry_callback` through one draft — and its texts and keyboards already live apart
(handlers.enter_views); cutting the steps into several modules would scatter the flow chart below.

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
  ent:dp:<gt>:<page>       a page of the dates (‹ ›)
  ent:dd:<gt>:<yyyymmdd>   set the inspection date
  ent:v:<gt>               back to the summary
  ent:ok:<gt>              提交
  ent:all:<gt>:<dept>      全部「1 未发现问题」 / 其余全部: fill the unanswered items with the clean code (for the
                           department the button was made for)
  ent:pp:<gt>              标记问题事项: the item list, to answer only the items with problems
  ent:n:<gt>:<item>        备注 on an answered item
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
from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from bot.services import result_entry
from bot.runtime.app import Ctx
from bot.services.identity import Actor
from bot.texts import t
from handlers.common import answer_query, permitted, refuse, wake_outbox
from handlers import enter_views as views
from handlers.toolkit import answer, answer_and_edit, conversation, edit, send, today, unit_of_work
from handlers.report import wake_reports

log = logging.getLogger(__name__)

KEY = "entry"  # in user_data: {"gt": int | None, "item": int | None, "at": float, "page": int}
IDLE_MINUTES = 30
PROBLEMS_FIRST = "pp"  # user_data["entry"]["mode"] while marking problems first
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

async def edit_or_send(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Replace the pressed message (its buttons are spent); send a new one if it cannot be edited."""
    await edit(update, text, markup, or_send=True)


def _when(moment: dt.datetime | None, context: Ctx) -> str:
    return moment.astimezone(context.cfg.tz).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _refusal(exc: result_entry.EntryRefused, lang: str, context: Ctx) -> str:
    if isinstance(exc, result_entry.AlreadySubmitted):
        return t("entry.refused.submitted", lang, name=exc.name, at=_when(exc.submitted_at, context),
                 department=exc.params["department"], target=views.short_name(exc.params["target"], 40))
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
            await answer(update)
            await send(update, t("entry.expired", lang, minutes=IDLE_MINUTES))
            return END
        return await func(update, context, actor, lang, state)

    return wrapper


async def _show_next(update: Update, context: Ctx, lang: str, task: result_entry.TargetTask, *,
                     edit: bool = False, previous: result_entry.ItemState | None = None) -> EntryState:
    """Ask what the task needs next: a problem code's missing description, else — marking problems first — the
    item list, else the first unanswered item, else the summary. `previous`: the item just answered (confirmed
    on the question, with a 备注 button for it)."""
    codes = context.cfg.code_set
    show = edit_or_send if edit else send
    item = task.pending
    if item is None:
        _touch(context, gt=task.group_target_id, item=None, mode=None)
        text, markup = views.summary_view(task, codes, lang, today(context))
        await show(update, text, markup)
        return EntryState.CONFIRMING
    if item.code is not None:  # a problem code without its description (or the phone dropped off): ask for it
        _touch(context, gt=task.group_target_id, item=item.item_id)
        text, markup = views.note_view(task, item, codes, lang)
        message = await send(update, text, markup)
        _touch(context, msg=message.message_id)
        return EntryState.TYPING_NOTE
    if _state(context).get("mode") == PROBLEMS_FIRST:
        _touch(context, gt=task.group_target_id, item=None)
        text, markup = views.problems_view(task, codes, lang)
        await show(update, text, markup)
        return EntryState.CONFIRMING
    _touch(context, gt=task.group_target_id, item=item.item_id)
    note_for = previous if previous is not None and previous.code is not None else None
    await show(update, views.item_text(task, item, codes, lang, previous=note_for),
               views.codes_markup(task, item.item_id, codes, lang, note_for=note_for, shortcuts=task.untouched))
    return EntryState.CHOOSING_CODE


async def _show_list(update: Update, context: Ctx, actor: Actor, lang: str, *, page: int = 0,
                     edit: bool = False, tasks: list[result_entry.TargetTask] | None = None) -> object:
    """The target list; `tasks`: the person's tasks if the caller has just read them."""
    if tasks is None:
        with context.sessions.begin() as session:
            tasks = result_entry.tasks_for(session, actor.person.id)
    if not tasks:
        context.user_data.pop(KEY, None)
        await (edit_or_send if edit else send)(update, t("entry.no_tasks", lang))
        return END
    _touch(context, gt=None, item=None, page=page, mode=None, last=None)
    text, markup = views.list_view(tasks, page, lang)
    await (edit_or_send if edit else send)(update, text, markup)
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
    await send(update, t(header, lang, target=task.target_name, number=task.campaign_number,
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
    arity = {"t": 1, "p": 1, "c": 3, "s": 2, "e": 2, "ed": 1, "dt": 1, "dp": 2, "dd": 2, "v": 1, "ok": 1, "b": 0, "all": 2,
             "pp": 1, "n": 2}
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
                    department=task.department_name, target=views.short_name(task.target_name, 40))
    if refusal is not None:
        await refuse(update, refusal)
        return None
    return task


async def _choose_target(update: Update, context: Ctx, actor: Actor, lang: str, gt: int) -> object:
    task = await _load_open(update, context, actor, lang, gt)
    if task is None:
        return None
    _touch(context, mode=None, last=None)
    await answer_and_edit(update, t("entry.target_chosen", lang, target=task.target_name,
                                     number=task.campaign_number, group=task.group_number,
                                     answered=task.answered, total=task.total))
    return await _show_next(update, context, lang, task)


async def _write(update: Update, context: Ctx, lang: str, action: Callable[..., result_entry.TargetTask],
                 **kwargs: Any) -> tuple[result_entry.TargetTask | None, result_entry.EntryRefused | None]:
    """Run a draft-writing service call in one unit of work with the update's processed marker; a refusal is
    answered (alert on a button, reply to a message) and nothing is written."""
    try:
        with unit_of_work(update, context) as session:
            return action(session, **kwargs), None
    except result_entry.EntryRefused as exc:
        await refuse(update, _refusal(exc, lang, context))
        return None, exc


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
    """A code for an item. After a problem code the description is asked (required); after any other code the
    next question follows at once, in the same message — a note can still be added (备注, or just typed)."""
    codes = context.cfg.code_set
    task, refused = await _write(update, context, lang, result_entry.answer, person_id=actor.person.id,
                                 group_target_id=gt, item_id=item_id, code=code, codes=codes)
    if task is None:
        return await _after_refusal(update, context, actor, lang, refused)
    item = task.item(item_id)
    if item.complete:  # the spinner stops while the next question replaces this one: one round trip
        _touch(context, last=item_id)
        _, state = await asyncio.gather(answer(update), _show_next(update, context, lang, task,
                                                                   edit=update.callback_query is not None,
                                                                   previous=item))
        return state
    text, markup = views.note_view(task, item, codes, lang)
    query = update.callback_query
    if query is not None and query.message is not None:  # the item's message becomes its description prompt
        await answer_and_edit(update, text, markup)
        msg = query.message.message_id
    else:
        await answer(update)
        msg = (await send(update, text, markup)).message_id
    _touch(context, gt=gt, item=item_id, msg=msg, last=item_id)
    return EntryState.TYPING_NOTE


async def _fill_clean(update: Update, context: Ctx, actor: Actor, lang: str, gt: int, department_id: int) -> object:
    """全部「1 未发现问题」 / 其余全部: the unanswered items take the clean code, marked as a bulk fill; the summary
    (which says so) follows, and only its 提交 submits."""
    task, refused = await _write(update, context, lang, result_entry.fill_clean, person_id=actor.person.id,
                                 group_target_id=gt, department_id=department_id, codes=context.cfg.code_set)
    if task is None:
        return await _after_refusal(update, context, actor, lang, refused)
    await answer(update)
    _touch(context, mode=None)
    return await _show_next(update, context, lang, task, edit=True)


async def _problems_first(update: Update, context: Ctx, actor: Actor, lang: str, gt: int) -> object:
    """标记问题事项: the item list; each picked item is answered (code + description), the rest filled clean."""
    task = await _load_open(update, context, actor, lang, gt)
    if task is None:
        return None
    await answer(update)
    _touch(context, mode=PROBLEMS_FIRST)
    return await _show_next(update, context, lang, task, edit=True)


async def _ask_note(update: Update, context: Ctx, actor: Actor, lang: str, gt: int, item_id: int) -> object:
    """备注 on an answered item: its note is typed next (the question above stays answerable)."""
    task = await _load_open(update, context, actor, lang, gt)
    if task is None:
        return None
    item = task.item(item_id)
    if item is None or item.code is None:
        await refuse(update, t("entry.refused.no_code", lang))
        return None
    await answer(update)
    message = await send(update, t("entry.ask_note_for", lang, n=task.position(item_id), total=task.total,
                                   item=item.name, answer=result_entry.code_text(item.code, context.cfg.code_set),
                                   max=result_entry.NOTE_MAX))
    _touch(context, gt=gt, item=item_id, msg=message.message_id)
    return EntryState.TYPING_NOTE


async def _skip(update: Update, context: Ctx, actor: Actor, lang: str, gt: int, item_id: int) -> object:
    task, _refused = await _write(update, context, lang, result_entry.skip_note, person_id=actor.person.id,
                                  group_target_id=gt, item_id=item_id, codes=context.cfg.code_set)
    if task is None:
        return None
    _state(context).pop("msg", None)
    await answer_and_edit(update, views.done_text(task, task.item(item_id), context.cfg.code_set, lang))
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
    await answer(update)
    _touch(context, gt=gt, item=item_id)
    await edit_or_send(update, views.item_text(task, task.item(item_id), codes, lang), views.codes_markup(task, item_id, codes, lang))
    return EntryState.CHOOSING_CODE


async def _pick_item(update: Update, context: Ctx, actor: Actor, lang: str, gt: int) -> object:
    task = await _load_open(update, context, actor, lang, gt)
    if task is None:
        return None
    await answer(update)
    _touch(context, gt=gt, item=None)
    text, markup = views.pick_item_view(task, lang)
    await edit_or_send(update, text, markup)
    return EntryState.CONFIRMING


async def _pick_date(update: Update, context: Ctx, actor: Actor, lang: str, gt: int, page: int | None = None) -> object:
    task = await _load_open(update, context, actor, lang, gt)
    if task is None:
        return None
    await answer(update)
    _touch(context, gt=gt, item=None)
    text, markup = views.date_view(task, lang, today(context), page)
    await edit_or_send(update, text, markup)
    return EntryState.CONFIRMING


async def _set_date(update: Update, context: Ctx, actor: Actor, lang: str, gt: int, ymd: int) -> object:
    try:
        day = dt.datetime.strptime(str(ymd), "%Y%m%d").date()
    except ValueError:
        await refuse(update, t("error.stale_button", lang))
        return None
    task, _refused = await _write(update, context, lang, result_entry.set_inspection_date, person_id=actor.person.id,
                                  group_target_id=gt, day=day, today=today(context))
    if task is None:
        return None
    await answer(update)
    return await _show_next(update, context, lang, task, edit=True)


async def _view(update: Update, context: Ctx, actor: Actor, lang: str, gt: int) -> object:
    task = await _load_open(update, context, actor, lang, gt)
    if task is None:
        return None
    await answer(update)
    return await _show_next(update, context, lang, task, edit=True)


async def _submit(update: Update, context: Ctx, actor: Actor, lang: str, gt: int) -> object:
    refusal = None
    for attempt in range(1, SUBMIT_ATTEMPTS + 1):
        try:
            with unit_of_work(update, context) as session:
                outcome = result_entry.submit(session, person_id=actor.person.id, group_target_id=gt,
                                              today=today(context), codes=context.cfg.code_set,
                                              lang=context.cfg.bot.language)
                tasks = result_entry.tasks_for(session, actor.person.id)  # for the list shown afterwards
            break
        except result_entry.EntryRefused as exc:
            refusal = _refusal(exc, lang, context)
            break
        except IntegrityError:
            if attempt == SUBMIT_ATTEMPTS:
                raise
            log.info("submission of %s retried after a concurrent write", gt)
    if refusal is not None:
        await refuse(update, refusal)
        return None
    await answer(update, t("entry.submitted_alert", lang))
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
    await edit_or_send(update, text)
    wake_outbox(context)
    if outcome.campaign_entered:  # the coordinators' reports, once (bot.services.report_sends: built off the event loop)
        wake_reports(context)
    return await _show_list(update, context, actor, lang, tasks=tasks)


_ACTIONS: dict[str, Callable[..., Awaitable[object]]] = {
    "t": _choose_target, "c": _choose_code, "s": _skip, "e": _ask_item, "ed": _pick_item, "dt": _pick_date,
    "dp": _pick_date,
    "dd": _set_date, "v": _view, "ok": _submit, "all": _fill_clean, "pp": _problems_first, "n": _ask_note,
}


# ------------------------------------------------------------------------------------------------ typed text

def _typed_code(text: str) -> int | None:
    text = unicodedata.normalize("NFKC", text).strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 4 else None


async def _typed_note(update: Update, context: Ctx, actor: Actor, lang: str,
                      state: dict[str, Any]) -> result_entry.TargetTask | None:
    """Typed text that is not a code: a note on the item answered just before (no 备注 press needed), confirmed in
    the reply. None when there is no such item (or the note was refused, which has been answered)."""
    gt, last = state.get("gt"), state.get("last")
    if not isinstance(gt, int) or not isinstance(last, int):
        return None
    task, refused = await _write(update, context, lang, result_entry.add_note, person_id=actor.person.id,
                                 group_target_id=gt, item_id=last, note=update.effective_message.text or "")
    if task is None:
        await _after_refusal(update, context, actor, lang, refused)
        return None
    item = task.item(last)
    await update.effective_message.reply_text(t("entry.note_added", lang, n=task.position(last), item=item.name,
                                                note=item.note))
    return task


@_step
async def code_msg(update: Update, context: Ctx, actor: Actor, lang: str, state: dict[str, Any]) -> object:
    """Text where a code button is expected: a code number is taken as if its button were pressed; other text is
    a note on the item answered just before; with no such item, the hint. Nothing else changes."""
    code = _typed_code(update.effective_message.text or "")
    gt, item_id = state.get("gt"), state.get("item")
    if code is None and isinstance(state.get("last"), int):
        await _typed_note(update, context, actor, lang, state)
        return None
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
    done = views.done_text(task, task.item(item_id), context.cfg.code_set, lang)
    if not await _close_prompt(context, update.effective_chat.id, state, done):
        await update.effective_message.reply_text(done)
    return await _show_next(update, context, lang, task)


@_step
async def target_hint_msg(update: Update, context: Ctx, actor: Actor, lang: str, state: dict[str, Any]) -> object:
    await update.effective_message.reply_text(t("entry.press_target", lang))
    return None


@_step
async def confirm_hint_msg(update: Update, context: Ctx, actor: Actor, lang: str, state: dict[str, Any]) -> object:
    """Text at the summary (or the problem list): a note on the item answered just before, and the summary again
    to show it; with no such item, the hint."""
    if isinstance(state.get("last"), int):
        task = await _typed_note(update, context, actor, lang, state)
        return await _show_next(update, context, lang, task) if task is not None else None
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

