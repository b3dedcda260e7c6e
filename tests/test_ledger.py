"""The audit ledger: chained under a key, HMAC subjects only, no free text; any edit, forgery or cut
is caught (the cut with a checkpoint kept outside the database)."""

from __future__ import annotations

import hashlib
import hmac
import json
from contextlib import closing

import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsr_pipelines.core.identities import Identity
from dsr_pipelines.core.keys import Keys, MasterKey
from dsr_pipelines.state.ledger import _content
from dsr_pipelines.state.schema import audit_events_t as audit_events
from dsr_pipelines.state.schema import audit_head_t as audit_head


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


def _forge(project, seq: int, details: str, mac) -> None:
    """What a forger with write access to the database does: edit an event, then recompute every
    link after it and the head, with `mac` standing for how they think the chain is made."""
    engine = sa.create_engine(f"sqlite:///{project.root / 'state.db'}")
    with engine.begin() as conn:
        conn.execute(sa.update(audit_events).where(audit_events.c.seq == seq).values(details=details))
        prev = conn.execute(sa.select(audit_events.c.hash).where(audit_events.c.seq == seq - 1)).scalar()
        for row in conn.execute(
            sa.select(audit_events).where(audit_events.c.seq >= seq).order_by("seq")
        ).fetchall():
            fields = dict(row._mapping) | {"prev_hash": prev}
            prev = mac(_content(fields))
            conn.execute(
                sa.update(audit_events)
                .where(audit_events.c.seq == row.seq)
                .values(prev_hash=fields["prev_hash"], hash=prev)
            )
        conn.execute(sa.update(audit_head).values(hash=prev))
    engine.dispose()


def test_a_forger_who_recomputes_the_chain_without_the_key_is_caught(project):
    request_id = project.submit(project.people[1], "erasure")
    project.cli("run", str(request_id))
    events = json.loads(project.cli("audit", "show", "--request", str(request_id)).stdout)
    done = next(e for e in events if e["event"] == "store_done")
    details = json.loads(done["details"])
    assert details["deleted"] > 0
    forged = json.dumps(details | {"deleted": 0}, sort_keys=True)
    guessed = Keys.derived(MasterKey(b"g" * 32)).ledger
    for how in (
        lambda b: hashlib.sha256(b).hexdigest(),
        lambda b: hmac.new(guessed, b, hashlib.sha256).hexdigest(),
    ):
        _forge(project, done["seq"], forged, how)
        result = project.cli("audit", "verify", expect=1)
        assert f"event {done['seq']}: content does not match its MAC" in result.stderr


def _truncate(project, keep: int) -> None:
    """Cut the ledger's tail after event `keep` and move the head back: the chain itself still holds."""
    engine = sa.create_engine(f"sqlite:///{project.root / 'state.db'}")
    with engine.begin() as conn:
        conn.execute(sa.delete(audit_events).where(audit_events.c.seq > keep))
        last = conn.execute(sa.select(audit_events.c.hash).where(audit_events.c.seq == keep)).scalar()
        conn.execute(sa.update(audit_head).values(seq=keep, hash=last))
    engine.dispose()


def test_a_checkpoint_kept_outside_proves_the_past_unchanged_and_the_tail_not_cut(project, tmp_path):
    for person in project.people[:2]:
        project.submit(person, "access")
    anchor = tmp_path / "checkpoint.json"
    taken = json.loads(project.cli("audit", "checkpoint", "--out", str(anchor)).stdout)
    assert json.loads(anchor.read_text()) == taken and taken["seq"] == 4
    project.submit(project.people[2], "access")  # the ledger goes on after the checkpoint
    assert "checkpoint at event 4 holds" in project.cli("audit", "verify", "--checkpoint", str(anchor)).stdout

    _truncate(project, 3)  # a consistent ledger, four events shorter
    assert "ledger intact" in project.cli("audit", "verify").stdout  # alone, the database cannot tell
    result = project.cli("audit", "verify", "--checkpoint", str(anchor), expect=1)
    assert (
        "the ledger ends at event 3, before the checkpoint's event 4: its tail was removed" in result.stderr
    )

    bad = tmp_path / "not-a-checkpoint.json"
    bad.write_text("{}")
    assert "not a checkpoint" in project.cli("audit", "verify", "--checkpoint", str(bad), expect=2).stderr


def test_checkpoints_are_stored_locked_in_a_bucket_with_object_lock(project, s3_server, monkeypatch):
    client = s3_server.client()
    bucket = f"audit-{s3_server.new_bucket()}"
    client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    monkeypatch.setenv("VAULT_ACCESS_KEY", s3_server.access_key)
    monkeypatch.setenv("VAULT_SECRET_KEY", s3_server.secret_key)
    settings = {
        "stores": [
            {"name": "shop", "kind": "sql", "url": project.shop_url},
            {
                "name": "vault",
                "kind": "s3",
                "url": f"s3://{bucket}",
                "endpoint_url": s3_server.endpoint,
                "access_key_env": "VAULT_ACCESS_KEY",
                "secret_key_env": "VAULT_SECRET_KEY",
            },
        ],
        "audit": {"checkpoint_store": "vault", "checkpoint_retention": "P1D"},
    }
    project.write_config(**settings)
    project.submit(project.people[0], "access")
    result = project.cli("audit", "checkpoint")
    assert "(locked)" in result.stderr
    (stored,) = client.list_objects_v2(Bucket=bucket, Prefix="audit/checkpoints/")["Contents"]
    retention = client.get_object_retention(Bucket=bucket, Key=stored["Key"])["Retention"]
    assert retention["Mode"] == "COMPLIANCE"
    version = client.head_object(Bucket=bucket, Key=stored["Key"]).get("VersionId")
    with pytest.raises(ClientError):  # nobody removes it, with the database's keys or without
        client.delete_object(Bucket=bucket, Key=stored["Key"], VersionId=version)
    assert "checkpoint at event 2 holds" in project.cli("audit", "verify", "--stored").stdout


def test_free_text_stays_beside_the_request_and_the_ledger_holds_its_mac(project):
    extended = project.submit(project.people[0], "access")
    project.cli(
        "extend", str(extended), "--by", "P1M", "--reason", "Ann phoned on 12 March, documents pending"
    )
    rejected = project.cli(
        "submit", "--tenant", "acme", "--type", "access", "--identity", f"email={project.people[1].email}"
    ).stdout.strip()
    project.cli("reject", rejected, "--reason", "passport of Bob Smith does not match")
    text = project.cli("audit", "show").stdout
    for secret in ("Ann phoned", "documents pending", "passport of Bob Smith"):
        assert secret not in text
    status = json.loads(project.cli("status", str(extended), "--json").stdout)
    assert status["notes"] == [
        {
            "at": status["notes"][0]["at"],
            "actor": "tester",
            "kind": "extension",
            "text": "Ann phoned on 12 March, documents pending",
        }
    ]
    events = json.loads(text)
    extension = next(e for e in events if e["event"] == "due_date_extended")
    with closing(project.db()) as db:
        assert json.loads(extension["details"])["reason_mac"] == db.ledger.seal(
            "Ann phoned on 12 March, documents pending"
        )
    rejection = next(e for e in events if e["event"] == "rejected")
    assert "note_mac" in json.loads(rejection["details"]) and "note" not in json.loads(rejection["details"])
    assert (
        json.loads(project.cli("status", rejected, "--json").stdout)["error"]
        == "passport of Bob Smith does not match"
    )
