"""Stores that fail mid-run: PostgreSQL restarted inside an erasure's transaction, SeaweedFS killed
while it rewrites an object, a Parquet file corrupted between listing and reading. Each ends in a
clear per-store state, with nothing half-written, and a re-run completes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from connectors.parquet import TMP_PREFIX, reading
from connectors.s3.bucket import Bucket
from connectors.sql import connector as sql_connector

from . import s3server
from .conftest import make_project, make_stores


def theirs_events(path: Path, person) -> list[dict]:
    rows = pq.read_table(path).to_pylist()
    return sorted((r for r in rows if r["user_id"] == person.customer_id), key=lambda r: r["event_id"])


def status(project, request_id: int) -> dict:
    return json.loads(project.cli("status", str(request_id), "--json").stdout)


def restart_postgres() -> None:
    """A real restart of the machine's PostgreSQL (fast mode: open transactions are cut)."""
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"]
    subprocess.run(command, check=True, capture_output=True, timeout=60)


@pytest.mark.parametrize("state", ["apart", "same database"])
def test_postgresql_restarted_inside_an_erasure_leaves_the_store_as_it_was_and_a_rerun_completes(
    tmp_path, pg_url, monkeypatch, state
):
    project = make_project(tmp_path, pg_url)
    if state == "same database":  # as in production: the state database loses its connections too
        project.write_config(request_store=pg_url)
    person = project.people[3]  # orders kept for tax law: the customer row is masked, not deleted
    before = project.snapshot()
    request_id = project.submit(person, "erasure")
    mask = sql_connector.mask_where
    restarted = []

    def restart_then_mask(*args, **kwargs):
        if not restarted:  # the addresses are already deleted in this transaction
            restart_postgres()
            restarted.append(True)
        return mask(*args, **kwargs)

    monkeypatch.setattr(sql_connector, "mask_where", restart_then_mask)
    project.cli("run", str(request_id), expect=1)
    failed = status(project, request_id)
    assert failed["state"] == "failed" and failed["stores"]["shop"]["status"] == "failed"
    assert "store shop" in failed["error"] and person.email not in failed["error"]
    assert project.snapshot() == before  # the transaction was cut: none of it happened

    monkeypatch.setattr(sql_connector, "mask_where", mask)
    project.cli("run", str(request_id))
    done = status(project, request_id)
    assert done["state"] == "completed" and done["probe"]["residual"] == 0
    assert {r["collection"]: r["deleted"] for r in done["results"]}["addresses"] == 2


@pytest.fixture
def own_server(tmp_path):
    """A SeaweedFS of this test's own, to kill and start again on the same data."""
    workdir = tmp_path / "weed"
    workdir.mkdir()
    try:
        weed, server = s3server.start(workdir)
    except (OSError, RuntimeError, TimeoutError) as exc:
        pytest.fail(f"SeaweedFS did not start: {exc}")
    state = {"weed": weed, "server": server, "workdir": workdir}
    yield state
    s3server.stop(state["weed"])


def test_seaweedfs_killed_during_an_object_rewrite_leaves_objects_old_or_new_and_a_rerun_completes(
    tmp_path, own_server, monkeypatch
):
    server = own_server["server"]
    bucket = server.new_bucket()
    (tmp_path / "project").mkdir()
    stores = make_stores(
        tmp_path / "project", f"sqlite:///{tmp_path / 'shop.db'}", server, bucket, monkeypatch
    )
    project, person = stores.project, stores.project.people[0]
    before = stores.objects()
    mentions = sorted(
        k for k, v in before.items() if person.email.encode() in v and not k.startswith("users/")
    )
    request_id = project.submit(person, "erasure")
    replace = Bucket.replace

    def killed_before_the_write(self, key, data, original):
        s3server.stop(own_server["weed"])  # the server dies with the new bytes in flight
        return replace(self, key, data, original)

    monkeypatch.setattr(Bucket, "replace", killed_before_the_write)
    project.cli("run", str(request_id), expect=1)
    monkeypatch.setattr(Bucket, "replace", replace)
    failed = status(project, request_id)
    assert failed["state"] == "failed"
    assert (
        failed["stores"]["files"]["status"] == "failed"
        and "store files" in failed["stores"]["files"]["error"]
    )
    assert failed["stores"]["shop"]["status"] == "done"  # the other stores went on

    weed, restarted = s3server.start(own_server["workdir"])  # the same data, new ports
    own_server.update(weed=weed, server=restarted)
    settings = yaml.safe_load(project.config_path.read_text())
    settings["stores"][2]["endpoint_url"] = restarted.endpoint
    project.write_config(**settings)
    stores.client = restarted.client()
    after_crash = stores.objects()
    for key in before:  # every object is whole: as it was, or rewritten (none half-written)
        assert (
            key not in after_crash
            or after_crash[key] == before[key]
            or person.email.encode() not in after_crash[key]
        )
    assert [k for k in mentions if after_crash.get(k) == before[k]]  # the killed rewrite left its object old

    project.cli("run", str(request_id))
    assert status(project, request_id)["state"] == "completed"
    assert not [k for k, v in stores.objects().items() if person.email.encode() in v]


def test_a_parquet_file_corrupted_mid_pass_is_listed_and_a_rerun_completes(
    tmp_path, s3_server, bucket, monkeypatch
):
    stores = make_stores(tmp_path, f"sqlite:///{tmp_path / 'shop.db'}", s3_server, bucket, monkeypatch)
    project, person = stores.project, stores.project.people[2]
    files = sorted((stores.lake / "events").rglob("*.parquet"))
    theirs = [
        f for f in files if person.customer_id in pq.read_table(f, columns=["user_id"])["user_id"].to_pylist()
    ]
    victim = theirs[-1]  # a file holding some of the subject's events
    intact = victim.read_bytes()
    request_id = project.submit(person, "erasure")
    open_file = reading.open_file
    corrupt = b"PAR1" + b"\x00" * 64 + b"PAR1"
    corrupted = []

    def corrupt_another_then_open(fs, f, like=None):
        if not corrupted:  # the pass has started: the last file turns unreadable before its turn
            victim.write_bytes(corrupt)
            corrupted.append(True)
        return open_file(fs, f, like)

    monkeypatch.setattr(reading, "open_file", corrupt_another_then_open)
    project.cli("run", str(request_id), expect=1)
    monkeypatch.setattr(reading, "open_file", open_file)
    partial = status(project, request_id)
    assert partial["state"] == "partially_completed"
    assert [(s["store"], s["item"]) for s in partial["skipped"]] == [
        ("lake", str(victim.relative_to(stores.lake / "events")))
    ]
    assert not [p for p in stores.lake.rglob("*") if p.name.startswith(TMP_PREFIX)]  # nothing half-written
    others = [f for f in files if f != victim]
    assert not [f for f in others if theirs_events(f, person)]  # erased from every readable file
    assert victim.read_bytes() == corrupt  # the unreadable file was left as it was

    victim.write_bytes(intact)  # someone restores the file
    project.cli("run", str(request_id))
    assert status(project, request_id)["state"] == "completed"
    assert not [e for e in stores.events() if e["user_id"] == person.customer_id]
