"""Retention at the connector level: what `expire` removes, keeps and counts, in every kind of store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import sqlalchemy as sa

from connectors import SOURCE, Age, Expiry, Mask, ParquetConnector, S3Connector, SqlConnector

START = datetime(2025, 1, 1)
CUTOFF = datetime(2025, 3, 1)  # rows of days 0..58 are older
ROWS = 100


def _sql_events(url: str) -> None:
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    events = sa.Table(
        "events",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("email", sa.String(100)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("restricted", sa.Boolean, nullable=False, default=False),
    )
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(events),
            [
                {
                    "id": i,
                    "user_id": i % 7,
                    "email": f"u{i % 7}@x.com",
                    "created_at": START + timedelta(days=i, hours=5),
                    "restricted": i == 10,
                }
                for i in range(ROWS)
            ],
        )
    engine.dispose()


def _remaining(url: str) -> dict[int, str | None]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, email FROM events ORDER BY id")).fetchall()
    engine.dispose()
    return {r[0]: r[1] for r in rows}


def _expired_ids(held_user: int) -> tuple[set[int], set[int]]:
    """(ids past the cutoff, of which kept: the held user's and the restricted row)."""
    old = {i for i in range(ROWS) if START + timedelta(days=i, hours=5) < CUTOFF}
    kept = {i for i in old if i % 7 == held_user or i == 10}
    return old, kept


def test_sql_expire_deletes_in_batches_keeping_held_and_restricted_rows(db_url):
    _sql_events(db_url)
    old, kept = _expired_ids(held_user=3)
    expiry = Expiry(
        "events",
        Age(field="created_at"),
        CUTOFF,
        keep=[pa.table({"user_id": [3]})],
        restricted="restricted",
        batch=7,
    )
    connector = SqlConnector("shop", db_url)
    try:
        preview = connector.expire(expiry, dry_run=True)
        assert (preview.expired, preview.kept, preview.changed) == (len(old), len(kept), 0)
        going = sorted(old - kept)
        assert preview.oldest == START + timedelta(days=going[0], hours=5)
        assert preview.newest == START + timedelta(days=going[-1], hours=5)
        assert set(_remaining(db_url)) == set(range(ROWS))  # the dry run changed nothing

        done = connector.expire(expiry)
        assert done.changed == len(old - kept)
        assert done.batches >= len(going) // 7  # bounded batches, never one statement
        assert set(_remaining(db_url)) == set(range(ROWS)) - (old - kept)

        again = connector.expire(expiry)
        assert (again.changed, again.expired, again.kept) == (0, len(kept), len(kept))
    finally:
        connector.close()


def test_sql_expire_masks_once(db_url):
    _sql_events(db_url)
    old, _ = _expired_ids(held_user=-1)
    expiry = Expiry("events", Age(field="created_at"), CUTOFF, action=Mask({"email": "redact"}), batch=16)
    connector = SqlConnector("shop", db_url)
    try:
        done = connector.expire(expiry)
        assert done.changed == len(old)
        remaining = _remaining(db_url)
        assert set(remaining) == set(range(ROWS))
        assert {i for i, email in remaining.items() if email == "[redacted]"} == old
        assert connector.expire(expiry).changed == 0  # masked rows are not masked again
    finally:
        connector.close()


def test_s3_expire_by_key_date_and_last_modified_keeps_held_and_tagged(s3_server, bucket):
    client = s3_server.client()
    for day in range(1, 6):
        client.put_object(Bucket=bucket, Key=f"logs/2025/01/0{day}/app.log", Body=b"line\n")
    client.put_object(Bucket=bucket, Key="logs/undated.log", Body=b"line\n")
    client.put_object(
        Bucket=bucket, Key="logs/2025/01/02/tagged.log", Body=b"x\n", Tagging="dsr-restricted=true"
    )
    connector = S3Connector(
        "files",
        f"s3://{bucket}",
        layouts={"logs": {"prefix": "logs/", "format": "text"}},
        endpoint_url=s3_server.endpoint,
        access_key=s3_server.access_key,
        secret_key=s3_server.secret_key,
    )
    expiry = Expiry(
        "logs",
        Age(key_date="%Y/%m/%d"),
        datetime(2025, 1, 4),
        keep=[pa.table({SOURCE: ["logs/2025/01/01/app.log"]})],
        restricted="dsr-restricted",
        batch=1,
    )
    preview = connector.expire(expiry, dry_run=True)
    assert (preview.expired, preview.kept, preview.changed) == (4, 2, 0)
    assert (preview.oldest, preview.newest) == (datetime(2025, 1, 2), datetime(2025, 1, 3))
    done = connector.expire(expiry)
    assert (done.changed, done.batches) == (2, 2)
    left = sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"])
    assert left == [
        "logs/2025/01/01/app.log",
        "logs/2025/01/02/tagged.log",
        "logs/2025/01/04/app.log",
        "logs/2025/01/05/app.log",
        "logs/undated.log",
    ]
    # By LastModified: everything was written just now, so a cutoff of tomorrow takes all but the kept.
    by_time = Expiry(
        "logs",
        Age(modified=True),
        datetime.now(UTC).replace(tzinfo=None) + timedelta(days=1),
        restricted="dsr-restricted",
    )
    assert connector.expire(by_time).changed == 4
    left = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert left == ["logs/2025/01/02/tagged.log"]
    connector.close()


def _lake(root: Path) -> pa.Table:
    table = pa.table(
        {
            "user_id": [i % 5 for i in range(60)],
            "at": pa.array([START + timedelta(days=i) for i in range(60)], pa.timestamp("us")),
            "email": [f"u{i % 5}@x.com" for i in range(60)],
            "month": [(START + timedelta(days=i)).strftime("%Y-%m") + "-01" for i in range(60)],
        }
    )
    ds.write_dataset(
        table, root / "events", format="parquet", partitioning=["month"], partitioning_flavor="hive"
    )
    return table


def _lake_rows(root: Path) -> list[dict]:
    return sorted(
        ds.dataset(root / "events", partitioning="hive").to_table().to_pylist(), key=lambda r: r["at"]
    )


def test_parquet_expire_drops_whole_partitions_and_rewrites_the_rest(tmp_path):
    _lake(tmp_path)
    connector = ParquetConnector("lake", str(tmp_path), layouts={"events": {"path": "events"}})
    cutoff = datetime(2025, 2, 10)
    expiry = Expiry("events", Age(field="at"), cutoff, keep=[pa.table({"user_id": [2]})])
    preview = connector.expire(expiry, dry_run=True)
    # January (31 rows) is one whole file, but user 2 is held: it is rewritten, not dropped.
    assert (preview.expired, preview.changed) == (40, 0)
    assert preview.kept == sum(1 for i in range(40) if i % 5 == 2)
    done = connector.expire(expiry)
    assert done.changed == 40 - preview.kept
    rows = _lake_rows(tmp_path)
    assert all(r["at"] >= cutoff or r["user_id"] == 2 for r in rows)
    assert len(rows) == 60 - done.changed

    # Without a hold, a partition whose every row expired is removed without being rewritten.
    whole = Expiry("events", Age(partition="month"), datetime(2025, 2, 1))
    dropped = connector.expire(whole)
    held_in_january = sum(1 for i in range(31) if i % 5 == 2)  # all that the first sweep left there
    assert (dropped.partitions_dropped, dropped.changed) == (1, held_in_january)
    assert not list((tmp_path / "events" / "month=2025-01-01").glob("*.parquet"))
    assert len(_lake_rows(tmp_path)) == 60 - done.changed - held_in_january


def test_parquet_expire_masks_and_archives(tmp_path):
    _lake(tmp_path)
    archived: list[pa.Table] = []
    connector = ParquetConnector("lake", str(tmp_path), layouts={"events": {"path": "events"}})
    expiry = Expiry(
        "events",
        Age(field="at"),
        datetime(2025, 1, 11),
        action=Mask({"email": "null"}),
        archive=archived.append,
    )
    assert connector.expire(expiry).changed == 10
    assert sum(t.num_rows for t in archived) == 10
    rows = _lake_rows(tmp_path)
    assert [r["email"] is None for r in rows] == [i < 10 for i in range(60)]
    assert connector.expire(expiry).changed == 0
    assert pq.read_schema(next((tmp_path / "events").rglob("*.parquet"))).field("email").type == pa.string()


def test_a_tenant_partition_is_dropped_unread_and_only_its_rows_go(tmp_path):
    table = pa.table({"tenant": ["acme", "globex"] * 10, "n": list(range(20))})
    ds.write_dataset(
        table, tmp_path / "events", format="parquet", partitioning=["tenant"], partitioning_flavor="hive"
    )
    connector = ParquetConnector("lake", str(tmp_path), layouts={"events": {"path": "events"}})
    purge = Expiry("events", Age(), datetime(9999, 1, 1), only=[pa.table({"tenant": ["acme"]})])
    assert connector.expire(purge, dry_run=True).expired == 10
    done = connector.expire(purge)
    assert (done.changed, done.partitions_dropped) == (10, 1)
    left = ds.dataset(tmp_path / "events", partitioning="hive").to_table()
    assert sorted(left["n"].to_pylist()) == list(range(1, 20, 2))


def test_a_purge_deletes_only_the_tenants_rows_in_batches(db_url):
    _sql_events(db_url)
    connector = SqlConnector("shop", db_url)
    try:
        purge = Expiry("events", Age(), datetime(9999, 1, 1), only=[pa.table({"user_id": [2, 5]})], batch=4)
        done = connector.expire(purge)
        gone = {i for i in range(ROWS) if i % 7 in (2, 5)}
        assert done.changed == len(gone) and done.batches > 1
        assert set(_remaining(db_url)) == set(range(ROWS)) - gone
        assert connector.expire(purge).changed == 0
    finally:
        connector.close()


def test_a_purge_deletes_the_objects_under_a_tenants_key_pattern(s3_server, bucket):
    client = s3_server.client()
    for tenant in ("acme", "globex"):
        for user in (1, 2):
            client.put_object(Bucket=bucket, Key=f"tenants/{tenant}/users/{user}/profile.json", Body=b"{}")
    connector = S3Connector(
        "files",
        f"s3://{bucket}",
        layouts={"profiles": {"key_pattern": "tenants/{tenant_id}/users/{user_id}/"}},
        endpoint_url=s3_server.endpoint,
        access_key=s3_server.access_key,
        secret_key=s3_server.secret_key,
    )
    purge = Expiry("profiles", Age(), datetime(9999, 1, 1), only=[pa.table({"tenant_id": ["acme"]})])
    assert connector.expire(purge, dry_run=True).expired == 2
    assert connector.expire(purge).changed == 2
    left = sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"])
    assert left == ["tenants/globex/users/1/profile.json", "tenants/globex/users/2/profile.json"]
    connector.close()
