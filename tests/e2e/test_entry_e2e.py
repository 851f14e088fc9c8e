"""End-to-end over HTTP (issue 4): inspectors of different departments enter results at the same time through
the real bot process; one of them has the bot killed (`kill -9`) mid-target and restarted. Every answered item
is there afterwards and nothing is entered twice."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from bot import draws
from bot.config import config_from_dict
from bot.db import make_engine, make_sessionmaker
from models import (Assignment, Campaign, CampaignItem, DrawGroup, GroupTarget, Item, Person, Result, ResultDraft,
                    Submission)
from tests.drawsetup import prepare

pytestmark = pytest.mark.e2e


@pytest.fixture
def drawn(db_url):
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    cid = prepare(sessions)
    with sessions.begin() as s:
        draws.perform_draw(s, s.get(Campaign, cid), cfg=config_from_dict({}), person_id=None, actor="test")
    yield sessions, cid
    engine.dispose()


@pytest.fixture
def entry_bot(drawn, bot_config, tmp_path, emu):
    from tests.e2e.conftest import BotProcess

    proc = BotProcess(bot_config, tmp_path / "bot.log")
    proc.start(emu)
    yield proc
    proc.stop()


class Inspector:
    """A scripted inspector: presses what a person would press, waits for the bot after each step."""

    def __init__(self, emu, sessions, person: Person, group_id: int, n_items: int, problem_first: bool = False):
        self.emu, self.sessions = emu, sessions
        self.tg = person.telegram_user_id
        self.person_id = person.id
        self.department_id = person.department_id
        self.group_id = group_id
        self.n_items = n_items
        self.problem_first = problem_first
        self.user = emu.user(self.tg, person.name)
        self.pressed_codes: list[str] = []
        self.error: BaseException | None = None

    def _signature(self):
        msgs = self.emu.sent_to(self.tg)
        return len(msgs), sum(len(m.edits) for m in msgs)

    def _latest_with_buttons(self):
        for msg in reversed(self.emu.sent_to(self.tg)):
            if msg.buttons and not msg.deleted:
                return msg
        return None

    def _mine(self, update) -> bool:
        body = update.get("message") or update.get("callback_query") or {}
        return (body.get("from") or {}).get("id") == self.tg

    def _wait_settled(self, timeout=30):
        """Until the bot has handled this user's updates: our polling confirms an update only after handling it."""
        self.emu.wait_for(lambda e: not any(self._mine(u) for u in e.pending_updates()), timeout=timeout)

    def send(self, text):
        self.user.send(text)
        self._wait_settled()

    def press(self, msg, text):
        self.user.press(msg, text)
        self._wait_settled()

    def done(self) -> bool:
        with self.sessions.begin() as s:
            targets = s.scalar(select(func.count()).select_from(GroupTarget).where(GroupTarget.group_id == self.group_id))
            subs = s.scalar(select(func.count()).select_from(Submission).join(
                GroupTarget, (GroupTarget.target_id == Submission.target_id)).where(
                GroupTarget.group_id == self.group_id, Submission.department_id == self.department_id))
        return subs >= targets

    def step(self) -> bool:
        """One action; False when there is nothing left to do."""
        if self.done():
            return False
        msg = self._latest_with_buttons()
        texts = msg.button_texts if msg else []
        if any(t.startswith("5 ") for t in texts) and self.problem_first and not self.pressed_codes:
            self.pressed_codes.append("5")
            self.press(msg, "5 ")
        elif any(t.startswith("1 ") for t in texts):
            self.pressed_codes.append("1")
            self.press(msg, "1 ")
        elif "‹ 重选结果" in texts and "跳过" not in texts:
            self.send("已当场责令改正，悬挂禁入标志")
        elif "跳过" in texts:
            self.press(msg, "跳过")
        elif "提交" in texts:
            self.press(msg, "提交")
            self.send("/enter")
        else:
            pending = [b["text"] for b in (msg.buttons if msg else [])
                       if b.get("callback_data", "").startswith("ent:t:") and not b["text"].startswith("✅")]
            if pending:
                self.press(msg, pending[0])
            else:
                self.send("/enter")
        return True

    def run(self, max_steps=80):
        try:
            if not self._latest_with_buttons():
                self.send("/enter")
            for _ in range(max_steps):
                if not self.step():
                    return
            raise AssertionError(f"inspector {self.tg} did not finish: {self.emu.dump()}")
        except BaseException as exc:  # reported to the main thread
            self.error = exc


def test_concurrent_entry_with_a_crash_loses_and_duplicates_nothing(emu, drawn, entry_bot):
    sessions, cid = drawn
    with sessions.begin() as s:
        group = s.scalars(select(DrawGroup).order_by(DrawGroup.number)).first()
        members = s.scalars(select(Assignment).where(Assignment.group_id == group.id)
                            .order_by(Assignment.position)).all()
        by_dept: dict[int, Person] = {}
        for a in members:
            by_dept.setdefault(a.department_id, a.person)
        items_per_dept = {d: s.scalar(select(func.count()).select_from(CampaignItem).join(Item).where(
            CampaignItem.campaign_id == cid, Item.department_id == d)) for d in by_dept}
        n_targets = s.scalar(select(func.count()).select_from(GroupTarget).where(GroupTarget.group_id == group.id))
        inspectors = [Inspector(emu, sessions, p, group.id, items_per_dept[d], problem_first=(i == 1))
                      for i, (d, p) in enumerate(by_dept.items())]
    first = inspectors[0]  # 文旅: two items per target, so a crash can land between them
    assert first.n_items >= 2

    # Phase 1: the first inspector answers the first item of a target; the bot is killed right after.
    first.send("/enter")
    while not first.pressed_codes:
        first.step()
    first.step()  # 跳过 (no note): the draft is committed and the next item is asked
    with sessions.begin() as s:
        drafts_before = s.scalar(select(func.count()).select_from(ResultDraft).where(
            ResultDraft.person_id == first.person_id, ResultDraft.code.is_not(None)))
    assert drafts_before == 1, emu.dump(40)
    entry_bot.kill9()
    entry_bot.start(emu)

    # Phase 2: everyone at once, the first inspector resuming with /enter.
    first.send("/enter")
    latest = first._latest_with_buttons()
    assert latest is not None
    threads = [threading.Thread(target=i.run, daemon=True) for i in inspectors]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=180)
    errors = [i.error for i in inspectors if i.error]
    assert not errors, errors

    with sessions.begin() as s:
        for dept_id, n_items in items_per_dept.items():
            subs = s.scalar(select(func.count()).select_from(Submission).join(
                GroupTarget, GroupTarget.target_id == Submission.target_id).where(
                GroupTarget.group_id == group.id, Submission.department_id == dept_id))
            assert subs == n_targets
            results = s.scalar(select(func.count()).select_from(Result).join(
                GroupTarget, GroupTarget.target_id == Result.target_id).where(
                GroupTarget.group_id == group.id, Result.department_id == dept_id))
            assert results == n_targets * n_items  # every item once, none twice
        problem = s.scalars(select(Result).where(Result.code == 5)).all()
        assert len(problem) == 1 and "责令改正" in (problem[0].note or "")
    # the first inspector answered exactly one code per item: the crash did not make them answer again
    assert len(first.pressed_codes) == n_targets * first.n_items
