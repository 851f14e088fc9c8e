"""Who may use what, and where: the one permission table (SPEC §2 roles; §2/§9 "every handler and every
callback checks the caller's role … at the moment of the action").

The same facts used to live in role tuples in nine handler modules, in the command menus of the runtime and in
the authorization-matrix test's own copy, and nothing kept them in step: a menu could offer a command its guard
refuses, a new handler could pick its own tuple. Now there is this table, and everything reads it:

  * the guards (`handlers.common.permitted(name)`) take the roles and the chat kind of their entry;
  * the command menus and /help (`bot.runtime.menus`) are the entries' `menu` and `help` fields;
  * the authorization matrix (tests/conversation/test_authz_matrix.py) derives every expected cell from it, and
    checks that the table and the registered handlers name the same commands and buttons.

One entry per command, per kind of button that is not part of a guided flow (by its callback-data prefix), and
one for a workbook sent to the bot. A guided flow's buttons and typed answers belong to the flow's command
(`/new` and `new:…`): a flow's button is only live inside the flow, and every step is guarded like the command.

The table says who may press or send at all. Narrower scope stays in the services, checked against the
database at the moment of the action: a department head decides only for their own department, an inspector
enters only their own group's targets, a leader decides a correction only when the department has no head.

Pure: no messenger, no database (tests/unit/test_layers.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

# models.ROLES, repeated because the rules do not import the models (a test keeps the two equal).
ROLES = ("admin", "leader", "dept_head", "coordinator", "inspector")

# --- where: the kinds of chat an update can come from
PRIVATE = "private"  # the user's private chat with the bot
GROUP = "group"  # the bound group chat (SPEC §2: /bindgroup or [bot] group_chat_id)
OTHER_GROUP = "other_group"  # any other group the bot was added to
PLACES = (PRIVATE, GROUP, OTHER_GROUP)

PRIVATE_ONLY = frozenset({PRIVATE})
GROUP_ONLY = frozenset({GROUP})
PRIVATE_OR_GROUP = frozenset({PRIVATE, GROUP})  # never another group
ANY_GROUP = frozenset({GROUP, OTHER_GROUP})  # /bindgroup: it binds the group it is sent in
ANYWHERE = frozenset(PLACES)

# What the guard checks for each kind of `chats` (handlers.common): its mode names.
_GUARD_MODES = {PRIVATE_ONLY: "private", GROUP_ONLY: "group", PRIVATE_OR_GROUP: "private_or_group", ANYWHERE: "any"}

# --- who. A tuple keeps the order the refusal names the roles in ("只有 分管领导、领导小组成员 可以…").
ANYONE = None  # any bound person (a roster row bound to the account, or a configured admin), whatever the roles
ADMIN = ("admin",)
LEADER = ("leader",)
INSPECTOR = ("inspector",)
DIRECTORY_READERS = ("admin", "leader", "coordinator", "dept_head")  # everyone but inspectors: the roster
CAMPAIGN_READERS = ("leader", "coordinator", "dept_head", "admin")
PROGRESS_READERS = ("leader", "coordinator", "admin", "dept_head")
REPORT_READERS = ("leader", "coordinator")  # SPEC §2: leaders, and coordinators "request reports"
APPROVERS = ("dept_head", "leader")  # SPEC §2: heads for their department, leaders across departments

# --- the menus a command can be listed in (bot.runtime.menus): every private chat, every group chat, and the
# own chat of a person holding a role (after the private menu).
MENU_PRIVATE = "private"
MENU_GROUP = "group"

COMMAND, CALLBACK, UPLOAD = "command", "callback", "upload"


@dataclass(frozen=True)
class Permission:
    """One row of the table.

    name   a command without the slash; a kind of button by its callback-data prefix ("dir:"); "document".
    roles  who may (ANYONE: any bound person).
    chats  where: a set of PLACES.
    data   the callback-data prefixes this entry governs (a button kind's own prefix, a flow's buttons, the 取消
           buttons of the flows). The longest matching prefix decides (`for_callback`).
    menu   the menus listing the command: MENU_PRIVATE, MENU_GROUP and roles (their own chat's menu).
    help   the roles whose /help lists the command beyond the private menu; None: the roles in `menu`.
    chat_refusal  the handler checks the chat itself and refuses with this text (its own words: "reports are
           sent only in a private chat"); the guard checks the role only.
    guarded  False for the two commands that must answer an account nobody has bound yet (/start binds it with
           a code, /help says how to get one): their handlers check for themselves.
    """

    name: str
    roles: tuple[str, ...] | None
    chats: frozenset[str]
    kind: str = COMMAND
    data: tuple[str, ...] = ()
    menu: tuple[str, ...] = ()
    help: tuple[str, ...] | None = None
    chat_refusal: str | None = None
    guarded: bool = True

    def allows(self, roles: Iterable[str]) -> bool:
        """Someone bound holding `roles` may use it (the place aside)."""
        return self.roles is None or any(r in self.roles for r in roles)

    def allows_role(self, role: str) -> bool:
        return self.roles is None or role in self.roles

    @property
    def guard_mode(self) -> str:
        """The chat check of handlers.common's guard: "private", "group", "private_or_group" or "any"."""
        if self.chat_refusal is not None:
            return "any"
        return _GUARD_MODES[self.chats]

    @property
    def help_roles(self) -> tuple[str, ...]:
        return self.help if self.help is not None else tuple(m for m in self.menu if m in ROLES)


def _command(name: str, roles: tuple[str, ...] | None, chats: frozenset[str], **kw) -> Permission:
    return Permission(name, roles, chats, **kw)


def _callback(name: str, roles: tuple[str, ...] | None, chats: frozenset[str], data: tuple[str, ...] = (),
              **kw) -> Permission:
    return Permission(name, roles, chats, kind=CALLBACK, data=data or (name,), **kw)


# The table. Its order is the order of the menus and of /help.
_TABLE = (
    # -- everyone
    _command("start", ANYONE, PRIVATE_ONLY, menu=(MENU_PRIVATE,), guarded=False),
    _command("help", ANYONE, ANYWHERE, menu=(MENU_PRIVATE, MENU_GROUP), guarded=False),
    # -- inspectors (SPEC §2: own assignments, result entry, correction, substitution, recusal)
    _command("enter", INSPECTOR, PRIVATE_ONLY, data=("ent:",), menu=(MENU_PRIVATE,)),
    _command("tasks", INSPECTOR, PRIVATE_ONLY, menu=(MENU_PRIVATE,)),
    _command("correct", INSPECTOR, PRIVATE_ONLY, data=("correct:",), menu=(MENU_PRIVATE,)),
    _command("followup", INSPECTOR, PRIVATE_ONLY, data=("fu:",), menu=(MENU_PRIVATE,)),
    # /cancel and the 取消 button of each flow: ends the caller's own flow, so anyone may.
    _command("cancel", ANYONE, PRIVATE_ONLY, data=("new:cancel", "correct:cancel", "fu:cancel"),
             menu=(MENU_PRIVATE,)),
    _command("me", ANYONE, PRIVATE_ONLY, menu=(MENU_PRIVATE,)),
    _command("lang", ANYONE, PRIVATE_ONLY, menu=(MENU_PRIVATE,)),
    # -- directories (SPEC §3): targets and items for everyone; the roster (/people, below) for the staff
    _command("targets", ANYONE, PRIVATE_ONLY, menu=(MENU_PRIVATE,)),
    _command("items", ANYONE, PRIVATE_ONLY, menu=(MENU_PRIVATE,)),
    # -- leaders (SPEC §2: create campaigns, run and verify draws, name group leaders, publish)
    _command("new", LEADER, PRIVATE_ONLY, data=("new:",), menu=("leader",)),
    _command("draw", LEADER, GROUP_ONLY, menu=(MENU_GROUP,), help=LEADER),
    _command("verify", PROGRESS_READERS, PRIVATE_OR_GROUP, menu=(MENU_GROUP,), help=LEADER),
    _command("progress", PROGRESS_READERS, PRIVATE_OR_GROUP, menu=(MENU_GROUP, "leader", "coordinator")),
    _command("leader", LEADER, PRIVATE_OR_GROUP, menu=(MENU_GROUP, "leader")),
    # The reports hold names, certificate numbers and results: sent only in a private chat (the handler says so).
    _command("report", REPORT_READERS, PRIVATE_ONLY, menu=("leader", "coordinator"),
             chat_refusal="report.private_only"),
    _command("publish", LEADER, PRIVATE_OR_GROUP, menu=(MENU_GROUP, "leader"),
             chat_refusal="report.publish.wrong_group"),
    _command("campaigns", CAMPAIGN_READERS, PRIVATE_OR_GROUP, menu=(MENU_PRIVATE, MENU_GROUP)),
    # -- substitution and recusal (SPEC §6), asked by inspectors
    _command("swap", INSPECTOR, PRIVATE_ONLY, menu=(MENU_PRIVATE,)),
    _command("recuse", INSPECTOR, PRIVATE_ONLY, menu=(MENU_PRIVATE,)),
    # -- admins (SPEC §2: directories, invite codes, the group chat)
    _command("invite", ADMIN, PRIVATE_ONLY, menu=("admin",)),
    _command("template", ADMIN, PRIVATE_ONLY, menu=("admin",)),
    # The roster (names, roles, certificate numbers): everyone but inspectors.
    _command("people", DIRECTORY_READERS, PRIVATE_ONLY, menu=("admin",), help=DIRECTORY_READERS),
    _command("bindgroup", ADMIN, ANY_GROUP, menu=(MENU_GROUP,), help=ADMIN, chat_refusal="bindgroup.not_group"),
    Permission("document", ADMIN, PRIVATE_ONLY, kind=UPLOAD),  # a directory workbook sent to the bot (SPEC §3)
    # -- buttons outside the guided flows
    # Directory pages. Pages of /people are checked against /people's roles in the handler (a stale button).
    _callback("dir:", ANYONE, PRIVATE_ONLY),
    _callback("lang:", ANYONE, PRIVATE_ONLY),
    _callback("swap|recuse:", INSPECTOR, PRIVATE_ONLY, data=("swap:", "recuse:")),
    # 同意/驳回 of the one approval flow (a substitution or recusal `staff:`, a correction `corr:`): sent to the
    # approver's private chat through the outbox; who of the approvers decides which request (never the
    # requester, a head only for their department) is the services' check (bot.services.approvers).
    _callback("approve", APPROVERS, ANYWHERE, data=("corr:", "staff:")),
)

PERMISSIONS: dict[str, Permission] = {p.name: p for p in _TABLE}


def permission(name: str) -> Permission:
    return PERMISSIONS[name]


def commands() -> tuple[str, ...]:
    return tuple(p.name for p in _TABLE if p.kind == COMMAND)


def for_callback(data: str) -> Permission | None:
    """The entry governing a button with this callback data (longest matching prefix), or None (no such button:
    forged, or from an old version)."""
    best: tuple[int, Permission] | None = None
    for p in _TABLE:
        for prefix in p.data:
            if data.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), p)
    return best[1] if best else None


# --- menus and /help

def menu(name: str) -> tuple[str, ...]:
    """The commands of a menu (MENU_PRIVATE, MENU_GROUP or a role's own), in table order."""
    return tuple(p.name for p in _TABLE if name in p.menu)


MENU_ROLES = tuple(r for r in ROLES if any(r in p.menu for p in _TABLE))  # roles with a menu of their own


def role_menu(roles: Iterable[str]) -> tuple[str, ...]:
    """A private chat's menu for a person holding `roles`: everyone's commands, then their roles' commands."""
    held = set(roles)
    extra = [p.name for p in _TABLE if any(m in held for m in p.menu if m in ROLES)]
    return tuple(dict.fromkeys(menu(MENU_PRIVATE) + tuple(extra)))


def help_commands(roles: Iterable[str]) -> tuple[str, ...]:
    """What /help lists for a person holding `roles`: the private menu, then what their roles add."""
    held = set(roles)
    extra = [p.name for p in _TABLE if any(r in held for r in p.help_roles)]
    return tuple(dict.fromkeys(menu(MENU_PRIVATE) + tuple(extra)))


# --- the table's own consistency, checked at import (and each check proven by tests/unit/test_permissions.py)

def problems(table: Iterable[Permission]) -> list[str]:
    """What is wrong with a table: a menu offering a command where or to whom it is refused, an unknown role,
    chat kind or menu, a name or callback prefix twice."""
    out: list[str] = []
    names: set[str] = set()
    prefixes: dict[str, str] = {}
    for p in table:
        if p.name in names:
            out.append(f"{p.name}: listed twice")
        names.add(p.name)
        if p.kind not in (COMMAND, CALLBACK, UPLOAD):
            out.append(f"{p.name}: unknown kind {p.kind!r}")
        if p.roles is not None and (not p.roles or set(p.roles) - set(ROLES)):
            out.append(f"{p.name}: roles {p.roles!r} (use ANYONE or roles of {ROLES})")
        if p.chat_refusal is None and p.chats not in _GUARD_MODES:
            out.append(f"{p.name}: no guard checks chats {sorted(p.chats)} (name the handler's chat_refusal)")
        if not p.chats or p.chats - set(PLACES):
            out.append(f"{p.name}: chats {sorted(p.chats)}")
        if p.kind == CALLBACK and not p.data:
            out.append(f"{p.name}: a button kind without callback-data prefixes")
        if p.kind != COMMAND and (p.menu or p.help):
            out.append(f"{p.name}: only commands are in menus")
        for prefix in p.data:
            if prefix in prefixes:
                out.append(f"{p.name}: prefix {prefix!r} already governed by {prefixes[prefix]}")
            prefixes[prefix] = p.name
        for m in p.menu:
            if m == MENU_PRIVATE and PRIVATE not in p.chats:
                out.append(f"{p.name}: in the private menu but refused in private chats")
            elif m == MENU_GROUP and GROUP not in p.chats:
                out.append(f"{p.name}: in the group menu but refused in the group")
            elif m in ROLES and (PRIVATE not in p.chats or not p.allows_role(m)):
                out.append(f"{p.name}: in the {m} menu but refused to a {m} in a private chat")
            elif m not in (MENU_PRIVATE, MENU_GROUP) and m not in ROLES:
                out.append(f"{p.name}: unknown menu {m!r}")
        for r in p.help_roles:
            if r not in ROLES or not p.allows_role(r):
                out.append(f"{p.name}: /help lists it to a {r}, who is refused")
    return out


_PROBLEMS = problems(_TABLE)
if _PROBLEMS:  # pragma: no cover — proven by the tests on a broken table
    raise RuntimeError("the permission table is inconsistent: " + "; ".join(_PROBLEMS))
