"""A batch's bookkeeping costs the same number of state-database transactions whatever its size:
transitions, per-store results and ledger events are written in bulk, step by step."""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager

import sqlalchemy as sa

from dsr_pipelines.intake.api import Dsr


@contextmanager
def state_transactions(project):
    """Counts the transactions committed in the project's state database (by any engine)."""
    state_db = str(project.root / "state.db")
    counted: Counter[str] = Counter()

    def on_commit(conn):
        if conn.engine.url.database == state_db:
            counted["commits"] += 1

    sa.event.listen(sa.engine.Engine, "commit", on_commit)
    try:
        yield counted
    finally:
        sa.event.remove(sa.engine.Engine, "commit", on_commit)


def run_batch(project, people, type_) -> int:
    ids = [project.submit(p, type_) for p in people]
    with state_transactions(project) as counted, Dsr(project.config_path, actor="tester") as dsr:
        assert dsr.run(ids).all_completed
    return counted["commits"]


def test_a_batch_of_erasures_costs_as_many_transactions_whatever_its_size(project):
    run_batch(project, project.people[:1], "erasure")  # the first run also keeps the shop's schema
    small = run_batch(project, project.people[1:4], "erasure")
    large = run_batch(project, project.people[4:16], "erasure")
    assert large == small


def test_a_batch_of_access_requests_costs_as_many_transactions_whatever_its_size(project):
    run_batch(project, project.people[:1], "access")
    small = run_batch(project, project.people[1:4], "access")
    large = run_batch(project, project.people[4:16], "access")
    assert large == small
