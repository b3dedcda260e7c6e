"""Restriction of processing across the shop (flags), the lake (side table) and the bucket (tags).

Restricting marks every record of the subject; sweeps keep them; the subject's own access export
includes them, marked; lifting restores exactly the previous state, including marks that were
there before and marks another active restriction still needs.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
import yaml

from dsr_pipelines.core.config import load_config
from dsr_pipelines.demo import shop
from dsr_pipelines.discover.scoring import discover_table
from dsr_pipelines.plan.datamap.model import load_datamap, parse_datamap
from dsr_pipelines.plan.reach import open_connector
from dsr_pipelines.retain.processable import processable_rows, processable_select
from dsr_pipelines.retain.restriction import sample_filter
from dsr_pipelines.service.discovery import analyzer

from .conftest import Stores

TAG = "dsr-restricted"


def state(stores: Stores) -> dict:
    """Every restriction mark in the three stores."""
    engine = stores.project.engine()
    with engine.connect() as conn:
        flags = {
            t.name: sorted(conn.execute(sa.select(t.c.id).where(t.c.restricted == sa.true())).scalars())
            for t in (shop.customers, shop.support_tickets)
        }
    engine.dispose()
    side = stores.lake / "_restricted" / "events" / "restricted.parquet"
    lake = sorted(pq.read_table(side)["user_id"].to_pylist()) if side.exists() else []
    tags = {}
    for key in stores.objects():
        found = stores.client.get_object_tagging(Bucket=stores.bucket, Key=key)["TagSet"]
        if any(t["Key"] == TAG for t in found):
            tags[key] = True
    return {"flags": flags, "lake": lake, "tagged": sorted(tags)}


def submit_and_run(stores: Stores, person, type_: str) -> dict:
    request_id = stores.project.submit(person, type_)
    stores.project.cli("run", str(request_id))
    return stores.status(request_id)


def test_restriction_marks_everything_and_lifting_restores_exactly_the_previous_state(stores):
    p, q = stores.project.people[0], stores.project.people[1]  # they share a newsletter export
    log = "logs/app-001.log"
    stores.client.put_object_tagging(  # marked before, by someone else: must stay after lifting
        Bucket=stores.bucket, Key=log, Tagging={"TagSet": [{"Key": TAG, "Value": "legal"}]}
    )
    before = state(stores)

    restricted = submit_and_run(stores, p, "restriction")
    assert restricted["state"] == "completed", restricted["error"]
    now = state(stores)
    assert now["flags"] == {"customers": [p.customer_id], "support_tickets": [p.customer_id]}
    assert now["lake"] == [p.customer_id]
    assert {f"users/{p.customer_id}/profile.json", "exports/newsletter-001.ndjson", log} <= set(now["tagged"])
    counts = {(r["store"], r["collection"]): r for r in restricted["results"]}
    assert counts[("shop", "orders")]["reason"] == "restricted through customers"
    assert counts[("shop", "customers")]["restricted"] == 1
    assert counts[("files", "app_logs")]["restricted"] == 0  # already tagged: not counted, not owned
    assert all(v["state"] == "active" for v in restricted["restriction"].values())

    submit_and_run(stores, q, "restriction")
    lifted = submit_and_run(stores, p, "lift-restriction")
    assert lifted["state"] == "completed"
    after_p = state(stores)
    assert after_p["flags"] == {"customers": [q.customer_id], "support_tickets": [q.customer_id]}
    assert after_p["lake"] == [q.customer_id]
    assert "exports/newsletter-001.ndjson" in after_p["tagged"]  # q's restriction still needs it
    assert log in after_p["tagged"]  # it was marked before p's restriction
    assert f"users/{p.customer_id}/profile.json" not in after_p["tagged"]
    shown = stores.status(restricted["id"])["restriction"]
    assert {v["state"] for v in shown.values()} == {"lifted"}
    assert {v["lifted_by"] for v in shown.values()} == {lifted["id"]}

    submit_and_run(stores, q, "lift-restriction")
    assert state(stores) == before  # exactly as it was

    again = submit_and_run(stores, p, "lift-restriction")
    assert again["state"] == "completed" and again["restriction"] == {}
    assert "nothing to lift" in again["history"][-1]["note"]


def test_restricted_records_are_kept_by_sweeps_and_marked_in_the_subjects_own_export(stores, tmp_path):
    p = stores.project.people[2]
    submit_and_run(stores, p, "restriction")
    rules = {
        "rules": [
            {
                "name": "tickets",
                "store": "shop",
                "collection": "support_tickets",
                "age": {"field": "opened_at"},
                "period": "P1D",
                "legal_basis": "test",
                "owner": "test",
            },
            {
                "name": "events",
                "store": "lake",
                "collection": "events",
                "age": {"field": "at"},
                "period": "P1D",
                "legal_basis": "test",
                "owner": "test",
            },
            {
                "name": "logs",
                "store": "files",
                "collection": "app_logs",
                "age": {"modified": True},
                "period": "P1D",
                "legal_basis": "test",
                "owner": "test",
            },
        ]
    }
    (stores.project.root / "retention_rules.yaml").write_text(yaml.safe_dump(rules))
    report = json.loads(stores.project.cli("sweep", "--as-of", "2099-01-01", "--json").stdout)
    kept = {r["rule"]: r["kept"] for r in report["results"]}
    assert kept["tickets"] == 1 and kept["events"] == 6 and kept["logs"] >= 1
    events = pq.ParquetDataset(stores.lake / "events").read().to_pylist()
    assert {e["user_id"] for e in events} == {p.customer_id}
    logs = [k for k in stores.objects() if k.startswith("logs/")]
    assert logs and all(p.email.encode() in stores.objects()[k] for k in logs)

    access = submit_and_run(stores, p, "access")
    package = tmp_path / "package"
    stores.project.cli("export", str(access["id"]), "--out", str(package))
    customers = json.loads((package / "shop" / "customers.json").read_text())
    assert [c["_restricted"] for c in customers] == [True]
    orders = json.loads((package / "shop" / "orders.json").read_text())
    assert orders and all(o["_restricted"] for o in orders)  # restricted through their customer
    lake = json.loads((package / "lake" / "events.json").read_text())
    assert lake and all(e["_restricted"] for e in lake)
    profiles = json.loads((package / "files" / "profiles.json").read_text())
    assert profiles and all(r["_restricted"] for r in profiles)


def test_the_processors_own_jobs_read_only_unrestricted_records(project):
    """The helper and the SQL view of docs/restriction.md leave restricted rows (and their orders) out."""
    p = project.people[3]
    request_id = project.submit(p, "restriction")
    project.cli("run", str(request_id))
    engine = project.engine()
    datamap = yaml.safe_load((project.root / "datamap.yaml").read_text())

    store = parse_datamap(datamap).stores["shop"]
    with engine.connect() as conn:
        customers = conn.execute(processable_select(shop.customers, store, "customers")).fetchall()
        orders = conn.execute(processable_select(shop.orders, store, "orders")).fetchall()
        all_orders = conn.execute(sa.select(shop.orders)).fetchall()
        view = (Path(__file__).parents[1] / "docs" / "restriction.md").read_text()
        statement = view.split("```sql\n", 1)[1].split("```", 1)[0]
        conn.execute(sa.text(statement))
        from_view = conn.execute(sa.text("SELECT customer_id FROM processable_orders")).scalars().all()
        conn.rollback()
    engine.dispose()
    assert p.customer_id not in {c.id for c in customers} and len(customers) == len(project.people) - 1
    assert p.customer_id not in {o.customer_id for o in orders}
    assert len(orders) == len([o for o in all_orders if o.customer_id != p.customer_id])
    assert sorted(from_view) == sorted(o.customer_id for o in orders)

    rows = pa.table({"user_id": [1, 2, 3], "x": ["a", "b", "c"]})
    assert processable_rows(rows, pa.table({"user_id": [2]}))["user_id"].to_pylist() == [1, 3]


def test_discovery_samples_leave_restricted_records_out(project):

    project = project
    people = project.people[:3]
    for person in people:
        project.cli("run", str(project.submit(person, "restriction")))
    config = load_config(project.config_path)
    datamap = load_datamap(config.datamap_path)
    connector = open_connector(config, "shop", datamap)
    info = next(i for i in connector.collections() if i.name == "customers")
    unrestricted = sample_filter("sql", datamap.stores["shop"], connector)
    sample = connector.sample("customers", 1000, 100).rows
    kept = unrestricted("customers", sample)
    assert sample.num_rows == len(project.people)
    assert sorted(set(sample["id"].to_pylist()) - set(kept["id"].to_pylist())) == sorted(
        p.customer_id for p in people
    )
    report = discover_table(analyzer(config), connector, info, 1000, unrestricted=unrestricted)
    assert report.rows == len(project.people) - len(people)
    connector.close()


def test_a_sweep_keeps_records_restricted_through_the_collection_they_reference(project):
    """Visits of a restricted customer stay past their period; everyone else's go."""
    engine = project.engine()
    visits = sa.Table(
        "visits",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey(shop.customers.c.id), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    visits.create(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(visits),
            [
                {"id": i, "customer_id": p.customer_id, "at": datetime(2024, 1, 1)}
                for i, p in enumerate(project.people)
            ],
        )
    datamap = yaml.safe_load((project.root / "datamap.yaml").read_text())
    datamap["stores"]["shop"]["collections"]["visits"] = {
        "primary_key": ["id"],
        "references": [{"fields": ["customer_id"], "to": "customers", "to_fields": ["id"]}],
    }
    (project.root / "datamap.yaml").write_text(yaml.safe_dump(datamap))
    rule = {
        "name": "visits",
        "store": "shop",
        "collection": "visits",
        "age": {"field": "at"},
        "period": "P30D",
        "legal_basis": "test",
        "owner": "test",
        "batch": 5,
    }
    (project.root / "retention_rules.yaml").write_text(yaml.safe_dump({"rules": [rule]}))
    restricted = project.people[5]
    project.cli("run", str(project.submit(restricted, "restriction")))

    (result,) = json.loads(project.cli("sweep", "--as-of", "2025-01-01", "--json").stdout)["results"]
    assert (result["kept"], result["changed"]) == (1, len(project.people) - 1)
    with engine.connect() as conn:
        assert conn.execute(sa.select(visits.c.customer_id)).scalars().all() == [restricted.customer_id]
    engine.dispose()
