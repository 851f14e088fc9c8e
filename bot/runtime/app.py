"""Application builder, start-up (command menus) and shutdown. `handlers.register` is the one wiring point."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from telegram import (BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats,
                      BotCommandScopeChat)
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, CallbackContext, ContextTypes, ExtBot
from telegram.ext import PersistenceInput
from telegram.request import BaseRequest

from bot.services import identity
from bot.config import Config
from bot.runtime.persistence import SQLAlchemyPersistence
from bot.texts import t
from models import Person

log = logging.getLogger(__name__)


class Services:
    """What every handler needs, held as the application's bot_data (never persisted)."""

    cfg: Config
    sessions: sessionmaker[Session]
    outbox_worker: Any = None  # set by handlers.register; wake() it after enqueueing
    report_sender: Any = None  # set by handlers.register; handlers.report.wake_reports() after a campaign is entered

    def __init__(self, cfg: Config | None = None, sessions: sessionmaker[Session] | None = None):
        # PTB instantiates bot_data with no arguments; build_application fills it in.
        if cfg is not None:
            self.cfg = cfg
        if sessions is not None:
            self.sessions = sessions


class Ctx(CallbackContext[ExtBot, dict, dict, Services]):
    # PTB builds one context per update and hands it to every handler of that update: the caller loaded by the
    # dedup check (update id, actor) waits here for the update's first `handlers.common.load`.
    preloaded_actor: tuple[int, identity.Actor] | None = None

    @property
    def cfg(self) -> Config:
        return self.bot_data.cfg

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self.bot_data.sessions


PRIVATE_COMMANDS = ("start", "help", "enter", "tasks", "correct", "followup", "cancel", "me", "lang", "targets", "items",
                    "campaigns", "swap", "recuse")
LEADER_COMMANDS = ("new", "leader", "progress", "report", "publish")
COORDINATOR_COMMANDS = ("progress", "report")
STAFF_COMMANDS = ("people",)
ADMIN_COMMANDS = ("invite", "template", "people")
GROUP_COMMANDS = ("help", "draw", "verify", "progress", "leader", "publish", "campaigns", "bindgroup")
ROLE_COMMANDS = (("leader", LEADER_COMMANDS), ("coordinator", COORDINATOR_COMMANDS), ("admin", ADMIN_COMMANDS))


def _commands(names: tuple[str, ...], lang: str) -> list[BotCommand]:
    return [BotCommand(name, t(f"cmd.{name}", lang)) for name in names]


def role_menu(roles: frozenset[str] | set[str]) -> tuple[str, ...]:
    """A private chat's menu for a person holding `roles`: everyone's commands, then their roles' commands."""
    names = list(PRIVATE_COMMANDS)
    for role, commands in ROLE_COMMANDS:
        if role in roles:
            names += commands
    return tuple(dict.fromkeys(names))


async def set_command_menus(app: Application) -> None:
    """Command menus per scope: private chats, group chats, and the own chat of each bound admin, leader and
    coordinator (their roles' commands added)."""
    services: Services = app.bot_data
    bot = app.bot
    for lang, code in (("zh", None), ("en", "en")):
        await bot.set_my_commands(_commands(PRIVATE_COMMANDS, lang), scope=BotCommandScopeAllPrivateChats(),
                                  language_code=code)
        await bot.set_my_commands(_commands(GROUP_COMMANDS, lang), scope=BotCommandScopeAllGroupChats(),
                                  language_code=code)
    menus: dict[int, tuple[set[str], str]] = {}  # chat id → (roles, language)
    with services.sessions.begin() as session:
        for chat_id in identity.admin_chat_ids(session, services.cfg.access.admins):
            menus[chat_id] = ({"admin"}, services.cfg.bot.language)
        for person in session.scalars(select(Person).where(Person.telegram_user_id.is_not(None), Person.active)):
            roles = {role for role, _ in ROLE_COMMANDS if person.has_role(role)}
            if roles:
                chat_id = int(person.telegram_user_id)  # type: ignore[arg-type]
                known = menus.get(chat_id, (set(), services.cfg.bot.language))[0]
                menus[chat_id] = (known | roles, person.language or services.cfg.bot.language)
    for chat_id, (roles, lang) in sorted(menus.items()):
        try:
            await bot.set_my_commands(_commands(role_menu(roles), lang), scope=BotCommandScopeChat(chat_id))
        except TelegramError as exc:  # someone who never opened the bot: the menu waits for the next start
            log.info("menu for %s not set: %s", chat_id, exc)


async def post_init(app: Application) -> None:
    await set_command_menus(app)


def build_application(cfg: Config, sessions: sessionmaker[Session], *, request: BaseRequest | None = None,
                      rate_limiter: bool = False, with_updater: bool = False,
                      persistence: bool = True) -> Application:
    """Build the Application. Tests pass a `request` stub; production passes rate_limiter=True."""
    import handlers

    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(cfg.require_token())
        .base_url(cfg.bot.base_url)
        .base_file_url(cfg.bot.base_file_url)
        .context_types(ContextTypes(context=Ctx, bot_data=Services))
        .post_init(post_init)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    if rate_limiter:
        builder = builder.rate_limiter(AIORateLimiter())
    if persistence:
        builder = builder.persistence(SQLAlchemyPersistence(
            sessions, store_data=PersistenceInput(bot_data=False, chat_data=False, user_data=True,
                                                  callback_data=False)))
    if not with_updater:
        builder = builder.updater(None)
    app = builder.build()
    app.bot_data.cfg = cfg
    app.bot_data.sessions = sessions
    handlers.register(app)
    return app
