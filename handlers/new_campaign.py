"""/new — guided campaign creation (SPEC §4), a leader in a private chat; the same plan a plan file gives
(`python -m bot campaign create`), checked by the same code (bot.services.campaigns). /campaigns is
handlers.campaign_list.

Slightly longer than the ~400 lines a handler module keeps to, on purpose: one flow of eight steps (title,
departments, items per department, scope, sampling, window, confirmation) that reads top to bottom; the
multiple-choice lists are handlers.choice_list and the plan is built and checked by bot.services.campaigns.

The draft lives in the leader's own `user_data` (persisted as JSON), so a restart loses nothing. Buttons carry
only an index into the option lists kept in that draft (`new:dep:3`), plus the id of the message they belong to
is remembered: a button from another message, a forged index or a stale step changes nothing. Names and ids are
checked against the database again when the campaign is created, and every step checks the caller's role.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import unicodedata
from enum import IntEnum
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from bot.rules import drawalgo
from bot.services import campaigns
from bot.runtime.app import Ctx
from bot.services.identity import Actor
from bot.texts import join_list, t
from handlers.common import answer_query, draft_step, permitted, refuse
from handlers import choice_list
from handlers.toolkit import Draft, cancel_flow, conversation, drop_buttons, edit, unit_of_work
from handlers.common import prompt as _prompt
from handlers.common import stale as _stale
from models import Department

DRAFT = "new_campaign"  # key in user_data
MAX_MESSAGE = 3800  # below Telegram's 4096, with room for the header
END = ConversationHandler.END


class NewState(IntEnum):
    """What the bot waits for in /new."""

    TYPING_TITLE = 1
    CHOOSING_DEPARTMENTS = 2
    CHOOSING_ITEMS = 3
    CHOOSING_SCOPE = 4
    CHOOSING_SAMPLING = 5
    TYPING_SAMPLING = 6
    TYPING_WINDOW = 7
    CONFIRMING = 8



# ------------------------------------------------------------------------------------------------ helpers

# A step of /new: the caller may still use /new, the draft exists and is not idle too long.
_step = draft_step(DRAFT, "new", "new.expired")


# ------------------------------------------------------------------------------------------------ /new

@permitted("new")
async def new_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> int:
    """/new — start (or restart) the guided campaign creation."""
    now = time.time()
    context.user_data[DRAFT] = {"started": now, "touched": now}
    await update.effective_message.reply_text(t("new.start", lang))
    return NewState.TYPING_TITLE


@_step
async def title_msg(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    title = (update.effective_message.text or "").strip()
    if not title or len(title) > 300:
        await update.effective_message.reply_text(t("new.bad_title", lang, max=300))
        return None
    with context.sessions.begin() as session:
        rows = campaigns.department_options(session)
    if not rows:
        context.user_data.pop(DRAFT, None)
        await update.effective_message.reply_text(t("new.no_departments", lang))
        return END
    draft["title"] = title
    draft["deps"] = choice_list.new([i for i, _ in rows], [name for _, name in rows])
    await _prompt(update, draft, _departments_text(draft, lang), choice_list.keyboard("dep", draft["deps"], lang,
                                                                                  lead=True))
    return NewState.CHOOSING_DEPARTMENTS


def _departments_text(draft: Draft, lang: str) -> str:
    lst = draft["deps"]
    chosen = [f"{n}. {name}" + (t("new.lead_mark", lang) if n == 1 else "")
              for n, name in enumerate(choice_list.chosen_labels(lst), 1)]
    return t("new.departments_prompt", lang, title=draft["title"],
             selected=" ".join(chosen) if chosen else t("new.nothing", lang))


@_step
async def departments_callback(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    lst = draft["deps"]
    action = choice_list.apply(update, "dep", lst, draft)
    if action is None:
        await _stale(update, lang)
        return None
    if action == "changed":
        await answer_query(update.callback_query)
        await edit(update, _departments_text(draft, lang), choice_list.keyboard("dep", lst, lang, lead=True))
        return None

    if not lst["sel"]:
        await refuse(update, t("new.need_department", lang))
        return None
    per = context.cfg.rules.inspectors_per_department
    if drawalgo.too_few_inspectors(per, len(lst["sel"])):  # seed 细则 十 (bot.rules.drawalgo)
        await refuse(update, t("new.need_inspectors", lang, per=per, n=drawalgo.departments_needed(per),
                               min=drawalgo.MIN_INSPECTORS_PER_GROUP))
        return None
    dept_ids = [lst["ids"][i] for i in lst["sel"]]
    with context.sessions.begin() as session:
        by_dept = campaigns.items_by_department(session, dept_ids)
    empty = [lst["labels"][i] for i in lst["sel"] if not by_dept[lst["ids"][i]]]
    if empty:
        await answer_query(update.callback_query)
        await update.effective_message.reply_text(t("new.departments_without_items", lang,
                                                    departments=join_list(empty, lang)))
        return None
    draft["items"] = {str(d): choice_list.new([i for i, _ in rows], [name for _, name in rows])
                      for d, rows in by_dept.items()}
    draft["dept_ids"] = dept_ids
    draft["dept_names"] = choice_list.chosen_labels(lst)
    draft["cur"] = 0
    await answer_query(update.callback_query)
    names = [name + (t("new.lead_mark", lang) if n == 0 else "") for n, name in enumerate(draft["dept_names"])]
    await edit(update, t("new.departments_chosen", lang, departments=join_list(names, lang)))
    await _prompt_items(update, draft, lang)
    return NewState.CHOOSING_ITEMS


def _current_items(draft: Draft) -> dict[str, Any]:
    return draft["items"][str(draft["dept_ids"][draft["cur"]])]


def _items_text(draft: Draft, lang: str) -> str:
    return t("new.items_prompt", lang, n=draft["cur"] + 1, total=len(draft["dept_ids"]),
             department=draft["dept_names"][draft["cur"]], count=len(_current_items(draft)["sel"]))


async def _prompt_items(update: Update, draft: Draft, lang: str) -> None:
    await _prompt(update, draft, _items_text(draft, lang), choice_list.keyboard("item", _current_items(draft), lang))


@_step
async def items_callback(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    lst = _current_items(draft)
    action = choice_list.apply(update, "item", lst, draft)
    if action is None:
        await _stale(update, lang)
        return None
    if action == "changed":
        await answer_query(update.callback_query)
        await edit(update, _items_text(draft, lang), choice_list.keyboard("item", lst, lang))
        return None
    department = draft["dept_names"][draft["cur"]]
    if not lst["sel"]:
        await refuse(update, t("new.need_item", lang, department=department))
        return None
    await answer_query(update.callback_query)
    await edit(update, t("new.items_chosen", lang, department=department, items=join_list(choice_list.chosen_labels(lst), lang)))
    draft["cur"] += 1
    if draft["cur"] < len(draft["dept_ids"]):
        await _prompt_items(update, draft, lang)
        return None

    with context.sessions.begin() as session:
        rows = campaigns.drawable_by_industry(session)  # the pool a draw would see
    if not rows:
        context.user_data.pop(DRAFT, None)
        await update.effective_message.reply_text(t("new.no_scope", lang))
        return END
    draft["scope"] = choice_list.new([name for name, _ in rows], [f"{name}（{n}）" for name, n in rows],
                               counts=[n for _, n in rows])
    await _prompt(update, draft, _scope_text(draft, lang), choice_list.keyboard("scope", draft["scope"], lang))
    return NewState.CHOOSING_SCOPE


def _scope_text(draft: Draft, lang: str) -> str:
    chosen = [draft["scope"]["ids"][i] for i in draft["scope"]["sel"]]
    return t("new.scope_prompt", lang, selected=join_list(chosen, lang) if chosen else t("new.nothing", lang))


@_step
async def scope_callback(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    lst = draft["scope"]
    action = choice_list.apply(update, "scope", lst, draft)
    if action is None:
        await _stale(update, lang)
        return None
    if action == "changed":
        await answer_query(update.callback_query)
        await edit(update, _scope_text(draft, lang), choice_list.keyboard("scope", lst, lang))
        return None
    if not lst["sel"]:
        await refuse(update, t("new.need_scope", lang))
        return None
    scope = [lst["ids"][i] for i in lst["sel"]]
    with context.sessions.begin() as session:
        draft["class_counts"] = campaigns.drawable_by_class(session, scope)
    draft["pool"] = sum(draft["class_counts"].values())
    await answer_query(update.callback_query)
    await edit(update, t("new.scope_chosen", lang, scope=join_list(scope, lang), count=draft["pool"]))
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(t(f"new.mode.{m}", lang), callback_data=f"new:mode:{m}")
                                    for m in ("ratio", "count", "class")]])
    await _prompt(update, draft, t("new.sampling_prompt", lang), markup)
    return NewState.CHOOSING_SAMPLING


def _ask_class_text(draft: Draft, lang: str) -> str:
    i = draft["ci"]
    classes = draft.setdefault("classes", list(campaigns.CREDIT_CLASSES))  # a draft saved before [credit]
    cls = classes[i]
    return t("new.ask_class", lang, n=i + 1, total=len(classes), cls=campaigns.class_label(cls, lang),
             count=draft["class_counts"].get(cls, 0))


@_step
async def sampling_callback(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    query = update.callback_query
    mode = (query.data or "").removeprefix("new:mode:")
    if mode not in ("ratio", "count", "class") or query.message is None or \
            query.message.message_id != draft.get("msg"):
        await _stale(update, lang)
        return None
    draft["mode"] = mode
    draft["sampling"] = {"by_class": {}} if mode == "class" else {}
    draft["ci"] = 0
    draft["classes"] = list(campaigns.plan_classes(context.cfg.credit_scheme))  # one ratio per configured class
    await answer_query(query)
    await edit(update, t("new.mode_chosen", lang, mode=t(f"new.mode.{mode}", lang)))
    if mode == "class":
        text = _ask_class_text(draft, lang)
    else:
        text = t(f"new.ask_{mode}", lang, count=draft.get("pool", 0))
    await update.effective_message.reply_text(text)
    return NewState.TYPING_SAMPLING


@_step
async def sampling_msg(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    text = (update.effective_message.text or "").strip()
    mode = draft.get("mode")
    reply = update.effective_message.reply_text
    if mode == "count":
        count = campaigns.parse_count(text)
        if count is None:
            await reply(t("new.bad_count", lang, value=text))
            return None
        draft["sampling"] = {"count": count}
    else:
        ratio = campaigns.parse_ratio(text)
        if ratio is None:
            await reply(t("new.bad_ratio", lang, value=text))
            return None
        if mode == "class":
            draft.setdefault("classes", list(campaigns.CREDIT_CLASSES))
            draft["sampling"]["by_class"][draft["classes"][draft["ci"]]] = campaigns.ratio_text(ratio)
            draft["ci"] += 1
            if draft["ci"] < len(draft["classes"]):
                await reply(_ask_class_text(draft, lang))
                return None
        else:
            draft["sampling"] = {"ratio": campaigns.ratio_text(ratio)}
    await reply(t("new.sampling_chosen", lang, sampling=campaigns.sampling_text(draft["sampling"], lang)) + "\n\n"
                + t("new.window_prompt", lang))
    return NewState.TYPING_WINDOW


_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


def parse_dates(text: str) -> list[dt.date] | None:
    """Dates written as 2022-09-26, 2022/9/26, 2022.9.26 or 2022年9月26日 (full-width digits allowed);
    None if one of them is not a real date."""
    text = unicodedata.normalize("NFKC", text)
    out = []
    for y, m, d in _DATE.findall(text):
        try:
            day = dt.date(int(y), int(m), int(d))
        except ValueError:
            return None
        if not campaigns.MIN_YEAR <= day.year <= campaigns.MAX_YEAR:
            return None
        out.append(day)
    return out


@_step
async def window_msg(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    text = (update.effective_message.text or "").strip()
    reply = update.effective_message.reply_text
    dates = parse_dates(text)
    if not dates or len(dates) > 2:
        await reply(t("new.bad_window", lang, value=text))
        return None
    if len(dates) == 1:
        if not draft.get("wstart"):  # two steps: the start now, the end next
            draft["wstart"] = dates[0].isoformat()
            await reply(t("new.ask_window_end", lang, start=dates[0].isoformat()))
            return None
        dates = [dt.date.fromisoformat(draft["wstart"]), dates[0]]
    start, end = dates
    draft.pop("wstart", None)
    if start > end:
        await reply(t("new.window_order", lang, start=start.isoformat(), end=end.isoformat()))
        return None
    draft["window"] = [start.isoformat(), end.isoformat()]
    with context.sessions.begin() as session:
        summary = _summary_text(session, context, draft, lang)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(t("new.confirm_button", lang), callback_data="new:ok"),
                                    InlineKeyboardButton(t("new.cancel_button", lang), callback_data="new:cancel")]])
    await _prompt(update, draft, summary, markup)
    return NewState.CONFIRMING


def _summary_text(session, context: Ctx, draft: Draft, lang: str) -> str:
    cfg = context.cfg
    start, end = (dt.date.fromisoformat(d) for d in draft["window"])
    lead = session.get(Department, draft["dept_ids"][0])
    number = campaigns.preview_number(session, lead, start.year) if lead else "—"
    deadlines = campaigns.compute_deadlines(end, cfg)
    lines = []
    for n, (did, name) in enumerate(zip(draft["dept_ids"], draft["dept_names"]), 1):
        items = choice_list.chosen_labels(draft["items"][str(did)])
        lines.append(t("new.summary_department", lang, n=n, department=name,
                       lead=t("new.lead_mark", lang) if n == 1 else "", items=join_list(items, lang)))
    scope = [draft["scope"]["ids"][i] for i in draft["scope"]["sel"]]
    return t("new.summary", lang, title=draft["title"], number=number, lead=draft["dept_names"][0],
             departments="\n".join(lines), scope=join_list(scope, lang),
             sampling=campaigns.sampling_text(draft["sampling"], lang),
             per=cfg.rules.inspectors_per_department, groups=t("campaign.groups.all", lang),
             start=start.isoformat(), end=end.isoformat(),
             results_due=campaigns.date_text(deadlines.results_due, deadlines.results_provisional, lang),
             publication_due=campaigns.date_text(deadlines.publication_due, deadlines.publication_provisional,
                                                 lang))


def _plan_from_draft(session, draft: Draft, lang: str) -> dict[str, Any]:
    """The plan of SPEC §4 from the draft's choices, its ids re-read from the database now."""
    start, end = (dt.date.fromisoformat(d) for d in draft["window"])
    return campaigns.plan_from_choices(
        session, title=draft["title"], department_ids=draft["dept_ids"],
        item_ids={did: [draft["items"][str(did)]["ids"][i] for i in draft["items"][str(did)]["sel"]]
                  for did in draft["dept_ids"]},
        scope=[draft["scope"]["ids"][i] for i in draft["scope"]["sel"]], start=start, end=end,
        sampling=draft["sampling"], lang=lang)


@_step
async def confirm_callback(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    query = update.callback_query
    if query.data != "new:ok" or query.message is None or query.message.message_id != draft.get("msg"):
        await _stale(update, lang)
        return None
    await answer_query(query)
    try:
        with unit_of_work(update, context) as session:  # a re-delivered 创建 after a crash creates nothing twice
            plan = _plan_from_draft(session, draft, lang)
            outcome = campaigns.create_campaign(
                session, plan, cfg=context.cfg, actor=actor.label, lang=lang,
                created_by_person_id=actor.person.id if actor.person else None)
            c = outcome.campaign
            res, pub = campaigns.provisional_marks(c, context.cfg)
            text = t("new.created", lang, number=c.number, title=c.title, id=c.id,
                     results_due=campaigns.date_text(c.results_due, res, lang),
                     publication_due=campaigns.date_text(c.publication_due, pub, lang))
            if outcome.warnings:
                text += "\n\n" + t("new.warnings", lang) + "\n" + "\n".join(f"• {w}" for w in outcome.warnings)
    except campaigns.PlanError as exc:
        text = t("new.failed", lang, error=str(exc))
    context.user_data.pop(DRAFT, None)
    await drop_buttons(update)
    await update.effective_message.reply_text(text)
    return END


@_step
async def press_button_msg(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
    """Text typed where a button is expected: say so, change nothing."""
    await update.effective_message.reply_text(t("new.press_button", lang))
    return None


@permitted("cancel")
async def cancel_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> int:
    """/cancel or the 取消 button: drop the draft, change nothing."""
    return await cancel_flow(update, context, lang, DRAFT, "new.cancelled")


def new_conversation() -> ConversationHandler:
    """/new: title → departments (toggle; the first chosen leads) → items of each department (toggle) → scope
    (toggle) → sampling (按比例 / 按数量 / 按信用分类, then typed numbers) → window (typed) → 确认创建 / 取消.
    /cancel at any step; 30 idle minutes end it."""
    text = filters.TEXT & ~filters.COMMAND
    buttons_only = MessageHandler(text, press_button_msg)
    return conversation(
        "new_campaign",
        entry_points=[CommandHandler("new", new_cmd)],
        states={
            NewState.TYPING_TITLE: [MessageHandler(text, title_msg)],
            NewState.CHOOSING_DEPARTMENTS: [CallbackQueryHandler(departments_callback, pattern=r"^new:dep:"),
                                            buttons_only],
            NewState.CHOOSING_ITEMS: [CallbackQueryHandler(items_callback, pattern=r"^new:item:"), buttons_only],
            NewState.CHOOSING_SCOPE: [CallbackQueryHandler(scope_callback, pattern=r"^new:scope:"),
                                      buttons_only],
            NewState.CHOOSING_SAMPLING: [CallbackQueryHandler(sampling_callback, pattern=r"^new:mode:"),
                                         buttons_only],
            NewState.TYPING_SAMPLING: [MessageHandler(text, sampling_msg)],
            NewState.TYPING_WINDOW: [MessageHandler(text, window_msg)],
            NewState.CONFIRMING: [CallbackQueryHandler(confirm_callback, pattern=r"^new:ok$"), buttons_only],
        },
        fallbacks=[CommandHandler("cancel", cancel_cmd),
                   CallbackQueryHandler(cancel_cmd, pattern=r"^new:cancel$")],
        allow_reentry=True,
    )
