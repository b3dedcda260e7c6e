"""Backup inventory and age-out: backups are confirmed gone by listing them, never by date arithmetic.

A backup bucket on SeaweedFS whose objects the test removes as time passes; a backup that refuses
to age out and raises the alert; a location that cannot be listed, which is unknown, never aged out.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import yaml

from dsr_pipelines.intake.api import Dsr
from dsr_pipelines.orchestration.jobs import backup_scan_job
from dsr_pipelines.orchestration.launch import resources

TODAY = datetime.now(UTC).date()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


@pytest.fixture
def backed_up(project, s3_server, monkeypatch):
    """The shop, with its nightly dumps in a bucket under shop/, named by date, rotated after 30 days."""
    project = project
    bucket = s3_server.new_bucket()
    monkeypatch.setenv("BACKUP_ACCESS_KEY", s3_server.access_key)
    monkeypatch.setenv("BACKUP_SECRET_KEY", s3_server.secret_key)
    project.write_config(
        stores=[
            {"name": "shop", "kind": "sql", "url": project.shop_url},
            {
                "name": "vault",
                "kind": "s3",
                "url": f"s3://{bucket}",
                "endpoint_url": s3_server.endpoint,
                "access_key_env": "BACKUP_ACCESS_KEY",
                "secret_key_env": "BACKUP_SECRET_KEY",
            },
        ]
    )
    rules = {
        "backups": [
            {
                "store": "shop",
                "location": {"s3_store": "vault", "prefix": "shop/"},
                "time": {"name_date": "%Y-%m-%d"},
                "rotation": "P30D",
            }
        ]
    }
    (project.root / "retention_rules.yaml").write_text(yaml.safe_dump(rules))
    client = s3_server.client()
    for offset in (-20, -10, -2):
        client.put_object(Bucket=bucket, Key=f"shop/shop-{day(offset)}.dump", Body=b"PGDMP")
    return project, client, bucket


def scan(project, expect: int = 0) -> list[dict]:
    return json.loads(project.cli("backups", "scan", "--json", expect=expect).stdout)


def test_an_erasure_waits_until_every_backup_taken_before_it_is_listed_as_gone(backed_up):
    project, client, bucket = backed_up
    (first,) = scan(project)
    assert (first["state"], first["present"], first["new"]) == ("ok", 3, 3)

    person = project.people[0]
    with Dsr(project.config_path, actor="ops") as dsr:  # the controller hears when it is over
        dsr.add_webhook(person.tenant, "http://127.0.0.1:9/hook")
    request_id = project.submit(person)
    project.cli("run", str(request_id))
    # A backup taken after the erasure does not hold the erased data.
    client.put_object(Bucket=bucket, Key=f"shop/shop-{day(1)}.dump", Body=b"PGDMP")

    status = json.loads(project.cli("status", str(request_id), "--json").stdout)
    assert status["state"] == "completed"
    assert status["backups"]["state"] == "awaiting_backup_ageout"
    assert [b["name"] for b in status["backups"]["backups"]] == [
        f"shop/shop-{day(d)}.dump" for d in (-20, -10, -2)
    ]

    client.delete_object(Bucket=bucket, Key=f"shop/shop-{day(-20)}.dump")  # rotated out
    (second,) = scan(project)
    assert (second["gone"], second["present"]) == (1, 3)
    assert json.loads(project.cli("status", str(request_id), "--json").stdout)["backups"]["state"] == (
        "awaiting_backup_ageout"
    )

    # The location disappears: unknown, and nothing ages out because of it.
    for key in (f"shop/shop-{day(d)}.dump" for d in (-10, -2, 1)):
        client.delete_object(Bucket=bucket, Key=key)
    client.delete_bucket(Bucket=bucket)
    (lost,) = scan(project, expect=1)
    assert lost["state"] == "unknown" and "vault" in lost["error"]
    assert json.loads(project.cli("status", str(request_id), "--json").stdout)["backups"]["state"] == (
        "awaiting_backup_ageout"
    )

    client.create_bucket(Bucket=bucket)  # listed again, and empty: every backup is confirmed gone
    (third,) = scan(project)
    assert third["gone"] == 3
    final = json.loads(project.cli("status", str(request_id), "--json").stdout)["backups"]
    assert final["state"] == "backups_aged_out"
    assert all(b["gone_at"] for b in final["backups"])
    events = json.loads(project.cli("audit", "show", "--request", str(request_id)).stdout)
    assert [e["event"] for e in events][-2:] == ["awaiting_backup_ageout", "backups_aged_out"]
    assert person.email not in json.dumps(events, default=str)
    with project.db() as db:
        told = [e for e in db.webhooks.events(person.tenant) if e.kind == "request.backups_aged_out"]
    assert [e.request_id for e in told] == [request_id]


def test_a_backup_past_its_rotation_is_an_alert(backed_up):
    project, client, bucket = backed_up
    client.put_object(Bucket=bucket, Key=f"shop/shop-{day(-45)}.dump", Body=b"PGDMP")  # refuses to go
    (result,) = scan(project, expect=1)
    assert result["state"] == "overdue" and result["overdue"] == [f"shop/shop-{day(-45)}.dump"]

    run = backup_scan_job.execute_in_process(
        run_config={"ops": {"scan_backups": {"config": {"actor": "ops:ann"}}}},
        instance=dg.DagsterInstance.get(),
        resources=resources(project.config_path),
        raise_on_error=False,
    )
    assert not run.success  # the daily job fails while the promise is broken
    failure = next(e for e in run.all_events if e.event_type_value == "STEP_FAILURE")
    assert "backups not as promised: shop: overdue" in str(failure.event_specific_data.error.message)

    client.delete_object(Bucket=bucket, Key=f"shop/shop-{day(-45)}.dump")
    assert scan(project)[0]["state"] == "ok"


def test_a_sweep_is_tied_to_the_backups_taken_before_it(backed_up):
    project, _, _ = backed_up
    rules = yaml.safe_load((project.root / "retention_rules.yaml").read_text())
    rules["rules"] = [
        {
            "name": "tickets",
            "store": "shop",
            "collection": "support_tickets",
            "age": {"field": "opened_at"},
            "period": "P1Y",
            "legal_basis": "test",
            "owner": "test",
        }
    ]
    (project.root / "retention_rules.yaml").write_text(yaml.safe_dump(rules))
    report = json.loads(project.cli("sweep", "--json").stdout)
    assert report["results"][0]["changed"] > 0
    waiting = json.loads(project.cli("backups", "status", "--json").stdout)["waiting"]
    assert [(w["holder"], w["state"]) for w in waiting] == [
        (f"sweep:{report['sweep']}", "awaiting_backup_ageout")
    ]


def test_a_directory_of_dumps_dated_by_file_time(project):
    project = project
    folder = project.root / "dumps"
    folder.mkdir()
    for offset in (-40, -5):
        dump = folder / f"shop{offset}.sql.gz"
        dump.write_bytes(b"x")
        moment = (datetime.now(UTC) + timedelta(days=offset)).timestamp()
        os.utime(dump, (moment, moment))
    (folder / ".partial").write_bytes(b"x")  # hidden: not a backup
    rules = {"backups": [{"store": "shop", "location": {"directory": "dumps"}, "rotation": "P30D"}]}
    (project.root / "retention_rules.yaml").write_text(yaml.safe_dump(rules))
    (result,) = scan(project, expect=1)
    assert (result["present"], result["overdue"]) == (2, ["shop-40.sql.gz"])
    folder.rename(project.root / "dumps-away")
    (lost,) = scan(project, expect=1)
    assert lost["state"] == "unknown" and "dumps is not a directory" in lost["error"]


def test_bad_backup_declarations_are_refused(project):
    project = project
    cases = [
        (
            {"store": "shop", "location": {"directory": "d"}, "rotation": "30 days"},
            "backups of shop: rotation",
        ),
        (
            {"store": "nope", "location": {"directory": "d"}, "rotation": "P30D"},
            "backups of nope: unknown store",
        ),
        (
            {"store": "shop", "location": {"s3_store": "shop"}, "rotation": "P30D"},
            "s3_store must name an s3 store",
        ),
        ({"store": "shop", "location": {}, "rotation": "P30D"}, "give exactly one of directory or s3_store"),
    ]
    for backup, message in cases:
        (project.root / "retention_rules.yaml").write_text(yaml.safe_dump({"backups": [backup]}))
        assert message in project.cli("backups", "scan", expect=2).stderr
    (project.root / "retention_rules.yaml").write_text(yaml.safe_dump({"rules": []}))
    assert "no backups declared" in project.cli("backups", "scan", expect=2).stderr


def test_rotation_is_judged_by_the_scans_clock(backed_up):
    project, _, _ = backed_up
    assert scan(project)[0]["state"] == "ok"
    later = json.loads(project.cli("backups", "scan", "--as-of", day(40), "--json", expect=1).stdout)
    assert later[0]["overdue"] == [f"shop/shop-{day(d)}.dump" for d in (-20, -10, -2)]
