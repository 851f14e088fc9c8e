"""What the admins are told about an unexpected error (SPEC §9: a failure is noticed by a person, not only
written to a log nobody reads), reduced to a few lines that are safe to send and stable enough to count.

- `redact` takes the bot token out of any text: Telegram's API URLs carry it (`https://api.telegram.org/bot<TOKEN>/
  sendMessage`) and network errors quote them. The configured secrets go, and anything shaped like a token
  (`<digits>:<30+ characters>`), so a token of another bot or an old one goes too.
- `summarize` keeps the exception's type, its message (redacted, shortened), where in our code it was raised
  (the last frame in our packages: the traceback's deeper frames are the libraries') and what was being handled.
- `fingerprint` names an error without what varies between two occurrences of the same fault: the numbers in the
  message (ids, counts, times). With the hour it makes the outbox's dedup key, so the same error is told once
  an hour however often it happens, and a different error is told at once.

Pure: no messenger, no database (tests/unit/test_layers.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable
from urllib.parse import quote

TOKEN_PATTERN = re.compile(r"\d+:[A-Za-z0-9_-]{30,}")
REDACTED = "<TOKEN>"
MESSAGE_MAX = 400  # characters of the exception's message in the summary


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without the secrets (as written and as URL-encoded) and without anything shaped like a bot token."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        for form in {secret, quote(secret, safe="")}:
            text = text.replace(form, REDACTED)
    return TOKEN_PATTERN.sub(REDACTED, text)


def _under(path: Path, roots: tuple[Path, ...]) -> Path | None:
    """`path` relative to the parent of the root holding it (handlers/draw.py), or None."""
    for root in roots:
        if path.is_relative_to(root):
            return path.relative_to(root.parent)
    return None


def last_own_frame(exc: BaseException, roots: Iterable[Path]) -> str:
    """`file:line in function` of the last traceback frame inside one of `roots` (our packages), the path
    relative to their parent; else the last frame's file name (a library's), else "—"."""
    roots = tuple(Path(r).resolve() for r in roots)
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        relative = _under(Path(frame.filename).resolve(), roots)
        if relative is not None:
            return f"{relative.as_posix()}:{frame.lineno} in {frame.name}"
    if frames:
        last = frames[-1]
        tail = last.filename.replace("\\", "/").rsplit("site-packages/", 1)[-1]
        return f"{tail}:{last.lineno} in {last.name}"
    return "—"


def type_name(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def fingerprint(kind: str, where: str, message: str) -> str:
    """The same fault gives the same name: type, our frame, the message with its numbers taken out."""
    stable = re.sub(r"\d+", "#", message)
    return hashlib.sha256(f"{kind}|{where}|{stable}".encode("utf-8")).hexdigest()[:12]


def hour_bucket(now: dt.datetime) -> str:
    """The clock hour (UTC) an error is counted in: told once per fingerprint and hour."""
    if now.tzinfo is not None:
        now = now.astimezone(dt.timezone.utc)
    return now.strftime("%Y%m%d%H")


@dataclass(frozen=True)
class ErrorSummary:
    kind: str  # the exception's type
    message: str  # redacted and shortened
    where: str  # our last frame: file:line in function
    origin: str  # what was being handled: "/draw", "button staff:", "job outbox", …

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.kind, self.where, self.message)


def summarize(exc: BaseException, *, origin: str, roots: Iterable[Path], secrets: Iterable[str] = ()) -> ErrorSummary:
    secrets = tuple(secrets)
    message = redact(str(exc), secrets)
    if len(message) > MESSAGE_MAX:
        message = message[:MESSAGE_MAX - 1] + "…"
    return ErrorSummary(kind=type_name(exc), message=message or "—",
                        where=redact(last_own_frame(exc, roots), secrets), origin=redact(origin, secrets))
