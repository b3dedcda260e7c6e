"""Parquet: find 1,000 subjects in one pass over an event lake of at least 2 GB.

    python -m bench lake [--rows 54750000] [--subjects 1000] [--single 5] [--dir bench/out/lake]

In the same run, after one warm-up read (so every variant meets the same page cache):
- the physical limit: pyarrow's dataset scanner reading only the identifier columns (user_id,
  email) of the whole dataset;
- one pass of `ParquetConnector.find` for all subjects, by user id and by email at once;
- for reference, pyarrow reading every column: what returning full rows costs when, as here,
  every row group holds one of the subjects (pyarrow decodes row groups, not selected rows);
- single-subject passes for `--single` of them, extrapolated to all subjects.
Prints bytes read, rows scanned per second and the ratios. The lake is generated once under
`--dir` (bench/out/lake, ignored by git) and reused while its parameters are unchanged.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from connectors import ParquetConnector

from . import lakegen

ROWS = 54_750_000  # 150,000 events a day: about 2.3 GB with snappy
USERS = 1_000_000


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _found(connector: ParquetConnector, keys: list[pa.Table]) -> int:
    return sum(b.num_rows for b in connector.find("events", keys) if isinstance(b, pa.RecordBatch))


def prepared(bench: str, root: Path, rows: int) -> tuple[Path, int]:
    """The benchmark lake under `root` (generated once, then reused) and its size in bytes."""
    print(f"{bench}: generating or reusing {rows:,} events under {root} ...", flush=True)
    lakegen.generate(root, rows, users=USERS)
    return root, lakegen.size(root)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench lake")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--subjects", type=int, default=1000)
    parser.add_argument("--single", type=int, default=5, help="single-subject passes timed")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each variant (median)")
    parser.add_argument("--dir", default="bench/out/lake")
    args = parser.parse_args(argv)
    root, size = prepared("lake", Path(args.dir), args.rows)
    files = len(list((root / "events").rglob("*.parquet")))

    users, emails = lakegen.subjects(args.subjects, USERS)
    keys = [pa.table({"user_id": pa.array(users, pa.int64())}), pa.table({"email": emails})]
    connector = ParquetConnector("lake", str(root))
    dataset = ds.dataset(root / "events", format="parquet", partitioning="hive")

    def limit() -> int:
        return sum(b.num_rows for b in dataset.to_batches(columns=["user_id", "email"]))

    def everything() -> int:
        return sum(b.num_rows for b in dataset.to_batches())

    ids = dataset.to_table(columns=["user_id", "email"])  # warm-up, and the expected answer
    rows = ids.num_rows
    expected = pc.sum(
        pc.or_(pc.is_in(ids["user_id"], pa.array(users)), pc.is_in(ids["email"], emails))
    ).as_py()
    del ids
    limit_times, pass_times, full_times = [], [], []
    for _ in range(args.repeat):
        limit_times.append(_timed(limit)[0])
        full_times.append(_timed(everything)[0])
        seconds, found = _timed(lambda: _found(connector, keys))
        assert found == expected, (found, expected)
        pass_times.append(seconds)
    stats = connector.last_scan
    singles = []
    for u, e in list(zip(users.tolist(), emails.to_pylist(), strict=True))[: args.single]:
        singles.append(
            _timed(
                lambda u=u, e=e: _found(connector, [pa.table({"user_id": [u]}), pa.table({"email": [e]})])
            )[0]
        )
    t_limit, t_pass, t_full = (statistics.median(t) for t in (limit_times, pass_times, full_times))
    t_single = statistics.median(singles)
    t_all_single = t_single * args.subjects

    print(f"\nlake: {files} files, {size / 1e9:.2f} GB, {rows:,} rows")
    print(f"{args.subjects} subjects, {found:,} matching rows")
    print(f"{'':46} {'time':>9} {'rows/s':>14}")
    print(f"{'limit: pyarrow reads user_id + email only':46} {t_limit:8.2f}s {rows / t_limit:14,.0f}")
    print(f"{'one pass for all subjects (find)':46} {t_pass:8.2f}s {rows / t_pass:14,.0f}")
    print(f"{'reference: pyarrow reads every column':46} {t_full:8.2f}s {rows / t_full:14,.0f}")
    print(f"{f'single-subject pass (median of {len(singles)})':46} {t_single:8.2f}s {rows / t_single:14,.0f}")
    print(f"{f'{args.subjects} single-subject passes (extrapolated)':46} {t_all_single:8.1f}s")
    print(
        f"bytes read by the pass: {stats.bytes_read / 1e9:.2f} GB of {stats.dataset_bytes / 1e9:.2f} GB "
        f"({stats.bytes_read / stats.dataset_bytes:.0%}); row groups with a match: "
        f"{stats.row_groups_matched} of {stats.row_groups}"
    )
    print(f"one pass / limit: {t_pass / t_limit:.2f}x (aim <= 1.5x)")
    print(f"one pass / every column: {t_pass / t_full:.2f}x")
    print(f"single-subject passes / one pass: {t_all_single / t_pass:.0f}x (aim >= 50x)")
