"""How the batched SQL erasure's cost grows: with the table (same subjects) and with the subjects.

    python -m bench scaling [--sizes 10000,100000,1000000] [--subjects 10,100,1000,10000]

On PostgreSQL, the shop schema (about 10.7 related rows a person) in a scratch schema:
- 1,000 subjects erased in one run on each of `--sizes` people (about 100 k, 1 M and 10 M rows):
  the cost should follow the subjects' rows, not the table's;
- `--subjects` subjects erased in one run each on the middle size (about 1 M rows): the cost per
  subject should fall, then flatten.
Prints both tables and writes bench/scaling.png (both curves; needs the bench extra, matplotlib).
"""

from __future__ import annotations

import argparse
import base64
import os
import tempfile
from pathlib import Path

from dsr_pipelines.demo import shop
from dsr_pipelines.intake.api import Dsr
from dsr_pipelines.service.requests import Submission

from .erasure import load
from .pg import scratch_schema
from .project import sql_shop, write_project
from .split import Split

PLOT = Path(__file__).with_name("scaling.png")


def erase(url: str, people: list[shop.Person]) -> tuple[float, int]:
    """Seconds for one batched run erasing `people`, and the rows it deleted or masked."""
    with tempfile.TemporaryDirectory(prefix="dsr-bench-") as tmp:
        config = write_project(Path(tmp), sql_shop(url))
        with Dsr(config, actor="bench") as dsr:
            warm = dsr.submit_many([_erasure(people[-1])])  # Dagster's storage and the kept schema
            dsr.run([r.id for r in warm])
            records = dsr.submit_many([_erasure(p) for p in people[:-1]])
            split = Split()
            with split.active():
                assert dsr.run([r.id for r in records]).all_completed
            rows = sum(r.deleted + r.masked for rec in records for r in dsr.status(rec.id).results)
    return split.total, rows


def _erasure(person: shop.Person) -> Submission:
    return Submission(
        tenant=person.tenant, type="erasure", identities=[f"email={person.email}"], verified=True
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000", help="people per shop (x10.7 rows)")
    parser.add_argument(
        "--subjects", default="10,100,1000,10000", help="subjects per run, on the middle size"
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    counts = [int(s) for s in args.subjects.split(",")]
    middle = sizes[len(sizes) // 2]
    os.environ.setdefault("DSR_MASTER_KEY", base64.b64encode(os.urandom(32)).decode())

    by_size, by_subjects = [], []
    for size in sizes:
        with scratch_schema("dsr_bench_scaling") as url:
            people = shop.people(size, tenants=("acme", "globex"))
            rows = load(url, people)
            took, erased = erase(url, people[: 1000 + 1])
            by_size.append((rows, took, erased))
            print(f"{rows:>12,} rows: 1,000 subjects in {took:7.2f}s ({erased:,} rows changed)", flush=True)
            if size == middle:
                offset = 1001
                for n in counts:
                    took, erased = erase(url, people[offset : offset + n + 1])
                    offset += n + 1
                    by_subjects.append((n, took, erased))
                    print(
                        f"{'':>12}  {n:>6,} subjects in {took:7.2f}s, {took / n * 1000:7.1f} ms each",
                        flush=True,
                    )

    print("\n1,000 subjects, one run, by table size:")
    print(f"  {'rows':>12} {'time':>9} {'rows changed':>13} {'ms per subject':>15}")
    for rows, took, erased in by_size:
        print(f"  {rows:>12,} {took:8.2f}s {erased:>13,} {took:>15.2f}")
    print(
        f"  largest / smallest table: {by_size[-1][1] / by_size[0][1]:.2f}x the time for "
        f"{by_size[-1][0] / by_size[0][0]:.0f}x the rows (aim: the subjects' rows decide, not the table)"
    )
    print(f"\nsubjects per run on {by_size[len(sizes) // 2][0]:,} rows:")
    print(f"  {'subjects':>9} {'time':>9} {'ms per subject':>15}")
    for n, took, _ in by_subjects:
        print(f"  {n:>9,} {took:8.2f}s {took / n * 1000:15.1f}")
    _plot(by_size, by_subjects)


def _plot(by_size, by_subjects) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no plot: install the bench extra, pip install -e '.[bench]')")
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot([r for r, _, _ in by_size], [t for _, t, _ in by_size], "o-")
    left.set(xscale="log", xlabel="rows in the shop", ylabel="seconds", title="1,000 subjects, one run")
    left.set_ylim(bottom=0)
    right.plot([n for n, _, _ in by_subjects], [t / n * 1000 for n, t, _ in by_subjects], "o-")
    right.set(xscale="log", xlabel="subjects in the run", ylabel="ms per subject", title="cost per subject")
    right.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(PLOT, dpi=100)
    print(f"plot: {PLOT.name}")
