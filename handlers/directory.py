"""/targets QUERY, /people [QUERY], /items [QUERY] — search the directories, paged with inline buttons.

Callback data is `dir:<kind>:<page>:<token>`; the query behind `token` is kept in the user's own data, so a
button copied from someone else's message finds nothing and changes nothing.
"""

from __future__ import annotations

import hashlib

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.rules import permissions
from bot.services import directory_search
from bot.runtime.app import Ctx
from bot.services.identity import Actor
from bot.texts import t
from handlers.toolkit import page_buttons
from handlers.common import answer_query, permitted, refuse, role_labels

KINDS = ("targets", "people", "items")
_QUERIES = "dir_queries"


def _render(kind: str, session, query: str, page: int, lang: str) -> tuple[str, directory_search.Page]:
    if kind == "targets":
        result = directory_search.search_targets(session, query, page)
        lines = [t("dir.targets_title", lang, query=query)]
        for n, row in enumerate(result.rows, start=(result.page - 1) * directory_search.PAGE_SIZE + 1):
            lines.append(t("dir.target_line", lang, n=n, name=row.name, uscc=row.uscc,
                           regno=t("dir.regno", lang) if row.is_regno else "", industry=row.industry,
                           credit=row.credit_class or t("dir.unclassified", lang), status=row.status,
                           address=row.address))
    elif kind == "people":
        result = directory_search.list_people(session, query, page)
        lines = [t("dir.people_title", lang, query=f"“{query}”" if query else "")]
        for n, p in enumerate(result.rows, start=(result.page - 1) * directory_search.PAGE_SIZE + 1):
            cert = t("dir.person_cert", lang, cert=p.cert_no,
                     expiry=p.cert_expiry.isoformat() if p.cert_expiry else "—") if p.cert_no else ""
            bound = t("dir.person_bound", lang) if p.telegram_user_id else ""
            if not p.active:
                bound += t("dir.person_inactive", lang)
            lines.append(t("dir.person_line", lang, n=n, name=p.name, department=p.department.label,
                           roles=role_labels(p.role_set, lang), cert=cert, bound=bound))
    else:
        result = directory_search.list_items(session, query, page)
        lines = [t("dir.items_title", lang, query=f"“{query}”" if query else "")]
        for n, item in enumerate(result.rows, start=(result.page - 1) * directory_search.PAGE_SIZE + 1):
            lines.append(t("dir.item_line", lang, n=n, department=item.department.label, name=item.name))
    if not result.total:
        return t("dir.no_results", lang), result
    lines.append(t("dir.page", lang, page=result.page, pages=result.pages, total=result.total))
    return "\n".join(lines), result


def _keyboard(kind: str, token: str, result: directory_search.Page, lang: str) -> InlineKeyboardMarkup | None:
    buttons = page_buttons(result.page, result.pages, f"dir:{kind}:{{page}}:{token}", lang)
    return InlineKeyboardMarkup([buttons]) if buttons else None


def _remember(context: Ctx, query: str) -> str:
    token = hashlib.sha1(query.encode("utf-8")).hexdigest()[:10]
    queries = context.user_data.setdefault(_QUERIES, {})
    queries[token] = query
    if len(queries) > 50:  # keep the stored map small
        for old in list(queries)[:-50]:
            del queries[old]
    return token


async def _show(update: Update, context: Ctx, kind: str, query: str, lang: str) -> None:
    with context.sessions.begin() as session:
        text, result = _render(kind, session, query, 1, lang)
    token = _remember(context, query)
    await update.effective_message.reply_text(text, reply_markup=_keyboard(kind, token, result, lang))


@permitted("targets")
async def targets_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    query = " ".join(context.args or []).strip()
    if not query:
        await update.effective_message.reply_text(t("dir.targets_usage", lang))
        return
    await _show(update, context, "targets", query, lang)


@permitted("people")
async def people_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    await _show(update, context, "people", " ".join(context.args or []).strip(), lang)


@permitted("items")
async def items_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    await _show(update, context, "items", " ".join(context.args or []).strip(), lang)


@permitted("dir:")
async def page_callback(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    query_obj = update.callback_query
    parts = (query_obj.data or "").split(":")
    if len(parts) != 4 or parts[1] not in KINDS or not parts[2].isdigit():
        await refuse(update, t("error.stale_button", lang))
        return
    kind, page, token = parts[1], int(parts[2]), parts[3]
    if kind == "people" and not permissions.permission("people").allows(actor.roles):  # the roster's readers
        await refuse(update, t("error.stale_button", lang))
        return
    query = context.user_data.get(_QUERIES, {}).get(token)
    if query is None:
        await refuse(update, t("error.stale_button", lang))
        return
    with context.sessions.begin() as session:
        text, result = _render(kind, session, query, page, lang)
    await answer_query(query_obj)
    try:
        await query_obj.edit_message_text(text, reply_markup=_keyboard(kind, token, result, lang))
    except BadRequest as exc:  # "message is not modified" when a button is pressed twice
        if "not modified" not in str(exc).lower():
            raise
