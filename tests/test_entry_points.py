"""One use case, one behaviour, whichever entry point asks: the CLI, the Python API or Dagster.

Each test here is a defect found when the CLI's API and the Dagster ops each did the work their
own way (issue 13); the behaviour now lives once, in the service layer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import dagster as dg
import pyarrow as pa
import pytest
import yaml

from dsr_pipelines.demo import shop
from dsr_pipelines.intake.api import Dsr
from dsr_pipelines.orchestration.io_manager import SummaryIOManagerFactory
from dsr_pipelines.orchestration.jobs import (
    backup_scan_job,
    dsr_job,
    retention_sweep_job,
    run_config,
    tenant_purge_job,
)
from dsr_pipelines.orchestration.launch import resources
from dsr_pipelines.orchestration.resources import DsrResource
from dsr_pipelines.orchestration.schedules import daily_backup_scan
from dsr_pipelines.orchestration.sensors import dsr_job_on_verified_requests

from .test_purge import configured, tenants_in


def run_job(job: dg.JobDefinition, project, run_config: dict) -> dg.ExecuteInProcessResult:
    """Launch a job as the Dagster UI or a sensor would: its own run config, nothing else."""
    return job.execute_in_process(
        run_config=run_config,
        instance=dg.DagsterInstance.get(),
        resources=resources(project.config_path),
        raise_on_error=False,
    )


def failure(result: dg.ExecuteInProcessResult) -> str:
    return next(str(e.event_specific_data.error.message) for e in result.all_events if e.is_step_failure)


@pytest.fixture
def terminated(stores, monkeypatch):
    return configured(stores, monkeypatch)


def test_a_purge_before_its_due_date_is_refused_from_the_cli_and_from_dagster(terminated):
    project = terminated.project
    project.cli("tenant", "terminate", "acme", "--effective", "2099-01-01", "--grace", "P30D")
    before = tenants_in(terminated)

    assert "is due on 2099-01-31" in project.cli("tenant", "purge", "acme", expect=2).stderr
    # Launched from the Dagster UI with the tenant's name: the same due check refuses it.
    config = {"tenant": "acme", "actor": "ops:ann"}
    result = run_job(tenant_purge_job, project, {"ops": {"purge_tenant": {"config": config}}})
    assert not result.success and "is due on 2099-01-31" in failure(result)
    assert tenants_in(terminated) == before


def test_the_cli_sweep_and_the_scheduled_sweep_both_delete_archives_past_their_obligation(terminated):
    project = terminated.project
    archive = project.root / "archive" / "tenants"
    for tenant in ("acme", "globex"):
        project.cli("tenant", "terminate", tenant, "--effective", "2026-01-31")
        project.cli("tenant", "purge", tenant)
        assert list((archive / tenant).rglob("*.enc"))  # invoices kept for tax law, ten years

    # Before the obligation ends, neither touches them; the dry run never does.
    assert json.loads(project.cli("sweep", "--as-of", "2036-01-30", "--json").stdout)["archives_expired"] == 0
    project.cli("sweep", "--as-of", "2036-02-01", "--dry-run")
    assert list((archive / "acme").rglob("*.enc"))

    report = json.loads(project.cli("sweep", "--as-of", "2036-02-01", "--json").stdout)
    assert report["archives_expired"] == 2  # both tenants' files: the CLI's sweep is the daily sweep
    assert not list(archive.rglob("*.enc"))
    events = json.loads(project.cli("audit", "show").stdout)
    assert [e["actor"] for e in events if e["event"] == "archive_expired"] == ["tester", "tester"]


def test_the_scheduled_sweep_deletes_archives_past_their_obligation(terminated):
    project = terminated.project
    project.cli("tenant", "terminate", "globex", "--effective", "2026-01-31")
    project.cli("tenant", "purge", "globex")
    config = {"as_of": "2036-02-01T02:30:00", "actor": "schedule:daily_retention_sweep"}
    result = run_job(retention_sweep_job, project, {"ops": {"sweep_retention": {"config": config}}})
    assert result.success
    assert not list((project.root / "archive").rglob("*.enc"))


def test_a_backup_scan_with_no_backups_declared_is_refused_from_the_cli_and_from_dagster(project):
    (project.root / "retention_rules.yaml").write_text(yaml.safe_dump({"rules": []}))
    assert "no backups declared" in project.cli("backups", "scan", expect=2).stderr
    config = {"actor": "schedule:daily_backup_scan"}
    result = run_job(backup_scan_job, project, {"ops": {"scan_backups": {"config": config}}})
    assert not result.success and "no backups declared" in failure(result)


def _with_unreachable_crm(project, url: str) -> None:
    project.write_config(
        stores=[
            {"name": "shop", "kind": "sql", "url": project.shop_url},
            {"name": "crm", "kind": "sql", "url": url},
        ]
    )
    crm = {
        "contacts": {
            "primary_key": ["id"],
            "shared": True,
            "shared_reason": "one contact list for every tenant",
            "fields": {"email": {"category": "email", "identity": "email"}},
        }
    }
    project.write_datamap({"shop": shop.DATAMAP, "crm": {"collections": crm}})


@pytest.mark.parametrize(
    "url, reason",
    [
        ("postgresql+psycopg://postgres@127.0.0.1:1/test", "store crm"),  # nothing listens there
        ("postgresql+nodriver://x@127.0.0.1/test", "store crm: NoSuchModuleError"),  # no such driver
    ],
)
def test_the_dry_run_checks_unreachable_stores_as_the_run_does(project, url, reason):
    _with_unreachable_crm(project, url)
    request_id = project.submit(project.people[0], "erasure")
    before = project.snapshot()

    dry = project.cli("run", str(request_id), "--dry-run", "--json", expect=1)
    refused = json.loads(dry.stdout)["refused"][str(request_id)]
    assert reason in refused and "Traceback" not in dry.stderr
    with Dsr(project.config_path, actor="api:test") as dsr:
        assert reason in dsr.dry_run([request_id]).refused[request_id]
    assert json.loads(project.cli("status", str(request_id), "--json").stdout)["state"] == "verified"

    project.cli("run", str(request_id), expect=1)  # the run refuses for the same reason
    status = json.loads(project.cli("status", str(request_id), "--json").stdout)
    assert status["state"] == "failed" and reason in status["error"]
    assert project.snapshot() == before


def test_the_dry_run_exits_1_when_it_shows_the_guard_refusing(project):
    project.write_config(guard={"max_share": 0.01, "min_rows": 1})  # two addresses is too many now
    request_id = project.submit(project.people[6], "erasure")
    result = project.cli("run", str(request_id), "--dry-run", expect=1)
    assert "would be refused" in result.stdout and "over-deletion guard" in result.stdout
    refused = json.loads(project.cli("run", str(request_id), "--dry-run", "--json", expect=1).stdout)[
        "refused"
    ]
    assert "shop.addresses matched 2" in refused[str(request_id)]
    project.write_config(guard={"max_share": 0.01, "min_rows": 10})
    assert json.loads(project.cli("run", str(request_id), "--dry-run", "--json").stdout)["refused"] == {}


def _actors(project, request_ids) -> dict[str, set[str]]:
    """Per actor, the ledger events of these requests it wrote."""
    out: dict[str, set[str]] = {}
    for request_id in request_ids:
        for event in json.loads(project.cli("audit", "show", "--request", str(request_id)).stdout):
            out.setdefault(event["actor"], set()).add(event["event"])
    return out


def test_the_actor_who_asks_is_the_actor_of_every_ledger_event_of_the_run(project):
    """The CLI's --actor, the Python API's actor: every per-store, final and backup event names them."""
    erasure = project.submit(project.people[1], "erasure")  # by --actor tester
    access = project.submit(project.people[2], "access")
    restriction = project.submit(project.people[3], "restriction")
    project.cli("run", str(erasure), str(access), str(restriction))
    lift = project.submit(project.people[3], "lift-restriction")
    with Dsr(project.config_path, actor="api:controller-acme") as dsr:
        assert dsr.run([lift]).all_completed
        dsr.export(access, project.root / "package")

    assert _actors(project, [erasure]) == {
        "tester": {"submitted", "verified", "running", "store_done", "completed", "identities_removed"}
    }
    assert _actors(project, [restriction]) == {
        "tester": {"submitted", "verified", "running", "store_done", "completed"},
        "api:controller-acme": {"restriction_lifted"},  # lifted by the lift request's run
    }
    assert _actors(project, [lift]) == {
        "tester": {"submitted", "verified"},
        "api:controller-acme": {"running", "store_done", "completed"},
    }
    assert _actors(project, [access]) == {
        "tester": {"submitted", "verified", "running", "store_done", "completed"},
        "api:controller-acme": {"exported"},
    }


def test_a_run_the_sensor_launches_names_the_sensor_in_every_event_it_writes(project):
    ids = [project.submit(person, "erasure") for person in project.people[4:6]]
    with dg.build_sensor_context(resources={"dsr": DsrResource(config_path=str(project.config_path))}) as ctx:
        (run,) = dsr_job_on_verified_requests(ctx).run_requests
    result = run_job(dsr_job, project, run.run_config)
    assert result.success
    written = _actors(project, ids)
    assert set(written) == {"tester", "sensor:dsr_job_on_verified_requests"}
    assert written["tester"] == {"submitted", "verified"}
    assert written["sensor:dsr_job_on_verified_requests"] == {
        "running",
        "store_done",
        "completed",
        "identities_removed",
    }


def test_the_launchpad_asks_for_the_request_ids_once():
    ops = dsr_job.run_config_schema.config_type.fields["ops"].config_type.fields
    configured_ops = {
        name
        for name, op in ops.items()
        if getattr(op.config_type.fields["config"].config_type, "fields", None)
    }
    assert configured_ops == {"start_requests"}
    assert run_config([3, 4], "ops:ann").to_config_dict()["ops"] == {
        "start_requests": {"config": {"request_ids": [3, 4], "actor": "ops:ann"}}
    }


def test_the_backup_scan_schedule_passes_its_tick_time_and_its_name():
    tick = datetime(2026, 3, 1, 3, 15, tzinfo=UTC)
    with dg.build_schedule_context(scheduled_execution_time=tick) as context:
        request = daily_backup_scan.evaluate_tick(context).run_requests[0]
    assert request.run_config["ops"]["scan_backups"]["config"] == {
        "as_of": "2026-03-01T03:15:00",
        "actor": "schedule:daily_backup_scan",
    }


@dg.op
def leaks_rows() -> pa.Table:
    return pa.table({"email": ["ann@example.com"]})


@dg.op
def leaks_text() -> str:
    return "ann@example.com"


@dg.op
def counts() -> dict[str, int]:
    return {"shop": 3}


@pytest.mark.parametrize("op, ok", [(leaks_rows, False), (leaks_text, False), (counts, True)])
def test_the_io_manager_stores_summaries_only(tmp_path, op, ok):
    job = dg.GraphDefinition(name=f"one_{op.name}", node_defs=[op]).to_job(
        resource_defs={"io_manager": SummaryIOManagerFactory(base_dir=str(tmp_path))}
    )
    result = job.execute_in_process(raise_on_error=False)
    assert result.success is ok
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert b"ann@example.com" not in stored
    if not ok:
        assert "not a summary" in failure(result)
