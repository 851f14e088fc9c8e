"""A deterministic `CampaignReport` of any size, without a database: for the builders' tests and the benchmark.

`synthetic_report(n_targets, items_per_department)` (an int, or one count per department) gives four departments
(the seed's), groups of `targets_per_group` targets with two inspectors per department, codes spread over the whole
code set `codes` (so every code column of 附件2 has counts), a description on every problem code, open and closed
follow-ups on the items with the follow-up code, some departments not yet submitted when `entered` < 1.0, and
user text that looks like a formula (to prove it is neutralized).
"""

from __future__ import annotations

import datetime as dt
import random

from bot.rules.codes import DEFAULT_CODE_SET, CodeSet
from bot.devtools.sample_data import DEPARTMENTS, generate_uscc
from reports.data import (CampaignReport, DepartmentBlock, DepartmentInfo, FollowUpInfo, Inspector, ItemResult,
                          TargetRecord)
from reports.draw_result import DrawSheetData

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"


def synthetic_report(n_targets: int = 12, items_per_department: int | tuple[int, ...] = 2, *, targets_per_group: int = 5,
                     entered: float = 1.0, seed: int = 7, codes: CodeSet = DEFAULT_CODE_SET) -> CampaignReport:
    rng = random.Random(seed)
    code_list = list(codes.codes)
    if isinstance(items_per_department, int):
        items_per_department = (items_per_department,) * len(DEPARTMENTS)
    departments = [DepartmentInfo(name=name, label=short[1:] if short.startswith("西") else short,
                                  items=tuple(f"{short}检查事项{k + 1}" for k in range(items_per_department[i])),
                                  inspectors=0, cooperating=(i == 3))
                   for i, (name, short) in enumerate(DEPARTMENTS)]
    n_groups = max(1, -(-n_targets // targets_per_group))
    groups = []
    cert = 41162200000
    used: set[str] = set()
    for g in range(n_groups):
        members = []
        for d in departments:
            for _ in range(2):
                name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
                if name in used:  # past ~12,000 inspectors the names run out: number them
                    name += str(len(used))
                used.add(name)
                cert += 1
                members.append(Inspector(name=name, department=d.name, cert_no=str(cert)))
        leader = members[0]
        members[0] = Inspector(leader.name, leader.department, leader.cert_no, is_leader=True)
        groups.append(tuple(members))
    departments = [DepartmentInfo(d.name, d.label, d.items, inspectors=2 * n_groups, cooperating=d.cooperating)
                   for d in departments]
    start = dt.date(2022, 10, 10)
    targets = []
    for i in range(n_targets):
        g = i // targets_per_group
        blocks = []
        for j, d in enumerate(departments):
            submitted = rng.random() < entered
            items = []
            for item in d.items:
                code = rng.choice(code_list) if submitted else None
                note = None
                follow = None
                if codes.is_problem(code):
                    note = "=SUM(A1:A2) 现场发现问题" if (i + j) % 17 == 0 else f"现场发现问题，第{i + 1}号"
                if codes.opens_follow_up(code):
                    closed = rng.random() < 0.5
                    follow = FollowUpInfo(state="closed" if closed else "open",
                                          measures=("责令改正", "行政处罚") if closed else ("责令改正",),
                                          penalty_amount="2000.00" if closed else None,
                                          closed_on=start + dt.timedelta(days=10) if closed else None)
                items.append(ItemResult(item=item, content=f"{item}的检查内容", code=code, note=note, follow_up=follow))
            member = groups[g][2 * j]
            blocks.append(DepartmentBlock(
                department=d.name, label=d.label, items=tuple(items), submitted=submitted,
                submitted_by=member.name if submitted else None,
                inspection_date=start + dt.timedelta(days=rng.randrange(3)) if submitted else None))
        targets.append(TargetRecord(
            group_number=g + 1, group_leader=groups[g][0].name,
            name=("+" if i % 23 == 5 else "") + f"西华县某某网吧{i + 1}号", uscc=generate_uscc(i),
            legal_rep=rng.choice(SURNAMES) + rng.choice(GIVEN), address=f"西华县人民路{i + 1}号",
            credit_class=rng.choice(["A", "B", "C", "D", None]), inspectors=groups[g], departments=tuple(blocks)))
    draw = DrawSheetData(
        number="西文旅抽查〔2022〕1号", title="互联网上网服务营业场所跨部门联合抽查", draw_id=1,
        created="2022-09-16 09:30", seed="ab" * 32, seed_source="secrets", public_text=None,
        digests={"targets": "cd" * 32, "inspectors": {d.name: "ef" * 32 for d in departments}, "conflicts": "01" * 32},
        pool_sizes={"检查对象": n_targets * 5, **{d.name: 20 for d in departments}, "回避关系": 0},
        groups=[{"number": g + 1, "leader_cert": groups[g][0].cert_no,
                 "inspectors": [(p.name, p.department, p.cert_no, "") for p in groups[g]],
                 "targets": [(t.name, t.uscc, t.address, t.credit_class or "未分类")
                             for t in targets if t.group_number == g + 1]}
                for g in range(n_groups)])
    return CampaignReport(
        number="西文旅抽查〔2022〕1号", title="互联网上网服务营业场所跨部门联合抽查", lead_department=departments[0].name,
        window_start=start, window_end=dt.date(2022, 10, 12), results_due=dt.date(2022, 11, 9),
        publication_due=dt.date(2022, 11, 2), deadlines_provisional=False, published_on=None, state="inspecting",
        code_set=codes, departments=departments, targets=targets, generated_at=dt.datetime(2022, 11, 1, 9, 0),
        draw=draw, county="西华县")
