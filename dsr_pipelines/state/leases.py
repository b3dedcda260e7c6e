"""Leases on work one run at a time may do (a sweep of one rule, a purge of one tenant): taken
atomically in the state database, renewed by the run that holds them, free once they expire.

Requests carry their own lease (`requests.claim`); this table holds the others. Taking a lease is
an insert, or a conditional update of an expired one (or the run's own): a second run finds it
taken and is told by whom and until when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .schema import leases_t

if TYPE_CHECKING:
    from .db import StateDB


@dataclass(frozen=True)
class Lease:
    name: str
    run: str
    until: datetime


class Leases:
    def __init__(self, db: StateDB):
        self.db = db

    def take(self, name: str, run: str, until: datetime) -> Lease | None:
        """Take (or renew) the lease for `run`; None when taken, else the lease another run holds."""
        now = self.db.clock()
        try:
            with self.db.engine.begin() as conn:
                conn.execute(sa.insert(leases_t).values(name=name, run=run, until=until))
            return None
        except sa.exc.IntegrityError:
            pass
        with self.db.engine.begin() as conn:
            free = sa.or_(leases_t.c.run == run, leases_t.c.until < now)
            taken = conn.execute(
                sa.update(leases_t).where(leases_t.c.name == name, free).values(run=run, until=until)
            ).rowcount
            if taken:
                return None
            row = conn.execute(sa.select(leases_t).where(leases_t.c.name == name)).one()
        return Lease(row.name, row.run, row.until)

    def release(self, name: str, run: str) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(sa.delete(leases_t).where(leases_t.c.name == name, leases_t.c.run == run))
