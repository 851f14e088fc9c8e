"""The result codes (SPEC §6.7, §6.10) in one place: which codes exist and their labels, which are problem codes,
which one opens a follow-up, which one is the clean code, and how a code is shown. Pure: no database, no Telegram.

Why a `CodeSet` rather than constants: the default is the seed's record form (附件1 说明（1）: "检查结果栏填写相应编号：
1. 未发现问题 … 10. 不合格"), but SPEC §6.7 lets an office use its own list. Every rule that depends on what a code
*means* must then follow the office's numbers: a problem code needs a description and makes a target "have a
problem" (§6.3, §6.10); the follow-up code opens a 后续处理 record (seed 四(五): "对检查中发现问题的检查对象，各相关部门
要依法采取……后续处理措施"); the clean code is what "nothing found" is filled with. So the services, the handlers and
the report builders take the configuration's CodeSet (`cfg.code_set`, built once) as a parameter and never spell a
code number themselves.

The configuration (`[codes]` in config.toml, read by bot.config into `code_set_from_config`):

    [codes]
    1 = "未发现问题"          # labels by code number (positive integers)
    …
    problems = [2, 3, 4, 5, 6, 8, 10]
    follow_up = 8             # 0 = no code opens a follow-up
    clean = 1                 # 0 = the set has no clean code

Which facts apply when the table leaves some out — the safe choice, on purpose:

- No labels, or labels numbered exactly 1–10: the numbers are the record form's, so every fact not given is the
  record form's (an office that rewords a label keeps its meaning; `[codes] clean = 1` alone is fine too).
- Labels with other numbers: `problems`, `follow_up` and `clean` must all be given (0 for "none"), else the
  configuration is refused naming the missing keys. Guessing by number could make "2 合格" a problem code or
  "8 不合格" a follow-up code; guessing "none" would silently drop the required descriptions, report every target
  as clean and never open a follow-up. A refusal at start-up costs one line of config; a wrong guess costs a
  campaign's published results.

Checked whatever the source: every named code exists in the set, the follow-up code is a problem code (a
follow-up is for a problem found), the clean code is not a problem code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

# The seed's record form (附件1 说明（1）), SPEC §6.7: the default set.
RECORD_FORM_LABELS: Mapping[int, str] = MappingProxyType({
    1: "未发现问题",
    2: "未按规定公示应当公示的信息",
    3: "公示信息隐瞒真实情况弄虚作假",
    4: "通过登记的住所（经营场所）无法取得联系",
    5: "发现问题已责令改正",
    6: "不配合检查情节严重",
    7: "未发现本次抽查涉及的经营活动",
    8: "发现问题待后续处理",
    9: "合格",
    10: "不合格",
})
# SPEC §6.3/§6.10: on the record form these need a description and make a target "have a problem".
RECORD_FORM_PROBLEMS = frozenset({2, 3, 4, 5, 6, 8, 10})
RECORD_FORM_FOLLOW_UP = 8  # 发现问题待后续处理 (seed 四(五), SPEC §6.9)
RECORD_FORM_CLEAN = 1  # 未发现问题

FACT_KEYS = ("problems", "follow_up", "clean")  # the [codes] keys that are not code numbers
NONE = 0  # `follow_up = 0` / `clean = 0`: the set has no such code (codes are positive)


class CodeSetError(ValueError):
    """The facts do not fit together; `key` is the [codes] key to blame (e.g. "follow_up")."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


def show_code(code: int, labels: Mapping[int, str]) -> str:
    """How a code is shown everywhere — buttons, messages, report headers, 公示: `8 发现问题待后续处理`; a code
    outside the set (it changed mid-campaign) shows its number alone."""
    label = labels.get(code)
    return f"{code} {label}" if label else str(code)


def department_result(codes: Iterable[int | None]) -> str:
    """SPEC §6.10: a department's result for a target is its distinct codes in code order, comma-joined ("1" or
    "5,8"); "" when there are none."""
    return ",".join(str(c) for c in sorted({int(c) for c in codes if c is not None}))


@dataclass(frozen=True)
class CodeSet:
    """The configured codes and what they mean. `labels` is kept in code order and read-only."""

    labels: Mapping[int, str]
    problems: frozenset[int]
    follow_up: int | None  # None: no code opens a follow-up
    clean: int | None  # None: the set has no clean code

    def __post_init__(self) -> None:
        labels = dict(self.labels)
        if not labels:
            raise CodeSetError("codes", "the set has no codes")
        for code, label in labels.items():
            if isinstance(code, bool) or not isinstance(code, int) or code <= 0:
                raise CodeSetError(str(code), "a code is a positive whole number")
            if not isinstance(label, str) or not label.strip():
                raise CodeSetError(str(code), "a code needs a non-empty label")
        object.__setattr__(self, "labels", MappingProxyType({c: labels[c].strip() for c in sorted(labels)}))
        object.__setattr__(self, "problems", frozenset(self.problems))
        known = ", ".join(str(c) for c in self.labels)
        for code in sorted(self.problems):
            if code not in self.labels:
                raise CodeSetError("problems", f"{code} is not a code of the set ({known})")
        if self.follow_up is not None:
            if self.follow_up not in self.labels:
                raise CodeSetError("follow_up", f"{self.follow_up} is not a code of the set ({known})")
            if self.follow_up not in self.problems:
                raise CodeSetError("follow_up", f"{self.follow_up} must be one of the problem codes: a follow-up "
                                                "is opened for a problem found (seed 四(五))")
        if self.clean is not None:
            if self.clean not in self.labels:
                raise CodeSetError("clean", f"{self.clean} is not a code of the set ({known})")
            if self.clean in self.problems:
                raise CodeSetError("clean", f"{self.clean} is a problem code: the clean code means nothing was found")

    def __hash__(self) -> int:
        return hash((tuple(self.labels.items()), self.problems, self.follow_up, self.clean))

    def __contains__(self, code: object) -> bool:
        return code in self.labels

    @property
    def codes(self) -> tuple[int, ...]:
        """Every code, in code order."""
        return tuple(self.labels)

    def show(self, code: int) -> str:
        """`8 发现问题待后续处理` (see `show_code`)."""
        return show_code(code, self.labels)

    def label(self, code: int) -> str | None:
        return self.labels.get(code)

    def is_problem(self, code: int | None) -> bool:
        """A problem code: it needs a description (SPEC §6.3)."""
        return code is not None and code in self.problems

    def has_problem(self, codes: Iterable[int | None]) -> bool:
        """SPEC §6.10: a target (or a department's part of it) has a problem if any of its codes is one."""
        return any(self.is_problem(c) for c in codes)

    def opens_follow_up(self, code: int | None) -> bool:
        """The code whose result opens a 后续处理 record (SPEC §6.9)."""
        return code is not None and code == self.follow_up


DEFAULT_CODE_SET = CodeSet(labels=RECORD_FORM_LABELS, problems=RECORD_FORM_PROBLEMS,
                           follow_up=RECORD_FORM_FOLLOW_UP, clean=RECORD_FORM_CLEAN)


def code_set_from_config(labels: Mapping[int, str] | None = None, *, problems: Iterable[int] | None = None,
                         follow_up: int | None = None, clean: int | None = None) -> CodeSet:
    """The CodeSet of a `[codes]` table, with the defaults and refusals of the module docstring. An argument
    left None was not in the table; `follow_up`/`clean` = 0 say "none". Raises CodeSetError naming the key."""
    labels = dict(labels) if labels else dict(RECORD_FORM_LABELS)
    if set(labels) != set(RECORD_FORM_LABELS):
        missing = [key for key, value in zip(FACT_KEYS, (problems, follow_up, clean)) if value is None]
        if missing:
            raise CodeSetError(
                missing[0],
                "the [codes] table numbers its own codes, so it must also say "
                + ", ".join(f"codes.{k}" for k in missing)
                + " (problems = [...] the codes that need a description; follow_up = N and clean = N, 0 for none)")
    defaulted = {key for key, value in zip(FACT_KEYS, (problems, follow_up, clean)) if value is None}
    if problems is None:
        problems = RECORD_FORM_PROBLEMS
    if follow_up is None:
        follow_up = RECORD_FORM_FOLLOW_UP
    if clean is None:
        clean = RECORD_FORM_CLEAN
    try:
        return CodeSet(labels=labels, problems=frozenset(problems), follow_up=follow_up or None,
                       clean=clean or None)
    except CodeSetError as exc:
        if exc.key in defaulted:  # e.g. problems = [2, 3] without 8 leaves the default follow_up = 8 stranded
            raise CodeSetError(exc.key, f"{exc} — the record form's default; set codes.{exc.key} "
                                        "(0 for none)") from None
        raise
