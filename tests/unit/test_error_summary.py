"""The error summary told to the admins (bot.rules.error_summary): the bot token never in it, our own frame
named, and a fingerprint that is the same for two occurrences of one fault and differs between faults."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.rules import error_summary as E

TOKEN = "7312345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
OURS = (Path(__file__).resolve().parents[2] / "tests",)


def _raise(message: str, cls: type[Exception] = RuntimeError) -> Exception:
    try:
        raise cls(message)
    except Exception as exc:  # noqa: BLE001
        return exc


def test_the_configured_token_goes_in_every_form():
    text = f"https://api.telegram.org/bot{TOKEN}/sendMessage and bot123%3ATEST/getMe and 123:TEST"
    out = E.redact(text, ("123:TEST", TOKEN))
    assert TOKEN not in out and "123:TEST" not in out and "123%3ATEST" not in out
    assert out.count(E.REDACTED) == 3 and "api.telegram.org/bot<TOKEN>/sendMessage" in out


def test_anything_shaped_like_a_token_goes_too():
    other = "123456:" + "A-b_" * 9
    assert E.redact(f"old token {other}, not configured") == f"old token {E.REDACTED}, not configured"
    assert E.redact("at 12:30 the campaign 7:3 failed") == "at 12:30 the campaign 7:3 failed"


def test_the_summary_names_our_frame_and_never_the_token():
    exc = _raise(f"POST https://api.telegram.org/bot{TOKEN}/sendMessage failed")
    summary = E.summarize(exc, origin="/draw", roots=OURS, secrets=(TOKEN,))
    assert summary.kind == "RuntimeError" and summary.origin == "/draw"
    assert summary.where.startswith("tests/unit/test_error_summary.py:") and summary.where.endswith("in _raise")
    assert TOKEN not in repr(summary) and E.REDACTED in summary.message


def test_a_frame_outside_our_packages_is_not_ours():
    exc = _raise("x")
    assert not E.last_own_frame(exc, (Path("/nonexistent/bot"),)).startswith("tests/")


def test_one_fault_one_fingerprint_whatever_its_numbers():
    a = E.summarize(_raise("campaign 7 has 12 groups"), origin="/draw", roots=OURS)
    b = E.summarize(_raise("campaign 8 has 3 groups"), origin="/draw", roots=OURS)
    c = E.summarize(_raise("campaign 8 has 3 groups", KeyError), origin="/draw", roots=OURS)
    d = E.summarize(_raise("another message"), origin="/draw", roots=OURS)
    assert a.fingerprint == b.fingerprint
    assert len({a.fingerprint, c.fingerprint, d.fingerprint}) == 3


def test_a_long_message_is_shortened():
    summary = E.summarize(_raise("x" * 5000), origin="—", roots=OURS)
    assert len(summary.message) == E.MESSAGE_MAX


def test_the_hour_bucket_is_the_utc_clock_hour():
    utc = dt.timezone.utc
    assert E.hour_bucket(dt.datetime(2024, 5, 1, 10, 59, tzinfo=utc)) == "2024050110"
    assert E.hour_bucket(dt.datetime(2024, 5, 1, 11, 0, tzinfo=utc)) == "2024050111"
    beijing = dt.timezone(dt.timedelta(hours=8))
    assert E.hour_bucket(dt.datetime(2024, 5, 1, 19, 0, tzinfo=beijing)) == "2024050111"


def test_the_log_never_shows_the_token():
    import logging

    from bot.cli import RedactingFormatter

    token = "123456:" + "A" * 35
    try:
        raise ConnectionError(f"POST https://api.telegram.org/bot{token}/sendMessage failed")
    except ConnectionError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "send to %s failed", (f"bot{token}",),
                                   exc_info=__import__("sys").exc_info())
    line = RedactingFormatter("%(message)s").format(record)
    assert token not in line and line.count("<TOKEN>") == 2 and "ConnectionError" in line
