"""Bulk submission: `dsr submit --from FILE` (NDJSON) and `Dsr.submit_many`, all or none, problems
named by line, every request's events in a ledger that still verifies event by event."""

from __future__ import annotations

import json

import sqlalchemy as sa

from dsr_pipelines.intake.api import Dsr
from dsr_pipelines.service.requests import Submission
from dsr_pipelines.state.schema import audit_events_t


def ndjson(path, rows) -> str:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return str(path)


def line(person, type_="erasure", **extra) -> dict:
    return {"tenant": person.tenant, "type": type_, "identities": [f"email={person.email}"], **extra}


def test_a_file_of_requests_is_submitted_whole_in_order(project, tmp_path):
    people = project.people[:12]
    rows = [line(p, "access" if i % 3 else "erasure", verified=bool(i % 2)) for i, p in enumerate(people)]
    rows.insert(5, "")  # blank lines are skipped
    result = project.cli("submit", "--from", ndjson(tmp_path / "backlog.ndjson", rows))
    ids = [int(x) for x in result.stdout.split()]
    assert len(ids) == 12 and ids == sorted(ids)
    assert "12 requests submitted" in result.stderr
    with project.db() as db:
        records = db.requests.get_many(ids)
        subjects = {s.request_id: s for s in db.requests.subjects(ids)}
        assert db.ledger.verify().ok
        events = db.ledger.events()
    for i, (record, person) in enumerate(zip(records, people, strict=True)):
        assert (record.tenant, record.type) == (person.tenant, "access" if i % 3 else "erasure")
        assert record.state == ("verified" if i % 2 else "received")
        assert [x.value for x in subjects[record.id].identities] == [person.email]
    submitted = [e["request_id"] for e in events if e["event"] == "submitted"]
    verified = [e["request_id"] for e in events if e["event"] == "verified"]
    assert submitted == ids and verified == [r for i, r in enumerate(ids) if i % 2]


def test_a_file_with_bad_lines_submits_nothing_and_names_every_bad_line(project, tmp_path):
    people = project.people
    rows = [
        line(people[0]),
        line(people[1]),
        '{"tenant": "acme", "type": ',  # line 3: cut off
        line(people[3]),
        line(people[4]) | {"tenant": "Acme"},  # line 5: a tenant in another case
        {"tenant": "acme", "type": "erasure", "identities": [f"email=x{people[5].email}@"]},  # line 6
        {"tenant": "acme", "identities": [f"email={people[6].email}"]},  # line 7: no type
        line(people[7], "forget-me"),  # line 8: no such type
        f'["{people[8].email}"]',  # line 9: not an object
        line(people[9]) | {"priority": "high"},  # line 10: a field no request has
    ]
    project.write_config(tenants={"acme": {}, "globex": {}})
    with project.db() as db:
        events_before = len(db.ledger.events())
    result = project.cli("submit", "--from", ndjson(tmp_path / "backlog.ndjson", rows), expect=2)
    message = result.stderr
    assert "nothing submitted: 7 of 10 requests are not valid" in message
    for number in (3, 5, 6, 7, 8, 9, 10):
        assert f"line {number}:" in message
    for number in (1, 2, 4):
        assert f"line {number}:" not in message
    assert "did you mean acme?" in message and "priority" in message and "type" in message
    assert not any(p.email in message or p.email.split("@")[0] in message for p in people)
    with project.db() as db:
        assert db.requests.list() == [] and len(db.ledger.events()) == events_before


def test_one_request_or_a_file_never_both(project, tmp_path):
    path = ndjson(tmp_path / "one.ndjson", [line(project.people[0])])
    both = project.cli("submit", "--from", path, "--tenant", "acme", expect=2)
    assert "or --from FILE for many" in both.stderr
    assert "at least one --identity" in project.cli("submit", "--tenant", "acme", expect=2).stderr
    empty = tmp_path / "empty.ndjson"
    empty.write_text("\n\n")
    assert "no requests to submit" in project.cli("submit", "--from", str(empty), expect=2).stderr
    missing = project.cli("submit", "--from", str(tmp_path / "nowhere.ndjson"), expect=2)
    assert "nowhere.ndjson" in missing.stderr


def test_the_python_api_submits_many_and_they_run(project):
    people = project.people[:6]
    with Dsr(project.config_path, actor="api:bulk") as dsr:
        records = dsr.submit_many(
            [
                Submission(tenant=p.tenant, type="erasure", identities=[f"email={p.email}"], verified=True)
                for p in people
            ]
        )
        outcome = dsr.run([r.id for r in records])
        assert outcome.all_completed
        states = {dsr.status(r.id).record.state for r in records}
    assert states == {"completed"}
    with project.db() as db:
        assert db.ledger.verify().ok


def test_a_bulk_written_ledger_is_still_checked_event_by_event(project, tmp_path):
    rows = [line(p) for p in project.people[:8]]
    ids = [
        int(x) for x in project.cli("submit", "--from", ndjson(tmp_path / "b.ndjson", rows)).stdout.split()
    ]
    engine = sa.create_engine(f"sqlite:///{project.root / 'state.db'}")
    with engine.begin() as conn:
        target = conn.execute(
            sa.select(audit_events_t.c.seq).where(audit_events_t.c.request_id == ids[4])
        ).scalar_one()
        details = json.dumps({"identity_kinds": ["email"], "type": "access"}, sort_keys=True)
        conn.execute(sa.update(audit_events_t).where(audit_events_t.c.seq == target).values(details=details))
    engine.dispose()
    with project.db() as db:
        verdict = db.ledger.verify()
    assert not verdict.ok and verdict.broken_at == target
