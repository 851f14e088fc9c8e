"""What the local emulators (bot.devtools.botapi_emulator, bot.devtools.dingtalk_emulator) share: waiting for a
condition on their recorded state, serving HTTP on a daemon thread (start, stop, ``with``), the HTTP handler's
plumbing, and running one standalone."""

from __future__ import annotations

import asyncio
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Self


class Waiting:
    """`wait_for` / `wait_for_async` over an emulator holding `_cond` (a threading.Condition notified on every
    change) and `dump()` (the last calls, for a timeout's message)."""

    _cond: threading.Condition

    def dump(self) -> str:
        raise NotImplementedError

    def _replies_in(self, chat: Any) -> Callable[[Any], list[Any]]:
        """For `wait_reply`: a function of the emulator giving the bot's messages in `chat` so far (KeyError while
        there are none yet)."""
        raise NotImplementedError

    def _evaluate(self, predicate: Callable[[Any], Any]) -> Any:
        try:
            return predicate(self)
        except (IndexError, KeyError):  # "not yet": the message or chat does not exist yet
            return None

    def wait_for(self, predicate: Callable[[Any], Any], timeout: float = 10.0) -> Any:
        """Block until ``predicate(emulator)`` is truthy and return its value.

        IndexError/KeyError raised by the predicate count as "not yet".  On timeout raises ``TimeoutError`` with a
        dump of the last calls.  Do not call it from the event loop that runs the bot — use :meth:`wait_for_async`.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = self._evaluate(predicate)
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout} s\n{self.dump()}")
                self._cond.wait(min(remaining, 0.1))

    async def wait_for_async(self, predicate: Callable[[Any], Any], timeout: float = 10.0) -> Any:
        """Like :meth:`wait_for`, but awaits instead of blocking the event loop."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                value = self._evaluate(predicate)
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout} s\n{self.dump()}")
            await asyncio.sleep(0.01)

    def wait_reply(self, chat: Any, after: int = 0, timeout: float = 10.0) -> Any:
        """The bot message number ``after`` (0-based) in ``chat``, once it exists."""
        replies = self._replies_in(chat)
        return self.wait_for(lambda emulator: replies(emulator)[after], timeout)

    async def wait_reply_async(self, chat: Any, after: int = 0, timeout: float = 10.0) -> Any:
        """Like :meth:`wait_reply`, but awaits instead of blocking the event loop."""
        replies = self._replies_in(chat)
        return await self.wait_for_async(lambda emulator: replies(emulator)[after], timeout)


class EmulatorServer(Waiting):
    """An emulator's HTTP server on a daemon thread: :meth:`start`, :meth:`stop` and ``with``.

    A subclass calls :meth:`_init_server` from ``__init__`` with its EmulatorHandler and adds what it
    runs besides the HTTP server through the hooks, which do nothing here: :meth:`_on_start` once the server
    serves; on :meth:`stop`, :meth:`_on_stop` before the server is shut down, :meth:`_on_http_shutdown` after it
    stopped accepting but before its socket is closed, :meth:`_on_stopped` after its thread has ended.  The
    handler reaches the emulator as its ``emulator``.
    """

    def _init_server(self, host: str, port: int, handler: type[EmulatorHandler]) -> None:
        self._host, self._port, self._handler = host, port, handler
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` of the HTTP server (port 0 is the free port it got once started)."""
        return f"http://{self._host}:{self._port}"

    def start(self) -> Self:
        """Start serving on ``host:port`` (port 0 = a free port) in a daemon thread."""
        name = type(self).__name__
        if self._server is not None:
            raise RuntimeError(f"{name} already started")
        server = ThreadingHTTPServer((self._host, self._port), self._handler)
        server.daemon_threads = True
        server.emulator = self  # type: ignore[attr-defined]
        self._server = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"{name}:{self._port}", daemon=True)
        self._thread.start()
        self._on_start()
        return self

    def stop(self) -> None:
        """Stop the HTTP server and what the emulator runs besides it; a second call does nothing."""
        if self._server is None:
            return
        self._on_stop()
        self._server.shutdown()
        self._on_http_shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self._on_stopped()
        self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _on_start(self) -> None:
        """Start what runs besides the HTTP server (it already serves)."""

    def _on_stop(self) -> None:
        """The first step of :meth:`stop`, before the HTTP server is shut down."""

    def _on_http_shutdown(self) -> None:
        """The HTTP server accepts no more requests; its socket is still open."""

    def _on_stopped(self) -> None:
        """The HTTP server is closed and its thread has ended."""


def take_rule(rules: list[dict[str, Any]], matches: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    """The first fault or delay rule of `rules` that `matches`, used once: its ``times`` counts down (None: no
    end) and it is dropped at 0.  None if no rule matches."""
    for rule in rules:
        if not matches(rule):
            continue
        if rule["times"] is not None:
            rule["times"] -= 1
            if rule["times"] <= 0:
                rules.remove(rule)
        return rule
    return None


class EmulatorHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 without Nagle stalls; a client that went away (kill -9) is not an error; bodies sent
    with Content-Length or chunked."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed-ACK stalls
    sys_version = ""
    logger: Any = None

    @property
    def emulator(self) -> Any:
        """The EmulatorServer this request came to."""
        return self.server.emulator  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.logger is not None:
            self.logger.debug("%s %s", self.address_string(), format % args)

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True  # the bot went away between two requests (kill -9)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve_until_interrupted(emulator: Any, banner: str) -> None:
    """Print `banner` and keep a started emulator running until Ctrl-C; then stop it."""
    print(banner, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
