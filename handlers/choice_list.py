"""A multiple choice kept in a guided flow's draft (/new's departments, items and scope): the options' ids and
labels, the chosen indexes in the order chosen, the page shown. Buttons carry only an index into the draft's
lists (`new:dep:3`, `new:dep:p1`, `new:dep:done`), so no name or id in callback data is ever trusted; a press
from another message than the draft's last prompt is stale."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.texts import t
from handlers.toolkit import page_buttons

PAGE_SIZE = 9  # with ‹ › and 完成: 12 buttons, the most a 钉钉 card takes comfortably (SPEC §11)


def new(ids: list[Any], labels: list[str], **extra: Any) -> dict[str, Any]:
    return {"ids": ids, "labels": labels, "sel": [], "page": 0, **extra}


def pages(lst: dict[str, Any]) -> int:
    return max(1, -(-len(lst["ids"]) // PAGE_SIZE))


def keyboard(kind: str, lst: dict[str, Any], lang: str, *, lead: bool = False) -> InlineKeyboardMarkup:
    """One button per option on the current page (✅ when chosen), paging, and 完成."""
    rows: list[list[InlineKeyboardButton]] = []
    start = lst["page"] * PAGE_SIZE
    for i in range(start, min(len(lst["ids"]), start + PAGE_SIZE)):
        label = lst["labels"][i]
        if i in lst["sel"]:
            label = "✅ " + label
            if lead and lst["sel"][0] == i:
                label += t("new.lead_mark", lang)
        rows.append([InlineKeyboardButton(label[:120], callback_data=f"new:{kind}:{i}")])
    nav = page_buttons(lst["page"], pages(lst), f"new:{kind}:p{{page}}", lang, first=0)
    if nav:
        rows.append(nav)
    rows.append([InlineKeyboardButton(t("new.done_button", lang), callback_data=f"new:{kind}:done")])
    return InlineKeyboardMarkup(rows)


def apply(update: Update, kind: str, lst: dict[str, Any], draft: dict[str, Any]) -> str | None:
    """Apply a toggle or paging press to `lst`. Returns "done", "changed", or None for a stale/forged press."""
    query = update.callback_query
    if query.message is None or query.message.message_id != draft.get("msg"):
        return None
    prefix = f"new:{kind}:"
    data = query.data or ""
    if not data.startswith(prefix):
        return None
    arg = data[len(prefix):]
    if arg == "done":
        return "done"
    if arg.startswith("p") and arg[1:].isdigit():
        page = int(arg[1:])
        if page >= pages(lst):
            return None
        lst["page"] = page
        return "changed"
    if arg.isdigit() and int(arg) < len(lst["ids"]):
        i = int(arg)
        if i in lst["sel"]:
            lst["sel"].remove(i)
        else:
            lst["sel"].append(i)
        return "changed"
    return None


def chosen_labels(lst: dict[str, Any]) -> list[str]:
    return [lst["labels"][i] for i in lst["sel"]]
