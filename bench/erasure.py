"""Batched erasure against one request per run, and the time to find one subject, on PostgreSQL.

    python -m bench [--people 100000] [--sample 50] [--full]

Builds the shop schema in a fresh PostgreSQL schema with over a million related rows, then in
the same run: erases 1,000 subjects in one batched run of `dsr_job`, erases 1,000 other
subjects one request per run (a sample of `--sample` runs extrapolated to 1,000, or all of them
with `--full`), and times `find_subjects` for single subjects (access lookup, indexed).
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from connectors import SqlConnector
from dsr_pipelines.core.identities import normalise
from dsr_pipelines.demo import shop
from dsr_pipelines.intake.api import Dsr
from dsr_pipelines.plan.datamap.model import parse_datamap
from dsr_pipelines.plan.lookup import find_subjects
from dsr_pipelines.state.requests import Subject

from .pg import scratch_schema
from .project import sql_shop, write_project
from .split import Split, peak_rss

SCHEMA = "dsr_bench"


def load(url: str, people: list[shop.Person]) -> int:
    """Create the schema and COPY every table in; returns the number of rows."""
    engine = sa.create_engine(url)
    shop.metadata.create_all(engine)
    total = 0
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            for table, rows in shop.rows_for(people):
                cols = [c.name for c in table.columns]
                with cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([row[c] for c in cols])
                total += len(rows)
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()
    return total


# The same changes as the datamap asks for, by hand, set-based, in one transaction: the subjects'
# ids in a temporary table, then children first (returns, addresses deleted; gift messages and
# tickets masked; orders kept for tax law, so the customer row is masked, not deleted). No lookup
# through the datamap, no guard, no probe, no bookkeeping: the physical limit.
LIMIT_SQL = [
    """CREATE TEMP TABLE erase_ids ON COMMIT DROP AS
       SELECT c.id FROM customers c
       JOIN unnest(CAST(:tenants AS text[]), CAST(:emails AS text[])) AS s(tenant, email)
         ON c.tenant_id = s.tenant AND c.email = s.email""",
    """DELETE FROM returns r USING orders o
       WHERE r.order_id = o.id AND o.customer_id IN (SELECT id FROM erase_ids)""",
    """UPDATE order_lines l SET gift_message = '[REDACTED]' FROM orders o
       WHERE l.order_id = o.id AND o.customer_id IN (SELECT id FROM erase_ids)
         AND l.gift_message IS NOT NULL""",
    """UPDATE support_tickets SET email = md5(email), body = '[REDACTED]'
       WHERE customer_id IN (SELECT id FROM erase_ids) OR email = ANY(CAST(:emails AS text[]))""",
    "DELETE FROM addresses WHERE customer_id IN (SELECT id FROM erase_ids)",
    """UPDATE customers SET email = md5(email), name = '[REDACTED]', phone = NULL
       WHERE id IN (SELECT id FROM erase_ids)""",
]


def limit_erasure(url: str, people: list[shop.Person]) -> float:
    """Seconds for the hand-written set-based erasure of `people` (see LIMIT_SQL)."""
    engine = sa.create_engine(url)
    params = {"tenants": [p.tenant for p in people], "emails": [p.email for p in people]}
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))  # connected before the clock starts, as the pipeline's pool is
        conn.commit()
        t0 = time.perf_counter()
        with conn.begin():
            for statement in LIMIT_SQL:
                conn.execute(sa.text(statement), params)
        took = time.perf_counter() - t0
    engine.dispose()
    return took


def erased_rows(dsr: Dsr, ids: list[int]) -> int:
    return sum(r.deleted + r.masked for i in ids for r in dsr.status(i).results)


def submit_all(dsr: Dsr, people: list[shop.Person]) -> list[int]:
    return [dsr.submit(p.tenant, "erasure", [f"email={p.email}"], verified=True).id for p in people]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--subjects", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=50, help="single-request runs timed, then extrapolated")
    parser.add_argument(
        "--full", action="store_true", help="run all single-request erasures, no extrapolation"
    )
    args = parser.parse_args(argv)

    os.environ.setdefault("DSR_MASTER_KEY", base64.b64encode(os.urandom(32)).decode())
    with scratch_schema(SCHEMA) as url:
        people = shop.people(args.people, tenants=("acme", "globex"))
        started = time.perf_counter()
        rows = load(url, people)
        print(f"loaded {rows:,} rows for {len(people):,} people in {time.perf_counter() - started:.1f}s")

        config = write_project(Path(tempfile.mkdtemp(prefix="dsr-bench-")), sql_shop(url))
        dsr = Dsr(config, actor="bench")

        # Access lookup of one subject, through the datamap's traversal (indexed), median of 30.
        store_map = parse_datamap({"stores": {"shop": shop.DATAMAP}}).stores["shop"]
        connector = SqlConnector("shop", url)
        find_subjects(store_map, connector, [Subject(0, people[-1].tenant, ())])  # warm up reflection
        timings = []
        for p in people[-30:]:
            subject = Subject(1, p.tenant, (normalise("email", p.email),))
            t0 = time.perf_counter()
            found = find_subjects(store_map, connector, [subject])
            timings.append(time.perf_counter() - t0)
            assert sum(t.num_rows for t in found.tables.values()) >= 10
        connector.close()
        access_ms = statistics.median(timings) * 1000

        n = args.subjects
        dsr.run(submit_all(dsr, people[-31:-30]))  # a warm-up run: Dagster's storage, the kept schema
        one = submit_all(dsr, people[-32:-31])
        t0 = time.perf_counter()
        dsr.run(one)
        fixed = time.perf_counter() - t0  # what a run costs whatever its size
        batch_ids = submit_all(dsr, people[:n])
        split = Split()
        with peak_rss() as memory, split.active():
            outcome = dsr.run(batch_ids)
        batched = split.total
        assert outcome.all_completed, outcome.states
        batch_rows = erased_rows(dsr, batch_ids)
        limit = limit_erasure(url, people[2 * n : 3 * n])

        single_people = people[n : 2 * n] if args.full else people[n : n + args.sample]
        single_ids = submit_all(dsr, single_people)
        t0 = time.perf_counter()
        for request_id in single_ids:
            assert dsr.run([request_id]).all_completed
        measured = time.perf_counter() - t0
        single = measured * n / len(single_ids)
        single_rows = erased_rows(dsr, single_ids) * n / len(single_ids)
        dsr.close()

        how = "measured" if args.full else f"extrapolated from {len(single_ids)} runs ({measured:.1f}s)"
        print(
            f"batched run, {n} subjects:      {batched:8.1f}s  {batch_rows / batched:10,.0f} rows/s "
            f"({batch_rows:,} rows deleted or masked)"
        )
        print(
            f"one request per run, {n} subjects: {single:8.1f}s  {single_rows / single:10,.0f} rows/s ({how})"
        )
        print(f"ratio (per-request / batched):  {single / batched:8.1f}x   (aim: >= 20x)")
        print(f"limit: set-based SQL by hand, {n} other subjects, one transaction: {limit:8.2f}s")
        print(f"batched run / limit:            {batched / limit:8.1f}x   (aim: <= 3x)")
        marginal = (batched - fixed) / (n - 1)
        print(
            f"a run of one subject (what any run costs): {fixed:6.2f}s; each further subject "
            f"{marginal * 1000:.2f} ms, the limit's {limit / n * 1000:.3f} ms ({marginal * n / limit:.0f}x)"
        )
        print(f"where the batched run's {batched:.2f}s went (peak resident memory {memory['mb']:,.0f} MB):")
        for line in split.lines():
            print(f"  {line}")
        print(f"find one subject (access):      {access_ms:8.1f} ms median of {len(timings)} (aim: < 100 ms)")
