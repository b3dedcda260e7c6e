"""One bucket through boto3: the requests the connector makes, and what their errors mean.

Errors become `StoreError` (the server refused) or `StoreUnavailable` (it could not be
reached), named by operation and error code, never by object key. A bucket that no longer
exists raises `BucketGone`, which the connector reports per object instead of failing.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from ..base import StoreError, StoreUnavailable

_GONE = ("NoSuchKey", "404", "NoSuchVersion")
_CHANGED = ("PreconditionFailed", "412")


class BucketGone(Exception):
    """The bucket was deleted while the store was in use."""


class Changed(Exception):
    """The object is no longer the version that was read (If-Match failed)."""


class Missing(Exception):
    """The object (or version) is not there."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int = 0
    last_modified: datetime | None = None
    etag: str = ""  # changes with the content


@dataclass(frozen=True)
class Body:
    data: bytes
    etag: str
    version: str | None
    headers: dict  # what a rewrite keeps: content type and encoding, metadata, whether it has tags


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def client_for(
    endpoint_url: str | None, region: str | None, access_key: str | None, secret_key: str | None, workers: int
):
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region or "us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=BotoConfig(max_pool_connections=2 * workers, retries={"max_attempts": 3, "mode": "standard"}),
    )


class Bucket:
    def __init__(self, store: str, name: str, client):
        self.store = store
        self.name = name
        self.client = client
        self._versioned: bool | None = None

    @contextmanager
    def _errors(self, what: str):
        try:
            yield
        except ClientError as exc:
            code = _code(exc)
            if code == "NoSuchBucket":
                raise BucketGone() from None
            if code in _CHANGED:
                raise Changed() from None
            if code in _GONE:
                raise Missing() from None
            raise StoreError(f"store {self.store}: {what}: {code or 'error'}") from None
        except BotoCoreError as exc:
            raise StoreUnavailable(f"store {self.store}: {what}: {exc.__class__.__name__}") from None

    def ping(self) -> None:
        try:
            with self._errors("head bucket"):
                self.client.head_bucket(Bucket=self.name)
        except (StoreError, BucketGone) as exc:
            raise StoreUnavailable(f"store {self.store}: bucket {self.name}: {exc or 'not found'}") from None

    def objects(self, prefix: str) -> Iterator[ObjectInfo]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        with self._errors(f"list {prefix}"):
            for page in pages:
                for item in page.get("Contents", []):
                    if not item["Key"].endswith("/"):
                        yield ObjectInfo(
                            item["Key"], item.get("Size", 0), item.get("LastModified"), item.get("ETag", "")
                        )

    def prefixes(self, root: str) -> list[str]:
        """The prefixes one level below `root`."""
        with self._errors("list prefixes"):
            resp = self.client.list_objects_v2(Bucket=self.name, Prefix=root, Delimiter="/")
        return [item["Prefix"] for item in resp.get("CommonPrefixes", [])]

    def get(self, key: str, version: str | None = None) -> Body | None:
        """The object's bytes, or None if it is gone."""
        extra = {"VersionId": version} if version else {}
        try:
            with self._errors("read an object"):
                resp = self.client.get_object(Bucket=self.name, Key=key, **extra)
                data = resp["Body"].read()
        except Missing:
            return None
        headers = {
            k: resp[k] for k in ("ContentType", "ContentEncoding", "Metadata", "TagCount") if resp.get(k)
        }
        return Body(data, resp.get("ETag", ""), resp.get("VersionId"), headers)

    def replace(self, key: str, data: bytes, original: Body) -> None:
        """Put `data` in place of `original`, keeping its headers and tags; Changed if it moved on."""
        keep = ("ContentType", "ContentEncoding", "Metadata")
        extra = {k: v for k, v in original.headers.items() if k in keep}
        if original.headers.get("TagCount"):
            extra["Tagging"] = urllib.parse.urlencode(self.tags(key))
        with self._errors("replace an object"):
            self.client.put_object(Bucket=self.name, Key=key, Body=data, IfMatch=original.etag, **extra)

    def put(self, key: str, data: bytes, retain_until: datetime | None = None) -> None:
        """A new object; with `retain_until`, locked against change and deletion until then (the
        bucket must have object lock enabled)."""
        extra = (
            {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": retain_until}
            if retain_until
            else {}
        )
        with self._errors("write an object"):
            self.client.put_object(Bucket=self.name, Key=key, Body=data, **extra)

    def object_lock(self) -> bool:
        """Whether the bucket has object lock enabled."""
        with self._errors("read the object lock configuration"):
            try:
                config = self.client.get_object_lock_configuration(Bucket=self.name)
            except ClientError as exc:
                if _code(exc) in ("ObjectLockConfigurationNotFoundError", "NoSuchObjectLockConfiguration"):
                    return False
                raise
        return config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"

    def delete(self, key: str, etag: str | None = None, version: str | None = None) -> None:
        """Delete the object (if it is still `etag`: Changed otherwise), or one version of it."""
        extra = {"IfMatch": etag} if etag else {}
        extra |= {"VersionId": version} if version else {}
        with self._errors("delete an object"):
            self.client.delete_object(Bucket=self.name, Key=key, **extra)

    def versioned(self) -> bool:
        if self._versioned is None:
            with self._errors("versioning"):
                status = self.client.get_bucket_versioning(Bucket=self.name).get("Status")
            self._versioned = status in ("Enabled", "Suspended")
        return self._versioned

    def versions(self, prefix: str) -> Iterator[dict]:
        """Every version and delete marker under `prefix` (markers flagged `marker`)."""
        pages = self.client.get_paginator("list_object_versions").paginate(Bucket=self.name, Prefix=prefix)
        with self._errors("list versions"):
            for page in pages:
                yield from page.get("Versions", [])
                for marker in page.get("DeleteMarkers", []):
                    yield {**marker, "marker": True}

    def tags(self, key: str) -> dict[str, str]:
        with self._errors("read tags"):
            resp = self.client.get_object_tagging(Bucket=self.name, Key=key)
        return {t["Key"]: t["Value"] for t in resp.get("TagSet", [])}

    def put_tags(self, key: str, tags: Mapping[str, str]) -> None:
        tag_set = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
        with self._errors("write tags"):
            self.client.put_object_tagging(Bucket=self.name, Key=key, Tagging={"TagSet": tag_set})

    def set_tags(self, key: str, tags: Mapping[str, str]) -> None:
        self.put_tags(key, {**self.tags(key), **tags})

    def remove_tags(self, key: str, names: Sequence[str]) -> None:
        self.put_tags(key, {k: v for k, v in self.tags(key).items() if k not in names})

    def lifecycle(self) -> list[dict]:
        """The bucket's lifecycle rules (none configured: an empty list)."""
        with self._errors("read the lifecycle"):
            try:
                return self.client.get_bucket_lifecycle_configuration(Bucket=self.name).get("Rules", [])
            except ClientError as exc:
                if _code(exc) == "NoSuchLifecycleConfiguration":
                    return []
                raise

    def put_lifecycle(self, rules: list[dict]) -> None:
        with self._errors("write the lifecycle"):
            if rules:
                self.client.put_bucket_lifecycle_configuration(
                    Bucket=self.name, LifecycleConfiguration={"Rules": rules}
                )
            else:
                self.client.delete_bucket_lifecycle(Bucket=self.name)
