"""The command menus Telegram shows (setMyCommands), derived from the permission table (bot.rules.permissions):
a menu lists a command only where the table lets its audience use it, so a menu cannot offer what the guard
refuses. Set at start-up: every private chat, every group chat, and the own chat of each bound person holding a
role that has commands of its own (admins, leaders, coordinators), in that person's language."""

from __future__ import annotations

import logging

from sqlalchemy import select
from telegram import BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from telegram.error import TelegramError
from telegram.ext import Application

from bot.rules import permissions
from bot.services import identity
from bot.texts import t
from models import Person

log = logging.getLogger(__name__)

PRIVATE_COMMANDS = permissions.menu(permissions.MENU_PRIVATE)
GROUP_COMMANDS = permissions.menu(permissions.MENU_GROUP)
role_menu = permissions.role_menu


def _commands(names: tuple[str, ...], lang: str) -> list[BotCommand]:
    return [BotCommand(name, t(f"cmd.{name}", lang)) for name in names]


async def set_command_menus(app: Application) -> None:
    """Command menus per scope: private chats, group chats, and the own chat of each bound admin, leader and
    coordinator (their roles' commands added)."""
    services = app.bot_data
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
            roles = {role for role in permissions.MENU_ROLES if person.has_role(role)}
            if roles:
                chat_id = int(person.telegram_user_id)  # type: ignore[arg-type]
                known = menus.get(chat_id, (set(), services.cfg.bot.language))[0]
                menus[chat_id] = (known | roles, person.language or services.cfg.bot.language)
    for chat_id, (roles, lang) in sorted(menus.items()):
        try:
            await bot.set_my_commands(_commands(role_menu(roles), lang), scope=BotCommandScopeChat(chat_id))
        except TelegramError as exc:  # someone who never opened the bot: the menu waits for the next start
            log.info("menu for %s not set: %s", chat_id, exc)
