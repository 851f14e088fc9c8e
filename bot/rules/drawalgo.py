"""The double-random draw, algorithm v1 (SPEC §5), as a pure function of a seed, parameters and frozen pools.

Nothing here touches the database or Telegram: the draw record (a JSON-friendly dict, also the export file of
`python -m bot draw export/verify`) is the single source of truth, and anyone can re-run it from the file alone.

    K(s) = HMAC-SHA256(key=bytes.fromhex(seed), msg=s.encode("utf-8")).hexdigest(); "sort by K" is ascending.

Record format (`make_record` writes it, `verify_record` checks it)::

    {
      "format": "shuangsui-draw",
      "algorithm": "v1",
      "seed": "<64 lowercase hex>",
      "seed_source": "secrets" | "public",
      "public_text": "<text>" | null,                    # seed == sha256(public_text) when "public"
      "campaign": {"id": 1, "number": "…", "title": "…"} | null,   # informational
      "params": {
        "sampling": {"ratio": "0.2"} | {"count": 10}
                    | {"by_class": {"A": "0.05", …}} (+ "ratio" or "count" for the classes it does not name),
        "per_class": bool,                               # == "by_class" in sampling
        "targets_per_group": int,                        # 0: one group
        "inspectors_per_department": int,
        "departments": [str, …],                         # campaign order
        "lead_department": str | null,
        …                                                # other keys are kept, informational
      },
      "pools": {
        "targets": {"<stratum>": [uscc, …sorted], …},   # strata sorted; stratum = class ("-" blank) or "*"
        "inspectors": {"<department>": [cert_no, …sorted], …},   # campaign order
        "conflicts": [[cert_no, uscc], …sorted]
      },
      "digests": {"targets": hex, "inspectors": {"<department>": hex, …}, "conflicts": hex},
      "result": {"groups": [{"number": 1, "targets": [uscc, … rank order],
                             "inspectors": [{"department": str, "cert_no": str}, … draw order],
                             "leader": cert_no}, …]}
    }

Ratios are decimal strings (floats are accepted and str()'d) so that N × ratio is exact; a ratio is a
fraction in [0, 1] (5% is "0.05"); `by_class` values are ratios. Pool entries are non-empty strings without
`|`, CR or LF (they are lines of the digests), unique within the pools: a duplicated candidate would have two
chances, so it is refused rather than drawn.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

FORMAT = "shuangsui-draw"
ALGORITHM = "v1"
SEED_SOURCES = ("secrets", "public")
UNCLASSIFIED = "-"  # stratum of a target without a credit-risk class
WHOLE_SCOPE = "*"  # the one stratum when the rule is not per class
# 细则 十: 每次抽取的随机抽查执法人员不得少于2人 — a group never has fewer than two inspectors. Each department of the
# campaign sends `inspectors_per_department` of its own to every group (seed 抽调函: "贵单位两名同志被随机抽中"; 2 is
# the configured default), so a plan is checked by `too_few_inspectors` wherever it is made: here for a draw
# record, in bot.services.campaigns for a plan, in /new while departments are chosen.
MIN_INSPECTORS_PER_GROUP = 2


def group_size(inspectors_per_department: int, departments: int) -> int:
    """Inspectors drawn into each group: that many from each department."""
    return inspectors_per_department * departments


def too_few_inspectors(inspectors_per_department: int, departments: int) -> bool:
    """A group would have fewer than MIN_INSPECTORS_PER_GROUP inspectors (细则 十)."""
    return group_size(inspectors_per_department, departments) < MIN_INSPECTORS_PER_GROUP


def departments_needed(inspectors_per_department: int) -> int:
    """The fewest departments that give a group MIN_INSPECTORS_PER_GROUP inspectors."""
    return -(-MIN_INSPECTORS_PER_GROUP // max(1, inspectors_per_department))

_SEED_RE = re.compile(r"[0-9a-f]{64}")


class DrawError(Exception):
    """The draw cannot be made (or re-run) from these inputs; nothing is to be saved.

    `code` says which rule failed, for callers that word it in the user's language:
    "too_few_inspectors" (with group, department, needed, eligible), "no_targets", "no_rule" (with classes),
    "invalid" (bad seed, parameters or pools).
    """

    def __init__(self, message: str, *, code: str = "invalid", group: int | None = None,
                 department: str | None = None, needed: int | None = None, eligible: int | None = None,
                 classes: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.group = group
        self.department = department
        self.needed = needed
        self.eligible = eligible
        self.classes = tuple(classes)


# ---------------------------------------------------------------------------------------------------- keys


def new_seed() -> str:
    """32 fresh bytes from `secrets`, as 64 lowercase hex characters (SPEC §5.1)."""
    return secrets.token_bytes(32).hex()


def seed_from_public(text: str) -> str:
    """The seed named by a public value announced before the draw: SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_seed(seed: object) -> str:
    """The seed itself, if it is 64 lowercase hex characters; else DrawError."""
    if not isinstance(seed, str) or not _SEED_RE.fullmatch(seed):
        raise DrawError("seed must be 64 lowercase hexadecimal characters")
    return seed


def rank_key(seed_hex: str, s: str) -> str:
    """K(s) of SPEC §5: HMAC-SHA256 under the seed, as lowercase hex."""
    return _Ranker(check_seed(seed_hex)).key(s).hex()


class _Ranker:
    """HMAC-SHA256 under one seed with the key pads hashed once (RFC 2104), so each message costs two state
    copies and two short updates instead of four compressions. Same bytes as `hmac.new(key, msg, sha256)`;
    comparing raw digests orders exactly as comparing their hex strings."""

    def __init__(self, seed_hex: str) -> None:
        key = bytes.fromhex(seed_hex).ljust(64, b"\0")  # a 32-byte key is padded, never hashed
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def key(self, s: str) -> bytes:
        inner = self._inner.copy()
        inner.update(s.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def smallest(self, prefix: str, items: Sequence[str], n: int) -> list[bytes]:
        """The n items with the smallest K(prefix + item), in that order, each as digest + UTF-8 item bytes
        (so a plain bytes sort is the sort by K; `_item()` gets the item back)."""
        if n <= 0 or not items:
            return []
        inner = self._inner.copy()
        inner.update(prefix.encode("utf-8"))
        inner_copy, outer_copy = inner.copy, self._outer.copy
        threshold = _threshold(n, len(items))
        while True:
            out: list[bytes] = []
            append = out.append
            # The hot loop of a million-target draw: keep it to the hashing itself.
            if threshold is None:
                for item in items:
                    b = item.encode("utf-8")
                    h = inner_copy()
                    h.update(b)
                    o = outer_copy()
                    o.update(h.digest())
                    append(o.digest() + b)
            else:
                for item in items:
                    b = item.encode("utf-8")
                    h = inner_copy()
                    h.update(b)
                    o = outer_copy()
                    o.update(h.digest())
                    d = o.digest()
                    if d < threshold:
                        append(d + b)
            if len(out) >= n:
                break
            threshold = None  # the slack was too small (about 1e-12 likely): rank them all
        out.sort()
        del out[n:]
        return out


def _threshold(n: int, total: int) -> bytes | None:
    """A digest prefix below which, almost surely, at least n of `total` uniform digests fall.

    Every digest below it precedes every digest not below it, so when at least n fall below, the n smallest
    are among them: the pre-filter saves sorting the rest and never changes the result (when fewer fall
    below, `smallest` ranks them all).
    """
    if total < 4096 or n * 10 > total * 9:
        return None
    p = n / total
    q = p + 7 * math.sqrt(p * (1 - p) / total) + 16 / total
    if q >= 1:
        return None
    return min(int(q * 2**64), 2**64 - 1).to_bytes(8, "big")


def _item(ranked: bytes) -> str:
    return ranked[32:].decode("utf-8")


# ---------------------------------------------------------------------------------------------- sampling


@dataclass(frozen=True)
class Sampling:
    """A parsed sampling rule: a whole-scope ratio or count, and per-class ratios (`by_class`)."""

    ratio: Fraction | None = None
    count: int | None = None
    by_class: Mapping[str, Fraction] = field(default_factory=dict)

    @property
    def per_class(self) -> bool:
        return bool(self.by_class)


def _ratio(value: object, where: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise DrawError(f"{where}: a ratio must be a decimal number, not {value!r}")
    try:
        dec = Decimal(str(value).strip())
    except InvalidOperation:
        raise DrawError(f"{where}: {value!r} is not a decimal number (5% is written 0.05)") from None
    if not dec.is_finite() or dec < 0 or dec > 1:
        raise DrawError(f"{where}: a ratio is between 0 and 1 (5% is written 0.05), not {value!r}")
    return Fraction(dec)  # exact: Decimal("0.07") is 7/100


def _count(value: object, where: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DrawError(f"{where}: a count is a whole number ≥ 0, not {value!r}")
    return value


def parse_sampling(sampling: Mapping[str, Any]) -> Sampling:
    """Check and parse a sampling rule (also usable when a campaign is created)."""
    if not isinstance(sampling, Mapping):
        raise DrawError("sampling must be a mapping with ratio, count or by_class")
    unknown = sorted(set(sampling) - {"ratio", "count", "by_class"})
    if unknown:
        raise DrawError(f"sampling: unknown key(s) {', '.join(map(str, unknown))}")
    if "ratio" in sampling and "count" in sampling:
        raise DrawError("sampling: give a ratio or a count, not both")
    by_class_raw = sampling.get("by_class")
    if "by_class" in sampling and (not isinstance(by_class_raw, Mapping) or not by_class_raw):
        raise DrawError("sampling.by_class must map credit classes to ratios")
    if by_class_raw is None and "ratio" not in sampling and "count" not in sampling:
        raise DrawError("sampling: give a ratio, a count or by_class")
    by_class: dict[str, Fraction] = {}
    for cls, value in (by_class_raw or {}).items():
        _check_label(cls, "sampling.by_class class")
        by_class[cls] = _ratio(value, f"sampling.by_class[{cls}]")
    return Sampling(
        ratio=_ratio(sampling["ratio"], "sampling.ratio") if "ratio" in sampling else None,
        count=_count(sampling["count"], "sampling.count") if "count" in sampling else None,
        by_class=by_class,
    )


def normalize_sampling(sampling: Mapping[str, Any]) -> dict[str, Any]:
    """The rule as stored in a record: ratios as decimal strings, counts as ints (after checking it)."""
    parse_sampling(sampling)
    out: dict[str, Any] = {}
    if "by_class" in sampling:
        out["by_class"] = {cls: _ratio_text(v) for cls, v in sampling["by_class"].items()}
    if "ratio" in sampling:
        out["ratio"] = _ratio_text(sampling["ratio"])
    if "count" in sampling:
        out["count"] = _count(sampling["count"], "sampling.count")
    return out


def _ratio_text(value: Any) -> str:
    return str(value).strip()


def classes_without_rule(sampling: Mapping[str, Any] | Sampling, classes: Iterable[str]) -> list[str]:
    """The classes (strata) that the rule leaves without a ratio or count — 不免抽: none may be exempt."""
    rule = sampling if isinstance(sampling, Sampling) else parse_sampling(sampling)
    if not rule.per_class or rule.ratio is not None or rule.count is not None:
        return []
    return sorted(cls for cls in set(classes) if cls not in rule.by_class)


def _size(candidates: int, rule: Sampling, stratum: str) -> int:
    if candidates == 0:
        return 0
    ratio = rule.by_class.get(stratum) if rule.per_class else None
    if ratio is None:
        ratio = rule.ratio
    if ratio is not None:
        return min(candidates, math.ceil(candidates * ratio))  # exact: Fraction arithmetic
    if rule.count is not None:
        return min(candidates, rule.count)
    raise DrawError(f"no sampling rule for class {stratum}: name it in by_class or give a ratio or count (不免抽)",
                    code="no_rule", classes=[stratum])


def sample_size(candidates: int, sampling: Mapping[str, Any] | Sampling, stratum: str = WHOLE_SCOPE) -> int:
    """n for a stratum of N candidates: min(N, ceil(N × ratio)) in exact decimal arithmetic, or min(N, count)."""
    rule = sampling if isinstance(sampling, Sampling) else parse_sampling(sampling)
    return _size(candidates, rule, stratum)


def stratum_of(credit_class: str | None, per_class: bool) -> str:
    """The stratum of a target (SPEC §5.2): its credit-risk class (`-` when blank) per class, else `*`."""
    if not per_class:
        return WHOLE_SCOPE
    return (credit_class or "").strip() or UNCLASSIFIED


# ---------------------------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class Params:
    """Checked draw parameters."""

    sampling: Sampling
    targets_per_group: int
    inspectors_per_department: int
    departments: tuple[str, ...]
    lead_department: str | None

    @property
    def per_class(self) -> bool:
        return self.sampling.per_class


def parse_params(params: Mapping[str, Any]) -> Params:
    """Check the record's `params` (keys other than the algorithm's are ignored)."""
    if not isinstance(params, Mapping):
        raise DrawError("params must be a mapping")
    for key in ("sampling", "targets_per_group", "inspectors_per_department", "departments"):
        if key not in params:
            raise DrawError(f"params.{key} is missing")
    sampling = parse_sampling(params["sampling"])
    if "per_class" in params and params["per_class"] is not sampling.per_class:
        raise DrawError("params.per_class must be true exactly when sampling has by_class")
    per_group = params["targets_per_group"]
    if isinstance(per_group, bool) or not isinstance(per_group, int) or per_group < 0:
        raise DrawError(f"params.targets_per_group must be a whole number ≥ 0 (0: one group), not {per_group!r}")
    k = params["inspectors_per_department"]
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise DrawError(f"params.inspectors_per_department must be a whole number ≥ 1, not {k!r}")
    departments = params["departments"]
    if isinstance(departments, str) or not isinstance(departments, Sequence) or not departments:
        raise DrawError("params.departments must be a non-empty list of department names")
    if not all(isinstance(dept, str) and dept.strip() for dept in departments):
        raise DrawError("params.departments must be a non-empty list of department names")
    if len(set(departments)) != len(departments):
        raise DrawError("params.departments names a department twice")
    if too_few_inspectors(k, len(departments)):
        raise DrawError(f"a group needs at least {MIN_INSPECTORS_PER_GROUP} inspectors (细则 十): "
                        f"{k} per department × {len(departments)} department(s) is too few")
    lead = params.get("lead_department")
    if lead is not None and not isinstance(lead, str):
        raise DrawError("params.lead_department must be a department name or null")
    return Params(sampling, per_group, k, tuple(departments), lead)


def normalize_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Params as stored in a record: checked, `per_class` filled in, ratios as strings; other keys kept."""
    parsed = parse_params(params)
    out: dict[str, Any] = {
        "sampling": normalize_sampling(params["sampling"]),
        "per_class": parsed.per_class,
        "targets_per_group": parsed.targets_per_group,
        "inspectors_per_department": parsed.inspectors_per_department,
        "departments": list(parsed.departments),
        "lead_department": parsed.lead_department,
    }
    out.update({k: v for k, v in params.items() if k not in out})
    return out


# ---------------------------------------------------------------------------------------------------- pools


def _check_label(value: object, what: str) -> None:
    if not isinstance(value, str) or not value or "|" in value or "\n" in value or "\r" in value:
        raise DrawError(f"{what} must be a non-empty text without '|' or line breaks, not {value!r}")


def _check_entries(entries: object, what: str) -> list[str]:
    """A pool list of texts without the digest separators (emptiness and duplicates are checked on its set)."""
    if isinstance(entries, (str, bytes)) or not isinstance(entries, Iterable):
        raise DrawError(f"{what} must be a list")
    entries = list(entries)
    try:
        joined = "".join(entries)  # one C-level pass checks a million entries' types and characters
    except TypeError:
        joined = None
    if joined is None or "|" in joined or "\n" in joined or "\r" in joined:
        bad = next(e for e in entries if not isinstance(e, str) or set(e) & {"|", "\n", "\r"})
        raise DrawError(f"{what}: {bad!r} is not a valid entry (text without '|' or line breaks)")
    return entries


def _check_unique(entries: list[str], distinct: set[str], what: str) -> None:
    if "" in distinct:
        raise DrawError(f"{what}: an entry is empty")
    if len(distinct) != len(entries):
        seen: set[str] = set()
        dup = next(e for e in entries if e in seen or seen.add(e))  # type: ignore[func-returns-value]
        raise DrawError(f"{what}: {dup} is listed twice")


@dataclass(frozen=True)
class Pools:
    """Checked pools: every target once (in one stratum), every inspector once per department."""

    targets: dict[str, list[str]]
    inspectors: dict[str, list[str]]
    conflicts: list[tuple[str, str]]


def parse_pools(pools: Mapping[str, Any] | Pools, *, per_class: bool | None = None) -> Pools:
    """Check pools (see the module docstring); `per_class` also checks the strata fit the rule."""
    if isinstance(pools, Pools):
        if per_class is not None:
            _check_strata(pools.targets, per_class)
        return pools
    if not isinstance(pools, Mapping):
        raise DrawError("pools must be a mapping with targets, inspectors and conflicts")
    for key in ("targets", "inspectors"):
        if not isinstance(pools.get(key), Mapping):
            raise DrawError(f"pools.{key} must be a mapping")
    targets: dict[str, list[str]] = {}
    for stratum, entries in pools["targets"].items():
        _check_label(stratum, "a stratum")
        targets[stratum] = _check_entries(entries, f"pools.targets[{stratum}]")
    if per_class is not None:
        _check_strata(targets, per_class)
    # One set over all strata finds a target listed twice, in one stratum or in two.
    everyone = next(iter(targets.values())) if len(targets) == 1 else [e for v in targets.values() for e in v]
    _check_unique(everyone, set(everyone), "pools.targets")
    inspectors: dict[str, list[str]] = {}
    for dept, entries in pools["inspectors"].items():
        if not isinstance(dept, str) or not dept.strip():
            raise DrawError(f"pools.inspectors: {dept!r} is not a department name")
        inspectors[dept] = _check_entries(entries, f"pools.inspectors[{dept}]")
        _check_unique(inspectors[dept], set(inspectors[dept]), f"pools.inspectors[{dept}]")
    raw_conflicts = pools.get("conflicts", [])
    if isinstance(raw_conflicts, (str, bytes, Mapping)) or not isinstance(raw_conflicts, Iterable):
        raise DrawError("pools.conflicts must be a list of [cert_no, uscc] pairs")
    conflicts: list[tuple[str, str]] = []
    for pair in raw_conflicts:
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise DrawError(f"pools.conflicts: {pair!r} is not a [cert_no, uscc] pair")
        _check_label(pair[0], "pools.conflicts cert_no")
        _check_label(pair[1], "pools.conflicts uscc")
        conflicts.append((pair[0], pair[1]))
    return Pools(targets, inspectors, conflicts)


def _check_strata(targets: Mapping[str, list[str]], per_class: bool) -> None:
    for stratum in targets:
        if (stratum == WHOLE_SCOPE) is per_class:
            raise DrawError(f"pools.targets: stratum {stratum!r} does not fit "
                            + ("a per-class rule" if per_class else "a whole-scope rule (its stratum is '*')"))


def _canonical(pools: Pools, departments: Sequence[str]) -> Pools:
    inspectors = {dept: sorted(pools.inspectors.get(dept, ())) for dept in departments}
    inspectors.update({d: sorted(pools.inspectors[d]) for d in sorted(pools.inspectors) if d not in inspectors})
    return Pools({s: sorted(pools.targets[s]) for s in sorted(pools.targets)}, inspectors,
                 sorted(set(pools.conflicts)))


def _pools_json(pools: Pools) -> dict[str, Any]:
    return {"targets": pools.targets, "inspectors": pools.inspectors,
            "conflicts": [list(pair) for pair in pools.conflicts]}


def canonical_pools(pools: Mapping[str, Any], departments: Sequence[str] = ()) -> dict[str, Any]:
    """Pools as stored in a record: strata sorted, departments in campaign order (one pool each, empty when
    nobody qualifies), every list sorted, conflicts unique and sorted."""
    return _pools_json(_canonical(parse_pools(pools), departments))


def pool_digest(lines: Iterable[str]) -> str:
    """SHA-256 (lowercase hex) of the lines sorted by code point and joined with LF, no trailing newline."""
    return hashlib.sha256("\n".join(sorted(lines)).encode("utf-8")).hexdigest()


def compute_digests(pools: Mapping[str, Any] | Pools) -> dict[str, Any]:
    """The published digests of the pools (SPEC §5.2): targets as `<stratum>|<uscc>` lines, each department's
    inspectors as `<cert_no>` lines, conflicts as `<cert_no>|<uscc>` lines."""
    parsed = parse_pools(pools)
    # `<stratum>|<uscc>` lines sort by stratum prefix first (no stratum holds '|', so no prefix "s|" starts
    # another), then by uscc: the text is built stratum by stratum without a million short strings.
    chunks = []
    for stratum in sorted(parsed.targets, key=lambda s: s + "|"):
        entries = parsed.targets[stratum]
        if entries:
            head = stratum + "|"
            chunks.append(head + ("\n" + head).join(sorted(entries)))  # Timsort: a sorted list costs one pass
    return {
        "targets": hashlib.sha256("\n".join(chunks).encode("utf-8")).hexdigest(),
        "inspectors": {dept: pool_digest(entries) for dept, entries in parsed.inspectors.items()},
        "conflicts": pool_digest(f"{cert}|{uscc}" for cert, uscc in parsed.conflicts),
    }


# ------------------------------------------------------------------------------------------------ the draw


def run_v1(seed: str, params: Mapping[str, Any] | Params, pools: Mapping[str, Any] | Pools) -> dict[str, Any]:
    """Algorithm v1 (SPEC §5.3–5.6): the draw's result, `{"groups": [...]}`. Raises DrawError."""
    ranker = _Ranker(check_seed(seed))
    p = params if isinstance(params, Params) else parse_params(params)
    pl = parse_pools(pools, per_class=p.per_class)

    # §5.3 Targets: per stratum, the n candidates first by K("target|" + uscc).
    lacking = classes_without_rule(p.sampling, (s for s, e in pl.targets.items() if e))
    if lacking:
        raise DrawError(f"no sampling rule for class(es) {', '.join(lacking)}: name them in by_class or give the "
                        "plan a ratio or count (不免抽)", code="no_rule", classes=lacking)
    drawn: list[bytes] = []
    for stratum in sorted(pl.targets):
        entries = pl.targets[stratum]
        drawn.extend(ranker.smallest("target|", entries, _size(len(entries), p.sampling, stratum)))
    if not drawn:
        raise DrawError("no targets: the pools and the sampling rule draw no target", code="no_targets")

    # §5.4 Groups: all drawn targets by the same K, dealt round-robin: the i-th to group (i mod G) + 1.
    drawn.sort()  # the strata's lists are sorted runs: Timsort merges them
    ordered = [b[32:].decode("utf-8") for b in drawn]
    count = 1 if p.targets_per_group == 0 else -(-len(ordered) // p.targets_per_group)

    # §5.5 Inspectors: group by group, department by department in campaign order; nobody twice in the
    # draw, nobody with a 回避 record against a target of the group.
    conflicted: dict[str, list[str]] = {}
    for cert, uscc in pl.conflicts:
        conflicted.setdefault(uscc, []).append(cert)
    blocked: dict[int, set[str]] = {}  # group index → inspectors in conflict with one of its targets
    if conflicted:
        for i, uscc in enumerate(ordered):
            if uscc in conflicted:
                blocked.setdefault(i % count, set()).update(conflicted[uscc])
    taken: set[str] = set()
    k = p.inspectors_per_department
    groups: list[dict[str, Any]] = []
    for g in range(count):
        number = g + 1
        out = taken | blocked.get(g, set())
        members: list[dict[str, str]] = []
        leader: str | None = None
        for dept in p.departments:
            eligible = [c for c in pl.inspectors.get(dept, ()) if c not in out]
            if len(eligible) < k:
                raise DrawError(f"group {number}, department {dept}: {k} inspector(s) needed, "
                                f"only {len(eligible)} eligible", code="too_few_inspectors",
                                group=number, department=dept, needed=k, eligible=len(eligible))
            chosen = [_item(b) for b in ranker.smallest(f"inspector|{number}|", eligible, k)]
            taken.update(chosen)
            out.update(chosen)
            members.extend({"department": dept, "cert_no": c} for c in chosen)
            if dept == p.lead_department:
                leader = chosen[0]  # §5.6: the lead department's first drawn inspector
        groups.append({"number": number, "targets": ordered[g::count], "inspectors": members,
                       "leader": leader if leader is not None else members[0]["cert_no"]})
    return {"groups": groups}


def drawn_inspectors(result: Mapping[str, Any]) -> set[str]:
    """Everyone the result put in a group."""
    return {m["cert_no"] for g in result.get("groups", ()) for m in g.get("inspectors", ())}


def make_record(*, seed: str, seed_source: str, public_text: str | None, params: Mapping[str, Any],
                pools: Mapping[str, Any], campaign: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Run the draw and return its complete, canonical record. Raises DrawError."""
    check_seed(seed)
    if seed_source not in SEED_SOURCES:
        raise DrawError(f"seed_source must be one of {', '.join(SEED_SOURCES)}")
    if seed_source == "public":
        if not isinstance(public_text, str) or seed != seed_from_public(public_text):
            raise DrawError("a public seed must be the SHA-256 of public_text")
    elif public_text is not None:
        raise DrawError("public_text goes with seed_source 'public' only")
    norm_params = normalize_params(params)
    parsed_params = parse_params(norm_params)
    frozen = _canonical(parse_pools(pools, per_class=parsed_params.per_class), parsed_params.departments)
    return {
        "format": FORMAT,
        "algorithm": ALGORITHM,
        "seed": seed,
        "seed_source": seed_source,
        "public_text": public_text,
        "campaign": dict(campaign) if campaign is not None else None,
        "params": norm_params,
        "pools": _pools_json(frozen),
        "digests": compute_digests(frozen),
        "result": run_v1(seed, parsed_params, frozen),
    }


# ---------------------------------------------------------------------------------------------- verifying


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of re-running a record: ok, or the named differences (a malformed record is one of them)."""

    ok: bool
    mismatches: tuple[str, ...] = ()
    result: dict[str, Any] | None = None  # the recomputed result, when the draw could be re-run

    def summary(self) -> str:
        return "match" if self.ok else "\n".join(self.mismatches)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "…"


def verify_record(record: Any) -> VerifyReport:
    """Re-run a draw from its record alone; never raises. Mismatches name what differs, e.g.
    `digests.inspectors[西华县公安局]`, `seed does not match public_text`, `result.groups[2].targets` (groups are
    named by their number)."""
    try:
        return _verify(record)
    except Exception as exc:  # a verifier reports, it does not crash on a hostile file
        return VerifyReport(False, (f"malformed record: {exc}",))


def _verify(record: Any) -> VerifyReport:
    if not isinstance(record, Mapping):
        return VerifyReport(False, ("malformed record: not a JSON object",))
    missing = [k for k in ("algorithm", "seed", "seed_source", "params", "pools", "digests", "result")
               if k not in record]
    if missing:
        return VerifyReport(False, (f"malformed record: missing {', '.join(missing)}",))
    if record.get("format", FORMAT) != FORMAT:
        return VerifyReport(False, (f"malformed record: format is {record.get('format')!r}, not {FORMAT!r}",))
    if record["algorithm"] != ALGORITHM:
        return VerifyReport(False, (f"algorithm {record['algorithm']!r} is not supported (this is {ALGORITHM})",))
    seed = record["seed"]
    if not isinstance(seed, str) or not _SEED_RE.fullmatch(seed):
        return VerifyReport(False, ("malformed record: seed must be 64 lowercase hexadecimal characters",))

    mismatches: list[str] = []
    source, public_text = record["seed_source"], record.get("public_text")
    if source not in SEED_SOURCES:
        return VerifyReport(False, (f"malformed record: seed_source must be one of {', '.join(SEED_SOURCES)}",))
    if source == "public":
        if not isinstance(public_text, str):
            mismatches.append("seed does not match public_text (public_text is missing)")
        elif seed_from_public(public_text) != seed:
            mismatches.append("seed does not match public_text")

    try:
        pools = parse_pools(record["pools"])
        digests = compute_digests(pools)
    except DrawError as exc:
        return VerifyReport(False, (*mismatches, f"malformed record: {exc}"))
    recorded = record["digests"] if isinstance(record["digests"], Mapping) else {}
    for name in ("targets", "conflicts"):
        if recorded.get(name) != digests[name]:
            mismatches.append(f"digests.{name}: recorded {_short(recorded.get(name))}, pools give {digests[name]}")
    rec_insp = recorded.get("inspectors") if isinstance(recorded.get("inspectors"), Mapping) else {}
    for dept in [*digests["inspectors"], *(d for d in rec_insp if d not in digests["inspectors"])]:
        mine, theirs = digests["inspectors"].get(dept), rec_insp.get(dept)
        if mine != theirs:
            mismatches.append(f"digests.inspectors[{dept}]: recorded {_short(theirs)}, "
                              f"pools give {_short(mine) if mine else 'no pool'}")

    try:
        result = run_v1(seed, record["params"], pools)
    except DrawError as exc:
        return VerifyReport(False, (*mismatches, f"re-running the draw fails: {exc}"))
    mismatches.extend(_compare_results(record["result"], result))
    return VerifyReport(not mismatches, tuple(mismatches), result)


def _compare_results(recorded: Any, mine: dict[str, Any]) -> list[str]:
    if not isinstance(recorded, Mapping) or not isinstance(recorded.get("groups"), list):
        return ["result.groups: missing or not a list"]
    out = []
    theirs, ours = recorded["groups"], mine["groups"]
    if len(theirs) != len(ours):
        out.append(f"result.groups: {len(theirs)} group(s) recorded, the re-run gives {len(ours)}")
    for i in range(max(len(theirs), len(ours))):
        number = i + 1
        if i >= len(theirs):
            out.append(f"result.groups[{number}]: missing from the record")
            continue
        if i >= len(ours):
            out.append(f"result.groups[{number}]: not in the re-run")
            continue
        rec, new = theirs[i], ours[i]
        if not isinstance(rec, Mapping):
            out.append(f"result.groups[{number}]: not an object")
            continue
        for key in [*new, *(k for k in rec if k not in new)]:
            if rec.get(key) != new.get(key):
                out.append(f"result.groups[{number}].{key}: recorded {_short(rec.get(key))}, "
                           f"the re-run gives {_short(new.get(key))}")
    return out


# -------------------------------------------------------------------------------------------- replacement


def replacement_v1(record: Mapping[str, Any], *, group: int, n: int, department: str, excluded: Iterable[str],
                   extra_conflicts: Iterable[tuple[str, str]] = ()) -> str | None:
    """The substitute for an inspector of `department` in group `group` (SPEC §5.10), or None when nobody is
    eligible.

    Eligible: the department's frozen pool minus everyone ever drawn in this draw (the record's result plus
    `excluded` — earlier replacements, the person leaving, anyone the caller rules out) minus those with a
    conflict against a target of the group (the record's conflicts plus `extra_conflicts`). The one sorted
    first by K("replace|" + str(group) + "|" + str(n) + "|" + cert_no), n counting this draw's replacements
    from 1.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise DrawError("the replacement number n counts from 1")
    groups = record["result"]["groups"]
    match = [g for g in groups if g.get("number") == group]
    if not match:
        raise DrawError(f"the draw has no group {group}")
    targets = set(match[0]["targets"])
    pool = record["pools"]["inspectors"].get(department)
    if pool is None:
        raise DrawError(f"the draw has no inspector pool for {department}")
    out = drawn_inspectors(record["result"]) | set(excluded)
    for cert, uscc in [*record["pools"].get("conflicts", ()), *extra_conflicts]:
        if uscc in targets:
            out.add(cert)
    eligible = [c for c in pool if c not in out]
    chosen = _Ranker(check_seed(record["seed"])).smallest(f"replace|{group}|{n}|", eligible, 1)
    return _item(chosen[0]) if chosen else None


# ---------------------------------------------------------------------------------------------------- files


def dump_record(record: Mapping[str, Any], path: str | Path) -> None:
    """Write a record as UTF-8 JSON (readable Chinese, two-space indent, keys in record order)."""
    text = json.dumps(record, ensure_ascii=False, indent=2, sort_keys=False)
    Path(path).write_text(text + "\n", encoding="utf-8")


def load_record(path: str | Path) -> dict[str, Any]:
    """Read a record file. Raises OSError, or ValueError naming the file when it is not a JSON object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a JSON draw record ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a JSON draw record (the top level is not an object)")
    return data
