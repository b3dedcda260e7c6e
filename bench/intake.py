"""What a controller's integration waits on before any store is touched: the CLI's answer, and
submitting a backlog.

    python -m bench intake [--requests 10000] [--single 300] [--repeat 15]

- CLI, as a whole process, median of `--repeat`: `dsr --help`, `status`, `list`, `submit`, beside
  the floor (the interpreter importing typer, rich, SQLAlchemy and pydantic, which every command
  needs), the least `status` these libraries allow (`MINIMAL`), and what the same process paid
  when it imported Dagster, pyarrow, boto3 and Presidio.
- Bulk submission of `--requests` requests: `Dsr.submit_many` and `dsr submit --from FILE` (a whole
  process, NDJSON), beside one `Dsr.submit` per request (`--single` of them, extrapolated), on a
  SQLite state database and on PostgreSQL (`DSR_BENCH_PG`, a scratch schema).
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dsr_pipelines.demo import shop
from dsr_pipelines.intake.api import Dsr
from dsr_pipelines.service.requests import Submission

from .pg import scratch_schema
from .project import sql_shop, write_project

CLI_AIM = 0.5  # seconds, a command that runs no job
BULK_AIM = 1000  # requests per second
FLOOR = "import typer, rich.console, sqlalchemy, pydantic"
HEAVY = "import dagster, pyarrow, boto3, presidio_analyzer"
# The least a `dsr status` can be with these libraries: a one-command typer app that reads the
# project's YAML into a pydantic model, one row of the state database through SQLAlchemy, and
# prints it as a rich table. No keys, no schema check, no ledger: what is left above it is ours.
MINIMAL = """
import sys, typer, yaml, sqlalchemy as sa
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

class Settings(BaseModel):
    request_store: str

def status(config: str, request_id: int) -> None:
    settings = Settings(**yaml.safe_load(open(config)))
    with sa.create_engine(settings.request_store).connect() as conn:
        query = sa.text("select id, state from dsr_requests where id = :id")
        row = conn.execute(query, {"id": request_id}).one()
    table = Table("id", "state")
    table.add_row(str(row.id), row.state)
    Console().print(table)

typer.run(status)
"""


def project(work: Path, request_store: str) -> Path:
    return write_project(work, sql_shop("sqlite:///shop.db"), request_store=request_store)


def median_seconds(command: list[str], repeat: int, cwd: Path | None = None) -> float:
    timings = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=cwd)
        timings.append(time.perf_counter() - t0)
    return statistics.median(timings)


def cli(work: Path, repeat: int) -> None:
    config = project(work / "cli", "sqlite:///state.db")
    dsr = [str(Path(sys.executable).with_name("dsr")), "--config", str(config)]
    person = shop.people(1)[0]
    one = ["--tenant", person.tenant, "--type", "access", "--identity", f"email={person.email}"]
    subprocess.run([*dsr, "submit", *one], check=True, capture_output=True)  # creates the database
    python = [sys.executable, "-c"]
    floor = median_seconds([*python, FLOOR], repeat)
    heavy = median_seconds([*python, f"{FLOOR}; {HEAVY}"], repeat)
    minimal = median_seconds([*python, MINIMAL, str(config), "1"], repeat, cwd=config.parent)
    print(f"\nCLI, whole process, median of {repeat} (aim < {CLI_AIM} s):")
    print(f"  {'floor: ' + FLOOR:62} {floor:6.3f} s")
    print(f"  {'the least status: one typer command, YAML, pydantic, a row, a table':62} {minimal:6.3f} s")
    print(f"  {'the floor and ' + HEAVY.removeprefix('import ') + ' (what it loaded)':62} {heavy:6.3f} s")
    for name, args in (
        ("dsr --help", ["--help"]),
        ("dsr status 1", ["status", "1"]),
        ("dsr list", ["list"]),
        ("dsr submit", ["submit", *one]),
    ):
        took = median_seconds([*dsr, *args], repeat)
        verdict = "ok" if took < CLI_AIM else "over the aim"
        print(f"  {name:62} {took:6.3f} s  {took - minimal:+6.3f} s over the least status  {verdict}")


def submissions(people: list[shop.Person]) -> list[Submission]:
    return [
        Submission(tenant=p.tenant, type="erasure", identities=[f"email={p.email}"], verified=True)
        for p in people
    ]


def bulk(work: Path, request_store: str, label: str, n: int, single: int) -> None:
    config = project(work, request_store)
    people = shop.people(2 * n + single)
    with Dsr(config, actor="bench") as dsr:
        batch = submissions(people[:n])
        t0 = time.perf_counter()
        records = dsr.submit_many(batch)
        api = time.perf_counter() - t0
        assert len(records) == n

        t0 = time.perf_counter()
        for sub in submissions(people[2 * n :]):
            dsr.submit(sub.tenant, sub.type, sub.identities, sub.verified)
        one_by_one = (time.perf_counter() - t0) / single * n

    backlog = work / "backlog.ndjson"
    backlog.write_text("".join(s.model_dump_json() + "\n" for s in submissions(people[n : 2 * n])))
    t0 = time.perf_counter()
    dsr_cli = str(Path(sys.executable).with_name("dsr"))
    subprocess.run(
        [dsr_cli, "--config", str(config), "submit", "--from", str(backlog)], check=True, capture_output=True
    )
    from_file = time.perf_counter() - t0
    with Dsr(config, actor="bench") as dsr:
        assert dsr.verify_ledger().ok

    print(f"\nbulk submission of {n:,} requests, state database on {label} (aim >= {BULK_AIM:,}/s):")
    for name, took in (
        ("Dsr.submit_many", api),
        ("dsr submit --from FILE (whole process)", from_file),
        (f"one Dsr.submit per request (extrapolated from {single})", one_by_one),
    ):
        print(f"  {name:56} {took:7.2f} s  {n / took:8,.0f} requests/s")
    print(f"  submit_many is {one_by_one / api:.1f}x faster than one request at a time")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=300, help="one-at-a-time submissions timed")
    parser.add_argument("--repeat", type=int, default=15, help="runs of each command, for the median")
    args = parser.parse_args(argv)
    os.environ.setdefault("DSR_MASTER_KEY", base64.b64encode(os.urandom(32)).decode())
    with tempfile.TemporaryDirectory(prefix="dsr-bench-intake-") as tmp:
        work = Path(tmp)
        cli(work, args.repeat)
        bulk(work / "sqlite", "sqlite:///state.db", "SQLite", args.requests, args.single)
        with scratch_schema("dsr_bench_intake") as url:
            bulk(work / "pg", url, "PostgreSQL", args.requests, args.single)
