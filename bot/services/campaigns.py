"""Campaigns (抽查任务, SPEC §4): create from a plan (file or the /new conversation), list, resolve, deadlines.
No Telegram here. Functions take a session and add/flush; the caller commits.

The plan is a dict in the shape of the plan file of SPEC §4. Every problem raises `PlanError(key, message)`
whose key is the plan key at fault (`sampling.by_class`, `items.西华县公安局`, …), so a script or a person can
find it. Annual limits that are rules of thumb (细则 九: a department runs 2–3 campaigns a year) are warnings;
the per-target yearly limit is applied when the target pool is frozen at draw time, not here.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Mapping

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from bot.services.draws import drawable_target_clause
from bot.services.refusal import Refusal
from bot.rules import drawalgo
from bot.rules.credit import DEFAULT_CREDIT_SCHEME, UNCLASSIFIED, CreditScheme, is_unclassified
from bot.rules.workdays import WorkCalendar
from bot.services import audit
from bot.texts import join_list, t
from models import Campaign, CampaignDepartment, CampaignItem, Department, Item, Target

log = logging.getLogger(__name__)



def plan_classes(scheme: CreditScheme = DEFAULT_CREDIT_SCHEME) -> tuple[str, ...]:
    """The strata a by_class rule may name, in order: the configured classes, then "-" (unclassified, SPEC §5)."""
    return scheme.classes + (UNCLASSIFIED,)


CREDIT_CLASSES = plan_classes()  # the default's; code that has a cfg uses plan_classes(cfg.credit_scheme)
OPEN_STATES = ("draft", "drawn", "inspecting", "entered")  # not yet 已公示 / 已办结
MIN_YEAR, MAX_YEAR = 2000, 2100  # a window outside this is a typo (and would overflow date arithmetic near 9999)
# seed 细则 九: 每年专项检查行动采取“双随机一公开”抽查方式2—3次
MAX_CAMPAIGNS_PER_DEPARTMENT_YEAR = 3

PLAN_KEYS = ("number", "title", "lead", "departments", "cooperating", "scope", "window",
             "inspectors_per_department", "targets_per_group", "summary_due", "sampling", "items")
WINDOW_KEYS = ("start", "end")
SAMPLING_KEYS = ("ratio", "count", "by_class")


class PlanError(ValueError):
    """A plan is invalid; `key` names the plan key at fault, `message` says why (in the caller's language)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


class CampaignChoiceError(Refusal, LookupError):
    """A campaign reference did not pick exactly one campaign. `reason`: not_found | none_open | several."""

    def __init__(self, reason: str, ref: str | None, candidates: list[Campaign]) -> None:
        super().__init__(f"campaign.choice.{reason}", ref=ref or "")
        self.reason = reason
        self.ref = ref
        self.candidates = candidates

    def message(self, lang: str) -> str:
        lines = [t(f"campaign.choice.{self.reason}", lang, ref=self.ref or "")]
        if self.candidates:
            lines.append(t("campaign.choice.candidates", lang))
            lines += [t("campaign.choice.candidate", lang, id=c.id, number=c.number, title=c.title,
                        state=state_label(c.state, lang)) for c in self.candidates]
        return "\n".join(lines)

    def text(self, lang: str) -> str:
        return self.message(lang)


@dataclass(frozen=True)
class Deadlines:
    results_due: dt.date
    publication_due: dt.date
    results_provisional: bool
    publication_provisional: bool

    @property
    def provisional(self) -> bool:
        return self.results_provisional or self.publication_provisional


@dataclass
class CreateOutcome:
    campaign: Campaign
    warnings: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------- helpers

def state_label(state: str, lang: str) -> str:
    return t(f"campaign.state.{state}", lang)


def compute_deadlines(window_end: dt.date, cfg) -> Deadlines:
    """Results due and publication due: N working days after the window's end (SPEC §7)."""
    cal = WorkCalendar.from_config(cfg)
    results, p1 = cal.add_workdays(window_end, cfg.rules.result_entry_workdays)
    publication, p2 = cal.add_workdays(window_end, cfg.rules.publication_workdays)
    return Deadlines(results, publication, p1, p2)


def parse_ratio(value: Any) -> Decimal | None:
    """A sampling ratio 0 < r ≤ 1 from a number, "0.2" or "20%" (full-width digits allowed); None if not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        text = str(value)
    elif isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip().replace(" ", "")
    else:
        return None
    percent = text.endswith("%")
    try:
        r = Decimal(text.rstrip("%"))
    except InvalidOperation:
        return None
    if not r.is_finite():
        return None
    if percent:
        r = r / 100
    if not Decimal(0) < r <= Decimal(1):
        return None
    return r


def ratio_text(r: Decimal | str) -> str:
    """A stored ratio as a plain decimal string (no exponent, no trailing zeros): Decimal("0.20") → "0.2"."""
    d = Decimal(str(r)).normalize()
    s = format(d, "f")
    return s


def percent_text(r: Decimal | str) -> str:
    """0.2 → "20%", 0.125 → "12.5%"."""
    return ratio_text(Decimal(str(r)) * 100) + "%"


def parse_count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 1 else None
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip().removesuffix("户").removesuffix("家").strip()
        if text.isdigit() and int(text) >= 1:
            return int(text)
    return None


def _date(value: Any, key: str, lang: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise PlanError(key, t("campaign.plan.not_date", lang, value=value))


def _text(plan: Mapping[str, Any], key: str, lang: str, max_len: int) -> str:
    value = plan.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PlanError(key, t("campaign.plan.not_text", lang))
    value = value.strip()
    if len(value) > max_len:
        raise PlanError(key, t("campaign.plan.too_long", lang, max=max_len))
    return value


def _int(plan: Mapping[str, Any], key: str, default: int, minimum: int, lang: str) -> int:
    value = plan.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PlanError(key, t("campaign.plan.int_min", lang, min=minimum, value=value))
    return value


def _str_list(plan: Mapping[str, Any], key: str, lang: str, *, required: bool = True) -> list[str]:
    value = plan.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value) or \
            not all(isinstance(v, str) and v.strip() for v in value):
        raise PlanError(key, t("campaign.plan.not_list", lang))
    out = [v.strip() for v in value]
    seen: set[str] = set()
    for v in out:
        if v in seen:
            raise PlanError(key, t("campaign.plan.duplicate", lang, value=v))
        seen.add(v)
    return out


def _check_keys(table: Mapping[str, Any], allowed: tuple[str, ...], prefix: str, lang: str) -> None:
    for key in table:
        if key not in allowed:
            raise PlanError(f"{prefix}{key}", t("campaign.plan.unknown_key", lang, allowed=", ".join(allowed)))


class _DepartmentIndex:
    """Departments by full name, or by 简称 where it names exactly one."""

    def __init__(self, session: Session) -> None:
        self.rows = {d.id: d for d in session.scalars(select(Department))}
        self.by_name = {d.name: d for d in self.rows.values()}
        shorts: dict[str, list[Department]] = {}
        for d in self.rows.values():
            if d.short_name:
                shorts.setdefault(d.short_name, []).append(d)
        self.by_short = {s: ds[0] for s, ds in shorts.items() if len(ds) == 1}

    def resolve(self, text: str) -> Department | None:
        return self.by_name.get(text) or self.by_short.get(text)


def _sampling(raw: Any, lang: str, scheme: CreditScheme = DEFAULT_CREDIT_SCHEME) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise PlanError("sampling", t("campaign.plan.not_table", lang, example="{ ratio = 0.2 }"))
    _check_keys(raw, SAMPLING_KEYS, "sampling.", lang)
    out: dict[str, Any] = {}
    if "ratio" in raw and "count" in raw:
        raise PlanError("sampling", t("campaign.plan.sampling_both", lang))
    if "ratio" in raw:
        r = parse_ratio(raw["ratio"])
        if r is None:
            raise PlanError("sampling.ratio", t("campaign.plan.ratio", lang, value=raw["ratio"]))
        out["ratio"] = ratio_text(r)
    if "count" in raw:
        c = parse_count(raw["count"])
        if c is None:
            raise PlanError("sampling.count", t("campaign.plan.count", lang, value=raw["count"]))
        out["count"] = c
    if "by_class" in raw:
        by_class = raw["by_class"]
        if not isinstance(by_class, dict) or not by_class:
            raise PlanError("sampling.by_class", t("campaign.plan.not_table", lang,
                                                   example="{ A = 0.05, B = 0.1, C = 0.3, D = 1.0 }"))
        known = plan_classes(scheme)
        classes: dict[str, str] = {}
        for name, value in by_class.items():
            # Any word of the scheme names its class; what is stored (and drawn by) is the canonical name.
            cls = UNCLASSIFIED if is_unclassified(name) else scheme.resolve(name)
            if cls is None:
                raise PlanError(f"sampling.by_class.{name}", t(
                    "campaign.plan.class_unknown", lang, value=name,
                    accepted=join_list(scheme.words() + (UNCLASSIFIED,), lang)))
            if cls in classes:
                raise PlanError(f"sampling.by_class.{name}", t("campaign.plan.duplicate", lang, value=name))
            r = parse_ratio(value)
            if r is None:
                raise PlanError(f"sampling.by_class.{name}", t("campaign.plan.ratio", lang, value=value))
            classes[cls] = ratio_text(r)
        missing = [c for c in known if c not in classes]
        if missing and not out:
            # 不免抽: a class the rule does not name would silently be exempt from the draw.
            raise PlanError("sampling.by_class", t("campaign.plan.class_missing", lang, classes="、".join(missing)))
        out["by_class"] = {c: classes[c] for c in known if c in classes}
    if not out:
        raise PlanError("sampling", t("campaign.plan.sampling_none", lang))
    return out


def class_label(cls: str, lang: str) -> str:
    """A credit-risk class for people: "A类" for a letter, a configured name as it is ("中高风险"), "未分类" for "-"."""
    if cls == UNCLASSIFIED:
        return t("campaign.class.none", lang)
    if len(cls) == 1 and cls.isascii() and cls.isalpha():
        return t("campaign.class.letter", lang, cls=cls)
    return cls


def sampling_text(sampling: Mapping[str, Any], lang: str) -> str:
    """Human form of a stored sampling rule: 按比例 20% / 按数量 10 户 / 按信用分类 A 5%，…"""
    parts: list[str] = []
    if "by_class" in sampling:
        sep = "，" if lang == "zh" else ", "
        classes = sep.join(t("campaign.sampling.class_item", lang, cls=class_label(c, lang), percent=percent_text(r))
                           for c, r in sampling["by_class"].items())
        parts.append(t("campaign.sampling.by_class", lang, classes=classes))
        if "ratio" in sampling:
            parts.append(t("campaign.sampling.others_ratio", lang, percent=percent_text(sampling["ratio"])))
        elif "count" in sampling:
            parts.append(t("campaign.sampling.others_count", lang, count=sampling["count"]))
        return ("；" if lang == "zh" else "; ").join(parts)
    if "ratio" in sampling:
        return t("campaign.sampling.ratio", lang, percent=percent_text(sampling["ratio"]))
    return t("campaign.sampling.count", lang, count=sampling.get("count"))


def _next_seq(session: Session, lead_id: int, year: int) -> int:
    top = session.scalar(select(func.max(Campaign.seq)).where(Campaign.lead_department_id == lead_id,
                                                              Campaign.year == year))
    return (top or 0) + 1


def _number_taken(session: Session, number: str) -> Campaign | None:
    return session.scalar(select(Campaign).where(Campaign.number == number))


def preview_number(session: Session, lead: Department, year: int) -> str:
    """The number the next generated campaign of `lead` in `year` will get (for the /new summary)."""
    seq = _next_seq(session, lead.id, year)
    while _number_taken(session, generated_number(lead, year, seq)):
        seq += 1
    return generated_number(lead, year, seq)


def generated_number(lead: Department, year: int, seq: int) -> str:
    return f"{lead.short_name or lead.name}抽查〔{year}〕{seq}号"


# ----------------------------------------------------------------------------------------------- create

def create_campaign(session: Session, plan: Mapping[str, Any], *, cfg, actor: str,
                    created_by_person_id: int | None = None, today: dt.date | None = None,
                    lang: str | None = None) -> CreateOutcome:
    """Validate the plan against the directories, create the campaign (state 草稿) with its departments and
    items in order, derive the deadlines, record it in the audit log. Raises PlanError."""
    lang = lang or cfg.bot.language
    today = today or dt.datetime.now(cfg.tz).date()
    if not isinstance(plan, Mapping):
        raise PlanError("plan", t("campaign.plan.not_table", lang, example="title = …"))
    _check_keys(plan, PLAN_KEYS, "", lang)

    title = _text(plan, "title", lang, 300)
    number = _text(plan, "number", lang, 100) if plan.get("number") is not None else None

    index = _DepartmentIndex(session)
    dept_names = _str_list(plan, "departments", lang)
    departments: list[Department] = []
    for name in dept_names:
        dept = index.resolve(name)
        if dept is None:
            raise PlanError("departments", t("campaign.plan.unknown_department", lang, value=name))
        if dept in departments:
            raise PlanError("departments", t("campaign.plan.duplicate", lang, value=name))
        departments.append(dept)

    lead_name = _text(plan, "lead", lang, 200)
    lead = index.resolve(lead_name)
    if lead is None or lead not in departments:
        raise PlanError("lead", t("campaign.plan.lead_not_in", lang, value=lead_name))

    cooperating: set[int] = set()
    for name in _str_list(plan, "cooperating", lang, required=False):
        dept = index.resolve(name)
        if dept is None or dept not in departments:
            raise PlanError("cooperating", t("campaign.plan.not_in_departments", lang, value=name))
        if dept is lead:
            raise PlanError("cooperating", t("campaign.plan.lead_cooperating", lang, value=name))
        cooperating.add(dept.id)

    scope = _str_list(plan, "scope", lang)

    window = plan.get("window")
    if not isinstance(window, dict):
        raise PlanError("window", t("campaign.plan.not_table", lang,
                                    example="{ start = 2022-09-26, end = 2022-09-28 }"))
    _check_keys(window, WINDOW_KEYS, "window.", lang)
    if "start" not in window or "end" not in window:
        raise PlanError("window", t("campaign.plan.window_both", lang,
                                    example="{ start = 2022-09-26, end = 2022-09-28 }"))
    start = _date(window["start"], "window.start", lang)
    end = _date(window["end"], "window.end", lang)
    for key, day in (("window.start", start), ("window.end", end)):
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            raise PlanError(key, t("campaign.plan.year_range", lang, value=day.isoformat(), min=MIN_YEAR,
                                   max=MAX_YEAR))
    if start > end:
        raise PlanError("window", t("campaign.plan.window_order", lang, start=start.isoformat(),
                                    end=end.isoformat()))

    per_dept = _int(plan, "inspectors_per_department", cfg.rules.inspectors_per_department, 1, lang)
    if drawalgo.too_few_inspectors(per_dept, len(departments)):  # seed 细则 十 (bot.rules.drawalgo)
        raise PlanError("inspectors_per_department", t(
            "campaign.plan.inspectors_total", lang, per=per_dept, n=len(departments),
            total=drawalgo.group_size(per_dept, len(departments)), min=drawalgo.MIN_INSPECTORS_PER_GROUP))
    per_group = _int(plan, "targets_per_group", 0, 0, lang)

    summary_due = None
    if plan.get("summary_due") is not None:
        summary_due = _date(plan["summary_due"], "summary_due", lang)
        if summary_due < start:
            raise PlanError("summary_due", t("campaign.plan.summary_before", lang, date=summary_due.isoformat(),
                                             start=start.isoformat()))

    if "sampling" not in plan:
        raise PlanError("sampling", t("campaign.plan.sampling_none", lang))
    sampling = _sampling(plan["sampling"], lang, cfg.credit_scheme)

    raw_items = plan.get("items")
    if not isinstance(raw_items, dict):
        raise PlanError("items", t("campaign.plan.not_table", lang, example='"单位" = ["事项", …]'))
    chosen: dict[int, list[Item]] = {d.id: [] for d in departments}
    for dept_text, names in raw_items.items():
        dept = index.resolve(dept_text)
        if dept is None or dept.id not in chosen:
            raise PlanError(f"items.{dept_text}", t("campaign.plan.not_in_departments", lang, value=dept_text))
        if chosen[dept.id]:
            raise PlanError(f"items.{dept_text}", t("campaign.plan.duplicate", lang, value=dept_text))
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            raise PlanError(f"items.{dept_text}", t("campaign.plan.not_list", lang))
        known = {i.name: i for i in session.scalars(select(Item).where(Item.department_id == dept.id))}
        for name in names:
            item = known.get(name.strip())
            if item is None:
                raise PlanError(f"items.{dept_text}", t("campaign.plan.item_unknown", lang, value=name,
                                                         department=dept.name))
            if item in chosen[dept.id]:
                raise PlanError(f"items.{dept_text}", t("campaign.plan.duplicate", lang, value=name))
            chosen[dept.id].append(item)
    for dept in departments:
        if not chosen[dept.id]:
            raise PlanError(f"items.{dept.name}", t("campaign.plan.items_missing", lang, department=dept.name))

    year = start.year
    if number is not None:
        taken = _number_taken(session, number)
        if taken is not None:
            raise PlanError("number", t("campaign.plan.number_taken", lang, value=number, id=taken.id))
        seq = _next_seq(session, lead.id, year)
        m = re.search(r"〔(\d{4})〕(\d+)号$", number)
        if m and int(m.group(1)) == year and int(m.group(2)) >= seq:
            seq = int(m.group(2))  # keep the office's own numbering when it runs ahead
    else:
        seq = _next_seq(session, lead.id, year)
        while _number_taken(session, generated_number(lead, year, seq)):
            seq += 1
        number = generated_number(lead, year, seq)

    warnings = _annual_warnings(session, departments, year, lang)
    warnings += _scope_warnings(session, scope, lang)
    if end < today:
        warnings.append(t("campaign.warn.window_past", lang, start=start.isoformat(), end=end.isoformat()))

    deadlines = compute_deadlines(end, cfg)
    campaign = Campaign(
        number=number, year=year, seq=seq, title=title, lead_department_id=lead.id, state="draft",
        scope=scope, sampling=sampling, inspectors_per_department=per_dept, targets_per_group=per_group,
        window_start=start, window_end=end, summary_due=summary_due, results_due=deadlines.results_due,
        publication_due=deadlines.publication_due, deadlines_provisional=deadlines.provisional,
        created_by_person_id=created_by_person_id,
    )
    campaign.departments = [CampaignDepartment(department_id=d.id, position=i, cooperating=d.id in cooperating)
                            for i, d in enumerate(departments, 1)]
    campaign.items = [CampaignItem(item_id=item.id, position=i)
                      for i, item in enumerate((it for d in departments for it in chosen[d.id]), 1)]
    session.add(campaign)
    session.flush()
    if deadlines.provisional:
        warnings.append(t("campaign.warn.provisional", lang, results=deadlines.results_due.isoformat(),
                          publication=deadlines.publication_due.isoformat()))
    audit.record(session, actor=actor, action="campaign.create", subject=f"campaign:{campaign.id}", data={
        "number": number, "title": title, "lead": lead.name, "departments": [d.name for d in departments],
        "cooperating": [d.name for d in departments if d.id in cooperating], "scope": scope,
        "sampling": sampling, "window": [start.isoformat(), end.isoformat()],
        "inspectors_per_department": per_dept, "targets_per_group": per_group,
        "items": {d.name: [i.name for i in chosen[d.id]] for d in departments},
        "results_due": deadlines.results_due.isoformat(), "publication_due": deadlines.publication_due.isoformat(),
        "deadlines_provisional": deadlines.provisional,
        "summary_due": summary_due.isoformat() if summary_due else None,
    })
    log.info("campaign %s %s created by %s", campaign.id, number, actor)
    return CreateOutcome(campaign, warnings)


def _annual_warnings(session: Session, departments: list[Department], year: int, lang: str) -> list[str]:
    """seed 细则 九: each department runs 2–3 double-random campaigns a year; warn beyond that."""
    counts = dict(session.execute(
        select(CampaignDepartment.department_id, func.count(CampaignDepartment.id))
        .join(Campaign, Campaign.id == CampaignDepartment.campaign_id)
        .where(Campaign.year == year, CampaignDepartment.department_id.in_([d.id for d in departments]))
        .group_by(CampaignDepartment.department_id)
    ).all())
    return [t("campaign.warn.annual", lang, department=d.name, year=year, count=counts[d.id],
              max=MAX_CAMPAIGNS_PER_DEPARTMENT_YEAR)
            for d in departments if counts.get(d.id, 0) >= MAX_CAMPAIGNS_PER_DEPARTMENT_YEAR]


def _scope_warnings(session: Session, scope: list[str], lang: str) -> list[str]:
    found = set(session.scalars(select(Target.industry).where(Target.industry.in_(scope)).distinct()))
    return [t("campaign.warn.scope_empty", lang, value=s) for s in scope if s not in found]


# ----------------------------------------------------------------------------------------------- plan files

def load_plan(path: str | Path) -> dict[str, Any]:
    """Read a plan file (TOML). A syntax error is a PlanError naming the file, with line and column."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PlanError(str(p), "file not found / 文件不存在") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(str(p), f"cannot read / 无法读取: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(str(p), f"not valid TOML / TOML 格式错误: {exc}") from None


# ----------------------------------------------------------------------------------------------- queries

def list_campaigns(session: Session, *, open_only: bool = False) -> list[Campaign]:
    """Campaigns, newest first."""
    stmt = select(Campaign).order_by(Campaign.id.desc())
    if open_only:
        stmt = stmt.where(Campaign.state.in_(OPEN_STATES))
    return list(session.scalars(stmt))


def resolve_campaign(session: Session, ref: str | None) -> Campaign:
    """By id (`3` or `#3`), or by number; with no ref, the one open campaign. Else CampaignChoiceError."""
    ref = (ref or "").strip()
    open_ones = list(reversed(list_campaigns(session, open_only=True)))
    if not ref:
        if len(open_ones) == 1:
            return open_ones[0]
        raise CampaignChoiceError("several" if open_ones else "none_open", None, open_ones)
    key = unicodedata.normalize("NFKC", ref).lstrip("#")
    found = None
    if key.isdigit():
        found = session.get(Campaign, int(key))
    if found is None:
        found = session.scalar(select(Campaign).where(or_(Campaign.number == ref, Campaign.number == key)))
    if found is None:
        raise CampaignChoiceError("not_found", ref, open_ones)
    return found


def recompute_provisional(session: Session, cfg, *, actor: str = "system") -> int:
    """Recompute the deadlines of campaigns marked 暂定 (the calendar or config may now cover the year).
    Returns how many campaigns changed."""
    changed = 0
    for c in session.scalars(select(Campaign).where(Campaign.deadlines_provisional.is_(True))
                             .order_by(Campaign.id)):
        d = compute_deadlines(c.window_end, cfg)
        before = (c.results_due, c.publication_due, c.deadlines_provisional)
        if before == (d.results_due, d.publication_due, d.provisional):
            continue
        c.results_due, c.publication_due, c.deadlines_provisional = d.results_due, d.publication_due, d.provisional
        audit.record(session, actor=actor, action="campaign.deadlines", subject=f"campaign:{c.id}", data={
            "before": [before[0].isoformat() if before[0] else None,
                       before[1].isoformat() if before[1] else None, before[2]],
            "after": [d.results_due.isoformat(), d.publication_due.isoformat(), d.provisional]})
        changed += 1
    session.flush()
    return changed


def department_names(campaign: Campaign) -> list[str]:
    return [cd.department.name for cd in campaign.departments]


def provisional_marks(campaign: Campaign, cfg) -> tuple[bool, bool]:
    """Which of (results due, publication due) is 暂定. The stored flag covers both; a deadline counted only
    over days the calendar knows is firm even when the other one is not."""
    if not campaign.deadlines_provisional:
        return False, False
    cal = WorkCalendar.from_config(cfg)

    def uncertain(due: dt.date | None) -> bool:
        day = campaign.window_end
        while due is not None and day < due:
            day += dt.timedelta(days=1)
            if not cal.certain(day):
                return True
        return False

    return uncertain(campaign.results_due), uncertain(campaign.publication_due)


def date_text(day: dt.date | None, provisional: bool, lang: str) -> str:
    """A deadline as YYYY-MM-DD, marked 暂定 when provisional."""
    if day is None:
        return "—"
    return t("campaign.provisional", lang, date=day.isoformat()) if provisional else day.isoformat()


def lock_campaign(session: Session, campaign_id: int) -> Campaign:
    """Lock the campaign's row for this transaction (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already
    holds the write lock) and read it afresh: what serializes two submitters, two senders or two publishers."""
    campaign = session.execute(select(Campaign).where(Campaign.id == campaign_id).with_for_update(of=Campaign)
                               .execution_options(populate_existing=True)).scalar_one_or_none()
    if campaign is None:
        raise LookupError(f"no campaign {campaign_id}")
    return campaign


# --- the options /new offers (handlers.new_campaign): the same facts the plan file is checked against -----------

def department_options(session: Session) -> list[tuple[int, str]]:
    """Every department, (id, name), in id order."""
    return [(r.id, r.name) for r in session.execute(select(Department.id, Department.name).order_by(Department.id))]


def items_by_department(session: Session, department_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """Each department's items, (id, name), in id order; a department without items maps to []."""
    out: dict[int, list[tuple[int, str]]] = {d: [] for d in department_ids}
    for row in session.execute(select(Item.id, Item.name, Item.department_id)
                               .where(Item.department_id.in_(department_ids)).order_by(Item.id)):
        out[row.department_id].append((row.id, row.name))
    return out


def drawable_by_industry(session: Session) -> list[tuple[str, int]]:
    """(industry, how many of its targets a draw could pick now), most first: the scope choices."""
    drawable = func.sum(case((drawable_target_clause(), 1), else_=0))
    rows = session.execute(select(Target.industry, drawable).group_by(Target.industry)
                           .order_by(drawable.desc(), Target.industry)).all()
    return [(r[0], int(r[1] or 0)) for r in rows]


def drawable_by_class(session: Session, industries: list[str]) -> dict[str, int]:
    """Drawable targets of the chosen industries per credit class ("-" for none). The stored class is canonical
    (the import resolves every alias), so these keys are the scheme's class names."""
    rows = session.execute(select(Target.credit_class, func.count(Target.id))
                           .where(Target.industry.in_(industries), drawable_target_clause())
                           .group_by(Target.credit_class)).all()
    return {(c or "-"): int(n) for c, n in rows}


def plan_from_choices(session: Session, *, title: str, department_ids: list[int], item_ids: dict[int, list[int]],
                      scope: list[str], start: dt.date, end: dt.date, sampling: dict[str, Any],
                      lang: str) -> dict[str, Any]:
    """The plan of SPEC §4 from /new's choices (ids), re-read from the database now: a department or item deleted
    since it was offered is a PlanError, as in a plan file. The first department leads."""
    departments: list[Department] = []
    items: dict[str, list[str]] = {}
    for did in department_ids:
        dept = session.get(Department, did)
        if dept is None:
            raise PlanError("departments", t("campaign.plan.gone", lang))
        chosen = []
        for item_id in item_ids.get(did, []):
            item = session.get(Item, item_id)
            if item is None or item.department_id != dept.id:
                raise PlanError(f"items.{dept.name}", t("campaign.plan.gone", lang))
            chosen.append(item.name)
        departments.append(dept)
        items[dept.name] = chosen
    return {"title": title, "lead": departments[0].name, "departments": [d.name for d in departments],
            "scope": scope, "window": {"start": start, "end": end}, "sampling": sampling, "items": items}
