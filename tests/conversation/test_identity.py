"""Identity and roles through the real Application (SPEC §2): invites, binding, /bindgroup, /me, /lang, /help,
refusals for unknown users and wrong roles."""

from __future__ import annotations

import datetime as dt
import json
import re

from sqlalchemy import select, update

from bot.services import identity
from models import AuditEntry, Invite, Person, Setting
from tests.conversation.conftest import CONFIG_ADMIN_ID

CODE_RE = re.compile(r"/start ([A-Z0-9]+)")


def _code(text: str) -> str:
    m = CODE_RE.search(text)
    assert m, text
    return m.group(1)


async def test_unknown_user_is_told_how_to_get_a_code(chat, people):
    await chat.as_user(7777).send("/me")
    assert "邀请码" in chat.last_text()
    await chat.as_user(7777).send("你好")
    assert "邀请码" in chat.last_text()


async def test_invite_then_start_binds_once(chat, people, sessions):
    await chat.as_user(6001).send("/invite 41000002")
    reply = chat.last_text()
    assert "陈彦兵" in reply and "https://t.me/shuangsui_test_bot?start=" in reply
    code = _code(reply)
    await chat.as_user(8001, first_name="陈").send(f"/start {code}")
    assert "绑定成功" in chat.last_text() and "陈彦兵" in chat.last_text()
    with sessions.begin() as s:
        p = s.get(Person, people["unbound"][0])
        assert p.telegram_user_id == 8001
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "identity.bind")) is not None
    # the same code a second time, by someone else: refused, nothing changes
    await chat.as_user(8002).send(f"/start {code}")
    assert "已被使用" in chat.last_text()
    with sessions.begin() as s:
        assert s.get(Person, people["unbound"][0]).telegram_user_id == 8001
        assert s.scalar(select(Person).where(Person.telegram_user_id == 8002)) is None


async def test_expired_and_random_codes_are_refused(chat, people, sessions):
    await chat.as_user(6001).send("/invite 13800000002")
    code = _code(chat.last_text())
    with sessions.begin() as s:
        s.execute(update(Invite).values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)))
    await chat.as_user(8001).send(f"/start {code}")
    assert "已过期" in chat.last_text()
    await chat.as_user(8001).send("/start ZZZZZZZZZZ")
    assert "无效" in chat.last_text()
    with sessions.begin() as s:
        assert s.scalar(select(Person).where(Person.telegram_user_id == 8001)) is None


async def test_code_sent_in_group_is_not_redeemed(chat, people, sessions):
    await chat.as_user(6001).send("/invite 41000002")
    code = _code(chat.last_text())
    await chat.as_user(8001).in_group(-100500).send(f"/start {code}")
    assert "私聊" in chat.last_text()
    with sessions.begin() as s:
        assert s.scalar(select(Invite)).used_at is None


async def test_account_bound_to_someone_else_cannot_take_a_second_identity(chat, people, sessions):
    await chat.as_user(6001).send("/invite 41000002")
    code = _code(chat.last_text())
    await chat.as_user(6003).send(f"/start {code}")  # 6003 is already 侯奇
    assert "侯奇" in chat.last_text() and "不能再绑定" in chat.last_text()
    with sessions.begin() as s:
        assert s.get(Person, people["unbound"][0]).telegram_user_id is None


async def test_invite_by_ambiguous_name_lists_candidates(chat, people, sessions):
    await chat.as_user(6001).send("/invite 王黎明")
    text = chat.last_text()
    assert "2 人匹配" in text and "41000003" in text and "41000004" in text
    with sessions.begin() as s:
        assert s.scalar(select(Invite)) is None


async def test_non_admin_cannot_invite(chat, people, sessions):
    await chat.as_user(6003).send("/invite 41000002")
    assert "没有执行此操作的权限" in chat.last_text()
    await chat.as_user(6002).send("/invite 41000002")
    assert "没有执行此操作的权限" in chat.last_text()
    with sessions.begin() as s:
        assert s.scalar(select(Invite)) is None


async def test_config_admin_can_invite_before_any_binding(chat, people):
    await chat.as_user(CONFIG_ADMIN_ID).send("/invite 侯奇")
    assert "/start " in chat.last_text()


async def test_bindgroup_by_admin_and_refused_for_others(chat, people, sessions):
    await chat.as_user(6003).in_group(-100777).send("/bindgroup")
    assert "没有执行此操作的权限" in chat.last_text()
    with sessions.begin() as s:
        assert s.get(Setting, identity.GROUP_CHAT_KEY) is None
    await chat.as_user(6001).in_group(-100777, title="西华县联合抽查群").send("/bindgroup")
    assert "西华县联合抽查群" in chat.last_text()
    with sessions.begin() as s:
        assert identity.group_chat_id(s) == -100777
    await chat.as_user(6001).send("/bindgroup")  # in a private chat: nothing to bind
    assert "群聊中发送" in chat.last_text()


async def test_me_shows_roster_row_and_lang_switches(chat, people, sessions):
    await chat.as_user(6003).send("/me")
    text = chat.last_text()
    assert "侯奇" in text and "41000001" in text and "执法检查人员" in text
    await chat.as_user(6003).send("/lang")
    await chat.press("English")
    assert "English" in chat.last_text()
    await chat.as_user(6003).send("/me")
    assert "Department" in chat.last_text()
    with sessions.begin() as s:
        assert s.get(Person, people["inspector"][0]).language == "en"


async def test_help_depends_on_role(chat, people):
    await chat.as_user(6003).send("/help")
    inspector_help = chat.last_text()
    await chat.as_user(6001).send("/help")
    admin_help = chat.last_text()
    assert "/invite" not in inspector_help and "/invite" in admin_help


async def test_english_telegram_user_gets_english(chat, people):
    await chat.as_user(9999, language_code="en").send("/me")
    assert "invite code" in chat.last_text()


async def test_forged_callback_is_refused(chat, people):
    await chat.as_user(6003).press_data("dir:people:2:deadbeef00")
    assert chat.alerts() and "失效" in chat.alerts()[-1]
    await chat.as_user(6003).press_data("nonsense")
    assert "失效" in chat.alerts()[-1]


async def test_command_menus_set_per_scope_on_start(cfg, sessions, people):
    from bot.runtime.app import build_application, post_init
    from tests.conversation.harness import StubRequest

    request = StubRequest()
    app = build_application(cfg, sessions, request=request)
    await app.initialize()
    await post_init(app)
    await app.shutdown()
    scopes = [(c.params.get("scope") or {}).get("type") for c in request.calls if c.method == "setMyCommands"]
    assert "all_private_chats" in scopes and "all_group_chats" in scopes and "chat" in scopes

    def names(commands) -> list[str]:
        return [cmd["command"] for cmd in (json.loads(commands) if isinstance(commands, str) else commands)]

    own_menus = {int(c.params["scope"]["chat_id"]): names(c.params["commands"]) for c in request.calls
                 if c.method == "setMyCommands" and (c.params.get("scope") or {}).get("type") == "chat"}
    assert set(own_menus) == {6001, 6002, CONFIG_ADMIN_ID}  # the admins' and the leader's own chats
    assert "invite" in own_menus[6001] and "report" not in own_menus[6001]
    assert {"report", "publish", "new"} <= set(own_menus[6002]) and "invite" not in own_menus[6002]


async def test_the_menus_set_on_start_are_the_permission_tables(cfg, sessions, people):
    """What Telegram is told to show is the table's menus (bot.rules.permissions), scope by scope, and every
    command a menu offers is one its audience may use there."""
    from bot.rules import permissions
    from bot.runtime.app import build_application, post_init
    from tests.conversation.harness import StubRequest

    request = StubRequest()
    app = build_application(cfg, sessions, request=request)
    await app.initialize()
    await post_init(app)
    await app.shutdown()

    def names(commands) -> tuple[str, ...]:
        return tuple(cmd["command"] for cmd in (json.loads(commands) if isinstance(commands, str) else commands))

    menus = {}
    for c in request.calls:
        if c.method == "setMyCommands":
            scope = c.params.get("scope") or {}
            key = int(scope["chat_id"]) if "chat_id" in scope else scope.get("type")
            menus[(key, c.params.get("language_code"))] = names(c.params["commands"])
    assert menus[("all_private_chats", None)] == menus[("all_private_chats", "en")] == \
        permissions.menu(permissions.MENU_PRIVATE)
    assert menus[("all_group_chats", None)] == permissions.menu(permissions.MENU_GROUP)
    assert menus[(6001, None)] == menus[(CONFIG_ADMIN_ID, None)] == permissions.role_menu({"admin"})
    assert menus[(6002, None)] == permissions.role_menu({"leader"})
    for name in menus[("all_group_chats", None)]:
        assert permissions.GROUP in permissions.permission(name).chats, name
    for name in menus[(6002, None)]:
        entry = permissions.permission(name)
        assert permissions.PRIVATE in entry.chats, name
        assert name in menus[("all_private_chats", None)] or entry.allows_role("leader"), name
