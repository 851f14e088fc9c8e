"""Who and what may be drawn (SPEC §2, §5.2), each rule in one place. Pure: plain values in, no database.

- A **target** is drawable when its registration state (状态) is 正常 — the import maps the registry's 存续, 在业,
  在营 and 开业 to it; a business that has 停业 or 注销 has nothing left to inspect.
- A **certificate** (执法证) is valid on a day when its expiry date is that day or later.
- An **inspector** is eligible for a campaign when they are active (在岗), hold the inspector role, and have a
  certificate valid through the last day of the inspection window (SPEC §2: "Only a person with a valid
  enforcement certificate can hold the inspector role or be drawn"; SPEC §5.2). An inspector whose certificate
  runs out mid-window would inspect without authority on the last days, so the window's end is the day that counts.

The draw selects its pools in SQL; the matching SQL expressions sit next to that query (bot.services.draws:
`drawable_target_clause`, `eligible_inspector_clause`), are built from the constants below, only narrow the rows —
each row is still decided by the predicates here — and a test checks that both forms agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

DRAWABLE_TARGET_STATUS = "正常"
INSPECTOR_ROLE = "inspector"


def target_drawable(status: str | None) -> bool:
    """The target's 状态 lets it into a draw's pool."""
    return status == DRAWABLE_TARGET_STATUS


def certificate_valid_on(expiry: dt.date | None, day: dt.date) -> bool:
    """A certificate expiring on `expiry` is still valid on `day` (the expiry day itself included)."""
    return expiry is not None and expiry >= day


def is_active_inspector(*, active: bool, roles: Iterable[str]) -> bool:
    """在岗 and holding the inspector role (what acting as an inspector needs, a certificate aside)."""
    return bool(active) and INSPECTOR_ROLE in set(roles)


def inspector_eligible(*, active: bool, roles: Iterable[str], cert_no: str | None, cert_expiry: dt.date | None,
                       through: dt.date) -> bool:
    """May be drawn for a campaign whose window ends on `through` (see the module docstring)."""
    return (is_active_inspector(active=active, roles=roles) and bool(cert_no)
            and certificate_valid_on(cert_expiry, through))
