"""The result codes (bot.rules.codes, SPEC §6.7/§6.10): the CodeSet and its `[codes]` configuration, good and bad."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest

from bot.config import DEFAULT_CODES, ConfigError, config_from_dict, load_config
from bot.rules.codes import (DEFAULT_CODE_SET, CodeSet, CodeSetError, code_set_from_config, department_result,
                             show_code)

RENUMBERED_TOML = """
[codes]
1 = "不合格"
5 = "不涉及"
8 = "合格"
12 = "责令改正"
19 = "发现问题待后续处理"
problems = [1, 12, 19]
follow_up = 19
clean = 8
"""
CFG = config_from_dict(tomllib.loads(RENUMBERED_TOML))
CODES = CFG.code_set
PROBLEMS = {1, 12, 19}  # spelled out again: the expectations do not ask the CodeSet


# ------------------------------------------------------------------------------------------------ the CodeSet

def test_the_default_set_is_the_record_forms_ten():
    codes = DEFAULT_CODE_SET
    assert dict(codes.labels) == DEFAULT_CODES and codes.codes == tuple(range(1, 11))
    assert codes.problems == {2, 3, 4, 5, 6, 8, 10} and codes.follow_up == 8 and codes.clean == 1
    assert codes.show(8) == "8 发现问题待后续处理" and codes.show(11) == "11"
    assert show_code(1, {1: "合格"}) == "1 合格"
    assert 10 in codes and 11 not in codes and codes.label(7) == "未发现本次抽查涉及的经营活动"
    assert codes.is_problem(5) and not codes.is_problem(7) and not codes.is_problem(None)
    assert codes.has_problem([1, None, 10]) and not codes.has_problem([1, 7, 9, None])
    assert codes.opens_follow_up(8) and not codes.opens_follow_up(5) and not codes.opens_follow_up(None)
    assert department_result([8, 5, 8, None]) == "5,8" and department_result([]) == ""


def test_a_code_set_is_a_frozen_value():
    codes = CodeSet(labels={3: " 三 ", 1: "一"}, problems=[3], follow_up=3, clean=1)
    assert list(codes.labels.items()) == [(1, "一"), (3, "三")]  # code order, labels trimmed
    with pytest.raises(TypeError):
        codes.labels[2] = "二"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        codes.clean = 3  # type: ignore[misc]
    same = CodeSet(labels={1: "一", 3: "三"}, problems=frozenset({3}), follow_up=3, clean=1)
    assert codes == same and hash(codes) == hash(same) and len({codes, same, DEFAULT_CODE_SET}) == 2


@pytest.mark.parametrize("kwargs, key", [
    (dict(labels={}, problems=(), follow_up=None, clean=None), "codes"),
    (dict(labels={0: "零"}, problems=(), follow_up=None, clean=None), "0"),
    (dict(labels={1: " "}, problems=(), follow_up=None, clean=None), "1"),
    (dict(labels={1: "合格", 2: "不合格"}, problems={3}, follow_up=None, clean=1), "problems"),
    (dict(labels={1: "合格", 2: "不合格"}, problems={2}, follow_up=3, clean=1), "follow_up"),
    (dict(labels={1: "合格", 2: "不合格"}, problems={2}, follow_up=1, clean=None), "follow_up"),
    (dict(labels={1: "合格", 2: "不合格"}, problems={2}, follow_up=2, clean=3), "clean"),
    (dict(labels={1: "合格", 2: "不合格"}, problems={2}, follow_up=2, clean=2), "clean"),
])
def test_facts_that_do_not_fit_are_refused(kwargs, key):
    with pytest.raises(CodeSetError) as err:
        CodeSet(**kwargs)
    assert err.value.key == key


# ------------------------------------------------------------------------------------------------ [codes]

def test_without_a_codes_table_the_record_form_applies():
    cfg = config_from_dict({})
    assert cfg.code_set is DEFAULT_CODE_SET and cfg.codes is cfg.code_set.labels  # built once, labels from it


def test_relabelled_record_form_numbers_keep_their_meaning():
    raw = {str(c): f"{label}（本县）" for c, label in DEFAULT_CODES.items()}
    codes = config_from_dict({"codes": raw}).code_set
    assert codes.show(8) == "8 发现问题待后续处理（本县）"
    assert (codes.problems, codes.follow_up, codes.clean) == (DEFAULT_CODE_SET.problems, 8, 1)


def test_the_facts_alone_adjust_the_record_form():
    codes = config_from_dict({"codes": {"problems": [2, 3, 4, 6, 10], "follow_up": 0, "clean": 9}}).code_set
    assert codes.labels == DEFAULT_CODE_SET.labels
    assert codes.problems == {2, 3, 4, 6, 10} and codes.follow_up is None and codes.clean == 9
    assert not codes.opens_follow_up(8) and not codes.is_problem(5)


def test_a_renumbered_set_says_everything_and_loads_from_toml(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[bot]\ntoken = "1:A"\n' + RENUMBERED_TOML, encoding="utf-8")
    codes = load_config(path, env={}).code_set
    assert codes == CODES
    assert codes.codes == (1, 5, 8, 12, 19) and codes.problems == PROBLEMS
    assert codes.follow_up == 19 and codes.clean == 8 and codes.show(19) == "19 发现问题待后续处理"
    none = config_from_dict({"codes": {"1": "合格", "2": "不合格", "problems": [], "follow_up": 0, "clean": 0}})
    assert none.code_set.problems == frozenset() and none.code_set.follow_up is None and none.code_set.clean is None


@pytest.mark.parametrize("table, key", [
    # a set with its own numbers must say what they mean: no guessing by number
    ({"1": "合格", "2": "不合格"}, "codes.problems"),
    ({"1": "合格", "2": "不合格", "problems": [2]}, "codes.follow_up"),
    ({"1": "合格", "2": "不合格", "problems": [2], "follow_up": 2}, "codes.clean"),
    # every named code exists in the set
    ({"1": "合格", "2": "不合格", "problems": [2, 3], "follow_up": 2, "clean": 1}, "codes.problems"),
    ({"problems": [2, 11]}, "codes.problems"),
    ({"follow_up": 11}, "codes.follow_up"),
    ({"clean": 11}, "codes.clean"),
    # the follow-up code is a problem code; the clean code is not
    ({"follow_up": 7}, "codes.follow_up"),
    ({"problems": [2, 3]}, "codes.follow_up"),  # the default follow_up = 8 is no longer a problem code
    ({"clean": 2}, "codes.clean"),
    ({"problems": [1, 8], "follow_up": 8}, "codes.clean"),  # the default clean = 1 became a problem code
    # values of the wrong kind
    ({"problems": "2,3"}, "codes.problems"),
    ({"problems": [2, "3"]}, "codes.problems"),
    ({"problems": [True]}, "codes.problems"),
    ({"follow_up": "8"}, "codes.follow_up"),
    ({"follow_up": -1}, "codes.follow_up"),
    ({"clean": True}, "codes.clean"),
    ({"problem": [2]}, "codes.problem"),  # a typo is not taken for a code
    ({"3": ""}, "codes.3"),
    ({"-1": "负"}, "codes.-1"),
])
def test_a_bad_codes_table_is_refused_naming_the_key(table, key):
    with pytest.raises(ConfigError) as err:
        config_from_dict({"codes": table})
    message = str(err.value)
    assert message.startswith(key + ":") and "\n" not in message


def test_the_refusal_of_a_renumbered_set_names_every_missing_key():
    with pytest.raises(ConfigError) as err:
        config_from_dict({"codes": {"1": "合格", "2": "不合格", "follow_up": 0}})
    assert "codes.problems" in str(err.value) and "codes.clean" in str(err.value)
    assert "codes.follow_up" not in str(err.value)


def test_code_set_from_config_without_config_is_the_default():
    assert code_set_from_config() == DEFAULT_CODE_SET
