"""Find every row of many subjects at once in one store, following the datamap's references.

Rows come back tagged with the request they belong to (column `_request`). Matching is done by
the store (`IN` over key tuples, a dataset filter, one pass over the objects); attributing rows
to requests is an Arrow join on the key columns, compared as strings so an identity typed in as
text meets an integer column. A collection is asked once per round of the traversal with every
key it can be reached by (its identity fields, its links from other stores, its references),
so an object or lake store is read once for all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from connectors import RECORD, SOURCE, Connector, Skipped
from connectors.matching import distinct, drop_join_keys, none_of, unique_rows, with_join_keys

from ..state.requests import Subject
from ..state.results import SkippedItem
from .datamap.model import CollectionSpec, Reference, StoreMap
from .datamap.tenancy import tenant_path

REQUEST = "_request"
VIA = "_via"  # object and lake rows: the key columns they were found by (erasure matches on those)


@dataclass(frozen=True)
class SubjectRows:
    """A store's rows of a batch of subjects, per collection, and per request what could not be read."""

    tables: dict[str, pa.Table]
    skipped: dict[int, list[SkippedItem]] = field(default_factory=dict)


def identity_columns(primary_key: Sequence[str], table: pa.Table) -> list[str]:
    """What tells one row from another: the primary key, a record's place in its object or file, or all."""
    if primary_key:
        return list(primary_key)
    if SOURCE in table.column_names:
        return [SOURCE, RECORD]
    return [c for c in table.column_names if c != REQUEST]


def row_key(spec: CollectionSpec, table: pa.Table) -> list[str]:
    return identity_columns(spec.primary_key, table)


def _concat(tables: Sequence[pa.Table]) -> pa.Table:
    """Tables whose columns differ (records of objects with other fields) as one."""
    return pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]


def requests_holding(tables: Sequence[pa.Table], values: frozenset[str] | None) -> set[int]:
    """Requests with a row holding one of `values` (as text, any case); all of them for None."""
    out: set[int] = set()
    wanted = None if values is None else pa.array(sorted(v.lower() for v in values), pa.string())
    for table in tables:
        if wanted is None:
            out.update(table[REQUEST].to_pylist())
            continue
        seen = none_of(table.num_rows)
        for name in table.column_names:
            if name != REQUEST and not pa.types.is_binary(table[name].type):
                text = pc.utf8_lower(pc.cast(table[name], pa.string()))
                seen = pc.or_(seen, pc.is_in(text, value_set=wanted).fill_null(False))
        out.update(table[REQUEST].filter(seen).to_pylist())
    return out


def merge_skipped(into: dict[int, list[SkippedItem]], more: dict[int, list[SkippedItem]]) -> None:
    """Add `more` to `into`, per request, each item once."""
    for request_id, items in more.items():
        mine = into.setdefault(request_id, [])
        mine += [i for i in items if i not in mine]


def lookup(
    connector: Connector,
    collection: str,
    keys: Sequence[pa.Table],
    primary_key: Sequence[str] = (),
    skipped: dict[int, list[SkippedItem]] | None = None,
) -> pa.Table | None:
    """Rows of `collection` matching any key table (match columns + `_request`), tagged with `_request`.

    What the store could not read is added to `skipped`, per request it concerns.
    """
    tables = [k.drop_null() for k in keys]
    tables = [k for k in tables if k.num_rows]
    if not tables:
        return None
    batches, problems = [], []
    for item in connector.find(collection, [unique_rows(k.drop_columns([REQUEST])) for k in tables]):
        (problems if isinstance(item, Skipped) else batches).append(item)
    if skipped is not None:
        for problem in problems:
            item = SkippedItem(connector.name, collection, problem.item, problem.reason)
            merge_skipped(skipped, {r: [item] for r in requests_holding(tables, problem.hits)})
    if not batches:
        return None
    rows = _concat([pa.Table.from_batches([b]) for b in batches])
    tagged = []
    for k in tables:
        match_cols = [c for c in k.column_names if c != REQUEST]
        if not all(c in rows.column_names for c in match_cols):
            continue
        left = with_join_keys(rows, match_cols)
        right = with_join_keys(k, match_cols).drop_columns(match_cols)
        on = [f"_k{i}" for i in range(len(match_cols))]
        joined = drop_join_keys(left.join(right, keys=on, join_type="inner", use_threads=False), len(on))
        if SOURCE in joined.column_names:
            joined = joined.append_column(
                VIA, pa.array([",".join(match_cols)] * joined.num_rows, pa.string())
            )
        tagged.append(joined)
    if not tagged:
        return None
    out = _concat(tagged)
    return distinct(out, [*identity_columns(primary_key, out), REQUEST]) if len(tagged) > 1 else out


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


def _identity_keys(spec: CollectionSpec, subjects: Sequence[Subject]) -> list[pa.Table]:
    """Key tables a collection is first reached by through its identity fields."""
    keys = []
    for fname, kind in spec.identity_fields().items():
        pairs = [(i.value, s.request_id) for s in subjects for i in s.identities if i.kind == kind]
        if pairs:
            values, requests = zip(*pairs, strict=True)
            keys.append(
                pa.table({fname: pa.array(values, pa.string()), REQUEST: pa.array(requests, pa.int64())})
            )
    return keys


def _link_keys(spec: CollectionSpec, subjects: Sequence[Subject]) -> list[pa.Table]:
    """Key tables a collection is first reached by through its links to rows in other stores (rows
    already found in the subject's tenant)."""
    keys = []
    for ref in spec.references:
        if ref.local:
            continue
        linked = [(*t, s.request_id) for s in subjects for t in s.links.get(ref.link, ())]
        if linked:
            columns = list(zip(*linked, strict=True))
            arrays = [pa.array(c) for c in columns[:-1]] + [pa.array(columns[-1], pa.int64())]
            keys.append(pa.table(arrays, names=[*ref.fields, REQUEST]))
    return keys


def _referencing(rows: pa.Table, ref: Reference, parents: pa.Table) -> pa.Table:
    """The rows whose reference `ref` lands on one of `parents` found for the same request."""
    left_cols, right_cols = [*ref.fields, REQUEST], [*ref.to_fields, REQUEST]
    left = with_join_keys(rows, left_cols)
    right = with_join_keys(parents.select(right_cols), right_cols).drop_columns(right_cols)
    on = [f"_k{i}" for i in range(len(left_cols))]
    return drop_join_keys(left.join(right, keys=on, join_type="left semi", use_threads=False), len(on))


def _in_their_tenant(
    store: StoreMap,
    connector: Connector,
    path: Sequence[Reference],
    rows: pa.Table,
    subjects: Sequence[Subject],
    skipped: dict,
) -> pa.Table:
    """Rows a collection without a tenant field matched by identity, kept where the rows they
    reference (along `path`, to a collection with a tenant field) are in the request's tenant; a
    row whose reference leads nowhere belongs to no tenant that can be told, and is not matched."""
    levels = [rows]
    for ref in path:
        current = levels[-1]
        keys = pa.table(
            [current[f] for f in ref.fields] + [current[REQUEST]], names=[*ref.to_fields, REQUEST]
        ).drop_null()
        target = store.collections[ref.to]
        if target.tenant_field:
            keys = keys.append_column(target.tenant_field, _tenant_column(subjects, keys[REQUEST]))
        found = lookup(connector, ref.to, [keys], target.primary_key, skipped) if keys.num_rows else None
        if found is None or found.num_rows == 0:
            return rows.slice(0, 0)
        levels.append(found)
    kept = levels[-1]
    for ref, level in zip(reversed(path), reversed(levels[:-1]), strict=True):
        kept = _referencing(level, ref, kept)
    return kept


def find_subjects(store: StoreMap, connector: Connector, subjects: Sequence[Subject]) -> SubjectRows:
    """All rows of the subjects in this store, per collection, each tagged with `_request`."""
    found: dict[str, pa.Table] = {}
    fresh: dict[str, pa.Table] = {}
    skipped: dict[int, list[SkippedItem]] = {}

    def add(collection: str, rows: pa.Table | None) -> None:
        if rows is None or rows.num_rows == 0:
            return
        spec = store.collections[collection]
        rows = unique_rows(rows) if not spec.primary_key and SOURCE not in rows.column_names else rows
        new = _only_new(spec, rows, found.get(collection))
        new = _only_new(spec, new, fresh.get(collection)) if collection in fresh else new
        if new.num_rows:
            fresh[collection] = _concat([fresh[collection], new]) if collection in fresh else new

    def with_tenant(spec: CollectionSpec, keys: pa.Table) -> pa.Table:
        if not spec.tenant_field:
            return keys
        return keys.append_column(spec.tenant_field, _tenant_column(subjects, keys[REQUEST]))

    def ask(collection: str, keys: list[pa.Table], path: Sequence[Reference] = ()) -> None:
        spec = store.collections[collection]
        if keys:
            keys = [with_tenant(spec, k) for k in keys]
            rows = lookup(connector, collection, keys, spec.primary_key, skipped)
            if path and rows is not None and rows.num_rows:
                rows = _in_their_tenant(store, connector, path, rows, subjects, skipped)
            add(collection, rows)

    for cname, spec in store.collections.items():
        path = () if spec.shared else tenant_path(store, cname) or ()
        if path:  # identity matches are checked against the tenant their references lead to
            ask(cname, _link_keys(spec, subjects))
            ask(cname, _identity_keys(spec, subjects), path)
        else:  # one read of the collection for every key
            ask(cname, _identity_keys(spec, subjects) + _link_keys(spec, subjects))

    while fresh:
        frontier, fresh = fresh, {}
        for cname, rows in frontier.items():
            found[cname] = _concat([found[cname], rows]) if cname in found else rows
        for child, spec in store.collections.items():
            keys = []
            for ref in spec.local_references():
                if not ref.follow or ref.to not in frontier:
                    continue
                parents = frontier[ref.to]
                keys.append(
                    pa.table(
                        [parents[f] for f in ref.to_fields] + [parents[REQUEST]], names=[*ref.fields, REQUEST]
                    )
                )
            ask(child, keys)
    return SubjectRows(found, skipped)


def counts_per_request(table: pa.Table | None) -> dict[int, int]:
    if table is None or table.num_rows == 0:
        return {}
    grouped = table.group_by(REQUEST, use_threads=False).aggregate([(REQUEST, "count")])
    return dict(zip(grouped[REQUEST].to_pylist(), grouped[f"{REQUEST}_count"].to_pylist(), strict=True))
