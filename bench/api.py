"""The controllers' HTTP API under load, on loopback: `dsr serve` as its own process.

    python -m bench api [--requests 10000] [--tenants 10] [--concurrency 64] [--retries 0.1]

Ten tenants, each with its own key, submit `--requests` requests in all, `--concurrency` calls in
flight; a share (`--retries`) is sent twice with the same Idempotency-Key, as a client that timed out
would. Afterwards the state database must hold exactly one request per key: none lost, none twice.
Prints submissions per second and the latency of each call (p50, p99). The server's rate limit is
raised for the run (it would otherwise answer 429, which is what it is for).

Two loads in turn. The Python client (httpx) sends the calls above and checks each key's answer:
every key got one request, whatever the retries. Then `wrk` (Debian's package, when installed)
presses for `--seconds` with `api_load.lua`: throughput and latency, since a Python client on the
same two cores spends more time making calls than the server answering them (httpx reached about
320 calls/s against `/health`, which answers 2,800/s to wrk). Afterwards the state database must
hold one request per remembered key.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import shutil
import statistics
import subprocess
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
    parser.add_argument("--seconds", type=int, default=20, help="how long wrk presses")
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
        pressed = _wrk(server.base_url, list(tokens.values()), args) if shutil.which("wrk") else None
    finally:
        server.stop()
    with Dsr(config, actor="bench") as dsr:
        stored = len(dsr.list_requests())
        remembered = dsr.ws.db.idempotency.count()
    twice = sum(1 for v in ids.values() if len(v) > 1)
    p50, p99 = statistics.median(latencies), statistics.quantiles(latencies, n=100)[98]
    retried, rate = len(calls) - args.requests, len(calls) / took
    print(f"httpx: {len(calls):,} calls ({retried:,} repeating a key) from {args.tenants} tenants,")
    print(f"  {args.concurrency} in flight, {took:.1f}s: {rate:,.0f} calls/s, p50 {ms(p50)}, p99 {ms(p99)}")
    print(f"  {args.requests:,} keys: lost {args.requests - len(ids)}, twice {twice}")
    if pressed is not None:
        keys, answers, seconds, w50, w99, refused = pressed
        print(f"wrk: {answers:,} calls for {keys:,} keys, {args.concurrency} in flight, {seconds:.1f}s:")
        print(f"  {answers / seconds:,.0f} calls/s (aim >= {AIM_RATE}/s), p50 {ms(w50)}, p99 {ms(w99)}")
        print(f"  (aim p99 < {ms(AIM_P99)}); answers other than 201: {refused}")
    else:
        print("wrk: not installed (apt-get install wrk); the Python client's figures measure the client too")
    print(f"state database: {stored:,} requests, {remembered:,} keys remembered (one request per key)")
    assert len(ids) == args.requests and twice == 0, "a request was lost or made twice"
    assert stored == remembered, "a request without its key: a retry made a second request"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _wrk(base_url: str, tokens: list[str], args) -> tuple[int, int, float, float, float, int]:
    """(keys, calls answered, seconds, p50, p99, answers other than 201) of `--seconds` of wrk."""
    every = max(2, round(1 / args.retries)) if args.retries else 10**9
    preamble = f"TOKENS = {{{', '.join(repr(t) for t in tokens)}}}\nRETRY_EVERY = {every}\n"
    script = Path(tempfile.mkdtemp()) / "load.lua"
    script.write_text(preamble + (Path(__file__).parent / "api_load.lua").read_text())
    command = ["wrk", "-t2", f"-c{args.concurrency}", f"-d{args.seconds}s", "-s", str(script), base_url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    fields = next(x for x in out.splitlines() if x.startswith("KEYS ")).split()
    f = dict(zip(fields[::2], fields[1::2], strict=True))
    return (
        int(f["KEYS"]),
        int(f["CALLS"]),
        float(f["SECONDS"]),
        float(f["P50"]),
        float(f["P99"]),
        int(f["OTHER"]),
    )
