"""Identity and roles (SPEC §2): who is calling, invite codes, binding, the group chat. No Telegram here."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Iterable

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from bot.services import audit
from models import Invite, Person, Setting, utcnow

# No 0/O, 1/I/L: codes are read aloud and typed on phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
GROUP_CHAT_KEY = "group_chat_id"


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode("utf-8")).hexdigest()


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


@dataclass(frozen=True)
class Actor:
    """The caller as the database sees them at this moment."""

    telegram_id: int
    person: Person | None
    config_admin: bool = False
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def known(self) -> bool:
        return self.person is not None or self.config_admin

    def has(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def label(self) -> str:
        return f"person:{self.person.id}" if self.person else f"tg:{self.telegram_id}"


# Built once: it runs at every update.
_PERSON_BY_TELEGRAM_ID = select(Person).where(Person.telegram_user_id == bindparam("telegram_id"))


def load_actor(session: Session, telegram_id: int, config_admins: Iterable[int] = ()) -> Actor:
    person = session.scalar(_PERSON_BY_TELEGRAM_ID, {"telegram_id": telegram_id})
    config_admin = telegram_id in set(config_admins)
    roles = set(person.role_set) if person and person.active else set()
    if config_admin:
        roles.add("admin")
    return Actor(telegram_id=telegram_id, person=person, config_admin=config_admin, roles=frozenset(roles))


# ----------------------------------------------------------------------------------------------- invites

@dataclass(frozen=True)
class InviteIssued:
    code: str
    person: Person
    expires_at: dt.datetime


@dataclass(frozen=True)
class InviteLookup:
    """Outcome of finding whom an invite is for: exactly one person, or none, or several candidates."""

    person: Person | None
    candidates: tuple[Person, ...] = ()


def find_person(session: Session, query: str) -> InviteLookup:
    q = query.strip()
    if not q:
        return InviteLookup(None)
    by_cert = session.scalar(select(Person).where(Person.cert_no == q))
    if by_cert:
        return InviteLookup(by_cert)
    found = session.scalars(select(Person).where(or_(Person.name == q, Person.phone == q)).order_by(Person.id)).all()
    if len(found) == 1:
        return InviteLookup(found[0])
    return InviteLookup(None, tuple(found))


def issue_invite(session: Session, person: Person, *, actor: str, hours: int,
                 now: dt.datetime | None = None) -> InviteIssued:
    now = now or utcnow()
    code = new_code()
    expires = now + dt.timedelta(hours=hours)
    session.add(Invite(code_hash=hash_code(code), person_id=person.id, created_by=actor, created_at=now,
                       expires_at=expires))
    audit.record(session, actor=actor, action="invite.issue", subject=f"person:{person.id}",
                 data={"person": person.name, "expires_at": expires.isoformat()})
    session.flush()
    return InviteIssued(code=code, person=person, expires_at=expires)


@dataclass(frozen=True)
class Redeemed:
    status: str  # "ok" | "unknown" | "used" | "expired" | "inactive" | "other_account"
    person: Person | None = None


def redeem_invite(session: Session, code: str, telegram_id: int, *, language: str | None = None,
                  now: dt.datetime | None = None) -> Redeemed:
    """Bind the Telegram account to the invite's roster row. A code works once."""
    now = now or utcnow()
    invite = session.scalar(select(Invite).where(Invite.code_hash == hash_code(code)))
    if invite is None:
        return Redeemed("unknown")
    if invite.used_at is not None:
        return Redeemed("used")
    if invite.expires_at <= now:
        return Redeemed("expired")
    person = invite.person
    if not person.active:
        return Redeemed("inactive", person)
    holder = session.scalar(select(Person).where(Person.telegram_user_id == telegram_id))
    if holder is not None and holder.id != person.id:
        return Redeemed("other_account", holder)
    invite.used_at = now
    invite.used_by_telegram_id = telegram_id
    previous = person.telegram_user_id
    person.telegram_user_id = telegram_id
    person.bound_at = now
    if language and not person.language:
        person.language = language
    audit.record(session, actor=f"tg:{telegram_id}", action="identity.bind", subject=f"person:{person.id}",
                 data={"person": person.name, "previous_telegram_id": previous})
    session.flush()
    return Redeemed("ok", person)


# ------------------------------------------------------------------------------------------------ groups

def group_chat_id(session: Session, configured: int = 0) -> int:
    """The bound group chat: /bindgroup's choice, else [bot] group_chat_id; 0 when none."""
    row = session.get(Setting, GROUP_CHAT_KEY)
    if row is not None:
        return int(row.value)
    return configured


def bind_group(session: Session, chat_id: int, *, actor: str, title: str | None = None) -> int | None:
    """Bind the group chat; returns the previously bound chat id (or None)."""
    row = session.get(Setting, GROUP_CHAT_KEY)
    previous = int(row.value) if row else None
    if row is None:
        session.add(Setting(key=GROUP_CHAT_KEY, value=str(chat_id)))
    else:
        row.value = str(chat_id)
    audit.record(session, actor=actor, action="group.bind", subject=f"chat:{chat_id}",
                 data={"title": title, "previous": previous})
    session.flush()
    return previous


def set_language(session: Session, telegram_id: int, lang: str) -> bool:
    person = session.scalar(select(Person).where(Person.telegram_user_id == telegram_id))
    if person is None:
        return False
    person.language = lang
    session.flush()
    return True


def admin_chat_ids(session: Session, config_admins: Iterable[int] = ()) -> list[int]:
    ids = set(config_admins)
    for person in session.scalars(select(Person).where(Person.telegram_user_id.is_not(None), Person.active)):
        if person.has_role("admin"):
            ids.add(int(person.telegram_user_id))  # type: ignore[arg-type]
    return sorted(ids)
