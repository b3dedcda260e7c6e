"""Where a lake's datasets and files are: the filesystem, the listing, the dataset's schema."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq


@dataclass(frozen=True)
class DatasetFile:
    path: str  # on the store's filesystem
    source: str  # relative to the collection: what records carry as `_source`
    partitions: tuple[tuple[str, str], ...]
    size: int


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


def ignored(relative: str) -> bool:
    """Hidden and marker files (`_SUCCESS`, a crashed erase's temporaries) are not data."""
    return any(part.startswith((".", "_")) for part in relative.split("/"))


def _partitions(relative: str) -> tuple[tuple[str, str], ...]:
    out = []
    for part in relative.split("/")[:-1]:
        key, sep, value = part.partition("=")
        if sep:
            out.append((urllib.parse.unquote(key), urllib.parse.unquote(value)))
    return tuple(out)


def entries(fs: pafs.FileSystem, root: str) -> list[tuple[str, str]]:
    """(collection, path) of every dataset directly under `root`: directories and .parquet files."""
    out = []
    for info in sorted(fs.get_file_info(pafs.FileSelector(root, recursive=False)), key=lambda i: i.path):
        if ignored(info.base_name):
            continue
        if info.type == pafs.FileType.Directory:
            out.append((info.base_name, info.path))
        elif info.base_name.endswith(".parquet"):
            out.append((info.base_name.removesuffix(".parquet"), info.path))
    return out


def dataset_files(fs: pafs.FileSystem, base: str) -> list[DatasetFile] | None:
    """The data files of the dataset at `base` (a file or a directory), or None if nothing is there."""
    info = fs.get_file_info(base)
    if info.type == pafs.FileType.File:
        return [DatasetFile(base, info.base_name, (), info.size)]
    if info.type != pafs.FileType.Directory:
        return None
    out = []
    for item in fs.get_file_info(pafs.FileSelector(base, recursive=True)):
        relative = item.path[len(base) + 1 :]
        parquet = item.type == pafs.FileType.File and item.path.endswith((".parquet", ".parq"))
        if parquet and not ignored(relative):
            out.append(DatasetFile(item.path, relative, _partitions(relative), item.size))
    return sorted(out, key=lambda f: f.source)


def dataset_schema(fs: pafs.FileSystem, files: Sequence[DatasetFile]) -> pa.Schema:
    """Every file's columns (types widened where files differ, else the first one's) and partitions."""
    fields: dict[str, pa.Field] = {}
    for f in files:
        try:
            schema = pq.read_schema(fs.open_input_file(f.path))
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
                    pass  # files with the other type are reported when read
    for f in files:
        for key, _ in f.partitions:
            fields.setdefault(key, pa.field(key, pa.string()))
    return pa.schema(list(fields.values()))


def temporaries(fs: pafs.FileSystem, base: str, prefix: str) -> list[str]:
    """Files under `base` whose name starts with `prefix`."""
    try:
        listing = fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
    except OSError:
        return []
    return [i.path for i in listing if i.type == pafs.FileType.File and i.base_name.startswith(prefix)]
