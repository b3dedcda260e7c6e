"""A run killed with SIGKILL at each step boundary of the job, then resumed: every request completes,
with the counts of an uninterrupted run, the same data left in the stores, and the ledger intact.

The shop (SQLite, one transaction per erasure) and its lake (Parquet, rewritten file by file) are
both erased; the kill is a real SIGKILL of a `dsr run` process (`DSR_CRASH_AT`, core/faults.py).
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from dsr_pipelines.demo import files as shopfiles
from dsr_pipelines.demo import shop
from dsr_pipelines.intake.api import Dsr

from .conftest import Project, killed_run, make_project

POINTS = ["start", "inspect", "decide", "apply:before_commit", "apply:after_commit", "finish"]
SUBJECTS = slice(0, 6)


def lake_project(root: Path) -> Project:
    root.mkdir(parents=True)
    project = make_project(root, f"sqlite:///{root / 'shop.db'}")
    shopfiles.write_lake(root / "lake", project.people)
    project.write_config(
        stores=[
            {"name": "shop", "kind": "sql", "url": project.shop_url},
            {"name": "lake", "kind": "parquet", "url": "lake"},
        ],
        lease_seconds=1,  # a killed run's requests are free again a second later
    )
    project.write_datamap({"shop": shop.DATAMAP, "lake": shopfiles.LAKE_DATAMAP})
    return project


def submit_all(project: Project) -> list[int]:
    with Dsr(project.config_path, actor="controller") as dsr:
        return [
            dsr.submit(p.tenant, "erasure", [f"email={p.email}"], verified=True).id
            for p in project.people[SUBJECTS]
        ]


def outcome(project: Project, ids: list[int]) -> dict:
    """What a reader can check afterwards: states, counts per store and collection, data left."""
    with Dsr(project.config_path) as dsr:
        counts = {
            i: sorted(
                (r.store, r.collection, r.found, r.deleted, r.masked, r.retained)
                for r in dsr.status(i).results
            )
            for i in ids
        }
        states = {i: dsr.status(i).record.state for i in ids}
        verdict = dsr.verify_ledger()
    events = ds.dataset(project.root / "lake" / "events", partitioning="hive").to_table()
    lake = sorted(events.drop_columns(["day"]).to_pylist(), key=lambda r: r["event_id"])
    return {
        "states": states,
        "counts": counts,
        "shop": project.snapshot(),
        "lake": lake,
        "ledger": verdict.ok,
    }


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DSR_MASTER_KEY", base64.b64encode(b"k" * 32).decode())
        mp.setenv("DAGSTER_HOME", str(tmp_path_factory.mktemp("dagster-reference")))
        project = lake_project(tmp_path_factory.mktemp("reference") / "project")
        ids = submit_all(project)
        with Dsr(project.config_path, actor="operator") as dsr:
            assert dsr.run(ids).all_completed
        return outcome(project, ids)


@pytest.mark.parametrize("point", POINTS)
def test_a_run_killed_at_a_step_boundary_resumes_to_the_uninterrupted_result(point, uninterrupted, tmp_path):
    project = lake_project(tmp_path / "project")
    ids = submit_all(project)
    killed_run(project, ids, point, tmp_path / "dagster")
    time.sleep(1.2)  # the killed run's lease runs out
    assert {r["id"] for r in json.loads(project.cli("list", "--stale", "--json").stdout)} == set(ids)

    project.cli("run", "--pending")
    assert outcome(project, ids) == uninterrupted
