"""Find every row of many subjects at once in one store, following the datamap's references.

Rows come back tagged with the request they belong to (column `_request`). Matching is done by
the store (`IN` over key tuples); attributing rows to requests is an Arrow join on the key
columns, compared as strings so an identity typed in as text meets an integer column.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from connectors import Connector

from .config import GuardConfig
from .datamap import CollectionSpec, StoreMap
from .request_store import Subject

REQUEST = "_request"


def with_join_keys(table: pa.Table, columns: Sequence[str]) -> pa.Table:
    for i, name in enumerate(columns):
        table = table.append_column(f"_k{i}", pc.cast(table[name], pa.string()))
    return table


def drop_join_keys(table: pa.Table, n: int) -> pa.Table:
    return table.drop_columns([f"_k{i}" for i in range(n)])


def unique_rows(table: pa.Table) -> pa.Table:
    return table.group_by(table.column_names, use_threads=False).aggregate([])


def lookup(connector: Connector, collection: str, keys: pa.Table) -> pa.Table | None:
    """Rows of `collection` matching `keys` (match columns + `_request`), tagged with `_request`."""
    match_cols = [c for c in keys.column_names if c != REQUEST]
    keys = keys.drop_null()
    if keys.num_rows == 0:
        return None
    batches = list(connector.find(collection, unique_rows(keys.select(match_cols))))
    if not batches:
        return None
    rows = with_join_keys(pa.Table.from_batches(batches), match_cols)
    right = with_join_keys(keys, match_cols).drop_columns(match_cols)
    joined = rows.join(
        right, keys=[f"_k{i}" for i in range(len(match_cols))], join_type="inner", use_threads=False
    )
    return drop_join_keys(joined, len(match_cols))


def row_key(spec: CollectionSpec, table: pa.Table) -> list[str]:
    return list(spec.primary_key) or [c for c in table.column_names if c != REQUEST]


def _only_new(spec: CollectionSpec, rows: pa.Table, known: pa.Table | None) -> pa.Table:
    """Rows (per request) not yet in `known`."""
    if known is None:
        return rows
    cols = row_key(spec, rows) + [REQUEST]
    left = with_join_keys(rows, cols)
    right = with_join_keys(known.select(cols), cols).drop_columns(cols)
    new = left.join(
        right, keys=[f"_k{i}" for i in range(len(cols))], join_type="left anti", use_threads=False
    )
    return drop_join_keys(new, len(cols))


def _tenant_column(subjects: Sequence[Subject], requests: pa.Array) -> pa.Array:
    tenants = pa.array([s.tenant for s in subjects])
    ids = pa.array([s.request_id for s in subjects], pa.int64())
    return pc.take(tenants, pc.index_in(requests, value_set=ids))


def find_subjects(store: StoreMap, connector: Connector, subjects: Sequence[Subject]) -> dict[str, pa.Table]:
    """All rows of the subjects in this store, per collection, each tagged with `_request`."""
    found: dict[str, pa.Table] = {}
    fresh: dict[str, pa.Table] = {}

    def add(collection: str, rows: pa.Table | None) -> None:
        if rows is None or rows.num_rows == 0:
            return
        spec = store.collections[collection]
        rows = unique_rows(rows) if not spec.primary_key else rows
        new = _only_new(spec, rows, found.get(collection))
        new = _only_new(spec, new, fresh.get(collection)) if collection in fresh else new
        if new.num_rows:
            fresh[collection] = pa.concat_tables([fresh[collection], new]) if collection in fresh else new

    def with_tenant(spec: CollectionSpec, keys: pa.Table) -> pa.Table:
        if not spec.tenant_field:
            return keys
        return keys.append_column(spec.tenant_field, _tenant_column(subjects, keys[REQUEST]))

    for cname, spec in store.collections.items():
        for fname, kind in spec.identity_fields().items():
            pairs = [(i.value, s.request_id) for s in subjects for i in s.identities if i.kind == kind]
            if pairs:
                values, requests = zip(*pairs, strict=True)
                keys = pa.table(
                    {fname: pa.array(values, pa.string()), REQUEST: pa.array(requests, pa.int64())}
                )
                add(cname, lookup(connector, cname, with_tenant(spec, keys)))

    while fresh:
        frontier, fresh = fresh, {}
        for cname, rows in frontier.items():
            found[cname] = pa.concat_tables([found[cname], rows]) if cname in found else rows
        for child, spec in store.collections.items():
            for ref in spec.references:
                if not ref.follow or ref.to not in frontier:
                    continue
                parents = frontier[ref.to]
                keys = pa.table(
                    [parents[f] for f in ref.to_fields] + [parents[REQUEST]], names=[*ref.fields, REQUEST]
                )
                add(child, lookup(connector, child, with_tenant(spec, keys)))
    return found


def counts_per_request(table: pa.Table | None) -> dict[int, int]:
    if table is None or table.num_rows == 0:
        return {}
    grouped = table.group_by(REQUEST, use_threads=False).aggregate([(REQUEST, "count")])
    return dict(zip(grouped[REQUEST].to_pylist(), grouped[f"{REQUEST}_count"].to_pylist(), strict=True))


def guard_violations(
    store_name: str, found: dict[str, pa.Table], connector: Connector, guard: GuardConfig
) -> dict[int, str]:
    """Requests matching an implausible share of a collection: they abort before any change."""
    violations: dict[int, str] = {}
    for collection, rows in sorted(found.items()):
        counts = counts_per_request(rows)
        if max(counts.values(), default=0) <= guard.min_rows:
            continue  # always allowed, no need to count the table
        total = connector.count(collection)
        limit = guard.limit(total)
        for request_id, n in counts.items():
            if n > limit and request_id not in violations:
                violations[request_id] = (
                    f"over-deletion guard: {store_name}.{collection} matched {n} of {total} rows "
                    f"(limit {limit}); nothing was changed"
                )
    return violations
