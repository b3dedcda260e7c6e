"""Requests end to end through the CLI and the Dagster job (the erasure on SQLite, PostgreSQL and MariaDB:
the masks and the transaction are the dialect's)."""

from __future__ import annotations

import hashlib
import json

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from connectors import REDACTED
from dsr_pipelines.demo import shop

from .conftest import BACKENDS, fresh_database


def _status(project, request_id: int) -> dict:
    return json.loads(project.cli("status", str(request_id), "--json").stdout)


def _counts(status: dict) -> dict[str, dict]:
    return {r["collection"]: r for r in status["results"]}


def _related(snapshot: dict, customer_id: int) -> dict[str, set]:
    """Rows of one customer in each table (by the shop's foreign keys)."""
    orders = {r for r in snapshot["orders"] if r[2] == customer_id}
    order_ids = {r[0] for r in orders}
    return {
        "customers": {r for r in snapshot["customers"] if r[0] == customer_id},
        "addresses": {r for r in snapshot["addresses"] if r[0] == customer_id},
        "orders": orders,
        "order_lines": {r for r in snapshot["order_lines"] if r[0] in order_ids},
        "returns": {r for r in snapshot["returns"] if r[1] in order_ids},
        "support_tickets": {r for r in snapshot["support_tickets"] if r[0] == customer_id},
    }


def test_access_request_exports_related_records_with_manifest(project, tmp_path):
    person = project.people[2]  # customer 3: two orders, four lines, one return, one ticket
    request_id = project.submit(person, "access")
    project.cli("run", str(request_id))

    status = _status(project, request_id)
    assert status["state"] == "completed"
    counts = _counts(status)
    assert {k: v["found"] for k, v in counts.items()} == {
        "customers": 1,
        "addresses": 2,
        "orders": 2,
        "order_lines": 4,
        "returns": 1,
        "support_tickets": 1,
    }
    assert all(v["exported"] == v["found"] for v in counts.values())

    out = tmp_path / "package"
    project.cli("export", str(request_id), "--out", str(out))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["request_id"] == request_id
    assert len(manifest["files"]) == 12
    for entry in manifest["files"]:
        assert hashlib.sha256((out / entry["path"]).read_bytes()).hexdigest() == entry["sha256"]
    orders = json.loads((out / "shop" / "orders.json").read_text())
    assert sorted(o["customer_id"] for o in orders) == [3, 3]
    lines = pq.read_table(out / "shop" / "order_lines.parquet")
    assert lines.num_rows == 4 and set(lines["order_id"].to_pylist()) == {o["id"] for o in orders}
    sources = {s["collection"]: s for s in manifest["sources"]}
    assert sources["customers"]["categories"] == ["customer_id", "email", "name", "phone"]
    assert sources["orders"]["legal_basis_for_retention"].startswith("tax law")
    assert "parcel carrier" in sources["addresses"]["recipients"]


@pytest.fixture
def on_one_engine(request, project, tmp_path):
    """The shop and the state database on the same engine, as in production (PostgreSQL)."""
    for url in fresh_database(request.node.callspec.params["project"], tmp_path):
        project.write_config(request_store=url)
        yield project


@pytest.mark.parametrize("project", BACKENDS, indirect=True)
def test_erasure_deletes_masks_and_retains_and_touches_no_one_else(on_one_engine):
    project = on_one_engine
    person = project.people[3]  # customer 4, whom customer 5 was referred by
    before = project.snapshot()
    mine = _related(before, person.customer_id)
    request_id = project.submit(person, "erasure", "--identity", f"phone={person.phone}")
    project.cli("run", str(request_id))
    after = project.snapshot()

    for table, rows in before.items():  # everyone else's rows are exactly as they were
        assert set(rows) - mine[table] == set(after[table]) - _related(after, person.customer_id)[table], (
            table
        )
    assert not _related(after, person.customer_id)["addresses"]
    assert not _related(after, person.customer_id)["returns"]
    assert _related(after, person.customer_id)["orders"] == mine["orders"]  # retained for tax law
    (customer,) = _related(after, person.customer_id)["customers"]  # masked: retained orders point at it
    assert customer[2].startswith("hash:") and customer[3] is None and customer[4] == REDACTED
    (ticket,) = _related(after, person.customer_id)["support_tickets"]
    assert ticket[3].startswith("hash:")  # the ticket keeps its words, minus the subject
    assert ticket[4] == f"Hello, this is {REDACTED}. Please call me on {REDACTED}."
    assert all(line[4] is None for line in _related(after, person.customer_id)["order_lines"])

    status = _status(project, request_id)
    assert status["state"] == "completed"
    assert status["probe"]["residual"] == 0
    assert status["identities_held"] is False
    counts = _counts(status)
    assert counts["addresses"]["deleted"] == 2 and counts["customers"]["masked"] == 1
    assert counts["orders"]["retained"] == 2 and "tax law" in counts["orders"]["reason"]
    assert "masked instead of deleted" in counts["customers"]["reason"]

    again = project.cli("run", str(request_id), expect=2)
    assert "completed" in again.stderr
    assert project.snapshot() == after


def test_dry_run_reports_and_changes_nothing(project):
    person = project.people[5]
    before = project.snapshot()
    request_id = project.submit(person, "erasure")
    result = json.loads(project.cli("run", str(request_id), "--dry-run", "--json").stdout)
    plan = {r["collection"]: r for r in result["requests"][str(request_id)]}
    assert plan["addresses"]["deleted"] == 2 and plan["customers"]["masked"] == 1
    assert project.snapshot() == before
    assert _status(project, request_id)["state"] == "verified"


def test_over_deletion_guard_aborts_before_any_change(project):
    project.write_config(guard={"max_share": 0.01, "min_rows": 1})  # two addresses is too many now
    before = project.snapshot()
    request_id = project.submit(project.people[6], "erasure")
    project.cli("run", str(request_id), expect=1)
    status = _status(project, request_id)
    assert status["state"] == "failed"
    assert "over-deletion guard" in status["error"] and "shop.addresses" in status["error"]
    assert project.snapshot() == before


def test_tenant_only_touches_its_own_rows(project):
    person = next(p for p in project.people if p.tenant == "acme")
    engine = project.engine()
    with engine.begin() as conn:  # the same person is also a customer of another tenant
        conn.execute(
            sa.insert(shop.customers).values(
                id=1000, tenant_id="globex", email=person.email, phone=person.phone, name=person.name
            )
        )
        conn.execute(
            sa.insert(shop.support_tickets).values(
                id=1000,
                tenant_id="globex",
                customer_id=1000,
                email=person.email,
                body="other tenant's ticket",
            )
        )
    engine.dispose()
    before = project.snapshot()
    request_id = project.submit(person, "erasure", tenant="acme")
    project.cli("run", str(request_id))
    after = project.snapshot()
    assert [r for r in after["customers"] if r[0] == 1000] == [r for r in before["customers"] if r[0] == 1000]
    assert [r for r in after["support_tickets"] if r[0] == 1000] == [
        r for r in before["support_tickets"] if r[0] == 1000
    ]
    assert _counts(_status(project, request_id))["customers"]["found"] == 1


def test_batch_of_erasures_and_a_subject_without_data(project):
    people = project.people[7:10]
    ids = [project.submit(p, "erasure") for p in people]
    nobody = project.cli(
        "submit",
        "--tenant",
        "acme",
        "--type",
        "erasure",
        "--identity",
        "email=nobody@example.org",
        "--verified",
    ).stdout.strip()
    project.cli("run", *map(str, ids), nobody)
    for request_id in ids:
        status = _status(project, request_id)
        assert status["state"] == "completed" and _counts(status)["addresses"]["deleted"] == 2
    empty = _status(project, int(nobody))
    assert empty["state"] == "completed"
    assert sum(r["found"] for r in empty["results"]) == 0 and empty["probe"]["residual"] == 0


def test_a_kept_row_keeps_the_row_it_references_in_the_same_table(project):
    """Customer 3 is masked (orders retained) and was referred by customer 500: 500 is masked, not deleted."""
    referrer = shop.Person(500, "acme", "referrer.500@example.org", "+447700900500", "Rita Referrer")
    engine = project.engine()
    with engine.begin() as conn:
        conn.execute(
            sa.insert(shop.customers).values(
                id=500, tenant_id="acme", email=referrer.email, phone=referrer.phone, name=referrer.name
            )
        )
        conn.execute(sa.update(shop.customers).where(shop.customers.c.id == 3).values(referred_by=500))
    engine.dispose()
    ids = [project.submit(project.people[2], "erasure"), project.submit(referrer, "erasure")]
    project.cli("run", *map(str, ids))
    after = {r[0]: r for r in project.snapshot()["customers"]}
    assert after[3][5] == 500 and after[500][2].startswith("hash:") and after[500][4] == REDACTED
    assert _counts(_status(project, ids[1]))["customers"]["masked"] == 1
