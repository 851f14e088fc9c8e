"""The authorization matrix (SPEC §2, §9) through the real Application: every command registered in
handlers/__init__.py (and the conversations' entry commands, /cancel and a workbook upload) and every kind of
callback data × every role (inspector, dept_head, leader, coordinator, admin — one person holding only that
role — and an unbound Telegram account) × the chat (private, the bound group, a group the bot is in but not
bound to). Each cell is its own test.

Expected: from the permission table (bot.rules.permissions: who may use each command and button, and where),
which the guards and the command menus read too. The matrix still checks the table rather than trusting it: the
SPEC §2 role table is kept here, independently, for every command and button that changes state (SPEC_ROLE_TABLE
and SPEC_BUTTONS, compared with the table), so a wrong entry cannot pass silently; the table must name exactly the
commands the Application registers, and every registered handler must be guarded by the entry that governs what
it handles (the coverage tests at the end). Then each cell:
  * an allowed cell acts: its first answer is the handler's normal one (a marker text of that command), not a
    refusal, and never the internal-error text;
  * a refused cell gets a clear refusal (one of the refusal texts: wrong role, wrong chat, unknown user, stale
    button …), changes nothing — row counts and content of every state table, the audit log and the outbox are
    as before (the processed-update markers and PTB's own persistence rows are left out) — and sends no
    document;
  * commands in a group chat that have no group handler at all (/cancel, a document) are silent there.
Cells where the code answers although the command's scope says it should not are marked xfail(strict) with
the reason (KNOWN_GAPS): they are reported, and the test turns red the day the code is fixed so the mark goes.

The database state (directories, the bound group, a drawn campaign with submitted results, follow-ups, a
pending substitution and a pending correction in two departments) is built once per backend and loaded into a
fresh database for each cell.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from sqlalchemy import delete, func, insert, select, text

from bot.rules import permissions
from bot.services import corrections, staffing
from bot.runtime.app import build_application
from handlers.toolkit import FlowGate
from bot.config import config_from_dict
from bot.db import make_engine, make_sessionmaker
from bot.devtools.sample_data import sample_sheets, write_workbook
from bot.texts import CATALOG
from models import Assignment, Base, Department, DrawGroup, GroupTarget, Person
from tests.conftest import BACKENDS, _pg_schema_url
from tests.conversation.harness import BOT_ID, Chat, StubRequest
from tests.drawsetup import GROUP_ID, LEADER_TG
from tests.resultsetup import CFG, GA, SJ, submit

FOREIGN_GROUP = -100777
ROLES = ("inspector", "dept_head", "leader", "coordinator", "admin", "unbound")
CHATS = ("private", "group", "foreign")
COORDINATOR_TG, UNBOUND_TG = 8801, 8999
# Tables whose rows are not the product's state: update markers and PTB's own persistence.
NOT_STATE = {"processed_updates", "persistence", "conversations"}


# --------------------------------------------------------------------------------------------------- texts

def _pattern(template: str) -> str:
    return "".join(".*?" if part.startswith("{") else re.escape(part)
                   for part in re.split(r"(\{[a-z_]+\})", template))


def texts_re(*keys: str) -> re.Pattern:
    """Any language's text of any of `keys`, placeholders matching anything."""
    return re.compile("|".join(f"(?:{_pattern(CATALOG[k][lang])})" for k in keys for lang in CATALOG[k]), re.S)


AUTHZ_REFUSALS = texts_re("error.private_only", "error.group_only", "error.wrong_group", "error.not_allowed",
                          "error.stale_button", "unknown_user", "help.unbound", "start.in_group",
                          "bindgroup.not_group", "report.private_only", "report.publish.wrong_group", "entry.ended")
INTERNAL = texts_re("error.internal")


# --------------------------------------------------------------------------------------------------- the world

@dataclass
class World:
    tg: dict[str, int]  # role → Telegram id
    inspector_name: str
    cert_to_invite: str
    draw_id: int
    campaign_id: int
    assignment: int  # the inspector's own assignment
    other_assignment: int  # the other 市场监督 inspector's assignment in the same group
    group_target: int  # a group target of the inspector's group without a submission yet (ent:t:)
    other_group_target: int  # a group target of another group
    own_target: int  # a target of the inspector's group (recuse) with submitted results (correct)
    other_group_target_id: int  # a target id of another group
    followup: int  # a follow-up of the inspector's department
    other_followup: int  # a follow-up of another department
    staff_request: int  # pending swap in the inspector's department
    other_staff_request: int  # pending swap in another department
    correction: int  # pending correction in the inspector's department
    other_correction: int  # pending correction in another department
    snapshot: dict[str, list[dict]] = field(default_factory=dict)


def build_world(sessions) -> World:
    item_sj, item_ga = "主体注册登记情况", "利用营业场所制作、下载、复制、查阅、发布、传播违法信息情况"
    sub = submit(sessions, n_targets=2, codes={item_sj: 8, item_ga: 8})
    inspector, other = sub.inspectors[SJ][0], sub.inspectors[SJ][1]
    ga_other = sub.inspectors[GA][1]
    with sessions.begin() as s:
        dept = s.scalar(select(Department).where(Department.name == SJ))
        s.add(Person(natural_key="ndp:coordinator", name="联络员甲", department_id=dept.id, roles="coordinator",
                     telegram_user_id=COORDINATOR_TG))
        admin = s.scalars(select(Person).where(Person.roles == "admin")).one()
        people = {p.id: p for p in s.scalars(select(Person))}
        assert people[sub.heads[SJ]].roles == "dept_head" and people[inspector].roles == "inspector"
        leader = s.scalar(select(Person).where(Person.telegram_user_id == LEADER_TG))
        assert leader.roles == "leader" and admin.roles == "admin"
        tg = {"inspector": people[inspector].telegram_user_id, "dept_head": people[sub.heads[SJ]].telegram_user_id,
              "leader": LEADER_TG, "coordinator": COORDINATOR_TG, "admin": admin.telegram_user_id,
              "unbound": UNBOUND_TG}

        def assignment_of(person_id: int) -> int:
            return s.scalar(select(Assignment.id).where(Assignment.person_id == person_id, Assignment.active,
                                                        Assignment.group_id == sub.group_id))

        gts = s.execute(select(GroupTarget.id, GroupTarget.target_id).where(GroupTarget.group_id == sub.group_id)
                        .order_by(GroupTarget.position)).all()
        open_gt = next(gt for gt, target in gts if target not in sub.targets)
        other_group = s.scalar(select(DrawGroup.id).where(DrawGroup.draw_id == sub.draw_id,
                                                          DrawGroup.id != sub.group_id))
        other_gt, other_target = s.execute(select(GroupTarget.id, GroupTarget.target_id)
                                           .where(GroupTarget.group_id == other_group)).first()
        own_assignment, other_assignment = assignment_of(inspector), assignment_of(other)
        sj_request = staffing.file_request(s, person=people[other], assignment_id=other_assignment, kind="swap",
                                           reason="出差")
        ga_request = staffing.file_request(s, person=people[ga_other], assignment_id=assignment_of(ga_other),
                                           kind="swap", reason="出差")
        result_sj = sub.results[(sub.targets[1], item_sj)]
        result_ga = sub.results[(sub.targets[1], item_ga)]
        sj_correction = corrections.request_correction(s, person=people[other], result_id=result_sj, new_code=1,
                                                       reason="录入有误", cfg=CFG)
        ga_correction = corrections.request_correction(s, person=people[ga_other], result_id=result_ga, new_code=1,
                                                       reason="录入有误", cfg=CFG)
        world = World(
            tg=tg, inspector_name=people[inspector].name, cert_to_invite=people[other].cert_no,
            draw_id=sub.draw_id, campaign_id=sub.campaign_id, assignment=own_assignment,
            other_assignment=other_assignment, group_target=open_gt, other_group_target=other_gt,
            own_target=sub.targets[0], other_group_target_id=other_target,
            followup=sub.followups[sub.results[(sub.targets[0], item_sj)]],
            other_followup=sub.followups[sub.results[(sub.targets[0], item_ga)]],
            staff_request=sj_request.id, other_staff_request=ga_request.id, correction=sj_correction.id,
            other_correction=ga_correction.id)
    world.snapshot = dump(sessions)
    return world


def dump(sessions) -> dict[str, list[dict]]:
    with sessions.begin() as s:
        return {t.name: [dict(r._mapping) for r in s.execute(select(t))] for t in Base.metadata.sorted_tables}


def load(sessions, snapshot: dict[str, list[dict]]) -> None:
    with sessions.begin() as s:
        for table in reversed(Base.metadata.sorted_tables):
            s.execute(delete(table))
        for table in Base.metadata.sorted_tables:
            if snapshot[table.name]:
                s.execute(insert(table), snapshot[table.name])
        if s.bind.dialect.name == "postgresql":  # explicit ids were inserted: move the sequences past them
            for table in Base.metadata.sorted_tables:
                if "id" in table.c and table.c.id.autoincrement is not False and snapshot[table.name]:
                    s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                   f"(SELECT max(id) FROM \"{table.name}\"))"))


@pytest.fixture(scope="module", params=BACKENDS)
def matrix_db(request, tmp_path_factory, sqlite_template):
    """One database per backend for the whole module, the world built in it once; each test reloads it."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("matrix") / "matrix.db"
        shutil.copy(sqlite_template, path)
        url = f"sqlite:///{path}"
    else:
        url = _pg_schema_url()
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    load(sessions, {t.name: [] for t in Base.metadata.sorted_tables})  # other modules' rows go
    world = build_world(sessions)
    yield url, sessions, world
    engine.dispose()


@pytest.fixture
def db_url(matrix_db) -> str:
    return matrix_db[0]


@pytest.fixture
def sessions(matrix_db):
    return matrix_db[1]


@pytest.fixture
def world(matrix_db) -> World:
    _url, sessions, world = matrix_db
    load(sessions, world.snapshot)
    return world


@pytest.fixture
async def bot(db_url, sessions, world):
    cfg = config_from_dict({"bot": {"token": "123:TEST"}, "database": {"url": db_url}})
    request = StubRequest()
    app = build_application(cfg, sessions, request=request)
    await app.initialize()
    # What the users' own earlier messages left in their user_data: a directory query behind a page button,
    # and the reason the inspector typed with /swap or /recuse.
    for role, tg in world.tg.items():
        app.user_data[tg]["dir_queries"] = {"tok": "网", "all": ""}
    app.user_data[world.tg["inspector"]]["staff_reason"] = "家中有事"
    yield Chat(app, request)
    await app.shutdown()


def state(sessions) -> tuple[dict[str, int], str]:
    counts, digest = {}, hashlib.sha256()
    with sessions.begin() as s:
        for table in Base.metadata.sorted_tables:
            if table.name in NOT_STATE:
                continue
            counts[table.name] = s.scalar(select(func.count()).select_from(table))
            for row in s.execute(select(table).order_by(*table.primary_key.columns)):
                digest.update(repr(tuple(row)).encode("utf-8"))
    return counts, digest.hexdigest()


def where(chat: Chat, who: int, place: str) -> Chat:
    if place == "private":
        return chat.as_user(who)
    return chat.as_user(who, chat_id=GROUP_ID if place == "group" else FOREIGN_GROUP, chat_type="supergroup")


def answers(chat: Chat) -> list[str]:
    """What the user sees, in order: messages, edits, alerts (non-empty), document captions."""
    out = []
    for c in chat.replies():
        if c.method in ("sendMessage", "editMessageText", "sendDocument", "answerCallbackQuery"):
            if c.text:
                out.append(c.text)
    return out


# --------------------------------------------------------------------------------------------------- the table

ALL = set(ROLES) - {"unbound"}
PLACE = {permissions.PRIVATE: "private", permissions.GROUP: "group", permissions.OTHER_GROUP: "foreign"}


def table_roles(entry: permissions.Permission | None) -> frozenset[str]:
    """The matrix's roles the table lets use an entry (ANYONE: every role; no entry: nobody)."""
    if entry is None:
        return frozenset()
    return frozenset(r for r in ALL if entry.allows_role(r))


def table_chats(entry: permissions.Permission | None) -> frozenset[str]:
    return frozenset(PLACE[p] for p in entry.chats) if entry is not None else frozenset()


# SPEC §2, independently of the table: who may do what changes state, and where (§2: the group commands run in
# the bound group only; §6: inspectors work in a private chat; §3: a workbook is sent in a private chat).
SPEC_ROLE_TABLE: dict[str, tuple[set[str], set[str]]] = {
    "draw": ({"leader"}, {"group"}),  # leaders trigger the draw by command in the group chat
    "new": ({"leader"}, {"private"}),
    "leader": ({"leader"}, {"private", "group"}),
    "publish": ({"leader"}, {"private", "group"}),
    "report": ({"leader", "coordinator"}, {"private"}),
    "invite": ({"admin"}, {"private"}),
    "template": ({"admin"}, {"private"}),
    "document": ({"admin"}, {"private"}),
    "bindgroup": ({"admin"}, {"group", "foreign"}),  # an admin binds the group it is sent in
    "enter": ({"inspector"}, {"private"}),
    "tasks": ({"inspector"}, {"private"}),
    "correct": ({"inspector"}, {"private"}),
    "followup": ({"inspector"}, {"private"}),
    "swap": ({"inspector"}, {"private"}),
    "recuse": ({"inspector"}, {"private"}),
    "people": ({"admin", "leader", "coordinator", "dept_head"}, {"private"}),  # names and certificates
}
SPEC_BUTTONS: dict[str, set[str]] = {  # callback data → who may press at all (the services narrow the scope)
    "swap:1": {"inspector"}, "recuse:1:2": {"inspector"}, "ent:t:1": {"inspector"}, "correct:t:1:2": {"inspector"},
    "fu:f:1": {"inspector"}, "new:dep:0": {"leader"},
    "staff:ok:1": {"dept_head", "leader"}, "staff:no:1": {"dept_head", "leader"},
    "corr:ok:1": {"dept_head", "leader"}, "corr:no:1": {"dept_head", "leader"},
}


@pytest.mark.parametrize("name", sorted(SPEC_ROLE_TABLE))
def test_the_table_says_what_spec_section_2_says(name):
    roles, chats = SPEC_ROLE_TABLE[name]
    entry = permissions.permission(name)
    assert (table_roles(entry), table_chats(entry)) == (roles, chats)


@pytest.mark.parametrize("data", sorted(SPEC_BUTTONS))
def test_the_table_says_who_may_press_what_spec_section_2_says(data):
    assert table_roles(permissions.for_callback(data)) == SPEC_BUTTONS[data]


# --------------------------------------------------------------------------------------------------- commands

@dataclass(frozen=True)
class Command:
    name: str  # the table entry
    send: Callable[[World], str] | str  # the message text (or "document")
    ok: tuple[str, ...]  # text keys of the handler's normal first answer
    silent_in_groups: bool = False  # no group handler at all: nothing is said in a group
    ok_check: Callable[[Any, World], bool] | None = None  # for answers that go through the outbox

    @property
    def roles(self) -> frozenset[str]:  # who may: the table's
        return table_roles(permissions.permission(self.name))

    @property
    def chats(self) -> frozenset[str]:  # where: the table's
        return table_chats(permissions.permission(self.name))


def _drawn_twice(sessions, world: World) -> bool:
    from models import Draw
    with sessions.begin() as s:
        return s.scalar(select(func.count()).select_from(Draw)) == 2


COMMANDS = [
    Command("start", "/start", ("start.welcome",)),
    # /help is in the group menu and says nothing but the command list: answered anywhere.
    Command("help", "/help", ("help.header",)),
    Command("me", "/me", ("me.card",)),
    Command("lang", "/lang", ("lang.usage",)),
    Command("targets", "/targets 网", ("dir.targets_title",)),
    Command("people", "/people", ("dir.people_title",)),
    Command("items", "/items", ("dir.items_title",)),
    Command("campaigns", "/campaigns", ("campaign.list.header",)),
    Command("tasks", "/tasks", ("tasks.header",)),
    Command("progress", "/progress", ("progress.header",)),
    Command("report", "/report", ("report.progress.loading",)),
    Command("publish", "/publish", ("report.publish.incomplete",)),
    Command("invite", lambda w: f"/invite {w.cert_to_invite}", ("invite.issued",)),
    Command("template", "/template", ("upload.template_caption",)),
    Command("bindgroup", "/bindgroup", ("bindgroup.done", "bindgroup.moved")),
    Command("draw", "/draw reason=复核测试", (), ok_check=_drawn_twice),
    Command("verify", "/verify", ("verify.ok",)),
    Command("leader", lambda w: f"/leader 1 {w.inspector_name}", ("leader.changed",)),
    Command("swap", "/swap 家中有事", ("staff.filed",)),
    Command("recuse", "/recuse 亲属关系", ("staff.pick_target",)),
    Command("new", "/new", ("new.start",)),
    Command("enter", "/enter", ("entry.choose_target",)),
    Command("correct", "/correct", ("correct.pick_target",)),
    Command("followup", "/followup", ("followup.list",)),
    # /cancel outside a flow: the private fallback ("not understood"); no group handler.
    Command("cancel", "/cancel", ("unknown_text",), silent_in_groups=True),
    # A directory workbook sent to the bot; documents in groups are not handled.
    Command("document", "document", ("upload.working",), silent_in_groups=True),
]

# The matrix found private commands (/me, /lang, /targets, /items, /people and their buttons) answered in groups,
# and /verify and /leader answered in a group the bot is in but not bound to (/leader even changed the group
# leader from there). Fixed in handlers.common.guard (chat="private" / "private_or_group"); no known gaps remain.
KNOWN_GAPS: dict[tuple[str, str], str] = {}


def expected(command: Command, role: str, place: str) -> str:
    if place != "private" and command.silent_in_groups:
        return "silent"
    return "ok" if role in command.roles and place in command.chats else "refused"


def _cells():
    for command in COMMANDS:
        for role in ROLES:
            for place in CHATS:
                want = expected(command, role, place)
                marks = []
                gap = KNOWN_GAPS.get((command.name, place))
                if gap and want == "refused" and role in command.roles:
                    marks.append(pytest.mark.xfail(strict=True, reason=gap))
                yield pytest.param(command, role, place, want, marks=marks,
                                   id=f"/{command.name}-{role}-{place}-{want}")


async def _send(chat: Chat, command: Command, world: World) -> None:
    if command.name == "document":
        sheets = sample_sheets(n_targets=0)
        await chat.send_document(write_workbook({"单位": sheets["单位"]}), "单位.xlsx")
        return
    await chat.send(command.send(world) if callable(command.send) else command.send)


@pytest.mark.parametrize(("command", "role", "place", "want"), list(_cells()))
async def test_command(bot, sessions, world, command, role, place, want):
    who = world.tg[role]
    before = state(sessions)
    await _send(where(bot, who, place), command, world)
    said = answers(bot)
    assert not any(INTERNAL.fullmatch(a) for a in said), said
    if want == "ok":
        assert said or command.ok_check, f"the bot said nothing; calls: {[c.method for c in bot.replies()]}"
        if command.ok:
            # the answer itself (/verify sends its verification page first, then the verdict)
            assert any(texts_re(*command.ok).match(a) for a in said), said[:3]
        assert not any(AUTHZ_REFUSALS.fullmatch(a) for a in said), said
        if command.ok_check:
            assert command.ok_check(sessions, world)
        return
    if want == "silent":
        assert said == []
    else:
        assert said and all(AUTHZ_REFUSALS.fullmatch(a) for a in said), said
    assert not bot.documents()
    assert state(sessions) == before


# --------------------------------------------------------------------------------------------------- callbacks

SCOPE_REFUSALS = texts_re("error.private_only", "error.group_only", "error.wrong_group", "error.not_allowed",
                          "error.stale_button", "unknown_user", "entry.ended", "staff.not_your_department",
                          "correct.not_your_department", "correct.not_yours", "followup.not_yours",
                          "entry.refused.not_assigned")
CALLBACK_CHATS = ("private", "group")


class _AnyIds:
    """A stand-in world whose every id is 1: enough to read a button's data prefix."""

    def __getattr__(self, name: str) -> int:
        return 1


@dataclass(frozen=True)
class Callback:
    name: str
    data: Callable[[World], str]
    ok: tuple[str, ...]
    flow: tuple[str, ...] = ()  # what the owner sends first (private) so that the button is live
    # The table says who may press at all; `scope` is who may in this world, where a service narrows it.
    scope: frozenset[str] | None = None
    roles_of: str | None = None  # the handler applies this entry's roles (the /people pages: /people's)

    @property
    def entry(self) -> permissions.Permission | None:
        return permissions.for_callback(self.data(_AnyIds()))  # type: ignore[arg-type]

    @property
    def roles(self) -> frozenset[str]:
        roles = table_roles(self.entry)
        if self.roles_of is not None:
            roles &= table_roles(permissions.permission(self.roles_of))
        return roles if self.scope is None else roles & self.scope

    @property
    def chats(self) -> frozenset[str]:
        return table_chats(self.entry)


CALLBACKS = [
    Callback("dir-targets", lambda w: "dir:targets:1:tok", ("dir.targets_title",)),
    Callback("dir-people", lambda w: "dir:people:1:all", ("dir.people_title",), roles_of="people"),
    Callback("lang", lambda w: "lang:en", ("lang.set",)),
    Callback("swap", lambda w: f"swap:{w.assignment}", ("staff.filed",)),
    Callback("recuse", lambda w: f"recuse:{w.assignment}:{w.own_target}", ("staff.filed",)),
    # The department's head or a leader (SPEC §2: leaders approve substitutions across departments).
    Callback("staff-ok", lambda w: f"staff:ok:{w.staff_request}", ("staff.approved_note", "staff.failed_note")),
    Callback("staff-no", lambda w: f"staff:no:{w.staff_request}", ("staff.rejected_note",)),
    # Corrections: the department's own head; a leader only when the department has no bound head, and this
    # world's department has one (bot.services.corrections.may_decide).
    Callback("corr-ok", lambda w: f"corr:ok:{w.correction}", ("correct.approved_note",),
             scope=frozenset({"dept_head"})),
    Callback("corr-no", lambda w: f"corr:no:{w.correction}", ("correct.rejected_note",),
             scope=frozenset({"dept_head"})),
    Callback("ent", lambda w: f"ent:t:{w.group_target}", ("entry.target_chosen",), flow=("/enter",)),
    Callback("new", lambda w: "new:dep:0", ("new.departments_prompt",), flow=("/new", "矩阵测试任务")),
    Callback("correct", lambda w: f"correct:t:{w.draw_id}:{w.own_target}", ("correct.pick_item",),
             flow=("/correct",)),
    Callback("followup", lambda w: f"fu:f:{w.followup}", ("followup.pick_measures",), flow=("/followup",)),
    Callback("unknown", lambda w: "zzz:1", ()),  # no entry: forged, or from an old version
]

_CALLBACK_GAPS: set[tuple[str, str]] = set()  # none since the guard fix (see KNOWN_GAPS)


def _callback_cells():
    for cb in CALLBACKS:
        for role in ROLES:
            for place in CALLBACK_CHATS:
                want = "ok" if role in cb.roles and place in cb.chats else "refused"
                marks = []
                if (cb.name, place) in _CALLBACK_GAPS and role in cb.roles:
                    want = "refused"
                    marks.append(pytest.mark.xfail(strict=True, reason="the button of a private command answered "
                                                   "in a group"))
                yield pytest.param(cb, role, place, want, marks=marks, id=f"{cb.name}-{role}-{place}-{want}")


def _message_with(chat: Chat, prefix: str) -> dict | None:
    """The bot's latest message carrying a button whose data starts with `prefix` (the live prompt)."""
    for call in reversed(chat.request.calls):
        if any(d.startswith(prefix) for _, d in call.buttons()):
            return chat._find_message(call)
    return None


def _group_message(chat_id: int) -> dict:
    return {"message_id": 1, "date": 0, "chat": {"id": chat_id, "type": "supergroup", "title": "群"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "抽查助手"}, "text": "…"}


@pytest.mark.parametrize(("cb", "role", "place", "want"), list(_callback_cells()))
async def test_callback(bot, sessions, world, cb, role, place, want):
    who, data = world.tg[role], cb.data(world)
    message = None
    if role in cb.roles and cb.flow:  # the owner opens the flow, so the button is live; others cannot
        for step in cb.flow:
            await bot.as_user(who).send(step)
        message = _message_with(bot, data.rsplit(":", 1)[0] + ":")
        assert message is not None, "the flow did not show its buttons"
    if place == "group":  # the same data on a message in the bound group
        where(bot, who, "group")
        message = _group_message(GROUP_ID)
    else:
        bot.as_user(who)
    before = state(sessions)
    await bot.press_data(data, message)
    said = answers(bot)
    assert not any(INTERNAL.fullmatch(a) for a in said), said
    if want == "ok":
        assert said, f"the bot said nothing; calls: {[c.method for c in bot.replies()]}"
        assert any(texts_re(*cb.ok).search(a) for a in said), said[:3]
        assert not any(SCOPE_REFUSALS.fullmatch(a) for a in said), said
        return
    assert said and all(SCOPE_REFUSALS.fullmatch(a) for a in said), said
    assert not bot.documents()
    assert state(sessions) == before


# --------------------------------------------------------------------------------------------------- forged

@dataclass(frozen=True)
class Forged:
    why: str
    role: str
    data: Callable[[World], str]
    flow: tuple[str, ...] = ()
    prefix: str = ""  # the live prompt whose message the forged press rides on
    other_chat: bool = False  # the press comes on a message of someone else's chat


FORGED = [
    # Bad formats, by a role that passes the guard, so the parser is what refuses.
    Forged("staff id not a number", "dept_head", lambda w: "staff:ok:abc"),
    Forged("staff verb unknown", "dept_head", lambda w: f"staff:maybe:{w.staff_request}"),
    Forged("staff id missing", "leader", lambda w: "staff:ok"),
    Forged("staff id unknown", "leader", lambda w: "staff:ok:999999"),
    Forged("correction id not a number", "dept_head", lambda w: "corr:ok:1x"),
    Forged("correction id unknown", "dept_head", lambda w: "corr:ok:999999"),
    Forged("correction verb unknown", "dept_head", lambda w: f"corr:yes:{w.correction}"),
    Forged("swap id not a number", "inspector", lambda w: "swap:abc"),
    Forged("swap with extra parts", "inspector", lambda w: f"swap:{w.assignment}:1"),
    Forged("recuse without target", "inspector", lambda w: f"recuse:{w.assignment}"),
    Forged("directory kind unknown", "admin", lambda w: "dir:secrets:1:tok"),
    Forged("directory page not a number", "admin", lambda w: "dir:people:x:tok"),
    Forged("directory query token not this user's", "admin", lambda w: "dir:people:1:0123456789"),
    Forged("language unknown", "admin", lambda w: "lang:fr"),
    Forged("unknown prefix", "admin", lambda w: "admin:grant:1"),
    Forged("empty data", "leader", lambda w: ""),
    Forged("entry action unknown", "inspector", lambda w: "ent:zz:1", ("/enter",), "ent:"),
    Forged("entry id not a number", "inspector", lambda w: "ent:t:abc", ("/enter",), "ent:"),
    Forged("entry code without its parts", "inspector", lambda w: "ent:c:1:2", ("/enter",), "ent:"),
    Forged("entry id huge", "inspector", lambda w: "ent:t:" + "9" * 40, ("/enter",), "ent:"),
    Forged("new: index out of range", "leader", lambda w: "new:dep:999", ("/new", "矩阵测试任务"), "new:dep:"),
    Forged("new: page out of range", "leader", lambda w: "new:dep:p99", ("/new", "矩阵测试任务"), "new:dep:"),
    Forged("correct: ids not numbers", "inspector", lambda w: "correct:t:x:y", ("/correct",), "correct:t:"),
    Forged("correct: page not a number", "inspector", lambda w: "correct:pg:x", ("/correct",), "correct:t:"),
    Forged("followup id not a number", "inspector", lambda w: "fu:f:abc", ("/followup",), "fu:f:"),
    Forged("followup page not a number", "inspector", lambda w: "fu:pg:x", ("/followup",), "fu:f:"),
    # Other users' objects.
    Forged("swap of another inspector's assignment", "inspector", lambda w: f"swap:{w.other_assignment}"),
    Forged("recuse from a target of another group", "inspector",
           lambda w: f"recuse:{w.assignment}:{w.other_group_target_id}"),
    Forged("substitution of another department, by a head", "dept_head", lambda w: f"staff:ok:{w.other_staff_request}"),
    Forged("correction of another department, by a head", "dept_head", lambda w: f"corr:ok:{w.other_correction}"),
    Forged("correction decided by a leader while the department has a head", "leader",
           lambda w: f"corr:ok:{w.correction}"),
    Forged("correction of one's own department's colleague, by an inspector", "inspector",
           lambda w: f"corr:ok:{w.correction}"),
    Forged("entry of a target of another group", "inspector", lambda w: f"ent:t:{w.other_group_target}",
           ("/enter",), "ent:"),
    Forged("correct: a target of another group", "inspector",
           lambda w: f"correct:t:{w.draw_id}:{w.other_group_target_id}", ("/correct",), "correct:t:"),
    Forged("followup of another department", "inspector", lambda w: f"fu:f:{w.other_followup}",
           ("/followup",), "fu:f:"),
    Forged("entry button on someone else's chat message", "inspector", lambda w: f"ent:t:{w.group_target}",
           ("/enter",), "ent:", other_chat=True),
]
# A later step's button pressed out of step: right after the flow opened, on its live prompt.
_STEPS = {
    ("leader", ("/new", "矩阵测试任务"), "new:dep:"): ("new:item:0", "new:scope:0", "new:mode:ratio", "new:ok"),
    ("inspector", ("/correct",), "correct:t:"): ("correct:r:1", "correct:c:1:2", "correct:skip", "correct:ok"),
    ("inspector", ("/followup",), "fu:f:"): ("fu:m:0", "fu:next", "fu:skip", "fu:save", "fu:close"),
}
FORGED += [Forged(f"out of step: {data}", role, (lambda d: lambda w: d)(data), flow, prefix)
           for (role, flow, prefix), datas in _STEPS.items() for data in datas]
# 取消 of a flow on a message that is not the flow's live prompt (an old one): must not end the flow.
FORGED += [Forged(f"cancel on an old message: {data}", role, (lambda d: lambda w: d)(data), flow)
           for role, flow, data in (("leader", ("/new", "矩阵测试任务"), "new:cancel"),
                                    ("inspector", ("/correct",), "correct:cancel"),
                                    ("inspector", ("/followup",), "fu:cancel"))]


@pytest.mark.parametrize("forged", FORGED, ids=[f.why for f in FORGED])
async def test_forged_callback_is_refused_and_changes_nothing(bot, sessions, world, forged):
    who = world.tg[forged.role]
    message = None
    for step in forged.flow:
        await bot.as_user(who).send(step)
    if forged.flow and forged.prefix:
        message = _message_with(bot, forged.prefix)
        assert message is not None, "the flow did not show its buttons"
    if forged.other_chat:
        other = world.tg["leader"]
        message = dict(message, chat={"id": other, "type": "private"})
    before = state(sessions)
    await bot.as_user(who).press_data(forged.data(world), message)
    said = answers(bot)
    assert said and all(SCOPE_REFUSALS.fullmatch(a) for a in said), said
    assert not bot.documents()
    assert state(sessions) == before


# --------------------------------------------------------------------------------------------------- coverage

def _handlers(app) -> list[tuple[Any, str | None]]:
    """Every handler the Application holds, conversations opened, each with the conversation it sits in."""
    from telegram.ext import ConversationHandler

    out: list[tuple[Any, str | None]] = []

    def visit(handler, conversation: str | None) -> None:
        if isinstance(handler, ConversationHandler):
            for h in handler.entry_points + handler.fallbacks + [x for hs in handler.states.values() for x in hs]:
                visit(h, handler.name)
        elif isinstance(handler, FlowGate):  # a conversation step gated to its flow (handlers.toolkit)
            visit(handler.inner, conversation)
        else:
            out.append((handler, conversation))

    for group in app.handlers.values():
        for handler in group:
            visit(handler, None)
    return out


def _registered(app) -> tuple[set[str], set[str]]:
    """Every command and every callback-data prefix the Application handles (conversations included)."""
    from telegram.ext import CallbackQueryHandler, CommandHandler

    commands: set[str] = set()
    patterns: set[str] = set()
    for handler, _conversation in _handlers(app):
        if isinstance(handler, CommandHandler):
            commands.update(handler.commands)
        elif isinstance(handler, CallbackQueryHandler) and handler.pattern is not None:
            patterns.add(handler.pattern.pattern)
    return commands, patterns


def _example_datas(world) -> list[str]:
    return [cb.data(world) for cb in CALLBACKS] + [f.data(world) for f in FORGED]


async def test_the_matrix_covers_every_registered_command_and_callback(bot, world):
    commands, patterns = _registered(bot.app)
    assert commands == {c.name for c in COMMANDS} - {"document"}, "a command is missing from (or extra in) COMMANDS"
    datas = _example_datas(world)
    for pattern in patterns:
        assert any(re.match(pattern, d) for d in datas), f"no matrix cell presses a button matching {pattern}"


async def test_the_table_names_the_registered_commands(bot):
    commands, _patterns = _registered(bot.app)
    assert set(permissions.commands()) == commands
    assert {c.name for c in COMMANDS} == {p.name for p in permissions.PERMISSIONS.values()
                                          if p.kind != permissions.CALLBACK}


async def test_every_registered_handler_is_guarded_by_the_entry_that_governs_it(bot, world):
    """Each handler of ours carries the name of the table entry its guard reads (handlers.common.permitted):
    a command's is the command's, a button's the entry its data falls under, a flow's typed answers the flow's
    command's, a workbook's "document". The handlers module's own fallbacks (not understood, stale button) and
    the runtime's handlers and the toolkit's one-flow-at-a-time marker guard nothing."""
    from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler

    entry_command = {}  # conversation name → the permission of its entry command
    for handler, conversation in _handlers(bot.app):
        if conversation and isinstance(handler, CommandHandler) and conversation not in entry_command:
            entry_command[conversation] = getattr(handler.callback, "permission", None)
    datas = _example_datas(world)
    seen = set()
    for handler, conversation in _handlers(bot.app):
        module = getattr(handler.callback, "__module__", "")
        if not module.startswith("handlers.") or module == "handlers.toolkit":  # the toolkit's flow marker
            continue
        name = getattr(handler.callback, "permission", None)
        assert name in permissions.PERMISSIONS, f"{module}.{handler.callback.__name__} reads no table entry"
        seen.add(name)
        entry = permissions.permission(name)
        if isinstance(handler, CommandHandler):
            assert entry.kind == permissions.COMMAND and set(handler.commands) == {entry.name}, handler.commands
        elif isinstance(handler, CallbackQueryHandler):
            matching = [d for d in datas if re.match(handler.pattern, d)]
            assert matching, handler.pattern
            for data in matching:
                assert permissions.for_callback(data) is entry, (data, name)
        elif isinstance(handler, MessageHandler) and conversation:
            assert name == entry_command[conversation], (conversation, handler.callback.__name__)
        else:
            assert isinstance(handler, MessageHandler) and entry.kind == permissions.UPLOAD, handler
    assert seen == set(permissions.PERMISSIONS), "a table entry no handler reads"
