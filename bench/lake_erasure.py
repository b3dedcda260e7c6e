"""Parquet: 1,000 erasures in one run against the limit, pyarrow rewriting every affected file once.

    python -m bench lake-erasure [--rows 5000000] [--users 10000] [--subjects 1000] [--grow 4]

A lake of `--rows` events of `--users` people (one file a day; every file holds some of the
subjects, as in a lake written in time order) is generated under bench/out, then, on copies of it:
- the limit: pyarrow reads each file once, drops the subjects' rows and writes it back;
- the batched run: `--subjects` verified erasures (by email) submitted at once and run through
  the Dagster job in process: lookup, guard, erase, probe, tombstones, ledger.
Both again on a lake `--grow` times larger, of `--grow` times as many people: the same subjects with
the same rows among more of other people's, to show that cost and memory follow the subjects' rows.
Prints times, their ratio, where the run's time went and the peak resident memory of each.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dsr_pipelines.intake.api import Dsr
from dsr_pipelines.service.requests import Submission

from . import lakegen
from .project import write_project
from .split import Split, peak_rss

OUT = Path(__file__).with_name("out")
AIM = 2.0  # the batched run at most twice the limit

DATAMAP = {
    "lake": {
        "collections": {
            "events": {
                "path": "events",
                "erase": "delete",
                "purposes": ["product analytics"],
                "fields": {
                    "user_id": {"category": "customer_id"},
                    "email": {"category": "email", "identity": "email"},
                    "ip": {"category": "ip_address"},
                },
            }
        }
    }
}


def subjects(users: int, n: int) -> list[str]:
    """`n` people spread over the first `users` (the same addresses in a lake of more people)."""
    emails = lakegen._email_column(users)
    return emails.take(pa.array(range(0, users, users // n)[:n])).to_pylist()


def limit(lake: Path, emails: list[str]) -> float:
    """Every file read once, the subjects' rows dropped, written back like the original."""
    wanted = pa.array(emails)
    t0 = time.perf_counter()
    for path in sorted((lake / "events").rglob("*.parquet")):
        table = pq.read_table(path)
        kept = table.filter(pc.invert(pc.is_in(table["email"], wanted)))
        if kept.num_rows < table.num_rows:
            tmp = path.with_name(f".{path.name}.tmp")
            pq.write_table(kept, tmp, compression="snappy")
            tmp.replace(path)
    return time.perf_counter() - t0


def batched(work: Path, lake: Path, emails: list[str]) -> tuple[float, Split]:
    store = {"name": "lake", "kind": "parquet", "url": str(lake)}
    config = write_project(work, [store], DATAMAP, guard={"max_share": 0.05, "min_rows": 10})
    with Dsr(config, actor="bench") as dsr:
        records = dsr.submit_many(
            [
                Submission(tenant="acme", type="erasure", identities=[f"email={e}"], verified=True)
                for e in emails
            ]
        )
        split = Split()
        with split.active():
            outcome = dsr.run([r.id for r in records])
        assert outcome.all_completed, sorted(set(outcome.states.values()))
    return split.total, split


def one_size(rows: int, users: int, emails: list[str]) -> None:
    n = len(emails)
    source = OUT / f"lake-erasure-{rows}-{users}"
    lakegen.generate(source, rows, users=users)
    files = sum(1 for _ in (source / "events").rglob("*.parquet"))
    with tempfile.TemporaryDirectory(prefix="dsr-bench-lake-", dir=OUT) as tmp:
        work = Path(tmp)
        for name in ("limit", "run"):
            shutil.copytree(source / "events", work / name / "events")
        with peak_rss() as limit_memory:
            t_limit = limit(work / "limit", emails)
        (work / "project").mkdir()
        with peak_rss() as run_memory:
            t_run, split = batched(work / "project", work / "run", emails)
    mb = lakegen.size(source) / 1e6
    print(f"\nlake: {rows:,} rows, {users:,} people, {files} files, {mb:,.0f} MB; {n:,} subjects")
    for name, took, memory in (
        ("limit: pyarrow rewrites every affected file once", t_limit, limit_memory),
        (f"one batched run of {n:,} erasures", t_run, run_memory),
    ):
        print(f"  {name:52} {took:7.2f}s  peak {memory['mb']:6,.0f} MB")
    print(f"  run / limit: {t_run / t_limit:.2f}x (aim <= {AIM}x); where the run's time went:")
    for line in split.lines():
        print(f"    {line}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--subjects", type=int, default=1000)
    parser.add_argument("--grow", type=int, default=4, help="the second lake is this many times larger")
    args = parser.parse_args(argv)
    os.environ.setdefault("DSR_MASTER_KEY", base64.b64encode(os.urandom(32)).decode())
    OUT.mkdir(exist_ok=True)
    emails = subjects(args.users, args.subjects)
    for grow in (1, args.grow):
        one_size(args.rows * grow, args.users * grow, emails)
