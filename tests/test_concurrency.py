"""One run per request, per rule swept, per tenant purged: leases taken atomically in the state
database. Interrupted requests become pending again once their run's lease runs out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import yaml

from dsr_pipelines.core.durations import parse_duration
from dsr_pipelines.core.faults import PAUSE_ENV
from dsr_pipelines.core.identities import normalise
from dsr_pipelines.core.keys import MasterKey
from dsr_pipelines.demo import shop
from dsr_pipelines.intake.api import Dsr
from dsr_pipelines.service.workspace import Workspace
from dsr_pipelines.state.db import StateDB

from .conftest import fresh_database, make_project

DSR = str(os.path.join(os.path.dirname(sys.executable), "dsr"))


def later(minutes: int) -> datetime:
    return datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=minutes)


def test_two_runs_started_together_process_each_request_once(tmp_path, dagster_home):
    """400 erasures, two `dsr run --pending` 0.3 s apart, on PostgreSQL: each request runs in one of
    them, and the shop ends exactly as after one run. Both list the same pending requests; the
    first is held just before it claims them and the second just after (a batch is over in a
    second now), so the first finds every one held by the second."""
    urls = [fresh_database("postgresql", tmp_path) for _ in range(3)]
    concurrent_shop, single_shop, state = (next(u) for u in urls)
    people = shop.people(500, tenants=("acme", "globex"))
    projects = {}
    for name, url, store in (("two", concurrent_shop, state), ("one", single_shop, None)):
        root = tmp_path / name
        root.mkdir()
        project = make_project(root, url, n=500)
        project.write_config(
            guard={"max_share": 0.5, "min_rows": 10}, **({"request_store": store} if store else {})
        )
        with Dsr(project.config_path, actor="controller") as dsr:
            ids = [
                dsr.submit(p.tenant, "erasure", [f"email={p.email}"], verified=True).id for p in people[:400]
            ]
        projects[name] = project
    with Dsr(projects["one"].config_path, actor="single") as dsr:
        assert dsr.run(ids).all_completed

    def start(index: int, pause: str) -> subprocess.Popen:
        home = tmp_path / f"dagster-{index}"
        home.mkdir()
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        env = {**os.environ, "DAGSTER_HOME": str(home), PAUSE_ENV: pause}
        args = [
            DSR,
            "--config",
            str(projects["two"].config_path),
            "--actor",
            f"runner-{index}",
            "run",
            "--pending",
            "--json",
        ]
        return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    first = start(1, "claim:4")
    time.sleep(0.3)
    second = start(2, "start:8")
    outputs = [p.communicate(timeout=600) for p in (first, second)]
    for process, (_, stderr) in zip((first, second), outputs, strict=True):
        assert process.returncode == 0, stderr[-2000:]
        assert "cannot become" not in stderr
    # Both runs were started with the requests; each skipped, saying so, those the other held.
    results = [json.loads(stdout) for stdout, _ in outputs]
    assert all(set(r["states"]) == {str(i) for i in ids} for r in results)
    skipped = [set(r["skipped"]) for r in results]
    assert skipped == [{str(i) for i in ids}, set()]

    with projects["two"].db() as db:
        events = db.ledger.events()
        states = {r.id: r.state for r in db.requests.list()}
    assert set(states.values()) == {"completed"}
    running = [e["request_id"] for e in events if e["event"] == "running"]
    done = [e["request_id"] for e in events if e["event"] == "store_done"]
    assert sorted(running) == sorted(ids) and sorted(done) == sorted(ids)  # each request once, in one run
    runners = {e["actor"] for e in events if e["event"] == "running"}
    assert runners <= {"runner-1", "runner-2"}
    assert projects["two"].snapshot() == projects["one"].snapshot()  # no hash of a hash, nothing missed
    for url in urls:
        url.close()


def test_a_request_another_run_holds_is_skipped_saying_so_until_its_lease_runs_out(project):
    request_id = project.submit(project.people[0], "erasure")
    with Workspace.open(project.config_path) as ws:
        claimed, _ = ws.db.requests.claim([request_id], "other-run", later(10))
        assert claimed == [request_id]
    before = project.snapshot()
    result = json.loads(project.cli("run", str(request_id), "--json").stdout)
    assert result["skipped"] == {str(request_id): "held by run other-run"}
    assert project.snapshot() == before

    with Workspace.open(project.config_path) as ws:  # the other run died an hour ago
        ws.db.requests.claim([request_id], "other-run", later(-60))
    project.cli("run", str(request_id))
    assert json.loads(project.cli("status", str(request_id), "--json").stdout)["state"] == "completed"


def test_requests_a_dead_run_left_running_are_listed_stale_and_run_again_by_pending(project):
    ids = [project.submit(person, "erasure") for person in project.people[:2]]
    with Workspace.open(project.config_path) as ws:  # a run took them, started, and was killed
        ws.db.requests.claim(ids, "killed-run", later(-1))
        ws.db.requests.start(ids, "crashed-run")
    stale = json.loads(project.cli("list", "--stale", "--json").stdout)
    assert [r["id"] for r in stale] == ids and {r["state"] for r in stale} == {"running"}
    result = json.loads(project.cli("run", "--pending", "--json").stdout)
    assert result["states"] == {str(i): "completed" for i in ids}
    assert json.loads(project.cli("list", "--stale", "--json").stdout) == []


def test_a_live_runs_requests_are_not_stale_and_pending_leaves_them(project):
    request_id = project.submit(project.people[3], "erasure")
    with Workspace.open(project.config_path) as ws:
        ws.db.requests.claim([request_id], "live-run", later(30))
        ws.db.requests.start([request_id], "live-run")
    assert json.loads(project.cli("list", "--stale", "--json").stdout) == []
    assert "nothing to run" in project.cli("run", "--pending").stderr


def test_a_rule_another_run_is_sweeping_is_skipped_saying_so(project):
    rule = {
        "name": "tickets",
        "store": "shop",
        "collection": "support_tickets",
        "age": {"field": "opened_at"},
        "period": "P1D",
        "legal_basis": "test",
        "owner": "test",
    }
    (project.root / "retention_rules.yaml").write_text(yaml.safe_dump({"rules": [rule]}))
    with Workspace.open(project.config_path) as ws:
        assert ws.db.leases.take("sweep-rule:tickets", "other-sweep", later(10)) is None
    before = project.snapshot()["support_tickets"]
    report = json.loads(project.cli("sweep", "--json", expect=1).stdout)
    (result,) = report["results"]
    assert result["error"].startswith("skipped: run other-sweep is sweeping rule tickets")
    assert project.snapshot()["support_tickets"] == before
    with Workspace.open(project.config_path) as ws:
        ws.db.leases.release("sweep-rule:tickets", "other-sweep")
    assert json.loads(project.cli("sweep", "--json").stdout)["results"][0]["changed"] == len(before)


def test_a_tenant_another_run_is_purging_is_refused(project):
    project.write_config(tenants={"acme": {}, "globex": {}})
    project.cli("tenant", "terminate", "acme", "--effective", "2026-01-31")
    with Workspace.open(project.config_path) as ws:
        assert ws.db.leases.take("purge:acme", "other-purge", later(10)) is None
    before = project.snapshot()
    refused = project.cli("tenant", "purge", "acme", expect=2)
    assert "tenant acme is being purged by run other-purge" in refused.stderr
    assert project.snapshot() == before


def test_a_lease_is_taken_by_one_of_two_claims(db_url):
    """The claim itself, on each database the state may live on: the second claimant is told who
    holds it."""
    first, second = (StateDB(db_url, MasterKey(b"s" * 32)) for _ in range(2))
    try:
        ann = normalise("email", "ann@example.com")
        request_id = first.requests.submit(
            "acme", "erasure", [ann], "controller", parse_duration("P1M"), True
        )
        assert first.requests.claim([request_id], "run-a", later(5)) == ([request_id], {})
        claimed, refused = second.requests.claim([request_id], "run-b", later(5))
        assert claimed == [] and refused[request_id].startswith("held by run run-a")
        assert first.leases.take("purge:acme", "run-a", later(5)) is None
        assert second.leases.take("purge:acme", "run-b", later(5)).run == "run-a"
        first.requests.release([request_id], "run-a")
        assert second.requests.claim([request_id], "run-b", later(5))[0] == [request_id]
    finally:
        first.close()
        second.close()
