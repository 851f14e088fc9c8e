"""Application builder, start-up (the command menus, bot.runtime.menus) and shutdown. `handlers.register` is the
one wiring point."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, CallbackContext, ContextTypes, ExtBot
from telegram.ext import PersistenceInput
from telegram.request import BaseRequest

from bot.services import identity
from bot.config import Config
from bot.runtime.menus import set_command_menus
from bot.runtime.persistence import SQLAlchemyPersistence
from bot.runtime.platform import bridge
from bot.runtime.platform.bridge import BridgeRequest

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
    if isinstance(request, BridgeRequest) and app.job_queue is not None:
        # Confirmed events are kept a week (a re-delivery within it is dropped), then forgotten.
        async def prune_events(_context) -> None:  # noqa: ANN001
            removed = bridge.prune(sessions, request.platform)
            if removed:
                log.info("pruned %s confirmed %s events", removed, request.platform)

        app.job_queue.run_repeating(prune_events, interval=86400, first=120, name="prune-platform-events")
    return app
