"""S3: 1,000 erasures in one run against the limit, every affected object downloaded and uploaded once.

    python -m bench objects-erasure [--objects 10000] [--records 20] [--subjects 1000]

Starts a SeaweedFS server (the tests' launcher) in a temporary directory and uploads the same
NDJSON objects as `objects` into two buckets, then:
- the limit: every object holding a subject (known from the generated data, so no search)
  downloaded, its subjects' records dropped, and uploaded once, with the connector's concurrency;
- the floor of any erasure that has to find its subjects: a bucket has no index, so every object is
  downloaded once (measured on a third copy), then the limit's rewrites;
- the batched run: `--subjects` verified erasures (by email) submitted at once and run through the
  Dagster job in process: lookup over every object, guard, erase, probe, tombstones, ledger.
Prints the times, the run's ratio to both, where the run's time went and its peak resident memory.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from connectors.s3.connector import WORKERS
from dsr_pipelines.intake.api import Dsr
from dsr_pipelines.service.requests import Submission
from tests import s3server

from .objects import USERS, _email, _objects
from .project import write_project
from .split import Split, peak_rss

AIM = 2.0

DATAMAP = {
    "files": {
        "collections": {
            "exports": {
                "prefix": "exports/",
                "format": "ndjson",
                "erase": "delete",
                "purposes": ["marketing (consent)"],
                "fields": {"email": {"category": "email", "identity": "email"}},
            }
        }
    }
}


def upload(client, bucket: str, objects: dict[str, bytes]) -> None:
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(lambda kv: client.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]), objects.items()))


def limit(client, bucket: str, objects: dict[str, bytes], emails: set[str]) -> tuple[float, int]:
    """Seconds to rewrite every object holding a subject once, and how many objects that was."""
    affected = [
        k for k, body in objects.items() if any(json.loads(x)["email"] in emails for x in body.splitlines())
    ]

    def rewrite(key: str) -> None:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        kept = [x for x in body.splitlines() if json.loads(x)["email"] not in emails]
        client.put_object(Bucket=bucket, Key=key, Body=b"\n".join(kept) + b"\n")

    t0 = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(rewrite, affected))
    return time.perf_counter() - t0, len(affected)


def read_all(client, bucket: str, objects: dict[str, bytes]) -> float:
    """Seconds to download every object once, with the connector's concurrency."""
    t0 = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(lambda key: client.get_object(Bucket=bucket, Key=key)["Body"].read(), objects))
    return time.perf_counter() - t0


def batched(work: Path, server: s3server.S3Server, bucket: str, emails: list[str]) -> tuple[Split, dict]:
    os.environ["BENCH_S3_KEY"], os.environ["BENCH_S3_SECRET"] = server.access_key, server.secret_key
    store = {
        "name": "files",
        "kind": "s3",
        "url": f"s3://{bucket}",
        "endpoint_url": server.endpoint,
        "access_key_env": "BENCH_S3_KEY",
        "secret_key_env": "BENCH_S3_SECRET",
    }
    with Dsr(write_project(work, [store], DATAMAP), actor="bench") as dsr:
        records = dsr.submit_many(
            [
                Submission(tenant="acme", type="erasure", identities=[f"email={e}"], verified=True)
                for e in emails
            ]
        )
        split = Split()
        with peak_rss() as memory, split.active():
            outcome = dsr.run([r.id for r in records])
        assert outcome.all_completed, sorted(set(outcome.states.values()))
    return split, memory


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=20, help="records per object")
    parser.add_argument("--subjects", type=int, default=1000)
    args = parser.parse_args(argv)
    os.environ.setdefault("DSR_MASTER_KEY", base64.b64encode(os.urandom(32)).decode())
    objects = _objects(args.objects, args.records)
    emails = [_email(u) for u in random.Random(5).sample(range(1, USERS + 1), args.subjects)]
    megabytes = sum(len(v) for v in objects.values()) / 1e6
    with tempfile.TemporaryDirectory(prefix="dsr-bench-objects-") as tmp:
        weed, server = s3server.start(Path(tmp))
        try:
            client = server.client()
            buckets = {name: server.new_bucket() for name in ("limit", "find", "run")}
            for bucket in buckets.values():
                upload(client, bucket, objects)
            with peak_rss() as limit_memory:
                t_limit, affected = limit(client, buckets["limit"], objects, set(emails))
            t_find = read_all(client, buckets["find"], objects)
            (Path(tmp) / "project").mkdir()
            split, run_memory = batched(Path(tmp) / "project", server, buckets["run"], emails)
        finally:
            s3server.stop(weed)
    print(f"\nbucket: {len(objects):,} NDJSON objects, {megabytes:.1f} MB")
    print(f"  {args.subjects:,} subjects, in {affected:,} of the objects")
    for name, took, memory in (
        ("limit: every affected object downloaded and uploaded once", t_limit, limit_memory),
        (f"one batched run of {args.subjects:,} erasures", split.total, run_memory),
    ):
        print(f"  {name:58} {took:7.2f}s  peak {memory['mb']:6,.0f} MB")
    floor, run = t_find + t_limit, split.total
    print(f"  floor: every object downloaded to find them ({t_find:.2f}s), then the limit {floor:10.2f}s")
    print(f"  run / limit: {run / t_limit:.2f}x (aim <= {AIM}x); run / floor: {run / floor:.2f}x")
    print("  where the run's time went:")
    for line in split.lines():
        print(f"    {line}")
