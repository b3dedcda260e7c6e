"""The over-deletion guard: proportionate on small tables by default, remembered once it refused a
request (a looser configuration does not let it through), lifted only by an audited override."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from dsr_pipelines.core.config import GuardConfig
from dsr_pipelines.demo import shop

from .conftest import make_project

SHARED_PHONE = "+447700900999"


@pytest.mark.parametrize(
    ("total", "limit"),
    [(1, 10), (41, 10), (200, 10), (1_000, 50), (1_000_000, 50_000)],
)
def test_the_default_limit_is_a_share_of_large_tables_and_a_small_count_on_small_ones(total, limit):
    assert GuardConfig().limit(total) == limit


@pytest.fixture
def small_shop(tmp_path):
    """41 customers, 15 of whom left the same phone number (a shop's switchboard, say)."""
    project = make_project(tmp_path, f"sqlite:///{tmp_path / 'shop.db'}", n=41)
    project.write_config(guard={})  # the defaults
    engine = project.engine()
    with engine.begin() as conn:
        conn.execute(sa.update(shop.customers).where(shop.customers.c.id <= 15).values(phone=SHARED_PHONE))
    engine.dispose()
    return project


def _by_phone(project) -> int:
    result = project.cli(
        "submit", "--tenant", "acme", "--type", "erasure", "--identity", f"phone={SHARED_PHONE}", "--verified"
    )
    return int(result.stdout.strip())


def _events(project, request_id: int) -> list[dict]:
    return json.loads(project.cli("audit", "show", "--request", str(request_id)).stdout)


def test_a_refused_request_needs_an_audited_override_even_under_a_looser_config(small_shop):
    project = small_shop
    before = project.snapshot()
    request_id = _by_phone(project)
    dry = json.loads(project.cli("run", str(request_id), "--dry-run", "--json", expect=1).stdout)
    assert "over-deletion guard" in dry["refused"][str(request_id)]

    project.cli("run", str(request_id), expect=1)
    status = json.loads(project.cli("status", str(request_id), "--json").stdout)
    assert status["state"] == "failed" and "(limit 10)" in status["error"]
    (refusal,) = [e for e in _events(project, request_id) if e["event"] == "guard_refused"]
    assert json.loads(refusal["details"])["min_rows"] == 10

    project.write_config(guard={"max_share": 0.5, "min_rows": 100})  # someone loosens the guard
    project.cli("run", str(request_id), expect=1)
    assert "(limit 10)" in json.loads(project.cli("status", str(request_id), "--json").stdout)["error"]
    assert project.snapshot() == before

    for args, says in [
        (("--override-guard",), "needs a --reason"),
        (("--reason", "x"), "--reason goes with --override-guard"),
        (("--override-guard", "--reason", "x", "--dry-run"), "in a real run"),
    ]:
        assert says in project.cli("run", str(request_id), *args, expect=2).stderr
    assert (
        "--pending" in project.cli("run", "--pending", "--override-guard", "--reason", "x", expect=2).stderr
    )
    assert not [e for e in _events(project, request_id) if e["event"] == "guard_overridden"]

    reason = "one switchboard number: confirmed with the controller, case 88"
    project.cli("run", str(request_id), "--override-guard", "--reason", reason)
    status = json.loads(project.cli("status", str(request_id), "--json").stdout)
    assert status["state"] == "completed"
    assert [n["text"] for n in status["notes"] if n["kind"] == "guard_override"] == [reason]
    (override,) = [e for e in _events(project, request_id) if e["event"] == "guard_overridden"]
    assert override["actor"] == "tester" and "reason_mac" in json.loads(override["details"])
    assert reason not in json.dumps(_events(project, request_id))  # free text stays out of the ledger
