"""Scripted inspectors: they press what a person would press in `/enter` and wait until the bot has handled each
step, on any messenger's people side (bot.devtools.people: the local Bot API emulator or the local 钉钉 emulator).
Used by the end-to-end tests, the entry benchmark and the offline demo."""

from __future__ import annotations

import time
from typing import Any, Callable, Hashable

from bot.devtools.people import People, Seen, as_people

PROBLEM_NOTE = "已当场责令改正，悬挂禁入标志"


class ScriptedInspector:
    """Enters every target of their group for their department: code 1 for each item (optionally code 5 with a
    description for the first), then 提交. With `shortcuts`, the fast paths instead: 全部「1 未发现问题」 then 提交,
    or (problem first) 标记问题事项 → the first item → 5 → the description → 其余全部 → 提交.
    `done()` says when the database has their department's submissions.

    Like a person after the bot restarted mid-step, an action that changed nothing the inspector can see (the
    reply was lost, a stale button was refused) is followed by `/enter`, which resumes from the saved drafts.
    `presses` records each button press as (press id, callback data): on Telegram the callback query id.

    `people` is a `bot.devtools.people.People` (or a bare `FakeBotAPI`: Telegram), `who` the person's key there
    (the Telegram user id; the 钉钉 staffId). `person` is their people-side handle, `user` the emulator's user
    object, `tg` (= `who`) the key the drivers index them by."""

    def __init__(self, people: People | Any, who: Hashable, name: str, done: Callable[[], bool] | None = None, *,
                 problem_first: bool = False, shortcuts: bool = False,
                 on_step: Callable[[str, str], None] | None = None):
        self.people = as_people(people)
        self.emu = self.people.emu
        self.person = self.people.person(who, name)
        self.tg = who
        self.user = self.person.user
        self.done = done
        self.problem_first = problem_first
        self.shortcuts = shortcuts
        self.on_step = on_step
        self.pressed_codes: list[str] = []
        self.presses: list[tuple[str, str]] = []
        self.resumes = 0  # /enter sent because an action changed nothing
        self.latencies: list[float] = []
        self.error: BaseException | None = None
        self._last_query: str | None = None
        self._acted_on: tuple | None = None  # what the inspector saw when they last acted

    # -- waiting for the bot
    def _wait_settled(self, timeout: float = 60) -> None:
        """Until the bot has handled everything this person sent."""
        self.person.wait_settled(timeout)

    def send(self, text: str) -> None:
        t0 = time.perf_counter()
        self.person.send(text)
        self._wait_settled()
        self.latencies.append(time.perf_counter() - t0)
        if self.on_step:
            self.on_step("send", text)

    def press(self, msg, text: str) -> None:
        t0 = time.perf_counter()
        self._press(msg, text)
        self._wait_settled()
        self.latencies.append(time.perf_counter() - t0)
        if self.on_step:
            self.on_step("press", text)

    def _press(self, msg: Seen, text: str) -> str:
        query_id = self.person.press(msg, text)
        self.presses.append((query_id, self.person.pressed[query_id].data))
        return query_id

    def _view(self) -> tuple:
        """What the inspector sees: how many messages, and the latest one with buttons as it looks now."""
        messages = self.person.messages()
        msg = next((m for m in reversed(messages) if m.buttons and not m.deleted), None)
        shown = (msg.id, msg.text, tuple(msg.button_texts)) if msg else None
        return len(messages), shown

    def latest_with_buttons(self) -> Seen | None:
        return self.person.latest_with_buttons()

    # -- the script
    def finished_by_text(self) -> bool:
        """The bot said the department's results are in (by this user or the colleague)."""
        for msg in reversed(self.person.messages()):
            text = msg.text or ""
            if msg.buttons and not ("已提交" in text or "已由" in text):
                return False
            if "已提交" in text or "已由" in text:
                return True
        return False

    def next_action(self):
        """("send", text) or ("press", message, button text); None when there is nothing left to do."""
        if self.done is not None and self.done():
            return None
        if self.done is None and self._last_query:
            if "已由" in (self.person.answer(self._last_query) or ""):  # the colleague submitted first
                return None
        view = self._view()
        stalled = view == self._acted_on
        self._acted_on = view
        if stalled:  # nothing changed: the bot restarted mid-step or refused a stale button
            self.resumes += 1
            return ("send", "/enter")
        msg = self.latest_with_buttons()
        texts = msg.button_texts if msg else []
        shortcut = self._shortcut(texts)
        if shortcut is not None:
            return ("press", msg, shortcut)
        if self.problem_first and not self.pressed_codes and any(t.startswith("5 ") for t in texts):
            self.pressed_codes.append("5")
            return ("press", msg, "5 ")
        if any(t.startswith("1 ") for t in texts):
            self.pressed_codes.append("1")
            return ("press", msg, "1 ")
        if "‹ 重选结果" in texts and "跳过" not in texts:
            return ("send", PROBLEM_NOTE)
        if "跳过" in texts:
            return ("press", msg, "跳过")
        if "提交" in texts:
            self._submitted = True
            return ("press", msg, "提交")
        pending = [b.text for b in (msg.buttons if msg else ())
                   if b.data.startswith("ent:t:") and not b.text.startswith("✅")]
        if pending:
            return ("press", msg, pending[0])
        if self.done is None and getattr(self, "_asked", False) and self.finished_by_text():
            return None
        self._asked = True
        return ("send", "/enter")

    def _shortcut(self, texts: list[str]) -> str | None:
        """The button of the fast path to press now, if any (issue 13)."""
        if not self.shortcuts:
            return None
        if not self.problem_first and any(t.startswith("全部「") for t in texts):
            return "全部「"
        if self.problem_first and "标记问题事项" in texts:
            return "标记问题事项"
        if self.problem_first and any(t.startswith("其余全部「") for t in texts):  # the list of items
            if "5" in self.pressed_codes:
                return "其余全部「"
            return next(t for t in texts if t.startswith("1. "))  # the first item had the problem
        return None

    def perform(self, action, wait: bool = True) -> None:
        self._last_query = None
        if action[0] == "send":
            self.send(action[1]) if wait else self.person.send(action[1])
        elif wait:
            self.press(action[1], action[2])
        else:
            self._last_query = self._press(action[1], action[2])

    def step(self) -> bool:
        """One action, waiting for the bot; False when there is nothing left to do."""
        action = self.next_action()
        if action is None:
            return False
        self.perform(action)
        return True

    def run(self, max_steps: int = 200) -> None:
        try:
            for _ in range(max_steps):
                if not self.step():
                    return
            raise AssertionError(f"inspector {self.tg} did not finish: {self.people.dump()}")
        except BaseException as exc:  # reported to the caller's thread
            self.error = exc


def drive(people: People | Any, inspectors: list[ScriptedInspector], timeout: float = 600,
          max_steps: int = 200) -> float:
    """Run many scripted inspectors at once from one thread: whenever the bot has handled everything a person
    sent, they take their next step. Records each step's latency (sent → handled); returns the wall time.
    `people`: the inspectors' `People` (or a bare `FakeBotAPI`)."""
    people = as_people(people)
    sent_at: dict[Hashable, float] = {}
    steps: dict[Hashable, int] = {}
    active = {i.tg: i for i in inspectors}
    t0 = time.perf_counter()
    while active:
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError(f"{len(active)} inspectors still busy\n{people.dump()}")
        pending = set().union(*(group.pending([i.tg for i in active.values() if i.people is group])
                                for group in {id(i.people): i.people for i in active.values()}.values()))
        now = time.perf_counter()
        for tg, insp in list(active.items()):
            if tg in pending:
                continue
            if tg in sent_at:
                insp.latencies.append(now - sent_at.pop(tg))
            action = insp.next_action()
            steps[tg] = steps.get(tg, 0) + 1
            if action is None:
                del active[tg]
                continue
            if steps[tg] > max_steps:
                raise AssertionError(f"inspector {tg} did not finish\n{people.dump()}")
            insp.perform(action, wait=False)
            sent_at[tg] = time.perf_counter()
        time.sleep(0.005)
    return time.perf_counter() - t0
