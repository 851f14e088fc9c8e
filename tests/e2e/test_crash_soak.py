"""Crash soak (issue 7): inspectors of every group and department enter results at the same time through the real
bot process while it is killed with `kill -9` at random moments and restarted, round after round, in polling and
in webhook mode, and on 钉钉 (the bot behind the messenger bridge, the 钉钉 emulator delivering un-ACKed frames
again). Afterwards every update Telegram counts as delivered (every frame 钉钉 pushed) was handled, no answered
item is lost, nothing is doubled, every conversation resumes where the database says it stands, and every
department has submitted. `SOAK_SEED=<n>` repeats a run's kill schedule and think times."""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from bot.services import audit, result_entry
from bot.devtools.botapi_emulator import FakeBotAPI
from bot.devtools.people import as_people
from bot.devtools.simulated_users import ScriptedInspector
from models import (AuditEntry, Assignment, CampaignItem, DrawGroup, GroupTarget, Item, ProcessedUpdate,
                    Result, ResultDraft, Submission)
from tests import drawsetup
from tests.e2e.conftest import BotProcess, drawn_database, webhook_emulator
from tests.e2e.test_webhook_e2e import WebhookBot, use_webhook

# `slow`, not `soak`: pytest.ini's `soak` marks fuzz runs left out of the default run, and this one must run in CI.
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

KILLS = 8
KILL_DELAY = (0.3, 2.0)  # seconds of bot uptime before each kill
# An inspector's pause before each step: slow while the bot is being killed, so every kill finds work in flight
# and some is left after the last restart; brisk afterwards.
THINK_WHILE_KILLING = (0.2, 1.0)
THINK_AFTER = (0.0, 0.05)
# 12 targets in 4 groups of 3, one inspector per department and group: 16 inspectors entering at once.
PLAN = {**drawsetup.PLAN, "targets_per_group": 3, "inspectors_per_department": 1}
N_TARGETS = 40


@pytest.fixture
def emu():
    with webhook_emulator() as api:
        yield api


@pytest.fixture
def drawn(db_url):
    with drawn_database(db_url, plan=PLAN, n_targets=N_TARGETS) as drawn:
        yield drawn


class Crew:
    """The scripted inspectors, one per group and department, each in its own thread; `pause()` holds every one
    of them between two steps (after the bot has handled the last), `resume()` lets them go on."""

    def __init__(self, people, sessions, cid: int, seed: int, key_of=lambda person: person.telegram_user_id):
        """`people`: a `bot.devtools.people.People` (or a bare FakeBotAPI: Telegram); `key_of(person)`: the
        person's key there (Telegram: their user id; 钉钉: their staffId)."""
        self.people, self.sessions = as_people(people), sessions
        self.key_of = key_of
        self._go = threading.Event()
        self._go.set()
        self._lock = threading.Lock()
        self._held: set[int] = set()
        self.killing = True
        self.inspectors: list[ScriptedInspector] = []
        self.expected: dict[tuple[int, int], int] = {}  # (group id, department id) → targets
        with sessions.begin() as s:
            n_items = dict(s.execute(select(Item.department_id, func.count()).join(CampaignItem).where(
                CampaignItem.campaign_id == cid).group_by(Item.department_id)).all())
            self.items = n_items
            for group in s.scalars(select(DrawGroup).order_by(DrawGroup.number)):
                n_targets = s.scalar(select(func.count()).select_from(GroupTarget)
                                     .where(GroupTarget.group_id == group.id))
                first: dict[int, Assignment] = {}
                for a in s.scalars(select(Assignment).where(Assignment.group_id == group.id)
                                   .order_by(Assignment.position)):
                    first.setdefault(a.department_id, a)
                for dept_id, a in first.items():
                    self.expected[(group.id, dept_id)] = n_targets
                    self._add(a.person, group.id, dept_id, n_targets,
                              problem_first=n_items[dept_id] > 1, rng=random.Random(seed + a.person_id))

    def _add(self, person, group_id: int, dept_id: int, n_targets: int, *, problem_first: bool,
             rng: random.Random) -> None:
        def done() -> bool:
            return self.submitted(group_id, dept_id) >= n_targets

        key = self.key_of(person)

        def between_steps(_kind: str, _text: str) -> None:
            time.sleep(rng.uniform(*(THINK_WHILE_KILLING if self.killing else THINK_AFTER)))
            with self._lock:
                self._held.add(key)
            self._go.wait()
            with self._lock:
                self._held.discard(key)

        # half the inspectors (seeded) take the shortcuts of issue 13: a kill -9 may hit a bulk fill
        inspector = ScriptedInspector(self.people, key, person.name, done,
                                      problem_first=problem_first, shortcuts=rng.random() < 0.5,
                                      on_step=between_steps)
        inspector.person_id = person.id
        inspector.group_id, inspector.department_id = group_id, dept_id
        self.inspectors.append(inspector)

    def submitted(self, group_id: int, dept_id: int, session=None) -> int:
        if session is None:
            with self.sessions.begin() as s:
                return self.submitted(group_id, dept_id, s)
        return session.scalar(select(func.count()).select_from(Submission).join(
            GroupTarget, GroupTarget.target_id == Submission.target_id).where(
            GroupTarget.group_id == group_id, Submission.department_id == dept_id))

    def start(self) -> None:
        self.threads = [threading.Thread(target=i.run, kwargs={"max_steps": 400}, daemon=True)
                        for i in self.inspectors]
        for th in self.threads:
            th.start()

    def busy(self) -> int:
        return sum(th.is_alive() for th in self.threads)

    def pause(self, timeout: float = 120) -> None:
        self._go.clear()
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                held = len(self._held)
            if held == self.busy():
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"inspectors did not pause\n{self.people.dump()}")
            time.sleep(0.02)

    def resume(self) -> None:
        self._go.set()

    def join(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        for th in self.threads:
            th.join(max(0.0, deadline - time.monotonic()))

    def finish_after_last_restart(self) -> Counter:
        """Hold everyone: /enter must resume each open conversation where the drafts say; then let all finish —
        none may fail, and each must find everything submitted. Returns what /enter showed while held."""
        self.killing = False
        self.pause()
        shown = Counter(_check_resumes_where_the_drafts_say(self.sessions, i) for i in self.inspectors
                        if i.done is not None and not i.done())
        self.resume()
        self.join()
        errors = [(i.person.name, i.error) for i in self.inspectors if i.error]
        assert not errors, errors
        assert self.busy() == 0, self.people.dump()
        for inspector in self.inspectors:
            assert _check_resumes_where_the_drafts_say(self.sessions, inspector) == "all submitted"
        return shown


def _check_resumes_where_the_drafts_say(sessions, inspector: ScriptedInspector) -> str:
    """/enter: the bot shows the first item not answered (or its note, or the summary) of the target it resumes,
    or the list when no open target has an answer; returns what it showed."""
    person = inspector.person
    before = len(person.messages())
    person.send("/enter")
    person.wait_settled(60)
    shown = [m for m in person.messages()[before:] if m.buttons]
    assert shown, f"/enter showed no buttons to {person.name}\n{inspector.people.dump()}"
    datas = [b.data for b in shown[-1].buttons]
    kinds = {d.split(":")[1] for d in datas if d.startswith("ent:")}
    with sessions.begin() as s:
        if "all" in kinds and "c" not in kinds:  # the list of 标记问题事项: open, something still unanswered
            gt = int(next(d for d in datas if d.startswith("ent:all:")).split(":")[2])
            task = result_entry.load_task(s, inspector.person_id, gt)
            assert task.pending is not None and task.pending.code is None and not task.submitted, task
            return "problems"
        if "c" in kinds or "s" in kinds or ("e" in kinds and "ed" not in kinds):  # an item or its note
            gt, item_id = (int(x) for x in next(d for d in datas if d.split(":")[1] in ("c", "s", "e"))
                           .split(":")[2:4])
            pending = result_entry.load_task(s, inspector.person_id, gt).pending
            assert pending is not None and pending.item_id == item_id, (inspector.person.name, datas)
            assert (pending.code is None) == ("c" in kinds), (inspector.person.name, pending, datas)
            return "item" if "c" in kinds else "note"
        if "ok" in kinds:  # the summary: every item answered, not submitted
            gt = int(next(d for d in datas if d.startswith("ent:ok:")).split(":")[2])
            task = result_entry.load_task(s, inspector.person_id, gt)
            assert task.pending is None and not task.submitted, (inspector.person.name, task)
            return "summary"
        assert "t" in kinds, datas  # the list: nothing half-entered may hide behind it
        half = [task.target_name for task in result_entry.tasks_for(s, inspector.person_id)
                if not task.submitted and any(i.code is not None for i in task.items)]
        assert not half, (inspector.person.name, half, shown[-1].text)
        return "all submitted" if "均已提交" in (shown[-1].text or "") else "list"


@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_kill9_at_random_moments_loses_and_doubles_nothing(emu, drawn, bot_config, tmp_path, mode):
    sessions, cid = drawn
    seed = int(os.environ.get("SOAK_SEED") or random.SystemRandom().randrange(2**32))
    print(f"crash soak ({mode}): SOAK_SEED={seed}")
    rng = random.Random(seed)
    crew = Crew(emu, sessions, cid, seed)
    assert len(crew.inspectors) == 16

    for method in ("sendMessage", "editMessageText", "answerCallbackQuery"):
        emu.delay(method, 0.02)  # Telegram's round trip: each update is in the bot's hands for a while
    if mode == "webhook":
        use_webhook(bot_config)
    bot = (WebhookBot if mode == "webhook" else BotProcess)(bot_config, tmp_path / "bot.log")
    bot.start(emu)
    t0 = time.monotonic()
    crew.start()
    kills_busy = 0
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(*KILL_DELAY))
            kills_busy += crew.busy() > 0
            bot.kill9()
            bot.start(emu)
        shown = crew.finish_after_last_restart()
    finally:
        crew.resume()
        bot.stop()
    wall = time.monotonic() - t0
    resumes = sum(i.resumes for i in crew.inspectors)
    print(f"crash soak: {KILLS} kills ({kills_busy} while inspectors were busy), {wall:.1f} s, "
          f"{len(crew.inspectors)} inspectors, {sum(len(i.presses) for i in crew.inspectors)} presses, "
          f"{resumes} /enter after a lost step; after the last restart /enter showed {dict(shown)}")
    # every kill hit inspectors at work, and at least one conversation was open at the last restart (how many
    # depends on the machine's speed), so the resume check above was not vacuous
    assert kills_busy == KILLS and sum(shown.values()) >= 1, \
        "the inspectors finished too early for the soak to hit them"

    # A handler error shows the user "处理时出错": none may happen. (A press re-delivered after a crash whose
    # callback query the killed process had already answered used to be one: handlers.common.answer_query.)
    log = bot.log_path.read_text(encoding="utf-8", errors="replace")
    failures = log.split("ERROR handlers: error while handling an update")[1:]
    assert not failures, failures[0][:3000]
    unanswered = {d.update_id for d in emu.webhook_deliveries if not d.ok}
    print(f"crash soak: {log.count('was already handled; dropped')} re-delivered update(s) dropped as handled, "
          f"{log.count('already answered or expired')} re-delivered press(es) whose callback query had been "
          "answered already"
          + (f", {len(unanswered)} webhook POST(s) left unanswered by a kill and sent again" if mode == "webhook"
             else ""))

    with sessions.begin() as s:
        # every update the emulator counts as delivered (confirmed by a getUpdates offset, or answered 2xx to its
        # webhook POST) was handled
        assert not emu.pending_updates()
        handled = set(s.scalars(select(ProcessedUpdate.update_id)))
        lost = sorted(set(range(1, emu.last_update_id + 1)) - handled)
        assert not lost, f"confirmed to Telegram but never handled: {lost}"
    _check_nothing_lost_or_doubled(sessions, crew, lambda _inspector, query_id: emu.callback_answer(query_id)
                                   is not None)


def _check_nothing_lost_or_doubled(sessions, crew: Crew, was_acknowledged) -> None:
    """Every department of every group submitted every target once, every result once, the audit chain intact,
    no draft left, and the last code an inspector pressed and saw `was_acknowledged(inspector, press id)` for each
    item is the submitted value."""
    with sessions.begin() as s:
        # every department of every group submitted every target, each once
        for (group_id, dept_id), n_targets in crew.expected.items():
            assert crew.submitted(group_id, dept_id, s) == n_targets
        subs = s.execute(select(Submission.id, Submission.draw_id, Submission.target_id,
                                Submission.department_id)).all()
        assert len(subs) == sum(crew.expected.values())
        assert len({(d, t, dep) for _id, d, t, dep in subs}) == len(subs)
        # one result per (draw, target, item), and as many as items were asked
        keys = Counter(s.execute(select(Result.draw_id, Result.target_id, Result.item_id)).all())
        assert keys and max(keys.values()) == 1
        assert sum(keys.values()) == sum(n * crew.items[dept] for (_g, dept), n in crew.expected.items())
        # the audit log holds each submission once, and its chain is intact
        logged = Counter(s.scalars(select(AuditEntry.subject).where(AuditEntry.action == "result.submit")))
        assert logged == Counter(f"submission:{sub_id}" for sub_id, *_ in subs)
        assert audit.verify(s).ok
        assert s.scalar(select(func.count()).select_from(ResultDraft)) == 0  # all settled by the submissions
        # every code an inspector pressed and saw acknowledged is the submitted value (the last one per item)
        results = {(d, t, i): code for d, t, i, code in s.execute(
            select(Result.draw_id, Result.target_id, Result.item_id, Result.code))}
        where = {gt_id: (draw_id, target_id) for gt_id, draw_id, target_id in s.execute(
            select(GroupTarget.id, DrawGroup.draw_id, GroupTarget.target_id).join(DrawGroup))}
        acknowledged = 0
        for inspector in crew.inspectors:
            last: dict[tuple[int, int, int], int] = {}
            for query_id, data in inspector.presses:
                parts = data.split(":")
                if parts[:2] == ["ent", "c"] and was_acknowledged(inspector, query_id):
                    draw_id, target_id = where[int(parts[2])]
                    last[(draw_id, target_id, int(parts[3]))] = int(parts[4])
            for key, code in last.items():
                assert results.get(key) == code, (inspector.person.name, key, code, results.get(key))
            acknowledged += len(last)
        assert 0 < acknowledged <= sum(keys.values())
        problems = s.scalars(select(Result).where(Result.code == 5)).all()
        assert problems and all("责令改正" in (r.note or "") for r in problems)


# ------------------------------------------------------------------------------------------------ 钉钉

DT_KILLS = 8
# Kinds of kill that must each happen at least once (KillSnapshot; seeded: which kill rounds aim for which, the
# others kill at the plain seeded moment): "stored" — an event stored (and ACKed), not handled yet; "handling" —
# an event's handler cut in the middle (committed, its reply not answered by 钉钉 yet; or replied, not committed);
# "cut" — an event stored whose ACK never reached 钉钉, so that 钉钉 delivers it again to the next process, which
# must drop it ("delivered again: dropped"). A kill -9 cannot lose an ACK the process wrote (the kernel still
# sends it) and the bridge writes the ACK right after its commit (no await in between): a plain kill hits that
# window rarely, so a "cut" round first drops the Stream connection (a network failure) just after a push, and
# kills the bot, before it reconnects, once it has stored a frame it could not ACK.
DT_AIMED = ("stored", "handling", "cut")
DT_AIM_FOR = 4.0  # seconds a kill round waits (after its seeded moment) for the state it aims at
DT_CUT_TRIES = 6  # a "cut" round tries this often to cut the Stream while the bot is storing a frame
DT_POLL = 0.03  # seconds between an inspector's looks whether the bot has handled their step
ACK_LIMIT = 2.0  # 钉钉 wants a card callback ACKed within ~2 s (bot.devtools.dingtalk_emulator.LATE_ACK_SECONDS)


@pytest.fixture
def dt():
    from bot.devtools.dingtalk_emulator import FakeDingTalk

    with FakeDingTalk(client_id="dingappkey", client_secret="s3cret") as fake:
        yield fake


def _dt_config(path, dt, db_url: str):
    path.write_text(f'[bot]\nplatform = "dingtalk"\n[dingtalk]\nclient_id = "dingappkey"\nclient_secret = "s3cret"\n'
                    f'card_template_id = "tpl.schema"\nadmins = []\nopenapi_endpoint = "{dt.openapi_url}"\n'
                    f'oapi_endpoint = "{dt.oapi_url}"\n[database]\nurl = "{db_url}"\n'
                    '[reminders]\nenabled = false\n', encoding="utf-8")
    return path


@pytest.fixture
def reader(db_url):
    """Sessions that only read, outside the bot's locking: the bot's engine begins every SQLite transaction with
    BEGIN IMMEDIATE (bot.db), which would queue a look at the database behind — or, with the bot stopped by
    SIGSTOP mid-transaction, forever behind — the bot's writers. WAL lets a plain reader read meanwhile."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    engine = create_engine(db_url, connect_args={"timeout": 30} if db_url.startswith("sqlite") else {})
    yield sessionmaker(engine)
    engine.dispose()


def _external_ids(dt) -> dict[str, str]:
    """messageId of each CALLBACK frame pushed → the id the bridge stores its event under (platform_events
    .external_id): a bot message's msgId (bot.runtime.dingtalk.adapter.incoming_message), a card callback's
    messageId (button_press)."""
    out = {}
    for push in dt.pushes:
        frame = push["frame"]
        if frame["type"] == "CALLBACK" and frame["headers"]["messageId"] not in out:
            out[frame["headers"]["messageId"]] = _external_id(frame)
    return out


def _external_id(frame: dict) -> str:
    from bot.devtools.dingtalk_emulator import TOPIC_BOT_MESSAGE

    if frame["headers"]["topic"] == TOPIC_BOT_MESSAGE:
        return json.loads(frame["data"])["msgId"]
    return frame["headers"]["messageId"]


class KillSnapshot:
    """What a kill cut short. Taken while the bot is stopped (SIGSTOP: the database changes no more): the events
    stored but not confirmed, whether each one's handler committed its unit of work (its marker in
    processed_updates), and whether 钉钉 had answered a reply to its sender by then (a card created or updated, or
    a text sent, in their private chat since the frame was pushed: the emulator records a call once answered).
    Completed after the kill (`after_kill`: once 钉钉 saw the socket close, every ACK and request the bot wrote
    has arrived) by the replies the bot had sent at all. Each such event is:

    - `stored`: not committed, no reply even sent — stored (and ACKed), not handled yet: the next process
      handles it;
    - `handling`: the kill cut its handler in the middle — committed but its reply not answered yet (the handler
      was awaiting 钉钉, or about to send; the next process drops the update: "update N was already handled;
      dropped"; `reply_cut`: the reply was never sent, and the inspector, who sees nothing change, resumes with
      /enter from the drafts), or a reply sent but nothing committed (handled again);
    - `handled`: committed and its reply answered — only the rest of the batch and the confirmation (the next
      getUpdates offset) were missing: dropped as handled.

    And the frames: `unacked_stored` — external ids of events stored whose frame is still un-ACKed: 钉钉 delivers
    them again and the next process must drop them ("delivered again: dropped"); `unacked_new` — frames pushed,
    neither ACKed nor stored: the next process stores them."""

    def __init__(self, reader, dt, keys: dict[int, str], n: int, aimed: str | None):
        from models import PlatformEvent

        self.n, self.aimed, self.keys = n, aimed, keys
        self.calls_at_stop = len(dt.calls)
        with reader() as s:
            self.open = s.execute(select(PlatformEvent.id, PlatformEvent.external_id, PlatformEvent.update,
                                         ProcessedUpdate.update_id.is_not(None))
                                  .outerjoin(ProcessedUpdate, ProcessedUpdate.update_id == PlatformEvent.id)
                                  .where(PlatformEvent.confirmed_at.is_(None))).all()
            self.stored_ids = set(s.scalars(select(PlatformEvent.external_id)))
        self.marked = [i for i, _e, _u, marked in self.open if marked]  # the next process must drop these
        self.stored: list[int] = []
        self.handling: list[int] = []
        self.reply_cut: list[int] = []
        self.handled: list[int] = []
        self.unacked_stored: list[str] = []
        self.unacked_new: list[str] = []
        self.log_at = 0
        self._classify(dt, dt.calls[:self.calls_at_stop], dt.calls[:self.calls_at_stop])

    def _classify(self, dt, answered, sent) -> None:
        ext = _external_ids(dt)
        pushed_at: dict[str, float] = {}
        for push in dt.pushes:
            if push["frame"]["type"] == "CALLBACK":
                pushed_at.setdefault(ext[push["frame"]["headers"]["messageId"]], push["time"])

        def replied(calls, sender, external_id) -> bool:
            since = pushed_at.get(external_id, float("inf"))
            return any(call.time >= since and sender in _shown_to(dt, call) for call in calls)

        self.stored, self.handling, self.reply_cut, self.handled = [], [], [], []
        for event_id, external_id, update, marked in self.open:
            sender = self.keys.get(((update.get("callback_query") or update.get("message") or {}).get("from")
                                    or {}).get("id"))
            answered_ = replied(answered, sender, external_id)
            sent_ = answered_ or replied(sent, sender, external_id)
            if marked and answered_:
                self.handled.append(event_id)
            elif marked or sent_:
                self.handling.append(event_id)
                if marked and not sent_:
                    self.reply_cut.append(event_id)
            else:
                self.stored.append(event_id)

    def after_kill(self, dt, log_size: int) -> None:
        self.log_at = log_size
        dt.wait_for(lambda d: d.connections == 0, timeout=10)
        time.sleep(0.2)  # requests the bot sent before it died are answered (and recorded) meanwhile
        ext = _external_ids(dt)
        pending = [ext[m] for m in dt.pending_acks() if m in ext]
        self.unacked_stored = sorted(e for e in pending if e in self.stored_ids)
        self.unacked_new = sorted(e for e in pending if e not in self.stored_ids)
        self._classify(dt, dt.calls[:self.calls_at_stop], dt.calls)

    def kinds(self) -> set[str]:
        return {k for k, v in (("stored", self.stored), ("handling", self.handling), ("cut", self.unacked_stored))
                if v}

    def __repr__(self) -> str:
        return (f"kill {self.n} ({self.aimed or 'plain'}): {len(self.stored)} stored not handled, "
                f"{len(self.handling)} mid-handling ({len(self.reply_cut)} with the reply never sent), "
                f"{len(self.handled)} handled not confirmed, "
                f"{len(self.unacked_stored)} stored un-ACKed, {len(self.unacked_new)} un-ACKed not stored")


def _shown_to(dt, call) -> set[str]:
    """The staffIds in whose private chat an API call showed something (a card created or updated, a text or
    file sent)."""
    if not call.ok or not isinstance(call.json, dict):
        return set()
    if call.api == "batchSend":
        return {str(u) for u in call.json.get("userIds") or []}
    if call.api == "cardCreate":
        space = str(call.json.get("openSpaceId") or "")
        return {space.split("IM_ROBOT.", 1)[1]} if "IM_ROBOT." in space else set()
    if call.api == "cardUpdate":
        chat = dt.card(str(call.json.get("outTrackId"))).chat_key
        return {chat.removeprefix("user:")} if chat.startswith("user:") else set()
    return set()


class Stops:
    """SIGSTOP / SIGCONT of the bot process, for a look at a state that holds still; `intervals` records when it
    was stopped (time.time()), so that an ACK's latency can leave out the time the test held the bot."""

    def __init__(self) -> None:
        self.intervals: list[tuple[float, float]] = []
        self.kills: list[float] = []
        self.cuts: list[float] = []  # when the test dropped the Stream connection (_kill_after_cut)
        self._since: float | None = None

    def stop(self, bot) -> None:
        os.kill(bot.proc.pid, signal.SIGSTOP)
        self._since = time.time()

    def cont(self, bot) -> None:
        os.kill(bot.proc.pid, signal.SIGCONT)
        self.intervals.append((self._since, time.time()))

    def kill9(self, bot) -> None:
        bot.kill9()
        self.intervals.append((self._since, time.time()))
        self.kills.append(time.time())

    def held(self, start: float, end: float) -> float:
        """Seconds of [start, end] during which the bot was stopped by the test."""
        return sum(max(0.0, min(end, b) - max(start, a)) for a, b in self.intervals)


def _kill_aimed(bot, stops: Stops, dt, reader, keys, n: int, aimed: str | None) -> KillSnapshot:
    """kill -9 now (aimed None), or at the first moment within DT_AIM_FOR s that the bot is in the state aimed at
    ("stored", "handling": KillSnapshot): when a look at the running bot finds it, the bot is stopped and looked
    at again, and killed if it is still there, else let go on; at the deadline, killed anyway."""
    deadline = time.monotonic() + DT_AIM_FOR
    if aimed == "cut":
        return _kill_after_cut(bot, stops, dt, reader, keys, n, deadline)
    while True:
        late = time.monotonic() > deadline
        if aimed is None or late or aimed in KillSnapshot(reader, dt, keys, n, aimed).kinds():
            stops.stop(bot)
            snap = KillSnapshot(reader, dt, keys, n, aimed)
            if aimed is None or late or aimed in snap.kinds():
                stops.kill9(bot)
                return snap
            stops.cont(bot)
        time.sleep(0.01)


def _kill_after_cut(bot, stops: Stops, dt, reader, keys, n: int, deadline: float) -> KillSnapshot:
    """The Stream connection drops (dt.drop_connections: a network failure) just after 钉钉 pushed a frame, so
    that what the bot stores meanwhile cannot be ACKed ("connection closed before the ACK"); the bot is stopped
    before it reconnects (its first backoff is ≥ 0.5 s) and killed if it holds such an event, else it may
    reconnect and the cut is tried again."""
    snap = None
    for _ in range(DT_CUT_TRIES):
        dt.wait_for(lambda d: d.connections > 0, timeout=30)
        seen = len(dt.pushes)
        try:
            dt.wait_for(lambda d: any(p["frame"]["type"] == "CALLBACK" and not p["redelivery"]
                                      for p in d.pushes[seen:]), timeout=max(0.5, deadline - time.monotonic()))
        except TimeoutError:
            break
        stops.cuts.append(time.time())
        dt.drop_connections()
        time.sleep(0.2)
        stops.stop(bot)
        snap = KillSnapshot(reader, dt, keys, n, "cut")
        ext = _external_ids(dt)
        if dt.connections == 0 and any(ext.get(m) in snap.stored_ids for m in dt.pending_acks()):
            break
        stops.cont(bot)
        snap = None
    if snap is None:
        stops.stop(bot)
        snap = KillSnapshot(reader, dt, keys, n, "cut")
    stops.kill9(bot)
    return snap


def test_kill9_on_dingtalk_loses_and_doubles_nothing(dt, drawn, reader, db_url, tmp_path, monkeypatch):
    """The soak on 钉钉: the bot behind the messenger bridge (`[bot] platform = "dingtalk"`), the inspectors
    pressing cards on the local 钉钉 emulator, which delivers un-ACKed frames again every few seconds and on the
    next connection."""
    from bot.devtools.dingtalk_emulator import TOPIC_CARD_CALLBACK
    from bot.devtools.people import DingTalkPeople
    from bot.runtime.platform import store
    from bot.runtime.platform.base import Chat
    from bot.devtools import people as people_side
    from bot.services import identity
    from models import Person, PlatformEvent

    # Sixteen inspectors waiting for "settled" (their frames ACKed, their events confirmed: a look at the emulator
    # and at the database) every 5 ms starve the emulator's threads of the GIL, and the bot waits for them.
    monkeypatch.setattr(people_side, "POLL", DT_POLL)
    sessions, cid = drawn
    seed = int(os.environ.get("SOAK_SEED") or random.SystemRandom().randrange(2**32))
    print(f"crash soak (dingtalk): SOAK_SEED={seed}")
    rng = random.Random(seed)
    people = DingTalkPeople(dt, reader)
    keys: dict[int, str] = {}
    with sessions.begin() as s:  # everybody on 钉钉 (staffId staff<person id>), and the work group
        for p in s.scalars(select(Person).where(Person.telegram_user_id.is_not(None))):
            key = f"staff{p.id:04d}"
            p.telegram_user_id = people.bind(s, key, p.name)
            keys[p.telegram_user_id] = key
        s.flush()
        group = people.group("cidSoakGroup==", "联合抽查工作群", members=[people.person(k) for k in keys.values()])
        identity.bind_group(s, store.chat_id(s, "dingtalk", Chat("group", group.key, group.title)), actor="test",
                            title=group.title)
    crew = Crew(people, sessions, cid, seed, key_of=lambda person: keys[person.telegram_user_id])
    assert len(crew.inspectors) == 16
    aims = [None] * (DT_KILLS - len(DT_AIMED)) + list(DT_AIMED)
    rng.shuffle(aims)

    for api in ("batchSend", "groupSend", "cardCreate", "cardUpdate"):
        dt.delay(api, 0.02)  # 钉钉's round trip: each event is in the bot's hands for a while
    bot = BotProcess(_dt_config(tmp_path / "config.toml", dt, db_url), tmp_path / "bot.log")
    bot.start(None)
    starts = [time.time()]  # when each process was ready
    stops = Stops()
    t0 = time.monotonic()
    crew.start()
    snaps: list[KillSnapshot] = []
    kills_busy = 0
    try:
        for n, aimed in enumerate(aims, 1):
            time.sleep(rng.uniform(*KILL_DELAY))
            kills_busy += crew.busy() > 0
            snap = _kill_aimed(bot, stops, dt, reader, keys, n, aimed)
            snap.after_kill(dt, bot.log_path.stat().st_size)
            snaps.append(snap)
            print(snap)
            bot.start(None)
            starts.append(time.time())
        shown = crew.finish_after_last_restart()
        # every frame 钉钉 pushed is ACKed in the end (nothing left for it to deliver again)
        dt.wait_for(lambda d: not d.pending_acks(), timeout=30)
    finally:
        crew.resume()
        bot.stop()
    wall = time.monotonic() - t0
    log = bot.log_path.read_text(encoding="utf-8", errors="replace")
    again = log.count("delivered again: dropped")
    print(f"crash soak (dingtalk): {len(snaps)} kills ({kills_busy} while inspectors were busy), {wall:.1f} s, "
          f"{len(crew.inspectors)} inspectors, {sum(len(i.presses) for i in crew.inspectors)} presses, "
          f"{sum(i.resumes for i in crew.inspectors)} /enter after a lost step; after the last restart /enter "
          f"showed {dict(shown)}; {again} frame(s) delivered again dropped as stored, "
          f"{log.count('was already handled; dropped')} update(s) dropped as handled, "
          f"{dt.connections_total} Stream connections, {dt.duplicate_acks} duplicate ACK(s)")
    assert kills_busy == len(snaps) and sum(shown.values()) >= 1, \
        "the inspectors finished too early for the soak to hit them"

    # the kills landed where they must: between storing and handling, in the middle of handling, and between
    # storing and the ACK; and the next processes did what each cut-short event needed
    landed = set().union(*(snap.kinds() for snap in snaps))
    assert landed == {"stored", "handling", "cut"}, snaps
    for snap in snaps:
        later = log[snap.log_at:]
        for update_id in snap.marked:
            assert f"update {update_id} was already handled; dropped" in later, (snap, update_id)
        for external_id in snap.unacked_stored:
            assert f"dingtalk event {external_id} delivered again: dropped" in later, (snap, external_id)
    assert again >= 1

    failures = log.split("ERROR handlers: error while handling an update")[1:]
    assert not failures, failures[0][:3000]
    assert "not acknowledged" not in log, log[log.index("not acknowledged") - 3000:][:4000]
    assert not dt.protocol_errors, dt.protocol_errors[:5]
    assert not dt.internal_errors, dt.internal_errors[-1]
    assert not dt.pending_acks()

    # every card callback ACKed within 2 s of its first push — but for those whose ACK a kill cut off: pushed on
    # a connection that closed before the ACK (the process was killed, or the test cut the Stream) and ACKed on a
    # later connection, by the next process (or, after a cut, by the same one reconnected). Not counted: the time
    # the test held the bot stopped (SIGSTOP) to look at it.
    first_push: dict[str, tuple[float, str, str]] = {}  # messageId → (time, connection, topic)
    for push in dt.pushes:
        headers = push["frame"]["headers"]
        first_push.setdefault(headers["messageId"], (push["time"], push["conn"], headers.get("topic")))
    acked: dict[str, tuple[float, str]] = {}
    for ack in dt.acks:
        acked.setdefault(ack["json"]["headers"]["messageId"], (ack["time"], ack["conn"]))
    latency = {mid: (at - first_push[mid][0] - stops.held(first_push[mid][0], at), conn != first_push[mid][1])
               for mid, (at, conn) in acked.items() if mid in first_push and first_push[mid][2] == TOPIC_CARD_CALLBACK}
    in_time = sorted(seconds for seconds, cut in latency.values() if not cut)
    cut_off = sorted(seconds for seconds, cut in latency.values() if cut)
    print(f"crash soak (dingtalk): {len(latency)} card callbacks ACKed, slowest {in_time[-1]:.2f} s, median "
          f"{in_time[len(in_time) // 2]:.3f} s; {len(cut_off)} cut off by a kill, ACKed "
          f"{[round(x, 1) for x in cut_off]} s after their first push; the test held the bot stopped "
          f"{len(stops.intervals)} times, {sum(b - a for a, b in stops.intervals):.1f} s in all")
    assert len(latency) == sum(len(i.presses) for i in crew.inspectors)
    # (and a kill, or the test's cut of the Stream — a cut round that found nothing stored un-ACKed lets the bot
    # reconnect and tries again — did end the first connection before the ACK: after the connection's first
    # frame, which may be a frame pushed to a process already killed, before 钉钉 saw its socket close)
    opened: dict[str, float] = {}
    for push in dt.pushes:
        opened.setdefault(push["conn"], push["time"])
    ended = sorted(stops.kills + stops.cuts)
    assert all(any(opened[first_push[mid][1]] <= k <= acked[mid][0] for k in ended)
               for mid, (_s, cut) in latency.items() if cut), \
        [(first_push[mid], acked[mid], opened[first_push[mid][1]], ended) for mid, (_s, cut) in latency.items() if cut]
    late = {mid: round(seconds, 2) for mid, (seconds, cut) in latency.items() if not cut and seconds >= ACK_LIMIT}
    ready = {mid: first_push[mid][0] - max(t for t in starts if t <= first_push[mid][0]) for mid in late}
    assert not late, {mid: (seconds, f"pushed {ready[mid]:.2f} s after a process was ready")
                      for mid, seconds in late.items()}

    with reader() as s:
        events = s.execute(select(PlatformEvent.id, PlatformEvent.external_id, PlatformEvent.confirmed_at)).all()
        handled = set(s.scalars(select(ProcessedUpdate.update_id)))
    # every frame pushed was stored once (one event per frame, none twice, none lost), confirmed and handled
    pushed = _external_ids(dt)
    assert sorted(e for _i, e, _c in events) == sorted(set(pushed.values()))
    assert len(pushed) == len(set(pushed.values()))
    assert not [i for i, _e, confirmed in events if confirmed is None]
    assert not sorted({i for i, _e, _c in events} - handled)
    press_events = {e: i for i, e, _c in events}
    _check_nothing_lost_or_doubled(sessions, crew, lambda _inspector, press_id: press_events.get(press_id) in handled)
