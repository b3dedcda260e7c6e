"""Plan and apply erasure in one store, then probe that nothing erasable is left.

Each collection's action comes from the datamap. Deletion goes children first; a row that
other rows still reference (retained orders, another customer's referral) is masked instead,
so no retained row is orphaned and no foreign key breaks. Rows already masked are left alone,
so a re-run after a crash changes nothing twice.

Rows are addressed by their primary key. Object and lake records have none that lasts (their
position changes when the object or file does), so they are addressed by content: the object
or file they were found in, and the key values they were found by.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from connectors import SOURCE, Connector, Delete, EraseOp, Mask, Rewrite
from connectors.matching import is_masked, unique_rows, with_join_keys

from ..state.results import CollectionResult
from .datamap.graph import children_first
from .datamap.model import CollectionSpec, StoreMap
from .lookup import REQUEST, VIA, counts_per_request, lookup, row_key
from .redaction import Terms, redact, subject_terms


@dataclass(frozen=True)
class CollectionPlan:
    collection: str
    found: pa.Table
    delete: pa.Table | None  # tagged rows to delete
    mask: pa.Table | None  # tagged rows to mask
    mask_fields: dict[str, str]
    retained: pa.Table | None
    reason: str | None
    rewrite: pa.Table | None = None  # row keys and free text with the subject's spans redacted


def _subset(table: pa.Table, selector: pa.Array) -> pa.Table | None:
    out = table.filter(selector)
    return out if out.num_rows else None


def _is_in(table: pa.Table, cols: Sequence[str], other: pa.Table) -> pa.Array:
    """Per row of `table`: is its tuple of `cols` among `other`'s tuples (same column names)?"""
    left = with_join_keys(table.select(list(cols)), cols)
    right = unique_rows(with_join_keys(other.select(list(cols)), cols).drop_columns(list(cols)))
    marker = right.append_column("_hit", pa.array([True] * right.num_rows, pa.bool_()))
    keys = [f"_k{i}" for i in range(len(cols))]
    left = left.append_column("_pos", pa.array(range(table.num_rows), pa.int64()))
    joined = left.join(marker, keys=keys, join_type="left outer", use_threads=False).sort_by("_pos")
    return joined["_hit"].fill_null(False).combine_chunks()


def _span_fields(spec: CollectionSpec, rows: pa.Table) -> list[str]:
    return [f for f, m in spec.personal_fields().items() if m == "spans" and f in rows.column_names]


def _unmasked(fields: Sequence[str], rows: pa.Table) -> pa.Array:
    """Rows where any of `fields` still holds a value (not null, redacted or hashed)."""
    fields = [f for f in fields if f in rows.column_names]
    if not fields:
        return pa.array([False] * rows.num_rows, pa.bool_())
    masked = is_masked(rows[fields[0]])
    for name in fields[1:]:
        masked = pc.and_(masked, is_masked(rows[name]))
    return pc.invert(masked)


def _needs_mask(spec: CollectionSpec, rows: pa.Table, terms: dict[int, Terms]) -> pa.Array:
    """Rows with a personal field not yet masked, or free text still holding their subject's spans."""
    out = _unmasked([f for f, m in spec.personal_fields().items() if m != "spans"], rows)
    spans = _span_fields(spec, rows)
    if spans:
        requests = rows[REQUEST].to_pylist()
        columns = [rows[f].to_pylist() for f in spans]
        hits = [
            any(isinstance(v, str) and redact(v, terms.get(r, Terms())) != v for v in values)
            for r, *values in zip(requests, *columns, strict=True)
        ]
        out = pc.or_(out, pa.array(hits, pa.bool_()))
    return out


def _rewrites(spec: CollectionSpec, rows: pa.Table | None, terms: dict[int, Terms]) -> pa.Table | None:
    """Per row to mask: its key and its free text without the spans of every subject it concerns."""
    if rows is None or not _span_fields(spec, rows):
        return None
    spans, key = _span_fields(spec, rows), row_key(spec, rows)
    texts: dict[tuple, dict[str, object]] = {}
    for row in rows.select([*key, *spans, REQUEST]).to_pylist():
        current = texts.setdefault(tuple(row[k] for k in key), {f: row[f] for f in spans})
        for f in spans:
            if isinstance(current[f], str):
                current[f] = redact(current[f], terms.get(row[REQUEST], Terms()))
    keys = list(texts)
    columns = {k: [t[i] for t in keys] for i, k in enumerate(key)}
    columns |= {f: [texts[t][f] for t in keys] for f in spans}
    return pa.table(columns).cast(rows.select([*key, *spans]).schema)


def _incoming(
    store: StoreMap, connector: Connector, collection: str
) -> list[tuple[str, list[str], list[str]]]:
    """(referencing collection, its fields, referenced fields): the datamap's and the live schema's."""
    refs = {
        (child, tuple(r.fields), tuple(r.to_fields))
        for child, spec in store.collections.items()
        for r in spec.local_references()
        if r.to == collection
    }
    for info in connector.collections():
        for fk in info.foreign_keys:
            if fk.to_collection == collection:
                refs.add((info.name, fk.fields, fk.to_fields))
    return [(c, list(f), list(t)) for c, f, t in sorted(refs)]


def plan(store: StoreMap, connector: Connector, found: dict[str, pa.Table]) -> list[CollectionPlan]:
    """What erasure would do, children first, without changing anything."""
    plans: list[CollectionPlan] = []
    deleting: dict[str, pa.Table] = {}
    redacting = any(
        m == "spans" for spec in store.collections.values() for m in spec.personal_fields().values()
    )
    terms = subject_terms(store, found) if redacting else {}  # only free text needs the subjects' terms
    for name in children_first(store):
        rows = found.get(name)
        if rows is None or rows.num_rows == 0:
            continue
        spec = store.collections[name]
        if spec.erase == "retain":
            plans.append(CollectionPlan(name, rows, None, None, {}, rows, spec.legal_basis))
            continue
        if spec.erase == "mask":
            to_mask = _subset(rows, _needs_mask(spec, rows, terms))
            plans.append(
                CollectionPlan(
                    name,
                    rows,
                    None,
                    to_mask,
                    spec.personal_fields(),
                    None,
                    None,
                    _rewrites(spec, to_mask, terms),
                )
            )
            continue
        blocked = pa.array([False] * rows.num_rows, pa.bool_())
        self_refs = []  # references among this collection's own candidates
        for child, fields, to_fields in _incoming(store, connector, name):
            keys = pa.table([rows[f] for f in to_fields] + [rows[REQUEST]], names=[*fields, REQUEST])
            referencing = lookup(connector, child, [keys])
            if referencing is None:
                continue
            if child in deleting:  # referencing rows that go first do not hold this row back
                gone = _is_in(referencing, row_key(store.collections[child], referencing), deleting[child])
                referencing = referencing.filter(pc.invert(gone))
            elif child == name:
                internal = _is_in(referencing, row_key(spec, rows), rows)
                self_refs.append((referencing.filter(internal), fields, to_fields))
                referencing = referencing.filter(pc.invert(internal))
            if referencing.num_rows:
                blocked = pc.or_(
                    blocked, _is_in(rows, to_fields, referencing.select(fields).rename_columns(to_fields))
                )
        # A candidate that is kept keeps what it references here too (a kept customer's referrer).
        while self_refs:
            kept_now = rows.filter(blocked)
            before = pc.sum(blocked).as_py() or 0
            for internal, fields, to_fields in self_refs:
                holders = internal.filter(_is_in(internal, row_key(spec, rows), kept_now))
                if holders.num_rows:
                    targets = holders.select(fields).rename_columns(to_fields)
                    blocked = pc.or_(blocked, _is_in(rows, to_fields, targets))
            if (pc.sum(blocked).as_py() or 0) == before:
                break
        to_delete = _subset(rows, pc.invert(blocked))
        kept = rows.filter(blocked)
        to_mask = _subset(kept, _needs_mask(spec, kept, terms)) if spec.personal_fields() else None
        if to_delete is not None:
            deleting[name] = to_delete
        reason = None
        if kept.num_rows:
            instead = "masked instead of deleted" if spec.personal_fields() else "kept (no personal fields)"
            reason = f"still referenced by rows that are kept: {instead}"
        plans.append(
            CollectionPlan(
                name,
                rows,
                to_delete,
                to_mask,
                spec.personal_fields(),
                kept if not spec.personal_fields() and kept.num_rows else None,
                reason,
                _rewrites(spec, to_mask, terms),
            )
        )
    return plans


def _addressed(collection: str, spec: CollectionSpec, rows: pa.Table, action) -> list[EraseOp]:
    """Operations on `rows`: by primary key, or (object and lake records) by where and how they were found."""
    if spec.primary_key or VIA not in rows.column_names:
        return [EraseOp(collection, unique_rows(rows.select(row_key(spec, rows))), action)]
    ops = []
    for via in sorted(set(rows[VIA].to_pylist())):
        group = rows.filter(pc.equal(rows[VIA], via))
        ops.append(EraseOp(collection, unique_rows(group.select([SOURCE, *via.split(",")])), action))
    return ops


def operations(store: StoreMap, plans: Sequence[CollectionPlan], hash_key: bytes) -> list[EraseOp]:
    ops = []
    for p in plans:
        spec = store.collections[p.collection]
        key = row_key(spec, p.found)
        if p.delete is not None:
            ops += _addressed(p.collection, spec, p.delete, Delete())
        fixed = {f: m for f, m in p.mask_fields.items() if m != "spans"}
        unmasked = _subset(p.mask, _unmasked(list(fixed), p.mask)) if p.mask is not None else None
        if unmasked is not None:  # rows there only for their free text keep their masked fields as they are
            ops += _addressed(p.collection, spec, unmasked, Mask(fixed, hash_key))
        if p.rewrite is not None:
            spans = tuple(n for n in p.rewrite.column_names if n not in key)
            ops.append(EraseOp(p.collection, p.rewrite.select(key), Rewrite(spans, p.rewrite)))
    return ops


def results(
    store_name: str, plans: Sequence[CollectionPlan], request_ids: Sequence[int]
) -> dict[int, list[CollectionResult]]:
    """Per-request counts of a plan (what was, or would be, deleted, masked and retained)."""
    out: dict[int, list[CollectionResult]] = {r: [] for r in request_ids}
    for p in plans:
        found, deleted, masked, retained = (
            counts_per_request(t) for t in (p.found, p.delete, p.mask, p.retained)
        )
        for request_id in found:
            if request_id in out:
                out[request_id].append(
                    CollectionResult(
                        store_name,
                        p.collection,
                        found=found[request_id],
                        deleted=deleted.get(request_id, 0),
                        masked=masked.get(request_id, 0),
                        retained=retained.get(request_id, 0),
                        reason=p.reason,
                    )
                )
    return out


def residual(plans: Sequence[CollectionPlan]) -> dict[tuple[int, str], int]:
    """What a fresh plan would still change: after a successful erasure, nothing."""
    out: dict[tuple[int, str], int] = {}
    for p in plans:
        for table in (p.delete, p.mask):
            for request_id, n in counts_per_request(table).items():
                out[(request_id, p.collection)] = out.get((request_id, p.collection), 0) + n
    return out
