"""The state database and its ledger on every backend (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

from datetime import datetime

import pytest

from dsr_pipelines.core.durations import parse_duration
from dsr_pipelines.core.errors import RequestStateError
from dsr_pipelines.core.identities import normalise
from dsr_pipelines.core.keys import MasterKey
from dsr_pipelines.state.db import StateDB
from dsr_pipelines.state.results import CollectionResult
from dsr_pipelines.state.tombstones import Tombstone


def test_lifecycle_results_identity_removal_and_ledger(db_url):
    now = datetime(2026, 1, 31, 9, 0)
    db = StateDB(db_url, MasterKey(b"s" * 32), clock=lambda: now)
    requests = db.requests
    try:
        ident = normalise("email", "ann@example.com")
        request_id = requests.submit("acme", "erasure", [ident, ident], "controller", parse_duration("P1M"))
        record = requests.get(request_id)
        assert (record.state, record.due_at) == ("received", datetime(2026, 2, 28, 9, 0))
        assert len(record.subject_refs) == 1  # duplicates collapse
        with pytest.raises(RequestStateError, match="cannot become running"):
            requests.transition(request_id, "running", "operator")
        requests.verify(request_id, "controller")
        requests.start([request_id], "operator")
        assert [s.identities for s in requests.subjects([request_id])] == [(ident,)]
        db.results.record_store(
            request_id, "shop", "done", [CollectionResult("shop", "customers", found=1, deleted=1)], "op"
        )
        assert db.results.done_stores([request_id]) == {(request_id, "shop")}
        assert db.results.recorded([request_id])[request_id].stores["shop"]["actor"] == "op"
        requests.finish(request_id, "completed", "operator", None, {"residual": 0})
        record = requests.get(request_id)
        assert record.state == "completed" and not record.identities_held and record.probe == {"residual": 0}
        with pytest.raises(RequestStateError, match="identities were removed"):
            requests.subjects([request_id])
        assert [t["to_state"] for t in requests.transitions(request_id)] == [
            "received",
            "verified",
            "running",
            "completed",
        ]
        verdict = db.ledger.verify()
        assert verdict.ok and verdict.events == 6
    finally:
        db.close()


def test_tombstones_are_kept_once_and_a_batch_looks_up_only_its_own(db_url):
    db = StateDB(db_url, MasterKey(b"s" * 32))
    try:
        first = [Tombstone(1, "customers", "delete", f"{i:064x}") for i in range(1200)]
        assert db.tombstones.record("shop", first) == 1200
        again = [*first[1100:], Tombstone(2, "customers", "delete", f"{5000:064x}"),
                 Tombstone(2, "orders", "mask", f"{7:064x}")]  # fmt: skip
        assert db.tombstones.record("shop", again) == 2  # the digest 7 is new in another collection
        assert db.tombstones.record("lake", first[:3]) == 3  # per store
        kept = db.tombstones.of_store("shop")
        assert len(kept["customers"]) == 1201 and kept["orders"] == {f"{7:064x}": "mask"}
    finally:
        db.close()
