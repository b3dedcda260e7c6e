"""Retention in a bucket: delete the objects past their period (by LastModified or a date in the key),
in batches, every version of them in a versioned bucket, leaving held and restricted objects."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pyarrow as pa

from ..ages import key_date_reader
from ..base import SOURCE, Delete, Expiry, ExpiryCount, StoreError
from ..matching import matches_any
from .bucket import BucketGone, ObjectInfo
from .layout import ObjectLayout
from .tags import tagged

if TYPE_CHECKING:
    from .connector import S3Connector


def expire(s3: S3Connector, expiry: Expiry, dry_run: bool = False) -> ExpiryCount:
    """Delete the objects older than the cutoff, by LastModified or by the date in their key.

    Objects named in `keep` (by `_source`, or by a key pattern's placeholders) and objects
    carrying the `restricted` tag stay. In a versioned bucket every version of an expired
    object goes with it. Deletions run in batches of `expiry.batch` objects.
    """
    if not isinstance(expiry.action, Delete):
        raise StoreError(f"store {s3.name}: a sweep can only delete objects, not mask them")
    age = _object_age(s3, expiry)
    layout = s3.layout(expiry.collection) if expiry.prefix is None else ObjectLayout(expiry.prefix)
    try:
        listed = _chosen(s3, layout, s3.objects(layout), expiry.only)
        expired = [(o, t) for o in listed if (t := age(o)) is not None and t < expiry.cutoff]
        kept = _kept_objects(s3, layout, [o for o, _ in expired], expiry)
    except BucketGone:
        raise s3.gone() from None
    count = ExpiryCount(expired=len(expired), kept=len(kept))
    going = [(o, t) for o, t in expired if o.key not in kept]
    if not expiry.age.ageless:
        count.saw([t for _, t in going])
    if dry_run:
        return count
    versioned = s3.bucket.versioned()

    def remove(obj: ObjectInfo) -> None:
        if versioned:
            s3.delete_every_version(obj.key)
        else:
            s3.bucket.delete(obj.key)

    with ThreadPoolExecutor(s3.workers) as pool:
        for start in range(0, len(going), expiry.batch):
            started = time.perf_counter()
            part = [o for o, _ in going[start : start + expiry.batch]]
            if expiry.archive is not None:
                expiry.archive(_bodies(s3, pool, part))
            list(pool.map(remove, part))
            count.changed += len(part)
            count.batches += 1
            count.longest_batch = max(count.longest_batch, time.perf_counter() - started)
    return count


def _chosen(s3: S3Connector, layout: ObjectLayout, objects: list[ObjectInfo], only) -> list[ObjectInfo]:
    """Objects whose key's placeholders match `only` (a tenant's, under a key pattern); all without it."""
    if not only:
        return objects
    if not layout.key_pattern:
        raise StoreError(f"store {s3.name}: objects under a prefix are chosen by content, not by key")
    keyed = s3.keyed(layout, objects)
    wanted = set(keyed.filter(matches_any(keyed, list(only)))[SOURCE].to_pylist())
    return [o for o in objects if o.key in wanted]


def _object_age(s3: S3Connector, expiry: Expiry):
    if expiry.age.ageless:
        return lambda o: datetime.min  # a purge: every object, whatever its age
    if expiry.age.modified:
        return lambda o: o.last_modified.astimezone(UTC).replace(tzinfo=None) if o.last_modified else None
    if expiry.age.key_date:
        read = key_date_reader(expiry.age.key_date)
        return lambda o: read(o.key)
    raise StoreError(f"store {s3.name}: objects age by their LastModified or by a date in their key")


def _kept_objects(
    s3: S3Connector, layout: ObjectLayout, objects: list[ObjectInfo], expiry: Expiry
) -> set[str]:
    """Keys of expired objects that must stay: held, or tagged as restricted."""
    listed = s3.keyed(layout, objects) if layout.key_pattern else pa.table({SOURCE: [o.key for o in objects]})
    kept = set(listed.filter(matches_any(listed, expiry.keep))[SOURCE].to_pylist()) if objects else set()
    if expiry.restricted and objects:
        kept |= tagged(s3, [o.key for o in objects], expiry.restricted)
    return kept


def _bodies(s3: S3Connector, pool: ThreadPoolExecutor, objects: list[ObjectInfo]) -> pa.Table:
    """Objects as rows for an archive: key, last modified, bytes."""
    bodies = list(pool.map(s3.bucket.get, [o.key for o in objects]))
    present = [(o, b) for o, b in zip(objects, bodies, strict=True) if b is not None]
    return pa.table(
        {
            "key": [o.key for o, _ in present],
            "last_modified": pa.array([o.last_modified for o, _ in present], pa.timestamp("us", tz="UTC")),
            "content": pa.array([b.data for _, b in present], pa.binary()),
        }
    )
