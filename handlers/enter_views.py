"""What /enter shows (handlers.enter): the texts and buttons of each step, from a task of
bot.services.result_entry and the configured code set. Pure: no database, no sending; callback data as listed in
handlers.enter's docstring, all ≤ 64 bytes."""

from __future__ import annotations

import datetime as dt

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.rules.codes import CodeSet
from bot.services import result_entry
from bot.texts import t
from handlers.toolkit import page_buttons, page_of, short

PAGE_SIZE = 8
DATE_COLUMNS = 3  # SPEC §11: at most 3 buttons to a row
DATES_PER_PAGE = 9  # with ‹ › and back: 12 buttons
NAME_MAX = 28  # characters of a target or item name on a button


def short_name(text: str, limit: int = NAME_MAX) -> str:
    return short(text, limit)


def codes_markup(task: result_entry.TargetTask, item_id: int, codes: CodeSet, lang: str, *,
                 note_for: result_entry.ItemState | None = None, shortcuts: bool = False) -> InlineKeyboardMarkup:
    """One button per code, its text beginning with the code number; then ‹ 返回. On a target nobody has answered
    yet (`shortcuts`) the two fast paths come first: 全部「1 未发现问题」 and 标记问题事项. `note_for`: the item
    just answered, which gets a 备注 button (a note without a detour)."""
    gt = task.group_target_id
    rows = []
    if shortcuts and codes.clean is not None:
        rows.append([InlineKeyboardButton(t("entry.all_clean_button", lang, code=codes.show(codes.clean)),
                                          callback_data=f"ent:all:{gt}:{task.department_id}")])
        rows.append([InlineKeyboardButton(t("entry.problems_first_button", lang), callback_data=f"ent:pp:{gt}")])
    rows += [[InlineKeyboardButton(short_name(codes.show(code), 40), callback_data=f"ent:c:{gt}:{item_id}:{code}")]
             for code in codes.codes]
    last = [InlineKeyboardButton(t("entry.back_button", lang), callback_data="ent:b")]
    if note_for is not None:
        last.insert(0, InlineKeyboardButton(t("entry.note_button", lang, n=task.position(note_for.item_id)),
                                            callback_data=f"ent:n:{gt}:{note_for.item_id}"))
    rows.append(last)
    return InlineKeyboardMarkup(rows)


def item_text(task: result_entry.TargetTask, item: result_entry.ItemState, codes: CodeSet, lang: str, *,
              previous: result_entry.ItemState | None = None) -> str:
    """The question for one item; `previous`: the item just answered, confirmed on the first line."""
    current = t("entry.item_current", lang, answer=result_entry.code_text(item.code, codes)) if item.code else ""
    done = t("entry.previous_done", lang, n=task.position(previous.item_id), item=previous.name,
             answer=result_entry.code_text(previous.code, codes)) if previous is not None else ""
    return done + t("entry.item_prompt", lang, target=task.target_name, n=task.position(item.item_id), total=task.total,
             department=task.department_name, item=item.name, content=item.content or "—", current=current)


def note_view(task: result_entry.TargetTask, item: result_entry.ItemState, codes: CodeSet,
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


def done_text(task: result_entry.TargetTask, item: result_entry.ItemState, codes: CodeSet, lang: str) -> str:
    """What an answered item's message turns into once its note is given or skipped (buttons gone)."""
    answer = result_entry.code_text(item.code, codes)
    n = task.position(item.item_id)
    if item.note:
        return t("entry.noted", lang, n=n, total=task.total, item=item.name, answer=answer, note=item.note)
    return t("entry.note_skipped", lang, n=n, total=task.total, item=item.name, answer=answer)


def summary_view(task: result_entry.TargetTask, codes: CodeSet, lang: str,
                  today: dt.date) -> tuple[str, InlineKeyboardMarkup]:
    gt = task.group_target_id
    day = task.inspection_date(today)
    default = "" if task.chosen_date == day else t("entry.date_default", lang)
    text = t("entry.summary", lang, target=task.target_name, department=task.department_name,
             lines=result_entry.result_lines(task, codes, lang), date=day.isoformat(), default=default,
             result=result_entry.department_result(task.codes),
             problem=t("entry.problem_mark", lang) if codes.has_problem(task.codes) else "")
    if task.bulk_items:  # nobody submits a bulk fill by accident: it says so, and how to change an item
        text += "\n\n" + t("entry.bulk_notice", lang, count=len(task.bulk_items), total=task.total,
                             code=codes.show(codes.clean) if codes.clean is not None else "—")
    markup = InlineKeyboardMarkup([
        [InlineKeyboardButton(t("entry.submit_button", lang), callback_data=f"ent:ok:{gt}"),
         InlineKeyboardButton(t("entry.edit_button", lang), callback_data=f"ent:ed:{gt}")],
        [InlineKeyboardButton(t("entry.date_button", lang), callback_data=f"ent:dt:{gt}")],
        [InlineKeyboardButton(t("entry.back_button", lang), callback_data="ent:b")],
    ])
    return text, markup


def list_view(tasks: list[result_entry.TargetTask], page: int, lang: str) -> tuple[str, InlineKeyboardMarkup | None]:
    pending = [task for task in tasks if not task.submitted]
    several_groups = len({(task.campaign_id, task.group_id) for task in tasks}) > 1
    departments = "、".join(dict.fromkeys(task.department_name for task in tasks))
    pages = max(1, -(-len(tasks) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    rows = []
    for task in tasks[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]:
        prefix = t("entry.group_prefix", lang, group=task.group_number) if several_groups else ""
        name = short_name(task.target_name)
        label = t("entry.target_done", lang, prefix=prefix, name=name) if task.submitted else \
            t("entry.target_button", lang, prefix=prefix, name=name, answered=task.answered, total=task.total)
        rows.append([InlineKeyboardButton(label, callback_data=f"ent:t:{task.group_target_id}")])
    nav = page_buttons(page, pages, "ent:p:{page}", lang, first=0)
    if nav:
        rows.append(nav)
    key = "entry.choose_target" if pending else "entry.all_submitted"
    text = t(key, lang, department=departments, pending=len(pending), total=len(tasks))
    if pages > 1:
        text += "\n" + t("entry.page", lang, page=page + 1, pages=pages)
    return text, InlineKeyboardMarkup(rows)


def date_view(task: result_entry.TargetTask, lang: str, today: dt.date,
              page: int | None = None) -> tuple[str, InlineKeyboardMarkup]:
    """The days of the window up to today, DATES_PER_PAGE a page (3 to a row) with ‹ › and back: within SPEC §11's
    portable subset (12 buttons, 3 a row). Without `page`, the page holding the current date."""
    gt = task.group_target_id
    current = task.inspection_date(today)
    choices = result_entry.date_choices(task.window_start, task.window_end, today)
    if page is None:
        page = choices.index(current) // DATES_PER_PAGE + 1 if current in choices else -(-len(choices) // DATES_PER_PAGE)
    shown, page, pages = page_of(choices, page, DATES_PER_PAGE)
    buttons = [InlineKeyboardButton(("✓ " if d == current else "") + d.strftime("%m-%d"),
                                    callback_data=f"ent:dd:{gt}:{d.strftime('%Y%m%d')}") for d in shown]
    rows = [buttons[i:i + DATE_COLUMNS] for i in range(0, len(buttons), DATE_COLUMNS)]
    nav = page_buttons(page, pages, f"ent:dp:{gt}:{{page}}", lang)
    if nav:
        rows.append(nav)
    rows.append([InlineKeyboardButton(t("entry.summary_back_button", lang), callback_data=f"ent:v:{gt}")])
    text = t("entry.pick_date", lang, target=task.target_name, start=task.window_start.isoformat(),
             end=task.window_end.isoformat(), date=current.isoformat())
    if pages > 1:
        text += "\n" + t("page.of", lang, page=page, pages=pages)
    return text, InlineKeyboardMarkup(rows)


def pick_item_view(task: result_entry.TargetTask, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    gt = task.group_target_id
    rows = [[InlineKeyboardButton(t("entry.pick_item_button", lang, n=n, item=short_name(item.name),
                                    code=item.code if item.code is not None else "—"),
                                  callback_data=f"ent:e:{gt}:{item.item_id}")]
            for n, item in enumerate(task.items, 1)]
    rows.append([InlineKeyboardButton(t("entry.summary_back_button", lang), callback_data=f"ent:v:{gt}")])
    return t("entry.pick_item", lang, target=task.target_name), InlineKeyboardMarkup(rows)


def problems_view(task: result_entry.TargetTask, codes: CodeSet, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    """标记问题事项: the items as buttons — pick those that had a problem (code and description each) — then
    其余全部「1 未发现问题」 fills the others."""
    gt = task.group_target_id
    rows = [[InlineKeyboardButton(t("entry.pick_item_button", lang, n=n, item=short_name(item.name),
                                    code=item.code if item.code is not None else "—"),
                                  callback_data=f"ent:e:{gt}:{item.item_id}")]
            for n, item in enumerate(task.items, 1)]
    if codes.clean is not None:
        rows.append([InlineKeyboardButton(t("entry.rest_clean_button", lang, code=codes.show(codes.clean)),
                                          callback_data=f"ent:all:{gt}:{task.department_id}")])
    rows.append([InlineKeyboardButton(t("entry.back_button", lang), callback_data="ent:b")])
    marked = [i for i in task.items if i.code is not None]
    return t("entry.problems_prompt", lang, target=task.target_name, department=task.department_name,
             marked=len(marked), total=task.total,
             code=codes.show(codes.clean) if codes.clean is not None else "—"), InlineKeyboardMarkup(rows)
