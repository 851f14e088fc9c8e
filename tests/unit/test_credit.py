"""Credit-risk classes as data (bot.rules.credit, `[credit]`): every default alias names its class in every
written form, unknown words name none, and a bad `[credit]` table is refused naming its key."""

import pytest

from bot.config import ConfigError, config_from_dict
from bot.rules.credit import (DEFAULT_ALIASES, DEFAULT_CLASSES, DEFAULT_CREDIT_SCHEME, build_scheme,
                              is_unclassified)

S = DEFAULT_CREDIT_SCHEME

# The table, spelled out here so that a change to DEFAULT_ALIASES is caught rather than mirrored.
EXPECTED = {
    "A": ["A", "a", "Ａ", "A类", "信用风险低", "低风险", "低", "信用风险低（A类）", "信用风险低(A类)", "低风险（A类）"],
    "B": ["B", "b", "B类", "B级", "信用风险一般", "一般", "中风险", "中", "信用风险一般（B类）", "中风险(B类)"],
    "C": ["C", "Ｃ", "C类", "信用风险较高", "较高", "中高风险", "中高", "信用风险较高（C类）", "中高风险（Ｃ类）"],
    "D": ["D", "d类", "信用风险高", "高风险", "高", "信用风险高（D类）", " 信用风险 高 ( D 类 ) "],
}


@pytest.mark.parametrize("cls,word", [(c, w) for c, ws in EXPECTED.items() for w in ws])
def test_every_default_alias_names_its_class(cls, word):
    assert S.resolve(word) == cls


def test_default_keeps_the_letters_canonical():
    # Rows and draw records written before classes were configurable hold A–D: those stay the canonical names.
    assert S.classes == ("A", "B", "C", "D") == DEFAULT_CLASSES
    for cls, words in DEFAULT_ALIASES.items():
        for w in words:
            assert S.resolve(w) == cls and S.resolve(f"{w}（{cls}类）") == cls


@pytest.mark.parametrize("word", ["E", "甲", "信用风险极高", "低低", "信用风险低（D类）", "A(备注)", "", None, "未分类",
                                  "-"])
def test_unknown_words_name_no_class(word):
    assert S.resolve(word) is None


def test_unclassified_words():
    assert all(is_unclassified(w) for w in (None, "", " ", "-", "—", "未分类", "无"))
    assert not is_unclassified("A")


def test_config_default_and_rename():
    assert config_from_dict({}).credit_scheme == S
    cfg = config_from_dict({"credit": {"classes": ["低风险", "中风险", "中高风险", "高风险"]}})
    sc = cfg.credit_scheme
    assert sc.classes == ("低风险", "中风险", "中高风险", "高风险")
    assert sc.resolve("中高风险（C类）") == "中高风险" and sc.resolve(" 高风险 ") == "高风险"
    assert sc.resolve("A") is None  # renamed classes get no default aliases
    cfg = config_from_dict({"credit": {"classes": ["低风险", "中风险", "中高风险", "高风险"],
                                       "aliases": {"低风险": ["A", "信用风险低"], "高风险": ["D"]}}})
    assert cfg.credit_scheme.resolve("a类") == "低风险" and cfg.credit_scheme.resolve("D") == "高风险"
    # Given aliases replace the defaults of A–D.
    sc = config_from_dict({"credit": {"aliases": {"A": ["优"]}}}).credit_scheme
    assert sc.resolve("优") == "A" and sc.resolve("低风险") is None and sc.resolve("B") == "B"


@pytest.mark.parametrize("credit,key", [
    ({"classes": []}, "credit.classes"),
    ({"classes": "A,B"}, "credit.classes"),
    ({"classes": ["A", "a"]}, "credit.classes"),
    ({"classes": ["A", ""]}, "credit.classes"),
    ({"classes": ["A", "-"]}, "credit.classes"),
    ({"classes": ["A", "未分类"]}, "credit.classes"),
    ({"classes": ["A|B"]}, "credit.classes"),
    ({"classes": ["x" * 33]}, "credit.classes"),
    ({"aliases": {"A": ["低"], "B": ["低"]}}, "credit.aliases.B"),
    ({"aliases": {"A": ["B"]}}, "credit.aliases.A"),
    ({"aliases": {"E": ["极高"]}}, "credit.aliases.E"),
    ({"aliases": {"A": "低"}}, "credit.aliases.A"),
    ({"aliases": {"A": ["未分类"]}}, "credit.aliases.A"),
    ({"aliases": ["A"]}, "credit.aliases"),
    ({"levels": ["A"]}, "credit.levels"),
])
def test_bad_credit_config_names_the_key(credit, key):
    with pytest.raises(ConfigError) as err:
        config_from_dict({"credit": credit})
    assert str(err.value).startswith(key + ":"), str(err.value)


def test_build_scheme_order_is_the_configured_order():
    assert build_scheme(["高", "低"]).classes == ("高", "低")
