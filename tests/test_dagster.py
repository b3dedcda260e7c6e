"""Dagster wiring: the workspace loads, the sensor batches, and no personal data reaches Dagster."""

from __future__ import annotations

import importlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import yaml

from dsr_pipelines.core.config import load_config
from dsr_pipelines.orchestration.jobs import discovery_job
from dsr_pipelines.orchestration.launch import dagster_instance, resources
from dsr_pipelines.orchestration.resources import DsrResource
from dsr_pipelines.orchestration.sensors import dsr_job_on_verified_requests

from .conftest import files_containing

ROOT = Path(__file__).resolve().parents[1]


def test_workspace_loads_one_definitions_with_jobs_sensor_and_schedule():
    (entry,) = yaml.safe_load((ROOT / "workspace.yaml").read_text())["load_from"]
    module = importlib.import_module(entry["python_module"]["module_name"])
    defs = getattr(module, entry["python_module"]["attribute"])
    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    assert sorted(j.name for j in repo.get_all_jobs() if not j.name.startswith("__")) == [
        "backup_scan_job",
        "discovery_job",
        "dsr_job",
        "retention_sweep_job",
        "tenant_purge_job",
    ]
    assert sorted(s.name for s in repo.sensor_defs) == [
        "dsr_job_on_released_holds",
        "dsr_job_on_run_failure",
        "dsr_job_on_verified_requests",
        "tenant_purge_on_due_terminations",
    ]
    schedules = {s.name: (s.job_name, s.cron_schedule) for s in repo.schedule_defs}
    assert schedules == {
        "weekly_discovery": ("discovery_job", "0 3 * * 1"),
        "daily_retention_sweep": ("retention_sweep_job", "30 2 * * *"),
        "daily_backup_scan": ("backup_scan_job", "15 3 * * *"),
    }
    # An operator turns them on.
    assert {s.default_status for s in repo.schedule_defs} == {dg.DefaultScheduleStatus.STOPPED}


def test_sensor_batches_verified_requests_by_type_with_run_keys(project):
    p = project
    erasures = [p.submit(person, "erasure") for person in p.people[:3]]
    access = p.submit(p.people[3], "access")
    unverified = p.cli(
        "submit", "--tenant", "acme", "--type", "access", "--identity", f"email={p.people[4].email}"
    ).stdout.strip()
    resource = DsrResource(config_path=str(p.config_path))

    def tick(cursor):
        with dg.build_sensor_context(cursor=cursor, resources={"dsr": resource}) as context:
            return dsr_job_on_verified_requests(context)

    result = tick(None)
    runs = {r.run_key: r for r in result.run_requests}
    assert set(runs) == {f"erasure:{erasures[0]}-{erasures[-1]}", str(access)}
    batch = runs[f"erasure:{erasures[0]}-{erasures[-1]}"]
    # The ids are asked for once, by the first op; the sensor is the actor.
    sensor = "sensor:dsr_job_on_verified_requests"
    assert batch.run_config["ops"] == {
        "start_requests": {"config": {"request_ids": erasures, "actor": sensor}}
    }
    assert batch.tags["dsr/kind"] == "erasure"
    assert batch.tags["dsr/writes"] == "true"  # the production queue runs one such run at a time
    assert runs[str(access)].tags["dsr/writes"] == "false"  # an access run only reads

    again = tick(result.cursor)
    assert isinstance(again, dg.SkipReason)
    p.cli("verify", unverified)
    later = tick(result.cursor)
    assert [r.run_key for r in later.run_requests] == [unverified]


def test_no_personal_data_in_dagster_storage_logs_or_run_records(project, dagster_home, caplog, capfd):
    p = project
    people = p.people[10:14]
    ids = [p.submit(person, "erasure", "--identity", f"phone={person.phone}") for person in people[:2]]
    ids += [p.submit(person, "access") for person in people[2:]]
    caplog.set_level(logging.DEBUG)
    p.cli("run", *map(str, ids), "--verbose")

    needles = [v for person in people for v in (person.email, person.phone, person.name)]
    assert files_containing(dagster_home, needles) == []
    instance = dg.DagsterInstance.get()
    runs = instance.get_runs(dg.RunsFilter(tags={"dsr/batch": f"{ids[0]}-{ids[-1]}"}))
    assert runs and list(dagster_home.rglob("*.pickle"))  # the runs and their outputs are there
    records = json.dumps([(r.run_config, r.tags) for r in runs], default=str)
    events = json.dumps([str(e) for r in runs for e in instance.all_logs(r.run_id)])
    logs = caplog.text + "".join(capfd.readouterr())
    for needle in needles:
        assert needle not in records and needle not in events and needle not in logs, needle
    # The state database keeps identities encrypted, the ledger keeps references, staged exports are
    # encrypted: only the shop itself still holds the access subjects (the erased ones are gone).
    shop_db = Path(p.shop_url.removeprefix("sqlite:///")).name
    hits = files_containing(p.root, [v for person in people for v in (person.email, person.phone)])
    assert sorted(hits) == sorted(
        f"{shop_db}: {v}" for person in people[2:] for v in (person.email, person.phone)
    )


def test_discovery_job_logs_proposals_and_keeps_values_out_of_dagster(project, dagster_home, caplog):
    p = project
    spec = yaml.safe_load((p.root / "datamap.yaml").read_text())
    del spec["stores"]["shop"]["collections"]["addresses"]
    (p.root / "datamap.yaml").write_text(yaml.safe_dump(spec))
    before = (p.root / "datamap.yaml").read_text()
    caplog.set_level(logging.DEBUG)
    result = discovery_job.execute_in_process(
        instance=dg.DagsterInstance.get(),
        resources=resources(p.config_path),
        run_config={"ops": {"discover_stores": {"config": {"actor": "ops:ann"}}}},
    )
    assert result.success
    assert result.output_for_node("discover_stores")["shop"]["add_collection"] == 1
    assert (p.root / "datamap.yaml").read_text() == before  # proposals wait for review
    listed = p.cli("discover", "changes").stdout
    assert "add_collection" in listed and "addresses" in listed
    (event,) = [e for e in json.loads(p.cli("audit", "show").stdout) if e["event"] == "discovery_run"]
    assert event["actor"] == "ops:ann"
    needles = [v for person in p.people for v in (person.email, person.phone, person.name)]
    assert files_containing(dagster_home, needles) == []
    assert not [n for n in needles if n in caplog.text]


def test_dagster_cli_validates_the_workspace(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (
        "Validation successful for code location dsr_pipelines.definitions" in result.stdout + result.stderr
    )


def test_the_cli_instance_keeps_every_event_in_one_database_and_no_compute_logs(project, monkeypatch):
    """Without $DAGSTER_HOME the CLI keeps Dagster's storage beside the state database: every
    step's events in one event-log database, no captured stdout or stderr, no personal data."""
    monkeypatch.delenv("DAGSTER_HOME")
    people = project.people[:2]
    ids = [project.submit(people[0], "access"), project.submit(people[1], "erasure")]
    project.cli("run", *map(str, ids))

    local = project.root / ".dsr" / "dagster"
    instance = dagster_instance(load_config(project.config_path))
    (run,) = instance.get_runs(dg.RunsFilter(tags={"dsr/batch": f"{ids[0]}-{ids[-1]}"}))
    events = instance.all_logs(run.run_id)
    succeeded = {
        e.step_key for e in events if e.dagster_event and e.dagster_event.event_type_value == "STEP_SUCCESS"
    }
    assert succeeded == {
        "start_requests",
        "inspect_store[shop]",
        "decide_requests",
        "apply_store[shop]",
        "finish_requests",
    }
    assert not [e for e in events if "Writing file at" in (e.user_message or "")]  # no IO manager chatter
    assert (local / "history" / "event_log.db").is_file()
    assert not [p for p in local.rglob("*") if p.suffix in (".out", ".err", ".complete")]  # no compute logs
    needles = [v for person in people for v in (person.email, person.phone, person.name)]
    assert files_containing(local, needles) == []
