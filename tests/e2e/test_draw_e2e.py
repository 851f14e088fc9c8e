"""End-to-end over HTTP (issue 3): a leader's /draw in the group posts the announcement with seed and digests;
refusals; notices; /verify answers 一致."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.db import make_engine, make_sessionmaker
from models import Assignment, Draw, Person
from tests.drawsetup import GROUP_ID, LEADER_TG, prepare, tg_id

pytestmark = pytest.mark.e2e


@pytest.fixture
def county(db_url):
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    prepare(sessions)
    yield sessions
    engine.dispose()


@pytest.fixture
def county_bot(county, bot_config, tmp_path, emu):
    from tests.e2e.conftest import BotProcess

    proc = BotProcess(bot_config, tmp_path / "bot.log")
    proc.start(emu)
    yield proc
    proc.stop()


def test_leader_draw_is_announced_notified_and_verifies(emu, county, county_bot):
    group = emu.group(GROUP_ID, "联合抽查工作群")
    leader = emu.user(LEADER_TG, "马勇")
    with county.begin() as s:
        people = {p.cert_no: p for p in s.scalars(select(Person)) if p.cert_no}
        for p in s.scalars(select(Person)):  # every bound person has opened a chat with the bot
            if p.telegram_user_id and p.telegram_user_id != LEADER_TG:
                emu.user(p.telegram_user_id, p.name)
    leader.send("/draw", chat=group)
    ann = emu.wait_for(lambda e: [m for m in e.sent_to(group) if "随机抽取结果" in (m.text or "")], timeout=20)[0]
    with county.begin() as s:
        draw = s.scalar(select(Draw))
        assert draw is not None
        assert draw.seed in ann.text and draw.digests["targets"] in ann.text
        for digest in draw.digests["inspectors"].values():
            assert digest in ann.text
        drawn = [a["cert_no"] for g in draw.result["groups"] for a in g["inspectors"]]
        draw_id = draw.id
    for cert in drawn:
        chat_id = tg_id(people[cert].id)
        msg = emu.wait_for(lambda e, c=chat_id: [m for m in e.sent_to(c) if "随机抽中" in (m.text or "")], timeout=20)
        assert "第 " in msg[0].text and "2022-10-31" in msg[0].text
    # department heads receive the summons letter
    heads = [p for p in people.values() if p.has_role("dept_head") and p.name != "马勇"]
    assert heads
    for head in heads:
        emu.wait_for(lambda e, c=tg_id(head.id): [m for m in e.sent_to(c) if "抽调" in (m.text or "")], timeout=20)
    # the group received the verification page (SPEC §5.11) beside the announcement: the whole record inside
    page = emu.wait_for(lambda e: [m for m in e.sent_to(group) if m.method == "sendDocument"], timeout=20)[0]
    assert page.filename.endswith("_抽取核验.html") and f"抽取编号 {draw_id}" in page.text
    html = page.data.decode("utf-8")
    assert draw.seed in html and all(cert in html for cert in drawn)
    before = len(emu.sent_to(group))
    leader.send(f"/verify {draw_id}", chat=group)
    sent = emu.wait_reply(group, before, timeout=15)  # the page, then the verdict
    reply = emu.wait_reply(group, before + 1, timeout=15)
    assert sent.filename == page.filename and sent.data == page.data  # nothing changed since the announcement
    assert "一致" in reply.text and "不一致" not in reply.text


def test_non_leader_and_wrong_chats_are_refused(emu, county, county_bot):
    group = emu.group(GROUP_ID, "联合抽查工作群")
    with county.begin() as s:
        inspector = s.scalars(select(Person).where(Person.roles == "inspector")).first()
        inspector_tg = inspector.telegram_user_id
    worker = emu.user(inspector_tg, "检查员")
    worker.send("/draw", chat=group)
    assert "权限" in emu.wait_reply(group, 0).text
    leader = emu.user(LEADER_TG, "马勇")
    leader.send("/draw")  # private chat
    assert "工作群" in emu.wait_reply(leader, 0).text
    other = emu.group(-1009999, "别的群")
    leader.send("/draw", chat=other)
    assert "不是已绑定" in emu.wait_reply(other, 0).text
    with county.begin() as s:
        assert s.scalar(select(func.count()).select_from(Draw)) == 0


def test_swap_approved_by_head_is_announced(emu, county, county_bot):
    group = emu.group(GROUP_ID, "联合抽查工作群")
    leader = emu.user(LEADER_TG, "马勇")
    with county.begin() as s:
        for p in s.scalars(select(Person)):
            if p.telegram_user_id and p.telegram_user_id != LEADER_TG:
                emu.user(p.telegram_user_id, p.name)
    leader.send("/draw", chat=group)
    emu.wait_for(lambda e: [m for m in e.sent_to(group) if "随机抽取结果" in (m.text or "")], timeout=20)
    with county.begin() as s:
        draw = s.scalar(select(Draw))
        cert = [a["cert_no"] for g in draw.result["groups"] for a in g["inspectors"]
                if a["department"] == "西华县公安局"][0]
        leaving = s.scalar(select(Person).where(Person.cert_no == cert))
        head = s.scalar(select(Person).where(Person.name == "王黎明"))
        leaving_tg, leaving_name, head_tg = leaving.telegram_user_id, leaving.name, head.telegram_user_id
    worker = emu.user(leaving_tg)
    worker.send("/swap 身体原因无法参加")
    emu.wait_for(lambda e: [m for m in e.sent_to(worker) if "已提交" in (m.text or "")], timeout=15)
    ask = emu.wait_for(lambda e: [m for m in e.sent_to(head_tg) if "同意" in m.button_texts], timeout=20)[0]
    emu.user(head_tg).press(ask, "同意")
    ann = emu.wait_for(lambda e: [m for m in e.sent_to(group) if "人员更换" in (m.text or "")], timeout=20)[0]
    assert leaving_name in ann.text
    with county.begin() as s:
        new = s.scalar(select(Assignment).where(Assignment.replaces_id.is_not(None)))
        assert new is not None and new.person.name in ann.text
    emu.wait_for(lambda e: [m for m in e.sent_to(new.person.telegram_user_id) if "替补" in (m.text or "")],
                 timeout=20)
