"""The draw algorithm v1 (SPEC §5): known answers, exact decimal sizes, properties, uniformity, verification and
replacement. Expected values come from `naive_v1` below — a straightforward reading of the SPEC text with
`hmac`/`hashlib` that shares no code with bot.rules.drawalgo — and from literals computed by OpenSSL."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import math
import random
from decimal import ROUND_CEILING, Decimal, localcontext

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.rules import drawalgo as da
from bot.rules.drawalgo import (DrawError, classes_without_rule, compute_digests, dump_record, load_record,
                          make_record, new_seed, pool_digest, rank_key, replacement_v1, run_v1, sample_size,
                          seed_from_public, stratum_of, verify_record)

# ------------------------------------------------------------------ an independent reading of SPEC §5


def K(seed: str, s: str) -> str:
    return hmac.new(bytes.fromhex(seed), s.encode("utf-8"), hashlib.sha256).hexdigest()


def naive_n(N: int, sampling: dict, stratum: str) -> int:
    by_class = sampling.get("by_class") or {}
    if stratum in by_class:
        ratio = by_class[stratum]
    elif "ratio" in sampling:
        ratio = sampling["ratio"]
    elif "count" in sampling:
        return min(N, int(sampling["count"]))
    else:
        raise LookupError(stratum)
    with localcontext() as ctx:
        ctx.prec = 200
        return min(N, int((Decimal(N) * Decimal(str(ratio))).to_integral_value(rounding=ROUND_CEILING)))


class NaiveNoTargets(Exception):
    pass


class NaiveTooFew(Exception):
    def __init__(self, group: int, department: str) -> None:
        super().__init__(group, department)
        self.group, self.department = group, department


def naive_v1(seed: str, params: dict, pools: dict) -> dict:
    drawn: list[str] = []
    for stratum, usccs in pools["targets"].items():
        n = naive_n(len(usccs), params["sampling"], stratum)
        drawn += sorted(usccs, key=lambda u: K(seed, "target|" + u))[:n]
    drawn.sort(key=lambda u: K(seed, "target|" + u))
    if not drawn:  # the SPEC is silent; an empty draw is refused, not announced
        raise NaiveNoTargets
    per_group = params["targets_per_group"]
    G = 1 if per_group == 0 else math.ceil(len(drawn) / per_group)
    groups = [{"number": g + 1, "targets": [], "inspectors": [], "leader": None} for g in range(G)]
    for i, u in enumerate(drawn):
        groups[i % G]["targets"].append(u)
    already: set[str] = set()
    k = params["inspectors_per_department"]
    for group in groups:
        g = group["number"]
        conflicted = {c for c, u in pools["conflicts"] if u in group["targets"]}
        for dept in params["departments"]:
            eligible = [c for c in pools["inspectors"].get(dept, []) if c not in already and c not in conflicted]
            if len(eligible) < k:
                raise NaiveTooFew(g, dept)
            chosen = sorted(eligible, key=lambda c: K(seed, "inspector|" + str(g) + "|" + c))[:k]
            already.update(chosen)
            group["inspectors"] += [{"department": dept, "cert_no": c} for c in chosen]
        lead = [m["cert_no"] for m in group["inspectors"] if m["department"] == params.get("lead_department")]
        group["leader"] = lead[0] if lead else group["inspectors"][0]["cert_no"]
    return {"groups": groups}


def naive_digest(lines) -> str:  # noqa: ANN001
    return hashlib.sha256("\n".join(sorted(lines)).encode("utf-8")).hexdigest()


def naive_digests(pools: dict) -> dict:
    return {"targets": naive_digest(f"{s}|{u}" for s, us in pools["targets"].items() for u in us),
            "inspectors": {d: naive_digest(cs) for d, cs in pools["inspectors"].items()},
            "conflicts": naive_digest(f"{c}|{u}" for c, u in pools["conflicts"])}


def naive_replacement(record: dict, g: int, n: int, dept: str, excluded: set[str], extra=()) -> str | None:  # noqa: ANN001
    group = record["result"]["groups"][g - 1]
    ever = {m["cert_no"] for grp in record["result"]["groups"] for m in grp["inspectors"]} | excluded
    conflicted = {c for c, u in [*record["pools"]["conflicts"], *extra] if u in group["targets"]}
    eligible = [c for c in record["pools"]["inspectors"][dept] if c not in ever and c not in conflicted]
    ranked = sorted(eligible, key=lambda c: K(record["seed"], f"replace|{g}|{n}|{c}"))
    return ranked[0] if ranked else None


# ------------------------------------------------------------------------------------------ fixtures

DEPTS = ["西华县文化广电和旅游局", "西华县市场监督管理局", "西华县公安局", "西华县消防救援大队"]
PUBLIC_TEXT = "2022年9月16日 福彩3D 第2022249期 5 1 8"
PARAMS = {"sampling": {"by_class": {"A": "0.05", "B": "0.1", "C": "0.3", "D": "1.0"}, "ratio": "0.2"},
          "targets_per_group": 3, "inspectors_per_department": 2, "departments": DEPTS,
          "lead_department": DEPTS[0]}
CODES = ["92411622043B0UK47A", "92411622088MXDXYXB", "924116221MLYR8BL0E", "9241162222DR36KXHC",
         "924116222LWQPE5QAQ", "92411622381Q84DWR8", "924116224NL4UX6XCF", "924116224RYLAH40YL",
         "924116224WHM21MD2X", "92411622531P47CU2D", "92411622577FJ80CBH", "924116225EW3RDFRCF",
         "924116226766KUTELQ", "9241162284G7351699", "924116228C4WAEJWDW", "92411622A4L2GB1F1D",
         "92411622B3TYEE23A8", "92411622CC3K1265A1", "92411622E9QM7HGUN8", "92411622EGEXMUX8HX",
         "92411622FGG0D50Q5E", "92411622GWDUR6797J", "92411622HD0AKF1YQY", "92411622HURT8CBUX4",
         "92411622KBG116MD9J", "92411622KQ2T2TEAHW", "92411622MYARMKCA14", "92411622NHAGHQ3H78",
         "92411622P8F5A070NH", "92411622PFHPWDJFFM", "92411622R50XG4G0GY", "92411622RYTQRN7GB0",
         "92411622T43D272LQU", "92411622TM8B5PGQA6", "92411622U9MJHETXEL", "92411622XMFKL1UQUQ",
         "92411622Y1T8439R5J", "92411622Y3CP4F1LPH", "92411622YCCXN534WR", "92411622YR5DFA69N0"]
INSPECTORS = {d: [f"豫{4116000 + 100 * j + i}" for i in range(8)] for j, d in enumerate(DEPTS)}
POOLS = {"targets": {"A": CODES[0:12], "B": CODES[12:24], "C": CODES[24:33], "D": CODES[33:36], "-": CODES[36:40]},
         "inspectors": INSPECTORS,
         "conflicts": [["豫4116200", "92411622TM8B5PGQA6"], ["豫4116201", "92411622U9MJHETXEL"],
                       ["豫4116303", "92411622XMFKL1UQUQ"]]}


def record_fixture() -> dict:
    return make_record(seed=seed_from_public(PUBLIC_TEXT), seed_source="public", public_text=PUBLIC_TEXT,
                       params=PARAMS, pools=POOLS, campaign={"id": 1, "number": "西文旅抽查〔2022〕1号",
                                                             "title": "互联网上网服务营业场所联合抽查"})


# ---------------------------------------------------------------------------------------- known answers

SEED = "1431d5c1fce7362f00513a90295018266e0e22f22088a2a7b585a28a395050e6"  # sha256(PUBLIC_TEXT)


def test_keys_match_openssl_literals():
    # printf '%s' MSG | openssl dgst -sha256 -mac HMAC -macopt hexkey:$SEED
    assert seed_from_public(PUBLIC_TEXT) == SEED
    assert rank_key(SEED, "target|92411622MA45X1234Q") == \
        "0647ac778a341be9d7a0dd8b5d4a2348e102c8b3bfb9d3b797d7560b859020df"
    assert rank_key(SEED, "inspector|1|豫4116001") == \
        "db38aa98d4fe4c59191c2d2d4b637b177c40b3dca3e68e222a59ddd38932293d"
    assert rank_key(SEED, "replace|1|1|豫4116001") == \
        "7a32ebd781209f8c911e646d2d72b3c12c0428d311f96d4028481042c0d44788"


def test_pool_digest_literals():
    assert pool_digest([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert pool_digest(["B|y", "A|x"]) == "441917775f6a622287c8e5c0e5ba7284e179dbeee0d51edd7fbf9e028151a121"  # A|x\nB|y
    assert compute_digests({"targets": {}, "inspectors": {"甲": []}, "conflicts": []}) == {
        "targets": pool_digest([]), "inspectors": {"甲": pool_digest([])}, "conflicts": pool_digest([])}


@settings(max_examples=200, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32).map(bytes.hex), msg=st.text(max_size=200))
def test_rank_key_is_hmac_sha256(seed, msg):
    assert rank_key(seed, msg) == K(seed, msg)


def test_golden_draw():
    """A literal: 40 internet cafés in 5 strata, 4 departments of 8, three 回避 pairs, 3 targets per group."""
    G = [(["92411622EGEXMUX8HX", "92411622R50XG4G0GY", "92411622XMFKL1UQUQ"],
          ["豫4116002", "豫4116003", "豫4116105", "豫4116104", "豫4116201", "豫4116204", "豫4116300", "豫4116306"]),
         (["924116225EW3RDFRCF", "92411622TM8B5PGQA6", "92411622U9MJHETXEL"],
          ["豫4116005", "豫4116001", "豫4116103", "豫4116100", "豫4116207", "豫4116202", "豫4116307", "豫4116302"]),
         (["92411622FGG0D50Q5E", "92411622PFHPWDJFFM"],
          ["豫4116000", "豫4116006", "豫4116107", "豫4116101", "豫4116200", "豫4116203", "豫4116301", "豫4116305"]),
         (["92411622T43D272LQU", "92411622YCCXN534WR"],
          ["豫4116004", "豫4116007", "豫4116106", "豫4116102", "豫4116205", "豫4116206", "豫4116303", "豫4116304"])]
    expected = {"groups": [
        {"number": i + 1, "targets": targets,
         "inspectors": [{"department": DEPTS[j // 2], "cert_no": c} for j, c in enumerate(certs)],
         "leader": certs[0]}
        for i, (targets, certs) in enumerate(G)]}
    assert naive_v1(SEED, PARAMS, POOLS) == expected
    assert run_v1(SEED, PARAMS, POOLS) == expected
    record = record_fixture()
    assert record["result"] == expected
    assert record["digests"] == naive_digests(POOLS)


# --------------------------------------------------------------------------------------- sample sizes


def test_decimal_rule_is_exact():
    assert math.ceil(100 * 0.07) == 8  # the float trap SPEC §5.3 rules out
    assert sample_size(100, {"ratio": "0.07"}) == 7
    assert sample_size(100, {"ratio": 0.07}) == 7  # floats are str()'d first
    assert sample_size(101, {"ratio": "0.07"}) == 8  # 7.07 → ceil
    assert sample_size(10, {"ratio": "0.25"}) == 3
    assert sample_size(3, {"ratio": "0.0001"}) == 1  # a started candidate is never rounded away
    assert sample_size(0, {"ratio": "0.5"}) == 0
    assert sample_size(7, {"ratio": "1"}) == 7
    assert sample_size(7, {"ratio": "0"}) == 0
    # beyond the 28 digits of the default Decimal context: still exact
    assert sample_size(10, {"ratio": "0.1000000000000000000000000000000000001"}) == 2


def test_count_rule():
    assert sample_size(4, {"count": 10}) == 4
    assert sample_size(30, {"count": 10}) == 10
    assert sample_size(30, {"count": "10"}) == 10


def test_by_class_with_fallback():
    rule = {"by_class": {"A": "0.05", "B": "0.1"}, "ratio": "0.3"}
    assert sample_size(100, rule, "A") == 5
    assert sample_size(100, rule, "B") == 10
    assert sample_size(100, rule, "C") == 30
    assert sample_size(100, rule, "-") == 30
    assert sample_size(100, {"by_class": {"A": "0.05"}, "count": 4}, "D") == 4
    assert classes_without_rule(rule, ["A", "C", "-"]) == []


def test_by_class_without_fallback_names_the_classes():
    rule = {"by_class": {"A": "0.05", "C": "0.3"}}
    assert classes_without_rule(rule, ["A", "B", "C", "-"]) == ["-", "B"]
    pools = {"targets": {"A": ["a1"], "B": ["b1"], "-": ["x1"], "C": []},
             "inspectors": {"甲": ["p1", "p2"]}, "conflicts": []}
    params = {"sampling": rule, "targets_per_group": 0, "inspectors_per_department": 2, "departments": ["甲"]}
    with pytest.raises(DrawError) as err:
        run_v1(SEED, params, pools)
    assert err.value.code == "no_rule" and err.value.classes == ("-", "B")
    assert "B" in str(err.value) and "-" in str(err.value) and "不免抽" in str(err.value)


@pytest.mark.parametrize("sampling", [{"ratio": "5%"}, {"ratio": 5}, {"ratio": "-0.1"}, {"ratio": "NaN"},
                                      {"ratio": True}, {"count": -1}, {"count": 2.5}, {"ratio": "0.1", "count": 3},
                                      {}, {"by_class": {}}, {"by_class": {"A": "2"}}, {"share": "0.1"}])
def test_bad_sampling_rules_are_refused(sampling):
    with pytest.raises(DrawError):
        sample_size(10, sampling)


def test_stratum_of():
    assert stratum_of("B", True) == "B"
    assert stratum_of("", True) == stratum_of(None, True) == "-"
    assert stratum_of("B", False) == "*"


# ------------------------------------------------------------------------------------ property tests

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
RATIOS = st.sampled_from(["0", "0.07", "0.1", "0.25", "0.3", "0.5", "0.999", "1", "1.0", 0.2, 1])


@st.composite
def draws(draw, *, too_few: bool = True):  # noqa: ANN001, ANN201
    seed = draw(st.binary(min_size=32, max_size=32)).hex()
    per_class = draw(st.booleans())
    strata = draw(st.lists(st.sampled_from(["A", "B", "C", "D", "-"]), min_size=1, max_size=5, unique=True)) \
        if per_class else ["*"]
    usccs = draw(st.lists(st.text(ALPHABET, min_size=2, max_size=6), unique=True, max_size=40))
    homes = draw(st.lists(st.sampled_from(strata), min_size=len(usccs), max_size=len(usccs)))
    targets = {s: [u for u, h in zip(usccs, homes) if h == s] for s in strata}
    if per_class:
        named = draw(st.lists(st.sampled_from(strata), unique=True))
        sampling = {"by_class": {c: draw(RATIOS) for c in named} or {"Z": "0.5"}}
        fallback = draw(st.sampled_from(["ratio", "count"]))
        sampling[fallback] = draw(RATIOS) if fallback == "ratio" else draw(st.integers(0, 12))
    else:
        sampling = draw(st.one_of(RATIOS.map(lambda r: {"ratio": r}), st.integers(0, 12).map(lambda c: {"count": c})))
    depts = DEPTS[:draw(st.integers(1, 3))]
    k = draw(st.integers(2 if len(depts) == 1 else 1, 3))
    size = st.integers(0, 14) if too_few else st.just(200)  # 200: enough for 40 groups of 3 plus conflicts
    shared = draw(st.lists(st.sampled_from(["共1", "共2"]), unique=True))  # people in two departments' pools
    inspectors = {d: [f"{d[3:5]}{i}" for i in range(draw(size))] + shared for d in depts}
    certs = sorted({c for pool in inspectors.values() for c in pool})
    conflicts = draw(st.lists(st.tuples(st.sampled_from(certs), st.sampled_from(usccs)), unique=True, max_size=15)) \
        if certs and usccs else []
    params = {"sampling": sampling, "targets_per_group": draw(st.integers(0, 5)), "inspectors_per_department": k,
              "departments": depts, "lead_department": draw(st.sampled_from([*depts, "某不参与单位", None]))}
    return seed, params, {"targets": targets, "inspectors": inspectors, "conflicts": [list(c) for c in conflicts]}


def outcome(fn, *args):  # noqa: ANN001, ANN201
    """The result, or what failed: ("too few", group, department) or ("no targets",)."""
    try:
        return fn(*args)
    except NaiveTooFew as exc:
        return ("too few", exc.group, exc.department)
    except NaiveNoTargets:
        return ("no targets",)
    except DrawError as exc:
        if exc.code == "too_few_inspectors":
            assert f"group {exc.group}" in str(exc) and exc.department in str(exc)
            return ("too few", exc.group, exc.department)
        assert exc.code == "no_targets", exc
        return ("no targets",)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(draws())
def test_same_as_the_naive_reading_of_the_spec(case):
    seed, params, pools = case
    assert outcome(run_v1, seed, params, pools) == outcome(naive_v1, seed, params, pools)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(draws(too_few=False))
def test_draw_properties(case):
    seed, params, pools = case
    try:
        result = run_v1(seed, params, pools)
    except DrawError as exc:
        assert exc.code == "no_targets"
        assert all(naive_n(len(us), params["sampling"], s) == 0 for s, us in pools["targets"].items())
        return
    assert run_v1(seed, copy.deepcopy(params), copy.deepcopy(pools)) == result  # deterministic
    groups = result["groups"]
    drawn = [u for g in groups for u in g["targets"]]
    assert len(drawn) == len(set(drawn))
    for stratum, usccs in pools["targets"].items():  # every drawn target from its pool, in the right number
        assert len(set(drawn) & set(usccs)) == naive_n(len(usccs), params["sampling"], stratum)
    assert set(drawn) <= {u for us in pools["targets"].values() for u in us}
    per_group = params["targets_per_group"]
    assert len(groups) == (1 if per_group == 0 else math.ceil(len(drawn) / per_group))
    assert [g["number"] for g in groups] == list(range(1, len(groups) + 1))
    assert max(map(len, (g["targets"] for g in groups))) - min(map(len, (g["targets"] for g in groups))) <= 1
    conflicts = {tuple(c) for c in pools["conflicts"]}
    everyone = [m["cert_no"] for g in groups for m in g["inspectors"]]
    assert len(everyone) == len(set(everyone))  # nobody drawn twice
    k = params["inspectors_per_department"]
    for g in groups:
        assert [m["department"] for m in g["inspectors"]] == [d for d in params["departments"] for _ in range(k)]
        for m in g["inspectors"]:
            assert m["cert_no"] in pools["inspectors"][m["department"]]
            assert not any((m["cert_no"], u) in conflicts for u in g["targets"])
        lead = [m["cert_no"] for m in g["inspectors"] if m["department"] == params["lead_department"]]
        assert g["leader"] == (lead[0] if lead else g["inspectors"][0]["cert_no"])


def test_too_few_inspectors_names_group_and_department():
    params = dict(PARAMS, targets_per_group=1)  # 10 groups need 20 of each department's 8
    with pytest.raises(DrawError) as err:
        run_v1(SEED, params, POOLS)
    e = err.value
    assert (e.code, e.group, e.department, e.needed, e.eligible) == ("too_few_inspectors", 5, DEPTS[0], 2, 0)
    assert "group 5" in str(e) and DEPTS[0] in str(e)
    with pytest.raises(DrawError) as err:  # a department without a pool at all
        run_v1(SEED, dict(PARAMS, departments=[*DEPTS, "西华县卫生健康委员会"]), POOLS)
    assert (err.value.group, err.value.department) == (1, "西华县卫生健康委员会")


def test_no_targets_is_an_error():
    with pytest.raises(DrawError) as err:
        run_v1(SEED, dict(PARAMS, sampling={"ratio": "0"}), dict(POOLS, targets={"*": CODES}))
    assert err.value.code == "no_targets"


@pytest.mark.parametrize("change, words", [
    (lambda p: p["targets"]["A"].append(CODES[0]), "listed twice"),
    (lambda p: p["targets"]["B"].append(CODES[0]), "listed twice"),
    (lambda p: p["inspectors"][DEPTS[1]].append("豫4116100"), "listed twice"),
    (lambda p: p["targets"]["A"].append("x|y"), "'|'"),
    (lambda p: p["targets"]["A"].append(""), "empty"),
    (lambda p: p["targets"]["A"].append(7), "7"),
    (lambda p: p["targets"].update({"*": ["zz"]}), "does not fit"),
    (lambda p: p["conflicts"].append(["only one"]), "pair"),
])
def test_malformed_pools_are_refused(change, words):
    pools = copy.deepcopy(POOLS)
    change(pools)
    with pytest.raises(DrawError, match=words.replace("|", r"\|")):
        run_v1(SEED, PARAMS, pools)


@pytest.mark.parametrize("change", [
    {"inspectors_per_department": 1, "departments": DEPTS[:1]},  # 细则 十: at least two per group
    {"inspectors_per_department": 0}, {"targets_per_group": -1}, {"departments": []},
    {"departments": [DEPTS[0], DEPTS[0]]}, {"per_class": False},
])
def test_bad_params_are_refused(change):
    with pytest.raises(DrawError):
        run_v1(SEED, {**PARAMS, **change}, POOLS)


def test_the_two_inspectors_rule_has_one_home():
    """细则 十: a group has at least MIN_INSPECTORS_PER_GROUP inspectors; campaigns and /new ask the same functions."""
    assert da.MIN_INSPECTORS_PER_GROUP == 2 and da.group_size(2, 4) == 8  # the seed's group: 8 from 4 units
    assert da.too_few_inspectors(1, 1) and not da.too_few_inspectors(1, 2) and not da.too_few_inspectors(2, 1)
    assert [da.departments_needed(k) for k in (1, 2, 3)] == [2, 1, 1]
    assert all(not da.too_few_inspectors(k, da.departments_needed(k)) for k in range(1, 6))
    assert all(da.too_few_inspectors(k, da.departments_needed(k) - 1) for k in range(1, 6))


# --------------------------------------------------------------------- the fast path on large strata


def test_large_strata_equal_the_naive_sort(monkeypatch):
    """Strata above the pre-filter's size limit, with small and large n; then with the pre-filter made too
    tight so that its fallback runs: the same draw every time."""
    rng = random.Random(5)
    codes = sorted({"".join(rng.choices(ALPHABET, k=18)) for _ in range(12_000)})
    pools = {"targets": {"A": codes[:5000], "B": codes[5000:11000], "C": codes[11000:]},
             "inspectors": {"甲": ["p1", "p2"]}, "conflicts": []}
    params = {"sampling": {"by_class": {"A": "0.003", "B": "0.5", "C": "0.95"}}, "targets_per_group": 0,
              "inspectors_per_department": 2, "departments": ["甲"]}
    expected = naive_v1(SEED, params, pools)
    assert run_v1(SEED, params, pools) == expected
    assert da._threshold(15, 5000) is not None
    monkeypatch.setattr(da, "_threshold", lambda n, total: b"\x00\x01")  # about 1/65536 fall below
    assert run_v1(SEED, params, pools) == expected


# ----------------------------------------------------------------------------------------- uniformity

Z_999 = 3.090232306167813  # upper 0.001 point of the standard normal


def chi2_critical(df: int, z: float = Z_999) -> float:
    """Wilson–Hilferty: χ²(df) at the upper tail z."""
    h = 2 / (9 * df)
    return df * (1 - h + z * math.sqrt(h)) ** 3


def uniform_selection(select, N: int, n: int, trials: int) -> tuple[bool, float, float]:  # noqa: ANN001
    """Is each of N candidates chosen about trials·n/N times, n at a time? (χ² at p = 0.001)

    Choosing n distinct candidates per trial makes the counts less spread than multinomial ones: a count has
    variance trials·p(1-p) (p = n/N) and the counts sum to trials·n, so Σ(O-E)²·(N-1)/(N·trials·p(1-p)) is
    χ² with N-1 degrees of freedom under uniformity."""
    candidates = [f"9141{i:014d}" for i in range(N)]
    counts = dict.fromkeys(candidates, 0)
    for trial in range(trials):
        chosen = select(hashlib.sha256(f"trial {trial}".encode()).hexdigest(), candidates, n)
        assert len(chosen) == n == len(set(chosen))
        for c in chosen:
            counts[c] += 1
    p = n / N
    expected = trials * p
    stat = sum((o - expected) ** 2 for o in counts.values()) * (N - 1) / (N * trials * p * (1 - p))
    critical = chi2_critical(N - 1)
    return stat <= critical, stat, critical


def draw_targets(seed: str, candidates: list[str], n: int) -> list[str]:
    params = {"sampling": {"count": n}, "targets_per_group": 0, "inspectors_per_department": 2,
              "departments": ["甲"]}
    return run_v1(seed, params, {"targets": {"*": candidates}, "inspectors": {"甲": ["p1", "p2"]},
                                 "conflicts": []})["groups"][0]["targets"]


def draw_inspectors(seed: str, candidates: list[str], n: int) -> list[str]:
    params = {"sampling": {"count": 1}, "targets_per_group": 0, "inspectors_per_department": n,
              "departments": ["甲"]}
    result = run_v1(seed, params, {"targets": {"*": ["t1"]}, "inspectors": {"甲": candidates}, "conflicts": []})
    return [m["cert_no"] for m in result["groups"][0]["inspectors"]]


def test_chi2_critical_value():
    assert chi2_critical(19) == pytest.approx(43.820, rel=0.01)  # tables: 43.820
    assert chi2_critical(11) == pytest.approx(31.264, rel=0.01)  # tables: 31.264


def test_targets_are_drawn_uniformly():
    ok, stat, critical = uniform_selection(draw_targets, N=20, n=5, trials=3000)
    assert ok, f"χ² = {stat:.1f} > {critical:.1f}"


def test_inspectors_are_drawn_uniformly():
    ok, stat, critical = uniform_selection(draw_inspectors, N=12, n=2, trials=3000)
    assert ok, f"χ² = {stat:.1f} > {critical:.1f}"


def test_the_uniformity_check_accepts_a_fair_sampler():
    ok, stat, critical = uniform_selection(lambda seed, c, n: random.Random(seed).sample(c, n), 20, 5, 3000)
    assert ok, f"χ² = {stat:.1f} > {critical:.1f}"


def test_the_uniformity_check_rejects_biased_rankings():
    by_code = uniform_selection(lambda seed, c, n: sorted(c)[:n], 20, 5, 3000)
    assert not by_code[0]

    def second_chance(seed: str, candidates: list[str], n: int) -> list[str]:
        # one candidate ranked by the better of two keys — as if it were listed twice in the pool
        def key(u: str) -> str:
            own = K(seed, "target|" + u)
            return min(own, K(seed, "again|" + u)) if u == candidates[7] else own
        return sorted(candidates, key=key)[:n]
    favoured = uniform_selection(second_chance, 20, 5, 3000)
    assert not favoured[0], favoured

    def small_hex(seed: str, candidates: list[str], n: int) -> list[str]:
        # keys compared as if the first hex digit of odd candidates were one smaller
        def key(u: str) -> str:
            h = K(seed, "target|" + u)
            return format(max(int(h[0], 16) - 1, 0), "x") + h[1:] if int(u[-1]) % 2 else h
        return sorted(candidates, key=key)[:n]
    assert not uniform_selection(small_hex, 20, 5, 3000)[0]


# --------------------------------------------------------------------------------------- verification


def test_a_made_record_verifies(tmp_path):
    record = record_fixture()
    assert list(record) == ["format", "algorithm", "seed", "seed_source", "public_text", "campaign", "params",
                            "pools", "digests", "result"]
    assert record["params"]["per_class"] is True
    report = verify_record(record)
    assert report.ok and report.mismatches == () and report.result == record["result"]
    path = tmp_path / "draw.json"
    dump_record(record, path)
    assert "西华县公安局" in path.read_text(encoding="utf-8")  # readable, not \\u escapes
    assert load_record(path) == record
    assert verify_record(load_record(path)).ok


def test_make_record_is_canonical():
    shuffled = copy.deepcopy(POOLS)
    for pool in [*shuffled["targets"].values(), *shuffled["inspectors"].values(), shuffled["conflicts"]]:
        random.Random(3).shuffle(pool)
    shuffled["targets"] = dict(reversed(list(shuffled["targets"].items())))
    shuffled["inspectors"] = dict(reversed(list(shuffled["inspectors"].items())))
    a, b = record_fixture(), make_record(seed=SEED, seed_source="public", public_text=PUBLIC_TEXT, params=PARAMS,
                                         pools=shuffled, campaign=record_fixture()["campaign"])
    assert json.dumps(a, ensure_ascii=False) == json.dumps(b, ensure_ascii=False)
    assert list(a["pools"]["targets"]) == ["-", "A", "B", "C", "D"]
    assert list(a["pools"]["inspectors"]) == DEPTS


def flip(text: str, i: int = -1) -> str:
    ch = text[i]
    new = "0" if ch != "0" else "1"
    return text[:i] + new + text[i + 1:] if i != -1 else text[:-1] + new


@pytest.mark.parametrize("tamper, named", [
    (lambda r: r["result"]["groups"][1]["targets"].__setitem__(0, flip(r["result"]["groups"][1]["targets"][0])),
     "result.groups[2].targets"),
    (lambda r: r["result"]["groups"][0].__setitem__("leader", "豫4116003"), "result.groups[1].leader"),
    (lambda r: r["result"]["groups"][3]["inspectors"][5].__setitem__("cert_no", "豫4116200"),
     "result.groups[4].inspectors"),
    (lambda r: r["result"]["groups"].pop(), "result.groups"),
    (lambda r: r["pools"]["targets"]["A"].__setitem__(0, flip(r["pools"]["targets"]["A"][0])), "digests.targets"),
    (lambda r: r["pools"]["inspectors"][DEPTS[2]].__setitem__(7, "豫4116299"), "digests.inspectors[西华县公安局]"),
    (lambda r: r["digests"]["inspectors"].__setitem__(DEPTS[2], flip(r["digests"]["inspectors"][DEPTS[2]])),
     "digests.inspectors[西华县公安局]"),
    (lambda r: r["digests"].__setitem__("conflicts", flip(r["digests"]["conflicts"], 0)), "digests.conflicts"),
    (lambda r: r["pools"]["conflicts"].pop(), "digests.conflicts"),
    (lambda r: r.__setitem__("public_text", r["public_text"] + " "), "seed does not match public_text"),
    (lambda r: r.__setitem__("seed", flip(r["seed"], 10)), "seed does not match public_text"),
])
def test_tampering_is_named(tamper, named):
    record = record_fixture()
    tamper(record)
    report = verify_record(record)
    assert not report.ok
    assert any(m.startswith(named) for m in report.mismatches), report.mismatches


def test_a_changed_secret_seed_changes_the_result():
    record = make_record(seed=SEED, seed_source="secrets", public_text=None, params=PARAMS, pools=POOLS)
    assert verify_record(record).ok
    record["seed"] = flip(record["seed"], 5)
    report = verify_record(record)
    assert not report.ok and any(m.startswith("result.groups[") for m in report.mismatches)


def test_a_public_seed_must_come_from_its_text():
    with pytest.raises(DrawError, match="public"):
        make_record(seed=new_seed(), seed_source="public", public_text=PUBLIC_TEXT, params=PARAMS, pools=POOLS)
    with pytest.raises(DrawError):
        make_record(seed=SEED, seed_source="secrets", public_text=PUBLIC_TEXT, params=PARAMS, pools=POOLS)
    record = record_fixture()
    del record["public_text"]
    assert "seed does not match public_text (public_text is missing)" in verify_record(record).mismatches


@pytest.mark.parametrize("tamper, words", [
    (lambda r: r.clear(), "missing"),
    (lambda r: r.pop("pools"), "missing pools"),
    (lambda r: r.__setitem__("algorithm", "v2"), "'v2' is not supported"),
    (lambda r: r.__setitem__("format", "something-else"), "format"),
    (lambda r: r.__setitem__("seed", r["seed"].upper()), "seed must be 64 lowercase"),
    (lambda r: r.__setitem__("seed", "xyz"), "seed must be 64 lowercase"),
    (lambda r: r.__setitem__("seed_source", "dice"), "seed_source"),
    (lambda r: r.__setitem__("pools", "garbage"), "pools must be a mapping"),
    (lambda r: r["pools"]["targets"].__setitem__("A", [1, 2]), "not a valid entry"),
    (lambda r: r["params"].pop("departments"), "params.departments is missing"),
    (lambda r: r["params"].__setitem__("sampling", {"ratio": "lots"}), "not a decimal number"),
    (lambda r: r.__setitem__("result", {"groups": "x"}), "result.groups: missing or not a list"),
    (lambda r: r.__setitem__("digests", None), "digests.targets"),
    (lambda r: r["result"]["groups"].__setitem__(0, 42), "result.groups[1]: not an object"),
])
def test_malformed_records_are_reported_not_raised(tamper, words):
    record = record_fixture()
    tamper(record)
    report = verify_record(record)
    assert not report.ok
    assert any(words in m for m in report.mismatches), report.mismatches


@pytest.mark.parametrize("thing", [None, [], 5, "draw", {"algorithm": "v1"}])
def test_verify_never_raises_on_non_records(thing):
    report = verify_record(thing)
    assert not report.ok and report.mismatches


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                    max_leaves=6)


@settings(max_examples=200, deadline=None)
@given(path=st.lists(st.integers(0, 50), min_size=1, max_size=6), value=JSON)
def test_verify_survives_any_replacement(path, value):
    record = record_fixture()
    node = record
    for step in path[:-1]:  # walk down to some container
        children = list(node) if isinstance(node, dict) else list(range(len(node)))
        child = node[children[step % len(children)]] if children else None
        if not isinstance(child, (dict, list)) or not child:
            break
        node = child
    keys = list(node) if isinstance(node, dict) else list(range(len(node)))
    node[keys[path[-1] % len(keys)]] = value
    report = verify_record(record)  # must not raise
    assert isinstance(report.ok, bool)
    assert report.ok or report.mismatches


def test_load_record_refuses_non_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("not json", encoding="utf-8")
    with pytest.raises(ValueError, match="x.json"):
        load_record(path)
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError, match="not an object"):
        load_record(path)


# ---------------------------------------------------------------------------------------- replacement


def test_replacement_follows_the_spec():
    record = make_record(seed=SEED, seed_source="secrets", public_text=None,
                         params=dict(PARAMS, targets_per_group=0), pools=POOLS)
    assert len(record["result"]["groups"]) == 1
    for dept in DEPTS:
        for n in (1, 2, 3):
            got = replacement_v1(record, group=1, n=n, department=dept, excluded=set())
            assert got == naive_replacement(record, 1, n, dept, set())
            assert got == replacement_v1(record, group=1, n=n, department=dept, excluded=set())  # deterministic
    drawn = {m["cert_no"] for m in record["result"]["groups"][0]["inspectors"]}
    police = DEPTS[2]
    first = replacement_v1(record, group=1, n=1, department=police, excluded=set())
    assert first not in drawn and first in POOLS["inspectors"][police]
    # once drawn as a replacement, excluded for good
    second = replacement_v1(record, group=1, n=2, department=police, excluded={first})
    assert second not in drawn | {first}
    assert second == naive_replacement(record, 1, 2, police, {first})


def test_replacement_respects_conflicts_and_runs_out():
    record = record_fixture()
    police = DEPTS[2]
    group = record["result"]["groups"][1]  # holds 92411622TM8B5PGQA6, in conflict with 豫4116200
    free = [c for c in POOLS["inspectors"][police]
            if c not in {m["cert_no"] for g in record["result"]["groups"] for m in g["inspectors"]}]
    assert free == []  # every police inspector is already in a group
    record["pools"]["inspectors"][police] += ["豫4116290", "豫4116291"]
    extra = [("豫4116291", group["targets"][0])]
    assert replacement_v1(record, group=2, n=1, department=police, excluded=set(), extra_conflicts=extra) == "豫4116290"
    assert replacement_v1(record, group=2, n=1, department=police, excluded={"豫4116290"},
                          extra_conflicts=extra) is None
    assert replacement_v1(record, group=2, n=1, department=police, excluded={"豫4116290"}) == "豫4116291"
    record["pools"]["conflicts"].append(["豫4116291", group["targets"][1]])
    assert replacement_v1(record, group=2, n=1, department=police, excluded={"豫4116290"}) is None
    with pytest.raises(DrawError):
        replacement_v1(record, group=9, n=1, department=police, excluded=set())
    with pytest.raises(DrawError):
        replacement_v1(record, group=1, n=0, department=police, excluded=set())
