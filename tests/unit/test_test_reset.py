"""The PostgreSQL pass's per-test reset (tests/conftest.py) fails fast and says why when a test left a transaction
open, instead of hanging the run: CI once waited for ever on a session used after its unit of work."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Campaign
from tests.conftest import PG_SKIP_REASON, PG_URL, LeftOpen, _reset_postgres


@pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_transaction_left_open_fails_the_reset_naming_it(sessions):
    with sessions.begin() as s:
        pass
    s.scalars(select(Campaign)).all()  # after the block: a new transaction begins and stays open, holding a lock
    with pytest.raises(LeftOpen, match="idle in transaction: SELECT campaigns.id"):
        _reset_postgres(lock_timeout="1s")
    s.close()
    _reset_postgres(lock_timeout="1s")  # once it is closed, the reset goes through
