"""Restriction in a bucket: an object tag marks a whole object restricted; tags are read in parallel."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pyarrow as pa

from ..base import SOURCE
from .bucket import BucketGone, Missing

if TYPE_CHECKING:
    from .connector import S3Connector


def restrict(s3: S3Connector, keys: pa.Table, marker: str, on: bool) -> int:
    """Tag (or untag) the objects `keys` names by `_source`: the tag marks the whole object."""
    objects = sorted(set(keys[SOURCE].to_pylist()))

    def one(key: str) -> int:
        try:
            if on:
                s3.bucket.set_tags(key, {marker: "true"})
            else:
                s3.bucket.remove_tags(key, [marker])
        except Missing:
            return 0
        return 1

    try:
        with ThreadPoolExecutor(s3.workers) as pool:
            return sum(pool.map(one, objects))
    except BucketGone:
        raise s3.gone() from None


def restricted(s3: S3Connector, collection: str, marker: str, keys: pa.Table | None = None) -> pa.Table:
    """The objects (`_source`) carrying the tag: of `keys`, or of the whole collection."""
    if keys is None:
        objects = [o.key for o in s3.objects(s3.layout(collection))]
    else:
        objects = sorted(set(keys[SOURCE].to_pylist()))
    try:
        carrying = tagged(s3, objects, marker)
    except BucketGone:
        raise s3.gone() from None
    return pa.table({SOURCE: pa.array([k for k in objects if k in carrying], pa.string())})


def tagged(s3: S3Connector, keys: Sequence[str], tag: str) -> set[str]:
    """The objects among `keys` carrying `tag`, tags read in parallel; a vanished object has none."""

    def carries(key: str) -> bool:
        try:
            return tag in s3.bucket.tags(key)
        except Missing:
            return False

    with ThreadPoolExecutor(s3.workers) as pool:
        return {k for k, hit in zip(keys, pool.map(carries, keys), strict=True) if hit}
