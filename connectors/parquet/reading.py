"""Reading a lake's files for a lookup: key columns first, the rest only where a row group matched."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ..base import RECORD, SOURCE, Skipped
from ..matching import for_source, matches_any
from .files import DatasetFile

# A text column whose dictionary page is this small a share of its chunk is truly dictionary-encoded
# (a writer that gave up on the dictionary leaves a large one): read it as indices, not strings.
DICTIONARY_SHARE = 0.05


@dataclass
class ScanStats:
    """What the last `find` read: bytes are the compressed column chunks fetched, from the footers."""

    files: int = 0
    files_matched: int = 0
    row_groups: int = 0
    row_groups_matched: int = 0
    rows: int = 0
    bytes_read: int = 0
    dataset_bytes: int = 0

    def add(self, other: ScanStats) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class FileScan:
    items: list = field(default_factory=list)  # record batches and Skipped
    stats: ScanStats = field(default_factory=ScanStats)


class Conflict(Exception):
    def __init__(self, column: str, here: pa.DataType, there: pa.DataType):
        super().__init__(f"column {column} is {here} in this file but {there} in the dataset")


def column_bytes(row_group: pq.RowGroupMetaData, names: set[str]) -> int:
    total = 0
    for j in range(row_group.num_columns):
        chunk = row_group.column(j)
        if chunk.path_in_schema.split(".")[0] in names:
            total += chunk.total_compressed_size
    return total


def dictionary_columns(meta: pq.FileMetaData) -> list[str]:
    """Top-level text columns that are dictionary-encoded in every row group."""
    out = None
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        here = set()
        for j in range(group.num_columns):
            chunk = group.column(j)
            text = chunk.physical_type == "BYTE_ARRAY" and "." not in chunk.path_in_schema
            if not text or not chunk.has_dictionary_page:
                continue
            dictionary = chunk.data_page_offset - chunk.dictionary_page_offset
            if 0 < dictionary < DICTIONARY_SHARE * chunk.total_compressed_size:
                here.add(chunk.path_in_schema)
        out = here if out is None else out & here
    return sorted(out or ())


def open_file(fs: pafs.FileSystem, f: DatasetFile, like: pq.ParquetFile | None = None) -> pq.ParquetFile:
    """The file; given the file opened `like` this before, with its dictionary columns read as such."""
    if like is None:
        return pq.ParquetFile(fs.open_input_file(f.path), pre_buffer=True)
    return pq.ParquetFile(
        fs.open_input_file(f.path),
        pre_buffer=True,
        metadata=like.metadata,
        read_dictionary=dictionary_columns(like.metadata),
    )


def conform(table: pa.Table, schema: pa.Schema, f: DatasetFile) -> pa.Table:
    """`table` in the dataset's schema: missing columns null, partition values filled in."""
    parts = dict(f.partitions)
    arrays = []
    for fld in schema:
        if fld.name in table.column_names:
            column = table[fld.name]
            if column.type != fld.type:
                try:
                    column = pc.cast(column, fld.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    raise Conflict(fld.name, column.type, fld.type) from None
            arrays.append(column)
        elif fld.name in parts:
            arrays.append(pa.array([parts[fld.name]] * table.num_rows, fld.type))
        else:
            arrays.append(pa.nulls(table.num_rows, fld.type))
    return pa.table(arrays, schema=schema)


def with_partitions(table: pa.Table, f: DatasetFile, names: Sequence[str]) -> pa.Table:
    """`table` with the file's partition values as columns, for those of `names` it lacks."""
    for key, value in f.partitions:
        if key in names and key not in table.column_names:
            table = table.append_column(key, pa.array([value] * table.num_rows, pa.string()))
    return table


def hits(
    pf: pq.ParquetFile, f: DatasetFile, keys: Sequence[pa.Table], collection: str
) -> tuple[list[tuple[int, pa.Array, pa.Table]], ScanStats, Skipped | None]:
    """Row groups with matches: (index, positions, key columns). Reads the key columns only.

    A key table naming a column the file lacks cannot be checked there: the file is reported.
    """
    stats = ScanStats(files=1)
    names = set(pf.schema_arrow.names)
    parts = {k for k, _ in f.partitions}
    usable, missing = [], set()
    for k in keys:
        absent = [c for c in k.column_names if c not in names and c not in parts]
        missing.update(absent)
        if not absent:
            usable.append(k)
    skipped = None
    if missing:
        reason = f"no column {', '.join(sorted(missing))} in this file (the dataset's schema changed)"
        skipped = Skipped(collection, f.source, reason)
    read = sorted({c for k in usable for c in k.column_names if c in names})
    wanted = [c for k in usable for c in k.column_names]
    found = []
    for i in range(pf.metadata.num_row_groups if usable else 0):
        group = pf.metadata.row_group(i)
        if read:  # one file per thread: the file's own decoding stays single-threaded
            columns = pf.read_row_group(i, columns=read, use_threads=False)
        else:
            columns = pa.table({"_": pa.nulls(group.num_rows)})
        positions = pc.indices_nonzero(matches_any(with_partitions(columns, f, wanted), usable))
        stats.row_groups += 1
        stats.rows += group.num_rows
        stats.bytes_read += column_bytes(group, set(read))
        if len(positions):
            stats.row_groups_matched += 1
            found.append((i, positions, columns.select(read)))
    stats.files_matched = int(bool(found))
    return found, stats, skipped


def scan_file(
    fs: pafs.FileSystem, f: DatasetFile, keys: Sequence[pa.Table], schema: pa.Schema, collection: str
) -> FileScan:
    """One file's records matching any key table, in the dataset's schema with `_source` and `_record`."""
    out = FileScan()
    mine = for_source(keys, f.source)
    if not mine:
        return out
    try:
        pf = open_file(fs, f)
        found, out.stats, skipped = hits(pf, f, mine, collection)
        if skipped:
            out.items.append(skipped)
        offsets = [0]
        for i in range(pf.metadata.num_row_groups):
            offsets.append(offsets[-1] + pf.metadata.row_group(i).num_rows)
        full = open_file(fs, f, like=pf) if found else pf
        for i, positions, key_columns in found:
            rest = [n for n in pf.schema_arrow.names if n not in key_columns.column_names]
            other = full.read_row_group(i, columns=rest, use_threads=False).take(positions) if rest else None
            out.stats.bytes_read += column_bytes(pf.metadata.row_group(i), set(rest))
            if key_columns.num_columns == 0:  # matched on partition values alone
                rows = other if other is not None else pa.table({})
            else:
                rows = key_columns.take(positions)
                for name in other.column_names if other is not None else ():
                    rows = rows.append_column(name, other[name])
            rows = conform(rows, schema, f)
            rows = rows.append_column(SOURCE, pa.array([f.source] * rows.num_rows, pa.string()))
            rows = rows.append_column(RECORD, pc.add(positions, offsets[i]).cast(pa.int64()))
            out.items.extend(rows.to_batches())
    except Conflict as exc:
        out.items = [Skipped(collection, f.source, str(exc))]
    except (OSError, pa.ArrowInvalid) as exc:
        out.items = [Skipped(collection, f.source, f"unreadable Parquet file ({exc.__class__.__name__})")]
    return out
