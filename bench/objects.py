"""S3: find 1,000 subjects in 10,000 NDJSON objects in one pass.

    python -m bench objects [--objects 10000] [--records 20] [--subjects 1000] [--single 3]

Starts a SeaweedFS server (the tests' launcher) in a temporary directory, uploads the objects,
then in the same run, after one warm-up download:
- the limit: downloading every object, with the connector's concurrency, and nothing else;
- one pass of `S3Connector.find` for all subjects;
- single-subject passes for `--single` of them, extrapolated to all subjects.
Prints the times, objects and megabytes per second, and the ratios.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa

from connectors import S3Connector
from connectors.s3.connector import WORKERS
from tests import s3server

USERS = 100_000


def _email(user: int) -> str:
    return f"user.{user}@example.com"


def _objects(n: int, records: int, seed: int = 3) -> dict[str, bytes]:
    rnd = random.Random(seed)
    out = {}
    for i in range(n):
        lines = []
        for _ in range(records):
            user = rnd.randrange(1, USERS + 1)
            record = {
                "email": _email(user),
                "tenant_id": f"t{user % 7}",
                "campaign": f"spring-{rnd.randrange(40)}",
                "opened": rnd.random() < 0.4,
                "clicked_at": f"2025-03-{rnd.randrange(1, 29):02d}T{rnd.randrange(24):02d}:00:00Z",
            }
            lines.append(json.dumps(record))
        out[f"exports/batch-{i:05d}.ndjson"] = ("\n".join(lines) + "\n").encode()
    return out


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench objects")
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=20, help="records per object")
    parser.add_argument("--subjects", type=int, default=1000)
    parser.add_argument("--single", type=int, default=3, help="single-subject passes timed")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        weed, server = s3server.start(Path(workdir))
        try:
            run(server, args)
        finally:
            s3server.stop(weed)


def run(server: s3server.S3Server, args) -> None:
    client = server.client()
    bucket = server.new_bucket()
    objects = _objects(args.objects, args.records)
    print(f"objects: uploading {len(objects):,} NDJSON objects ...", flush=True)
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(lambda kv: client.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]), objects.items()))
    megabytes = sum(len(v) for v in objects.values()) / 1e6
    subjects = random.Random(5).sample(range(1, USERS + 1), args.subjects)
    expected = sum(
        1 for body in objects.values() for line in body.splitlines() if json.loads(line)["email"] in
        {_email(u) for u in subjects}
    )  # fmt: skip
    connector = S3Connector(
        "files",
        f"s3://{bucket}",
        layouts={"exports": {"prefix": "exports/", "format": "ndjson"}},
        endpoint_url=server.endpoint,
        access_key=server.access_key,
        secret_key=server.secret_key,
    )

    def download() -> int:
        keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
                for o in page.get("Contents", [])]  # fmt: skip
        with ThreadPoolExecutor(WORKERS) as pool:
            return sum(pool.map(lambda k: len(client.get_object(Bucket=bucket, Key=k)["Body"].read()), keys))

    def find(emails: list[str]) -> int:
        keys = [pa.table({"email": emails})]
        return sum(b.num_rows for b in connector.find("exports", keys) if isinstance(b, pa.RecordBatch))

    download()  # warm-up
    emails = [_email(u) for u in subjects]
    limit_times, pass_times = [], []
    for _ in range(args.repeat):
        limit_times.append(_timed(download)[0])
        seconds, found = _timed(lambda: find(emails))
        assert found == expected, (found, expected)
        pass_times.append(seconds)
    singles = [_timed(lambda e=e: find([e]))[0] for e in emails[: args.single]]
    t_limit, t_pass = statistics.median(limit_times), statistics.median(pass_times)
    t_single = statistics.median(singles)
    t_all_single = t_single * args.subjects

    print(f"\nobjects: {len(objects):,} objects, {megabytes:.1f} MB")
    print(f"{args.subjects} subjects, {found:,} matching records")
    print(f"{'':46} {'time':>9} {'objects/s':>10} {'MB/s':>7}")
    for label, t in (
        ("limit: download every object (same threads)", t_limit),
        ("one pass for all subjects (find)", t_pass),
        (f"single-subject pass (median of {len(singles)})", t_single),
    ):
        print(f"{label:46} {t:8.2f}s {len(objects) / t:10,.0f} {megabytes / t:7.1f}")
    print(f"{f'{args.subjects} single-subject passes (extrapolated)':46} {t_all_single:8.1f}s")
    print(f"one pass / download: {t_pass / t_limit:.2f}x")
    print(f"single-subject passes / one pass: {t_all_single / t_pass:.0f}x")
