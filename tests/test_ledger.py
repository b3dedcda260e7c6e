"""The audit ledger: hash-chained, HMAC subjects only, and any edit is caught."""

from __future__ import annotations

import json
from contextlib import closing

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsr_pipelines.ledger import audit_events


def test_events_of_a_request_and_no_identity_in_clear(sqlite_project):
    person = sqlite_project.people[1]
    request_id = sqlite_project.submit(person, "erasure")
    sqlite_project.cli("run", str(request_id))
    events = json.loads(sqlite_project.cli("audit", "show", "--request", str(request_id)).stdout)
    names = [e["event"] for e in events]
    assert names[:3] == ["submitted", "verified", "running"]
    assert "store_done" in names and names[-2:] == ["completed", "identities_removed"]
    assert {e["actor"] for e in events[:3]} == {"tester"}
    store_event = next(e for e in events if e["event"] == "store_done")
    assert json.loads(store_event["details"])["deleted"] > 0
    text = json.dumps(events)
    assert person.email not in text and person.name not in text and person.phone not in text
    with closing(sqlite_project.requests()) as rs:
        from dsr_pipelines.identities import Identity

        assert rs.keys.subject_ref(Identity("email", person.email)) in events[0]["subject_refs"]
    assert "ledger intact" in sqlite_project.cli("audit", "verify").stdout


def _tamper(project, seq: int, column: str, value) -> None:
    engine = sa.create_engine(f"sqlite:///{project.root / 'state.db'}")
    with engine.begin() as conn:
        conn.execute(sa.update(audit_events).where(audit_events.c.seq == seq).values({column: value}))
    engine.dispose()


def test_editing_one_event_breaks_verification_naming_it(sqlite_project):
    for person in sqlite_project.people[:3]:
        sqlite_project.submit(person, "access")
    _tamper(sqlite_project, 4, "details", '{"type": "erasure"}')
    result = sqlite_project.cli("audit", "verify", expect=1)
    assert "event 4" in result.stderr


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seq=st.integers(1, 6),
    column=st.sampled_from(
        ["at", "actor", "tenant", "event", "subject_refs", "details", "prev_hash", "hash"]
    ),
)
def test_any_single_change_is_flagged(sqlite_project, seq, column):
    with closing(sqlite_project.requests()) as rs:
        if not rs.ledger.events():
            for person in sqlite_project.people[:3]:
                sqlite_project.submit(person, "access")
        original = next(e for e in rs.ledger.events() if e["seq"] == seq)
        _tamper(sqlite_project, seq, column, "x" + str(original[column]))
        verdict = rs.ledger.verify()
        _tamper(sqlite_project, seq, column, original[column])
        assert not verdict.ok and verdict.broken_at == seq
        assert rs.ledger.verify().ok
