"""Who decides a request that needs someone else's 同意 (SPEC §2; seed 四(四) "经所在单位主要负责人签字确认",
细则 十): the one home of the approver choice and of the self-approval ban, for corrections, substitutions (/swap)
and recusals (/recuse) alike.

- Who is asked: the bound, active heads (分管领导) of the request's department; when there is none, the bound,
  active leaders (领导小组) — the next approver up.
- The requester is never among them, whatever roles they hold: an inspector who is also their department's head
  goes up to the leaders, a head who is also a leader to the other leaders. When nobody is left the request is
  refused before anything is written, with a text that says who must decide (and that an admin can bind them).
- Who may decide: whoever would be asked; for substitutions and recusals also any leader (SPEC §2: leaders
  "approve substitutions across departments"). Never the requester.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services.refusal import Refusal
from models import Department, Person

OWN_REQUEST = "approval.own_request"


def approvers(session: Session, department_id: int, requester_id: int | None) -> list[Person]:
    """The people asked to decide a request of the department's, in id order: its heads, else the leaders;
    never the requester."""
    people = [p for p in session.scalars(select(Person).where(Person.active, Person.telegram_user_id.is_not(None))
                                         .order_by(Person.id))
              if p.id != requester_id]
    heads = [p for p in people if p.has_role("dept_head") and p.department_id == department_id]
    return heads or [p for p in people if p.has_role("leader")]


def require_approvers(session: Session, department_id: int, requester_id: int | None, refusal_key: str,
                      refusal: type[Refusal] = Refusal) -> list[Person]:
    """`approvers`, or a refusal naming who must decide when there is nobody (nothing is filed then)."""
    people = approvers(session, department_id, requester_id)
    if not people:
        department = session.get(Department, department_id)
        raise refusal(refusal_key, department=department.label if department else "—")
    return people


def may_decide(session: Session, person: Person | None, department_id: int, requester_id: int | None, *,
               leaders_too: bool) -> bool:
    if person is None or not person.active or person.id == requester_id:
        return False
    if leaders_too and person.has_role("leader"):
        return True
    return person.id in {p.id for p in approvers(session, department_id, requester_id)}


def check_may_decide(session: Session, person: Person | None, department_id: int, requester_id: int | None, *,
                     leaders_too: bool, refusal_key: str, refusal: type[Refusal] = Refusal) -> None:
    """Refuse a presser who may not decide: the requester with their own text, anyone else with `refusal_key`.
    Checked before anything about the request's state is revealed."""
    if person is not None and person.id == requester_id:
        raise refusal(OWN_REQUEST)
    if not may_decide(session, person, department_id, requester_id, leaders_too=leaders_too):
        raise refusal(refusal_key)
