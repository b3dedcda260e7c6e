"""The CLI contract others rely on: ids on stdout, JSON output, --pending, deadlines, config discovery."""

from __future__ import annotations

import copy
import json
from datetime import datetime

from typer.testing import CliRunner

from dsr_pipelines.demo import shop
from dsr_pipelines.intake.cli import app


def test_submit_json_due_dates_per_tenant_and_extension(project):
    p = project
    p.write_config(response_period="P1M", tenants={"acme": {}, "globex": {"response_period": "P14D"}})
    acme = next(x for x in p.people if x.tenant == "acme")
    globex = next(x for x in p.people if x.tenant == "globex")
    out = json.loads(
        p.cli(
            "submit", "--tenant", "acme", "--type", "access", "--identity", f"email={acme.email}", "--json"
        ).stdout
    )
    assert out["state"] == "received" and out["type"] == "access"
    status = json.loads(p.cli("status", str(out["id"]), "--json").stdout)
    received, due = (datetime.fromisoformat(status[k]) for k in ("received_at", "due_at"))
    assert (due.year * 12 + due.month) - (received.year * 12 + received.month) == 1
    other = p.submit(globex, "access")
    status = json.loads(p.cli("status", str(other), "--json").stdout)
    assert (
        datetime.fromisoformat(status["due_at"]) - datetime.fromisoformat(status["received_at"])
    ).days == 14

    assert "needs a reason" in p.cli("extend", str(other), "--by", "P2M", "--reason", " ", expect=2).stderr
    p.cli("extend", str(other), "--by", "P2M", "--reason", "complex request, subject informed")
    extended = json.loads(p.cli("status", str(other), "--json").stdout)
    assert extended["due_at"] > status["due_at"]
    events = json.loads(p.cli("audit", "show", "--request", str(other)).stdout)
    assert events[-1]["event"] == "due_date_extended"


def test_extensions_add_some_time_and_two_months_at_most_in_total(project):
    """GDPR Art. 12(3): the period may be extended "by two further months", once or in parts."""
    p = project
    request_id = p.submit(p.people[0], "access")
    first = datetime.fromisoformat(json.loads(p.cli("status", str(request_id), "--json").stdout)["due_at"])
    for by, says in [("P0D", "must add time"), ("P0M", "must add time"), ("P3M", "at most")]:
        assert says in p.cli("extend", str(request_id), "--by", by, "--reason", "complex", expect=2).stderr
    assert "--reason" in p.cli("extend", str(request_id), "--by", "P1M", expect=2).stderr
    p.cli("extend", str(request_id), "--by", "P1M", "--reason", "complex request")
    p.cli("extend", str(request_id), "--by", "P1M", "--reason", "still complex")
    refused = p.cli("extend", str(request_id), "--by", "P1D", "--reason", "one more day", expect=2)
    assert "two months after its first due date" in refused.stderr
    due = datetime.fromisoformat(json.loads(p.cli("status", str(request_id), "--json").stdout)["due_at"])
    assert (due.year * 12 + due.month) - (first.year * 12 + first.month) == 2
    extensions = [
        e
        for e in json.loads(p.cli("audit", "show", "--request", str(request_id)).stdout)
        if e["event"] == "due_date_extended"
    ]
    assert len(extensions) == 2  # the refused ones left nothing


def test_run_pending_runs_every_verified_request_and_only_those(project):
    p = project
    verified = [p.submit(x, "access") for x in p.people[:2]]
    waiting = p.cli(
        "submit",
        "--tenant",
        p.people[2].tenant,
        "--type",
        "access",
        "--identity",
        f"email={p.people[2].email}",
    ).stdout.strip()
    result = json.loads(p.cli("run", "--pending", "--json").stdout)
    assert result["states"] == {str(i): "completed" for i in verified}
    assert json.loads(p.cli("status", waiting, "--json").stdout)["state"] == "received"
    assert "nothing to run" in p.cli("run", "--pending").stderr


def test_config_found_through_env_and_store_url_from_env(project, monkeypatch, tmp_path):
    p = project
    p.write_config(stores=[{"name": "shop", "kind": "sql", "url_env": "SHOP_URL"}])
    monkeypatch.setenv("DSR_CONFIG", str(p.config_path))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    runner = CliRunner()
    result = runner.invoke(app, ["datamap", "check"])
    assert (
        result.exit_code == 1
        and "stores.shop: store shop: environment variable SHOP_URL is not set"
        in " ".join(result.stderr.split())
    )
    monkeypatch.setenv("SHOP_URL", p.shop_url)
    assert runner.invoke(app, ["datamap", "check"]).exit_code == 0
    monkeypatch.delenv("DSR_CONFIG")
    missing = runner.invoke(app, ["list"])
    assert missing.exit_code == 2 and "no configuration at dsr.yaml" in missing.stderr


def test_datamap_naming_a_missing_column_fails_the_run_clearly_and_changes_nothing(project):
    p = project
    broken = copy.deepcopy(shop.DATAMAP)
    broken["collections"]["support_tickets"]["fields"]["contact_email"] = {
        "category": "email",
        "identity": "email",
    }
    p.write_datamap({"shop": broken})
    before = p.snapshot()
    request_id = p.submit(p.people[0], "erasure")
    p.cli("run", str(request_id), expect=1)
    status = json.loads(p.cli("status", str(request_id), "--json").stdout)
    assert status["state"] == "failed"
    assert "support_tickets has no column contact_email" in status["error"]
    assert p.snapshot() == before
