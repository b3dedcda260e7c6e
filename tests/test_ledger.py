"""The audit ledger: hash-chained, HMAC subjects only, and any edit is caught."""

from __future__ import annotations

import json
from contextlib import closing

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsr_pipelines.core.identities import Identity
from dsr_pipelines.state.schema import audit_events_t as audit_events


def test_events_of_a_request_and_no_identity_in_clear(project):
    person = project.people[1]
    request_id = project.submit(person, "erasure")
    project.cli("run", str(request_id))
    events = json.loads(project.cli("audit", "show", "--request", str(request_id)).stdout)
    names = [e["event"] for e in events]
    assert names[:3] == ["submitted", "verified", "running"]
    assert "store_done" in names and names[-2:] == ["completed", "identities_removed"]
    assert {e["actor"] for e in events[:3]} == {"tester"}
    store_event = next(e for e in events if e["event"] == "store_done")
    assert json.loads(store_event["details"])["deleted"] > 0
    text = json.dumps(events)
    assert person.email not in text and person.name not in text and person.phone not in text
    with closing(project.db()) as db:
        assert db.keys.subject_ref(Identity("email", person.email)) in events[0]["subject_refs"]
    assert "ledger intact" in project.cli("audit", "verify").stdout


def _tamper(project, seq: int, column: str, value) -> None:
    engine = sa.create_engine(f"sqlite:///{project.root / 'state.db'}")
    with engine.begin() as conn:
        conn.execute(sa.update(audit_events).where(audit_events.c.seq == seq).values({column: value}))
    engine.dispose()


def test_editing_one_event_breaks_verification_naming_it(project):
    for person in project.people[:3]:
        project.submit(person, "access")
    _tamper(project, 4, "details", '{"type": "erasure"}')
    result = project.cli("audit", "verify", expect=1)
    assert "event 4" in result.stderr


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seq=st.integers(1, 6),
    column=st.sampled_from(
        ["at", "actor", "tenant", "event", "subject_refs", "details", "prev_hash", "hash"]
    ),
)
def test_any_single_change_is_flagged(project, seq, column):
    with closing(project.db()) as db:
        if not db.ledger.events():
            for person in project.people[:3]:
                project.submit(person, "access")
        original = next(e for e in db.ledger.events() if e["seq"] == seq)
        _tamper(project, seq, column, "x" + str(original[column]))
        verdict = db.ledger.verify()
        _tamper(project, seq, column, original[column])
        assert not verdict.ok and verdict.broken_at == seq
        assert db.ledger.verify().ok
