"""The controllers' HTTP API under load, on loopback: `dsr serve` as its own process.

    python -m bench api [--requests 10000] [--tenants 10] [--concurrency 64] [--retries 0.1]

Ten tenants, each with its own key, submit `--requests` requests in all, `--concurrency` calls in
flight; a share (`--retries`) is sent twice with the same Idempotency-Key, as a client that timed out
would. Afterwards the state database must hold exactly one request per key: none lost, none twice.
Prints submissions per second and the latency of each call (p50, p99). The server's rate limit is
raised for the run (it would otherwise answer 429, which is what it is for).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from dsr_pipelines.demo import shop
from dsr_pipelines.intake.api import Dsr

from .project import sql_shop, write_project

AIM_RATE = 500  # submissions a second
AIM_P99 = 0.100  # seconds


async def _submit(client, token, body, key, latencies, ids) -> None:
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    for _ in range(5):  # a 429 or a dropped connection: the same key again, as a client retries
        t0 = time.perf_counter()
        try:
            answer = await client.post("/v1/requests", json=body, headers=headers)
        except httpx.TransportError:
            continue
        latencies.append(time.perf_counter() - t0)
        if answer.status_code == 201:
            ids.setdefault(key, set()).add(answer.json()["id"])
            return
        if answer.status_code != 429:
            raise RuntimeError(f"{answer.status_code}: {answer.text[:200]}")
        await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
    raise RuntimeError(f"request {key} not accepted after 5 attempts")


async def _load(base_url, calls, concurrency) -> tuple[float, list[float], dict[str, set[int]]]:
    latencies: list[float] = []
    ids: dict[str, set[int]] = {}
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:

        async def one(call):
            async with gate:
                await _submit(client, *call, latencies, ids)

        t0 = time.perf_counter()
        await asyncio.gather(*(one(c) for c in calls))
        took = time.perf_counter() - t0
    return took, latencies, ids


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--retries", type=float, default=0.1, help="share of requests sent twice")
    args = parser.parse_args(argv)
    os.environ.setdefault("DSR_MASTER_KEY", base64.b64encode(os.urandom(32)).decode())
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests import apiserver  # the tests' way of running `dsr serve` on a free port

    work = Path(tempfile.mkdtemp(prefix="dsr-bench-api-"))
    config = write_project(work, sql_shop(f"sqlite:///{work / 'shop.db'}"))
    tenants = [f"tenant{i}" for i in range(args.tenants)]
    with Dsr(config, actor="bench") as dsr:
        tokens = {t: dsr.create_api_key(t).token for t in tenants}
    people = shop.people(args.requests, tenants=tuple(tenants))
    rng = random.Random(7)
    calls = []
    for i, p in enumerate(people):
        body = {"type": "erasure", "identities": [{"kind": "email", "value": p.email}]}
        call = (tokens[p.tenant], body, f"bench-{i}")
        calls.append(call)
        if rng.random() < args.retries:
            calls.append(call)  # the same call again: the server must not make a second request
    rng.shuffle(calls)

    server = apiserver.start(config, "--rate", "1000000", "--burst", "1000000", "--deliver-every", "0")
    try:
        took, latencies, ids = asyncio.run(_load(server.base_url, calls, args.concurrency))
    finally:
        server.stop()
    with Dsr(config, actor="bench") as dsr:
        stored = len(dsr.list_requests())
    twice = sum(1 for v in ids.values() if len(v) > 1)
    quantiles = statistics.quantiles(latencies, n=100)
    p50, p99 = statistics.median(latencies), quantiles[98]
    rate = len(calls) / took
    retried = len(calls) - args.requests
    print(f"{len(calls):,} calls ({retried:,} retries of the same key) from {args.tenants} tenants,")
    print(f"  {args.concurrency} in flight, in {took:.1f}s: {rate:,.0f} calls/s (aim >= {AIM_RATE}/s)")
    print(f"  latency p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms (aim p99 < {AIM_P99 * 1000:.0f} ms)")
    lost = args.requests - len(ids)
    print(f"  stored {stored:,} requests for {args.requests:,} keys: lost {lost}, twice {twice}")
    assert stored == args.requests == len(ids) and twice == 0, "a request was lost or made twice"
