"""The records of one object: which are the subjects', what cannot be read, what erasure changes.

Everything here works on an object's bytes or parsed text; `connector.py` fetches and stores.
An object is parsed only if the search finds a subject's value in it, and something that
cannot be read is reported (`Skipped`) only if it holds such a value, or cannot be searched.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from ..base import RECORD, REDACTED, SOURCE, Delete, EraseOp, Mask, Skipped, StoreError, keyed_hash
from ..matching import key_text, matches_any
from .formats import TEXT_FIELD, Document, FormatError, decode, flatten, parse
from .textsearch import TextSearch


def search_for(keys: Sequence[pa.Table]) -> TextSearch:
    """A search for, per key table, the values of its most distinct column: a match holds one of them.

    It ignores case: it only chooses what to parse (structured records then match field by
    field), and a line of text mentions a subject whatever the case.
    """
    values: set[str] = set()
    for k in keys:
        names = [c for c in k.column_names if c != SOURCE]
        if names:
            best = max(names, key=lambda c: pc.count_distinct(k[c]).as_py())
            values |= key_text([k], [best])
    return TextSearch(values, ignore_case=True)


def read(
    collection: str, key: str, fmt: str | None, data: bytes, keys: list[pa.Table], search: TextSearch
) -> list:
    """The object's records matching `keys` (a batch), and what in it could not be read."""
    try:
        text, _ = decode(data)
    except FormatError as exc:
        return unreadable(collection, key, str(exc), data, search)
    hits = search.values_in(text)
    if not hits:
        return []
    if fmt is None:
        return [Skipped(collection, key, "unknown format (give the prefix a format)", frozenset(hits))]
    try:
        doc = parse(text, fmt)
    except FormatError as exc:
        return [Skipped(collection, key, str(exc), frozenset(hits))]
    if fmt == "text":
        rows, items = contained(doc, keys, search), []
    else:
        table = doc.table()
        rows = table.filter(matches_any(table, keys)) if table.num_rows else None
        items = unattributed(collection, key, doc, keys, search)
    items = problems(collection, key, doc, search) + items
    if rows is not None and rows.num_rows:
        rows = rows.append_column(SOURCE, pa.array([key] * rows.num_rows, pa.string()))
        items = rows.to_batches() + items
    return items


def unreadable(collection: str, key: str, reason: str, data: bytes, search: TextSearch) -> list[Skipped]:
    """An object that does not decode: reported if its raw bytes mention a subject, or cannot be searched."""
    if reason.startswith("not a valid gzip"):
        return [Skipped(collection, key, reason, None)]
    hits = search.values_in(data.decode("latin-1"))
    return [Skipped(collection, key, reason, frozenset(hits))] if hits else []


def contained(doc: Document, keys: list[pa.Table], search: TextSearch) -> pa.Table | None:
    """Text records: one row per line and key value it mentions (the value in the key's column)."""
    rows = []
    for k in keys:
        if k.num_columns != 1:
            raise StoreError("plain-text collections match one field at a time")
        name = k.column_names[0]
        wanted: dict[str, set[str]] = {}
        for value in key_text([k]):
            wanted.setdefault(search.prepare(value), set()).add(value)
        for position, record in doc.records.items():
            for word in search.values_in(record[TEXT_FIELD]):
                for value in sorted(wanted.get(word, ())):
                    rows.append({TEXT_FIELD: record[TEXT_FIELD], name: value, RECORD: position})
    if not rows:
        return None
    names = list(dict.fromkeys(n for r in rows for n in r))
    return pa.table(
        {n: pa.array([r.get(n) for r in rows], pa.int64() if n == RECORD else pa.string()) for n in names}
    )


def unattributed(
    collection: str, key: str, doc: Document, keys: list[pa.Table], search: TextSearch
) -> list[Skipped]:
    """Records that mention a searched value but lack a key field: the datamap misses something."""
    table = doc.table()
    absent = sorted({c for k in keys for c in k.column_names if c not in table.column_names})
    if not absent:
        return []
    seen = frozenset(v for p in doc.records for v in search.values_in(doc.unit_text(p)))
    if not seen:
        return []
    reason = f"no field {', '.join(absent)} in its records, yet they mention the subject"
    return [Skipped(collection, key, reason, seen)]


def problems(collection: str, key: str, doc: Document, search: TextSearch) -> list[Skipped]:
    """Malformed lines or rows that hold a searched value: they are kept, and reported."""
    out = []
    for position, reason in sorted(doc.problems.items()):
        hits = search.values_in(doc.unit_text(position))
        if hits:
            out.append(Skipped(collection, key, reason, frozenset(hits)))
    return out


def plan(
    doc: Document, ops: dict[int, tuple[EraseOp, pa.Table]], search: TextSearch
) -> tuple[set[int], dict[int, dict], dict[int, int]]:
    """Units to drop, changes to make, and how many records each operation touches."""
    drop: set[int] = set()
    changes: dict[int, dict] = {}
    counts: dict[int, int] = {}
    table = doc.table()
    for i, (op, keys) in ops.items():
        if doc.format == "text":
            found = contained(doc, [keys], search)
            positions = sorted(set(found[RECORD].to_pylist())) if found is not None else []
        elif table.num_rows:
            positions = table.filter(matches_any(table, [keys]))[RECORD].to_pylist()
        else:
            positions = []
        if isinstance(op.action, Delete):
            counts[i] = len(set(positions) - drop)
            drop.update(positions)
        elif isinstance(op.action, Mask):
            counts[i] = len(positions)
            values = key_text([keys])
            for p in positions:
                changes.setdefault(p, {}).update(masked(doc, p, op.action, values))
    return drop, changes, counts


def masked(doc: Document, position: int, mask: Mask, values: set[str]) -> dict:
    """New values for the masked fields of one record (in text, the subject's values in the line)."""
    record = doc.records[position]
    if doc.format == "text":
        line = record[TEXT_FIELD]
        if TEXT_FIELD in mask.fields:
            return {TEXT_FIELD: REDACTED}
        search = TextSearch(values, ignore_case=True)
        for start, end, _ in sorted(search.hits(search.prepare(line)), reverse=True):
            line = line[:start] + REDACTED + line[end:]
        return {TEXT_FIELD: line}
    flat = flatten(record)
    out = {}
    for name, method in mask.fields.items():
        if name not in flat:
            continue
        old = flat[name]
        if method == "hash" and isinstance(old, str):
            out[name] = keyed_hash(mask.hash_key, old)
        elif method == "redact" and isinstance(old, str):
            out[name] = REDACTED
        else:
            out[name] = None
    return out


def versions_held(
    data: bytes, keys: dict[int, list[pa.Table]], search: TextSearch
) -> dict[int, frozenset[str]]:
    """Per operation, the key values an (older) object version mentions."""
    try:
        text, _ = decode(data)
    except FormatError:
        text = data.decode("latin-1")
    seen = search.values_in(text)
    held = {i: frozenset(seen & {search.prepare(v) for v in key_text(ks)}) for i, ks in keys.items()}
    return {i: v for i, v in held.items() if v}


def parse_object(fmt: str, data: bytes) -> tuple[Document, bool]:
    """The parsed object and whether it was gzip-compressed; FormatError if it cannot be."""
    text, compressed = decode(data)
    return parse(text, fmt), compressed
