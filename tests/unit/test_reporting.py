"""Reports on the database (SPEC §8, bot.services.report_sends): the report data equals the database (submitted results only,
active inspectors only), the automatic sends happen once per reason — also with two senders at once and after a
crash mid-send —, and publication (公示) with its refusals, audit entry and lateness."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from bot.services import outbox, publication, report_data, report_sends
from bot.config import config_from_dict
from models import (Assignment, AuditEntry, Campaign, CampaignItem, Department, Draw, DrawGroup, FollowUp, GroupTarget,
                    Item, OutboxMessage, Person, Result, ResultDraft, Submission, Target)
from tests.reportsetup import coordinator_tgs, drawn, enter, enter_all, pairs_to_enter
from tests.resultsetup import submit

CFG = config_from_dict({})
NOW = dt.datetime(2022, 10, 20, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 in Asia/Shanghai
XF = "西华县消防救援大队"
SJ_ITEM = "主体注册登记情况"


def _count(sessions, model, *where) -> int:
    with sessions.begin() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def _load(sessions, campaign_id: int):
    with sessions.begin() as s:
        return report_data.load_report(s, campaign_id, cfg=CFG, now=NOW)


# ------------------------------------------------------------------------------------------------ load_report

def test_report_data_equals_the_database(sessions):
    done = submit(sessions, n_targets=2, codes={SJ_ITEM: 8, "接纳未成年人进入营业场所情况": 5})
    first, second = done.targets
    fu_id = done.followups[done.results[(first, SJ_ITEM)]]
    with sessions.begin() as s:
        fu = s.get(FollowUp, fu_id)
        fu.measures, fu.penalty_amount, fu.state, fu.closed_on = ["责令改正", "行政处罚"], Decimal("2000"), "closed", \
            dt.date(2022, 10, 8)
        fu.note = "已缴纳罚款"
        campaign = s.get(Campaign, done.campaign_id)
        expected_campaign = (campaign.number, campaign.title, campaign.window_start, campaign.window_end,
                             campaign.results_due, campaign.publication_due, campaign.state)
        department_order = [cd.department.name for cd in campaign.departments]
        items = {}
        for ci in s.scalars(select(CampaignItem).where(CampaignItem.campaign_id == done.campaign_id)
                            .order_by(CampaignItem.position)):
            items.setdefault(ci.item.department.name, []).append(ci.item.name)
        group_targets = [s.get(Target, gt.target_id).uscc for gt in s.scalars(
            select(GroupTarget).where(GroupTarget.group_id == done.group_id).order_by(GroupTarget.position))]
        db_results = {(r.target_id, r.item.name): (r.code, r.note) for r in s.scalars(select(Result))}
        submitters = {(sub.target_id, sub.department_id): (sub.person.name, sub.inspection_date)
                      for sub in s.scalars(select(Submission))}
        uscc_of = {t.uscc: t.id for t in s.scalars(select(Target))}
        dept_id = {d.name: d.id for d in s.scalars(select(Department))}
        leader_name = s.get(Person, done.leader_id).name
        members = [(a.person.name, a.department.name, a.person.cert_no) for a in s.scalars(
            select(Assignment).where(Assignment.group_id == done.group_id, Assignment.active)
            .order_by(Assignment.position))]

    report = _load(sessions, done.campaign_id)
    assert (report.number, report.title, report.window_start, report.window_end, report.results_due,
            report.publication_due, report.state) == expected_campaign
    assert report.codes == dict(CFG.codes) and report.county == "西华县"
    assert [d.name for d in report.departments] == department_order
    assert {d.name: list(d.items) for d in report.departments} == items
    assert all(d.inspectors == 2 * len({t.group_number for t in report.targets}) for d in report.departments)
    assert report.generated_at == dt.datetime(2022, 10, 20, 10, 0)  # the office's local time
    # targets in group order, then position in the group
    assert [t.group_number for t in report.targets] == sorted(t.group_number for t in report.targets)
    assert [t.uscc for t in report.targets if t.group_number == 1] == group_targets
    group1 = [t for t in report.targets if t.group_number == 1]
    assert group1[0].group_leader == leader_name
    assert [(i.name, i.department, i.cert_no) for i in group1[0].inspectors] == members
    assert [i.name for i in group1[0].inspectors if i.is_leader] == [leader_name]

    seen = 0
    for target in report.targets:
        tid = uscc_of[target.uscc]
        for block in target.departments:
            assert [i.item for i in block.items] == items[block.department]
            sub = submitters.get((tid, dept_id[block.department]))
            assert block.submitted == (sub is not None)
            assert (block.submitted_by, block.inspection_date) == (sub if sub else (None, None))
            for item in block.items:
                assert (item.code, item.note) == db_results.get((tid, item.item), (None, None))
                seen += item.code is not None
    assert seen == len(db_results)
    by_uscc = {t.uscc: t for t in report.targets}
    first_uscc = next(u for u, i in uscc_of.items() if i == first)
    second_uscc = next(u for u, i in uscc_of.items() if i == second)
    sj = next(b for b in by_uscc[first_uscc].departments if b.department == "西华县市场监督管理局")
    assert sj.result == "8" and report.has_problem(sj) and sj.items[0].note == f"发现问题：{SJ_ITEM}"
    follow = sj.items[0].follow_up
    assert (follow.state, follow.measures, follow.penalty_amount, follow.closed_on, follow.note) == \
        ("closed", ("责令改正", "行政处罚"), "2000.00", dt.date(2022, 10, 8), "已缴纳罚款")
    other = next(b for b in by_uscc[second_uscc].departments if b.department == "西华县市场监督管理局")
    assert other.items[0].follow_up.state == "open" and other.items[0].follow_up.penalty_amount is None
    wl = by_uscc[first_uscc].departments[0]
    assert wl.result == "1,5" and report.has_problem(by_uscc[first_uscc])
    # 抽取结果: the current draw's record
    assert report.draw.draw_id == done.draw_id and len(report.draw.groups) == len({t.group_number
                                                                                   for t in report.targets})


def test_report_data_carries_authority_jurisdiction_and_a_missing_address(sessions):
    done = submit(sessions, n_targets=2, codes={})
    first, second = done.targets
    with sessions.begin() as s:
        t = s.get(Target, first)
        t.registration_authority, t.jurisdiction, t.address = "西华县市场监督管理局", "城关市场监督管理所", ""
        usccs = (t.uscc, s.get(Target, second).uscc)
    by_uscc = {t.uscc: t for t in _load(sessions, done.campaign_id).targets}
    a, b = by_uscc[usccs[0]], by_uscc[usccs[1]]
    assert (a.registration_authority, a.jurisdiction, a.address) == ("西华县市场监督管理局", "城关市场监督管理所", "")
    assert (b.registration_authority, b.jurisdiction) == (None, None) and b.address


def test_drafts_do_not_count_and_a_replaced_inspector_is_gone(sessions):
    done = submit(sessions, n_targets=1)
    with sessions.begin() as s:
        group = s.get(DrawGroup, done.group_id)
        open_gt = s.scalars(select(GroupTarget).where(GroupTarget.group_id == group.id)
                            .order_by(GroupTarget.position)).all()[1]
        xf = done.inspectors[XF]
        item = s.scalar(select(Item).join(Department).where(Department.name == XF))
        # a draft on a target nobody has submitted yet
        s.add(ResultDraft(draw_id=done.draw_id, target_id=open_gt.target_id, item_id=item.id, person_id=xf[0],
                          code=10, note="草稿", note_done=True))
        # the second 消防 inspector is replaced by another 消防 inspector not drawn so far
        drawn_ids = set(s.scalars(select(Assignment.person_id)))
        old = s.scalar(select(Assignment).where(Assignment.group_id == group.id, Assignment.person_id == xf[1]))
        replacement = next(p for p in s.scalars(select(Person).where(Person.department_id == old.department_id)
                                                .order_by(Person.id))
                           if p.has_role("inspector") and p.id not in drawn_ids)
        old.active = False
        s.add(Assignment(group_id=group.id, person_id=replacement.id, department_id=old.department_id,
                         position=old.position, replaces_id=old.id))
        old_name, new_name = old.person.name, replacement.name
        open_uscc = s.get(Target, open_gt.target_id).uscc

    report = _load(sessions, done.campaign_id)
    target = next(t for t in report.targets if t.uscc == open_uscc)
    assert all(not b.submitted and b.codes == [] for b in target.departments)  # the draft's 10 is not there
    names = [i.name for i in target.inspectors]
    assert new_name in names and old_name not in names
    assert [i.department for i in target.inspectors].count(XF) == 2
    xf_info = next(d for d in report.departments if d.name == XF)
    assert xf_info.inspectors == 2 * len({t.group_number for t in report.targets})  # active ones only


def _statements(sessions, campaign_id: int) -> int:
    engine = sessions.kw["bind"]
    count = 0

    def before(*_args):
        nonlocal count
        count += 1

    event.listen(engine, "before_cursor_execute", before)
    try:
        _load(sessions, campaign_id)
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return count


def test_load_report_reads_in_bulk_not_per_target(sessions):
    small = submit(sessions, n_targets=1)
    small_targets = len(_load(sessions, small.campaign_id).targets)
    n_small = _statements(sessions, small.campaign_id)
    # a second, bigger campaign in the same county: more targets, more groups, more results
    with sessions.begin() as s:
        s.get(Campaign, small.campaign_id).state = "published"
    from tests.drawsetup import PLAN
    from bot.services import campaigns, draws
    with sessions.begin() as s:
        plan = dict(PLAN, number="西文旅抽查〔2022〕2号", sampling={"ratio": 1.0}, targets_per_group=9)
        big = campaigns.create_campaign(s, plan, cfg=CFG, actor="test").campaign
        draw = draws.perform_draw(s, big, cfg=CFG, person_id=None, actor="test")
        big_id, big_draw = big.id, draw.id
    for person, gt in pairs_to_enter(sessions, big_draw)[:12]:
        enter(sessions, person, gt, code=8)  # with follow-ups
    report = _load(sessions, big_id)
    assert len(report.targets) >= 2 * small_targets and len(report.draw.groups) == 2
    assert sum(1 for t in report.targets for f in t.follow_ups) >= 12
    assert _statements(sessions, big_id) == n_small


# ------------------------------------------------------------------------------------------------ sending

def _files(number: str = "N") -> list[tuple[str, bytes]]:
    from reports import REPORT_FILES

    return [(f"{number}_{kind}.xlsx", f"bytes of {kind}".encode()) for kind in REPORT_FILES]


def test_enqueue_reports_once_per_reason_to_each_bound_coordinator(sessions):
    done = submit(sessions, n_targets=1)
    with sessions.begin() as s:
        people = s.scalars(select(Person).order_by(Person.id)).all()
        inspectors = [p for p in people if p.roles == "inspector"]
        inspectors[0].roles = "inspector,coordinator"  # a second bound coordinator
        inspectors[1].roles = "coordinator"
        inspectors[1].telegram_user_id = None  # unbound: nothing for them
        inspectors[2].roles = "coordinator"
        inspectors[2].active = False  # left the office: nothing for them
        number = s.get(Campaign, done.campaign_id).number
    tgs = coordinator_tgs(sessions)
    assert len(tgs) == 2
    files = _files(number)
    with sessions.begin() as s:
        added = report_sends.enqueue_reports(s, done.campaign_id, cfg=CFG, now=NOW, reason="entered:1", files=files)
    assert added == 5 * 2
    with sessions.begin() as s:
        assert report_sends.enqueue_reports(s, done.campaign_id, cfg=CFG, now=NOW, reason="entered:1",
                                         files=files) == 0
        rows = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert {r.chat_id for r in rows} == set(tgs.values())
        assert all(r.method == outbox.SEND_DOCUMENT for r in rows)
        for tg in tgs.values():
            mine = [r for r in rows if r.chat_id == tg]
            assert [r.payload["filename"] for r in mine] == [name for name, _ in files]
            assert [r.document for r in mine] == [data for _, data in files]
            assert all(number in r.payload["caption"] and "全部结果已录入" in r.payload["caption"] for r in mine)
        assert {r.dedup_key.rsplit(":", 1)[1] for r in rows} == {"record", "statistics", "summary", "publicity",
                                                                 "draw"}
        notes = s.scalars(select(AuditEntry).where(AuditEntry.action == "report.send")).all()
        assert len(notes) == 1 and notes[0].subject == f"campaign:{done.campaign_id}:entered:1"
    # another reason is another send: a deadline's caption says which deadline
    with sessions.begin() as s:
        assert report_sends.enqueue_reports(s, done.campaign_id, cfg=CFG, now=NOW,
                                         reason="deadline:results:2022-10-31", files=files[:1]) == 2
        caption = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first().payload["caption"]
        assert "结果录入截止日期 2022-10-31" in caption


def test_last_submission_makes_the_entered_send_due_and_it_happens_once(sessions):
    done = enter_all(sessions, leave=1)
    with sessions.begin() as s:
        assert report_sends.pending_sends(s) == []  # not every result is in yet
    last = enter(sessions, *done.pairs[-1])
    assert last.campaign_entered
    coordinators = coordinator_tgs(sessions)
    with sessions.begin() as s:
        assert report_sends.pending_sends(s) == [
            report_sends.PendingSend(done.campaign_id, f"entered:{done.draw_id}", None)]
        assert s.scalar(select(func.count()).select_from(OutboxMessage)
                        .where(OutboxMessage.method == outbox.SEND_DOCUMENT)) == 0  # nothing built in the submit
    # the bot "crashed" right after the submission: the next run (start-up, the minute job) sends
    assert report_sends.send_pending(sessions, cfg=CFG, now=NOW) == 5 * len(coordinators)
    assert report_sends.send_pending(sessions, cfg=CFG, now=NOW) == 0
    with sessions.begin() as s:
        assert report_sends.pending_sends(s) == []
        docs = s.scalars(select(OutboxMessage).where(OutboxMessage.method == outbox.SEND_DOCUMENT)
                         .order_by(OutboxMessage.id)).all()
        assert len(docs) == 5 * len(coordinators)
        assert {d.chat_id for d in docs} == set(coordinators.values())
        number = s.get(Campaign, done.campaign_id).number
        assert all(number in d.payload["filename"] for d in docs)
    # the workbooks are the real ones: the summary lists every target
    from io import BytesIO

    import openpyxl
    summary = next(d for d in docs if report_data.file_kind(d.payload["filename"]) == "summary")
    text = "\n".join(str(c.value) for ws in openpyxl.load_workbook(BytesIO(summary.document)).worksheets
                     for row in ws.iter_rows() for c in row if c.value is not None)
    with sessions.begin() as s:
        for target in s.scalars(select(Target).join(GroupTarget, GroupTarget.target_id == Target.id)):
            assert target.uscc in text


def test_two_senders_at_once_add_each_file_once(sessions):
    done = enter_all(sessions)
    coordinators = coordinator_tgs(sessions)
    results: list[int] = []
    errors: list[BaseException] = []

    def run():
        try:
            results.append(report_sends.send_pending(sessions, cfg=CFG, now=NOW))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors, errors
    assert sorted(results) == [0, 5 * len(coordinators)]
    assert _count(sessions, OutboxMessage, OutboxMessage.method == outbox.SEND_DOCUMENT) == 5 * len(coordinators)
    assert _count(sessions, AuditEntry, AuditEntry.action == "report.send",
                  AuditEntry.subject == f"campaign:{done.campaign_id}:entered:{done.draw_id}") == 1


def test_a_crash_while_enqueueing_leaves_nothing_and_the_next_run_sends_all(sessions, monkeypatch):
    enter_all(sessions)
    coordinators = coordinator_tgs(sessions)
    real = outbox.enqueue
    calls = {"n": 0}

    def dying(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed mid-send")
        return real(*args, **kwargs)

    monkeypatch.setattr(outbox, "enqueue", dying)
    with pytest.raises(RuntimeError):
        report_sends.send_pending(sessions, cfg=CFG, now=NOW)
    assert _count(sessions, OutboxMessage, OutboxMessage.method == outbox.SEND_DOCUMENT) == 0
    assert _count(sessions, AuditEntry, AuditEntry.action == "report.send") == 0
    monkeypatch.setattr(outbox, "enqueue", real)
    assert report_sends.send_pending(sessions, cfg=CFG, now=NOW) == 5 * len(coordinators)


# ------------------------------------------------------------------------------------------------ publication

def _leader_id(sessions) -> int:
    with sessions.begin() as s:
        return s.scalar(select(Person.id).where(Person.name == "马勇"))


def test_publish_refusals_change_nothing(sessions):
    cid, _draw = drawn(sessions)
    leader = _leader_id(sessions)
    with sessions.begin() as s:
        campaign = s.get(Campaign, cid)
        campaign.state = "draft"
    # not drawn: a campaign without a draw (a second one, never drawn)
    from tests.drawsetup import PLAN
    from bot.services import campaigns
    with sessions.begin() as s:
        undrawn = campaigns.create_campaign(s, dict(PLAN, number="西文旅抽查〔2022〕9号"), cfg=CFG,
                                           actor="test").campaign.id
    with sessions.begin() as s, pytest.raises(publication.PublishRefused) as refused:
        publication.publish(s, undrawn, person_id=leader, today=dt.date(2022, 10, 20), cfg=CFG)
    assert refused.value.key == "report.publish.not_drawn"
    # results missing: say how many
    with sessions.begin() as s:
        s.get(Campaign, cid).state = "drawn"
    pairs = pairs_to_enter(sessions, _draw)
    for person, gt in pairs[:3]:
        enter(sessions, person, gt)
    with sessions.begin() as s, pytest.raises(publication.PublishRefused) as refused:
        publication.publish(s, cid, person_id=leader, today=dt.date(2022, 10, 20), cfg=CFG)
    assert refused.value.key == "report.publish.incomplete"
    assert refused.value.params["missing"] == len(pairs) - 3 and refused.value.params["expected"] == len(pairs)
    from bot.texts import t
    assert f"还有 {len(pairs) - 3} 项结果未录入" in t(refused.value.key, "zh", **refused.value.params)
    with sessions.begin() as s:
        assert s.get(Campaign, cid).state == "inspecting" and s.get(Campaign, cid).published_on is None
    assert _count(sessions, AuditEntry, AuditEntry.action == "campaign.publish") == 0


@pytest.mark.parametrize("today, late_days, late_workdays", [
    (dt.date(2022, 10, 24), 0, 0),  # publication due 2022-10-24 (15 working days after 2022-09-28)
    (dt.date(2022, 10, 26), 2, 2),
    (dt.date(2022, 10, 31), 7, 5),  # over a weekend: Tue–Fri and Monday
], ids=["on-time", "two-workdays-late", "over-a-weekend"])
def test_publish_marks_published_with_audit_and_lateness(sessions, today, late_days, late_workdays):
    done = enter_all(sessions)
    leader = _leader_id(sessions)
    with sessions.begin() as s:
        assert s.get(Campaign, done.campaign_id).publication_due == dt.date(2022, 10, 24)
        outcome = publication.publish(s, done.campaign_id, person_id=leader, today=today, cfg=CFG)
    assert (outcome.late_days, outcome.late_workdays, outcome.late) == (late_days, late_workdays, late_days > 0)
    assert outcome.targets == len({gt for _p, gt in done.pairs}) and outcome.problems == 0
    with sessions.begin() as s:
        campaign = s.get(Campaign, done.campaign_id)
        assert (campaign.state, campaign.published_on) == ("published", today)
        entry_ = s.scalar(select(AuditEntry).where(AuditEntry.action == "campaign.publish"))
        assert entry_.actor == f"person:{leader}" and entry_.subject == f"campaign:{done.campaign_id}"
        assert f'"late_workdays":{late_workdays}' in entry_.data and today.isoformat() in entry_.data
    text = publication.lateness_text(outcome, "zh")
    if late_days:
        assert f"已超过公示期限 {late_workdays} 个工作日" in text
    else:
        assert "在公示期限内" in text
    # published once: a second /publish says when
    with sessions.begin() as s, pytest.raises(publication.PublishRefused) as refused:
        publication.publish(s, done.campaign_id, person_id=leader, today=today + dt.timedelta(days=1), cfg=CFG)
    assert refused.value.key == "report.publish.already" and refused.value.params["date"] == today.isoformat()


def test_late_on_a_day_off_counts_calendar_days(sessions):
    done = enter_all(sessions)
    leader = _leader_id(sessions)
    with sessions.begin() as s:
        s.get(Campaign, done.campaign_id).publication_due = dt.date(2022, 10, 21)  # a Friday
        outcome = publication.publish(s, done.campaign_id, person_id=leader, today=dt.date(2022, 10, 22), cfg=CFG)
    assert (outcome.late_days, outcome.late_workdays) == (1, 0)
    assert "已超过公示期限 1 天" in publication.lateness_text(outcome, "zh")


def test_publication_sends_the_publicity_list_to_the_publisher_and_coordinators_once(sessions):
    done = enter_all(sessions)
    leader = _leader_id(sessions)
    coordinators = coordinator_tgs(sessions)
    report_sends.send_pending(sessions, cfg=CFG, now=NOW)  # the entered reports
    with sessions.begin() as s:
        publication.publish(s, done.campaign_id, person_id=leader, today=dt.date(2022, 10, 24), cfg=CFG)
        leader_tg = s.get(Person, leader).telegram_user_id
    before = _count(sessions, OutboxMessage)
    # the 公示 list and the draw's verification page (SPEC §5.11) to each
    assert report_sends.send_pending(sessions, cfg=CFG, now=NOW) == 2 * (len(coordinators) + 1)
    assert report_sends.send_pending(sessions, cfg=CFG, now=NOW) == 0
    with sessions.begin() as s:
        rows = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()[before:]
        assert {r.chat_id for r in rows} == set(coordinators.values()) | {leader_tg}
        for chat_id in {r.chat_id for r in rows}:
            names = [r.payload["filename"] for r in rows if r.chat_id == chat_id]
            assert len(names) == 2 and names[0].endswith("_公示.xlsx") and names[1].endswith("_抽取核验.html"), names
        assert all("已于 2022-10-24 公示" in r.payload["caption"] for r in rows)
        page = next(r for r in rows if r.payload["filename"].endswith(".html")).document.decode("utf-8")
        draw = s.scalar(select(Draw).where(Draw.superseded_by_id.is_(None)))
        assert draw.seed in page and all(u in page for g in draw.result["groups"] for u in g["targets"])


def test_file_kinds():
    from reports import REPORT_FILES

    assert [report_data.file_kind(f"西文旅抽查〔2022〕1号_{k}.xlsx") for k in REPORT_FILES] == \
        ["record", "statistics", "summary", "publicity", "draw"]
    assert report_data.file_kind("西文旅抽查〔2022〕1号_抽取核验.html") == "page"
