"""A lake's or bucket's access requests and erasures split into chunks (`chunks:` in dsr.yaml): each
chunk a step of its own over its share of the files or objects, the guard judging the chunks' sum,
the result the same as one pass, every file or object rewritten by exactly one chunk, a chunk done
again changing nothing, an access package holding every chunk's share.
"""

from __future__ import annotations

import json

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import yaml

from connectors import Chunk
from dsr_pipelines.demo import files as shopfiles
from dsr_pipelines.demo import shop
from dsr_pipelines.service import per_store
from dsr_pipelines.service.requests import certificate
from dsr_pipelines.service.workspace import Workspace

CHUNKS = 3


def lake_files(stores) -> dict[str, float]:
    """Each data file of the lake and when it last changed."""
    root = stores.lake / "events"
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*.parquet")}


def test_every_file_and_object_belongs_to_exactly_one_chunk(stores):
    stores.split(CHUNKS)
    with Workspace.open(stores.project.config_path) as ws:
        for store, collections in (("lake", ["events"]), ("files", ["profiles", "newsletter", "app_logs"])):
            connector = ws.connector(store)
            for collection in collections:
                if store == "lake":
                    every = [f.source for f in connector.files(collection)]
                    shares = [
                        [f.source for f in connector.within(Chunk(i, CHUNKS)).files(collection)]
                        for i in range(CHUNKS)
                    ]
                else:
                    layout = connector.layout(collection)
                    every = [o.key for o in connector.objects(layout)]
                    shares = [
                        [o.key for o in connector.within(Chunk(i, CHUNKS)).objects(layout)]
                        for i in range(CHUNKS)
                    ]
                assert sorted(k for share in shares for k in share) == sorted(every), (store, collection)
                if collection in ("events", "profiles"):  # enough files and objects for every chunk
                    assert all(shares), f"{store}.{collection}: a chunk with nothing"


def test_a_chunked_erasure_removes_what_one_pass_removes_and_nothing_else(stores):
    person, other = stores.project.people[2], stores.project.people[3]
    before_events, before_objects = stores.events(), stores.objects()
    stores.split(CHUNKS)
    request_id = stores.project.submit(person, "erasure")
    stores.project.cli("run", str(request_id))

    status = stores.status(request_id)
    assert status["state"] == "completed", status
    found = {(r["store"], r["collection"]): r for r in status["results"]}
    lake_keys = {s for s, c in found if s.startswith("lake")}
    assert lake_keys <= {f"lake.{i}" for i in range(CHUNKS)} and lake_keys, found
    mine = [e for e in before_events if e not in stores.without(person, before_events)]
    assert sum(r["deleted"] for (s, _), r in found.items() if s.startswith("lake")) == len(mine)
    assert all(r["residual"] == 0 for r in found.values())
    with Workspace.open(stores.project.config_path) as ws:  # the controller's certificate: per store
        erased = {(e["store"], e["collection"]): e["deleted"] for e in certificate(ws, request_id)["erased"]}
    assert erased[("lake", "events")] == len(mine) and {s for s, _ in erased} <= {"shop", "lake", "files"}

    # One pass would leave exactly this: every event and object but the subject's.
    assert stores.events() == stores.without(person, before_events)
    left = stores.objects()
    assert not [k for k in left if f"users/{person.customer_id}/" in k]
    assert [k for k in before_objects if f"users/{other.customer_id}/" in k] == [
        k for k in left if f"users/{other.customer_id}/" in k
    ]
    assert not any(person.email.encode() in body for body in left.values())


def events_per_chunk(stores, person) -> list[int]:
    """How many of the person's events (by customer id) each chunk of the lake holds."""
    with Workspace.open(stores.project.config_path) as ws:
        return [
            sum(
                pq.read_table(f.path, filters=[("user_id", "=", person.customer_id)]).num_rows
                for f in ws.connector("lake").within(Chunk(i, CHUNKS)).files("events")
            )
            for i in range(CHUNKS)
        ]


def test_a_chunked_access_request_packages_every_chunk_s_share(stores, tmp_path):
    stores.split(CHUNKS)
    # Someone whose events more than one chunk holds.
    person = next(p for p in stores.project.people if sum(map(bool, events_per_chunk(stores, p))) > 1)
    mine = [e for e in stores.events() if e not in stores.without(person, stores.events())]
    request_id = stores.project.submit(person, "access")
    stores.project.cli("run", str(request_id))
    assert stores.status(request_id)["state"] == "completed"

    out = tmp_path / "package"
    stores.project.cli("export", str(request_id), "--out", str(out))
    parts = sorted((out / "lake").glob("events.part-*.json"))
    assert len(parts) > 1  # the subject's events are spread over the chunks
    exported = [e for part in parts for e in json.loads(part.read_text())]
    assert sorted(e["event_id"] for e in exported) == sorted(e["event_id"] for e in mine)
    manifest = json.loads((out / "manifest.json").read_text())
    sources = {(s["store"], s["collection"]): s for s in manifest["sources"]}
    assert sources[("lake", "events")]["records"] == len(mine)  # one source, summed over the chunks
    assert sources[("lake", "events")]["purposes"] == ["product analytics"]


def test_a_chunk_erased_again_changes_no_file(stores):
    person = stores.project.people[5]
    stores.split(CHUNKS)
    request_id = stores.project.submit(person, "erasure")
    with Workspace.open(stores.project.config_path) as ws:  # the run removes the identities it used
        (subject,) = ws.db.requests.subjects([request_id])
    stores.project.cli("run", str(request_id))
    files = lake_files(stores)
    with Workspace.open(stores.project.config_path) as ws:
        for i in range(CHUNKS):
            connector = ws.connector("lake").within(Chunk(i, CHUNKS))
            again = per_store.erase(f"lake.{i}", ws.datamap.stores["lake"], connector, [subject], ws.db.keys)
            assert per_store.totals(again.summary)["deleted"] == 0
    assert lake_files(stores) == files  # not one file rewritten


def test_the_guard_judges_the_sum_of_the_chunks_against_the_whole_collection(stores):
    person = stores.project.people[6]
    stores.split(CHUNKS, guard={"max_share": 0.01, "min_rows": 5})
    total = ds.dataset(stores.lake / "events", partitioning="hive").count_rows()
    mine = [e for e in stores.events() if e["user_id"] == person.customer_id]
    per_chunk = events_per_chunk(stores, person)
    assert sum(per_chunk) == len(mine) and max(per_chunk) <= 5  # each chunk alone is let through
    request_id = stores.project.submit(person, "erasure")
    before = stores.events()
    stores.project.cli("run", str(request_id), expect=1)
    status = stores.status(request_id)
    assert status["state"] == "failed"
    assert f"lake.events matched {len(mine)} of {total} rows" in status["error"], status["error"]
    assert stores.events() == before


def test_a_store_split_into_chunks_may_not_reference_itself(stores):
    stores.split(CHUNKS)
    lake = {"collections": {**shopfiles.LAKE_DATAMAP["collections"]}}
    lake["collections"]["sessions"] = {
        "path": "events",
        "tenant_field": "tenant_id",
        "fields": {"user_id": {"category": "customer_id"}},
        "references": [{"fields": ["user_id"], "to": "events", "to_fields": ["user_id"]}],
    }
    stores.project.write_datamap({"shop": shop.DATAMAP, "lake": lake, "files": shopfiles.FILES_DATAMAP})
    request_id = stores.project.submit(stores.project.people[0], "erasure")
    refused = stores.project.cli("run", str(request_id), expect=2)
    assert "stores.lake.collections.sessions: a reference inside a store split into chunks" in refused.stderr


@pytest.mark.parametrize("value", [0, -1, "two"])
def test_a_bad_chunk_count_is_named(stores, value):
    stores.split(value)
    assert "chunks" in stores.project.cli("list", expect=2).stderr


def test_a_chunked_store_s_name_leaves_room_for_its_chunk_keys(stores):
    data = yaml.safe_load(stores.project.config_path.read_text())
    data["stores"][1] |= {"name": "l" * 62, "chunks": 10}  # lake.9 would need 64 characters
    stores.project.config_path.write_text(yaml.safe_dump(data))
    assert (
        "a store in 10 chunks needs a name of at most 61 characters"
        in stores.project.cli("list", expect=2).stderr
    )


def test_a_sql_store_has_no_chunks(stores):
    data = yaml.safe_load(stores.project.config_path.read_text())
    data["stores"][0]["chunks"] = 2
    stores.project.config_path.write_text(yaml.safe_dump(data))
    assert "chunks are for s3 and parquet stores" in stores.project.cli("list", expect=2).stderr
