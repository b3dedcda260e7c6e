"""The controllers' HTTP API, tested as a client meets it: `dsr serve` on a loopback port, httpx.

Every key belongs to one tenant; another tenant's objects are answered 404 on every route (the
routes come from the app's own OpenAPI, so a new route without a case here fails the suite).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import timedelta

import pytest

from dsr_pipelines.core.errors import AccessDenied
from dsr_pipelines.intake.api import Dsr
from dsr_pipelines.intake.http.auth import KeyCache
from dsr_pipelines.service import apikeys, requests
from dsr_pipelines.service.workspace import Workspace

from . import apiserver

PROBLEM = "application/problem+json"


@dataclass
class Api:
    server: apiserver.ApiServer
    project: object
    acme: str  # every controller scope
    globex: str
    acme_reader: str  # requests:read only
    operator: str

    def as_(self, token: str | None):
        return self.server.client(token)


def _keys(project) -> dict[str, str]:
    with Dsr(project.config_path, actor="ops") as dsr:
        return {
            "acme": dsr.create_api_key("acme").token,
            "globex": dsr.create_api_key("globex").token,
            "acme_reader": dsr.create_api_key("acme", "requests:read").token,
            "operator": dsr.create_api_key(None).token,
        }


@pytest.fixture
def api(project):
    keys = _keys(project)
    server = apiserver.start(project.config_path, "--key-cache", "0")  # a revocation applies at once
    try:
        yield Api(server, project, **keys)
    finally:
        server.stop()


def new(person, type_="erasure", **extra) -> dict:
    return {"type": type_, "identities": [{"kind": "email", "value": person.email}], **extra}


def acme_people(project):
    return [p for p in project.people if p.tenant == "acme"]


def test_a_controller_submits_follows_and_sees_its_erasure_done(api):
    ann = acme_people(api.project)[0]
    with api.as_(api.acme) as client:
        sent = client.post("/v1/requests", json=new(ann, verified=True, external_ref="ticket-7"))
        assert sent.status_code == 201, sent.text
        receipt = sent.json()
        assert receipt["state"] == "verified" and receipt["external_ref"] == "ticket-7"
        assert receipt["due_at"] > receipt["received_at"]

        api.project.cli("run", "--pending")
        followed = client.get(f"/v1/requests/{receipt['id']}")
    assert followed.status_code == 200
    detail = followed.json()
    assert detail["state"] == "completed" and detail["probe_residual"] == 0
    shop = detail["stores"]["shop"]
    assert shop["status"] == "done"
    assert sum(c["counts"].get("deleted", 0) + c["counts"].get("masked", 0) for c in shop["collections"]) > 0
    assert [h["state"] for h in detail["history"]][:2] == ["received", "verified"]
    for text in (sent.text, followed.text):  # never an identity, not even the one just sent
        assert ann.email not in text and ann.name not in text


def test_a_retry_with_the_same_idempotency_key_is_the_same_request(api):
    ann, bob = acme_people(api.project)[:2]
    with api.as_(api.acme) as client:
        first = client.post("/v1/requests", json=new(ann), headers={"Idempotency-Key": "k-1"})
        again = client.post("/v1/requests", json=new(ann), headers={"Idempotency-Key": "k-1"})
        other = client.post("/v1/requests", json=new(bob), headers={"Idempotency-Key": "k-1"})
        fresh = client.post("/v1/requests", json=new(ann), headers={"Idempotency-Key": "k-2"})
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert other.status_code == 409 and other.headers["content-type"] == PROBLEM
    assert fresh.json()["id"] != first.json()["id"]
    with api.as_(api.globex) as client:  # a key is one tenant's: the same header is another request
        globex_person = next(p for p in api.project.people if p.tenant == "globex")
        theirs = client.post("/v1/requests", json=new(globex_person), headers={"Idempotency-Key": "k-1"})
    assert theirs.status_code == 201 and theirs.json()["id"] not in (first.json()["id"], fresh.json()["id"])


def test_a_backlog_is_submitted_whole_or_not_at_all(api):
    people = acme_people(api.project)[:3]
    lines = [json.dumps(new(p)) for p in people]
    broken = "\n".join([lines[0], '{"type": "erasure"}', lines[2], "not json"])
    with api.as_(api.acme) as client:
        refused = client.post(
            "/v1/requests/bulk", content=broken, headers={"Content-Type": "application/x-ndjson"}
        )
        assert refused.status_code == 400 and refused.headers["content-type"] == PROBLEM
        problems = refused.json()["errors"]
        assert [p.split(":")[0] for p in problems] == ["line 2", "line 4"]
        assert client.get("/v1/requests").json()["items"] == []  # nothing half-imported

        as_ndjson = client.post(
            "/v1/requests/bulk", content="\n".join(lines), headers={"Content-Type": "application/x-ndjson"}
        )
        as_array = client.post("/v1/requests/bulk", json=[new(p, "access") for p in people])
    assert as_ndjson.status_code == as_array.status_code == 201
    assert len(as_ndjson.json()["items"]) == len(as_array.json()["items"]) == 3
    assert all(p.email not in refused.text + as_ndjson.text for p in people)


def test_lists_are_paginated_and_only_the_tenants_own(api):
    acme, globex = acme_people(api.project), [p for p in api.project.people if p.tenant == "globex"]
    with api.as_(api.acme) as client:
        mine = [client.post("/v1/requests", json=new(p)).json()["id"] for p in acme[:5]]
    with api.as_(api.globex) as client:
        client.post("/v1/requests", json=new(globex[0]))
    seen, cursor = [], None
    with api.as_(api.acme) as client:
        while True:
            page = client.get("/v1/requests", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
            assert page.status_code == 200 and len(page.json()["items"]) <= 2
            seen += [r["id"] for r in page.json()["items"]]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        assert seen == mine
        assert client.get("/v1/requests", params={"state": "verified"}).json()["items"] == []
        assert client.get("/v1/requests", params={"cursor": "x1"}).status_code == 400


def test_cancel_and_extend(api):
    ann, bob = acme_people(api.project)[:2]
    with api.as_(api.acme) as client:
        waiting = client.post("/v1/requests", json=new(ann)).json()["id"]
        cancelled = client.post(f"/v1/requests/{waiting}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
        assert client.post(f"/v1/requests/{waiting}/cancel").status_code == 409

        other = client.post("/v1/requests", json=new(bob)).json()
        longer = client.post(f"/v1/requests/{other['id']}/extend", json={"by": "P1M", "reason": "complex"})
        assert longer.status_code == 200 and longer.json()["due_at"] > other["due_at"]
        too_long = client.post(f"/v1/requests/{other['id']}/extend", json={"by": "P2M", "reason": "more"})
        assert too_long.status_code == 409 and "two months" in too_long.json()["detail"]
        no_reason = client.post(f"/v1/requests/{other['id']}/extend", json={"by": "P1D", "reason": ""})
        assert no_reason.status_code == 422 and no_reason.headers["content-type"] == PROBLEM
    with api.project.db() as db:  # a cancelled request keeps no identities
        assert not db.requests.get(waiting).identities_held


# What each route is sent, beside tenant acme's request id in its path. A route missing here fails
# test_every_route_keeps_tenants_apart: every new route must say how it keeps tenants apart.
def _bodies(person) -> dict[tuple[str, str], dict]:
    return {
        ("POST", "/v1/requests"): {"json": new(person)},
        ("POST", "/v1/requests/bulk"): {"json": [new(person)]},
        ("GET", "/v1/requests"): {},
        ("GET", "/v1/requests/{request_id}"): {},
        ("POST", "/v1/requests/{request_id}/cancel"): {},
        ("POST", "/v1/requests/{request_id}/extend"): {"json": {"by": "P1D", "reason": "r"}},
        ("GET", "/v1/requests/{request_id}/package"): {},
        ("GET", "/v1/requests/{request_id}/certificate"): {},
        ("GET", "/v1/tenant/certificate"): {"own": 404},  # globex was not purged
        ("POST", "/v1/holds"): {"json": {"reason": "litigation", "store": "shop", "collection": "orders"}},
        ("GET", "/v1/holds"): {},
        ("POST", "/v1/holds/{hold_id}/release"): {},
        ("POST", "/v1/webhooks"): {"json": {"url": "http://127.0.0.1:9/globex-hook"}},
        ("GET", "/v1/webhooks"): {},
        ("DELETE", "/v1/webhooks/{webhook_id}"): {},
        ("GET", "/v1/webhooks/{webhook_id}/deliveries"): {},
        ("GET", "/v1/operator/dead-letters"): {"operator": True},
        ("GET", "/v1/operator/requests"): {"operator": True},
        ("POST", "/v1/operator/dead-letters/{event_id}/replay"): {"operator": True},
        ("GET", "/health"): {"open": True},
        ("GET", "/ready"): {"open": True},
    }


def test_every_route_keeps_tenants_apart(api):
    """For every operation in the OpenAPI: tenant globex's key on acme's objects gets 404 (nothing
    about their existence), lists and submissions touch globex's own only, and no answer carries
    acme's ids or data."""
    ann = acme_people(api.project)[0]
    with api.as_(api.acme) as client:
        acme_id = client.post("/v1/requests", json=new(ann, external_ref="acme-secret-ref")).json()["id"]
        hold = {"reason": "acme-secret-reason", "identity": {"kind": "email", "value": ann.email}}
        hold_id = client.post("/v1/holds", json=hold).json()["id"]
        webhook_id = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/acme-secret-hook"}).json()[
            "id"
        ]
    acme_ids = {"request_id": acme_id, "hold_id": hold_id, "webhook_id": webhook_id, "event_id": 1}
    routes = _bodies(ann)
    with api.as_(None) as anonymous:
        spec = anonymous.get("/openapi.json").json()
    operations = {(m.upper(), path) for path, item in spec["paths"].items() for m in item}
    assert operations == set(routes), f"routes without an isolation case: {operations ^ set(routes)}"

    with api.as_(api.globex) as client:
        for (method, template), call in sorted(routes.items()):
            answer = client.request(method, template.format(**acme_ids), json=call.get("json"))
            for secret in ("acme-secret-ref", "acme-secret-reason", "acme-secret-hook", ann.email):
                assert secret not in answer.text, template
            if call.get("open"):
                assert answer.status_code == 200
            elif call.get("operator"):  # every tenant's queue: the operator's key only
                assert answer.status_code == 403, (template, answer.status_code)
            elif "{" in template:
                never = client.request(
                    method, template.format(**dict.fromkeys(acme_ids, 999999)), json=call.get("json")
                )
                assert answer.status_code == never.status_code == 404, (template, answer.status_code)
                # the same answer as for one that never was, but for the number
                details = [re.sub(r"\d+", "N", a.json()["detail"]) for a in (answer, never)]
                assert details[0] == details[1], details
            elif "own" in call:  # the key's own tenant's object, never another's
                assert answer.status_code == call["own"], (template, answer.text)
            elif method == "GET":  # a list: none of acme's
                theirs = {"/v1/requests": acme_id, "/v1/holds": hold_id, "/v1/webhooks": webhook_id}[template]
                assert theirs not in {r["id"] for r in answer.json()["items"]}
            else:
                assert answer.status_code == 201, (template, answer.text)
    with api.project.db() as db:  # what globex submitted with acme's person is globex's
        mine = db.requests.list(tenant="globex")
        assert db.holds.get(hold_id).released_at is None
    assert len(mine) == 2 and all(r.tenant == "globex" for r in mine)
    with api.as_(api.acme) as client:  # and acme's objects are as they were
        assert client.get(f"/v1/requests/{acme_id}").json()["state"] == "received"
        assert [h["state"] for h in client.get("/v1/holds").json()["items"]] == ["active"]


def test_keys_are_checked_on_every_call(api):
    ann = acme_people(api.project)[0]
    for token in (None, "nonsense", "dsr_000000000000.wrong", api.acme + "x"):
        with api.as_(token) as client:
            answer = client.get("/v1/requests")
        assert answer.status_code == 401 and answer.headers["content-type"] == PROBLEM
        assert answer.headers["www-authenticate"] == "Bearer"
    with api.as_(api.acme_reader) as client:
        assert client.get("/v1/requests").status_code == 200
        assert client.post("/v1/requests", json=new(ann)).status_code == 403
    with api.as_(api.operator) as client:  # the operator's key has no tenant: not a controller's
        assert client.post("/v1/requests", json=new(ann)).status_code == 403

    acme_id = api.acme.removeprefix("dsr_").split(".")[0]
    with Dsr(api.project.config_path, actor="ops") as dsr:
        successor = dsr.rotate_api_key(acme_id).token
    for token in (api.acme, successor):  # both work during the overlap
        with api.as_(token) as client:
            assert client.get("/v1/requests").status_code == 200
    with Dsr(api.project.config_path, actor="ops") as dsr:
        dsr.revoke_api_key(acme_id)
        events = [e["event"] for e in dsr.ledger_events()]
        assert dsr.verify_ledger().ok
    with api.as_(api.acme) as client:
        assert client.get("/v1/requests").status_code == 401
    with api.as_(successor) as client:
        assert client.get("/v1/requests").status_code == 200
    assert {"api_key_created", "api_key_revoked"} <= set(events)


def test_bodies_and_rates_are_bounded(project):
    keys = _keys(project)
    server = apiserver.start(project.config_path, "--max-body", "2000", "--rate", "0.5", "--burst", "3")
    try:
        with server.client(keys["acme"]) as client:
            big = client.post(
                "/v1/requests/bulk", content="x" * 5000, headers={"Content-Type": "application/json"}
            )
            assert big.status_code == 413 and big.headers["content-type"] == PROBLEM
            answers = [client.get("/v1/requests") for _ in range(4)]
        assert [a.status_code for a in answers][:2] == [200, 200]
        limited = answers[-1]
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        with server.client(keys["globex"]) as client:  # the limit is per key
            assert client.get("/v1/requests").status_code == 200
    finally:
        server.stop()


def test_the_log_carries_routes_and_ids_never_identities(api):
    people = acme_people(api.project)[:3]
    with api.as_(api.acme) as client:
        for p in people:
            client.post("/v1/requests", json=new(p, external_ref="ref-x"))
        client.post(
            "/v1/requests", json={"type": "erasure", "identities": [{"kind": "phone", "value": "bad@x"}]}
        )
        client.get("/v1/requests", params={"state": "received"})
    logged = api.server.logged()
    assert "POST /v1/requests" in logged and "key=" in logged
    for p in people:
        assert p.email not in logged and p.name not in logged
    assert "bad@x" not in logged


def test_the_docs_work_offline(api):
    with api.as_(None) as client:
        spec = client.get("/openapi.json").json()
        page = client.get("/docs")
        assets = [
            a for a in ("swagger-ui-bundle.js", "swagger-ui.css") if f"/static-offline-docs/{a}" in page.text
        ]
        fetched = [client.get(f"/static-offline-docs/{a}").status_code for a in assets]
    assert spec["openapi"].startswith("3.1")
    assert page.status_code == 200 and assets == ["swagger-ui-bundle.js", "swagger-ui.css"]
    assert fetched == [200, 200]
    assert "cdn" not in page.text.lower() and "https://" not in page.text


def test_a_controller_places_and_releases_holds_on_its_data(api):
    ann = acme_people(api.project)[0]
    with api.as_(api.acme) as client:
        placed = client.post(
            "/v1/holds", json={"reason": "litigation", "identity": {"kind": "email", "value": ann.email}}
        )
        assert placed.status_code == 201 and placed.json()["state"] == "active"
        assert placed.json()["identity_kind"] == "email" and ann.email not in placed.text
        hold_id = placed.json()["id"]
        erasure = client.post("/v1/requests", json=new(ann, verified=True)).json()["id"]
        api.project.cli("run", "--pending", expect=1)  # 1: not every request completed
        deferred = client.get(f"/v1/requests/{erasure}").json()
        assert deferred["state"] == "partially_completed" and "legal hold" in deferred["note"]
        assert deferred["stores"]["shop"]["status"] == "held"

        released = client.post(f"/v1/holds/{hold_id}/release")
        assert released.status_code == 200 and released.json()["state"] == "released"
        assert client.post(f"/v1/holds/{hold_id}/release").status_code == 409
        bad = client.post("/v1/holds", json={"reason": "x", "store": "shop", "collection": "nope"})
        assert bad.status_code == 400 and bad.headers["content-type"] == PROBLEM


def test_an_access_package_downloads_with_its_checksums_and_goes_with_its_subject(api):
    ann = acme_people(api.project)[0]
    with api.as_(api.acme) as client:
        access = client.post("/v1/requests", json=new(ann, "access", verified=True)).json()["id"]
        api.project.cli("run", "--pending")
        download = client.get(f"/v1/requests/{access}/package")
        assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(download.content)) as package:
            manifest = json.loads(package.read("manifest.json"))
            assert manifest["files"]
            for f in manifest["files"]:
                assert hashlib.sha256(package.read(f["path"])).hexdigest() == f["sha256"]
            assert any(
                ann.email in package.read(f["path"]).decode(errors="ignore") for f in manifest["files"]
            )

        client.post("/v1/requests", json=new(ann, "erasure", verified=True))
        api.project.cli("run", "--pending")
        gone = client.get(f"/v1/requests/{access}/package")
    assert gone.status_code == 410 and gone.headers["content-type"] == PROBLEM
    assert ann.email not in gone.text


def test_a_package_is_deleted_after_its_download_period(project):
    project.write_config(package_days=7)
    ann = next(p for p in project.people if p.tenant == "acme")
    access = project.submit(ann, "access")
    project.cli("run", str(access))
    ws = Workspace.open(project.config_path)
    try:
        record = ws.db.requests.get(access)
        assert requests.package_expires(ws, record) > record.updated_at
        ws.db.clock = lambda: record.updated_at + timedelta(days=8)
        with pytest.raises(requests.PackageGone, match="7 days"):
            requests.export(ws, access, project.root / "out", "tester")
        assert not (ws.config.export_dir / str(access)).exists()
        assert "package_expired" in [e["event"] for e in ws.db.ledger.events(access)]
    finally:
        ws.close()


def test_an_erasure_certificate_as_data_and_as_a_page(api):
    ann = acme_people(api.project)[0]
    with api.as_(api.acme) as client:
        erasure = client.post("/v1/requests", json=new(ann, verified=True)).json()["id"]
        early = client.get(f"/v1/requests/{erasure}/certificate")
        api.project.cli("run", "--pending")
        data = client.get(f"/v1/requests/{erasure}/certificate")
        page = client.get(f"/v1/requests/{erasure}/certificate", headers={"Accept": "text/html"})
    assert early.status_code == 409 and early.headers["content-type"] == PROBLEM
    assert data.status_code == 200
    cert = data.json()
    assert cert["verification"]["rows_still_found"] == 0
    assert {e["collection"] for e in cert["erased"]} >= {"customers", "addresses"}
    assert any(k["why"] for k in cert["kept"])  # orders kept for tax law, with the reason
    assert [e["event"] for e in cert["ledger"]][:2] == ["submitted", "verified"]
    assert page.headers["content-type"].startswith("text/html")
    assert f"Erasure certificate: request {erasure}" in page.text and "<script" not in page.text
    for text in (data.text, page.text):
        assert ann.email not in text and ann.name not in text


def test_a_revoked_key_is_refused_once_the_key_cache_forgets_it(project):
    """The API remembers a checked key for a moment (`--key-cache`): a revocation applies within it."""
    token = _keys(project)["acme"]
    now = [0.0]
    ws = Workspace.open(project.config_path)
    try:
        cache = KeyCache(ws, ttl=2.0, clock=lambda: now[0])
        assert asyncio.run(cache.principal(token)).tenant == "acme"
        with Dsr(project.config_path, actor="ops") as dsr:
            dsr.revoke_api_key(token.removeprefix("dsr_").split(".")[0])
        assert asyncio.run(cache.principal(token)).tenant == "acme"  # still remembered
        now[0] = 2.5
        with pytest.raises(AccessDenied):
            asyncio.run(cache.principal(token))
        with pytest.raises(AccessDenied):  # a refusal is never remembered as a success
            asyncio.run(cache.principal(token + "x"))
    finally:
        ws.close()


def test_the_operator_sees_every_tenants_queue(api):
    ann = acme_people(api.project)[0]
    bob = next(p for p in api.project.people if p.tenant == "globex")
    with api.as_(api.acme) as client:
        mine = client.post("/v1/requests", json=new(ann)).json()["id"]
    with api.as_(api.globex) as client:
        theirs = client.post("/v1/requests", json=new(bob)).json()["id"]
    with api.as_(api.operator) as client:
        every = client.get("/v1/operator/requests").json()["items"]
        one = client.get("/v1/operator/requests", params={"tenant": "globex"}).json()["items"]
        late = client.get("/v1/operator/requests", params={"overdue": True}).json()["items"]
    assert {(r["id"], r["tenant"]) for r in every} == {(mine, "acme"), (theirs, "globex")}
    assert [r["id"] for r in one] == [theirs] and late == []
    assert ann.email not in str(every) and bob.email not in str(every)


def test_a_purged_tenant_reads_its_certificate(project):
    project.write_config(tenants={"acme": {}, "globex": {}})
    keys = _keys(project)
    project.cli("tenant", "terminate", "acme", "--effective", "2026-01-01")
    project.cli("tenant", "purge", "acme")
    server = apiserver.start(project.config_path, "--deliver-every", "0")
    try:
        with server.client(keys["acme"]) as client:
            mine = client.get("/v1/tenant/certificate")
        with server.client(keys["globex"]) as client:
            theirs = client.get("/v1/tenant/certificate")
    finally:
        server.stop()
    assert mine.status_code == 200
    cert = mine.json()
    assert cert["tenant"] == "acme" and cert["complete"] is True
    assert {c["collection"] for c in cert["collections"]} >= {"customers", "orders"}
    assert theirs.status_code == 404 and "acme" not in theirs.text  # globex was not purged
    assert all(p.email not in mine.text for p in project.people)


def test_an_expired_key_is_refused(project):
    with Dsr(project.config_path, actor="ops") as dsr:
        made = dsr.create_api_key("acme", "requests:read", expires="P30D")
    ws = Workspace.open(project.config_path)
    try:
        assert apikeys.authenticate(ws, made.token).tenant == "acme"
        ws.db.clock = lambda: made.record.expires_at + timedelta(seconds=1)
        with pytest.raises(AccessDenied):
            apikeys.authenticate(ws, made.token)
    finally:
        ws.close()
