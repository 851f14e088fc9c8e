"""Webhook mode that answers Telegram only after the update has been handled.

PTB's own webhook server (`Application.run_webhook`) answers 200 as soon as it has queued the update, before
any handler ran: Telegram then forgets it, and a `kill -9` while it is being handled loses it. Here the 200 goes
out only after `process_update` returned, so a crash leaves the POST unanswered, Telegram sends the update
again, and the dedup handlers (bot.runtime.exactly_once) drop what had already been handled. Updates are handled one at a
time in the order they arrive, like bot.runtime.polling; the rest of the lifecycle is the same as `polling.run`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from urllib.parse import urlsplit

import tornado.web
from tornado.httpserver import HTTPServer
from telegram import Update
from telegram.ext import Application, ExtBot

from bot.runtime.polling import stop_on_signals

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class _Hook:
    """What the request handler shares: the application, the secret, one update at a time."""

    def __init__(self, app: Application, secret: str):
        self.app = app
        self.secret = secret.encode()
        self.lock = asyncio.Lock()  # FIFO: updates are handled in arrival order
        self.stopping = False


class UpdateHandler(tornado.web.RequestHandler):
    """POST of one update: 403 without the secret, 400 if it is not an update, 200 once it has been handled,
    503 when the bot is stopping before handling it (Telegram sends it again)."""

    SUPPORTED_METHODS = ("POST",)  # type: ignore[assignment]

    def initialize(self, hook: _Hook) -> None:
        self.hook = hook

    async def post(self) -> None:
        hook = self.hook
        if not hmac.compare_digest(self.request.headers.get(SECRET_HEADER, "").encode(), hook.secret):
            raise tornado.web.HTTPError(403)
        try:
            update = Update.de_json(json.loads(self.request.body), hook.app.bot)
        except Exception as exc:  # noqa: BLE001 - anything that is not an update
            log.warning("webhook: not an update (%s)", exc)
            raise tornado.web.HTTPError(400) from None
        async with hook.lock:
            if hook.stopping:
                raise tornado.web.HTTPError(503)
            if isinstance(hook.app.bot, ExtBot):
                hook.app.bot.insert_callback_data(update)
            await hook.app.process_update(update)
        self.set_status(200)

    def log_exception(self, typ, value, tb) -> None:  # noqa: ANN001 - tornado's signature
        if not isinstance(value, tornado.web.HTTPError):
            log.error("webhook request failed", exc_info=(typ, value, tb))  # type: ignore[arg-type]


def web_app(hook: _Hook, url: str) -> tornado.web.Application:
    """The tornado application serving the path of `url`."""
    path = urlsplit(url).path.rstrip("/")
    return tornado.web.Application([(re.escape(path) + "/?", UpdateHandler, {"hook": hook})])


async def run(app: Application, *, url: str, listen: str, port: int, secret: str) -> None:
    """Initialize, start, listen and set the webhook, serve until SIGINT/SIGTERM, then stop cleanly."""
    stop = stop_on_signals()
    hook = _Hook(app, secret)
    server: HTTPServer | None = None
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        await app.start()
        server = HTTPServer(web_app(hook, url))
        server.listen(port, address=listen)  # before setWebhook: the first delivery finds us listening
        await app.bot.set_webhook(url, secret_token=secret, allowed_updates=Update.ALL_TYPES)
        log.info("webhook as @%s: listening on %s:%s for %s", app.bot.username, listen, port, url)
        await stop.wait()
        hook.stopping = True
        server.stop()  # no new connections
        async with hook.lock:  # the update being handled finishes; those waiting get 503
            pass
        await app.stop()
        if app.post_stop:
            await app.post_stop(app)
    finally:
        if server is not None:
            server.stop()
            try:
                await asyncio.wait_for(server.close_all_connections(), timeout=5)
            except asyncio.TimeoutError:
                log.warning("webhook: connections still open at shutdown")
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)
