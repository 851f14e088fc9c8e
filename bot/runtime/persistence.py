"""PTB persistence on the database (SPEC §9): conversation states and user/chat/bot/callback data live in the
`persistence` and `conversations` tables as JSON, not in pickles.

Every write is an upsert, so it works the same on SQLite and PostgreSQL, in its own short transaction — or,
inside `save()`, in one transaction for the whole persistence run together with the caller's own writes. PTB
calls `update_bot_data` (and `update_callback_data`) on every persistence run whether or not anything changed;
we remember the JSON last written for each key and skip identical writes, so an idle bot does not take the
SQLite write lock every `update_interval` seconds.

Only plain JSON data is stored (dicts with str keys, lists, str, int, float, bool, None). Anything else raises
a TypeError that names the offending key, instead of being silently changed on the way back (JSON turns int
dict keys into strings and tuples into lists).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker
from telegram.ext import Application, BasePersistence, PersistenceInput

from models import ConversationRow, PersistenceEntry, utcnow

Data = dict[str, Any]
ConversationKey = tuple[int | str, ...]
ConversationDict = dict[ConversationKey, object]
# PTB's callback-data cache: ([(keyboard uuid, access time, {button uuid: data})], {callback query id: uuid})
CDCData = tuple[list[tuple[str, float, dict[str, Any]]], dict[str, str]]

_SINGLETON_KEY = "_"  # the key of the one bot_data row and the one callback_data row


def check_json(value: Any, where: str) -> None:
    """Raise TypeError naming `where` (and the path inside it) if `value` would not survive a JSON round trip."""
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{where}: {value!r} cannot be stored as JSON")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: key {k!r} is a {type(k).__name__}; only str keys survive JSON")
            check_json(v, f"{where}[{k!r}]")
        return
    if isinstance(value, list):
        for i, v in enumerate(value):
            check_json(v, f"{where}[{i}]")
        return
    raise TypeError(f"{where}: {type(value).__name__} is not JSON-serialisable; store only plain dicts, lists, "
                    "str, int, float, bool and None")


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


_UPDATES: dict[tuple[type, tuple[str, ...], tuple[str, ...]], Any] = {}


def _update_statement(model: type, keys: tuple[str, ...], values: tuple[str, ...]) -> Any:
    """UPDATE <table> SET <values> WHERE <keys> with every value a parameter (keys as k_<name>), built once per
    shape: on the table (Core), since the ORM's bulk-update layer adds nothing here."""
    shape = (model, keys, values)
    stmt = _UPDATES.get(shape)
    if stmt is None:
        table = model.__table__  # type: ignore[attr-defined]
        stmt = _UPDATES[shape] = update(table).where(*(table.c[k] == bindparam(f"k_{k}") for k in keys))
    return stmt


def _upsert(session: Session, model: type, keys: dict[str, Any], values: dict[str, Any], *,
            exists: bool = True) -> None:
    """Write the row of `keys`: when it `exists` (as far as the caller knows) an UPDATE, which is all it takes
    nearly always (the same user's data and conversation are rewritten at every step); else, or if the UPDATE
    found no row, INSERT … ON CONFLICT (keys) DO UPDATE on SQLite and PostgreSQL; elsewhere UPDATE, then INSERT
    if it found no row. The UPDATE is preferred because SQLAlchemy compiles a dialect's ON CONFLICT statement
    anew at every execution (it has no cache key), a plain UPDATE only once."""
    dialect = session.get_bind().dialect.name
    upsert = dialect in ("sqlite", "postgresql")
    if (exists or not upsert) and session.execute(_update_statement(model, tuple(keys), tuple(values)),
                                                  {**{f"k_{k}": v for k, v in keys.items()}, **values}).rowcount:
        return
    if upsert:
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        stmt = insert(model).values(**keys, **values)
        session.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=values))
        return
    session.add(model(**keys, **values))


@dataclass(frozen=True)
class _Write:
    """One pending change: `run` writes it in a session; `known` (the cache key) becomes `canonical` once it is
    committed (None: forget the key)."""

    run: Callable[[Session], None]
    known: tuple[str, str]
    canonical: str | None


class SQLAlchemyPersistence(BasePersistence[Data, Data, Data]):
    """A `BasePersistence` storing PTB's data and persistent conversations through a SQLAlchemy sessionmaker.

    Database calls are synchronous and short (as everywhere in this bot); they run on the event loop.
    """

    def __init__(self, sessions: sessionmaker[Session], update_interval: float = 1.0,
                 store_data: PersistenceInput | None = None) -> None:
        super().__init__(store_data=store_data, update_interval=update_interval)
        self.sessions = sessions
        # (kind, key) -> canonical JSON last read from or written to the database.
        self._known: dict[tuple[str, str], str] = {}
        # While `save()` runs PTB's persistence update, the writes it makes wait here for its one transaction.
        self._pending: list[_Write] | None = None

    def _apply(self, write: _Write) -> None:
        if self._pending is not None:
            self._pending.append(write)
            return
        with self.sessions.begin() as s:
            write.run(s)
        self._remember(write)

    def _remember(self, write: _Write) -> None:
        if write.canonical is None:
            self._known.pop(write.known, None)
        else:
            self._known[write.known] = write.canonical

    async def save(self, application: Application, also: Callable[[Session], None] | None = None) -> None:
        """`application.update_persistence()` with every write it makes committed in one transaction, together
        with `also(session)` (e.g. the update's processed marker): all of it is stored, or none of it."""
        if self._pending is not None:  # a save is already collecting (not expected: updates run one at a time)
            await application.update_persistence()
            if also is not None:
                with self.sessions.begin() as s:
                    also(s)
            return
        self._pending = []
        try:
            await application.update_persistence()
        finally:
            pending, self._pending = self._pending, None
        if not pending and also is None:
            return
        with self.sessions.begin() as s:
            for write in pending:
                write.run(s)
            if also is not None:
                also(s)
        for write in pending:
            self._remember(write)

    # --- generic rows ---------------------------------------------------------------------------------------

    def _load_kind(self, kind: str) -> dict[str, Any]:
        with self.sessions.begin() as s:
            rows = s.execute(select(PersistenceEntry.key, PersistenceEntry.data)
                             .where(PersistenceEntry.kind == kind)).all()
        out: dict[str, Any] = {}
        for key, data in rows:
            out[key] = data
            self._known[(kind, key)] = _canonical(data)
        return out

    def _write(self, kind: str, key: str, data: Any) -> None:
        canonical = _canonical(data)
        if self._known.get((kind, key)) == canonical:
            return
        now = utcnow()
        exists = (kind, key) in self._known  # every row read at start-up or written since is known
        self._apply(_Write(lambda s: _upsert(s, PersistenceEntry, {"kind": kind, "key": key},
                                             {"data": data, "updated_at": now}, exists=exists),
                           (kind, key), canonical))

    def _drop(self, kind: str, key: str) -> None:
        self._apply(_Write(lambda s: s.execute(delete(PersistenceEntry).where(PersistenceEntry.kind == kind,
                                                                              PersistenceEntry.key == key)),
                           (kind, key), None))

    # --- user / chat / bot data ------------------------------------------------------------------------------

    async def get_user_data(self) -> dict[int, Data]:
        return {int(k): v for k, v in self._load_kind("user").items()}

    async def get_chat_data(self) -> dict[int, Data]:
        return {int(k): v for k, v in self._load_kind("chat").items()}

    async def get_bot_data(self) -> Data:
        return self._load_kind("bot").get(_SINGLETON_KEY, {})

    async def update_user_data(self, user_id: int, data: Data) -> None:
        check_json(data, f"user_data[{user_id}]")
        self._write("user", str(user_id), data)

    async def update_chat_data(self, chat_id: int, data: Data) -> None:
        check_json(data, f"chat_data[{chat_id}]")
        self._write("chat", str(chat_id), data)

    async def update_bot_data(self, data: Data) -> None:
        check_json(data, "bot_data")
        self._write("bot", _SINGLETON_KEY, data)

    async def drop_user_data(self, user_id: int) -> None:
        self._drop("user", str(user_id))

    async def drop_chat_data(self, chat_id: int) -> None:
        self._drop("chat", str(chat_id))

    # PTB calls refresh_* before every update. Reloading from the database there would be wrong: changes made
    # by the previous update are still in memory until the next persistence run (update_interval), and a reload
    # would throw them away. This process is the only writer of these rows, so memory is always the newest copy.

    async def refresh_user_data(self, user_id: int, user_data: Data) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: Data) -> None:
        return None

    async def refresh_bot_data(self, bot_data: Data) -> None:
        return None

    # --- callback data (arbitrary_callback_data) -------------------------------------------------------------

    async def get_callback_data(self) -> CDCData | None:
        stored = self._load_kind("callback").get(_SINGLETON_KEY)
        if stored is None:
            return None
        keyboards = [(uuid, float(access_time), buttons) for uuid, access_time, buttons in stored["keyboards"]]
        return keyboards, dict(stored["queries"])

    async def update_callback_data(self, data: CDCData) -> None:
        keyboards, queries = data
        stored = {"keyboards": [[uuid, access_time, buttons] for uuid, access_time, buttons in keyboards],
                  "queries": dict(queries)}
        check_json(stored, "callback_data")
        self._write("callback", _SINGLETON_KEY, stored)

    # --- conversations ---------------------------------------------------------------------------------------

    async def get_conversations(self, name: str) -> ConversationDict:
        with self.sessions.begin() as s:
            rows = s.execute(select(ConversationRow.key, ConversationRow.state)
                             .where(ConversationRow.name == name)).all()
        out: dict[ConversationKey, object] = {}
        for key, state in rows:
            out[tuple(json.loads(key))] = state
            self._known[(f"conv:{name}", key)] = _canonical(state)
        return out

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        key_json = json.dumps(list(key), separators=(",", ":"))
        known = (f"conv:{name}", key_json)
        if new_state is None:  # the conversation ended
            self._apply(_Write(lambda s: s.execute(delete(ConversationRow).where(ConversationRow.name == name,
                                                                                 ConversationRow.key == key_json)),
                               known, None))
            return
        check_json(new_state, f"conversation {name!r} {key!r} state")
        canonical = _canonical(new_state)
        if self._known.get(known) == canonical:
            return
        now = utcnow()
        exists = known in self._known
        self._apply(_Write(lambda s: _upsert(s, ConversationRow, {"name": name, "key": key_json},
                                             {"state": new_state, "updated_at": now}, exists=exists),
                           known, canonical))

    async def flush(self) -> None:
        """Nothing is buffered between calls: every update_* call (or `save()`) has already committed."""
        return None
