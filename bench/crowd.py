"""The crowd of the entry benchmarks (bench_entry on the Telegram emulator, bench_dingtalk on both emulators):
every simulated inspector acting at once, with the latency of each action until the bot has handled it.

`people` is a `bot.devtools.people.People` (or a bare FakeBotAPI: Telegram), `cast` the inspectors as (key on
that messenger, name)."""

from __future__ import annotations

import time
from typing import Any, Hashable

from bot.devtools.people import People, as_people
from bot.devtools.simulated_users import ScriptedInspector, drive


def blast(people: People | Any, cast: list[tuple[Hashable, str]], text: str) -> tuple[float, list[float]]:
    """Everyone sends `text` at once; each one's latency is until the bot has handled it. Returns the wall time
    and the latencies (in the order of `cast`)."""
    people = as_people(people)
    users = [ScriptedInspector(people, key, name) for key, name in cast]
    t0 = time.perf_counter()
    for u in users:
        u.person.send(text)
    waiting = {u.tg: u for u in users}
    while waiting:
        pending = people.pending(list(waiting))
        now = time.perf_counter()
        for key in [k for k in waiting if k not in pending]:
            waiting.pop(key).latencies.append(now - t0)
        time.sleep(0.005)
    return time.perf_counter() - t0, [x for u in users for x in u.latencies]


def enter_all(people: People | Any, cast: list[tuple[Hashable, str]],
              kinds: list[tuple[bool, bool]]) -> tuple[list[ScriptedInspector], float, list[BaseException]]:
    """Everyone enters their results at once (simulated_users.drive); inspector n is ScriptedInspector's
    (shortcuts, problem_first) = kinds[n % len(kinds)]. Returns the inspectors (their latencies and presses),
    the wall time, and the run's failure if it failed (then the wall time is nan)."""
    workers = [ScriptedInspector(people, key, name, shortcuts=kinds[n % len(kinds)][0],
                                 problem_first=kinds[n % len(kinds)][1])
               for n, (key, name) in enumerate(cast)]
    try:
        return workers, drive(people, workers), []
    except (AssertionError, TimeoutError) as exc:
        return workers, float("nan"), [exc]
