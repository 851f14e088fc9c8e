"""Handlers never await (Telegram, sleeps, other coroutines) inside a database transaction. The polling loop
handles different users' updates concurrently on one event loop, and SQLite's writer lock is per connection:
an await inside `with sessions.begin()` would let another coroutine block on that lock in the same thread."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _violations(source: str, name: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            ctx = " ".join(ast.unparse(item.context_expr) for item in node.items)
            if ".begin(" in ctx or "Session(" in ctx:
                found += [f"{name}:{sub.lineno}" for sub in ast.walk(node) if isinstance(sub, ast.Await)]
    return found


def test_checker_finds_an_await_in_a_transaction():
    bad = "async def f(s, m):\n    with s.begin() as x:\n        await m.reply_text('x')\n"
    assert _violations(bad, "bad.py") == ["bad.py:3"]


def test_no_handler_or_service_awaits_inside_a_transaction():
    found = []
    for path in sorted((ROOT / "handlers").rglob("*.py")) + sorted((ROOT / "bot").rglob("*.py")):
        found += _violations(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert found == []
