"""The over-deletion guard: a subject matching an implausible share of a collection stops its request
before any store changes (it applies to access requests too: exporting others' data is a breach).

Each request has its own guard: the configured one; a stricter one once the guard has refused it
(so loosening the configuration does not let it through); none when an operator overrode it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa

from connectors import Connector

from ..core.config import GuardConfig
from .lookup import counts_per_request


@dataclass(frozen=True)
class Refusal:
    """Why the guard stopped a request: counts and names of collections, never rows."""

    store: str
    collection: str
    matched: int
    total: int
    limit: int

    def __str__(self) -> str:
        return (
            f"over-deletion guard: {self.store}.{self.collection} matched {self.matched} of {self.total} "
            f"rows (limit {self.limit}); nothing was changed"
        )


def refusals(
    store_name: str,
    found: Mapping[str, pa.Table],
    connector: Connector,
    guards: Mapping[int, GuardConfig | None],
) -> dict[int, Refusal]:
    """Requests matching more of a collection than their guard allows (`None`: overridden)."""
    matched = {collection: counts_per_request(rows) for collection, rows in found.items()}
    return refusals_of_counts(store_name, matched, connector, guards)


def refusals_of_counts(
    store_name: str,
    matched: Mapping[str, Mapping[int, int]],
    connector: Connector,
    guards: Mapping[int, GuardConfig | None],
) -> dict[int, Refusal]:
    """The same from rows matched per collection and request (summed over a store's chunks)."""
    out: dict[int, Refusal] = {}
    for collection, per_request in sorted(matched.items()):
        counts = {r: n for r, n in per_request.items() if guards.get(r) is not None}
        if all(n <= guards[r].min_rows for r, n in counts.items()):
            continue  # always allowed, no need to count the table
        total = connector.count(collection)
        for request_id, n in counts.items():
            limit = guards[request_id].limit(total)
            if n > limit and request_id not in out:
                out[request_id] = Refusal(store_name, collection, n, total, limit)
    return out
