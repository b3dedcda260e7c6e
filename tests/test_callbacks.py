"""Callbacks as a controller receives them: a real `dsr serve` posts to a local receiver, signed,
retried with backoff, dead-lettered, replayed by the operator; reminders and escalations once per
due date."""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from dsr_pipelines.core.durations import parse_duration
from dsr_pipelines.intake.api import Dsr
from dsr_pipelines.service import webhooks
from dsr_pipelines.service.workspace import Workspace

from . import apiserver, receiver


@pytest.fixture
def hook():
    endpoint = receiver.start()
    try:
        yield endpoint
    finally:
        endpoint.stop()


@pytest.fixture
def server(project):
    options = ("--deliver-every", "0.2", "--retry-base", "0.2", "--attempts", "3")
    started = apiserver.start(project.config_path, *options)
    try:
        yield started
    finally:
        started.stop()


def keys(project) -> tuple[str, str]:
    with Dsr(project.config_path, actor="ops") as dsr:
        return dsr.create_api_key("acme").token, dsr.create_api_key(None).token


def test_every_state_change_arrives_signed_with_the_recipients_to_tell(project, server, hook):
    acme, _ = keys(project)
    ann = next(p for p in project.people if p.tenant == "acme")
    with server.client(acme) as client:
        made = client.post("/v1/webhooks", json={"url": hook.url}).json()
        secret, hook_id = made["secret"], made["id"]
        assert client.get("/v1/webhooks").json()["items"][0]["id"] == hook_id
        assert "secret" not in client.get("/v1/webhooks").text
        body = {"type": "erasure", "identities": [{"kind": "email", "value": ann.email}], "verified": True}
        request_id = client.post("/v1/requests", json=body).json()["id"]
        project.cli("run", "--pending")
        got = hook.wait_for(3)
        log = client.get(f"/v1/webhooks/{hook_id}/deliveries").json()["items"]

    events = [json.loads(r.body) for r in got]
    assert [(e["data"]["from"], e["data"]["to"]) for e in events] == [
        ("received", "verified"),
        ("verified", "running"),
        ("running", "completed"),
    ]
    for r, e in zip(got, events, strict=True):
        assert webhooks.verify(secret, r.body, r.headers["dsr-signature"])
        assert not webhooks.verify("whsec_another", r.body, r.headers["dsr-signature"])
        assert r.headers["dsr-event-id"] == e["id"] and e["data"]["request_id"] == request_id
        assert ann.email not in r.body and ann.name not in r.body
    # Art. 19: whom the controller must tell, from the datamap's recipients of what was changed
    assert events[-1]["data"]["recipients"] and "parcel carrier" in events[-1]["data"]["recipients"]
    assert {d["state"] for d in log} == {"delivered"} and len(log) == 3
    # a replayed request is refused: an old timestamp is outside the window
    stale = got[0].headers["dsr-signature"]
    at = int(stale.split(",")[0][2:])
    assert not webhooks.verify(secret, got[0].body, stale, now=at + webhooks.REPLAY_WINDOW + 1)


def test_a_failing_endpoint_is_retried_then_dead_lettered_and_replayed(project, server, hook):
    acme, operator = keys(project)
    hook.answers = [500, 503, 500]  # three attempts, all refused
    ann = next(p for p in project.people if p.tenant == "acme")
    with server.client(acme) as client:
        client.post("/v1/webhooks", json={"url": hook.url})
        body = {"type": "access", "identities": [{"kind": "email", "value": ann.email}], "verified": True}
        client.post("/v1/requests", json=body)
        attempts = hook.wait_for(3)
        assert len({json.loads(a.body)["id"] for a in attempts}) == 1  # the same event, the same body
        assert len({a.body for a in attempts}) == 1
    with server.client(operator) as client:
        for _ in range(50):
            dead = client.get("/v1/operator/dead-letters").json()["items"]
            if dead:
                break
            hook.wait_for(99, within=0.1)
        assert len(dead) == 1 and dead[0]["attempts"] == 3 and dead[0]["last_error"] == "HTTP 500"
        replayed = client.post(f"/v1/operator/dead-letters/{dead[0]['id']}/replay")
        assert replayed.status_code == 200 and replayed.json()["state"] == "pending"
        assert len(hook.wait_for(4)) == 4  # delivered this time (the receiver answers 200 now)
    with server.client(acme) as client:  # a controller's key is not the operator's
        assert client.get("/v1/operator/dead-letters").status_code == 403


def test_reminders_and_escalations_are_sent_once_per_due_date(project, hook):
    with Dsr(project.config_path, actor="ops") as dsr:
        dsr.add_webhook("acme", hook.url)
    ann = next(p for p in project.people if p.tenant == "acme")
    request_id = project.submit(ann, "access")
    ws = Workspace.open(project.config_path)
    try:
        record = ws.db.requests.get(request_id)
        period = record.due_at - record.received_at
        kinds = []
        for at in (0.5, 0.8, 0.9, 1.1, 1.2):
            ws.db.clock = lambda at=at: record.received_at + period * at
            webhooks.queue_deadlines(ws)
            kinds.append([e.kind for e in ws.db.webhooks.events("acme") if e.kind != "request.state_changed"])
        assert kinds[0] == []
        assert kinds[1] == kinds[2] == ["request.deadline_reminder"]
        assert kinds[3] == kinds[4] == ["request.deadline_reminder", "request.overdue"]
        due = ws.db.requests.extend(request_id, parse_duration("P1M"), "complex", "ops")  # a new due date
        ws.db.clock = lambda: due - timedelta(hours=1)
        webhooks.queue_deadlines(ws)
        webhooks.queue_deadlines(ws)
        kinds = [e.kind for e in ws.db.webhooks.events("acme")]
        assert kinds.count("request.deadline_reminder") == 2 and kinds.count("request.overdue") == 1
    finally:
        ws.close()


def test_the_readmes_snippet_checks_a_signature():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    snippet = readme.split("To check a callback:\n\n```python\n", 1)[1].split("```", 1)[0]
    scope: dict = {}
    exec(snippet, scope)  # the controllers' copy-paste, as written
    body = '{"type": "request.state_changed"}'
    header = webhooks.signature("whsec_x", body, int(time.time()))
    assert scope["genuine"]("whsec_x", body.encode(), header)
    assert not scope["genuine"]("whsec_y", body.encode(), header)
    assert not scope["genuine"]("whsec_x", body.encode(), webhooks.signature("whsec_x", body, 1000))


def test_a_controllers_whole_round_trip(project, server, hook):
    """Submit over HTTP, the pending run takes it, the signed callback says it completed, the
    package downloads and every file matches its manifest's checksum."""
    acme, _ = keys(project)
    ann = next(p for p in project.people if p.tenant == "acme")
    with server.client(acme) as client:
        secret = client.post("/v1/webhooks", json={"url": hook.url}).json()["secret"]
        body = {"type": "access", "identities": [{"kind": "email", "value": ann.email}], "verified": True}
        request_id = client.post("/v1/requests", json=body, headers={"Idempotency-Key": "rt-1"}).json()["id"]
        project.cli("run", "--pending")
        done = [
            r
            for r in hook.wait_for(3)
            if json.loads(r.body)["data"].get("to") == "completed"
            and webhooks.verify(secret, r.body, r.headers["dsr-signature"])
        ]
        assert len(done) == 1 and json.loads(done[0].body)["data"]["request_id"] == request_id
        package = client.get(f"/v1/requests/{request_id}/package")
    with zipfile.ZipFile(io.BytesIO(package.content)) as files:
        manifest = json.loads(files.read("manifest.json"))
        assert all(
            hashlib.sha256(files.read(f["path"])).hexdigest() == f["sha256"] for f in manifest["files"]
        )


def test_the_cli_delivers_lists_dead_letters_and_replays(project, hook):
    with Dsr(project.config_path, actor="ops") as dsr:
        dsr.add_webhook("acme", hook.url)
    ann = next(p for p in project.people if p.tenant == "acme")
    project.submit(ann, "access")  # received -> verified: one event
    assert "1 delivered" in project.cli("webhooks", "deliver").stdout
    assert len(hook.received) == 1 and json.loads(hook.received[0].body)["data"]["to"] == "verified"
    assert json.loads(project.cli("webhooks", "dead", "--json").stdout) == []
    with project.db() as db:  # an endpoint that refused every attempt leaves a dead letter
        (event,) = db.webhooks.events("acme")
        db.webhooks.attempted(event, event.body or "{}", 500, "HTTP 500", None, db.clock())
    (dead,) = json.loads(project.cli("webhooks", "dead", "--json").stdout)
    assert dead["id"] == event.id and dead["last_error"] == "HTTP 500"
    project.cli("webhooks", "replay", str(event.id))
    assert "1 delivered" in project.cli("webhooks", "deliver").stdout
    assert len(hook.received) == 2 and hook.received[1].body == hook.received[0].body


def test_a_removed_webhook_gets_nothing_more(project, hook):
    with Dsr(project.config_path, actor="ops") as dsr:
        made = dsr.add_webhook("acme", hook.url)
    ann = next(p for p in project.people if p.tenant == "acme")
    project.submit(ann, "access")
    with project.db() as db:
        db.webhooks.remove(made.webhook.id, "ops")
        (event,) = db.webhooks.events("acme")
    assert event.state == "dead" and event.last_error == "the webhook was removed"
    assert "replay" in project.cli("webhooks", "replay", str(event.id), expect=2).stderr
    assert "0 delivered" in project.cli("webhooks", "deliver").stdout and hook.received == []
