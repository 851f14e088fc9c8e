"""What the local emulators (bot.devtools.botapi_emulator, bot.devtools.dingtalk_emulator) share: waiting for a
condition on their recorded state, the HTTP handler's plumbing, and running one standalone."""

from __future__ import annotations

import asyncio
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable


class Waiting:
    """`wait_for` / `wait_for_async` over an emulator holding `_cond` (a threading.Condition notified on every
    change) and `dump()` (the last calls, for a timeout's message)."""

    _cond: threading.Condition

    def dump(self) -> str:
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


class EmulatorHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 without Nagle stalls; a client that went away (kill -9) is not an error; bodies sent
    with Content-Length or chunked."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed-ACK stalls
    sys_version = ""
    logger: Any = None

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
