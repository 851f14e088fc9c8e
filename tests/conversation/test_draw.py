"""The draw through the real Application (issue 3): /draw, refusals, failures that save nothing, re-draws,
/verify, /leader, /swap and /recuse with the department head's decision, export and `draw verify`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.rules import drawalgo
from bot.runtime import outbox_sender
from models import Assignment, AuditEntry, Conflict, Draw, DrawGroup, OutboxMessage, Person, StaffRequest
from tests.drawsetup import GROUP_ID, LEADER_TG, PLAN, prepare

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def county(sessions):
    return prepare(sessions)


async def _deliver(chat, sessions):
    """Run the outbox once, so its messages reach the stub like Telegram would get them."""
    chat.mark = len(chat.request.calls)
    while (await outbox_sender.deliver_due(chat.app.bot, sessions)).claimed:
        pass


def _drawn(sessions) -> tuple[Draw, list[Person]]:
    with sessions.begin() as s:
        draw = s.scalar(select(Draw).where(Draw.superseded_by_id.is_(None)))
        certs = [a["cert_no"] for g in draw.result["groups"] for a in g["inspectors"]]
        people = [s.scalar(select(Person).where(Person.cert_no == c)) for c in certs]
        return draw, people


async def test_leader_draw_announces_and_notifies(chat, sessions, county):
    await chat.as_user(LEADER_TG).in_group(GROUP_ID).send("/draw")
    draw, drawn = _drawn(sessions)
    with sessions.begin() as s:
        rows = s.scalars(select(OutboxMessage)).all()
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "draw.create")) == 1
    ann = [r for r in rows if r.chat_id == GROUP_ID]
    assert [r.method for r in ann] == ["sendMessage", "sendDocument"]  # the announcement, then its page (§5.11)
    assert draw.seed in ann[0].text and draw.digests["targets"] in ann[0].text and "抽取核验" in ann[0].text
    assert ann[1].payload["filename"].endswith("_抽取核验.html") and draw.seed.encode() in ann[1].document
    notified = {r.chat_id for r in rows if "您已被随机抽中" in (r.text or "")}
    assert notified == {p.telegram_user_id for p in drawn}
    letters = [r for r in rows if "抽调" in (r.text or "")]
    assert len(letters) == 4  # one 分管领导 per department
    await _deliver(chat, sessions)
    assert any(c.method == "sendMessage" and c.chat_id == GROUP_ID for c in chat.replies())
    assert any(c.method == "sendDocument" and c.chat_id == GROUP_ID for c in chat.replies())


async def test_refusals_change_nothing(chat, sessions, county):
    with sessions.begin() as s:
        inspector = s.scalars(select(Person).where(Person.roles == "inspector")).first().telegram_user_id
    await chat.as_user(inspector).in_group(GROUP_ID).send("/draw")
    assert "权限" in chat.last_text()
    await chat.as_user(LEADER_TG).send("/draw")
    assert "工作群" in chat.last_text()
    await chat.as_user(LEADER_TG).in_group(-100777).send("/draw")
    assert "不是已绑定" in chat.last_text()
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Draw)) == 0


async def test_unsatisfiable_draw_names_group_and_department_and_saves_nothing(chat, sessions):
    plan = dict(PLAN, inspectors_per_department=7, targets_per_group=0)
    prepare(sessions, plan=plan)
    await chat.as_user(LEADER_TG).in_group(GROUP_ID).send("/draw")
    text = chat.last_text()
    assert "第 1 组" in text and "西华县市场监督管理局" in text and "未保存" in text
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Draw)) == 0
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_redraw_needs_reason_and_supersedes(chat, sessions, county):
    await chat.as_user(LEADER_TG).in_group(GROUP_ID).send("/draw")
    await chat.send("/draw")
    assert "理由" in chat.last_text()
    await chat.send("/draw reason=原抽取时名录未更新")
    with sessions.begin() as s:
        draws = s.scalars(select(Draw).order_by(Draw.id)).all()
        assert len(draws) == 2
        assert draws[0].superseded_by_id == draws[1].id and draws[0].supersede_reason == "原抽取时名录未更新"


async def test_public_seed_and_verify(chat, sessions, county):
    await chat.as_user(LEADER_TG).in_group(GROUP_ID).send("/draw public=2022-09-16 双色球 2022108 期 01 05 12")
    draw, _ = _drawn(sessions)
    assert draw.seed_source == "public" and draw.seed == drawalgo.seed_from_public("2022-09-16 双色球 2022108 期 01 05 12")
    await chat.send(f"/verify {draw.id}")
    assert "一致" in chat.last_text() and "不一致" not in chat.last_text()
    with sessions.begin() as s:
        row = s.get(Draw, draw.id)
        result = json.loads(json.dumps(row.result))
        result["groups"][0]["targets"].reverse()
        s.execute(update(Draw).where(Draw.id == draw.id).values(result=result))
    await chat.send(f"/verify {draw.id}")
    assert "不一致" in chat.last_text()


async def test_leader_can_rename_group_leader(chat, sessions, county):
    await chat.as_user(LEADER_TG).in_group(GROUP_ID).send("/draw")
    draw, drawn = _drawn(sessions)
    second = [p for p in drawn[:8]][1]
    await chat.send(f"/leader 1 {second.name}")
    assert second.name in chat.last_text()
    with sessions.begin() as s:
        group = s.scalar(select(DrawGroup).where(DrawGroup.draw_id == draw.id, DrawGroup.number == 1))
        assert group.leader_person_id == second.id


async def test_swap_approved_by_head_replaces_deterministically(chat, sessions, county):
    await chat.as_user(LEADER_TG).in_group(GROUP_ID).send("/draw")
    draw, drawn = _drawn(sessions)
    leaving = [p for p in drawn if p.department.name == "西华县市场监督管理局"][0]
    await chat.as_user(leaving.telegram_user_id).send("/swap 岗位调整，无法参加检查")
    assert "已提交" in chat.last_text()
    await _deliver(chat, sessions)
    with sessions.begin() as s:
        head = s.scalar(select(Person).where(Person.name == "陈彦兵"))  # 分管领导 of 市场监管
        other_head = s.scalar(select(Person).where(Person.name == "王黎明"))  # 公安's head
    asks = [c for c in chat.replies() if c.chat_id == head.telegram_user_id and c.buttons()]
    assert asks and "岗位调整" in asks[0].text
    # another department's head presses 同意 on a copy of the button: refused, nothing changes
    data = [d for text, d in asks[0].buttons() if text == "同意"][0]
    await chat.as_user(other_head.telegram_user_id).press_data(data)
    assert "分管领导" in chat.alerts()[-1]
    with sessions.begin() as s:
        assert s.scalar(select(StaffRequest)).state == "pending"
    await chat.as_user(head.telegram_user_id).press("同意")
    with sessions.begin() as s:
        req = s.scalar(select(StaffRequest))
        assert req.state == "approved" and req.replacement_no == 1
        old = s.scalar(select(Assignment).where(Assignment.person_id == leaving.id))
        new = s.get(Assignment, req.replacement_assignment_id)
        assert not old.active and new.active and new.replaces_id == old.id
        draw_row = s.get(Draw, draw.id)
        record = {"seed": draw_row.seed, "pools": draw_row.pools, "result": draw_row.result}
        group = s.get(DrawGroup, old.group_id)
        expected = drawalgo.replacement_v1(record, group=group.number, n=1, department="西华县市场监督管理局",
                                           excluded=[])
        assert new.person.cert_no == expected
        ann = s.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == GROUP_ID,
                                                    OutboxMessage.text.like("%人员更换%"))).all()
        assert len(ann) == 1 and new.person.name in ann[0].text
    await chat.as_user(LEADER_TG).in_group(GROUP_ID).send(f"/verify {draw.id}")
    assert "一致" in chat.last_text() and "不一致" not in chat.last_text()
    # pressing again: already decided, nothing changes
    await chat.as_user(head.telegram_user_id).press_data(data)
    assert "已处理" in chat.alerts()[-1]


async def test_recuse_rejected_changes_nothing_and_approved_records_conflict(chat, sessions, county):
    await chat.as_user(LEADER_TG).in_group(GROUP_ID).send("/draw")
    draw, drawn = _drawn(sessions)
    who = [p for p in drawn if p.department.name == "西华县公安局"][0]
    await chat.as_user(who.telegram_user_id).send("/recuse 与该单位负责人系亲属")
    await chat.press("西华县")  # the first target button
    assert "已提交" in chat.last_text()
    await _deliver(chat, sessions)
    with sessions.begin() as s:
        head = s.scalar(select(Person).where(Person.name == "王黎明"))
    await chat.as_user(head.telegram_user_id).press("驳回")
    with sessions.begin() as s:
        assert s.scalar(select(StaffRequest)).state == "rejected"
        assert s.scalar(select(Assignment).where(Assignment.person_id == who.id)).active
    await chat.as_user(who.telegram_user_id).send("/recuse 与该单位负责人系亲属")
    await chat.press("西华县")
    await _deliver(chat, sessions)
    await chat.as_user(head.telegram_user_id).press("同意")
    with sessions.begin() as s:
        req = s.scalars(select(StaffRequest).order_by(StaffRequest.id.desc())).first()
        assert req.state == "approved"
        assert s.scalar(select(Conflict).where(Conflict.cert_no == who.cert_no)) is not None


async def test_forged_staff_callbacks_are_refused(chat, sessions, county):
    await chat.as_user(LEADER_TG).in_group(GROUP_ID).send("/draw")
    _, drawn = _drawn(sessions)
    await chat.as_user(drawn[0].telegram_user_id).press_data("swap:999999")
    assert "失效" in chat.alerts()[-1]
    await chat.as_user(drawn[0].telegram_user_id).press_data("staff:ok:abc")
    assert chat.alerts()  # an inspector may not decide at all
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(StaffRequest)) == 0


async def test_export_and_file_verify(chat, sessions, county, db_url, tmp_path):
    await chat.as_user(LEADER_TG).in_group(GROUP_ID).send("/draw")
    draw, _ = _drawn(sessions)
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    cfg = tmp_path / "c.toml"
    cfg.write_text("[bot]\n", encoding="utf-8")
    env.update(DATABASE_URL=db_url, BOT_CONFIG=str(cfg))
    out = tmp_path / "draw.json"
    proc = subprocess.run([sys.executable, "-m", "bot", "draw", "export", str(draw.id), str(out)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    verify_env = {"PATH": env.get("PATH", ""), "BOT_CONFIG": str(cfg)}  # no database at all
    proc = subprocess.run([sys.executable, "-m", "bot", "draw", "verify", str(out)], cwd=ROOT, env=verify_env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "一致" in proc.stdout, proc.stdout + proc.stderr
    text = out.read_text(encoding="utf-8")
    first = draw.result["groups"][0]["targets"][0]
    tampered = tmp_path / "tampered.json"
    tampered.write_text(text.replace(f'"{first}"', f'"{first[:-1]}{"0" if first[-1] != "0" else "1"}"', 1),
                        encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "bot", "draw", "verify", str(tampered)], cwd=ROOT,
                          env=verify_env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "不一致" in proc.stdout


async def test_unbound_drawn_people_are_listed_to_the_leader(chat, sessions):
    prepare(sessions, bind_all=False)
    await chat.as_user(LEADER_TG).in_group(GROUP_ID).send("/draw")
    draw, drawn = _drawn(sessions)
    with sessions.begin() as s:
        rows = s.scalars(select(OutboxMessage)).all()
    to_leader = [r for r in rows if r.chat_id == LEADER_TG]
    assert len(to_leader) == 1 and "未绑定" in to_leader[0].text
    for person in drawn:
        assert person.name in to_leader[0].text
    assert not [r for r in rows if "您已被随机抽中" in (r.text or "")]  # nobody to notify privately


async def test_staff_changes_are_in_the_audit_log(chat, sessions, county):
    await chat.as_user(LEADER_TG).in_group(GROUP_ID).send("/draw")
    _, drawn = _drawn(sessions)
    await chat.send(f"/leader 1 {drawn[1].name}")
    await chat.as_user(drawn[0].telegram_user_id).send("/swap 出差")
    await _deliver(chat, sessions)
    with sessions.begin() as s:
        head = [p for p in s.scalars(select(Person)) if p.has_role("dept_head")
                and p.department_id == drawn[0].department_id][0]
    await chat.as_user(head.telegram_user_id).press("同意")
    with sessions.begin() as s:
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {"draw.create", "draw.leader", "staff.swap.request", "staff.swap.approve"} <= actions


async def test_recuse_picker_is_paged_within_twelve_buttons(chat, sessions):
    """A group of fourteen targets: /recuse offers them ten a page with ‹ › (SPEC §11's portable subset: at most
    12 buttons on a message; it offered up to 50), a page comes from the database, a target on page 2 is filed."""
    from tests.drawsetup import PLAN, prepare

    prepare(sessions, plan={**PLAN, "sampling": {"count": 14}, "targets_per_group": 14})
    await chat.as_user(LEADER_TG).in_group(GROUP_ID).send("/draw")
    _, drawn = _drawn(sessions)
    who = drawn[0]
    await chat.as_user(who.telegram_user_id).send("/recuse 与该单位负责人系亲属")
    first = [c for c in chat.replies() if c.buttons()][-1].buttons()
    assert len(first) == 11 and first[-1][0] == "下一页 ›" and "第 1/2 页" in chat.last_text()
    await chat.press("下一页")
    second = [c for c in chat.replies() if c.buttons()][-1].buttons()
    assert len(second) == 5 and second[-1][0] == "‹ 上一页" and "第 2/2 页" in chat.last_text()
    await chat.press(second[0][0])
    assert "已提交" in chat.last_text()
    with sessions.begin() as s:
        req = s.scalar(select(StaffRequest))
        assert req.kind == "recuse" and req.target_id == int(second[0][1].split(":")[2])
    await chat.press_data("recuse:pg:x")  # forged: refused, nothing more filed
    assert "失效" in chat.alerts()[-1]
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(StaffRequest)) == 1
