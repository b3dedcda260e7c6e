"""S3Connector: collections of objects in one bucket, looked up and erased in passes.

A lookup fetches a collection's objects in parallel and reads each once for every subject of
the batch (`records.read`). Erasure rewrites each affected object once for all operations on
it, without the subjects' records (or deletes it when nothing else is left), and replaces it
only if it is still the version that was read (If-Match on its ETag; on a change it reads
again, up to ATTEMPTS times). In a versioned bucket every older version that held a subject is
deleted too. A bucket that disappears mid-run is reported per object, not as a failure.
"""

from __future__ import annotations

import copy
import hashlib
import io
import random
import re
import threading
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from ..base import (
    RECORD,
    SOURCE,
    Chunk,
    CollectionInfo,
    Delete,
    EraseCount,
    EraseOp,
    Expiry,
    ExpiryCount,
    FieldInfo,
    Mask,
    Sample,
    Skipped,
    StoreError,
    StoreUnavailable,
)
from ..matching import by_collection, for_source, key_text, matches_any
from . import expiry as expiry_module
from . import records, tags
from .bucket import Body, Bucket, BucketGone, Changed, ObjectInfo, client_for
from .formats import Document, FormatError, detect, encode, records_table
from .layout import ObjectLayout
from .textsearch import TextSearch

WORKERS = 16  # objects fetched at once: S3 latency, not CPU, bounds a pass
ATTEMPTS = 5  # reads of an object that keeps changing while it is being erased
SAMPLE_OBJECTS = 20
GONE = "the bucket no longer exists"


class S3Connector:
    """One bucket (and optional root prefix); `layouts` maps collection names to their layout."""

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
        client=None,
        workers: int = WORKERS,
        attempts: int = ATTEMPTS,
    ):
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise StoreError(f"store {name}: url must look like s3://bucket or s3://bucket/prefix")
        self.name = name
        self.root = parsed.path.strip("/") + "/" if parsed.path.strip("/") else ""
        self.layouts = {c: ObjectLayout.of(spec, c) for c, spec in (layouts or {}).items()}
        self.workers = workers
        self.attempts = attempts
        client = client or client_for(endpoint_url, region, access_key, secret_key, workers)
        self.bucket = Bucket(name, parsed.netloc, client)
        self._collections: list[CollectionInfo] | None = None
        self._misses = Misses()
        self._kept = Kept()
        self.chunk: Chunk | None = None  # every object, or only one chunk's (`within`)

    def close(self) -> None:
        self.bucket.client.close()

    def ping(self) -> None:
        self.bucket.ping()

    # -- collections --------------------------------------------------------------------------

    def layout(self, collection: str) -> ObjectLayout:
        layout = self.layouts.get(collection) or self._discovered().get(collection)
        if layout is None:
            raise StoreError(
                f"store {self.name}: no collection {collection} (not in the datamap, no such prefix)"
            )
        return layout

    def _discovered(self) -> dict[str, ObjectLayout]:
        """Top-level prefixes no declared collection covers: what discovery looks at."""
        declared = [self.root + layout.prefix for layout in self.layouts.values()]
        out = {}
        for prefix in self.bucket.prefixes(self.root):
            if any(prefix.startswith(d) or d.startswith(prefix) for d in declared):
                continue
            relative = prefix[len(self.root) :]
            out[re.sub(r"[^A-Za-z0-9_]", "_", relative.strip("/"))] = ObjectLayout(relative, "auto")
        return out

    def collections(self) -> list[CollectionInfo]:
        """Declared and discovered collections, fields from sampled objects; computed once."""
        if self._collections is None:
            self._collections = []
            for name, layout in {**self.layouts, **self._discovered()}.items():
                schema = self.sample(name, 200, 200).rows.schema
                fields = tuple(
                    FieldInfo(f.name, str(f.type), True, pa.types.is_string(f.type)) for f in schema
                )
                self._collections.append(CollectionInfo(name, fields, (), (), layout.spec()))
        return self._collections

    def objects(self, layout: ObjectLayout) -> list[ObjectInfo]:
        listed = self.bucket.objects(self.root + layout.prefix)
        return [o for o in listed if self.chunk is None or self.chunk.holds(o.key)]

    def within(self, chunk: Chunk) -> S3Connector:
        """This bucket, seeing only the objects of `chunk` (by their key)."""
        view = copy.copy(self)
        view.chunk = chunk
        return view

    def keyed(self, layout: ObjectLayout, objects: Sequence[ObjectInfo]) -> pa.Table:
        """Per object under a key pattern: its key, size, time and the placeholder values in its key."""
        regex = layout.key_regex(self.root)
        names = layout.placeholders()
        rows = []
        for obj in objects:
            m = regex.match(obj.key)
            if m:
                placeholders = {n: m.group(n) for n in names}
                rows.append(
                    {**placeholders, SOURCE: obj.key, "size": obj.size, "last_modified": obj.last_modified}
                )
        schema = pa.schema(
            [
                *[(n, pa.string()) for n in names],
                (SOURCE, pa.string()),
                ("size", pa.int64()),
                ("last_modified", pa.timestamp("us", tz="UTC")),
            ]
        )
        return pa.Table.from_pylist(rows, schema=schema)

    def _document(self, key: str, layout: ObjectLayout) -> Document | None:
        """The parsed object, or None if it is gone or cannot be read."""
        body = self.bucket.get(key)
        fmt = detect(key, layout.format)
        if body is None or fmt is None:
            return None
        try:
            return records.parse_object(fmt, body.data)[0]
        except FormatError:
            return None

    def count(self, collection: str) -> int:
        """Records in the collection (objects, under a key pattern): a full pass, so only the guard asks."""
        layout = self.layout(collection)
        objects = self.objects(layout)
        if layout.key_pattern:
            return self.keyed(layout, objects).num_rows

        def count_one(obj: ObjectInfo) -> int:
            doc = self._document(obj.key, layout)
            return len(doc.records) if doc else 0

        with ThreadPoolExecutor(self.workers) as pool:
            return sum(pool.map(count_one, objects))

    def sample(self, collection: str, n: int, max_chars: int) -> Sample:
        """Records from up to SAMPLE_OBJECTS objects chosen at seeded random, parsed per format."""
        layout = self.layout(collection)
        try:
            objects = self.objects(layout)
        except BucketGone:
            raise StoreError(f"store {self.name}: bucket {self.bucket.name} does not exist") from None
        if layout.key_pattern:
            return Sample(self.keyed(layout, objects).drop_columns([SOURCE]).slice(0, n), "keys")
        rng = random.Random(f"{self.name}/{collection}")
        chosen = sorted(rng.sample(objects, min(SAMPLE_OBJECTS, len(objects))), key=lambda o: o.key)
        rows: list[dict] = []
        read = 0
        for obj in chosen:
            doc = self._document(obj.key, layout)
            if doc is not None:
                read += 1
                rows += doc.table().drop_columns([RECORD]).slice(0, max(n - len(rows), 0)).to_pylist()
        table = records_table(rows, list(range(len(rows)))).drop_columns([RECORD])
        for j, fld in enumerate(table.schema):
            if pa.types.is_string(fld.type):
                table = table.set_column(j, fld.name, pc.utf8_slice_codeunits(table[fld.name], 0, max_chars))
        method = "all" if len(chosen) == len(objects) else f"{read} of {len(objects)} objects"
        return Sample(table, method)

    # -- lookups ----------------------------------------------------------------------------

    def _candidates(self, layout: ObjectLayout, keys: Sequence[pa.Table]) -> list[ObjectInfo]:
        """The objects named by the keys' `_source` where all name some; else every object."""
        if keys and all(SOURCE in k.column_names for k in keys):
            return [ObjectInfo(key) for key in sorted({s for k in keys for s in k[SOURCE].to_pylist()})]
        return self.objects(layout)

    def find(self, collection: str, keys: Sequence[pa.Table]) -> Iterator[pa.RecordBatch | Skipped]:
        """Records matching any key table, reading each object once for all of them. An object
        this connector read for the same keys and found nothing in is not read again while its
        ETag is the same: a run looks its subjects up for the guard, again to erase, and once
        more for the probe, and most objects hold none of them. One that held a match is kept
        (`Kept`) for the erasure's second lookup and its rewrite, while its ETag is the same."""
        layout = self.layout(collection)
        try:
            if layout.key_pattern:
                yield from self._find_whole(collection, layout, keys)
                return
            search = records.search_for(keys)
            objects = self._candidates(layout, keys)
        except BucketGone:
            yield Skipped(collection, f"s3://{self.bucket.name}", GONE)
            return
        lookup = (collection, Misses.digest(keys))
        objects = [o for o in objects if not self._misses.known(lookup, o)]

        def one(obj: ObjectInfo) -> list:
            mine = for_source(keys, obj.key)
            try:
                body = (self._kept.body(obj) or self.bucket.get(obj.key)) if mine else None
            except BucketGone:
                return [Skipped(collection, obj.key, GONE)]
            if body is None:
                return []
            found = records.read(collection, obj.key, detect(obj.key, layout.format), body.data, mine, search)
            if found:
                self._kept.add(obj.key, body)
            else:
                self._misses.add(lookup, obj.key, body.etag)
            return found

        with ThreadPoolExecutor(self.workers) as pool:
            for items in pool.map(one, objects):
                yield from items

    def _find_whole(self, collection: str, layout: ObjectLayout, keys: Sequence[pa.Table]) -> Iterator:
        """Objects under a key pattern, matched by their key, then fetched whole."""
        listed = self.keyed(layout, self.objects(layout))
        matched = listed.filter(matches_any(listed, list(keys)))

        def fetch(row: dict) -> dict | Skipped | None:
            try:
                body = self.bucket.get(row[SOURCE])
            except BucketGone:
                return Skipped(collection, row[SOURCE], GONE)
            return None if body is None else {**row, RECORD: 0, "content": body.data}

        with ThreadPoolExecutor(self.workers) as pool:
            fetched = list(pool.map(fetch, matched.to_pylist()))
        yield from (s for s in fetched if isinstance(s, Skipped))
        rows = [r for r in fetched if isinstance(r, dict)]
        if rows:
            schema = listed.schema.append(pa.field(RECORD, pa.int64())).append(
                pa.field("content", pa.binary())
            )
            yield from pa.Table.from_pylist(rows, schema=schema).to_batches()

    # -- erasure ----------------------------------------------------------------------------

    def erase(self, ops: Sequence[EraseOp]) -> list[EraseCount]:
        """Apply every operation; per object all operations at once, each object replaced whole."""
        if any(not isinstance(op.action, Delete | Mask) for op in ops):
            raise StoreError(f"store {self.name}: free-text rewrites need a primary key; objects have none")
        changed = [0] * len(ops)
        versions: list[list[frozenset[str]]] = [[] for _ in ops]
        skipped: list[list[Skipped]] = [[] for _ in ops]
        for collection, indices in by_collection(ops).items():
            layout = self.layout(collection)
            mine = {i: ops[i] for i in indices}
            try:
                if layout.key_pattern:
                    self._erase_whole(layout, mine, changed, versions)
                else:
                    self._erase_records(collection, layout, mine, changed, skipped)
                    if self.bucket.versioned():
                        self._sweep_versions(layout, mine, versions)
            except BucketGone:
                for i in indices:
                    skipped[i].append(Skipped(collection, f"s3://{self.bucket.name}", GONE))
        return [EraseCount(changed[i], tuple(versions[i]), tuple(skipped[i])) for i in range(len(ops))]

    def _erase_whole(
        self, layout: ObjectLayout, ops: dict[int, EraseOp], changed: list[int], versions: list[list]
    ) -> None:
        listed = self.keyed(layout, self.objects(layout))
        for i, op in ops.items():
            if not isinstance(op.action, Delete):
                raise StoreError(f"store {self.name}: objects under a key pattern can only be deleted")
            for key in listed.filter(matches_any(listed, [op.keys]))[SOURCE].to_pylist():
                if self.bucket.versioned():
                    older = self.delete_every_version(key)
                else:
                    self.bucket.delete(key)
                    older = 0
                changed[i] += 1
                versions[i] += [frozenset({key})] * older  # the subject's rows carry it as _source

    def delete_every_version(self, key: str) -> int:
        """Every version of an object that is the subject's alone; returns how many older ones there were."""
        older = 0
        for version in self.bucket.versions(key):
            if version["Key"] == key:
                self.bucket.delete(key, version=version["VersionId"])
                older += 0 if version.get("IsLatest") or version.get("marker") else 1
        return older

    def _erase_records(
        self,
        collection: str,
        layout: ObjectLayout,
        ops: dict[int, EraseOp],
        changed: list[int],
        skipped: list[list[Skipped]],
    ) -> None:
        keys = [op.keys for op in ops.values()]
        search = records.search_for(keys)
        values = {i: {search.prepare(v) for v in key_text([op.keys])} for i, op in ops.items()}

        def one(key: str) -> tuple[dict[int, int], list[Skipped]]:
            mine = {i: (op, k[0]) for i, op in ops.items() if (k := for_source([op.keys], key))}
            return self._rewrite(collection, layout, key, mine, search) if mine else ({}, [])

        with ThreadPoolExecutor(self.workers) as pool:
            for counts, problems in pool.map(one, [o.key for o in self._candidates(layout, keys)]):
                for i, n in counts.items():
                    changed[i] += n
                for problem in problems:
                    for i in ops:
                        if problem.hits is None or problem.hits & values[i]:
                            skipped[i].append(problem)

    def _rewrite(
        self,
        collection: str,
        layout: ObjectLayout,
        key: str,
        ops: dict[int, tuple[EraseOp, pa.Table]],
        search: TextSearch,
    ) -> tuple[dict[int, int], list[Skipped]]:
        """Remove or mask the matching records of one object; replace it only if it did not change."""
        fmt = detect(key, layout.format)
        kept = self._kept.take(key)  # as the lookup read it: the conditional replace says if it changed
        for _ in range(self.attempts):
            body, kept = kept or self.bucket.get(key), None
            if body is None or fmt is None:
                return {}, []
            try:
                doc, compressed = records.parse_object(fmt, body.data)
            except FormatError as exc:
                return {}, records.unreadable(collection, key, str(exc), body.data, search)
            drop, changes, counts = records.plan(doc, ops, search)
            problems = records.problems(collection, key, doc, search)
            if not drop and not changes:
                return counts, problems
            new = doc.render(drop, changes)
            try:
                if new is None:
                    self.bucket.delete(key, etag=body.etag)
                else:
                    self.bucket.replace(key, encode(new, compressed), body)
                return counts, problems
            except Changed:
                continue  # another writer changed it since it was read: read it again
        return {}, [Skipped(collection, key, f"changed {self.attempts} times while being erased; run again")]

    def _sweep_versions(self, layout: ObjectLayout, ops: dict[int, EraseOp], versions: list[list]) -> None:
        """Delete every older version under the prefix that still holds one of the subjects."""
        keys = {i: for_source([op.keys], "", restrict=False) for i, op in ops.items()}
        search = records.search_for([k for ks in keys.values() for k in ks])
        older = [
            v
            for v in self.bucket.versions(self.root + layout.prefix)
            if not v.get("IsLatest") and not v.get("marker")
        ]

        def one(version: dict) -> dict[int, frozenset[str]]:
            body = self.bucket.get(version["Key"], version["VersionId"])
            held = records.versions_held(body.data, keys, search) if body else {}
            if held:
                self.bucket.delete(version["Key"], version=version["VersionId"])
            return held

        with ThreadPoolExecutor(self.workers) as pool:
            for held in pool.map(one, older):
                for i, values in held.items():
                    versions[i].append(values)

    def listing(self, prefix: str) -> list[ObjectInfo]:
        """Every object under a prefix of the store's root, with size and time (a backup location)."""
        try:
            return list(self.bucket.objects(self.root + prefix))
        except BucketGone:
            raise self.gone() from None

    # -- lifecycle --------------------------------------------------------------------------

    def key_prefix(self, collection: str | None = None, prefix: str | None = None) -> str:
        """The full key prefix of a collection's objects, or of a prefix under the store's root."""
        return self.root + (prefix if prefix is not None else self.layout(collection).prefix)

    def expirations(self) -> dict[str, tuple[str, int | None]]:
        """The bucket's lifecycle rules as id -> (key prefix, days until current objects expire)."""
        out = {}
        for rule in self.bucket.lifecycle():
            if rule.get("Status") != "Enabled":
                continue
            prefix = rule.get("Filter", {}).get("Prefix", rule.get("Prefix", ""))
            out[rule.get("ID", "")] = (prefix, rule.get("Expiration", {}).get("Days"))
        return out

    def set_expirations(self, wanted: Mapping[str, tuple[str, int]], owned: str) -> None:
        """Make the rules whose id starts with `owned` exactly `wanted`; other rules of the bucket stay."""
        kept = [r for r in self.bucket.lifecycle() if not r.get("ID", "").startswith(owned)]
        ours = [
            {"ID": rule_id, "Filter": {"Prefix": prefix}, "Status": "Enabled", "Expiration": {"Days": days}}
            for rule_id, (prefix, days) in sorted(wanted.items())
        ]
        self.bucket.put_lifecycle(kept + ours)

    def write_object(self, key: str, data: bytes, retain_until: datetime | None = None) -> bool:
        """Put `data` at `key` under the store's root; locked until `retain_until` when the bucket has
        object lock. Returns whether the object is locked."""
        try:
            locked = retain_until is not None and self.bucket.object_lock()
            self.bucket.put(self.root + key, data, retain_until if locked else None)
        except BucketGone:
            raise self.gone() from None
        return locked

    def read_object(self, key: str) -> bytes | None:
        """The bytes at `key` under the store's root, or None."""
        try:
            body = self.bucket.get(self.root + key)
        except BucketGone:
            raise self.gone() from None
        return None if body is None else body.data

    def gone(self) -> StoreUnavailable:
        """The error for a bucket that no longer exists."""
        return StoreUnavailable(f"store {self.name}: bucket {self.bucket.name}: {GONE}")

    # -- restriction (object tags) and retention: tags.py, expiry.py ------------------------------

    def restrict(self, collection: str, keys: pa.Table, marker: str, on: bool) -> int:
        """Tag (or untag) the objects `keys` names by `_source`: the tag marks the whole object."""
        return tags.restrict(self, keys, marker, on)

    def restricted(self, collection: str, marker: str, keys: pa.Table | None = None) -> pa.Table:
        """The objects (`_source`) carrying the tag: of `keys`, or of the whole collection."""
        return tags.restricted(self, collection, marker, keys)

    def expire(self, expiry: Expiry, dry_run: bool = False) -> ExpiryCount:
        """Delete the objects older than the cutoff, by LastModified or by the date in their key."""
        return expiry_module.expire(self, expiry, dry_run)


class Misses:
    """Objects read for a lookup that held no match, by (collection, digest of the keys): the
    object's key and ETag. Kept for the connector's life (one run), for the last few lookups."""

    KEEP = 8  # lookups remembered

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], set[tuple[str, str]]] = {}
        self._lock = threading.Lock()  # the connector's reading threads add to it

    @staticmethod
    def digest(keys: Sequence[pa.Table]) -> str:
        sink = hashlib.sha256()
        for table in keys:
            buffer = io.BytesIO()
            with ipc.new_stream(buffer, table.schema) as stream:
                stream.write_table(table)
            sink.update(buffer.getvalue())
        return sink.hexdigest()

    def known(self, lookup: tuple[str, str], obj: ObjectInfo) -> bool:
        return bool(obj.etag) and (obj.key, obj.etag) in self._seen.get(lookup, ())

    def add(self, lookup: tuple[str, str], key: str, etag: str) -> None:
        with self._lock:
            if lookup not in self._seen and len(self._seen) >= self.KEEP:
                self._seen.pop(next(iter(self._seen)))
            self._seen.setdefault(lookup, set()).add((key, etag))


class Kept:
    """Bodies of objects a lookup found matches in, by key, kept for the connector's life (one run)
    up to `LIMIT` bytes: the erasure looks its subjects up again and then rewrites those objects,
    and would download each twice more. Used only while the listing's ETag is the one read; a
    rewrite's replace is conditional on it, so an object changed since is read afresh."""

    LIMIT = 256 * 2**20

    def __init__(self) -> None:
        self._bodies: dict[str, Body] = {}
        self._size = 0
        self._lock = threading.Lock()

    def add(self, key: str, body: Body) -> None:
        with self._lock:
            old = self._bodies.pop(key, None)
            self._size -= len(old.data) if old else 0
            if self._size + len(body.data) <= self.LIMIT:
                self._bodies[key] = body
                self._size += len(body.data)

    def body(self, obj: ObjectInfo) -> Body | None:
        """The kept body when the listing shows the object unchanged since it was read."""
        with self._lock:
            kept = self._bodies.get(obj.key)
        return kept if kept is not None and obj.etag and kept.etag == obj.etag else None

    def take(self, key: str) -> Body | None:
        """The kept body, forgotten here: the object is about to be rewritten."""
        with self._lock:
            kept = self._bodies.pop(key, None)
            self._size -= len(kept.data) if kept else 0
        return kept
