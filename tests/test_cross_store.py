"""One request across a SQL shop, a Parquet lake and an S3 bucket, linked by the customer id."""

from __future__ import annotations

import base64
import json
from contextlib import closing

import boto3
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import sqlalchemy as sa
import yaml

from dsr_pipelines.demo import files as shopfiles
from dsr_pipelines.demo import shop
from dsr_pipelines.service import batch
from dsr_pipelines.service.workspace import Workspace

from .conftest import files_containing


def _counts(status: dict) -> dict[tuple[str, str], dict]:
    return {(r["store"], r["collection"]): r for r in status["results"]}


def test_datamap_with_links_between_stores_checks_clean_and_a_broken_link_is_named(stores):
    assert stores.project.cli("datamap", "check").stdout.strip() == "datamap ok"
    lake = json.loads(json.dumps(shopfiles.LAKE_DATAMAP))
    lake["collections"]["events"]["references"][0]["to"] = "clients"
    stores.project.write_datamap({"shop": shop.DATAMAP, "lake": lake, "files": shopfiles.FILES_DATAMAP})
    result = stores.project.cli("datamap", "check", expect=1)
    assert "stores.lake.collections.events.references[0]: refers to shop.clients" in result.stderr


def test_access_request_covers_the_shop_the_lake_and_the_bucket(stores, tmp_path):
    person = stores.project.people[4]
    request_id = stores.project.submit(person, "access")
    stores.project.cli("run", str(request_id))
    status = stores.status(request_id)
    assert status["state"] == "completed"
    counts = _counts(status)
    assert counts[("lake", "events")]["found"] == 6  # by user_id (linked) and by email (logins)
    assert counts[("files", "profiles")]["found"] == 2
    assert counts[("files", "newsletter")]["found"] == 1
    assert counts[("shop", "customers")]["found"] == 1

    out = tmp_path / "package"
    stores.project.cli("export", str(request_id), "--out", str(out))
    events = json.loads((out / "lake" / "events.json").read_text())
    assert {e["user_id"] for e in events} == {person.customer_id} and len(events) == 6
    assert "_request" not in events[0] and "_via" not in events[0]
    profiles = {p["_source"]: p for p in json.loads((out / "files" / "profiles.json").read_text())}
    profile = json.loads(base64.b64decode(profiles[f"users/{person.customer_id}/profile.json"]["content"]))
    assert profile["email"] == person.email
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] is True
    sources = {(s["store"], s["collection"]): s for s in manifest["sources"]}
    assert sources[("files", "newsletter")]["recipients"] == ["mailing provider"]


def test_erasure_reaches_every_store_through_the_link_and_touches_no_one_else(stores, dagster_home):
    person = stores.project.people[6]
    cid = person.customer_id
    events_before, objects_before = stores.events(), stores.objects()

    request_id = stores.project.submit(person, "erasure")
    stores.project.cli("run", str(request_id))
    status = stores.status(request_id)
    assert status["state"] == "completed", status
    assert status["probe"]["residual"] == 0 and status["identities_held"] is False

    mine = [e for e in events_before if e["user_id"] == cid]
    assert stores.events() == [e for e in events_before if e["user_id"] != cid]
    objects = stores.objects()
    assert not [k for k in objects if k.startswith(f"users/{cid}/")]
    assert {k for k in objects_before if not k.startswith(f"users/{cid}/")} == set(objects)
    mentioned = {k for k, v in objects_before.items() if person.email.encode() in v and k in objects}
    assert {k.split("/")[0] for k in mentioned} == {"exports", "logs"}  # a newsletter export and a log
    for key in mentioned:
        lines = objects_before[key].decode().splitlines(keepends=True)
        kept = "".join(line for line in lines if person.email not in line)
        assert objects[key].decode() == kept  # the others' lines, byte for byte
    assert all(objects[k] == v for k, v in objects_before.items() if k in objects and k not in mentioned)

    counts = _counts(status)
    assert counts[("lake", "events")]["deleted"] == len(mine)
    assert counts[("files", "profiles")]["deleted"] == 2
    assert counts[("files", "newsletter")]["deleted"] == 1
    assert counts[("files", "app_logs")]["deleted"] == 1
    with closing(stores.project.db()) as db:
        assert db.links.count() == 0

    needles = [person.email, person.phone, person.name, f"users/{cid}/"]
    assert files_containing(dagster_home, needles) == []


def test_links_recorded_before_any_change_let_a_resumed_erasure_reach_the_other_stores(stores):
    """The shop's erasure deletes the customer row; a crash after it must not strand the lake."""
    p = stores.project
    person = p.people[5]  # nobody was referred by them, so their customer row can go
    cid = person.customer_id
    request_id = p.submit(person, "erasure")
    with Workspace.open(p.config_path) as ws:  # a first run recorded the links and erased the shop, then died
        ws.db.requests.start([request_id], "crashed-run")
        assert batch.record_links(ws, [request_id]) == 1
        engine = p.engine()
        with engine.begin() as conn:
            orders = "SELECT id FROM orders WHERE customer_id = :c"
            conn.execute(sa.text(f"DELETE FROM returns WHERE order_id IN ({orders})"), {"c": cid})
            conn.execute(sa.text(f"DELETE FROM order_lines WHERE order_id IN ({orders})"), {"c": cid})
            for table in ("orders", "addresses", "support_tickets"):
                conn.execute(sa.text(f"DELETE FROM {table} WHERE customer_id = :c"), {"c": cid})
            conn.execute(sa.text("DELETE FROM customers WHERE id = :c"), {"c": cid})
        engine.dispose()
        ws.db.results.record_store(request_id, "shop", "done", [], "crashed-run")

    p.cli("run", str(request_id))
    assert stores.status(request_id)["state"] == "completed"
    assert not [e for e in stores.events() if e["user_id"] == cid]
    assert not [k for k in stores.objects() if k.startswith(f"users/{cid}/")]


def test_unreadable_objects_leave_the_request_partially_completed_with_the_list(stores):
    p = stores.project
    person = p.people[2]
    stores.client.put_object(
        Bucket=stores.bucket,
        Key="exports/broken.ndjson",
        Body=f'{{"email": "{person.email}", oops\n{{"email": "someone@else.com"}}\n'.encode(),
    )
    request_id = p.submit(person, "erasure")
    p.cli("run", str(request_id), expect=1)
    status = stores.status(request_id)
    assert status["state"] == "partially_completed"
    assert "1 objects or files skipped" in status["error"]
    (skipped,) = status["skipped"]
    assert (skipped["store"], skipped["collection"], skipped["item"]) == (
        "files",
        "newsletter",
        "exports/broken.ndjson",
    )
    assert skipped["reason"].startswith("line 1: invalid JSON") and person.email not in skipped["reason"]
    assert not [e for e in stores.events() if e["user_id"] == person.customer_id]  # the rest was done
    assert b"someone@else.com" in stores.objects()["exports/broken.ndjson"]  # nothing lost

    # Someone repairs the object; running again finishes the job.
    repaired = json.dumps({"email": person.email, "tenant_id": person.tenant}) + "\n"
    stores.client.put_object(Bucket=stores.bucket, Key="exports/broken.ndjson", Body=repaired.encode())
    p.cli("run", str(request_id))
    status = stores.status(request_id)
    assert status["state"] == "completed" and status["skipped"] == []
    assert "exports/broken.ndjson" not in stores.objects()


class _VanishesOnFirstWrite:
    """A boto3 client: the bucket is really deleted just before the first change to it."""

    def __init__(self, client):
        self.client = client

    def _vanish(self, kwargs):
        self.client.delete_bucket(Bucket=kwargs["Bucket"])

    def put_object(self, **kwargs):
        self._vanish(kwargs)
        return self.client.put_object(**kwargs)

    def delete_object(self, **kwargs):
        self._vanish(kwargs)
        return self.client.delete_object(**kwargs)

    def __getattr__(self, name):
        return getattr(self.client, name)


def test_a_bucket_that_disappears_mid_run_leaves_the_rest_done_and_the_request_partial(stores, monkeypatch):
    p = stores.project
    person = p.people[3]
    real = boto3.client
    monkeypatch.setattr(boto3, "client", lambda *a, **k: _VanishesOnFirstWrite(real(*a, **k)))
    request_id = p.submit(person, "erasure")
    p.cli("run", str(request_id), expect=1)
    status = stores.status(request_id)
    assert status["state"] == "partially_completed"
    assert {s["reason"] for s in status["skipped"]} == {"the bucket no longer exists"}
    assert not [e for e in stores.events() if e["user_id"] == person.customer_id]
    engine = p.engine()
    with engine.connect() as conn:
        left = sa.text("SELECT count(*) FROM addresses WHERE customer_id = :c")
        assert conn.execute(left, {"c": person.customer_id}).scalar() == 0
    engine.dispose()


def test_older_versions_holding_the_subject_are_deleted_and_counted_per_request(stores, s3_server):
    p = stores.project
    versioned = s3_server.new_bucket(versioned=True)
    shopfiles.upload(stores.client, versioned, p.people)
    person, other = p.people[0], p.people[1]
    key = next(
        k for k, v in shopfiles.objects(p.people).items() if person.email.encode() in v and "exports" in k
    )
    older = json.dumps({"email": person.email, "tenant_id": person.tenant, "opted_in": False}) + "\n"
    stores.client.put_object(Bucket=versioned, Key=key, Body=older.encode())
    current = "".join(json.dumps({"email": x.email, "tenant_id": x.tenant}) + "\n" for x in (person, other))
    stores.client.put_object(Bucket=versioned, Key=key, Body=current.encode())
    config = yaml.safe_load(p.config_path.read_text())
    config["stores"][2]["url"] = f"s3://{versioned}"
    p.write_config(**config)

    request_id = p.submit(person, "erasure")
    p.cli("run", str(request_id))
    status = stores.status(request_id)
    assert status["state"] == "completed"
    # The first upload, the older replacement and the version the erasure replaced held the subject.
    assert _counts(status)[("files", "newsletter")]["versions"] == 3
    for v in stores.client.list_object_versions(Bucket=versioned, Prefix=key)["Versions"]:
        body = stores.client.get_object(Bucket=versioned, Key=key, VersionId=v["VersionId"])["Body"].read()
        assert person.email.encode() not in body
    assert "versions" in p.cli("status", str(request_id)).stdout


def test_a_lake_file_whose_schema_changed_is_listed_and_the_rest_is_erased(stores):
    p = stores.project
    person = p.people[7]
    folder = stores.lake / "events" / "day=2025-03-09"
    folder.mkdir()
    renamed = ds.dataset(stores.lake / "events", partitioning="hive").to_table().slice(0, 3)
    renamed = renamed.rename_columns(["user" if c == "user_id" else c for c in renamed.column_names])
    pq.write_table(renamed.drop_columns(["day"]), folder / "part-0.parquet")
    request_id = p.submit(person, "erasure")
    p.cli("run", str(request_id), expect=1)
    status = stores.status(request_id)
    assert status["state"] == "partially_completed"
    reasons = {(s["item"], s["reason"]) for s in status["skipped"]}
    assert (
        "day=2025-03-09/part-0.parquet",
        "no column user_id in this file (the dataset's schema changed)",
    ) in reasons
    assert not [e for e in stores.events() if e.get("user_id") == person.customer_id]


def test_dry_run_across_stores_changes_nothing_and_records_no_links(stores):
    p = stores.project
    person = p.people[9]
    events, objects = stores.events(), stores.objects()
    request_id = p.submit(person, "erasure")
    plan = json.loads(p.cli("run", str(request_id), "--dry-run", "--json").stdout)["requests"][
        str(request_id)
    ]
    counts = {(r["store"], r["collection"]): r for r in plan}
    assert counts[("lake", "events")]["deleted"] == 6 and counts[("files", "profiles")]["deleted"] == 2
    assert stores.events() == events and stores.objects() == objects
    with closing(p.db()) as db:
        assert db.links.count() == 0


def test_the_over_deletion_guard_counts_lake_and_bucket_collections(stores):
    p = stores.project
    p.write_config(
        **{**yaml.safe_load(p.config_path.read_text()), "guard": {"max_share": 0.01, "min_rows": 2}}
    )
    person = p.people[10]
    events = stores.events()
    request_id = p.submit(person, "erasure")
    p.cli("run", str(request_id), expect=1)
    status = stores.status(request_id)
    assert status["state"] == "failed"
    assert "over-deletion guard: lake.events matched 6 of 120 rows (limit 2)" in status["error"]
    assert stores.events() == events


def test_an_access_package_says_what_could_not_be_read(stores, tmp_path):
    p = stores.project
    person = p.people[11]
    broken = f'{{"email": "{person.email}", oops\n'
    stores.client.put_object(Bucket=stores.bucket, Key="exports/broken.ndjson", Body=broken.encode())
    request_id = p.submit(person, "access")
    p.cli("run", str(request_id), expect=1)
    assert stores.status(request_id)["state"] == "partially_completed"
    out = tmp_path / "package"
    p.cli("export", str(request_id), "--out", str(out))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] is False
    assert [(s["store"], s["item"]) for s in manifest["skipped"]] == [("files", "exports/broken.ndjson")]
    assert json.loads((out / "lake" / "events.json").read_text())  # what could be read is there
