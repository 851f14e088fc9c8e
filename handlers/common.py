"""What every handler shares: who is calling (checked against the database each time), which language they
read, and the guard that checks, from the permission table (bot.rules.permissions), who may use a handler and
where."""

from __future__ import annotations

import functools
import logging
import time
from typing import Awaitable, Callable

from sqlalchemy.orm import Session
from telegram import Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import ConversationHandler

from bot.rules import permissions
from bot.services import identity
from bot.runtime.app import Ctx
from bot.services.identity import Actor
from bot.texts import normalize_lang, t

log = logging.getLogger(__name__)

Handler = Callable[[Update, Ctx, Actor, str], Awaitable[object]]


def lang_of(update: Update, context: Ctx, actor: Actor | None) -> str:
    """The user's stored choice, then Telegram's language_code, then the configured default."""
    if actor and actor.person and actor.person.language:
        return actor.person.language
    user = update.effective_user
    return normalize_lang(user.language_code if user else None) or context.cfg.bot.language


def _load_actor(session: Session, user_id: int, context: Ctx) -> Actor:
    actor = identity.load_actor(session, user_id, context.cfg.access.admins)
    if actor.person is not None:
        session.expunge(actor.person)
    return actor


def preload(session: Session, update: Update, context: Ctx) -> None:
    """Load the caller in the transaction of the update's dedup check (bot.runtime.exactly_once.install_dedup), saving the
    first `load` of the update a transaction of its own. Kept on this update's context only."""
    user = update.effective_user
    if user is not None and isinstance(context, Ctx):
        context.preloaded_actor = (update.update_id, _load_actor(session, user.id, context))


def load(update: Update, context: Ctx) -> Actor | None:
    """The caller as the database sees them now: for the update's first call the one read at the start of the
    update (by `preload`), afterwards read again (a handler may have changed it since)."""
    user = update.effective_user
    if user is None:
        return None
    preloaded = getattr(context, "preloaded_actor", None)
    if preloaded is not None:
        context.preloaded_actor = None
        update_id, actor = preloaded
        if update_id == update.update_id and actor.telegram_id == user.id:
            return actor
    with context.sessions.begin() as session:
        return _load_actor(session, user.id, context)


STALE_QUERY = ("query is too old", "query id is invalid")


async def answer_query(query, text: str | None = None, **kwargs) -> bool:
    """Stop a button's spinner. A press re-delivered after a crash may have been answered already by the killed
    process (Telegram then refuses a second answer as "query is too old"): that is not an error, the handler goes
    on and edits the message. Returns whether Telegram took the answer."""
    try:
        await query.answer(text, **kwargs)
    except BadRequest as exc:
        if not any(m in exc.message.lower() for m in STALE_QUERY):
            raise
        log.info("callback %s already answered or expired: %s", query.id, exc.message)
        return False
    return True


async def refuse(update: Update, text: str) -> None:
    """Answer a refusal where the user will see it: an alert on a button, a reply to a message."""
    if update.callback_query:
        if not await answer_query(update.callback_query, text, show_alert=True) and update.effective_chat:
            await update.effective_chat.send_message(text)  # the alert can no longer be shown
    elif update.effective_message:
        await update.effective_message.reply_text(text)


def _guard(roles: tuple[str, ...], chat: str) -> Callable[[Handler], Callable[[Update, Ctx], Awaitable[object]]]:
    """Check, at the moment of the action, that the caller is known, holds one of `roles` (none = any bound
    person) and is in the right kind of chat: "private", "group" (the bound group only), "private_or_group" (a
    private chat or the bound group: never another group the bot was added to) or "any"."""

    def decorate(func: Handler) -> Callable[[Update, Ctx], Awaitable[object]]:
        @functools.wraps(func)
        async def wrapper(update: Update, context: Ctx) -> object:
            actor = load(update, context)
            if actor is None:
                return None
            lang = lang_of(update, context, actor)
            chat_obj = update.effective_chat
            if chat == "private" and chat_obj and chat_obj.type != ChatType.PRIVATE:
                await refuse(update, t("error.private_only", lang))
                return None
            if not actor.known:
                await refuse(update, t("unknown_user", lang))
                return None
            if roles and not actor.has(*roles):
                labels = "、".join(t(f"role.{r}", lang) for r in roles) if lang == "zh" else \
                    ", ".join(t(f"role.{r}", lang) for r in roles)
                await refuse(update, t("error.not_allowed", lang, roles=labels))
                return None
            if chat == "group" or (chat == "private_or_group" and chat_obj is not None
                                   and chat_obj.type != ChatType.PRIVATE):
                if chat_obj is None or chat_obj.type == ChatType.PRIVATE:
                    await refuse(update, t("error.group_only", lang))
                    return None
                with context.sessions.begin() as session:
                    bound = identity.group_chat_id(session, context.cfg.bot.group_chat_id)
                if bound != chat_obj.id:
                    await refuse(update, t("error.wrong_group", lang))
                    return None
            return await func(update, context, actor, lang)

        return wrapper

    return decorate

def permitted(name: str) -> Callable[[Handler], Callable[[Update, Ctx], Awaitable[object]]]:
    """The guard of the handler of `name` in the permission table: the roles and the chat kind are the table's
    (bot.rules.permissions), never a tuple of the handler's own. The wrapper carries `permission = name`, so a
    test can check that every registered handler is guarded by the entry that governs what it handles."""
    entry = permissions.permission(name)
    if not entry.guarded:
        raise ValueError(f"{name}: the table says its handler checks for itself (use checks_itself)")
    check = _guard(entry.roles or (), entry.guard_mode)

    def decorate(func: Handler) -> Callable[[Update, Ctx], Awaitable[object]]:
        wrapper = check(func)
        wrapper.permission = name  # type: ignore[attr-defined]
        return wrapper

    return decorate


def checks_itself(name: str):
    """Mark the handler of an entry the table leaves unguarded (/start, /help: they answer accounts nobody has
    bound yet, and check the chat themselves)."""
    if permissions.permission(name).guarded:
        raise ValueError(f"{name}: the table says its handler is guarded (use permitted)")

    def decorate(func):
        func.permission = name
        return func

    return decorate


def role_labels(roles: frozenset[str] | set[str], lang: str) -> str:
    from models import ROLES

    names = [t(f"role.{r}", lang) for r in ROLES if r in roles]
    if not names:
        return t("role.none", lang)
    return "、".join(names) if lang == "zh" else ", ".join(names)


async def prompt(update: Update, draft: dict, text: str, markup=None) -> None:
    """Send a conversation's next question; its message id is what later button presses must come from."""
    msg = await update.effective_message.reply_text(text, reply_markup=markup)
    if markup is not None:
        draft["msg"] = msg.message_id


async def stale(update: Update, lang: str) -> None:
    """A button that no longer belongs to the current step (or to this user): refuse, change nothing."""
    await refuse(update, t("error.stale_button", lang))


IDLE_MINUTES = 30  # SPEC §6.6: a guided conversation idle this long ends


def wake_outbox(context: Ctx) -> None:
    """Deliver what was just enqueued now rather than at the worker's next tick."""
    if context.bot_data.outbox_worker is not None:
        context.bot_data.outbox_worker.wake()


def draft_step(key: str, name: str, expired_key: str):
    """A step of the guided conversation of command `name` whose draft is `user_data[key]`: the caller may still
    use the command (checked now, from the permission table), the draft exists and has not been idle for
    IDLE_MINUTES. PTB's conversation_timeout is
    not restored after a restart (PTB #3522), so the idle limit is checked from the time stored in the draft."""

    def decorate(func):
        @permitted(name)
        @functools.wraps(func)
        async def wrapper(update: Update, context: Ctx, actor: Actor, lang: str) -> object:
            draft = context.user_data.get(key)
            now = time.time()
            if not isinstance(draft, dict) or now - float(draft.get("touched", 0)) > IDLE_MINUTES * 60:
                context.user_data.pop(key, None)
                if update.callback_query:
                    await answer_query(update.callback_query)
                await update.effective_message.reply_text(t(expired_key, lang, minutes=IDLE_MINUTES))
                return ConversationHandler.END
            draft["touched"] = now
            return await func(update, context, actor, lang, draft)

        return wrapper

    return decorate
