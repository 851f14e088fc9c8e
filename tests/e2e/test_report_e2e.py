"""End-to-end over HTTP (issue 5): the bot process against the Bot API emulator. A coordinator's /report receives
the five workbooks as multipart uploads and an inspector's is refused; when an inspector submits the campaign's
last result through /enter, the coordinator receives the five workbooks automatically — exactly once, also
after the bot process is restarted."""

from __future__ import annotations

import time
from io import BytesIO

import openpyxl
import pytest
from sqlalchemy import func, select

from bot.db import make_engine, make_sessionmaker
from bot.devtools.simulated_users import ScriptedInspector
from models import Campaign, GroupTarget, OutboxMessage, Person, Submission
from reports import REPORT_FILES
from tests.reportsetup import coordinator_tgs, drawn, enter, pairs_to_enter

pytestmark = pytest.mark.e2e


def _documents(emu, chat_id: int):
    return [m for m in emu.sent_to(chat_id) if m.document]


@pytest.fixture
def county(db_url):
    """Drawn; every result entered except those of one inspector (the last group's last department)."""
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    cid, draw_id = drawn(sessions)
    pairs = pairs_to_enter(sessions, draw_id)
    last_person = pairs[-1][0]
    for person, gt in pairs:
        if person != last_person:
            enter(sessions, person, gt)
    with sessions.begin() as s:
        person = s.get(Person, last_person)
        number = s.get(Campaign, cid).number
        inspector = (person.id, person.telegram_user_id, person.name, person.department_id)
        groups = {s.get(GroupTarget, gt).group_id for p, gt in pairs if p == last_person}
    (group_id,) = groups
    yield sessions, cid, number, inspector, group_id
    engine.dispose()


@pytest.fixture
def report_bot(county, bot_config, tmp_path, emu):
    from tests.e2e.conftest import BotProcess

    proc = BotProcess(bot_config, tmp_path / "bot.log")
    proc.start(emu)
    yield proc
    proc.stop()


def test_coordinator_report_over_http_and_inspector_refused(emu, county, report_bot):
    sessions, _cid, number, (_pid, inspector_tg, inspector_name, _dept), _group = county
    (coordinator_tg,) = coordinator_tgs(sessions).values()
    coordinator = emu.user(coordinator_tg, "联络员")
    coordinator.send("/report")
    docs = emu.wait_for(lambda e: len(_documents(e, coordinator_tg)) >= 5 and _documents(e, coordinator_tg),
                        timeout=60)
    assert [d.filename for d in docs] == [f"{number}_{kind}.xlsx" for kind in REPORT_FILES]
    uploads = [c for c in emu.calls_to("sendDocument") if c.chat_id == coordinator_tg]
    assert len(uploads) == 5 and all(c.file is not None and c.file.filename == d.filename
                                     for c, d in zip(uploads, docs))  # multipart uploads, bytes kept
    for doc in docs:
        assert openpyxl.load_workbook(BytesIO(doc.data)).worksheets
    progress = emu.wait_for(lambda e: [m for m in e.sent_to(coordinator_tg) if not m.document
                                       and (m.text or "").startswith("已发送 5 个文件")], timeout=20)
    assert number in progress[0].text

    inspector = emu.user(inspector_tg, inspector_name)
    inspector.send("/report")
    reply = emu.wait_reply(inspector, 0, timeout=20)
    assert "没有执行此操作的权限" in reply.text
    time.sleep(0.5)
    assert _documents(emu, inspector_tg) == []


def test_last_submission_sends_the_reports_once_also_after_a_restart(emu, county, report_bot):
    sessions, cid, number, (pid, inspector_tg, inspector_name, dept_id), group_id = county
    coordinators = coordinator_tgs(sessions)
    for tg in coordinators.values():
        emu.user(tg, "联络员")
    with sessions.begin() as s:
        assert s.get(Campaign, cid).state == "inspecting"
        n_targets = s.scalar(select(func.count()).select_from(GroupTarget).where(GroupTarget.group_id == group_id))

    def done() -> bool:
        with sessions.begin() as s:
            return s.scalar(select(func.count()).select_from(Submission).where(
                Submission.person_id == pid, Submission.department_id == dept_id)) >= n_targets

    inspector = ScriptedInspector(emu, inspector_tg, inspector_name, done)
    inspector.run()
    assert inspector.error is None, inspector.error
    with sessions.begin() as s:
        assert s.get(Campaign, cid).state == "entered"

    expected = [f"{number}_{kind}.xlsx" for kind in REPORT_FILES]
    for tg in coordinators.values():
        # sent at once (the submission wakes the sender), not at the minute job's next run
        docs = emu.wait_for(lambda e, tg=tg: len(_documents(e, tg)) >= 5 and _documents(e, tg), timeout=20)
        assert [d.filename for d in docs] == expected
        assert all("全部结果已录入" in (d.caption or "") for d in docs)
        assert openpyxl.load_workbook(BytesIO(docs[0].data)).worksheets

    time.sleep(3)  # another run of the minute job or a late wake-up would have sent more by now
    assert all(len(_documents(emu, tg)) == 5 for tg in coordinators.values())
    report_bot.stop()
    report_bot.start(emu)  # the catch-up run at start-up finds the send made
    time.sleep(4)
    assert all(len(_documents(emu, tg)) == 5 for tg in coordinators.values())
    with sessions.begin() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.dedup_key.like(f"report:{cid}:entered:%"))).all()
        assert len(rows) == 5 * len(coordinators) and {r.state for r in rows} == {"sent"}
