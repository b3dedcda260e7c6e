"""The request store and ledger on every backend (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

from datetime import datetime

import pytest

from dsr_pipelines.durations import parse_duration
from dsr_pipelines.errors import RequestStateError
from dsr_pipelines.identities import normalise
from dsr_pipelines.keys import Keys
from dsr_pipelines.request_store import CollectionResult, RequestStore


def test_lifecycle_results_identity_removal_and_ledger(db_url):
    now = datetime(2026, 1, 31, 9, 0)
    rs = RequestStore(db_url, Keys(b"s" * 32), clock=lambda: now)
    try:
        ident = normalise("email", "ann@example.com")
        request_id = rs.submit("acme", "erasure", [ident, ident], "controller", parse_duration("P1M"))
        record = rs.get(request_id)
        assert (record.state, record.due_at) == ("received", datetime(2026, 2, 28, 9, 0))
        assert len(record.subject_refs) == 1  # duplicates collapse
        with pytest.raises(RequestStateError, match="cannot become running"):
            rs.transition(request_id, "running", "operator")
        rs.verify(request_id, "controller")
        rs.start([request_id], "operator")
        assert [s.identities for s in rs.subjects([request_id])] == [(ident,)]
        rs.record_store(
            request_id, "shop", "done", [CollectionResult("shop", "customers", found=1, deleted=1)], "op"
        )
        assert rs.done_stores([request_id]) == {(request_id, "shop")}
        rs.finish(request_id, "completed", "dagster", None, {"residual": 0})
        record = rs.get(request_id)
        assert record.state == "completed" and not record.identities_held and record.probe == {"residual": 0}
        with pytest.raises(RequestStateError, match="identities were removed"):
            rs.subjects([request_id])
        assert [t["to_state"] for t in rs.transitions(request_id)] == [
            "received",
            "verified",
            "running",
            "completed",
        ]
        verdict = rs.ledger.verify()
        assert verdict.ok and verdict.events == 6
    finally:
        rs.close()
