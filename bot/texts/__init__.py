"""The one text catalog: Chinese first, English beside it. Topic modules each define TEXTS, merged here.

`t(key, lang, **params)` formats with str.format; a test checks every key has zh and en with the same
placeholders.
"""

from __future__ import annotations

from bot.texts import campaign, common, corrections, directory, draw, entry, outbox, page, reminders, report

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"


def _merge(*modules) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for mod in modules:
        for key, value in mod.TEXTS.items():
            if key in merged:
                raise RuntimeError(f"text key {key!r} defined twice")
            merged[key] = value
    return merged


CATALOG: dict[str, dict[str, str]] = _merge(common, directory, outbox, campaign, draw, entry, corrections, reminders,
                                            report, page)


def t(key: str, lang: str | None = None, **params) -> str:
    entry = CATALOG[key]
    text = entry.get(lang or DEFAULT_LANG) or entry[DEFAULT_LANG]
    return text.format(**params) if params else text


def join_list(items, lang: str | None = None) -> str:
    """A list in running text: 甲、乙、丙 in Chinese, "a, b, c" in English."""
    return ("、" if (lang or DEFAULT_LANG) == "zh" else ", ").join(str(i) for i in items)


def normalize_lang(code: str | None) -> str | None:
    """Map a Telegram language_code (zh-hans, en-US, …) to a catalog language, or None."""
    if not code:
        return None
    code = code.lower()
    if code.startswith("zh"):
        return "zh"
    if code.startswith("en"):
        return "en"
    return None
