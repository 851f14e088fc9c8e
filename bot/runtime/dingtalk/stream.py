"""The 钉钉 Stream-mode loop (tests/fixtures/dingtalk: stream_*.json, WIRE.md).

connections/open → WebSocket `endpoint?ticket=` → for each frame:

- SYSTEM `ping`: ACK echoing its data, at once (in the reader, never behind a handler);
- SYSTEM `disconnect`: read no new work, let the in-flight handlers finish and ACK on this socket (a short drain),
  close, and connect again at once with a new ticket (a ticket is single-use);
- CALLBACK on a subscribed topic: the handler runs in its own task (≤ `max_in_flight` at once) and the frame is
  ACKed only after it returned (`{"response": {}}` for card callbacks, `{"response": null}` for bot messages); if
  it raised, no ACK — the failure is logged;
- EVENT: ACKed `{"status":"SUCCESS","message":"success"}` (the documented form — the SDK echoes the data instead).

ACKs go on the socket the frame came from. Any failure reconnects with exponential backoff and jitter (1 s → 60 s,
reset after a connection that stayed up `healthy_after` seconds). Cancellation propagates: `stop()` ends it promptly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable
from urllib.parse import quote_plus

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bot.runtime.dingtalk.client import TOPIC_BOT_MESSAGE, TOPIC_CARD_CALLBACK, DingTalkClient

log = logging.getLogger(__name__)

DEFAULT_TOPICS = (TOPIC_BOT_MESSAGE, TOPIC_CARD_CALLBACK)
_UNSET = object()


@dataclass(frozen=True)
class StreamFrame:
    """One CALLBACK frame for the handler: `data` is the frame's data string parsed (a dict)."""

    topic: str
    message_id: str
    data: dict
    headers: dict = field(default_factory=dict)


Handler = Callable[[StreamFrame], Awaitable[Any]]


def ack(message_id: str, data: Any, code: int = 200, message: str = "OK") -> str:
    return json.dumps({"code": code, "headers": {"contentType": "application/json", "messageId": message_id},
                       "message": message, "data": data if isinstance(data, str) else json.dumps(data)})


def callback_response(topic: str) -> dict:
    """What a CALLBACK ACK carries: card callbacks `{"response": {}}` (no card change: the bot updates the card by
    the PUT, WIRE.md), bot messages `{"response": null}` (stream_frame_bot_message.json)."""
    return {"response": {}} if topic == TOPIC_CARD_CALLBACK else {"response": None}


class StreamConnection:
    def __init__(self, client: DingTalkClient, handler: Handler, *, topics: tuple[str, ...] = DEFAULT_TOPICS,
                 max_in_flight: int = 64, backoff_initial: float = 1.0, backoff_max: float = 60.0,
                 healthy_after: float = 30.0, drain_timeout: float = 5.0, ping_interval: float | None = 20.0,
                 open_timeout: float = 10.0, close_timeout: float = 2.0) -> None:
        self.client = client
        self.handler = handler
        self.topics = tuple(topics)
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.healthy_after = healthy_after
        self.drain_timeout = drain_timeout
        self.ping_interval = ping_interval
        self.open_timeout = open_timeout
        self.close_timeout = close_timeout
        self._semaphore = asyncio.Semaphore(max_in_flight)
        self._task: asyncio.Task | None = None
        self._handlers: set[asyncio.Task] = set()
        self.connections = 0  # WebSocket connections opened so far
        self.connected = asyncio.Event()  # set while a connection is open
        self.delays: list[float] = []  # the backoff sleeps taken (for tests and logs)

    # --- lifecycle ----------------------------------------------------------------------------------------------

    def start(self) -> asyncio.Task:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="dingtalk-stream")
        return self._task

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for handler in list(self._handlers):
            handler.cancel()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)

    async def run(self) -> None:
        """Connect, serve, reconnect — until cancelled."""
        delay = self.backoff_initial
        loop = asyncio.get_running_loop()
        while True:
            started = None
            reconnect_now = False
            try:
                endpoint, ticket = await self.client.open_connection(self.topics)
                separator = "&" if "?" in endpoint else "?"
                async with connect(f"{endpoint}{separator}ticket={quote_plus(ticket)}",
                                   open_timeout=self.open_timeout, close_timeout=self.close_timeout,
                                   ping_interval=self.ping_interval, ping_timeout=self.ping_interval,
                                   max_size=2 ** 22) as ws:
                    started = loop.time()
                    self.connections += 1
                    self.connected.set()
                    log.info("dingtalk stream connected (connection %d)", self.connections)
                    try:
                        reconnect_now = await self._serve(ws)
                    finally:
                        self.connected.clear()
            except asyncio.CancelledError:
                raise
            except ConnectionClosed as e:
                log.warning("dingtalk stream closed: %s", e)
            except Exception as e:  # noqa: BLE001 — any failure: reconnect with backoff
                log.warning("dingtalk stream failed: %s: %s", type(e).__name__, e)
            if started is not None and (reconnect_now or loop.time() - started >= self.healthy_after):
                delay = self.backoff_initial
            if reconnect_now:
                continue
            sleep = min(self.backoff_max, delay) * random.uniform(0.5, 1.0)
            self.delays.append(sleep)
            log.info("dingtalk stream reconnecting in %.1f s", sleep)
            await asyncio.sleep(sleep)
            delay = min(self.backoff_max, delay * 2)

    # --- one connection -----------------------------------------------------------------------------------------

    async def _serve(self, ws: ClientConnection) -> bool:
        """Read frames until the socket closes (False) or a `disconnect` asks for a new connection (True)."""
        mine: set[asyncio.Task] = set()
        # handlers outlive a dropped socket (the event still gets stored; only its ACK is lost): stop() cancels them
        async for raw in ws:
            try:
                frame = json.loads(raw)
                kind = frame.get("type")
                headers = frame.get("headers") or {}
            except (ValueError, AttributeError):
                log.warning("dingtalk stream: unreadable frame %.200r", raw)
                continue
            topic = headers.get("topic", "")
            message_id = headers.get("messageId", "")
            if kind == "SYSTEM" and topic == "ping":
                await ws.send(ack(message_id, frame.get("data") or "{}"))
            elif kind == "SYSTEM" and topic == "disconnect":
                log.info("dingtalk stream: disconnect (%s); draining, then a new connection",
                         frame.get("data"))
                await self._drain(mine)
                return True
            elif kind == "EVENT":
                await ws.send(ack(message_id, {"status": "SUCCESS", "message": "success"}))
            elif kind == "CALLBACK" and topic in self.topics:
                task = asyncio.create_task(self._callback(ws, topic, message_id, headers, frame.get("data")))
                mine.add(task)
                self._handlers.add(task)
                task.add_done_callback(mine.discard)
                task.add_done_callback(self._handlers.discard)
            elif kind == "CALLBACK":
                await ws.send(ack(message_id, {"response": None}, code=404, message="topic not subscribed"))
            else:
                log.info("dingtalk stream: ignoring %s %s", kind, topic)
        return False

    async def _drain(self, tasks: set[asyncio.Task]) -> None:
        if tasks:
            await asyncio.wait(set(tasks), timeout=self.drain_timeout)

    async def _callback(self, ws: ClientConnection, topic: str, message_id: str, headers: dict, data: Any) -> None:
        async with self._semaphore:
            try:
                payload = json.loads(data) if isinstance(data, str) else data
                if not isinstance(payload, dict):
                    raise ValueError(f"data is not a JSON object: {data!r:.200}")
                await self.handler(StreamFrame(topic, message_id, payload, headers))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dingtalk stream: handler failed for %s %s; not acknowledged", topic, message_id)
                return
        try:
            await ws.send(ack(message_id, callback_response(topic)))
        except ConnectionClosed:
            log.warning("dingtalk stream: connection closed before the ACK of %s %s", topic, message_id)
