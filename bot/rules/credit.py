"""Credit-risk classes (信用风险分类, SPEC §3, §4, §5) as data: the ordered canonical class names and the words that
name them. Pure: no database, no Telegram.

Why a scheme rather than the letters A–D: offices write the class in their own vocabulary. The national wording
(市场监管总局: 信用风险低/一般/较高/高, often with "（A类）" appended), Henan's 低/中/中高/高风险, or the letters.
A workbook, a plan file and a /new answer may use any of them; what is stored (targets.credit_class), what a draw
stratifies by (its stratum lines `<class>|<uscc>`) and what announcements and workbooks show is the *canonical*
name. The default's canonical names are A, B, C, D, so rows and draw records made before this existed keep their
meaning and keep verifying.

Normalisation before lookup: all whitespace removed, NFKC (full-width letters and brackets → half-width), Latin
upper-cased; then an optional trailing "(X类)" suffix is dropped (when X names a class too it must be the same
class: "信用风险低(D类)" is refused, not guessed), and a trailing 类 / 级 ("A类", "B级").

The configuration (`[credit]` in config.toml, read by bot.config into `credit_scheme_from_config`):

    [credit]
    classes = ["A", "B", "C", "D"]            # canonical names, in order (lowest risk first)
    [credit.aliases]                          # other words for each; replaces the default aliases
    A = ["低风险", "信用风险低"]
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

UNCLASSIFIED = "-"  # the stratum of a target without a class (SPEC §5.2); also what a plan calls them
UNCLASSIFIED_WORDS = ("-", "—", "未分类", "无")  # in a workbook these mean "blank"; in a plan, the "-" stratum
RESERVED = ("-", "*")  # strata names of bot.rules.drawalgo: a class may not take them
MAX_NAME = 32  # targets.credit_class is String(32)

DEFAULT_CLASSES = ("A", "B", "C", "D")
DEFAULT_ALIASES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "A": ("信用风险低", "低风险", "低", "A类"),
    "B": ("信用风险一般", "一般", "中风险", "中", "B类"),
    "C": ("信用风险较高", "较高", "中高风险", "中高", "C类"),
    "D": ("信用风险高", "高风险", "高", "D类"),
})

_SUFFIX = re.compile(r"^(.+)\(([^()]+?)\)$")


class CreditSchemeError(ValueError):
    """The configuration does not make a scheme; `key` is the [credit] key to blame (e.g. "aliases.B")."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


def normalize(text: str) -> str:
    """The lookup form of a class word: no whitespace, half-width, Latin upper-case."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(text.split()).upper()


def is_unclassified(text: str | None) -> bool:
    """Blank or one of the words for "no class"."""
    return text is None or normalize(text) in ("",) + tuple(normalize(w) for w in UNCLASSIFIED_WORDS)


@dataclass(frozen=True)
class CreditScheme:
    """Ordered canonical class names and the table from normalised words to them."""

    classes: tuple[str, ...]
    table: Mapping[str, str] = field(repr=False)  # normalised word → canonical name
    raw_aliases: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # (word as written, class), in order

    def _lookup(self, norm: str) -> str | None:
        if norm in self.table:
            return self.table[norm]
        for tail in ("类", "级"):
            if norm.endswith(tail) and norm[:-1] in self.table:
                return self.table[norm[:-1]]
        return None

    def resolve(self, text: str | None) -> str | None:
        """The canonical class `text` names, or None (unknown, blank or unclassified)."""
        if text is None:
            return None
        norm = normalize(str(text))
        if not norm:
            return None
        found = self._lookup(norm)
        if found is not None:
            return found
        m = _SUFFIX.match(norm)
        if m is None:
            return None
        base, inner = self._lookup(m.group(1)), self._lookup(m.group(2))
        if base is None or (inner is not None and inner != base):
            return None
        if inner is None and not m.group(2).endswith("类"):
            return None  # "(…)" that is not a class suffix: not ours to drop
        return base

    def words(self) -> tuple[str, ...]:
        """Every accepted word, canonical names first (for error messages)."""
        names = list(self.classes)
        for cls in self.classes:
            names.extend(w for w, c in self.raw_aliases if c == cls and w not in names)
        return tuple(names)


def build_scheme(classes: Iterable[str], aliases: Mapping[str, Iterable[str]] | None = None) -> CreditScheme:
    """A scheme from canonical names and their aliases; CreditSchemeError naming the key on a bad one."""
    if isinstance(classes, str):
        raise CreditSchemeError("classes", "expected a list of class names")
    names = list(classes)
    if not names:
        raise CreditSchemeError("classes", "the list of classes is empty")
    table: dict[str, str] = {}
    raw: list[tuple[str, str]] = []
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise CreditSchemeError("classes", f"expected non-empty class names, got {name!r}")
        if name != name.strip() or len(name) > MAX_NAME or "|" in name:
            raise CreditSchemeError("classes", f"{name!r}: a class name has no surrounding spaces, no \"|\" "
                                               f"and at most {MAX_NAME} characters")
        norm = normalize(name)
        if name in RESERVED or is_unclassified(name):
            raise CreditSchemeError("classes", f"{name!r} means unclassified; it cannot name a class")
        if norm in table:
            raise CreditSchemeError("classes", f"{name!r} is listed twice")
        table[norm] = name
    aliases = {} if aliases is None else aliases
    if not isinstance(aliases, Mapping):
        raise CreditSchemeError("aliases", "expected a table like A = [\"低风险\"]")
    for cls, words in aliases.items():
        if cls not in names:
            raise CreditSchemeError(f"aliases.{cls}", f"{cls!r} is not one of classes ({', '.join(names)})")
        if isinstance(words, str) or not isinstance(words, Iterable):
            raise CreditSchemeError(f"aliases.{cls}", f"expected a list of words, got {words!r}")
        for word in words:
            if not isinstance(word, str) or not normalize(word):
                raise CreditSchemeError(f"aliases.{cls}", f"expected non-empty words, got {word!r}")
            if is_unclassified(word):
                raise CreditSchemeError(f"aliases.{cls}", f"{word!r} means unclassified")
            norm = normalize(word)
            other = table.get(norm)
            if other is not None and other != cls:
                raise CreditSchemeError(f"aliases.{cls}", f"{word!r} already names class {other!r}")
            table[norm] = cls
            raw.append((word, cls))
    return CreditScheme(classes=tuple(names), table=MappingProxyType(table), raw_aliases=tuple(raw))


def credit_scheme_from_config(classes: Iterable[str] | None = None,
                              aliases: Mapping[str, Iterable[str]] | None = None) -> CreditScheme:
    """`[credit]`: no classes → the default's; no aliases → the default aliases when the classes are the default's,
    else the class names alone. Given aliases replace the default ones."""
    names = DEFAULT_CLASSES if classes is None else classes
    if aliases is None and (classes is None or tuple(classes) == DEFAULT_CLASSES):
        aliases = DEFAULT_ALIASES
    return build_scheme(names, aliases)


DEFAULT_CREDIT_SCHEME = credit_scheme_from_config()

__all__ = ["CreditScheme", "CreditSchemeError", "DEFAULT_ALIASES", "DEFAULT_CLASSES", "DEFAULT_CREDIT_SCHEME",
           "UNCLASSIFIED", "UNCLASSIFIED_WORDS", "build_scheme", "credit_scheme_from_config", "is_unclassified",
           "normalize"]
