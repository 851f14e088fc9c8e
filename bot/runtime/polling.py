"""Long polling that confirms an update to Telegram only after it has been handled.

PTB's Updater confirms a batch (by asking for the next offset) as soon as it has queued it, before any handler
runs: a `kill -9` while an update is being handled loses it. Here the offset moves past an update only after
`process_update` returned, so a crash re-delivers it; the dedup handlers (bot.runtime.exactly_once) drop what had already
been handled. The rest of the lifecycle is the same as `Application.run_polling`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

log = logging.getLogger(__name__)

SLOW_UPDATE_SECONDS = 2.0
# Benchmarks set SHUANGSUI_TIMINGS=<file>: each update's handling time is written there at shutdown.
_TIMINGS_FILE = os.environ.get("SHUANGSUI_TIMINGS")
_timings: list[float] = []


def _seconds(value) -> float:
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


async def poll(app: Application, stop: asyncio.Event, timeout: int = 25) -> None:
    offset: int | None = None
    backoff = 1.0
    while not stop.is_set():
        try:
            batch = await app.bot.get_updates(offset=offset, timeout=timeout, allowed_updates=Update.ALL_TYPES,
                                              read_timeout=timeout + 10)
            backoff = 1.0
        except InvalidToken:
            raise
        except RetryAfter as exc:
            await _sleep(stop, _seconds(exc.retry_after))
            continue
        except TimedOut:
            continue
        except (NetworkError, Conflict) as exc:
            log.warning("getUpdates failed (%s); retrying in %.0f s", exc, backoff)
            await _sleep(stop, backoff)
            backoff = min(backoff * 2, 30.0)
            continue
        for update in batch:
            started = time.perf_counter()
            await app.process_update(update)
            elapsed = time.perf_counter() - started
            if _TIMINGS_FILE:
                _timings.append(elapsed)
            if elapsed > SLOW_UPDATE_SECONDS:
                log.warning("update %s took %.1f s", update.update_id, elapsed)
            offset = update.update_id + 1


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM (where the loop supports signal handlers): the bot's way to stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    return stop


async def run(app: Application) -> None:
    """Initialize, start, poll until SIGINT/SIGTERM, then stop and shut down cleanly."""
    stop = stop_on_signals()
    await app.initialize()
    try:
        await app.bot.delete_webhook(drop_pending_updates=False)
        if app.post_init:
            await app.post_init(app)
        await app.start()
        log.info("polling as @%s", app.bot.username)
        poller = asyncio.create_task(poll(app, stop))
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({poller, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        poller.cancel()
        stopper.cancel()
        for task in done:
            if task is poller and not task.cancelled() and task.exception():
                raise task.exception()  # type: ignore[misc]
        await app.stop()
        if app.post_stop:
            await app.post_stop(app)
    finally:
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)
        if _TIMINGS_FILE:
            with open(_TIMINGS_FILE, "w", encoding="utf-8") as fh:
                json.dump(_timings, fh)
