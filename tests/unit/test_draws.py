"""The draw on the database (SPEC §5.2, §5.7, §5.8): what enters the frozen pools, what is saved, what is
announced when the lists are long."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.services import draws
from bot.config import config_from_dict
from bot.services.draw_announcements import enqueue_draw_notices
from models import Assignment, Campaign, Draw, GroupTarget, OutboxMessage, Person, Target
from tests.drawsetup import GROUP_ID, PLAN, prepare

CFG = config_from_dict({})


def _draw(sessions, campaign_id, reason=None):
    with sessions.begin() as s:
        return draws.perform_draw(s, s.get(Campaign, campaign_id), cfg=CFG, person_id=None, actor="test",
                                  reason=reason).id


def test_pools_leave_out_closed_targets_and_unfit_inspectors(sessions):
    cid = prepare(sessions, plan=dict(PLAN, sampling={"ratio": 1.0}, targets_per_group=0))
    with sessions.begin() as s:
        targets = s.scalars(select(Target).where(Target.industry == "互联网上网服务营业场所",
                                                 Target.status == "正常").order_by(Target.id)).all()
        targets[0].status = "停业"
        closed = targets[0].uscc
        inspectors = [p for p in s.scalars(select(Person).order_by(Person.id)) if p.has_role("inspector")]
        inspectors[0].active = False
        inspectors[1].cert_expiry = dt.date(2022, 9, 27)  # expires inside the window
        inspectors[2].cert_expiry = dt.date(2022, 9, 28)  # valid through the window's last day
        out = {inspectors[0].cert_no, inspectors[1].cert_no}
        kept = inspectors[2].cert_no
        frozen = draws.freeze(s, s.get(Campaign, cid), CFG)
    pool_targets = {u for lst in frozen.pools["targets"].values() for u in lst}
    pool_people = {c for lst in frozen.pools["inspectors"].values() for c in lst}
    assert closed not in pool_targets and len(pool_targets) == len(targets) - 1
    assert not (out & pool_people) and kept in pool_people
    with sessions.begin() as s:
        other = s.scalar(select(func.count()).select_from(Target).where(Target.industry != "互联网上网服务营业场所"))
    assert other > 0  # out-of-scope targets exist and were left out


def test_annual_limit_excludes_targets_already_drawn_twice_this_year(sessions):
    every = dict(PLAN, sampling={"ratio": 1.0}, targets_per_group=0)
    first = prepare(sessions, plan=every)
    from bot.services import campaigns
    with sessions.begin() as s:
        second = campaigns.create_campaign(s, every, cfg=CFG, actor="test").campaign.id
        third = campaigns.create_campaign(s, every, cfg=CFG, actor="test").campaign.id
        next_year = campaigns.create_campaign(s, dict(every, window={"start": dt.date(2023, 3, 1),
                                                                    "end": dt.date(2023, 3, 3)},
                                                   summary_due=dt.date(2023, 3, 10)),
                                              cfg=CFG, actor="test").campaign.id
    _draw(sessions, first)
    _draw(sessions, second)
    with sessions.begin() as s:
        assert draws.freeze(s, s.get(Campaign, third), CFG).pools["targets"] == {}
        assert draws.freeze(s, s.get(Campaign, next_year), CFG).pools["targets"]
    _draw(sessions, second, reason="名录有误，重新抽取")
    with sessions.begin() as s:
        assert draws.freeze(s, s.get(Campaign, third), CFG).pools["targets"] == {}
        assert s.scalar(select(func.count()).select_from(Draw)) == 3


def test_saved_groups_match_the_record(sessions):
    cid = prepare(sessions)
    draw_id = _draw(sessions, cid)
    with sessions.begin() as s:
        draw = s.get(Draw, draw_id)
        for group, saved in zip(draw.result["groups"], draw.groups):
            assert [gt.target.uscc for gt in saved.targets] == group["targets"]
            assert [a.person.cert_no for a in saved.assignments] == [i["cert_no"] for i in group["inspectors"]]
            assert saved.leader_person_id == s.scalar(select(Person.id).where(Person.cert_no == group["leader"]))
        assert s.get(Campaign, cid).state == "drawn"
        assert draws.verify_draw(s, draw).ok


def _announced(sessions, cid: int, draw_id: int, times: int = 1) -> tuple[list[OutboxMessage], str]:  # noqa: ANN001
    """The draw's notices enqueued `times` times; the group's outbox rows in order, and the campaign number."""
    with sessions.begin() as s:
        for _ in range(times):
            enqueue_draw_notices(s, s.get(Draw, draw_id), s.get(Campaign, cid), cfg=CFG, group_chat_id=GROUP_ID,
                                 requester_chat_id=None, who="马勇")
    with sessions.begin() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == GROUP_ID)
                         .order_by(OutboxMessage.id)).all()
        return rows, s.get(Campaign, cid).number


def test_long_announcement_becomes_summary_plus_workbook(sessions):
    cid = prepare(sessions, n_targets=400, plan=dict(PLAN, sampling={"ratio": 1.0}, targets_per_group=0))
    draw_id = _draw(sessions, cid)
    rows, number = _announced(sessions, cid, draw_id)
    with sessions.begin() as s:
        drawn = {u for g in s.get(Draw, draw_id).result["groups"] for u in g["targets"]}
    texts = [r for r in rows if r.method == "sendMessage"]
    docs = [r for r in rows if r.method == "sendDocument"]
    assert len(texts) == 1 and len(texts[0].text) <= 4096 and "附件" in texts[0].text
    # the 抽取结果 workbook, then the verification page (SPEC §5.11), in that order
    assert [d.payload.get("filename") for d in docs] == [f"{number}_抽取结果.xlsx", f"{number}_抽取核验.html"]
    wb = openpyxl.load_workbook(io.BytesIO(docs[0].document))
    ws = wb["检查对象"]
    assert {row[3] for row in ws.iter_rows(min_row=2, values_only=True)} == drawn
    page = docs[1].document.decode("utf-8")
    assert page.startswith("<!DOCTYPE html>") and all(u in page for u in drawn)


def test_short_announcement_still_sends_the_verification_page(sessions):
    cid = prepare(sessions)
    draw_id = _draw(sessions, cid)
    rows, number = _announced(sessions, cid, draw_id, times=2)  # again (a retried transaction): nothing doubles
    assert [r.method for r in rows] == ["sendMessage", "sendDocument"]
    assert rows[1].payload["filename"] == f"{number}_抽取核验.html"
    assert f"抽取编号 {draw_id}" in rows[1].payload["caption"]


def test_announcement_names_the_targets_unit_and_the_notice_a_missing_address(sessions):
    cid = prepare(sessions, plan=dict(PLAN, sampling={"ratio": 1.0}, targets_per_group=0))
    with sessions.begin() as s:
        targets = s.scalars(select(Target).where(Target.industry == "互联网上网服务营业场所",
                                                 Target.status == "正常").order_by(Target.id)).all()
        targets[0].jurisdiction, targets[0].registration_authority = "城关市场监督管理所", "西华县市场监督管理局"
        targets[1].registration_authority, targets[1].address = "西华县市场监督管理局", ""
        marked = {t.uscc: t.name for t in targets[:3]}
    draw_id = _draw(sessions, cid)
    with sessions.begin() as s:
        draw = s.get(Draw, draw_id)
        enqueue_draw_notices(s, draw, s.get(Campaign, cid), cfg=CFG, group_chat_id=GROUP_ID,
                             requester_chat_id=None, who="马勇")
    with sessions.begin() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.method == "sendMessage")).all()
        announce = next(r.text for r in rows if r.chat_id == GROUP_ID)
        notices = [r.text for r in rows if r.dedup_key and ":notice:" in r.dedup_key]
    (u0, n0), (u1, n1), (u2, n2) = marked.items()
    lines = announce.splitlines()
    assert any(line.endswith(f"{n0}（{u0}）· 城关市场监督管理所") for line in lines)  # 管辖单位 first
    assert any(line.endswith(f"{n1}（{u1}）· 西华县市场监督管理局") for line in lines)  # else 登记机关
    assert any(line.endswith(f"{n2}（{u2}）") for line in lines)  # neither: the line as before
    assert "登记机关" not in announce and "管辖单位" not in announce  # short: the unit's name only
    text = "\n".join(notices)
    assert f"{n1}（地址未登记）· 西华县市场监督管理局" in text and "（）" not in text


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(closed=st.sets(st.integers(0, 17), max_size=6), inactive=st.sets(st.integers(0, 25), max_size=4))
def test_property_no_drawn_target_or_inspector_is_unfit(sqlite_template, tmp_path_factory, closed, inactive):
    """Whatever targets are closed and inspectors inactive, the draw never picks one of them."""
    import shutil

    from bot.db import make_engine, make_sessionmaker
    path = tmp_path_factory.mktemp("prop") / "p.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    sessions = make_sessionmaker(engine)
    cid = prepare(sessions, plan=dict(PLAN, sampling={"ratio": 0.6}, targets_per_group=0,
                                      inspectors_per_department=1))
    with sessions.begin() as s:
        targets = s.scalars(select(Target).where(Target.industry == "互联网上网服务营业场所").order_by(Target.id)).all()
        for i in closed:
            if i < len(targets):
                targets[i].status = "停业"
        inspectors = [p for p in s.scalars(select(Person).order_by(Person.id)) if p.has_role("inspector")]
        for i in inactive:
            inspectors[i].active = False
    try:
        _draw(sessions, cid)
    except Exception as exc:  # too few left is a legitimate, named failure
        assert "inspector" in str(exc) or "target" in str(exc)
        engine.dispose()
        return
    with sessions.begin() as s:
        for gt in s.scalars(select(GroupTarget)):
            assert gt.target.status == "正常" and gt.target.industry == "互联网上网服务营业场所"
        for a in s.scalars(select(Assignment)):
            assert a.person.active and a.person.has_role("inspector") and a.person.cert_expiry >= dt.date(2022, 9, 28)
    engine.dispose()
