"""Discovery on a Parquet lake (sampled row groups) and S3 prefixes (sampled objects, per format)."""

from __future__ import annotations

import json

import pytest
import yaml

from dsr_pipelines.demo import shop
from dsr_pipelines.plan.datamap.check import static_problems
from dsr_pipelines.plan.datamap.model import load_datamap


@pytest.fixture
def unmapped(stores):
    stores.project.write_datamap({"shop": shop.DATAMAP})  # the lake and the bucket are not mapped yet
    return stores


def test_discovery_proposes_lake_and_bucket_collections_with_where_they_live(unmapped):
    stores = unmapped
    p = stores.project
    result = p.cli("discover", "--store", "lake", "--store", "files", "--json")
    report = json.loads(result.stdout)
    columns = {
        (s["store"], t["collection"], c["field"]): c
        for s in report["stores"]
        for t in s["tables"]
        for c in t["columns"]
        if c["category"]
    }
    assert columns[("lake", "events", "email")]["category"] == "email"
    assert columns[("lake", "events", "ip")]["category"] == "ip_address"
    assert columns[("files", "exports", "email")]["category"] == "email"
    assert columns[("files", "users", "email")]["category"] == "email"  # inside users/<id>/profile.json
    assert columns[("files", "logs", "line")]["category"] == "free_text"  # lines mentioning emails
    methods = {(s["store"], t["collection"]): t["method"] for s in report["stores"] for t in s["tables"]}
    assert methods[("lake", "events")].startswith("spread over") or methods[("lake", "events")] == "all"
    assert "objects" in methods[("files", "users")]

    proposal = yaml.safe_load((p.root / "datamap.proposal.yaml").read_text())
    events = proposal["stores"]["lake"]["collections"]["events"]
    assert events["path"] == "events" and events["fields"]["email"]["category"] == "email"
    exports = proposal["stores"]["files"]["collections"]["exports"]
    assert exports["prefix"] == "exports/" and exports["format"] == "auto"
    # Objects have no key to rewrite free text by: their text is proposed for redaction, not spans.
    assert proposal["stores"]["files"]["collections"]["logs"]["fields"]["line"]["mask"] == "redact"
    merged = load_datamap(p.root / "datamap.proposal.yaml")
    kinds = {"shop": "sql", "lake": "parquet", "files": "s3"}
    assert static_problems(merged, kinds) == []  # what discovery proposes is a valid datamap
    # With tenants split by tenant_id elsewhere, an email in objects naming no tenant is held back.
    held_back = [c["path"] for c in report["changes"] if c["kind"] == "needs_tenant"]
    assert held_back == ["stores.files.collections.users.fields.email"]

    emails = [person.email for person in p.people]
    assert not [e for e in emails if e in result.stdout]  # masked examples only
    assert not [e for e in emails if e in (p.root / "datamap.proposal.yaml").read_text()]


def test_an_applied_proposal_runs_a_request_over_the_discovered_collections(unmapped):
    stores = unmapped
    p = stores.project
    p.cli("discover", "--store", "lake", "--store", "files", "--apply")
    mapped = load_datamap(p.root / "datamap.yaml")
    # Emails that repeat (a person's many events) are not proposed as identities: a person decides.
    assert mapped.stores["lake"].collections["events"].fields["email"].identity is None
    assert mapped.stores["files"].collections["exports"].fields["email"].identity == "email"
    person = p.people[1]
    request_id = p.submit(person, "access")
    p.cli("run", str(request_id))
    status = stores.status(request_id)
    assert status["state"] == "completed"
    found = {(r["store"], r["collection"]): r["found"] for r in status["results"]}
    assert found[("files", "exports")] == 1  # the newsletter line (its tenant_id tells tenants apart)
    # profile.json names the subject but no tenant: its email is not made an identity (a person
    # decides how tenants are told apart there), so the request does not reach it yet.
    assert mapped.stores["files"].collections["users"].fields["email"].identity is None
    assert ("files", "users") not in found
    assert ("lake", "events") not in found
