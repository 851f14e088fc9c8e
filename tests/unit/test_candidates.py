"""Who and what may be drawn (bot.rules.candidates, SPEC §2/§5.2): the pure predicates, and the SQL forms next to the
draw's query (bot.services.draws) selecting exactly the rows the predicates accept, over every combination."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import select

from bot.rules import candidates
from bot.rules.candidates import certificate_valid_on, inspector_eligible, is_active_inspector, target_drawable
from bot.services import draws
from models import Department, Person, Target

END = dt.date(2022, 9, 28)  # the window's last day
DAY = dt.timedelta(days=1)


def test_target_drawable_only_when_operating():
    assert target_drawable("正常")
    assert not any(target_drawable(s) for s in ("停业", "注销", "", None))


def test_certificate_valid_through_its_expiry_day():
    assert certificate_valid_on(END, END) and certificate_valid_on(END + DAY, END)
    assert not certificate_valid_on(END - DAY, END) and not certificate_valid_on(None, END)


def test_inspector_eligible_needs_all_four():
    ok = dict(active=True, roles={"inspector", "leader"}, cert_no="41162200001", cert_expiry=END, through=END)
    assert inspector_eligible(**ok)
    assert is_active_inspector(active=True, roles=["inspector"]) and not is_active_inspector(active=False,
                                                                                             roles=["inspector"])
    for key, bad in (("active", False), ("roles", {"leader", "dept_head"}), ("cert_no", None), ("cert_no", ""),
                     ("cert_expiry", END - DAY), ("cert_expiry", None)):
        assert not inspector_eligible(**{**ok, key: bad}), key
    assert not inspector_eligible(**{**ok, "through": END + DAY})  # expires before a later window ends


def test_the_sql_forms_select_what_the_predicates_accept(sessions):
    with sessions.begin() as s:
        dep = Department(name="西华县文化广电和旅游局", short_name="西文旅")
        s.add(dep)
        s.flush()
        combos = itertools.product((True, False), ("inspector", "leader,inspector", "dept_head", "", "coordinator"),
                                   ("411622001", None), (END - DAY, END, END + DAY, None))
        for n, (active, roles, cert, expiry) in enumerate(combos):
            s.add(Person(natural_key=f"k{n}", name=f"人{n}", department_id=dep.id, roles=roles,
                         cert_no=f"{cert}{n:03d}" if cert else None, cert_expiry=expiry, active=active))
        for n, status in enumerate(("正常", "停业", "注销", "正常")):
            s.add(Target(uscc=f"91411622MA00000{n:02d}", name=f"网吧{n}", address="西华县", industry="网吧",
                         status=status))
    with sessions.begin() as s:
        people = s.scalars(select(Person)).all()
        want = {p.id for p in people if inspector_eligible(active=p.active, roles=p.role_set, cert_no=p.cert_no,
                                                              cert_expiry=p.cert_expiry, through=END)}
        assert len(want) == 4  # active, an inspector role (twice), a certificate, expiring on or after END
        assert set(s.scalars(select(Person.id).where(draws.eligible_inspector_clause(END)))) == want
        assert {p.id for p in draws.eligible_inspectors(s, dep.id, END)} == want

        targets = s.scalars(select(Target)).all()
        want = {t.id for t in targets if target_drawable(t.status)}
        assert len(want) == 2
        assert set(s.scalars(select(Target.id).where(draws.drawable_target_clause()))) == want
    assert candidates.DRAWABLE_TARGET_STATUS == "正常"
