"""`deploy/dagster.yaml` makes the production instance it describes: storage on PostgreSQL, runs
queued with dsr's concurrency limits, run monitoring on, no telemetry and no kept stdout."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def production_instance(pg_url, tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    shutil.copytree(ROOT / "deploy", home)
    # dagster-postgres connects with psycopg2: the same database and schema, its driver's URL.
    monkeypatch.setenv("DAGSTER_PG_URL", pg_url.replace("postgresql+psycopg://", "postgresql+psycopg2://"))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        yield instance


def test_the_production_instance_keeps_runs_in_postgresql_and_queues_them(production_instance, pg_url):
    instance = production_instance
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    assert type(instance.compute_log_manager).__name__ == "NoOpComputeLogManager"
    assert instance.run_monitoring_enabled
    assert not instance.telemetry_enabled

    # One run that changes stores at a time; the limit is on the tag dsr's runs carry.
    limits = instance.run_coordinator.get_run_queue_config().tag_concurrency_limits
    assert {"key": "dsr/writes", "value": "true", "limit": 1} in limits

    run = instance.create_run_for_job(dg.GraphDefinition(name="noop").to_job(), tags={"dsr/writes": "true"})
    assert instance.get_run_by_id(run.run_id).tags["dsr/writes"] == "true"
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:  # the run is a row of PostgreSQL, in the schema given
        assert conn.execute(sa.text("select count(*) from runs")).scalar_one() == 1
    engine.dispose()


def test_the_deploy_file_keeps_secrets_out():
    text = (ROOT / "deploy" / "dagster.yaml").read_text()
    config = yaml.safe_load(text)
    assert config["storage"]["postgres"]["postgres_url"] == {"env": "DAGSTER_PG_URL"}
    assert "password" not in text.lower()
