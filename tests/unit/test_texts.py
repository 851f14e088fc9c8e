"""The catalog: every key has zh and en with the same placeholders."""

import string

from bot.texts import CATALOG, t


def _fields(s: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(s) if f}


def test_every_key_has_both_languages_with_same_placeholders():
    for key, entry in CATALOG.items():
        assert set(entry) == {"zh", "en"}, key
        assert _fields(entry["zh"]) == _fields(entry["en"]), key


def test_default_is_chinese():
    assert t("role.admin") == "管理员" and t("role.admin", "en") == "admin"
