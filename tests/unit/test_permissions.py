"""The permission table (bot.rules.permissions) holds together: each of its consistency checks is proven by a
broken table it must reject (a menu offering a command where or to whom the guard refuses it, /help listing a
command to a role that may not use it, a button prefix governed twice, an unknown role, a chat kind no guard
checks), and the menus and /help are what the table says. Who may do what is checked against SPEC §2 in the
authorization matrix (tests/conversation/test_authz_matrix.py), through the real Application."""

from __future__ import annotations

import dataclasses

import pytest

from bot.rules import permissions as P


def _with(name: str, **changes) -> list[P.Permission]:
    return [dataclasses.replace(p, **changes) if p.name == name else p for p in P.PERMISSIONS.values()]


def test_the_table_is_consistent():
    assert P.problems(P.PERMISSIONS.values()) == []


def test_the_roles_are_the_models_roles():
    from models import ROLES

    assert P.ROLES == ROLES


@pytest.mark.parametrize(("name", "changes", "complaint"), [
    ("draw", {"menu": (P.MENU_PRIVATE,)}, "draw: in the private menu but refused in private chats"),
    ("me", {"menu": (P.MENU_GROUP,)}, "me: in the group menu but refused in the group"),
    ("invite", {"menu": ("leader",)}, "invite: in the leader menu but refused to a leader in a private chat"),
    ("draw", {"menu": ("leader",)}, "draw: in the leader menu but refused to a leader in a private chat"),
    ("new", {"menu": ("auditor",)}, "new: unknown menu 'auditor'"),
    ("draw", {"help": ("coordinator",)}, "draw: /help lists it to a coordinator, who is refused"),
    ("tasks", {"roles": ("inspector", "auditor")}, "tasks: roles"),
    ("tasks", {"roles": ()}, "tasks: roles"),
    ("tasks", {"chats": P.ANY_GROUP}, "tasks: no guard checks chats"),
    ("lang:", {"data": ("dir:",)}, "lang:: prefix 'dir:' already governed by dir:"),
    ("approve", {"data": ()}, "approve: a button kind without callback-data prefixes"),
    ("document", {"menu": (P.MENU_PRIVATE,)}, "document: only commands are in menus"),
])
def test_a_broken_table_is_caught(name, changes, complaint):
    found = P.problems(_with(name, **changes))
    assert any(p.startswith(complaint) for p in found), found


def test_a_name_twice_is_caught():
    table = list(P.PERMISSIONS.values())
    assert "me: listed twice" in P.problems(table + [P.PERMISSIONS["me"]])


def test_buttons_fall_under_the_longest_prefix():
    assert P.for_callback("new:dep:3").name == "new"
    assert P.for_callback("new:cancel").name == "cancel"  # the 取消 of a flow ends the caller's own flow
    assert P.for_callback("fu:cancel").name == "cancel" and P.for_callback("fu:m:0").name == "followup"
    assert P.for_callback("recuse:1:2").name == P.for_callback("swap:1").name == "swap|recuse:"
    assert P.for_callback("zzz:1") is None and P.for_callback("") is None


def test_the_guard_checks_the_chat_unless_the_handler_does():
    assert P.permission("draw").guard_mode == "group"
    assert P.permission("campaigns").guard_mode == "private_or_group"
    assert P.permission("me").guard_mode == "private"
    assert P.permission("approve").guard_mode == "any"
    assert P.for_callback("corr:ok:1").name == P.for_callback("staff:no:2").name == "approve"  # one approval flow
    # these say it in their own words (report.private_only, report.publish.wrong_group, bindgroup.not_group)
    assert {n for n, p in P.PERMISSIONS.items() if p.chat_refusal} == {"report", "publish", "bindgroup"}
    assert all(P.PERMISSIONS[n].guard_mode == "any" for n in ("report", "publish", "bindgroup"))


@pytest.mark.parametrize("role", P.ROLES)
def test_menus_and_help_list_only_what_the_role_may_use(role):
    for name in P.role_menu({role}):
        entry = P.permission(name)
        assert P.PRIVATE in entry.chats
        assert name in P.menu(P.MENU_PRIVATE) or entry.allows_role(role), name
    for name in P.help_commands({role}):
        assert name in P.menu(P.MENU_PRIVATE) or P.permission(name).allows_role(role), name
    for name in P.menu(P.MENU_GROUP):
        assert P.GROUP in P.permission(name).chats


def test_roles_with_a_menu_of_their_own():
    assert P.MENU_ROLES == ("admin", "leader", "coordinator")
    assert {"invite", "template", "people"} <= set(P.role_menu({"admin"}))
    assert {"new", "report", "publish"} <= set(P.role_menu({"leader"})) and "invite" not in P.role_menu({"leader"})
    assert P.role_menu({"dept_head"}) == P.role_menu({"inspector"}) == P.menu(P.MENU_PRIVATE)
