"""Legal holds: stored and audited, and an erasure that meets one keeps the held data and comes back."""

from __future__ import annotations

import json
from datetime import datetime

import dagster as dg

from dsr_pipelines.intake.api import Dsr
from dsr_pipelines.orchestration.resources import DsrResource
from dsr_pipelines.orchestration.sensors import dsr_job_on_released_holds


def hold(project, *args: str) -> int:
    return int(project.cli("hold", "add", *args).stdout.strip())


def rows_of(project, person) -> dict[str, int]:
    """How many rows of each shop table still name the person (email or name)."""
    return {
        table: sum(1 for row in rows if any(person.email in str(v) or person.name in str(v) for v in row))
        for table, rows in project.snapshot().items()
    }


def tick(project):
    resource = DsrResource(config_path=str(project.config_path))
    with dg.build_sensor_context(resources={"dsr": resource}) as context:
        return dsr_job_on_released_holds(context)


def test_an_erasure_that_meets_a_hold_completes_the_rest_and_runs_again_on_release(project):
    held = project.people[0]
    # The collection hold is on another tenant, so it reaches neither the held subject nor `free`.
    free = next(p for p in project.people[1:] if p.tenant == held.tenant)
    partly = next(p for p in project.people if p.tenant != held.tenant)
    subject_hold = hold(
        project, "--tenant", held.tenant, "--identity", f"email={held.email}", "--reason", "litigation 17"
    )
    tickets_hold = hold(
        project,
        "--tenant",
        partly.tenant,
        "--store",
        "shop",
        "--collection",
        "support_tickets",
        "--reason",
        "regulator inquiry",
        "--until",
        "2099-01-01",
    )
    before = rows_of(project, held)
    assert sum(before.values()) > 0
    ids = [project.submit(p) for p in (held, free, partly)]
    project.cli("run", *map(str, ids), expect=None)

    with_hold, done, part = (json.loads(project.cli("status", str(i), "--json").stdout) for i in ids)
    assert with_hold["state"] == "partially_completed"
    assert f"deferred by legal hold {subject_hold}" in with_hold["error"]
    assert with_hold["stores"]["shop"]["status"] == "held"
    assert rows_of(project, held) == before  # nothing of the held subject changed
    assert done["state"] == "completed"
    assert part["state"] == "partially_completed" and f"legal hold {tickets_hold}" in part["error"]
    tickets = [r for r in part["results"] if r["collection"] == "support_tickets"]
    assert tickets[0]["retained"] == 1 and tickets[0]["reason"] == f"legal hold {tickets_hold}"
    assert tickets[0]["masked"] == 0
    # The rest of the partly held subject is erased.
    assert sum(r["deleted"] + r["masked"] for r in part["results"]) > 0

    assert isinstance(tick(project), dg.SkipReason)  # both holds are active
    project.cli("hold", "release", str(subject_hold))
    (run,) = tick(project).run_requests
    assert run.run_key == f"released:{ids[0]}:{subject_hold}"
    assert run.run_config["ops"]["start_requests"]["config"]["request_ids"] == [ids[0]]
    project.cli("run", str(ids[0]))
    assert json.loads(project.cli("status", str(ids[0]), "--json").stdout)["state"] == "completed"
    assert sum(rows_of(project, held).values()) == 0

    listed = {h["id"]: h for h in json.loads(project.cli("hold", "list", "--json").stdout)}
    assert listed[subject_hold]["state"] == "released" and listed[tickets_hold]["state"] == "active"
    assert listed[subject_hold]["reason"] == "litigation 17"
    ledger = json.loads(project.cli("audit", "show").stdout)
    kinds = [e["event"] for e in ledger]
    assert kinds.count("hold_added") == 2 and kinds.count("hold_released") == 1
    text = json.dumps(ledger, default=str)
    assert held.email not in text and "litigation 17" not in text


def test_bad_holds_are_refused_with_a_clear_message(project):
    person = project.people[0]
    cases = [
        (["--tenant", "acme", "--reason", "x"], "either a subject"),
        (
            [
                "--tenant",
                "acme",
                "--identity",
                f"email={person.email}",
                "--store",
                "shop",
                "--collection",
                "orders",
                "--reason",
                "x",
            ],
            "either a subject",
        ),
        (["--tenant", "acme", "--store", "nope", "--collection", "orders", "--reason", "x"], "unknown store"),
        (
            ["--tenant", "acme", "--store", "shop", "--collection", "nope", "--reason", "x"],
            "no collection nope",
        ),
        (["--tenant", "acme", "--identity", "email=", "--reason", "x"], "identity 1"),
        (["--tenant", "acme", "--identity", f"email={person.email}", "--reason", " "], "needs a reason"),
        (
            [
                "--tenant",
                "acme",
                "--identity",
                f"email={person.email}",
                "--reason",
                "x",
                "--until",
                "2001-01-01",
            ],
            "not in the future",
        ),
        (
            ["--tenant", "acme", "--identity", f"email={person.email}", "--reason", "x", "--until", "soon"],
            "not a date",
        ),
    ]
    for args, message in cases:
        result = project.cli("hold", "add", *args, expect=2)
        assert message in result.stderr, (args, result.stderr)
        assert person.email not in result.stderr
    assert "no legal hold 99" in project.cli("hold", "release", "99", expect=2).stderr
    hold_id = hold(project, "--tenant", "acme", "--store", "shop", "--collection", "orders", "--reason", "x")
    project.cli("hold", "release", str(hold_id))
    assert "already released" in project.cli("hold", "release", str(hold_id), expect=2).stderr


def test_a_hold_ends_by_itself_at_its_until_date(project):
    until = datetime(2030, 1, 1)
    with Dsr(project.config_path, actor="tester") as dsr:
        dsr.add_hold("acme", "audit", store="shop", collection="orders", until=until)
        assert [(h.collection, state) for h, state in dsr.holds()] == [("orders", "active")]
        dsr.ws.db.clock = lambda: datetime(2030, 1, 2)
        assert [state for _, state in dsr.holds()] == ["expired"]


def test_a_hold_on_one_identity_meets_an_erasure_asked_by_another(project):
    person = project.people[4]
    hold_id = hold(project, "--tenant", person.tenant, "--identity", f"phone={person.phone}", "--reason", "r")
    before = rows_of(project, person)
    request_id = project.submit(person)  # by email only
    project.cli("run", str(request_id), expect=None)
    status = json.loads(project.cli("status", str(request_id), "--json").stdout)
    assert status["state"] == "partially_completed"
    assert status["holds"] == [f"legal hold {hold_id}"]
    assert rows_of(project, person) == before
