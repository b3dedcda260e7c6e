"""The Parquet connector on local and S3-backed datasets: lookups, rewrites, crashes, schema drift."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors import RECORD, SOURCE, Delete, EraseOp, Mask, ParquetConnector, Skipped
from connectors.parquet import TMP_PREFIX

from .strategies import events_tables


def write_events(root: Path, rows: int = 40, rows_per_group: int = 5, codec: str = "zstd") -> pa.Table:
    """`events` by day: user u has rows 4u..4u+3, even users on day 1, odd ones on day 2.

    Columns user_id, email and a payload; custom metadata on the schema.
    """
    users = [(i // 4) % 10 for i in range(rows)]
    table = pa.table(
        {
            "user_id": users,
            "email": [f"u{u}@x.com" for u in users],
            "payload": [f"event {i} " * 4 for i in range(rows)],
            "day": [f"2024-01-0{1 + u % 2}" for u in users],
        }
    ).replace_schema_metadata({"owner": "analytics"})
    options = ds.ParquetFileFormat().make_write_options(compression=codec)
    ds.write_dataset(
        table,
        root / "events",
        format="parquet",
        partitioning=["day"],
        partitioning_flavor="hive",
        file_options=options,
        max_rows_per_group=rows_per_group,
        min_rows_per_group=1,
    )
    return table


def collect(items) -> tuple[pa.Table | None, list[Skipped]]:
    items = list(items)
    batches = [i for i in items if isinstance(i, pa.RecordBatch)]
    skipped = [i for i in items if isinstance(i, Skipped)]
    return (pa.Table.from_batches(batches) if batches else None), skipped


def snapshot(root: Path) -> dict[str, list[dict]]:
    return {
        str(p.relative_to(root)): pq.read_table(p).to_pylist()
        for p in sorted(root.rglob("*.parquet"))
        if not p.name.startswith(".")
    }


def test_lookup_reads_key_columns_everywhere_and_full_rows_only_where_they_matched(tmp_path):
    write_events(tmp_path)
    conn = ParquetConnector("lake", str(tmp_path))
    rows, skipped = collect(
        conn.find("events", [pa.table({"user_id": [3]}), pa.table({"email": ["u4@x.com"]})])
    )
    assert skipped == []
    assert sorted(rows["user_id"].to_pylist()) == [3] * 4 + [4] * 4
    assert set(rows.column_names) == {"user_id", "email", "payload", "day", SOURCE, RECORD}
    assert set(rows["day"].to_pylist()) == {"2024-01-01", "2024-01-02"}  # partition values filled in

    stats = conn.last_scan
    key_bytes = full_bytes = 0
    matched_groups = 0
    for path in sorted((tmp_path / "events").rglob("*.parquet")):
        meta = pq.ParquetFile(path).metadata
        table = pq.read_table(path)
        offset = 0
        for i in range(meta.num_row_groups):
            group = meta.row_group(i)
            sizes = {
                group.column(j).path_in_schema: group.column(j).total_compressed_size
                for j in range(group.num_columns)
            }
            key_bytes += sizes["user_id"] + sizes["email"]
            part = table.slice(offset, group.num_rows)
            if any(u in (3, 4) for u in part["user_id"].to_pylist()):
                matched_groups += 1
                full_bytes += sizes["payload"]
            offset += group.num_rows
    assert stats.bytes_read == key_bytes + full_bytes
    assert stats.row_groups_matched == matched_groups < stats.row_groups
    assert stats.rows == 40 and stats.bytes_read < stats.dataset_bytes


def test_keys_of_another_type_match_and_partition_columns_can_be_keys(tmp_path):
    write_events(tmp_path)
    conn = ParquetConnector("lake", str(tmp_path))
    rows, _ = collect(conn.find("events", [pa.table({"user_id": ["7", "not a number"]})]))
    assert sorted(set(rows["user_id"].to_pylist())) == [7]
    rows, _ = collect(conn.find("events", [pa.table({"day": ["2024-01-02"], "user_id": [1]})]))
    assert rows.num_rows == 4 and set(rows["day"].to_pylist()) == {"2024-01-02"}


def test_erase_rewrites_only_affected_files_keeping_schema_metadata_codec_and_row_groups(tmp_path):
    write_events(tmp_path, rows=40, rows_per_group=5, codec="zstd")
    before = snapshot(tmp_path)
    (tmp_path / "events" / "day=2024-01-01" / "_SUCCESS").write_text("")  # marker files are not data
    conn = ParquetConnector("lake", str(tmp_path))
    day2 = "day=2024-01-02/part-0.parquet"
    untouched_mtime = os.stat(tmp_path / "events" / day2).st_mtime_ns
    ops = [
        EraseOp("events", pa.table({"user_id": [2]}), Delete()),  # both on day 1
        EraseOp(
            "events", pa.table({"email": ["u4@x.com"]}), Mask({"email": "hash", "payload": "null"}, b"k" * 32)
        ),
    ]
    counts = conn.erase(ops)
    assert [c.changed for c in counts] == [4, 4]
    assert os.stat(tmp_path / "events" / day2).st_mtime_ns == untouched_mtime  # no u2 or u4 there

    path = tmp_path / "events" / "day=2024-01-01" / "part-0.parquet"
    pf = pq.ParquetFile(path)
    assert pf.schema_arrow.metadata[b"owner"] == b"analytics"
    assert {pf.metadata.row_group(0).column(j).compression for j in range(3)} == {"ZSTD"}
    assert max(pf.metadata.row_group(i).num_rows for i in range(pf.metadata.num_row_groups)) == 5
    after = pq.read_table(path).to_pylist()
    old = before["events/day=2024-01-01/part-0.parquet"]
    assert [r for r in old if r["user_id"] not in (2, 4)] == [r for r in after if r["user_id"] != 4]
    masked = [r for r in after if r["user_id"] == 4]
    assert len(masked) == 4 and all(r["email"].startswith("hash:") and r["payload"] is None for r in masked)
    assert [c.changed for c in conn.erase(ops)] == [0, 0]  # a re-run finds nothing left to change
    assert not any(p.name.startswith(TMP_PREFIX) for p in tmp_path.rglob("*"))


def test_a_file_left_without_rows_is_removed(tmp_path):
    write_events(tmp_path, rows=8)  # user 0 on day 1, user 1 on day 2
    conn = ParquetConnector("lake", str(tmp_path))
    conn.erase([EraseOp("events", pa.table({"day": ["2024-01-01"]}), Delete())])
    assert sorted(snapshot(tmp_path)) == ["events/day=2024-01-02/part-0.parquet"]


def test_an_interrupted_erase_leaves_every_file_old_or_new_and_a_rerun_finishes(tmp_path, monkeypatch):
    write_events(tmp_path, rows=40)
    for day in ("2024-01-03", "2024-01-04"):  # four files in all
        folder = tmp_path / "events" / f"day={day}"
        folder.mkdir()
        pq.write_table(
            pq.read_table(tmp_path / "events" / "day=2024-01-01" / "part-0.parquet"),
            folder / "part-0.parquet",
        )
    before = snapshot(tmp_path)
    conn = ParquetConnector("lake", str(tmp_path))
    op = EraseOp("events", pa.table({"user_id": [2]}), Delete())
    real = ParquetConnector._replace
    calls = []

    def crash_on_second(self, temporary, path):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt("the process died here")
        real(self, temporary, path)

    monkeypatch.setattr(ParquetConnector, "_replace", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        conn.erase([op])
    monkeypatch.setattr(ParquetConnector, "_replace", real)

    middle = snapshot(tmp_path)
    assert sorted(middle) == sorted(before)  # nothing missing
    states = []
    for name, rows in middle.items():
        new = [r for r in before[name] if r["user_id"] != 2]
        assert rows in (before[name], new), name  # never partial
        states.append("new" if rows == new and rows != before[name] else "old")
    assert states.count("new") == 1
    assert any(p.name.startswith(TMP_PREFIX) for p in tmp_path.rglob("*"))  # the crashed temporary
    assert len(conn.files("events")) == 4  # the temporary is not part of the dataset
    rows, _ = collect(conn.find("events", [pa.table({"user_id": [2]})]))
    assert rows.num_rows == 8  # two files still old

    (count,) = conn.erase([op])
    assert count.changed == 8
    assert not any(p.name.startswith(TMP_PREFIX) for p in tmp_path.rglob("*"))
    assert collect(conn.find("events", [pa.table({"user_id": [2]})]))[0] is None


def test_a_crash_while_writing_leaves_the_original_intact(tmp_path, monkeypatch):
    write_events(tmp_path)
    before = snapshot(tmp_path)
    conn = ParquetConnector("lake", str(tmp_path))

    class DiskFull(OSError):
        pass

    def write_then_fail(self, table, row_group_size=None):
        raise DiskFull("no space left")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", write_then_fail)
    with pytest.raises(Exception, match="store lake: rewrite a file of events"):
        conn.erase([EraseOp("events", pa.table({"user_id": [2]}), Delete())])
    assert snapshot(tmp_path) == before


def test_files_whose_schema_changed_are_read_where_possible_and_reported_where_not(tmp_path):
    folder = tmp_path / "events"
    folder.mkdir()
    pq.write_table(
        pa.table({"user_id": pa.array([1, 2], pa.int32()), "email": ["a@x.com", "b@x.com"]}),
        folder / "a.parquet",
    )
    pq.write_table(
        pa.table({"user_id": pa.array([1, 3], pa.int64()), "email": ["a@x.com", "c@x.com"], "extra": [1, 2]}),
        folder / "b.parquet",
    )
    # Later files: user_id as text (it still reads as numbers), email renamed, extra as text.
    pq.write_table(
        pa.table({"user_id": ["1", "4"], "mail": ["a@x.com", "d@x.com"], "extra": ["n/a", "x"]}),
        folder / "c.parquet",
    )
    conn = ParquetConnector("lake", str(tmp_path))
    assert conn.schema("events").field("user_id").type == pa.int64()  # widened

    rows, skipped = collect(conn.find("events", [pa.table({"user_id": [1]})]))
    assert sorted(rows[SOURCE].to_pylist()) == ["a.parquet", "b.parquet"]
    assert rows.column_names[:4] == ["user_id", "email", "extra", "mail"]
    assert [(s.item, s.reason) for s in skipped] == [
        ("c.parquet", "column extra is string in this file but int64 in the dataset")
    ]

    rows, skipped = collect(conn.find("events", [pa.table({"email": ["a@x.com"]})]))
    assert sorted(rows[SOURCE].to_pylist()) == ["a.parquet", "b.parquet"]
    assert [(s.item, s.reason) for s in skipped] == [
        ("c.parquet", "no column email in this file (the dataset's schema changed)")
    ]


def test_sample_spreads_over_row_groups_and_caps_text(tmp_path):
    write_events(tmp_path, rows=200, rows_per_group=10)
    conn = ParquetConnector("lake", str(tmp_path))
    sample = conn.sample("events", 50, 8)
    assert sample.rows.num_rows == 50 and "spread over" in sample.method
    assert max(len(v) for v in sample.rows["payload"].to_pylist()) == 8
    assert sample == conn.sample("events", 50, 8)  # seeded: a re-run sees the same rows
    (info,) = conn.collections()
    assert info.name == "events" and info.layout == {"path": "events"}
    assert conn.count("events") == 200


def test_parquet_on_s3_finds_and_erases(s3_server, bucket):
    import pyarrow.fs as pafs

    fs = pafs.S3FileSystem(
        endpoint_override=s3_server.endpoint.removeprefix("http://"),
        scheme="http",
        access_key=s3_server.access_key,
        secret_key=s3_server.secret_key,
        region="us-east-1",
    )
    table = pa.table({"user_id": [1, 2, 3, 1], "day": ["d1", "d1", "d2", "d2"]})
    ds.write_dataset(
        table,
        f"{bucket}/lake/events",
        filesystem=fs,
        format="parquet",
        partitioning=["day"],
        partitioning_flavor="hive",
    )
    conn = ParquetConnector(
        "lake",
        f"s3://{bucket}/lake",
        endpoint_url=s3_server.endpoint,
        access_key=s3_server.access_key,
        secret_key=s3_server.secret_key,
    )
    conn.ping()
    rows, _ = collect(conn.find("events", [pa.table({"user_id": [1]})]))
    assert rows.num_rows == 2
    (count,) = conn.erase([EraseOp("events", pa.table({"user_id": [1]}), Delete())])
    assert count.changed == 2
    left = ds.dataset(f"{bucket}/lake/events", filesystem=fs, partitioning="hive").to_table()
    assert sorted(left["user_id"].to_pylist()) == [2, 3]
    assert not [
        f
        for f in fs.get_file_info(pafs.FileSelector(f"{bucket}/lake", recursive=True))
        if TMP_PREFIX in f.path
    ]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=events_tables(), data=st.data())
def test_after_erase_find_returns_nothing_and_everyone_else_is_unchanged(tmp_path_factory, table, data):
    root = tmp_path_factory.mktemp("lake")
    pq.write_table(table, root / "events.parquet", row_group_size=7)
    subjects = data.draw(st.sets(st.sampled_from(sorted(set(table["user_id"].to_pylist()))), min_size=1))
    conn = ParquetConnector("lake", str(root))
    keys = pa.table({"user_id": sorted(subjects)})
    (count,) = conn.erase([EraseOp("events", keys, Delete())])
    others = [r for r in table.to_pylist() if r["user_id"] not in subjects]
    assert count.changed == table.num_rows - len(others)
    assert collect(conn.find("events", [keys]))[0] is None
    assert pq.read_table(root / "events.parquet").to_pylist() == others  # emptied, the last file stays
