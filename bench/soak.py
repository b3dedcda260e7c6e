"""A bounded soak of the production deployment: requests from many tenants submitted over time,
carried out by the daemon's sensor through the queue, the stores' growth reported per 1,000.

    python -m bench soak [--requests 10000] [--tenants 10] [--per-tick 250] [--every 10]

Everything on the machine's PostgreSQL, each in a scratch schema dropped afterwards: the shop (one
customer per request, with orders and tickets), the request store, and Dagster's storage. The
deployment is the tests' (tests/deployment.py: deploy/'s instance, a code server, the daemon, the
webserver), with the sensors `dsr_job_on_verified_requests` and `dsr_job_on_run_failure` on.
Every `--every` seconds the Python API submits `--per-tick` verified requests (a fifth access,
the rest erasures), tenants in turn. Each time another 1,000 requests have completed it prints:
the sizes of the request store, of its ledger and of Dagster's storage, and the resident memory
of the long-lived processes (daemon, webserver, code server). At the end: every request completed
exactly once, and the ledger verifies. Not part of CI: it runs for many minutes.
"""

from __future__ import annotations

import argparse
import base64
import os
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
import yaml

from dsr_pipelines.demo import shop
from dsr_pipelines.intake.api import Dsr
from dsr_pipelines.service.requests import Submission

ADMIN = os.environ.get("DSR_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _schema(admin: sa.Engine) -> str:
    name = f"soak_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    return name


def _url(schema: str) -> str:
    return f"{ADMIN}?options=-csearch_path%3D{schema}"


def _size(admin: sa.Engine, schema: str, table: str | None = None) -> int:
    """Bytes on disk of a schema's tables (with their indexes and TOAST), or of one table."""
    query = (
        "select coalesce(sum(pg_total_relation_size(c.oid)), 0) from pg_class c "
        "join pg_namespace n on n.oid = c.relnamespace where n.nspname = :s and c.relkind = 'r'"
        + (" and c.relname = :t" if table else "")
    )
    with admin.connect() as conn:
        return int(conn.execute(sa.text(query), {"s": schema, "t": table}).scalar_one())


def _rss(pids: list[int]) -> int:
    """Resident memory of these processes, in bytes."""
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        kb = next((line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")), "0")
        total += int(kb) * 1024
    return total


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench soak")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--per-tick", type=int, default=250, help="requests submitted at a time")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between submissions")
    parser.add_argument("--within", type=float, default=3600.0, help="give up after this many seconds")
    args = parser.parse_args(argv)
    from tests import deployment  # the tests' launcher: the same processes and commands

    tenants = tuple(f"tenant{i:02d}" for i in range(args.tenants))
    people = shop.people(args.requests, tenants=tenants)
    admin = sa.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    schemas = {name: _schema(admin) for name in ("shop", "requests", "dagster")}
    work = Path(tempfile.mkdtemp(prefix="dsr-soak-"))
    os.environ["DSR_MASTER_KEY"] = base64.b64encode(os.urandom(32)).decode()
    os.environ["DSR_SOAK_REQUESTS"] = _url(schemas["requests"])
    running = None
    try:
        engine = sa.create_engine(_url(schemas["shop"]))
        shop.create(engine, people)
        engine.dispose()
        config = work / "dsr.yaml"
        (work / "datamap.yaml").write_text(yaml.safe_dump({"version": 1, "stores": {"shop": shop.DATAMAP}}))
        settings = {
            "request_store_env": "DSR_SOAK_REQUESTS",
            "datamap": "datamap.yaml",
            "export_dir": "exports",
            "tenants": {t: {} for t in tenants},
            "stores": [{"name": "shop", "kind": "sql", "url": _url(schemas["shop"])}],
        }
        config.write_text(yaml.safe_dump(settings))
        running = deployment.start(work / "home", _url(schemas["dagster"]), config)
        settings["dagster"] = {"webserver": running.webserver}
        config.write_text(yaml.safe_dump(settings))
        for sensor in ("dsr_job_on_verified_requests", "dsr_job_on_run_failure"):
            running.dagster("sensor", "start", sensor)
        # The long-lived processes: the daemon, the webserver, and the code server's proxy with the
        # server it started (the run workers the server starts come and go: not counted).
        pids = {name: [p.pid] for name, p in running.processes.items()}
        pids["code-server"] += deployment.process_children().get(pids["code-server"][0], [])
        print(
            f"soak: {args.requests:,} requests from {args.tenants} tenants, {args.per_tick} every "
            f"{args.every:.0f} s; PostgreSQL schemas {', '.join(schemas.values())}",
            flush=True,
        )
        header = (
            "completed",
            "minutes",
            "request store MB",
            "ledger MB",
            "ledger events",
            "Dagster MB",
            *(f"{name} RSS MB" for name in pids),
        )
        print(" | ".join(header), flush=True)

        started, submitted, reported = time.monotonic(), 0, 0
        with Dsr(config, actor="bench:soak") as dsr:
            while reported < args.requests and time.monotonic() - started < args.within:
                if submitted < args.requests:
                    batch = people[submitted : submitted + args.per_tick]
                    dsr.submit_many(
                        [
                            Submission(
                                tenant=p.tenant,
                                type="access" if p.customer_id % 5 == 0 else "erasure",
                                identities=[f"email={p.email}"],
                                verified=True,
                            )
                            for p in batch
                        ]
                    )
                    submitted += len(batch)
                time.sleep(args.every)
                done = len(dsr.list_requests(state="completed"))
                while done >= reported + 1000 or (done == args.requests and reported < done):
                    reported = min(reported + 1000, done)
                    with admin.connect() as conn:
                        events = conn.execute(
                            sa.text(f'select count(*) from "{schemas["requests"]}".dsr_audit_events')
                        ).scalar_one()
                    row = (
                        f"{reported:,}",
                        f"{(time.monotonic() - started) / 60:.1f}",
                        f"{_size(admin, schemas['requests']) / 1e6:.1f}",
                        f"{_size(admin, schemas['requests'], 'dsr_audit_events') / 1e6:.1f}",
                        f"{events:,}",
                        f"{_size(admin, schemas['dagster']) / 1e6:.1f}",
                        *(f"{_rss(pid) / 1e6:.0f}" for pid in pids.values()),
                    )
                    print(" | ".join(row), flush=True)
            with admin.connect() as conn:
                once = conn.execute(
                    sa.text(
                        f'select count(*), count(distinct request_id) from "{schemas["requests"]}".'
                        "dsr_request_transitions where to_state = 'completed'"
                    )
                ).one()
            print(
                f"completed: {once[1]:,} requests, {once[0]:,} completions (each once: {once[0] == once[1]})"
            )
            verdict = dsr.verify_ledger()
            print(
                f"ledger: {verdict.events:,} events, "
                + ("intact" if verdict.ok else f"BROKEN: {verdict.reason}")
            )
    finally:
        if running is not None:
            running.stop()
        with admin.connect() as conn:
            for schema in schemas.values():
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
