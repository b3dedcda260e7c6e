"""Bad input gets a clear message, exit status 2, and changes nothing; failures are resumable."""

from __future__ import annotations

import copy
import json
from contextlib import closing

import pytest
import sqlalchemy as sa

from connectors import open_store
from dsr_pipelines.core.config import load_config
from dsr_pipelines.core.errors import TenantError
from dsr_pipelines.demo import shop
from dsr_pipelines.intake.api import Dsr
from dsr_pipelines.plan.datamap.model import load_datamap
from dsr_pipelines.service import per_store


def _submit(project, *identity: str):
    args = ["submit", "--tenant", "acme", "--type", "erasure"]
    for item in identity:
        args += ["--identity", item]
    return project.cli(*args, expect=None)


def test_malformed_empty_wildcard_and_unknown_identities_are_refused(project):
    cases = {
        "email=not-an-email": "not a valid email address",
        "email=": "empty",
        "email=*@example.com": "wildcards",
        "phone=12": "phone number",
        "noequals": "KIND=VALUE",
        "ssn=123-45-6789": "no datamap field has this identity kind",
    }
    for pair, message in cases.items():
        result = _submit(project, pair)
        assert result.exit_code == 2, pair
        assert message in result.stderr, (pair, result.stderr)
        value = pair.partition("=")[2]
        assert not value or value not in result.stderr  # the value is never echoed
        assert "Traceback" not in result.stderr
    assert json.loads(project.cli("list", "--json").stdout) == []


def test_identities_are_normalised_before_lookup(project):
    person = project.people[0]
    shouted = f"  {person.email.upper()} "
    request_id = int(_submit(project, f"email={shouted}", "phone=+44 7700 900001").stdout)
    with closing(project.db()) as db:
        (subject,) = db.requests.subjects([request_id])
    assert {(i.kind, i.value) for i in subject.identities} == {
        ("email", person.email),
        ("phone", "+447700900001"),
    }


def test_unknown_store_and_bad_config_are_named(project):
    result = project.cli("datamap", "init", "--store", "nope", expect=2)
    assert "unknown store 'nope'" in result.stderr
    project.write_config(response_period="P1X")
    result = project.cli("list", expect=2)
    assert "response_period" in result.stderr and "ISO-8601" in result.stderr


def test_a_malformed_datamap_refuses_the_run_before_it_starts(project):
    request_id = project.submit(project.people[0], "erasure")
    (project.root / "datamap.yaml").write_text("stores: [unclosed")
    assert "not valid YAML" in project.cli("run", str(request_id), expect=2).stderr
    assert json.loads(project.cli("status", str(request_id), "--json").stdout)["state"] == "verified"


def test_an_error_message_is_printed_whole_brackets_included(project):
    project.write_config(response_period="[p1m]")  # rich would take [p1m] for a style tag
    assert "'[p1m]' is not an ISO-8601 duration" in project.cli("list", expect=2).stderr


def test_unverified_and_unknown_requests_do_not_run(project):
    person = project.people[0]
    request_id = project.cli(
        "submit", "--tenant", person.tenant, "--type", "access", "--identity", f"email={person.email}"
    ).stdout.strip()
    assert "verify it first" in project.cli("run", request_id, expect=2).stderr
    assert "no request 999" in project.cli("run", "999", expect=2).stderr
    project.cli("verify", request_id)
    project.cli("run", request_id)


def test_a_run_for_a_deployment_that_does_not_answer_is_refused_and_the_request_waits(project):
    request_id = project.submit(project.people[0], "erasure")
    refused = project.cli("run", str(request_id), "--detach", expect=2)
    assert "--detach needs a deployment" in refused.stderr  # nothing to queue on: said, not run here

    project.write_config(dagster={"webserver": "http://127.0.0.1:9"})  # nothing listens on port 9
    for args in (["--detach"], []):
        refused = project.cli("run", str(request_id), *args, expect=2)
        assert "the Dagster webserver at http://127.0.0.1:9 could not queue the run" in refused.stderr
    project.write_config(dagster={"webserver": "ftp://127.0.0.1"})
    assert "not an http(s) URL" in project.cli("run", str(request_id), expect=2).stderr
    assert json.loads(project.cli("status", str(request_id), "--json").stdout)["state"] == "verified"


def test_unreachable_store_fails_the_request_naming_it_and_a_rerun_resumes(project, tmp_path):
    project = project
    crm_url = f"sqlite:///{tmp_path / 'crm.db'}"
    person = project.people[4]
    project.write_config(
        stores=[
            {"name": "shop", "kind": "sql", "url": project.shop_url},
            {"name": "crm", "kind": "sql", "url": "postgresql+psycopg://postgres@127.0.0.1:1/test"},
        ]
    )
    crm_map = {
        "collections": {
            "contacts": {
                "primary_key": ["id"],
                "shared": True,
                "shared_reason": "one contact list for every tenant",
                "fields": {"email": {"category": "email", "identity": "email"}},
            }
        }
    }
    project.write_datamap({"shop": shop.DATAMAP, "crm": crm_map})
    before = project.snapshot()
    request_id = project.submit(person, "erasure")
    project.cli("run", str(request_id), expect=1)
    status = json.loads(project.cli("status", str(request_id), "--json").stdout)
    assert status["state"] == "failed" and "store crm" in status["error"]
    assert project.snapshot() == before  # the reachable store was not touched either

    engine = sa.create_engine(crm_url)  # the store comes back (here: at a new address)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT)"))
        conn.execute(
            sa.text("INSERT INTO contacts VALUES (1, :e), (2, 'someone@else.org')"), {"e": person.email}
        )
    project.write_config(
        stores=[
            {"name": "shop", "kind": "sql", "url": project.shop_url},
            {"name": "crm", "kind": "sql", "url": crm_url},
        ]
    )
    project.cli("run", str(request_id))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT id FROM contacts")).scalars().all() == [2]
    assert json.loads(project.cli("status", str(request_id), "--json").stdout)["state"] == "completed"


def test_crash_after_store_commit_resumes_without_double_effects(project):
    project = project
    person = project.people[8]
    request_id = project.submit(person, "erasure")
    config = load_config(project.config_path)
    with closing(project.db()) as db:  # a run that erased the store, then died before recording it
        db.requests.start([request_id], "crashed-run")

        connector = open_store("shop", "sql", project.shop_url)
        per_store.erase(
            "shop",
            load_datamap(config.datamap_path).stores["shop"],
            connector,
            db.requests.subjects([request_id]),
            db.keys,
        )
        connector.close()
    after_crash = project.snapshot()
    project.cli("run", str(request_id))
    assert project.snapshot() == after_crash  # nothing masked twice, nothing else changed
    status = json.loads(project.cli("status", str(request_id), "--json").stdout)
    assert status["state"] == "completed" and status["probe"]["residual"] == 0
    assert [h["to"] for h in status["history"]] == ["received", "verified", "running", "running", "completed"]


def test_a_failing_statement_rolls_back_the_whole_store_and_leaks_no_values(project):
    """One transaction per store: addresses deleted before the failing mask come back."""
    broken = copy.deepcopy(shop.DATAMAP)
    broken["collections"]["customers"]["fields"]["name"]["mask"] = "null"  # name is NOT NULL
    project.write_datamap({"shop": broken})
    person = project.people[3]
    before = project.snapshot()
    request_id = project.submit(person, "erasure")
    project.cli("run", str(request_id), expect=1)
    status = json.loads(project.cli("status", str(request_id), "--json").stdout)
    assert status["state"] == "failed" and "store shop" in status["error"]
    assert person.name not in status["error"] and person.email not in status["error"]
    assert project.snapshot() == before
    project.write_datamap({"shop": shop.DATAMAP})  # fixed: the same request resumes and completes
    project.cli("run", str(request_id))


def test_crash_after_every_store_recorded_but_before_finishing_resumes(project):
    project = project
    person = project.people[9]
    request_id = project.submit(person, "erasure")
    config = load_config(project.config_path)
    with closing(project.db()) as db:  # every store done and recorded, then the run died
        db.requests.start([request_id], "crashed-run")
        connector = open_store("shop", "sql", project.shop_url)
        outcome = per_store.erase(
            "shop",
            load_datamap(config.datamap_path).stores["shop"],
            connector,
            db.requests.subjects([request_id]),
            db.keys,
        )
        connector.close()
        results = outcome.summary.results[request_id]
        db.results.record_store(request_id, "shop", "done", results, "crashed-run")
    project.cli("run", str(request_id))
    status = json.loads(project.cli("status", str(request_id), "--json").stdout)
    assert status["state"] == "completed" and status["probe"]["residual"] == 0
    assert sum(r["deleted"] for r in status["results"]) > 0  # the crashed attempt's counts are kept


def test_only_declared_tenants_are_accepted_exactly(project):
    """With `tenants:` declared, a misspelt or differently-cased tenant is refused everywhere a
    tenant is named (CLI and API), before anything is recorded; without it, any name is a tenant."""
    person = project.people[0]
    submitted = project.submit(person, "access", tenant="anyone")  # nothing declared: free
    project.write_config(tenants={"acme": {}, "globex": {}})
    for tenant, hint in (("nosuchtenant", ""), ("Acme", "did you mean acme?")):
        verbs = [
            ("submit", "--tenant", tenant, "--type", "access", "--identity", f"email={person.email}"),
            ("hold", "add", "--tenant", tenant, "--identity", f"email={person.email}", "--reason", "r"),
            ("tenant", "terminate", tenant, "--effective", "2026-01-31"),
            ("list", "--tenant", tenant),
            ("hold", "list", "--tenant", tenant),
        ]
        for args in verbs:
            result = project.cli(*args, expect=2)
            assert f"unknown tenant '{tenant}'" in result.stderr and hint in result.stderr, args
            assert "acme, globex" in result.stderr
    with Dsr(project.config_path, "tester") as dsr:
        with pytest.raises(TenantError, match="unknown tenant 'Acme'"):
            dsr.submit("Acme", "erasure", [f"email={person.email}"])
        assert [r.id for r in dsr.list_requests()] == [submitted]  # nothing was recorded
        assert dsr.holds() == []
