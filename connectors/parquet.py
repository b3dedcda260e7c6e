"""Parquet lakes through pyarrow: datasets on a local path or on S3, flat or Hive-partitioned.

A collection is a dataset: a directory of Parquet files under the store's root (Hive partition
directories such as `day=2024-01-01` become columns) or a single Parquet file. A lookup reads
the key columns of every row group first and the other columns only of the row groups that
matched. Erasure rewrites only the affected files, each into a hidden temporary file beside it
that then replaces the original (a rename on a local disk, a single PUT on S3), so every file
is at any moment either old or new; a re-run after a crash finishes the rest.
"""

from __future__ import annotations

import os
import random
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from .base import (
    RECORD,
    REDACTED,
    SOURCE,
    CollectionInfo,
    Delete,
    EraseCount,
    EraseOp,
    FieldInfo,
    Mask,
    Rewrite,
    Sample,
    Skipped,
    StoreError,
    StoreUnavailable,
    keyed_hash,
)
from .matching import by_collection, for_source, matches, matches_any

TMP_PREFIX = ".dsr-tmp-"
PROBES = 20  # row groups read per sample
# A text column whose dictionary page is this small a share of its chunk is truly dictionary-encoded
# (a writer that gave up on the dictionary leaves a large one): read it as indices, not strings.
DICTIONARY_SHARE = 0.05
_CODECS = {"UNCOMPRESSED": "none", "LZ4_RAW": "lz4", "LZ4": "lz4"}


@dataclass(frozen=True)
class DatasetFile:
    path: str  # on the store's filesystem
    source: str  # relative to the collection: what records carry as `_source`
    partitions: tuple[tuple[str, str], ...]
    size: int


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
class _FileScan:
    items: list = field(default_factory=list)  # record batches and Skipped
    stats: ScanStats = field(default_factory=ScanStats)


class _Conflict(Exception):
    def __init__(self, column: str, here: pa.DataType, there: pa.DataType):
        super().__init__(f"column {column} is {here} in this file but {there} in the dataset")


def open_filesystem(
    url: str,
    endpoint_url: str | None = None,
    region: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
) -> tuple[pafs.FileSystem, str]:
    """The filesystem and root path of `s3://bucket/prefix`, `file:///path` or a local path."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "s3":
        options: dict = {"region": region or "us-east-1"}
        if endpoint_url:
            endpoint = urllib.parse.urlparse(endpoint_url)
            options |= {
                "endpoint_override": endpoint.netloc or endpoint_url,
                "scheme": endpoint.scheme or "https",
            }
        if access_key and secret_key:
            options |= {"access_key": access_key, "secret_key": secret_key}
        return pafs.S3FileSystem(**options), f"{parsed.netloc}{parsed.path}".rstrip("/")
    path = parsed.path if parsed.scheme == "file" else url
    return pafs.LocalFileSystem(), os.path.abspath(path)


def _ignored(relative: str) -> bool:
    return any(part.startswith((".", "_")) for part in relative.split("/"))


def _partitions(relative: str) -> tuple[tuple[str, str], ...]:
    out = []
    for part in relative.split("/")[:-1]:
        key, sep, value = part.partition("=")
        if sep:
            out.append((urllib.parse.unquote(key), urllib.parse.unquote(value)))
    return tuple(out)


def _column_bytes(row_group: pq.RowGroupMetaData, names: set[str]) -> int:
    total = 0
    for j in range(row_group.num_columns):
        chunk = row_group.column(j)
        if chunk.path_in_schema.split(".")[0] in names:
            total += chunk.total_compressed_size
    return total


class ParquetConnector:
    """Parquet datasets under one root. `layouts` maps collection names to paths under it."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        layouts: Mapping[str, Mapping[str, str]] | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        workers: int | None = None,
    ):
        self.name = name
        self.fs, self.root = open_filesystem(url, endpoint_url, region, access_key, secret_key)
        self.layouts = {c: dict(layout) for c, layout in (layouts or {}).items()}
        # Files are decoded one per thread, single-threaded each: twice the cores keeps them busy.
        self.workers = workers or 2 * (os.cpu_count() or 2)
        self.last_scan = ScanStats()
        self._schemas: dict[str, tuple[tuple, pa.Schema]] = {}

    def close(self) -> None:
        pass

    def _fail(self, what: str, exc: Exception) -> StoreError:
        cls = StoreUnavailable if isinstance(exc, OSError) else StoreError
        return cls(f"store {self.name}: {what}: {exc.__class__.__name__}")

    def ping(self) -> None:
        try:
            info = self.fs.get_file_info(self.root)
        except OSError as exc:
            raise self._fail(f"reach {self.root}", exc) from None
        if info.type != pafs.FileType.Directory:
            raise StoreUnavailable(f"store {self.name}: {self.root} is not a directory")

    # -- datasets ---------------------------------------------------------------------------

    def _path(self, collection: str) -> str:
        layout = self.layouts.get(collection)
        if layout is not None:
            return f"{self.root}/{layout.get('path') or collection}".rstrip("/")
        for entry in self._entries():
            if entry[0] == collection:
                return entry[1]
        raise StoreError(f"store {self.name}: no dataset {collection} under {self.root}")

    def _entries(self) -> list[tuple[str, str]]:
        """(collection, path) of every dataset directly under the root: directories and .parquet files."""
        try:
            infos = self.fs.get_file_info(pafs.FileSelector(self.root, recursive=False))
        except OSError as exc:
            raise self._fail("list datasets", exc) from None
        out = []
        for info in sorted(infos, key=lambda i: i.path):
            if _ignored(info.base_name):
                continue
            if info.type == pafs.FileType.Directory:
                out.append((info.base_name, info.path))
            elif info.base_name.endswith(".parquet"):
                out.append((info.base_name.removesuffix(".parquet"), info.path))
        return out

    def files(self, collection: str) -> list[DatasetFile]:
        base = self._path(collection)
        try:
            info = self.fs.get_file_info(base)
            if info.type == pafs.FileType.File:
                return [DatasetFile(base, info.base_name, (), info.size)]
            if info.type != pafs.FileType.Directory:
                raise StoreError(f"store {self.name}: collection {collection}: nothing at {base}")
            listing = self.fs.get_file_info(pafs.FileSelector(base, recursive=True))
        except OSError as exc:
            raise self._fail(f"list {collection}", exc) from None
        out = []
        for item in listing:
            relative = item.path[len(base) + 1 :]
            parquet = item.type == pafs.FileType.File and item.path.endswith((".parquet", ".parq"))
            if parquet and not _ignored(relative):
                out.append(DatasetFile(item.path, relative, _partitions(relative), item.size))
        return sorted(out, key=lambda f: f.source)

    def _open(self, f: DatasetFile, like: pq.ParquetFile | None = None) -> pq.ParquetFile:
        """The file; given the file opened `like` this before, with its dictionary columns read as such."""
        if like is None:
            return pq.ParquetFile(self.fs.open_input_file(f.path), pre_buffer=True)
        return pq.ParquetFile(
            self.fs.open_input_file(f.path),
            pre_buffer=True,
            metadata=like.metadata,
            read_dictionary=_dictionary_columns(like.metadata),
        )

    def schema(self, collection: str, files: Sequence[DatasetFile] | None = None) -> pa.Schema:
        """The dataset's schema: every file's columns (types widened where files differ) and partitions."""
        files = self.files(collection) if files is None else files
        signature = tuple((f.source, f.size) for f in files)
        cached = self._schemas.get(collection)
        if cached and cached[0] == signature:
            return cached[1]
        fields: dict[str, pa.Field] = {}
        for f in files:
            try:
                schema = pq.read_schema(self.fs.open_input_file(f.path))
            except (OSError, pa.ArrowInvalid):
                continue  # reported per file when it is read
            for fld in schema:
                known = fields.get(fld.name)
                if known is None:
                    fields[fld.name] = fld
                elif known.type != fld.type:
                    try:
                        merged = pa.unify_schemas(
                            [pa.schema([known]), pa.schema([fld])], promote_options="permissive"
                        )
                        fields[fld.name] = merged.field(0)
                    except (pa.ArrowInvalid, pa.ArrowTypeError):
                        pass  # the first type stays; files with the other are reported when read
        for f in files:
            for key, _ in f.partitions:
                fields.setdefault(key, pa.field(key, pa.string()))
        schema = pa.schema(list(fields.values()))
        self._schemas[collection] = (signature, schema)
        return schema

    def collections(self) -> list[CollectionInfo]:
        names = dict.fromkeys(self.layouts)
        for name, _ in self._entries():
            names.setdefault(name)
        out = []
        for name in names:
            schema = self.schema(name)
            fields = tuple(
                FieldInfo(
                    f.name,
                    str(f.type),
                    f.nullable,
                    pa.types.is_string(f.type) or pa.types.is_large_string(f.type),
                )
                for f in schema
            )
            path = self.layouts.get(name, {}).get("path") or name
            out.append(CollectionInfo(name, fields, (), (), {"path": path}))
        return out

    def count(self, collection: str) -> int:
        files = self.files(collection)
        with ThreadPoolExecutor(self.workers) as pool:
            return sum(pool.map(lambda f: self._open(f).metadata.num_rows, files))

    # -- reading ----------------------------------------------------------------------------

    @staticmethod
    def _conform(table: pa.Table, schema: pa.Schema, f: DatasetFile) -> pa.Table:
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
                        raise _Conflict(fld.name, column.type, fld.type) from None
                arrays.append(column)
            elif fld.name in parts:
                arrays.append(pa.array([parts[fld.name]] * table.num_rows, fld.type))
            else:
                arrays.append(pa.nulls(table.num_rows, fld.type))
        return pa.table(arrays, schema=schema)

    @staticmethod
    def _with_partitions(table: pa.Table, f: DatasetFile, names: Sequence[str]) -> pa.Table:
        for key, value in f.partitions:
            if key in names and key not in table.column_names:
                table = table.append_column(key, pa.array([value] * table.num_rows, pa.string()))
        return table

    def _hits(
        self, pf: pq.ParquetFile, f: DatasetFile, keys: Sequence[pa.Table], collection: str
    ) -> tuple[list[tuple[int, pa.Array, pa.Table]], ScanStats, Skipped | None]:
        """Row groups with matches: (index, positions, key columns). Reads the key columns only."""
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
        found = []
        if usable:
            meta = pf.metadata
            for i in range(meta.num_row_groups):
                group = meta.row_group(i)
                columns = (
                    pf.read_row_group(i, columns=read) if read else pa.table({"_": [None] * group.num_rows})
                )
                columns = self._with_partitions(columns, f, [c for k in usable for c in k.column_names])
                positions = pc.indices_nonzero(matches_any(columns, usable))
                stats.row_groups += 1
                stats.rows += group.num_rows
                stats.bytes_read += _column_bytes(group, set(read))
                if len(positions):
                    stats.row_groups_matched += 1
                    found.append((i, positions, columns.select([c for c in read])))
        stats.files_matched = int(bool(found))
        return found, stats, skipped

    def _scan(
        self, f: DatasetFile, keys: Sequence[pa.Table], schema: pa.Schema, collection: str
    ) -> _FileScan:
        out = _FileScan()
        mine = for_source(keys, f.source)
        if not mine:
            return out
        try:
            pf = self._open(f)
            found, out.stats, skipped = self._hits(pf, f, mine, collection)
            if skipped:
                out.items.append(skipped)
            offsets = [0]
            for i in range(pf.metadata.num_row_groups):
                offsets.append(offsets[-1] + pf.metadata.row_group(i).num_rows)
            full = self._open(f, like=pf) if found else pf
            for i, positions, key_columns in found:
                rest = [n for n in pf.schema_arrow.names if n not in key_columns.column_names]
                other = (
                    full.read_row_group(i, columns=rest, use_threads=False).take(positions) if rest else None
                )
                out.stats.bytes_read += _column_bytes(pf.metadata.row_group(i), set(rest))
                if key_columns.num_columns == 0:  # matched on partition values alone
                    rows = other if other is not None else pa.table({})
                else:
                    rows = key_columns.take(positions)
                    for name in other.column_names if other is not None else ():
                        rows = rows.append_column(name, other[name])
                rows = self._conform(rows, schema, f)
                rows = rows.append_column(SOURCE, pa.array([f.source] * rows.num_rows, pa.string()))
                rows = rows.append_column(RECORD, pc.add(positions, offsets[i]).cast(pa.int64()))
                out.items.extend(rows.to_batches())
        except _Conflict as exc:
            out.items = [Skipped(collection, f.source, str(exc))]
        except (OSError, pa.ArrowInvalid) as exc:
            out.items = [Skipped(collection, f.source, f"unreadable Parquet file ({exc.__class__.__name__})")]
        return out

    def find(self, collection: str, keys: Sequence[pa.Table]) -> Iterator[pa.RecordBatch | Skipped]:
        """Records matching any key table, in one pass over the dataset; `last_scan` says what was read."""
        files = self.files(collection)
        schema = self.schema(collection, files)
        stats = ScanStats(dataset_bytes=sum(f.size for f in files))
        with ThreadPoolExecutor(self.workers) as pool:
            for result in pool.map(lambda f: self._scan(f, keys, schema, collection), files):
                stats.add(result.stats)
                yield from result.items
        self.last_scan = stats

    def sample(self, collection: str, n: int, max_chars: int) -> Sample:
        """Rows from up to PROBES row groups chosen at seeded random over the dataset's files."""
        files = self.files(collection)
        schema = self.schema(collection, files)
        groups = []
        for f in files:
            try:
                meta = self._open(f).metadata
            except (OSError, pa.ArrowInvalid):
                continue
            groups += [(f, i, meta.row_group(i).num_rows) for i in range(meta.num_row_groups)]
        rng = random.Random(f"{self.name}/{collection}")
        chosen = sorted(rng.sample(groups, min(PROBES, len(groups))), key=lambda g: (g[0].source, g[1]))
        per = -(-n // max(len(chosen), 1))
        parts = []
        for f, i, rows in chosen:
            start = rng.randrange(max(rows - per, 0) + 1)
            try:
                part = self._open(f).read_row_group(i).slice(start, per)
                parts.append(self._conform(part, schema, f))
            except (OSError, pa.ArrowInvalid, _Conflict):
                continue
        table = pa.concat_tables(parts).slice(0, n) if parts else schema.empty_table()
        for j, fld in enumerate(table.schema):
            if pa.types.is_string(fld.type) or pa.types.is_large_string(fld.type):
                table = table.set_column(j, fld.name, pc.utf8_slice_codeunits(table[fld.name], 0, max_chars))
        whole = len(chosen) == len(groups) and all(rows <= per for _, _, rows in chosen)
        return Sample(table, "all" if whole else f"spread over {len(chosen)} of {len(groups)} row groups")

    # -- erasure ----------------------------------------------------------------------------

    def erase(self, ops: Sequence[EraseOp]) -> list[EraseCount]:
        """Rewrite each affected file once for all operations on it; files are swapped in whole."""
        counts = [0] * len(ops)
        skipped: list[list[Skipped]] = [[] for _ in ops]
        for collection, indices in by_collection(ops).items():
            files = self.files(collection)
            self._remove_temporaries(files, collection)
            present = {f.source for f in files}
            # An op naming files that are gone (compacted since the lookup) searches every file.
            restrict = [
                SOURCE not in ops[i].keys.column_names or set(ops[i].keys[SOURCE].to_pylist()) <= present
                for i in indices
            ]
            alive = len(files)
            for f in files:
                mine = {}
                for i, narrow in zip(indices, restrict, strict=True):
                    keys = for_source([ops[i].keys], f.source, narrow)
                    if keys:
                        mine[i] = keys[0]
                if not mine:
                    continue
                try:
                    changed, removed = self._rewrite(
                        f, {i: (ops[i], k) for i, k in mine.items()}, collection, last=alive == 1
                    )
                    alive -= removed
                except _Conflict as exc:
                    for i in mine:
                        skipped[i].append(Skipped(collection, f.source, str(exc)))
                    continue
                except (OSError, pa.ArrowInvalid) as exc:
                    raise self._fail(f"rewrite {collection}/{f.source}", exc) from None
                for i, n in changed.items():
                    counts[i] += n
        return [EraseCount(counts[i], (), tuple(skipped[i])) for i in range(len(ops))]

    def _remove_temporaries(self, files: Sequence[DatasetFile], collection: str) -> None:
        """Temporaries a crashed erase left behind (their originals are intact)."""
        base = self._path(collection)
        try:
            listing = self.fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
        except OSError:
            return
        for item in listing:
            if item.type == pafs.FileType.File and item.base_name.startswith(TMP_PREFIX):
                self.fs.delete_file(item.path)

    def _rewrite(
        self, f: DatasetFile, ops: dict[int, tuple[EraseOp, pa.Table]], collection: str, last: bool
    ) -> tuple[dict[int, int], bool]:
        """Apply the operations to one file: (records changed per operation, whether the file went).

        A file left without rows is removed, unless it is the collection's last: that one stays,
        empty, so the dataset and its schema still exist.
        """
        pf = self._open(f)
        keys = [k for _, k in ops.values()]
        found, _, _ = self._hits(pf, f, keys, collection)
        if not found:
            return dict.fromkeys(ops, 0), False
        table = pf.read()
        names = [c for k in keys for c in k.column_names]
        probe = self._with_partitions(table, f, names)
        drop = pa.array([False] * table.num_rows)
        changed: dict[int, int] = {}
        for i, (op, k) in ops.items():
            if not all(c in probe.column_names for c in k.column_names):
                changed[i] = 0
                continue
            hit = matches(probe, k)
            if isinstance(op.action, Delete):
                changed[i] = pc.sum(pc.and_(hit, pc.invert(drop))).as_py() or 0
                drop = pc.or_(drop, hit)
            else:
                table, changed[i] = _apply_mask(table, hit, op, probe)
        kept = table.filter(pc.invert(drop))
        if kept.num_rows == 0 and not last:
            self.fs.delete_file(f.path)
            return changed, True
        if any(changed.values()):
            self._write_like(pf, kept, f.path)
        return changed, False

    def _write_like(self, original: pq.ParquetFile, table: pa.Table, path: str) -> None:
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
        folder, _, base = path.rpartition("/")
        temporary = f"{folder}/{TMP_PREFIX}{uuid.uuid4().hex[:8]}-{base}"
        schema = original.schema_arrow
        with pq.ParquetWriter(
            temporary,
            schema,
            filesystem=self.fs,
            compression=codecs or "snappy",
            use_dictionary=dictionary,
            version=meta.format_version,
        ) as writer:
            writer.write_table(table.cast(schema), row_group_size=group_rows)
        if isinstance(self.fs, pafs.LocalFileSystem):
            _fsync(temporary)  # durable before it replaces the original
        self._replace(temporary, path)

    def _replace(self, temporary: str, path: str) -> None:
        """Swap the rewritten file in: an atomic rename locally, one whole-object copy on S3."""
        self.fs.move(temporary, path)


def _dictionary_columns(meta: pq.FileMetaData) -> list[str]:
    """Top-level text columns that are dictionary-encoded in every row group."""
    out = None
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        here = set()
        for j in range(group.num_columns):
            chunk = group.column(j)
            if (
                chunk.physical_type != "BYTE_ARRAY"
                or not chunk.has_dictionary_page
                or "." in chunk.path_in_schema
            ):
                continue
            dictionary = chunk.data_page_offset - chunk.dictionary_page_offset
            if 0 < dictionary < DICTIONARY_SHARE * chunk.total_compressed_size:
                here.add(chunk.path_in_schema)
        out = here if out is None else out & here
    return sorted(out or ())


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _apply_mask(table: pa.Table, hit: pa.Array, op: EraseOp, probe: pa.Table) -> tuple[pa.Table, int]:
    """Overwrite the masked (or rewritten) fields of the rows `hit` selects."""
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
        table = table.set_column(
            j,
            table.schema.field(j),
            pc.replace_with_mask(table[name].combine_chunks(), hit, pa.array(values, table[name].type)),
        )
    return table
