"""The plumbing every handler shares, so that a handler reads parse → service → reply:

- `unit_of_work(update, context)`: the update's one transaction; it marks the update processed inside that
  transaction (bot.runtime.exactly_once), so a handler that writes cannot forget to — a crash before the commit
  re-delivers the update, a crash after it drops the re-delivery.
- `refused(update, lang, exc)`: the one way to answer a `Refusal` (bot.services.refusal) — an alert on a button, a
  reply to a message.
- `edit` / `drop_buttons`: replace the pressed message (a press twice is not an error); `send`.
- `page_of` / `page_buttons`: one page of a long list and its ‹ › buttons.
- `conversation(...)`: the factory every guided flow is built with (persistent, named, its steps gated to the
  user's active flow), and `one_flow_at_a_time`, which makes a flow's command the user's active flow.

One flow at a time. All conversations sit in group 0, and while one waits for typed text it would take every text
message: a second flow started meanwhile would have its answers eaten by the first. So a flow's command makes
that flow the user's active one (`user_data["flow"]`, persisted with the rest of the user's data) and drops the
other flows' drafts; every step and fallback of a conversation is gated on its flow being the active one (or none
being recorded), so the earlier flow's handlers stand aside. This uses only PTB's public API (a handler subclass
and `Application.user_data`); the earlier version ended the other conversations through a private attribute of
ConversationHandler.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import warnings
from contextlib import contextmanager
from typing import Any, Iterator, Sequence, TypeVar

from sqlalchemy.orm import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import BaseHandler, ConversationHandler, TypeHandler
from telegram.warnings import PTBUserWarning

from bot.runtime import exactly_once
from bot.runtime.app import Ctx
from bot.services.identity import Actor
from bot.services.refusal import Refusal
from bot.texts import t
from handlers.common import answer_query, refuse
from models import Person

log = logging.getLogger(__name__)

T = TypeVar("T")
Draft = dict[str, Any]  # a guided flow's draft in the user's own data (persisted as JSON)
END = ConversationHandler.END
MAX_BUTTONS = 90  # Telegram allows 100 buttons per keyboard
ACTIVE_FLOW = "flow"  # user_data key: the conversation the user last started by its command


# --- the unit of work -----------------------------------------------------------------------------------------

@contextmanager
def unit_of_work(update: Update, context: Ctx) -> Iterator[Session]:
    """`with unit_of_work(update, context) as session:` — one transaction for the update; on a normal exit the
    update is marked processed in it, then committed. An exception (a Refusal included) rolls everything back and
    marks nothing. Never await the messenger inside it (tests/unit/test_no_await_in_transaction.py)."""
    with context.sessions.begin() as session:
        yield session
        exactly_once.mark_processed(session, update.update_id)


async def refused(update: Update, lang: str, exc: Refusal) -> None:
    await refuse(update, exc.text(lang))


# --- parsing a press ------------------------------------------------------------------------------------------

def from_prompt(update: Update, draft: dict) -> bool:
    """The pressed button belongs to the message this flow's draft last sent (`draft["msg"]`), not an older one."""
    query = update.callback_query
    return query is not None and query.message is not None and query.message.message_id == draft.get("msg")


def callback_parts(update: Update, prefix: str, n: int) -> list[str] | None:
    """`prefix:a:b` → ["a", "b"] when the pressed button's data has n parts after the prefix, else None."""
    data = update.callback_query.data or ""
    if not data.startswith(prefix + ":"):
        return None
    parts = data[len(prefix) + 1:].split(":")
    return parts if len(parts) == n else None


def ints(values: list[str]) -> list[int] | None:
    """The parts as ids, or None when one is not a plain ASCII number (forged data)."""
    return [int(v) for v in values] if all(v.isascii() and v.isdigit() and len(v) < 12 for v in values) else None


def pressed_ids(update: Update, draft: dict, prefix: str, n: int) -> list[int] | None:
    """The n ids of a `prefix:<id>…` press on the draft's live prompt; None for a forged press or one on another
    message (the caller answers it as stale)."""
    parts = callback_parts(update, prefix, n)
    ids = ints(parts) if parts else None
    return ids if ids is not None and from_prompt(update, draft) else None


def short(text: str, n: int) -> str:
    """At most n characters, an ellipsis marking a cut (button labels)."""
    return text if len(text) <= n else text[: n - 1] + "…"


def today(context: Ctx) -> dt.date:
    """Today in the configured time zone (Asia/Shanghai): what an inspector calls today."""
    return dt.datetime.now(context.cfg.tz).date()


def person_of(session: Session, actor: Actor) -> Person | None:
    """The caller's roster row in this session (the guard's actor was read in another one)."""
    return session.get(Person, actor.person.id) if actor.person else None


def split_messages(header: str, blocks: list[str], footer: str = "", limit: int = 3800) -> list[str]:
    """Header, blocks and footer joined into messages below Telegram's 4,096 characters (with room to spare); a
    block too long for one message is cut at a line break."""
    pieces: list[str] = []
    for block in blocks:
        while len(block) > limit:
            cut = block.rfind("\n", 0, limit)
            cut = cut if cut > 0 else limit
            pieces.append(block[:cut])
            block = block[cut:].lstrip("\n")
        pieces.append(block)
    messages, current = [], header
    for piece in pieces + ([footer] if footer else []):
        if len(current) + len(piece) + 2 > limit:
            messages.append(current)
            current = piece
        else:
            current += "\n\n" + piece
    messages.append(current)
    return messages


# --- messages -------------------------------------------------------------------------------------------------

async def send(update: Update, text: str, markup: InlineKeyboardMarkup | None = None):
    return await update.effective_chat.send_message(text, reply_markup=markup)


async def edit(update: Update, text: str, markup: InlineKeyboardMarkup | None = None, *,
               or_send: bool = False) -> None:
    """Replace the pressed message's text and buttons. Pressing a button twice edits to the same text, which the
    Bot API refuses as "not modified": not an error. With `or_send`, a message that can no longer be edited (too
    old, deleted) gets a new message instead."""
    query = update.callback_query
    try:
        if query is not None and query.message is not None:
            await query.edit_message_text(text, reply_markup=markup)
            return
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return
        if not or_send:
            raise
        log.info("could not edit the message, sending a new one: %s", exc)
    if or_send or query is None:
        await send(update, text, markup)


async def answer(update: Update, text: str | None = None) -> None:
    """Stop a pressed button's spinner (nothing for a typed message)."""
    if update.callback_query is not None:
        await answer_query(update.callback_query, text)


async def answer_and_edit(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Stop the spinner and replace the message at the same time: two round trips in one."""
    await asyncio.gather(answer(update), edit(update, text, markup, or_send=True))


async def drop_buttons(update: Update) -> None:
    """Remove the pressed message's buttons (spent); a message that cannot be edited keeps them, harmlessly —
    every press is checked again."""
    try:
        await update.callback_query.edit_message_reply_markup(None)
    except BadRequest:
        pass


# --- paging ---------------------------------------------------------------------------------------------------

def page_of(items: Sequence[T], page: int, size: int) -> tuple[Sequence[T], int, int]:
    """(the items of `page`, the page actually shown, the number of pages): a page out of range shows the nearest."""
    pages = max(1, math.ceil(len(items) / size))
    page = min(max(1, page), pages)
    return items[(page - 1) * size: page * size], page, pages


def page_buttons(page: int, pages: int, data: str, lang: str, *, first: int = 1) -> list[InlineKeyboardButton]:
    """‹ 上一页 / 下一页 › for page `page` of `pages` (numbered from `first`); `data` is the callback data with
    `{page}` in it. Empty when everything fits on one page."""
    row = []
    if page > first:
        row.append(InlineKeyboardButton(t("page.prev", lang), callback_data=data.format(page=page - 1)))
    if page < first + pages - 1:
        row.append(InlineKeyboardButton(t("page.next", lang), callback_data=data.format(page=page + 1)))
    return row


# --- guided flows ---------------------------------------------------------------------------------------------

class FlowGate(BaseHandler):
    """A conversation step or fallback that only matches while its flow is the user's active one (or while none
    is recorded, e.g. a conversation persisted before the marker existed)."""

    def __init__(self, inner: BaseHandler, flow: str):
        super().__init__(inner.callback, block=inner.block)
        self.inner = inner
        self.flow = flow
        self.application = None  # set by `conversation`'s owner at registration (handlers.register)

    def check_update(self, update: object) -> Any:
        if isinstance(update, Update) and self.application is not None:
            user = update.effective_user
            data = self.application.user_data.get(user.id) if user is not None else None
            active = data.get(ACTIVE_FLOW) if isinstance(data, dict) else None
            if active is not None and active != self.flow:
                return None
        return self.inner.check_update(update)

    async def handle_update(self, update, application, check_result, context):  # noqa: ANN001 — PTB's signature
        return await self.inner.handle_update(update, application, check_result, context)

    def collect_additional_context(self, context, update, application, check_result):  # noqa: ANN001
        self.inner.collect_additional_context(context, update, application, check_result)


def page_step(prefix: str, render):
    """A flow's ‹ › press on its list (`<prefix>:<page>`): `render(session, context, actor, page, lang)` gives the
    page's text and buttons from the database now (no buttons: nothing left to list, the flow ends)."""

    async def page_callback(update: Update, context: Ctx, actor: Actor, lang: str, draft: Draft) -> object:
        ids = pressed_ids(update, draft, prefix, 1)
        if ids is None:
            await refuse(update, t("error.stale_button", lang))
            return None
        with context.sessions.begin() as session:
            text, markup = render(session, context, actor, ids[0], lang)
        await answer_query(update.callback_query)
        await edit(update, text, markup)
        return None if markup is not None else END

    return page_callback


def conversation(flow: str, *, entry_points: list[BaseHandler], states: dict[object, list[BaseHandler]],
                 fallbacks: list[BaseHandler], allow_reentry: bool = False) -> ConversationHandler:
    """A persistent guided flow named `flow` (its state survives restarts), its steps and fallbacks gated to the
    user's active flow. The flow chart is the `states` mapping; each step returns the next state."""
    def gated(handlers: list[BaseHandler]) -> list[BaseHandler]:
        return [FlowGate(h, flow) for h in handlers]

    with warnings.catch_warnings():
        # per_message=False with CallbackQueryHandlers is intended: one draft per user and chat.
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        conv = ConversationHandler(entry_points=entry_points,
                                   states={state: gated(handlers) for state, handlers in states.items()},
                                   fallbacks=gated(fallbacks), name=flow, persistent=True,
                                   allow_reentry=allow_reentry)
    return conv


async def cancel_flow(update: Update, context: Ctx, lang: str, draft_key: str, cancelled_key: str) -> object:
    """/cancel or a flow's 取消 button: drop the draft, change nothing, say so. A 取消 button of an earlier run of
    the flow (not the draft's last prompt) must not end this one: refused as stale."""
    draft = context.user_data.get(draft_key)
    if update.callback_query is not None and (not isinstance(draft, dict) or not from_prompt(update, draft)):
        await refuse(update, t("error.stale_button", lang))
        return None
    context.user_data.pop(draft_key, None)
    if update.callback_query:
        await answer_query(update.callback_query)
        await drop_buttons(update)
    await update.effective_message.reply_text(t(cancelled_key, lang))
    return ConversationHandler.END


def bind_flow_gates(application, conversations: list[ConversationHandler]) -> None:
    """Give the gates of freshly built conversations the application whose user data they read."""
    for conv in conversations:
        for handler in conv.fallbacks + [h for hs in conv.states.values() for h in hs]:
            if isinstance(handler, FlowGate):
                handler.application = application


def one_flow_at_a_time(flows: dict[str, tuple[str, str]]) -> TypeHandler:
    """`flows`: command → (conversation name, user_data key of its draft). A flow's command in a private chat
    makes it the user's active flow and drops the other flows' drafts (their database drafts stay: /enter
    resumes from them)."""

    async def mark_active_flow(update: Update, context: Ctx) -> None:
        msg = update.effective_message
        if msg is None or not msg.text or not msg.text.startswith("/") or update.effective_chat is None \
                or update.effective_chat.type != ChatType.PRIVATE:
            return
        command = msg.text.split()[0][1:].split("@")[0].lower()
        if command not in flows:
            return
        name, _ = flows[command]
        previous = context.user_data.get(ACTIVE_FLOW)
        context.user_data[ACTIVE_FLOW] = name
        for other, draft_key in flows.values():
            if other != name:
                context.user_data.pop(draft_key, None)
        if previous not in (None, name):
            log.info("flow %s of user %s set aside by /%s", previous, update.effective_user.id, command)

    return TypeHandler(Update, mark_active_flow)
