"""Where a run's time goes, and how much memory it peaks at, for the benchmarks' printouts.

`Split` times, while active, every public method of the store connectors ("store work") and of
the state database's repositories ("bookkeeping"); a call inside another of the same kind counts
once. What is left of the wall time is orchestration: Dagster, planning and the glue.
`peak_rss` resets the kernel's high-water mark of this process and reads it after a block.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from connectors.parquet.connector import ParquetConnector
from connectors.s3.connector import S3Connector
from connectors.sql.connector import SqlConnector
from dsr_pipelines.state import (
    archives,
    backups,
    discovery_log,
    guard,
    holds,
    leases,
    ledger,
    links,
    requests,
    restrictions,
    results,
    schema_cache,
    sweeps,
    terminations,
    tombstones,
)

STORE = (SqlConnector, S3Connector, ParquetConnector)
STATE = (
    archives.Archives,
    backups.Backups,
    discovery_log.DiscoveryLog,
    guard.GuardDecisions,
    holds.Holds,
    leases.Leases,
    ledger.Ledger,
    links.Links,
    requests.Requests,
    restrictions.Restrictions,
    results.Results,
    schema_cache.SchemaCache,
    sweeps.Sweeps,
    terminations.Terminations,
    tombstones.Tombstones,
)


@dataclass
class Split:
    seconds: dict[str, float] = field(default_factory=lambda: {"store work": 0.0, "bookkeeping": 0.0})
    total: float = 0.0
    _depth: dict[str, int] = field(default_factory=lambda: {"store work": 0, "bookkeeping": 0})

    @contextmanager
    def _clock(self, kind: str) -> Iterator[None]:
        self._depth[kind] += 1
        start = time.perf_counter()
        try:
            yield
        finally:
            self._depth[kind] -= 1
            if self._depth[kind] == 0:
                self.seconds[kind] += time.perf_counter() - start

    def _timed(self, kind: str, method):
        if inspect.isgeneratorfunction(method):  # a lookup's work happens as it is iterated

            @functools.wraps(method)
            def timed_generator(*args, **kwargs):
                items = method(*args, **kwargs)
                while True:
                    with self._clock(kind):
                        try:
                            item = next(items)
                        except StopIteration:
                            return
                    yield item

            return timed_generator

        @functools.wraps(method)
        def timed(*args, **kwargs):
            with self._clock(kind):
                return method(*args, **kwargs)

        return timed

    @contextmanager
    def active(self) -> Iterator[Split]:
        patched = []
        for kind, classes in (("store work", STORE), ("bookkeeping", STATE)):
            for cls in classes:
                for name, method in list(vars(cls).items()):
                    if inspect.isfunction(method) and not name.startswith("_"):  # public methods
                        patched.append((cls, name, method))
                        setattr(cls, name, self._timed(kind, method))
        start = time.perf_counter()
        try:
            yield self
        finally:
            self.total += time.perf_counter() - start
            for cls, name, method in patched:
                setattr(cls, name, method)

    def lines(self) -> list[str]:
        rest = self.total - sum(self.seconds.values())
        parts = [*self.seconds.items(), ("orchestration and planning (the rest)", rest)]
        return [f"{name:38} {took:8.2f}s {took / self.total:6.0%}" for name, took in parts]


def _high_water_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


@contextmanager
def peak_rss() -> Iterator[dict[str, float]]:
    """The block's peak resident memory in MB (`out["mb"]`), the high-water mark reset before it."""
    Path("/proc/self/clear_refs").write_text("5")
    out: dict[str, float] = {}
    try:
        yield out
    finally:
        out["mb"] = _high_water_kb() / 1024
