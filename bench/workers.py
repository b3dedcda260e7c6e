"""The lake pass spread over worker processes: 1,000 subjects in the 2 GB event lake, in chunks.

    python -m bench workers [--rows 54750000] [--subjects 1000] [--chunks 8] [--dir bench/out/lake]

A worker is one process pinned to one core (the machine's cores are the workers there can be);
it takes chunks from a queue and looks the subjects up in each (`ParquetConnector.within(chunk)
.find`, what a chunk's inspection step reads). In the same run:
- 1 worker, then 2 workers, each doing every chunk once (median of `--repeat`): the speed-up and
  the efficiency (speed-up / workers);
- for reference, the pass without chunks: one process, its reading threads on every core (what a
  step of a store without `chunks` does);
- each chunk's time and bytes read: the per-chunk cost docs/scaling.md builds its model on;
- what a step's process costs before it reads anything (Dagster's multiprocess and celery
  executors start or reuse a process that imports dsr's definitions): a fresh import, timed.
The lake is the one `python -m bench lake` generates (bench/lakegen.py), reused when present.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import Value
from pathlib import Path

import pyarrow as pa

from connectors import Chunk, ParquetConnector

from . import lakegen
from .lake import ROWS, USERS, prepared

_core = None  # this worker's core, set once per process
_keys: list[pa.Table] = []
_root = ""


def _start(counter, cores: list[int], root: str, keys: list[pa.Table]) -> None:
    """Pin the worker to a core of its own (its threads, pyarrow's included, stay there)."""
    global _core, _keys, _root
    with counter.get_lock():
        _core = cores[counter.value % len(cores)]
        counter.value += 1
    os.sched_setaffinity(0, {_core})
    _keys, _root = keys, root


def _chunk(index: int, count: int) -> tuple[int, float, int]:
    """Rows found in one chunk, the seconds it took, the bytes it read."""
    connector = ParquetConnector("lake", _root).within(Chunk(index, count))
    started = time.perf_counter()
    found = sum(b.num_rows for b in connector.find("events", _keys) if isinstance(b, pa.RecordBatch))
    return found, time.perf_counter() - started, connector.last_scan.bytes_read


def _pass(workers: int, chunks: int, root: Path, keys: list[pa.Table]) -> tuple[float, list]:
    cores = sorted(os.sched_getaffinity(0))[:workers]
    with ProcessPoolExecutor(
        workers, initializer=_start, initargs=(Value("i", 0), cores, str(root), keys)
    ) as pool:
        list(pool.map(time.sleep, [0.2] * workers))  # every worker is up before the clock starts
        started = time.perf_counter()
        done = list(pool.map(_chunk, range(chunks), [chunks] * chunks))
        return time.perf_counter() - started, done


def _step_start() -> float:
    """A new process importing dsr's definitions: what a step pays before its work."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import dsr_pipelines.definitions"], check=True)
    return time.perf_counter() - started


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench workers")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--subjects", type=int, default=1000)
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default="bench/out/lake")
    args = parser.parse_args(argv)
    root, size = prepared("workers", Path(args.dir), args.rows)
    cores = len(os.sched_getaffinity(0))

    users, emails = lakegen.subjects(args.subjects, USERS)  # the subjects of bench/lake.py
    keys = [pa.table({"user_id": pa.array(users, pa.int64())}), pa.table({"email": emails})]

    _pass(1, args.chunks, root, keys)  # warm-up: every variant meets the same page cache
    times: dict[int, list[float]] = {1: [], 2: []}
    found: set[int] = set()
    per_chunk: list[tuple[int, float, int]] = []
    whole: list[float] = []
    for _ in range(args.repeat):
        connector = ParquetConnector("lake", str(root))
        started = time.perf_counter()
        found.add(sum(b.num_rows for b in connector.find("events", keys) if isinstance(b, pa.RecordBatch)))
        whole.append(time.perf_counter() - started)
        for workers in times:
            seconds, done = _pass(workers, args.chunks, root, keys)
            times[workers].append(seconds)
            found.add(sum(f for f, _, _ in done))
            if workers == 1:
                per_chunk += done
    assert len(found) == 1, f"the workers found different rows: {found}"
    step = statistics.median(_step_start() for _ in range(3))

    t1, t2 = statistics.median(times[1]), statistics.median(times[2])
    chunk_seconds = statistics.median(s for _, s, _ in per_chunk)
    chunk_bytes = statistics.median(b for _, _, b in per_chunk)
    print(
        f"\nlake: {size / 1e9:.2f} GB, {args.subjects} subjects, {found.pop():,} rows found, "
        f"{args.chunks} chunks"
    )
    print(f"machine: {cores} cores; a worker is a process pinned to one of them")
    print(f"1 worker:  {t1:7.2f} s   ({', '.join(f'{t:.2f}' for t in times[1])})")
    print(f"2 workers: {t2:7.2f} s   ({', '.join(f'{t:.2f}' for t in times[2])})")
    print(f"speed-up {t1 / t2:.2f}x, efficiency {t1 / t2 / 2:.0%}")
    t0 = statistics.median(whole)
    print(f"no chunks, one process on every core: {t0:.2f} s ({', '.join(f'{t:.2f}' for t in whole)})")
    print(
        f"per chunk (1 worker): {chunk_seconds:.2f} s, {chunk_bytes / 1e6:.0f} MB read "
        f"({chunk_bytes / chunk_seconds / 1e6:.0f} MB/s a worker) of {size / args.chunks / 1e6:.0f} MB"
    )
    print(f"a step's process before its work (import dsr's definitions): {step:.2f} s")
