"""Termination purges across the shop (SQL), the lake (Parquet) and the bucket (S3).

The tenant's records leave every active store, in batches and children first; what a legal
obligation keeps is archived, encrypted, until the obligation ends; the other tenant is untouched;
a probe confirms it and a certificate says it.
"""

from __future__ import annotations

import base64
import json
import logging
import os

import dagster as dg
import pyarrow.dataset as ds
import pytest
import yaml

from dsr_pipelines.core.config import load_config
from dsr_pipelines.orchestration.jobs import tenant_purge_job
from dsr_pipelines.orchestration.launch import resources
from dsr_pipelines.orchestration.resources import DsrResource
from dsr_pipelines.orchestration.sensors import tenant_purge_on_due_terminations
from dsr_pipelines.plan.reach import open_connector
from dsr_pipelines.retain.archive import read_archive

from .conftest import BACKENDS, Stores, files_containing

RULES = {
    "rules": [
        {
            "name": "invoices",
            "store": "shop",
            "collection": "orders",
            "age": {"field": "placed_on"},
            "period": "P10Y",
            "action": "archive",
            "archive_to": "archive",
            "legal_basis": "tax law: invoices kept 10 years",
            "owner": "finance",
        }
    ]
}


@pytest.fixture
def tenants(stores, monkeypatch) -> Stores:
    """The shop, lake and bucket, with two tenants, an archive store and an archiving rule."""
    return configured(stores, monkeypatch)


def configured(made: Stores, monkeypatch) -> Stores:
    settings = yaml.safe_load(made.project.config_path.read_text())
    settings["stores"].append({"name": "archive", "kind": "parquet", "url": "archive"})
    settings["tenants"] = {"acme": {}, "globex": {}}
    made.project.config_path.write_text(yaml.safe_dump(settings))
    (made.project.root / "retention_rules.yaml").write_text(yaml.safe_dump(RULES))
    monkeypatch.setenv("DSR_ARCHIVE_KEY", base64.b64encode(os.urandom(32)).decode())
    return made


def tenants_in(stores: Stores) -> dict[str, set[str]]:
    """Which tenants still have rows, per shop table with a tenant field, events, and newsletter lines."""
    snapshot = stores.project.snapshot()
    out = {name: {row[1] for row in snapshot[name]} for name in ("customers", "orders", "support_tickets")}
    events = ds.dataset(stores.lake / "events", partitioning="hive").to_table()
    out["events"] = set(events["tenant_id"].to_pylist())
    lines = [
        json.loads(line)
        for k, v in stores.objects().items()
        if k.startswith("exports/")
        for line in v.splitlines()
    ]
    out["newsletter"] = {line["tenant_id"] for line in lines}
    tenant_of = {p.customer_id: p.tenant for p in stores.project.people}
    out["profiles"] = {tenant_of[int(k.split("/")[1])] for k in stores.objects() if k.startswith("users/")}
    return out


@pytest.mark.parametrize("stores", BACKENDS, indirect=True)
def test_a_due_termination_purges_every_store_archives_invoices_and_certifies(tenants):
    stores = tenants
    project = stores.project
    before = tenants_in(stores)
    assert all(v == {"acme", "globex"} for v in before.values())
    acme_orders = [r for r in project.snapshot()["orders"] if r[1] == "acme"]

    project.cli("tenant", "terminate", "acme", "--effective", "2026-01-31", "--grace", "P30D")
    assert (
        "already terminated"
        in project.cli("tenant", "terminate", "acme", "--effective", "2026-01-31", expect=2).stderr
    )
    assert (
        "unknown tenant 'initech' (known: acme, globex)"
        in project.cli("tenant", "terminate", "initech", "--effective", "2026-01-31", expect=2).stderr
    )

    plan = json.loads(project.cli("tenant", "purge", "acme", "--dry-run", "--json").stdout)
    assert tenants_in(stores) == before  # the dry run changed nothing
    actions = {(c["store"], c["collection"]): c for c in plan["collections"]}
    assert actions[("shop", "orders")]["action"] == "archive" and actions[("shop", "orders")][
        "records"
    ] == len(acme_orders)
    assert actions[("shop", "addresses")]["action"] == "delete"  # through their customer
    assert actions[("files", "app_logs")]["action"] == "unseparable"
    assert actions[("files", "profiles")]["action"] == "delete"  # through the shop's customers
    assert actions[("files", "profiles")]["records"] == 2 * sum(p.tenant == "acme" for p in project.people)

    # The sensor starts the purge once the date plus grace has passed, once per tenant.
    resource = DsrResource(config_path=str(project.config_path))
    with dg.build_sensor_context(resources={"dsr": resource}) as context:
        (run,) = tenant_purge_on_due_terminations(context).run_requests
    assert run.run_key == "purge:acme"
    assert run.run_config["ops"]["purge_tenant"]["config"] == {
        "tenant": "acme",
        "actor": "sensor:tenant_purge_on_due_terminations",
    }

    result = json.loads(project.cli("tenant", "purge", "acme", "--json").stdout)
    assert result["complete"]
    after = tenants_in(stores)
    assert all(v == {"globex"} for v in after.values()), after
    done = {(c["store"], c["collection"]): c for c in result["collections"]}
    assert all(c["residual"] == 0 for c in result["collections"] if c["action"] != "unseparable")
    assert done[("shop", "orders")]["records"] == len(acme_orders)

    # The archive holds the invoices, encrypted, readable only with the key from the environment.
    archive = open_connector(load_config(project.config_path), "archive")
    files = sorted((project.root / "archive").rglob("*.enc"))
    assert files and all(b"acme" not in f.read_bytes() for f in files)
    rows = [
        r
        for f in files
        for r in read_archive(archive, str(f.relative_to(project.root / "archive"))).to_pylist()
    ]
    assert sorted(r["id"] for r in rows) == sorted(r[0] for r in acme_orders)

    certificate = json.loads((project.root / ".dsr" / "certificates" / "tenant-acme.json").read_text())
    assert certificate["complete"] and certificate["tenant"] == "acme"
    markdown = (project.root / ".dsr" / "certificates" / "tenant-acme.md").read_text()
    assert "archived (encrypted) until 2036-01-31" in markdown and "tax law" in markdown
    assert "not separable by tenant" in markdown

    # The obligation ends: the archive sweep deletes the invoices.
    project.cli("tenant", "archive-sweep", "--as-of", "2036-02-01")
    assert not list((project.root / "archive").rglob("*.enc"))


def test_a_purge_before_its_date_or_of_an_active_tenant_is_refused(tenants):
    stores = tenants
    project = stores.project
    before = tenants_in(stores)
    assert "is not terminated" in project.cli("tenant", "purge", "acme", expect=2).stderr
    project.cli("tenant", "terminate", "acme", "--effective", "2099-01-01")
    assert "is due on 2099-01-01" in project.cli("tenant", "purge", "acme", expect=2).stderr
    assert tenants_in(stores) == before
    resource = DsrResource(config_path=str(project.config_path))
    with dg.build_sensor_context(resources={"dsr": resource}) as context:
        assert isinstance(tenant_purge_on_due_terminations(context), dg.SkipReason)


def test_an_interrupted_purge_finishes_when_run_again(tenants):
    stores = tenants
    project = stores.project
    project.cli("tenant", "terminate", "acme", "--effective", "2026-01-31")
    moved = stores.lake.with_name("lake-away")
    stores.lake.rename(moved)  # the lake goes away mid-purge
    first = json.loads(project.cli("tenant", "purge", "acme", "--json", expect=1).stdout)
    assert not first["complete"]
    assert [c for c in first["collections"] if c["store"] == "lake"][0]["error"]
    moved.rename(stores.lake)
    second = json.loads(project.cli("tenant", "purge", "acme", "--json").stdout)
    assert second["complete"]
    assert all(v == {"globex"} for v in tenants_in(stores).values())


def test_the_certificate_follows_the_backups_until_they_age_out(tenants):
    project = tenants.project
    dumps = project.root / "dumps"
    dumps.mkdir()
    for name in ("shop-2026-01-01.dump", "shop-2026-01-15.dump"):
        (dumps / name).write_bytes(b"PGDMP")
    rules = dict(
        RULES,
        backups=[
            {
                "store": "shop",
                "location": {"directory": "dumps"},
                "time": {"name_date": "%Y-%m-%d"},
                "rotation": "P10Y",
            }
        ],
    )
    (project.root / "retention_rules.yaml").write_text(yaml.safe_dump(rules))
    project.cli("tenant", "terminate", "acme", "--effective", "2026-01-31")
    project.cli("tenant", "purge", "acme")
    certificate = project.root / ".dsr" / "certificates" / "tenant-acme"
    data = json.loads(certificate.with_suffix(".json").read_text())
    assert data["backups"]["state"] == "awaiting_backup_ageout"
    assert [b["name"] for b in data["backups"]["backups"]] == ["shop-2026-01-01.dump", "shop-2026-01-15.dump"]
    assert "still present" in certificate.with_suffix(".md").read_text()

    (dumps / "shop-2026-01-01.dump").unlink()
    project.cli("backups", "scan")
    assert (
        json.loads(certificate.with_suffix(".json").read_text())["backups"]["state"]
        == "awaiting_backup_ageout"
    )
    (dumps / "shop-2026-01-15.dump").unlink()
    project.cli("backups", "scan")
    assert json.loads(certificate.with_suffix(".json").read_text())["backups"]["state"] == "backups_aged_out"
    assert "State: backups_aged_out." in certificate.with_suffix(".md").read_text()


def test_the_sensors_run_purges_through_dagster_without_personal_data(tenants, dagster_home, caplog):
    stores = tenants
    project = stores.project
    project.cli("tenant", "terminate", "acme", "--effective", "2026-01-31")
    resource = DsrResource(config_path=str(project.config_path))
    with dg.build_sensor_context(resources={"dsr": resource}) as context:
        (run,) = tenant_purge_on_due_terminations(context).run_requests
    caplog.set_level(logging.DEBUG)
    instance = dg.DagsterInstance.get()
    result = tenant_purge_job.execute_in_process(
        run_config=run.run_config, instance=instance, resources=resources(project.config_path)
    )
    assert result.success
    assert all(v == {"globex"} for v in tenants_in(stores).values())
    events = json.loads(project.cli("audit", "show").stdout)
    assert {e["actor"] for e in events if e["event"].startswith("tenant_purg")} == {
        "sensor:tenant_purge_on_due_terminations"
    }
    needles = [v for p in project.people for v in (p.email, p.name)]
    assert files_containing(dagster_home, needles) == []
    events = json.dumps([str(e) for e in instance.all_logs(result.run_id)])
    for needle in needles:
        assert needle not in events and needle not in caplog.text, needle


def test_legal_holds_win_over_a_purge(tenants):
    stores = tenants
    project = stores.project
    held = next(p for p in project.people if p.tenant == "acme")
    subject_hold = project.cli(
        "hold", "add", "--tenant", "acme", "--identity", f"email={held.email}", "--reason", "litigation"
    ).stdout.strip()
    tickets_hold = project.cli(
        "hold",
        "add",
        "--tenant",
        "acme",
        "--store",
        "shop",
        "--collection",
        "support_tickets",
        "--reason",
        "audit",
    ).stdout.strip()
    project.cli("tenant", "terminate", "acme", "--effective", "2026-01-31")
    result = json.loads(project.cli("tenant", "purge", "acme", "--json").stdout)
    assert result["complete"]
    done = {(c["store"], c["collection"]): c for c in result["collections"]}
    assert done[("shop", "support_tickets")]["action"] == "held"
    assert done[("shop", "support_tickets")]["held_by"] == [int(tickets_hold)]
    assert done[("shop", "customers")]["kept"] == 1 and done[("shop", "customers")]["held_by"] == [
        int(subject_hold)
    ]
    snapshot = project.snapshot()
    assert [r[0] for r in snapshot["customers"] if r[1] == "acme"] == [held.customer_id]
    acme_tickets = [r for r in snapshot["support_tickets"] if r[1] == "acme"]
    assert len(acme_tickets) == sum(p.tenant == "acme" for p in project.people)
    events = ds.dataset(stores.lake / "events", partitioning="hive").to_table()
    assert {r["user_id"] for r in events.to_pylist() if r["tenant_id"] == "acme"} == {held.customer_id}
    markdown = (project.root / ".dsr" / "certificates" / "tenant-acme.md").read_text()
    assert f"legal hold {tickets_hold}" in markdown
