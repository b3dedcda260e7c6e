"""Retention sweeps and legal holds across SQL, Parquet and S3, with an injected clock (`--as-of`).

Data of several ages (tickets over two years, a week of lake events, logs written today), rules
of several periods, a subject on hold and a restricted ticket: sweeping at several dates must
leave exactly what the rules, the hold and the restriction say, in every store.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import dagster as dg
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
import yaml

from dsr_pipelines.demo import shop
from dsr_pipelines.intake.api import Dsr
from dsr_pipelines.orchestration.jobs import retention_sweep_job
from dsr_pipelines.orchestration.launch import resources
from dsr_pipelines.orchestration.schedules import daily_retention_sweep

from .conftest import BACKENDS, Stores, files_containing

RULES = {
    "rules": [
        {
            "name": "tickets",
            "store": "shop",
            "collection": "support_tickets",
            "age": {"field": "opened_at"},
            "period": "P1Y",
            "legal_basis": "support contract: tickets are kept one year",
            "owner": "head of support",
            "batch": 3,
        },
        {
            "name": "events",
            "store": "lake",
            "collection": "events",
            "age": {"partition": "day"},
            "period": "P30D",
            "legal_basis": "analytics consent: 30 days",
            "owner": "data team",
        },
        {
            "name": "logs",
            "store": "files",
            "collection": "app_logs",
            "age": {"modified": True},
            "period": "P90D",
            "legal_basis": "security monitoring: 90 days",
            "owner": "security",
        },
    ]
}


@pytest.fixture
def ruled(stores) -> Stores:
    """The shop, lake and bucket with three retention rules of different periods."""
    (stores.project.root / "retention_rules.yaml").write_text(yaml.safe_dump(RULES))
    return stores


def tickets(stores: Stores) -> dict[int, tuple[datetime, str, bool]]:
    engine = stores.project.engine()
    with engine.connect() as conn:
        t = shop.support_tickets
        rows = conn.execute(sa.select(t.c.id, t.c.opened_at, t.c.email, t.c.restricted)).fetchall()
    engine.dispose()
    return {r[0]: (r[1], r[2], bool(r[3])) for r in rows}


def event_days(stores: Stores) -> dict[str, list[str]]:
    """Per email-bearing user: the days of their events; and '*' for every day left."""
    rows = ds.dataset(stores.lake / "events", partitioning="hive").to_table().to_pylist()
    return {"*": sorted({r["day"] for r in rows}), "users": sorted({r["user_id"] for r in rows})}


def sweep(stores: Stores, as_of: str, *extra: str) -> dict:
    result = stores.project.cli("sweep", "--as-of", as_of, "--json", *extra)
    return json.loads(result.stdout)


def by_rule(report: dict) -> dict[str, dict]:
    return {r["rule"]: r for r in report["results"]}


@pytest.mark.parametrize("stores", BACKENDS, indirect=True)
def test_sweeps_at_several_dates_leave_exactly_what_rules_holds_and_restrictions_say(ruled):
    stores = ruled
    project = stores.project
    before = tickets(stores)
    oldest = sorted(before, key=lambda i: before[i][0])
    held, restricted = (p for p in project.people if p.customer_id in oldest[:2])
    project.cli("run", str(project.submit(restricted, "restriction")))  # flag, side table and tags
    hold_id = int(
        project.cli(
            "hold",
            "add",
            "--tenant",
            held.tenant,
            "--identity",
            f"email={held.email}",
            "--reason",
            "case 2025-17",
        ).stdout
    )

    # 1. As of 2024-06-01 with a one-year period: tickets opened before 2023-06-01 go; there are none.
    report = sweep(stores, "2024-06-01")
    assert {r["changed"] for r in report["results"]} == {0}
    assert tickets(stores).keys() == before.keys()

    # 2. Dry run as of 2025-06-01: counts and the age range, nothing changes.
    cutoff = datetime(2024, 6, 1)
    expired = {i for i, (at, _, _) in before.items() if at < cutoff}
    kept = {held.customer_id, restricted.customer_id} & expired
    plan = by_rule(sweep(stores, "2025-06-01", "--dry-run"))
    assert (plan["tickets"]["expired"], plan["tickets"]["kept"], plan["tickets"]["changed"]) == (
        len(expired),
        len(kept),
        0,
    )
    going = sorted(before[i][0] for i in expired - kept)
    assert (
        plan["tickets"]["oldest"] == going[0].isoformat()
        and plan["tickets"]["newest"] == going[-1].isoformat()
    )
    assert tickets(stores).keys() == before.keys()

    # 3. The real sweep as of 2025-06-01: old tickets go (in batches), the held and restricted stay;
    #    every lake event is past 30 days, except the held and the restricted subject's.
    report = by_rule(sweep(stores, "2025-06-01"))
    assert report["tickets"]["changed"] == len(expired - kept)
    assert report["tickets"]["batches"] > 1
    assert report["tickets"]["held_by"] == [hold_id]
    assert tickets(stores).keys() == before.keys() - (expired - kept)
    assert event_days(stores)["users"] == sorted([held.customer_id, restricted.customer_id])
    assert report["logs"]["changed"] == 0  # written today: not 90 days old as of 2025

    def logs_naming(*people) -> set[str]:
        objects = stores.objects()
        return {
            k
            for k in objects
            if k.startswith("logs/") and any(p.email.encode() in objects[k] for p in people)
        }

    # 4. Far ahead: logs go too, but not those naming the held or the restricted subject.
    later = (datetime.now() + timedelta(days=100)).date().isoformat()
    report = by_rule(sweep(stores, later))
    logs = {k for k in stores.objects() if k.startswith("logs/")}
    assert logs and logs == logs_naming(held, restricted)
    assert tickets(stores).keys() == {held.customer_id, restricted.customer_id}

    # 5. The hold is released: the next sweep takes what it kept; the restricted subject's data stays.
    project.cli("hold", "release", str(hold_id))
    report = by_rule(sweep(stores, later))
    assert tickets(stores).keys() == {restricted.customer_id}
    assert {k for k in stores.objects() if k.startswith("logs/")} == logs_naming(restricted)
    assert event_days(stores)["users"] == [restricted.customer_id]
    assert report["tickets"]["kept"] == 1

    # History lists every real sweep per rule; the ledger holds counts, never a subject's values.
    history = json.loads(project.cli("sweep", "history", "--json").stdout)
    assert len(history) == 4 and all(h["state"] == "completed" for h in history)
    assert {r["rule"] for r in history[0]["results"]} == {"tickets", "events", "logs"}
    events = json.loads(project.cli("audit", "show").stdout)
    assert {"hold_added", "hold_released", "sweep_started", "sweep_rule", "sweep_completed"} <= {
        e["event"] for e in events
    }
    ledger_text = json.dumps(events, default=str)
    for person in project.people:
        assert person.email not in ledger_text and person.name not in ledger_text
    assert "case 2025-17" not in ledger_text


def test_a_tick_runs_once_and_a_sweep_a_store_failed_finishes_on_the_next(ruled):
    stores = ruled
    dsr = Dsr(stores.project.config_path, actor="schedule")
    moved = stores.lake.with_name("lake-away")
    stores.lake.rename(moved)  # the lake goes away: its rule fails, the others are done
    first = dsr.sweep(datetime(2025, 6, 1), run_key="2025-06-01")
    failed = {r.rule: r for r in first.results}
    assert first.state == "partial" and failed["events"].error and "lake" in failed["events"].error
    assert failed["tickets"].count.changed > 0
    moved.rename(stores.lake)

    dsr.close()  # the lake is back: connectors open afresh
    dsr = Dsr(stores.project.config_path, actor="schedule")
    second = dsr.sweep(datetime(2025, 6, 1), run_key="2025-06-01")
    done = {r.rule: r for r in second.results}
    assert second.state == "completed" and done["events"].count.changed > 0
    assert done["tickets"].count.changed == 0  # nothing is removed twice
    third = dsr.sweep(datetime(2025, 6, 1), run_key="2025-06-01")
    assert third.already_ran and third.results == []
    dsr.close()


def test_the_daily_schedule_sweeps_once_per_tick_and_keeps_values_out_of_dagster(ruled, dagster_home, caplog):
    stores = ruled
    project = stores.project
    held = project.people[0]
    project.cli("hold", "add", "--tenant", held.tenant, "--identity", f"email={held.email}", "--reason", "r")
    tick = datetime(2025, 6, 1, 2, 30, tzinfo=UTC)
    with dg.build_schedule_context(scheduled_execution_time=tick) as context:
        request = daily_retention_sweep.evaluate_tick(context).run_requests[0]
    assert request.run_key == "sweep:2025-06-01"
    config = request.run_config["ops"]["sweep_retention"]["config"]
    assert config["as_of"] == "2025-06-01T02:30:00" and config["run_key"] == request.run_key
    assert config["actor"] == "schedule:daily_retention_sweep"

    instance = dg.DagsterInstance.get()
    caplog.set_level(logging.DEBUG)
    before = tickets(stores)
    runs = []
    for _ in range(2):  # the same tick again: the sweep of that key already completed
        result = retention_sweep_job.execute_in_process(
            run_config=request.run_config, instance=instance, resources=resources(project.config_path)
        )
        assert result.success
        runs.append(result.run_id)
    assert len(tickets(stores)) < len(before)
    history = json.loads(project.cli("sweep", "history", "--json").stdout)
    assert [h["run_key"] for h in history] == ["sweep:2025-06-01"]

    needles = [v for p in project.people for v in (p.email, p.name)]
    assert files_containing(dagster_home, needles) == []
    records = json.dumps([(r.run_config, r.tags) for r in instance.get_runs()], default=str)
    events = json.dumps([str(e) for run_id in runs for e in instance.all_logs(run_id)])
    for needle in needles:
        assert needle not in records and needle not in events and needle not in caplog.text, needle


def test_an_age_only_rule_is_expressed_as_the_buckets_lifecycle_and_checked(ruled):
    stores = ruled
    project = stores.project
    rules = {"rules": [dict(RULES["rules"][2], lifecycle=True)]}
    (project.root / "retention_rules.yaml").write_text(yaml.safe_dump(rules))
    foreign = {
        "ID": "tmp-cleanup",
        "Filter": {"Prefix": "tmp/"},
        "Status": "Enabled",
        "Expiration": {"Days": 1},
    }
    stores.client.put_bucket_lifecycle_configuration(
        Bucket=stores.bucket, LifecycleConfiguration={"Rules": [foreign]}
    )

    missing = json.loads(project.cli("sweep", "lifecycle", "--json", expect=1).stdout)
    assert [(s["rule_id"], s["state"]) for s in missing] == [("dsr-logs", "missing")]
    report = json.loads(project.cli("sweep", "--as-of", "2025-06-01", "--json", expect=1).stdout)
    assert report["state"] == "partial"
    assert "bucket lifecycle rule dsr-logs missing" in report["results"][0]["error"]

    applied = json.loads(project.cli("sweep", "lifecycle", "--apply", "--json").stdout)
    assert [(s["rule_id"], s["state"]) for s in applied] == [("dsr-logs", "matches")]
    bucket_rules = {
        r["ID"]: r for r in stores.client.get_bucket_lifecycle_configuration(Bucket=stores.bucket)["Rules"]
    }
    assert bucket_rules["dsr-logs"]["Filter"]["Prefix"] == "logs/"
    assert bucket_rules["dsr-logs"]["Expiration"]["Days"] == 90
    assert bucket_rules["tmp-cleanup"]["Expiration"]["Days"] == 1  # someone else's rule stays
    assert json.loads(project.cli("sweep", "--as-of", "2025-06-01", "--json").stdout)["state"] == "completed"

    changed = dict(bucket_rules["dsr-logs"], Expiration={"Days": 365})
    stores.client.put_bucket_lifecycle_configuration(
        Bucket=stores.bucket, LifecycleConfiguration={"Rules": [changed, foreign]}
    )
    drifted = json.loads(project.cli("sweep", "lifecycle", "--json", expect=1).stdout)
    assert [(s["rule_id"], s["state"], s["found"]) for s in drifted] == [
        ("dsr-logs", "differs", ["logs/", 365])
    ]


def test_archive_and_anonymise_rules(ruled):
    stores = ruled
    project = stores.project
    settings = yaml.safe_load(project.config_path.read_text())
    settings["stores"].append({"name": "archive", "kind": "parquet", "url": "archive"})
    project.config_path.write_text(yaml.safe_dump(settings))
    rules = {
        "rules": [
            dict(RULES["rules"][0], action="archive", archive_to="archive"),
            {
                "name": "event-ips",
                "store": "lake",
                "collection": "events",
                "category": "ip_address",
                "age": {"field": "at"},
                "period": "P30D",
                "action": "anonymise",
                "legal_basis": "security: addresses kept 30 days",
                "owner": "security",
            },
        ]
    }
    (project.root / "retention_rules.yaml").write_text(yaml.safe_dump(rules))
    before = tickets(stores)
    expired = {i for i, (at, _, _) in before.items() if at < datetime(2024, 6, 1)}

    report = by_rule(sweep(stores, "2025-06-01"))
    assert report["tickets"]["changed"] == len(expired) and report["event-ips"]["changed"] == 120
    assert tickets(stores).keys() == before.keys() - expired
    archived = pa.concat_tables(
        pq.read_table(f) for f in sorted((project.root / "archive").rglob("*.parquet"))
    )
    assert sorted(archived["id"].to_pylist()) == sorted(expired)
    meta = pq.read_schema(next((project.root / "archive").rglob("*.parquet"))).metadata
    assert meta[b"dsr.restricted"] == b"true" and meta[b"dsr.rule"] == b"tickets"
    events = ds.dataset(stores.lake / "events", partitioning="hive").to_table()
    assert events.num_rows == 120 and events["ip"].null_count == 120
    assert events["email"].null_count < 120  # only the rule's category is anonymised

    again = by_rule(sweep(stores, "2025-06-01"))
    assert again["tickets"]["changed"] == 0 and again["event-ips"]["changed"] == 0
