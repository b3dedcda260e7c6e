"""Rewriting a lake's file: the same settings as the original, masks applied, durable before the swap."""

from __future__ import annotations

import os
import uuid

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..base import REDACTED, EraseOp, Mask, Rewrite, StoreError, keyed_hash

TMP_PREFIX = ".dsr-tmp-"  # hidden from datasets, removed by the next erase if a crash leaves one
_CODECS = {"UNCOMPRESSED": "none", "LZ4_RAW": "lz4", "LZ4": "lz4"}


def temporary_for(path: str) -> str:
    folder, _, base = path.rpartition("/")
    return f"{folder}/{TMP_PREFIX}{uuid.uuid4().hex[:8]}-{base}"


def original_of(temporary: str) -> str:
    """The file a temporary was written to replace."""
    folder, _, base = temporary.rpartition("/")
    return f"{folder}/{base[len(TMP_PREFIX) + 9 :]}"


def write_like(original: pq.ParquetFile, table: pa.Table, where: str, filesystem) -> None:
    """Write `table` with the original's schema, metadata, codecs, dictionaries and row-group size."""
    meta = original.metadata
    codecs, dictionary = {}, []
    if meta.num_row_groups:
        first = meta.row_group(0)
        for j in range(first.num_columns):
            chunk = first.column(j)
            codecs[chunk.path_in_schema] = _CODECS.get(chunk.compression, chunk.compression.lower())
            if any("DICTIONARY" in e for e in chunk.encodings):
                dictionary.append(chunk.path_in_schema)
    group_rows = max((meta.row_group(i).num_rows for i in range(meta.num_row_groups)), default=None)
    schema = original.schema_arrow
    with pq.ParquetWriter(
        where,
        schema,
        filesystem=filesystem,
        compression=codecs or "snappy",
        use_dictionary=dictionary,
        version=meta.format_version,
    ) as writer:
        writer.write_table(table.cast(schema), row_group_size=group_rows)


def fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def apply_mask(table: pa.Table, hit: pa.Array, op: EraseOp, probe: pa.Table) -> tuple[pa.Table, int]:
    """Overwrite the masked (or rewritten) fields of the rows `hit` selects; returns how many."""
    n = pc.sum(hit).as_py() or 0
    if not n:
        return table, 0
    if isinstance(op.action, Rewrite):
        return _apply_rewrite(table, hit, op.action, probe), n
    action: Mask = op.action
    for name, method in action.fields.items():
        if name not in table.column_names:
            continue
        j = table.schema.get_field_index(name)
        fld = table.schema.field(j)
        column = table[name].combine_chunks()
        plain = column.dictionary_decode() if pa.types.is_dictionary(column.type) else column
        text = pa.types.is_string(plain.type) or pa.types.is_large_string(plain.type)
        if method == "hash" and text:
            old = plain.filter(hit).to_pylist()
            new = pa.array([None if v is None else keyed_hash(action.hash_key, v) for v in old], plain.type)
        elif (method == "redact" or not fld.nullable) and text:
            new = pa.array([REDACTED] * n, plain.type)
        elif fld.nullable:
            new = pa.nulls(n, plain.type)
        else:
            raise StoreError(f"column {name} is not nullable and not text: it cannot be masked")
        masked = pc.replace_with_mask(plain, hit, new)
        if pa.types.is_dictionary(column.type):
            masked = pc.dictionary_encode(masked).cast(column.type)
        table = table.set_column(j, fld, masked)
    return table, n


def _apply_rewrite(table: pa.Table, hit: pa.Array, action: Rewrite, probe: pa.Table) -> pa.Table:
    key = [c for c in action.values.column_names if c not in action.fields]
    new_by_key = {tuple(str(row[c]) for c in key): row for row in action.values.to_pylist()}
    rows = probe.filter(hit).select(key).to_pylist()
    for name in action.fields:
        j = table.schema.get_field_index(name)
        values = [new_by_key.get(tuple(str(r[c]) for c in key), {}).get(name) for r in rows]
        column = table[name].combine_chunks()
        table = table.set_column(
            j, table.schema.field(j), pc.replace_with_mask(column, hit, pa.array(values, column.type))
        )
    return table
