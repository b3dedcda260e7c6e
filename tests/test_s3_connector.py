"""The S3 connector against a real S3 server (SeaweedFS): formats, one pass, erasure, versions, tags."""

from __future__ import annotations

import gzip
import io
import json

import pyarrow as pa
import pytest

from connectors import RECORD, SOURCE, Delete, EraseOp, Mask, S3Connector, Skipped

LAYOUTS = {
    "exports": {"prefix": "exports/", "format": "auto"},
    "logs": {"prefix": "logs/", "format": "text"},
    "avatars": {"key_pattern": "users/{user_id}/"},
}


def put(client, bucket: str, key: str, text: str, compressed: bool = False, **extra) -> None:
    data = gzip.compress(text.encode()) if compressed else text.encode()
    client.put_object(Bucket=bucket, Key=key, Body=data, **extra)


def read(client, bucket: str, key: str, **extra) -> str:
    data = client.get_object(Bucket=bucket, Key=key, **extra)["Body"].read()
    return (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode()


def keys_of(client, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", []))


def connector(s3_server, bucket: str, client=None, **options) -> S3Connector:
    return S3Connector(
        "files",
        f"s3://{bucket}",
        layouts=LAYOUTS,
        endpoint_url=s3_server.endpoint,
        access_key=s3_server.access_key,
        secret_key=s3_server.secret_key,
        client=client,
        **options,
    )


def found(conn: S3Connector, collection: str, *keys: pa.Table) -> tuple[list[dict], list[Skipped]]:
    rows, skipped = [], []
    for item in conn.find(collection, list(keys)):
        if isinstance(item, Skipped):
            skipped.append(item)
        else:
            rows += pa.Table.from_batches([item]).to_pylist()
    return rows, skipped


@pytest.fixture
def shop_files(s3_server, bucket):
    """Exports in every format, one gzip-compressed, app logs, and per-user objects."""
    client = s3_server.client()
    put(
        client,
        bucket,
        "exports/2024-01.ndjson",
        '{"email": "ann@x.com", "order": 1}\n{"email": "joann@x.com", "order": 2}\n'
        '{"email": "bob@x.com", "order": 3, "user": {"city": "Leeds"}}\n',
    )
    put(client, bucket, "exports/2024-02.json", json.dumps([{"email": "ann@x.com", "order": 4}]))
    put(client, bucket, "exports/2024-03.csv", "order,email\n5,bob@x.com\n6,ann@x.com\n")
    put(client, bucket, "exports/2024-04.ndjson.gz", '{"email": "ann@x.com", "order": 7}\n', compressed=True)
    put(client, bucket, "logs/app.log", "login ann@x.com ok\nlogin JOANN@x.com ok\nlogout ANN@X.COM\n")
    put(client, bucket, "users/7/avatar.png", "\x89PNG fake")
    put(client, bucket, "users/7/profile.json", '{"name": "Ann"}')
    put(client, bucket, "users/8/avatar.png", "\x89PNG other")
    return client, bucket


def test_records_are_found_in_every_format_in_one_pass_as_whole_words(s3_server, shop_files):
    client, bucket = shop_files
    conn = connector(s3_server, bucket)
    rows, skipped = found(conn, "exports", pa.table({"email": ["ann@x.com", "bob@x.com"]}))
    assert skipped == []
    by_order = {int(r["order"]): r for r in rows}
    assert sorted(by_order) == [1, 3, 4, 5, 6, 7]  # not joann@x.com's order 2
    assert by_order[7][SOURCE] == "exports/2024-04.ndjson.gz"  # gzip told from the bytes
    assert by_order[3]["user.city"] == "Leeds"  # nested JSON flattened
    assert by_order[6][RECORD] == 1  # second data row of the CSV

    logs, _ = found(conn, "logs", pa.table({"email": ["ann@x.com"]}))
    assert sorted(r[RECORD] for r in logs) == [0, 2]  # any case, whole words: not JOANN@x.com
    assert all(r["email"] == "ann@x.com" for r in logs)


def test_an_object_is_read_again_in_a_run_only_once_it_changed(s3_server, shop_files):
    client, bucket = shop_files
    conn = connector(s3_server, bucket)
    reads: list[str] = []
    get = conn.bucket.get
    conn.bucket.get = lambda key, *args: reads.append(key) or get(key, *args)  # counts the real reads
    bob = pa.table({"email": ["bob@x.com"]})

    first, _ = found(conn, "exports", bob)
    assert sorted(reads) == ["exports/2024-01.ndjson", "exports/2024-02.json", "exports/2024-03.csv",
                             "exports/2024-04.ndjson.gz"]  # fmt: skip
    reads.clear()
    again, _ = found(conn, "exports", bob)  # the guard's lookup, then the erasure's: the same keys
    assert again == first
    # those without bob are remembered as misses, those with him are kept: nothing read again
    assert reads == []

    reads.clear()  # another writer adds bob to an object that held nobody of his: read again
    put(client, bucket, "exports/2024-02.json", json.dumps([{"email": "bob@x.com", "order": 8}]))
    after, _ = found(conn, "exports", bob)
    assert sorted(int(r["order"]) for r in after) == sorted([*(int(r["order"]) for r in first), 8])
    assert "exports/2024-02.json" in reads and "exports/2024-04.ndjson.gz" not in reads

    reads.clear()  # other keys are another lookup: every object is searched again, the kept unread
    found(conn, "exports", pa.table({"email": ["ann@x.com"]}))
    assert reads == ["exports/2024-04.ndjson.gz"]


def test_a_kept_object_changed_before_its_erasure_is_read_again(s3_server, bucket):
    client = s3_server.client()
    key = "exports/kept.ndjson"
    put(client, bucket, key, '{"email": "ann@x.com"}\n{"email": "bob@x.com"}\n')
    conn = connector(s3_server, bucket)
    ann = pa.table({"email": ["ann@x.com"]})
    assert len(found(conn, "exports", ann)[0]) == 1  # kept as read
    put(
        client,
        bucket,
        key,
        '{"email": "ann@x.com"}\n{"email": "ann@x.com", "n": 2}\n{"email": "eve@x.com"}\n',
    )
    (count,) = conn.erase([EraseOp("exports", ann, Delete())])
    # the replace of the kept version was refused (If-Match): the new one was read and erased
    assert count.changed == 2
    assert read(client, bucket, key) == '{"email": "eve@x.com"}\n'
    assert found(conn, "exports", ann)[0] == []


def test_objects_under_a_key_pattern_belong_to_one_subject(s3_server, shop_files):
    client, bucket = shop_files
    conn = connector(s3_server, bucket)
    rows, _ = found(conn, "avatars", pa.table({"user_id": [7]}))
    assert sorted(r[SOURCE] for r in rows) == ["users/7/avatar.png", "users/7/profile.json"]
    assert {r["content"] for r in rows} == {b"\xc2\x89PNG fake", b'{"name": "Ann"}'}

    (count,) = conn.erase([EraseOp("avatars", pa.table({"user_id": ["7"]}), Delete())])
    assert count.changed == 2
    assert keys_of(client, bucket)[-1] == "users/8/avatar.png"
    assert not any(k.startswith("users/7/") for k in keys_of(client, bucket))


def test_erase_rewrites_objects_without_the_subject_and_deletes_objects_that_were_theirs_alone(
    s3_server, shop_files
):
    client, bucket = shop_files
    client.put_object_tagging(
        Bucket=bucket,
        Key="exports/2024-01.ndjson",
        Tagging={"TagSet": [{"Key": "team", "Value": "sales"}]},
    )
    conn = connector(s3_server, bucket)
    ann = pa.table({"email": ["ann@x.com"]})
    ops = [EraseOp("exports", ann, Delete()), EraseOp("logs", ann, Delete())]
    counts = conn.erase(ops)
    assert [c.changed for c in counts] == [4, 2]

    # Every line that is not ann's stays exactly as it was (joann's included).
    assert read(client, bucket, "exports/2024-01.ndjson") == (
        '{"email": "joann@x.com", "order": 2}\n'
        '{"email": "bob@x.com", "order": 3, "user": {"city": "Leeds"}}\n'
    )
    assert read(client, bucket, "exports/2024-03.csv") == "order,email\n5,bob@x.com\n"
    assert read(client, bucket, "logs/app.log") == "login JOANN@x.com ok\n"
    remaining = keys_of(client, bucket)
    assert "exports/2024-02.json" not in remaining and "exports/2024-04.ndjson.gz" not in remaining
    assert conn.bucket.tags("exports/2024-01.ndjson") == {"team": "sales"}  # tags survive the rewrite

    rows, _ = found(conn, "exports", ann)
    assert rows == []
    assert conn.erase(ops)[0].changed == 0  # idempotent


def test_mask_changes_only_the_named_fields_and_keeps_compression(s3_server, bucket):
    client = s3_server.client()
    put(
        client,
        bucket,
        "exports/a.ndjson.gz",
        '{"email": "ann@x.com", "name": "Ann", "n": 1}\n',
        compressed=True,
    )
    conn = connector(s3_server, bucket)
    (count,) = conn.erase(
        [
            EraseOp(
                "exports",
                pa.table({"email": ["ann@x.com"]}),
                Mask({"email": "hash", "name": "redact"}, b"k" * 32),
            )
        ]
    )
    assert count.changed == 1
    raw = client.get_object(Bucket=bucket, Key="exports/a.ndjson.gz")["Body"].read()
    assert raw[:2] == b"\x1f\x8b"
    record = json.loads(gzip.decompress(raw))
    assert record["email"].startswith("hash:") and record["name"] == "[redacted]" and record["n"] == 1


class ConcurrentWriter:
    """A boto3 client after whose `nth` read of `key` another writer really updates the object."""

    def __init__(self, client, key: str, update, nth: int = 1):
        self.client, self.key, self.update, self.nth = client, key, update, nth
        self.reads = 0

    def get_object(self, **kwargs):
        resp = self.client.get_object(**kwargs)
        if kwargs.get("Key") == self.key and "VersionId" not in kwargs:
            self.reads += 1
            if self.reads == self.nth:
                body = resp["Body"].read()
                self.client.put_object(Bucket=kwargs["Bucket"], Key=self.key, Body=self.update(body))
                resp["Body"] = io.BytesIO(body)  # the erasure still sees what it read
        return resp

    def __getattr__(self, name):
        return getattr(self.client, name)


def test_an_object_changed_during_erase_is_read_again_and_the_other_writer_keeps_its_update(
    s3_server, bucket
):
    client = s3_server.client()
    key = "exports/live.ndjson"
    put(client, bucket, key, '{"email": "ann@x.com"}\n{"email": "bob@x.com"}\n')
    writer = ConcurrentWriter(client, key, lambda body: body + b'{"email": "carol@x.com"}\n')
    conn = connector(s3_server, bucket, client=writer)
    (count,) = conn.erase([EraseOp("exports", pa.table({"email": ["ann@x.com"]}), Delete())])
    assert writer.reads == 2  # the first replacement was refused (If-Match), the object read again
    assert count.changed == 1 and count.skipped == ()
    assert read(client, bucket, key) == '{"email": "bob@x.com"}\n{"email": "carol@x.com"}\n'


def test_an_object_that_keeps_changing_is_skipped_and_left_as_the_other_writer_made_it(s3_server, bucket):
    client = s3_server.client()
    key = "exports/busy.ndjson"
    put(client, bucket, key, '{"email": "ann@x.com"}\n')

    class AlwaysWriting(ConcurrentWriter):
        def get_object(self, **kwargs):
            self.nth = self.reads + 1
            return super().get_object(**kwargs)

    writer = AlwaysWriting(client, key, lambda body: body + b'{"email": "dan@x.com"}\n')
    conn = connector(s3_server, bucket, client=writer, attempts=3)
    (count,) = conn.erase([EraseOp("exports", pa.table({"email": ["ann@x.com"]}), Delete())])
    assert count.changed == 0
    (skip,) = count.skipped
    assert skip.item == key and "changed 3 times" in skip.reason
    assert read(client, bucket, key).count("dan@x.com") == 3  # every concurrent write kept


def test_versioned_bucket_loses_every_older_version_that_held_the_subject(s3_server):
    client = s3_server.client()
    bucket = s3_server.new_bucket(versioned=True)
    put(client, bucket, "exports/a.ndjson", '{"email": "ann@x.com"}\n')
    put(client, bucket, "exports/a.ndjson", '{"email": "ann@x.com"}\n{"email": "bob@x.com"}\n')
    put(client, bucket, "exports/b.ndjson", '{"email": "ann@x.com", "v": 1}\n')
    put(client, bucket, "exports/b.ndjson", '{"email": "bob@x.com", "v": 2}\n')  # ann only in the old one
    put(client, bucket, "exports/c.ndjson", '{"email": "bob@x.com"}\n')
    put(client, bucket, "exports/c.ndjson", '{"email": "carol@x.com"}\n')  # ann never in c

    conn = connector(s3_server, bucket)
    (count,) = conn.erase([EraseOp("exports", pa.table({"email": ["ann@x.com"]}), Delete())])
    assert count.changed == 1
    # a's two versions that held ann (the one replaced and the older one) and b's older one.
    assert len(count.versions) == 3 and all(v == {"ann@x.com"} for v in count.versions)

    versions = client.list_object_versions(Bucket=bucket)["Versions"]
    for v in versions:
        text = read(client, bucket, v["Key"], VersionId=v["VersionId"])
        assert "ann@x.com" not in text, (v["Key"], text)
    assert sum(1 for v in versions if v["Key"] == "exports/c.ndjson") == 2  # untouched
    assert read(client, bucket, "exports/a.ndjson") == '{"email": "bob@x.com"}\n'


def test_whole_objects_in_a_versioned_bucket_lose_every_version(s3_server):
    client = s3_server.client()
    bucket = s3_server.new_bucket(versioned=True)
    put(client, bucket, "users/7/avatar.png", "one")
    put(client, bucket, "users/7/avatar.png", "two")
    conn = connector(s3_server, bucket)
    (count,) = conn.erase([EraseOp("avatars", pa.table({"user_id": ["7"]}), Delete())])
    assert count.changed == 1 and len(count.versions) == 1  # the older of the two
    assert client.list_object_versions(Bucket=bucket).get("Versions", []) == []


def test_tags_can_be_set_and_removed_without_touching_other_tags(s3_server, shop_files):
    client, bucket = shop_files
    conn = connector(s3_server, bucket)
    key = "exports/2024-03.csv"
    conn.bucket.set_tags(key, {"team": "ops"})
    conn.bucket.set_tags(key, {"dsr-restricted": "true"})
    assert conn.bucket.tags(key) == {"team": "ops", "dsr-restricted": "true"}
    conn.bucket.remove_tags(key, ["dsr-restricted"])
    assert conn.bucket.tags(key) == {"team": "ops"}


def test_unreadable_objects_are_reported_when_they_hold_the_subject_and_kept_intact(s3_server, bucket):
    client = s3_server.client()
    bad_lines = '{"email": "bob@x.com"}\n{"email": "ann@x.com", oops\n{"email": "zed@x.com", oops\n'
    put(client, bucket, "exports/lines.ndjson", bad_lines)
    put(client, bucket, "exports/ragged.csv", "order,email\n1,ann@x.com,extra\n2,bob@x.com\n")
    put(client, bucket, "exports/blob.bin", "binary with ann@x.com inside")
    put(client, bucket, "exports/other.bin", "binary about nobody we look for")
    latin1 = b'{"email": "ann@x.com", "city": "K\xf6ln"}\n'
    client.put_object(Bucket=bucket, Key="exports/latin1.ndjson", Body=latin1)
    client.put_object(Bucket=bucket, Key="exports/broken.json.gz", Body=b"\x1f\x8b not really gzip")
    conn = connector(s3_server, bucket)
    ann = pa.table({"email": ["ann@x.com"]})

    rows, skipped = found(conn, "exports", ann)
    assert rows == []
    reasons = {s.item: s.reason for s in skipped}
    assert reasons == {
        "exports/lines.ndjson": "line 2: invalid JSON "
        "(Expecting property name enclosed in double quotes at column 24)",
        "exports/ragged.csv": "row 2: 3 fields, the header has 2",
        "exports/blob.bin": "unknown format (give the prefix a format)",
        "exports/latin1.ndjson": "not UTF-8 text (byte 33)",
        "exports/broken.json.gz": "not a valid gzip stream",
    }
    assert all("ann@x.com" not in r for r in reasons.values())  # reasons carry positions, not content
    assert {s.item: s.hits for s in skipped}["exports/broken.json.gz"] is None  # could not be searched

    before = {k: client.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys_of(client, bucket)}
    (count,) = conn.erase([EraseOp("exports", ann, Delete())])
    assert count.changed == 0 and {s.item for s in count.skipped} == {
        "exports/lines.ndjson",
        "exports/ragged.csv",
        "exports/latin1.ndjson",
        "exports/broken.json.gz",  # it cannot be searched, so it may hold them
    }
    after = {k: client.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys_of(client, bucket)}
    assert after == before  # nothing lost

    bob, _ = found(conn, "exports", pa.table({"email": ["bob@x.com"]}))
    assert sorted(r[SOURCE] for r in bob) == [
        "exports/lines.ndjson",
        "exports/ragged.csv",
    ]  # the rest is read


class VanishingBucket:
    """A boto3 client that really deletes the bucket, objects and all, after `after` reads."""

    def __init__(self, client, after: int):
        self.client, self.after, self.reads = client, after, 0

    def get_object(self, **kwargs):
        self.reads += 1
        if self.reads == self.after + 1:
            self.client.delete_bucket(Bucket=kwargs["Bucket"])
        return self.client.get_object(**kwargs)

    def __getattr__(self, name):
        return getattr(self.client, name)


def test_a_bucket_that_disappears_mid_run_is_reported_per_object(s3_server, shop_files):
    client, bucket = shop_files
    conn = connector(s3_server, bucket, client=VanishingBucket(client, after=2), workers=1)
    rows, skipped = found(conn, "exports", pa.table({"email": ["ann@x.com"]}))
    assert len(rows) == 2  # the first two objects were read (both hold ann)
    assert [s.item for s in skipped] == ["exports/2024-03.csv", "exports/2024-04.ndjson.gz"]
    assert all(s.reason == "the bucket no longer exists" and s.hits is None for s in skipped)
    (count,) = conn.erase([EraseOp("exports", pa.table({"email": ["ann@x.com"]}), Delete())])
    assert count.changed == 0 and [s.reason for s in count.skipped] == ["the bucket no longer exists"]
