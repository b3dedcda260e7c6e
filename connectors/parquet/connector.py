"""ParquetConnector: datasets of a lake on a local path or on S3, looked up and erased file by file.

A collection is a dataset: a directory of Parquet files under the store's root (Hive partition
directories such as `day=2024-01-01` become columns) or a single Parquet file. A lookup reads
the key columns of every row group first and the other columns only of the row groups that
matched. Erasure rewrites only the affected files, each into a hidden temporary file beside it
that then replaces the original (a rename on a local disk, a single PUT on S3), so every file
is at any moment either old or new; a re-run after a crash finishes the rest.
"""

from __future__ import annotations

import copy
import os
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ..base import (
    SOURCE,
    Chunk,
    CollectionInfo,
    Delete,
    EraseCount,
    EraseOp,
    Expiry,
    ExpiryCount,
    FieldInfo,
    Sample,
    Skipped,
    StoreError,
    StoreUnavailable,
)
from ..matching import by_collection, for_source, matches, none_of
from .expiry import ages_of, partition_match, selection, span
from .files import DatasetFile, dataset_files, dataset_schema, entries, open_filesystem, temporaries
from .reading import Conflict, ScanStats, conform, hits, open_file, scan_file, with_partitions
from .writing import TMP_PREFIX, apply_mask, fsync, original_of, temporary_for, write_like

PROBES = 20  # row groups read per sample
SIDE_FILE = "restricted.parquet"  # the one file of a restriction side table


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
        self.chunk: Chunk | None = None  # every file, or only one chunk's (`within`)

    def within(self, chunk: Chunk) -> ParquetConnector:
        """This lake, seeing only the files of `chunk` (by their path in their dataset)."""
        view = copy.copy(self)
        view.chunk, view.last_scan, view._schemas = chunk, ScanStats(), {}
        return view

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
        try:
            return entries(self.fs, self.root)
        except OSError as exc:
            raise self._fail("list datasets", exc) from None

    def files(self, collection: str) -> list[DatasetFile]:
        base = self._path(collection)
        try:
            found = dataset_files(self.fs, base)
        except OSError as exc:
            raise self._fail(f"list {collection}", exc) from None
        if found is None:
            raise StoreError(f"store {self.name}: collection {collection}: nothing at {base}")
        return found if self.chunk is None else [f for f in found if self.chunk.holds(f.source)]

    def schema(self, collection: str, files: Sequence[DatasetFile] | None = None) -> pa.Schema:
        """The dataset's schema: every file's columns (types widened where files differ) and partitions."""
        files = self.files(collection) if files is None else files
        signature = tuple((f.source, f.size) for f in files)
        cached = self._schemas.get(collection)
        if cached and cached[0] == signature:
            return cached[1]
        schema = dataset_schema(self.fs, files)
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
            return sum(pool.map(lambda f: open_file(self.fs, f).metadata.num_rows, files))

    # -- reading ----------------------------------------------------------------------------

    def find(self, collection: str, keys: Sequence[pa.Table]) -> Iterator[pa.RecordBatch | Skipped]:
        """Records matching any key table, in one pass over the dataset; `last_scan` says what was read."""
        files = self.files(collection)
        schema = self.schema(collection, files)
        stats = ScanStats(dataset_bytes=sum(f.size for f in files))
        with ThreadPoolExecutor(self.workers) as pool:
            for result in pool.map(lambda f: scan_file(self.fs, f, keys, schema, collection), files):
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
                meta = open_file(self.fs, f).metadata
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
                part = open_file(self.fs, f).read_row_group(i).slice(start, per)
                parts.append(conform(part, schema, f))
            except (OSError, pa.ArrowInvalid, Conflict):
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
            self._remove_temporaries(collection)
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
                except Conflict as exc:
                    for i in mine:
                        skipped[i].append(Skipped(collection, f.source, str(exc)))
                    continue
                except (OSError, pa.ArrowInvalid) as exc:
                    raise self._fail(f"rewrite a file of {collection}", exc) from None  # paths may hold ids
                for i, n in changed.items():
                    counts[i] += n
        return [EraseCount(counts[i], (), tuple(skipped[i])) for i in range(len(ops))]

    def _remove_temporaries(self, collection: str) -> None:
        """Temporaries a crashed erase left behind (their originals are intact); a chunk's own only, as
        another chunk may be writing its files now."""
        base = self._path(collection)
        for path in temporaries(self.fs, base, TMP_PREFIX):
            if self.chunk is None or self.chunk.holds(original_of(path)[len(base) + 1 :]):
                self.fs.delete_file(path)

    def _rewrite(
        self, f: DatasetFile, ops: dict[int, tuple[EraseOp, pa.Table]], collection: str, last: bool
    ) -> tuple[dict[int, int], bool]:
        """Apply the operations to one file: (records changed per operation, whether the file went).

        A file left without rows is removed, unless it is the collection's last: that one stays,
        empty, so the dataset and its schema still exist.
        """
        pf = open_file(self.fs, f)
        keys = [k for _, k in ops.values()]
        found, _, _ = hits(pf, f, keys, collection)
        if not found:
            return dict.fromkeys(ops, 0), False
        table = pf.read()
        names = [c for k in keys for c in k.column_names]
        probe = with_partitions(table, f, names)
        drop = none_of(table.num_rows)
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
                table, changed[i] = apply_mask(table, hit, op, probe)
        kept = table.filter(pc.invert(drop))
        if kept.num_rows == 0 and not last:
            self.fs.delete_file(f.path)
            return changed, True
        if any(changed.values()):
            self._write_like(pf, kept, f.path)
        return changed, False

    # -- restriction ------------------------------------------------------------------------

    def restrict(self, collection: str, keys: pa.Table, marker: str, on: bool) -> int:
        """Add `keys` to the side table at `marker` (or take them out); readers anti-join against it.

        The side table is one Parquet file, rewritten whole and swapped in.
        """
        current = self.restricted(collection, marker)
        keys = keys.cast(current.schema) if current.num_rows and keys.schema != current.schema else keys
        if on:
            added = keys.filter(pc.invert(matches(keys, current))) if current.num_rows else keys
            merged = pa.concat_tables([current, added]) if current.num_rows else added
            changed = added.num_rows
        else:
            gone = matches(current, keys) if current.num_rows else none_of(0)
            merged = current.filter(pc.invert(gone))
            changed = pc.sum(gone).as_py() or 0
        if changed:
            self.write_file(f"{marker.strip('/')}/{SIDE_FILE}", merged)
        return changed

    def restricted(self, collection: str, marker: str, keys: pa.Table | None = None) -> pa.Table:
        """The side table's keys (those of `keys`, when given); empty when there is none yet."""
        path = f"{self.root}/{marker.strip('/')}/{SIDE_FILE}"
        try:
            if self.fs.get_file_info(path).type == pafs.FileType.NotFound:
                return pa.table({}) if keys is None else keys.slice(0, 0)
            table = pq.read_table(path, filesystem=self.fs)
        except (OSError, pa.ArrowInvalid) as exc:
            raise self._fail(f"read the restriction side table of {collection}", exc) from None
        if keys is None:
            return table
        return (
            keys.filter(matches(keys, table.select(keys.column_names)))
            if table.num_rows
            else keys.slice(0, 0)
        )

    # -- retention --------------------------------------------------------------------------

    def expire(self, expiry: Expiry, dry_run: bool = False) -> ExpiryCount:
        """Remove (or mask) the records older than the cutoff, file by file.

        A file all of whose records expired, none kept, goes whole: a partition past its period is
        dropped without being read. A file with some expired records is rewritten like an erase
        does. Restriction in a lake is a side table of keys, so restricted records arrive in `keep`.
        """
        if expiry.age.modified or expiry.age.key_date:
            raise StoreError(f"store {self.name}: a lake's records age by a column or a partition value")
        files = self.files(expiry.collection)
        if not dry_run:
            self._remove_temporaries(expiry.collection)
        count = ExpiryCount()
        alive = len(files)
        for f in files:
            started = time.perf_counter()
            try:
                one, removed = self._expire_file(f, expiry, dry_run, last=alive == 1)
            except (OSError, pa.ArrowInvalid) as exc:
                raise self._fail(f"sweep a file of {expiry.collection}", exc) from None
            except StoreError as exc:
                raise StoreError(f"store {self.name}: {expiry.collection}: {exc}") from None
            alive -= removed
            if one.changed:
                one.batches = 1
                one.longest_batch = time.perf_counter() - started
            count.add(one)
        return count

    def _expire_file(
        self, f: DatasetFile, expiry: Expiry, dry_run: bool, last: bool
    ) -> tuple[ExpiryCount, bool]:
        pf = open_file(self.fs, f)
        bounds = span(pf, f, expiry.age)
        if bounds is not None and bounds[0] >= expiry.cutoff:
            return ExpiryCount(), False
        chosen = partition_match(f, list(expiry.only))
        if chosen is False:
            return ExpiryCount(), False
        # The whole file goes unread when its age says every record expired and the filter (a
        # tenant's) is decided by its partition values.
        every = expiry.age.ageless or (bounds is not None and bounds[1] < expiry.cutoff)
        selected = not expiry.only or chosen is True
        whole = (
            every and selected and not for_source(expiry.keep, f.source) and isinstance(expiry.action, Delete)
        )
        if whole:
            rows = pf.metadata.num_rows
            count = ExpiryCount(expired=rows, changed=0 if dry_run else rows)
            count.saw(list(bounds) if rows and bounds else [])
            if dry_run or not rows:
                return count, False
            if expiry.archive is not None:
                expiry.archive(pf.read())
            if last:
                self._write_like(pf, pf.schema_arrow.empty_table(), f.path)
                return count, False
            self.fs.delete_file(f.path)
            count.partitions_dropped = 1
            return count, True
        table = pf.read()
        expired, kept = selection(table, f, expiry)
        going = pc.and_(expired, pc.invert(kept))
        n = pc.sum(going).as_py() or 0
        count = ExpiryCount(expired=pc.sum(expired).as_py() or 0, kept=pc.sum(kept).as_py() or 0)
        count.saw(ages_of(table, f, expiry.age, going))
        if dry_run or not n:
            return count, False
        if expiry.archive is not None:
            expiry.archive(table.filter(going))
        if isinstance(expiry.action, Delete):
            table = table.filter(pc.invert(going))
        else:
            table, _ = apply_mask(
                table, going, EraseOp(expiry.collection, pa.table({}), expiry.action), table
            )
        count.changed = n
        if table.num_rows == 0 and not last:
            self.fs.delete_file(f.path)
            return count, True
        self._write_like(pf, table, f.path)
        return count, False

    def read_bytes(self, relative: str) -> bytes:
        """An opaque file under the root (an encrypted archive)."""
        try:
            with self.fs.open_input_file(f"{self.root}/{relative}") as f:
                return f.read()
        except OSError as exc:
            raise self._fail("read an archive file", exc) from None

    def write_bytes(self, relative: str, data: bytes) -> None:
        """Write an opaque file under the root (an encrypted archive): to a temporary, then swapped in."""
        path = f"{self.root}/{relative}"
        temporary = temporary_for(path)
        try:
            self.fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
            with self.fs.open_output_stream(temporary) as out:
                out.write(data)
            if isinstance(self.fs, pafs.LocalFileSystem):
                fsync(temporary)
            self._replace(temporary, path)
        except OSError as exc:
            raise self._fail("write an archive file", exc) from None

    def remove(self, relative: str) -> bool:
        """Delete a file under the root; False when it was already gone."""
        path = f"{self.root}/{relative}"
        try:
            if self.fs.get_file_info(path).type == pafs.FileType.NotFound:
                return False
            self.fs.delete_file(path)
        except OSError as exc:
            raise self._fail("delete an archive file", exc) from None
        return True

    def write_file(self, relative: str, table: pa.Table) -> None:
        """Write a new file under the root (an archive's batch): to a temporary, then swapped in."""
        path = f"{self.root}/{relative}"
        temporary = temporary_for(path)
        try:
            self.fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
            pq.write_table(table, temporary, filesystem=self.fs, compression="zstd")
            if isinstance(self.fs, pafs.LocalFileSystem):
                fsync(temporary)
            self._replace(temporary, path)
        except (OSError, pa.ArrowInvalid) as exc:
            raise self._fail("write an archive file", exc) from None

    def _write_like(self, original: pq.ParquetFile, table: pa.Table, path: str) -> None:
        """Write `table` like `original` into a temporary beside it, durable, then swap it in."""
        temporary = temporary_for(path)
        write_like(original, table, temporary, self.fs)
        if isinstance(self.fs, pafs.LocalFileSystem):
            fsync(temporary)  # durable before it replaces the original
        self._replace(temporary, path)

    def _replace(self, temporary: str, path: str) -> None:
        """Swap the rewritten file in: an atomic rename locally, one whole-object copy on S3."""
        self.fs.move(temporary, path)
