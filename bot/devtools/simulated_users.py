"""Scripted inspectors for the local Bot API emulator (bot.devtools.botapi_emulator): they press what a person would press in
`/enter` and wait until the bot has handled each step. Used by the end-to-end tests, the entry benchmark and
the offline demo."""

from __future__ import annotations

import time
from typing import Callable

from bot.devtools.botapi_emulator import FakeBotAPI

PROBLEM_NOTE = "已当场责令改正，悬挂禁入标志"


class ScriptedInspector:
    """Enters every target of their group for their department: code 1 for each item (optionally code 5 with a
    description for the first), then 提交. With `shortcuts`, the fast paths instead: 全部「1 未发现问题」 then 提交,
    or (problem first) 标记问题事项 → the first item → 5 → the description → 其余全部 → 提交.
    `done()` says when the database has their department's submissions.

    Like a person after the bot restarted mid-step, an action that changed nothing the inspector can see (the
    reply was lost, a stale button was refused) is followed by `/enter`, which resumes from the saved drafts.
    `presses` records each button press as (callback query id, callback data)."""

    def __init__(self, emu: FakeBotAPI, telegram_id: int, name: str, done: Callable[[], bool] | None = None, *,
                 problem_first: bool = False, shortcuts: bool = False,
                 on_step: Callable[[str, str], None] | None = None):
        self.emu = emu
        self.tg = telegram_id
        self.user = emu.user(telegram_id, name)
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
        """Until the bot has handled this user's updates: the bot confirms an update only after handling it."""
        self.emu.wait_for(lambda e: self.tg not in e.pending_senders(), timeout=timeout)

    def send(self, text: str) -> None:
        t0 = time.perf_counter()
        self.user.send(text)
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

    def _press(self, msg, text: str) -> str:
        data = msg.find_button(text).get("callback_data", "")
        query_id = self.user.press(msg, text)
        self.presses.append((query_id, data))
        return query_id

    def _view(self) -> tuple:
        """What the inspector sees: how many messages, and the latest one with buttons as it looks now."""
        msg = self.latest_with_buttons()
        shown = (msg.message_id, msg.text, tuple(msg.button_texts)) if msg else None
        return len(self.emu.sent_to(self.tg)), shown

    def latest_with_buttons(self):
        for msg in reversed(self.emu.sent_to(self.tg)):
            if msg.buttons and not msg.deleted:
                return msg
        return None

    # -- the script
    def finished_by_text(self) -> bool:
        """The bot said the department's results are in (by this user or the colleague)."""
        for msg in reversed(self.emu.sent_to(self.tg)):
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
            answer = self.emu.callback_answer(self._last_query) or {}
            if "已由" in (answer.get("text") or ""):  # the colleague submitted first
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
        pending = [b["text"] for b in (msg.buttons if msg else [])
                   if b.get("callback_data", "").startswith("ent:t:") and not b["text"].startswith("✅")]
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
            self.send(action[1]) if wait else self.user.send(action[1])
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
            raise AssertionError(f"inspector {self.tg} did not finish: {self.emu.dump()}")
        except BaseException as exc:  # reported to the caller's thread
            self.error = exc


def drive(emu: FakeBotAPI, inspectors: list[ScriptedInspector], timeout: float = 600,
          max_steps: int = 200) -> float:
    """Run many scripted inspectors at once from one thread: whenever a user's last update has been handled,
    they take their next step. Records each step's latency (sent → handled); returns the wall time."""
    sent_at: dict[int, float] = {}
    steps: dict[int, int] = {}
    active = {i.tg: i for i in inspectors}
    t0 = time.perf_counter()
    while active:
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError(f"{len(active)} inspectors still busy\n{emu.dump()}")
        pending = emu.pending_senders()
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
                raise AssertionError(f"inspector {tg} did not finish\n{emu.dump()}")
            insp.perform(action, wait=False)
            sent_at[tg] = time.perf_counter()
        time.sleep(0.005)
    return time.perf_counter() - t0
