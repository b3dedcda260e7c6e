"""Object storage over the S3 API (boto3): records in JSON, NDJSON, CSV and text objects.

Each collection is a prefix with a format (`auto` tells it from the name; gzip is told from
the bytes), or a key pattern such as `users/{user_id}/` under which every object belongs to
one subject. A lookup reads the objects once for every subject in the batch: each object is
searched for all their key values at once (Aho-Corasick, whole words only) and only objects
with a hit are parsed. Erasure rewrites an object without the subject's records (or deletes it
when nothing else is left) and replaces it only if it has not changed since it was read
(If-Match on its ETag; on a change it reads again). In a versioned bucket every older version
that held the subject is deleted too.

An object that cannot be read is reported as `Skipped` when the subject's values appear in it
(or when it cannot be searched at all); one that never mentions them is none of this
request's business.
"""

from __future__ import annotations

import random
import re
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import boto3
import pyarrow as pa
import pyarrow.compute as pc
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

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
    Sample,
    Skipped,
    StoreError,
    StoreUnavailable,
    keyed_hash,
)
from .matching import by_collection, for_source, key_text, matches_any
from .objects import TEXT_FIELD, Document, FormatError, decode, detect, encode, flatten, parse, records_table
from .textsearch import TextSearch

WORKERS = 16  # objects fetched at once: S3 latency, not CPU, bounds a pass
ATTEMPTS = 5  # reads of an object that keeps changing while it is being erased
SAMPLE_OBJECTS = 20
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class ObjectLayout:
    """Where a collection's objects are and how to read them."""

    prefix: str = ""
    format: str = "auto"
    key_pattern: str | None = None

    @classmethod
    def of(cls, spec: Mapping[str, str], name: str) -> ObjectLayout:
        pattern = spec.get("key_pattern")
        prefix = spec.get("prefix")
        if prefix is None:
            prefix = pattern.split("{", 1)[0] if pattern else f"{name}/"
        return cls(prefix, spec.get("format") or "auto", pattern)

    def placeholders(self) -> list[str]:
        return _PLACEHOLDER.findall(self.key_pattern or "")

    def key_regex(self, root: str) -> re.Pattern[str]:
        """`users/{user_id}/` matches every key under users/<id>/; without a trailing / the whole key."""
        pattern = self.key_pattern or ""
        parts, last = [], 0
        for m in _PLACEHOLDER.finditer(pattern):
            parts += [re.escape(pattern[last : m.start()]), f"(?P<{m.group(1)}>[^/]+?)"]
            last = m.end()
        parts.append(re.escape(pattern[last:]))
        return re.compile("^" + re.escape(root) + "".join(parts) + ("" if pattern.endswith("/") else "$"))


@dataclass(frozen=True)
class _Object:
    key: str
    size: int = 0
    last_modified: datetime | None = None


@dataclass(frozen=True)
class _Body:
    data: bytes
    etag: str
    version: str | None
    headers: dict


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _bucket_gone(exc: Exception) -> bool:
    return isinstance(exc, ClientError) and _code(exc) == "NoSuchBucket"


class _BucketGone(Exception):
    pass


class S3Connector:
    """One bucket (and optional root prefix); `layouts` maps collection names to ObjectLayouts."""

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
        self.bucket = parsed.netloc
        self.root = parsed.path.strip("/") + "/" if parsed.path.strip("/") else ""
        self.layouts = {c: ObjectLayout.of(spec, c) for c, spec in (layouts or {}).items()}
        self.workers = workers
        self.attempts = attempts
        self.client = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region or "us-east-1",
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=BotoConfig(
                max_pool_connections=2 * workers, retries={"max_attempts": 3, "mode": "standard"}
            ),
        )
        self._versioned: bool | None = None
        self._collections: list[CollectionInfo] | None = None

    def close(self) -> None:
        self.client.close()

    # -- requests to the server ---------------------------------------------------------------

    def _error(self, what: str, exc: Exception) -> StoreError:
        if isinstance(exc, ClientError):
            code = _code(exc)
            return StoreError(f"store {self.name}: {what}: {code or 'error'}")
        return StoreUnavailable(f"store {self.name}: {what}: {exc.__class__.__name__}")

    def ping(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise StoreUnavailable(
                f"store {self.name}: bucket {self.bucket}: {self._error('head', exc)}"
            ) from None

    def _list(self, prefix: str) -> Iterator[_Object]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    if not item["Key"].endswith("/"):
                        yield _Object(item["Key"], item.get("Size", 0), item.get("LastModified"))
        except ClientError as exc:
            if _bucket_gone(exc):
                raise _BucketGone() from None
            raise self._error(f"list {prefix}", exc) from None
        except BotoCoreError as exc:
            raise self._error(f"list {prefix}", exc) from None

    def _get(self, key: str, version: str | None = None) -> _Body | None:
        """The object's bytes, or None if it is gone; _BucketGone if the bucket is."""
        extra = {"VersionId": version} if version else {}
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=key, **extra)
            data = resp["Body"].read()
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404", "NoSuchVersion"):
                return None
            if _bucket_gone(exc):
                raise _BucketGone() from None
            raise self._error("read an object", exc) from None
        except BotoCoreError as exc:
            raise self._error("read an object", exc) from None
        headers = {
            k: resp[k] for k in ("ContentType", "ContentEncoding", "Metadata", "TagCount") if resp.get(k)
        }
        return _Body(data, resp.get("ETag", ""), resp.get("VersionId"), headers)

    def versioned(self) -> bool:
        if self._versioned is None:
            try:
                status = self.client.get_bucket_versioning(Bucket=self.bucket).get("Status")
            except (ClientError, BotoCoreError) as exc:
                raise self._error("versioning", exc) from None
            self._versioned = status in ("Enabled", "Suspended")
        return self._versioned

    # -- tagging (used by restriction) ------------------------------------------------------

    def tags(self, key: str) -> dict[str, str]:
        try:
            resp = self.client.get_object_tagging(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise self._error("read tags", exc) from None
        return {t["Key"]: t["Value"] for t in resp.get("TagSet", [])}

    def set_tags(self, key: str, tags: Mapping[str, str]) -> None:
        """Add or overwrite tags on an object, keeping its other tags."""
        merged = {**self.tags(key), **tags}
        self._put_tags(key, merged)

    def remove_tags(self, key: str, names: Sequence[str]) -> None:
        self._put_tags(key, {k: v for k, v in self.tags(key).items() if k not in names})

    def _put_tags(self, key: str, tags: Mapping[str, str]) -> None:
        tag_set = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
        try:
            self.client.put_object_tagging(Bucket=self.bucket, Key=key, Tagging={"TagSet": tag_set})
        except (ClientError, BotoCoreError) as exc:
            raise self._error("write tags", exc) from None

    # -- collections --------------------------------------------------------------------------

    def layout(self, collection: str) -> ObjectLayout:
        if collection in self.layouts:
            return self.layouts[collection]
        for name, layout in self._discovered().items():
            if name == collection:
                return layout
        raise StoreError(
            f"store {self.name}: no collection {collection} (not in the datamap, no such prefix)"
        )

    def _discovered(self) -> dict[str, ObjectLayout]:
        """Top-level prefixes no declared collection covers: what discovery looks at."""
        declared = [self.root + layout.prefix for layout in self.layouts.values()]
        try:
            resp = self.client.list_objects_v2(Bucket=self.bucket, Prefix=self.root, Delimiter="/")
        except (ClientError, BotoCoreError) as exc:
            raise self._error("list prefixes", exc) from None
        out = {}
        for item in resp.get("CommonPrefixes", []):
            prefix = item["Prefix"]
            if any(prefix.startswith(d) or d.startswith(prefix) for d in declared):
                continue
            relative = prefix[len(self.root) :]
            out[re.sub(r"[^A-Za-z0-9_]", "_", relative.strip("/"))] = ObjectLayout(relative, "auto")
        return out

    def collections(self) -> list[CollectionInfo]:
        """Declared and discovered collections, fields from sampled objects; computed once."""
        if self._collections is not None:
            return self._collections
        layouts = {**self.layouts, **self._discovered()}
        out = []
        for name, layout in layouts.items():
            rows = self.sample(name, 200, 200).rows
            fields = tuple(
                FieldInfo(f.name, str(f.type), True, pa.types.is_string(f.type)) for f in rows.schema
            )
            spec = {"prefix": layout.prefix, "format": layout.format}
            if layout.key_pattern:
                spec["key_pattern"] = layout.key_pattern
            out.append(CollectionInfo(name, fields, (), (), spec))
        self._collections = out
        return out

    def _objects(self, layout: ObjectLayout) -> list[_Object]:
        return list(self._list(self.root + layout.prefix))

    def _keyed(self, layout: ObjectLayout, objects: Sequence[_Object]) -> pa.Table:
        """Per object under a key pattern: its key and the placeholder values in it."""
        regex = layout.key_regex(self.root)
        names = layout.placeholders()
        rows = []
        for obj in objects:
            m = regex.match(obj.key)
            if m:
                rows.append(
                    {
                        **{n: m.group(n) for n in names},
                        SOURCE: obj.key,
                        "size": obj.size,
                        "last_modified": obj.last_modified,
                    }
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

    def count(self, collection: str) -> int:
        """Records in the collection (objects, under a key pattern): a full pass, so only the guard asks."""
        layout = self.layout(collection)
        objects = self._objects(layout)
        if layout.key_pattern:
            return self._keyed(layout, objects).num_rows

        def records(obj: _Object) -> int:
            doc = self._document(obj.key, layout)
            return len(doc.records) if isinstance(doc, Document) else 0

        with ThreadPoolExecutor(self.workers) as pool:
            return sum(pool.map(records, objects))

    def _document(self, key: str, layout: ObjectLayout, version: str | None = None) -> Document | str | None:
        """The parsed object, or why it cannot be (a reason), or None if it is gone or not ours to read."""
        body = self._get(key, version)
        if body is None:
            return None
        fmt = detect(key, layout.format)
        if fmt is None:
            return "unknown format"
        try:
            text, _ = decode(body.data)
            return parse(text, fmt)
        except FormatError as exc:
            return str(exc)

    def sample(self, collection: str, n: int, max_chars: int) -> Sample:
        """Records from up to SAMPLE_OBJECTS objects chosen at seeded random, parsed per format."""
        layout = self.layout(collection)
        try:
            objects = self._objects(layout)
        except _BucketGone:
            raise StoreError(f"store {self.name}: bucket {self.bucket} does not exist") from None
        if layout.key_pattern:
            keyed = self._keyed(layout, objects).drop_columns([SOURCE])
            return Sample(keyed.slice(0, n), "keys")
        rng = random.Random(f"{self.name}/{collection}")
        chosen = rng.sample(objects, min(SAMPLE_OBJECTS, len(objects)))
        rows: list[dict] = []
        read = 0
        for obj in sorted(chosen, key=lambda o: o.key):
            doc = self._document(obj.key, layout)
            if not isinstance(doc, Document):
                continue
            read += 1
            table = doc.table().drop_columns([RECORD])
            rows += table.slice(0, max(n - len(rows), 0)).to_pylist()
        table = records_table(rows, list(range(len(rows)))).drop_columns([RECORD])
        for j, fld in enumerate(table.schema):
            if pa.types.is_string(fld.type):
                table = table.set_column(j, fld.name, pc.utf8_slice_codeunits(table[fld.name], 0, max_chars))
        method = "all" if len(chosen) == len(objects) else f"{read} of {len(objects)} objects"
        return Sample(table, method)

    # -- lookups ----------------------------------------------------------------------------

    @staticmethod
    def _search_values(keys: Sequence[pa.Table]) -> set[str]:
        """Per key table, the values of its most distinct column: a matching record holds one of them."""
        out: set[str] = set()
        for k in keys:
            names = [c for c in k.column_names if c != SOURCE]
            if names:
                best = max(names, key=lambda c: pc.count_distinct(k[c]).as_py())
                out |= key_text([k], [best])
        return out

    def _candidates(self, layout: ObjectLayout, keys: Sequence[pa.Table]) -> list[str]:
        if keys and all(SOURCE in k.column_names for k in keys):
            return sorted({s for k in keys for s in k[SOURCE].to_pylist()})
        return [o.key for o in self._objects(layout)]

    def find(self, collection: str, keys: Sequence[pa.Table]) -> Iterator[pa.RecordBatch | Skipped]:
        """Records matching any key table, reading each object once for all of them."""
        layout = self.layout(collection)
        try:
            if layout.key_pattern:
                yield from self._find_whole(collection, layout, keys)
                return
            text = detect("", layout.format) == "text"
            search = TextSearch(self._search_values(keys), ignore_case=text)
            objects = self._candidates(layout, keys)
        except _BucketGone:
            yield Skipped(collection, f"s3://{self.bucket}", "the bucket no longer exists")
            return

        def one(key: str) -> list:
            try:
                return self._search(collection, layout, key, for_source(keys, key), search)
            except _BucketGone:
                return [Skipped(collection, key, "the bucket no longer exists")]

        with ThreadPoolExecutor(self.workers) as pool:
            for items in pool.map(one, objects):
                yield from items

    def _search(
        self, collection: str, layout: ObjectLayout, key: str, keys: list[pa.Table], search: TextSearch
    ) -> list:
        if not keys:
            return []
        body = self._get(key)
        if body is None:
            return []
        fmt = detect(key, layout.format)
        try:
            text, _ = decode(body.data)
        except FormatError as exc:
            hits = search.values_in(body.data.decode("latin-1"))
            unsearchable = str(exc).startswith("not a valid gzip")
            return (
                [Skipped(collection, key, str(exc), None if unsearchable else frozenset(hits))]
                if (hits or unsearchable)
                else []
            )
        hits = search.values_in(text)
        if not hits:
            return []
        if fmt is None:
            return [Skipped(collection, key, "unknown format (give the prefix a format)", frozenset(hits))]
        try:
            doc = parse(text, fmt)
        except FormatError as exc:
            return [Skipped(collection, key, str(exc), frozenset(hits))]
        rows = self._contained(doc, keys, search) if fmt == "text" else self._matching(doc, keys)
        items: list = self._problems(collection, key, doc, search)
        if fmt != "text":
            items += self._unattributed(collection, key, doc, keys, search)
        if rows is not None and rows.num_rows:
            rows = rows.append_column(SOURCE, pa.array([key] * rows.num_rows, pa.string()))
            items = rows.to_batches() + items
        return items

    @staticmethod
    def _matching(doc: Document, keys: list[pa.Table]) -> pa.Table | None:
        table = doc.table()
        return table.filter(matches_any(table, keys)) if table.num_rows else None

    @staticmethod
    def _contained(doc: Document, keys: list[pa.Table], search: TextSearch) -> pa.Table | None:
        """Text records: one row per line and key value it contains (the value in the key's column)."""
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

    @staticmethod
    def _unattributed(
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

    @staticmethod
    def _problems(collection: str, key: str, doc: Document, search: TextSearch) -> list[Skipped]:
        """Malformed lines or rows that hold a searched value: they are kept, and reported."""
        out = []
        for position, reason in sorted(doc.problems.items()):
            hits = search.values_in(doc.unit_text(position))
            if hits:
                out.append(Skipped(collection, key, reason, frozenset(hits)))
        return out

    def _find_whole(self, collection: str, layout: ObjectLayout, keys: Sequence[pa.Table]) -> Iterator:
        listed = self._keyed(layout, self._objects(layout))
        matched = listed.filter(matches_any(listed, list(keys)))

        def fetch(row: dict) -> dict | Skipped | None:
            try:
                body = self._get(row[SOURCE])
            except _BucketGone:
                return Skipped(collection, row[SOURCE], "the bucket no longer exists")
            return None if body is None else {**row, RECORD: 0, "content": body.data}

        with ThreadPoolExecutor(self.workers) as pool:
            fetched = list(pool.map(fetch, matched.to_pylist()))
        rows = [r for r in fetched if isinstance(r, dict)]
        yield from (s for s in fetched if isinstance(s, Skipped))
        if rows:
            schema = listed.schema.append(pa.field(RECORD, pa.int64())).append(
                pa.field("content", pa.binary())
            )
            yield from pa.Table.from_pylist(rows, schema=schema).to_batches()

    # -- erasure ----------------------------------------------------------------------------

    def erase(self, ops: Sequence[EraseOp]) -> list[EraseCount]:
        """Apply every operation; per object all operations at once, each object replaced whole."""
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
                    if self.versioned():
                        self._sweep_versions(collection, layout, mine, versions)
            except _BucketGone:
                for i in indices:
                    skipped[i].append(
                        Skipped(collection, f"s3://{self.bucket}", "the bucket no longer exists")
                    )
        return [EraseCount(changed[i], tuple(versions[i]), tuple(skipped[i])) for i in range(len(ops))]

    def _erase_whole(
        self, layout: ObjectLayout, ops: dict[int, EraseOp], changed: list[int], versions: list[list]
    ) -> None:
        listed = self._keyed(layout, self._objects(layout))
        for i, op in ops.items():
            if not isinstance(op.action, Delete):
                raise StoreError(f"store {self.name}: objects under a key pattern can only be deleted")
            for key in listed.filter(matches_any(listed, [op.keys]))[SOURCE].to_pylist():
                older = self._delete_object(key) if self.versioned() else self._delete(key)
                changed[i] += 1
                versions[i] += [frozenset({key})] * older  # the subject's rows carry it as _source

    def _delete(self, key: str, version: str | None = None) -> int:
        extra = {"VersionId": version} if version else {}
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key, **extra)
        except ClientError as exc:
            if _bucket_gone(exc):
                raise _BucketGone() from None
            raise
        return 0

    def _delete_object(self, key: str) -> int:
        """Every version of an object that is the subject's alone; returns how many older ones there were."""
        older = 0
        for version in self._versions(key):
            if version["Key"] != key:
                continue
            self._delete(key, version=version["VersionId"])
            older += 0 if version.get("IsLatest") or version.get("marker") else 1
        return older

    def _versions(self, prefix: str) -> Iterator[dict]:
        pages = self.client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=prefix)
        try:
            for page in pages:
                yield from page.get("Versions", [])
                for marker in page.get("DeleteMarkers", []):
                    yield {**marker, "marker": True}
        except ClientError as exc:
            if _bucket_gone(exc):
                raise _BucketGone() from None
            raise self._error("list versions", exc) from None

    def _erase_records(
        self,
        collection: str,
        layout: ObjectLayout,
        ops: dict[int, EraseOp],
        changed: list[int],
        skipped: list[list[Skipped]],
    ) -> None:
        keys = [op.keys for op in ops.values()]
        candidates = self._candidates(layout, keys)
        search = TextSearch(self._search_values(keys), ignore_case=detect("", layout.format) == "text")

        def one(key: str) -> tuple[dict[int, int], list[Skipped]]:
            mine = {}
            for i, op in ops.items():
                narrowed = for_source([op.keys], key)
                if narrowed:
                    mine[i] = (op, narrowed[0])
            return self._rewrite(collection, layout, key, mine, search) if mine else ({}, [])

        with ThreadPoolExecutor(self.workers) as pool:
            for counts, problems in pool.map(one, candidates):
                for i, n in counts.items():
                    changed[i] += n
                for problem in problems:
                    for i, op in ops.items():
                        if problem.hits is None or problem.hits & set(key_text([op.keys])):
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
        for _ in range(self.attempts):
            body = self._get(key)
            if body is None or fmt is None:
                return {}, []
            try:
                text, compressed = decode(body.data)
                doc = parse(text, fmt)
            except FormatError as exc:
                hits = search.values_in(body.data.decode("latin-1"))
                return {}, ([Skipped(collection, key, str(exc), frozenset(hits))] if hits else [])
            drop, changes, counts = self._plan(doc, ops, search)
            problems = self._problems(collection, key, doc, search)
            if not drop and not changes:
                return counts, problems
            new = doc.render(drop, changes)
            try:
                if new is None:
                    self.client.delete_object(Bucket=self.bucket, Key=key, IfMatch=body.etag)
                else:
                    self._put(key, encode(new, compressed), body)
                return counts, problems
            except ClientError as exc:
                if _bucket_gone(exc):
                    raise _BucketGone() from None
                if _code(exc) not in ("PreconditionFailed", "412"):
                    raise self._error("replace an object", exc) from None
                continue  # changed since it was read: read it again
        return {}, [Skipped(collection, key, f"changed {self.attempts} times while being erased; run again")]

    def _put(self, key: str, data: bytes, original: _Body) -> None:
        extra = {
            k: v for k, v in original.headers.items() if k in ("ContentType", "ContentEncoding", "Metadata")
        }
        if original.headers.get("TagCount"):
            extra["Tagging"] = urllib.parse.urlencode(self.tags(key))
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, IfMatch=original.etag, **extra)

    def _plan(
        self, doc: Document, ops: dict[int, tuple[EraseOp, pa.Table]], search: TextSearch
    ) -> tuple[set[int], dict[int, dict], dict[int, int]]:
        """Units to drop, changes to make, and how many records each operation touches."""
        drop: set[int] = set()
        changes: dict[int, dict] = {}
        counts: dict[int, int] = {}
        table = doc.table()
        for i, (op, keys) in ops.items():
            if doc.format == "text":
                found = self._contained(doc, [keys], search)
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
                    changes.setdefault(p, {}).update(_masked(doc, p, op.action, values))
            else:
                raise StoreError(
                    f"store {self.name}: free-text rewrites need a primary key; objects have none"
                )
        return drop, changes, counts

    def _sweep_versions(
        self, collection: str, layout: ObjectLayout, ops: dict[int, EraseOp], versions: list[list]
    ) -> None:
        """Delete every older version under the prefix that still holds one of the subjects."""
        keys = {
            i: [op.keys.drop_columns([SOURCE]) if SOURCE in op.keys.column_names else op.keys]
            for i, op in ops.items()
        }
        search = TextSearch(
            self._search_values([k for ks in keys.values() for k in ks]),
            ignore_case=detect("", layout.format) == "text",
        )
        older = [
            v
            for v in self._versions(self.root + layout.prefix)
            if not v.get("IsLatest") and not v.get("marker")
        ]

        def one(version: dict) -> dict[int, frozenset[str]]:
            body = self._get(version["Key"], version["VersionId"])
            if body is None:
                return {}
            try:
                text, _ = decode(body.data)
            except FormatError:
                text = body.data.decode("latin-1")
            seen = search.values_in(text)
            held = {i: frozenset(seen & {search.prepare(v) for v in key_text(ks)}) for i, ks in keys.items()}
            held = {i: v for i, v in held.items() if v}
            if held:
                self._delete(version["Key"], version=version["VersionId"])
            return held

        with ThreadPoolExecutor(self.workers) as pool:
            for held in pool.map(one, older):
                for i, values in held.items():
                    versions[i].append(values)


def _masked(doc: Document, position: int, mask: Mask, values: set[str]) -> dict:
    """New values for the masked fields of one record."""
    record = doc.records[position]
    if doc.format == "text":
        line = record[TEXT_FIELD]
        if TEXT_FIELD in mask.fields:
            return {TEXT_FIELD: REDACTED}
        search = TextSearch(values, ignore_case=True)
        prepared = search.prepare(line)
        for start, end, _ in sorted(search.hits(prepared), reverse=True):
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
