"""Access and portability packages: per collection JSON and Parquet, and a manifest.

Files are staged encrypted (AES-256-GCM under the project key) while they wait for `dsr export`,
which decrypts them into the requested directory and checks every SHA-256 against the manifest.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from connectors import RECORD

from ..core.errors import DsrError
from ..core.keys import Keys
from ..state.requests import RequestRecord
from ..state.results import SkippedItem
from .datamap.model import Datamap
from .lookup import REQUEST, VIA

_INTERNAL = (REQUEST, VIA, RECORD)  # bookkeeping of the lookup, not the subject's data


@dataclass(frozen=True)
class ExportFile:
    path: str
    sha256: str
    records: int
    store: str
    collection: str
    format: str


def _context(request_id: int, name: str) -> str:
    return f"export:{request_id}:{name}"


def stage_collection(
    staging: Path, keys: Keys, request_id: int, store: str, collection: str, rows: pa.Table
) -> list[ExportFile]:
    """Write one collection of one subject, encrypted, and describe the plaintext files."""
    rows = rows.drop_columns([c for c in _INTERNAL if c in rows.column_names])
    json_bytes = json.dumps(rows.to_pylist(), default=_json_value, ensure_ascii=False, indent=1).encode()
    buffer = io.BytesIO()
    pq.write_table(rows, buffer)
    folder = staging / str(request_id)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for fmt, payload in (("json", json_bytes), ("parquet", buffer.getvalue())):
        name = f"{store}/{collection}.{fmt}"
        _replace(
            folder / f"{store}.{collection}.{fmt}.enc", keys.encrypt(payload, _context(request_id, name))
        )
        files.append(
            ExportFile(name, hashlib.sha256(payload).hexdigest(), rows.num_rows, store, collection, fmt)
        )
    return files


def _replace(target: Path, data: bytes) -> None:
    """Write `data` to a temporary, then swap it in: a reader sees the old file or the new one."""
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)


def reencrypt_staged(staging: Path, keys: Keys) -> int:
    """Every staged package file under the newest encryption key (a key rotation); how many changed."""
    changed = 0
    for target in sorted(staging.glob("*/*.enc")):
        store, rest = target.name.removesuffix(".enc").split(".", 1)  # store names have no dots
        collection, fmt = rest.rsplit(".", 1)
        context = _context(int(target.parent.name), f"{store}/{collection}.{fmt}")
        blob = keys.reencrypt(target.read_bytes(), context)
        if blob is not None:
            _replace(target, blob)
            changed += 1
    return changed


def _json_value(value: object) -> str:
    """Bytes (whole objects) as base64; dates and the like as their text."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return str(value)


def art15_facts(datamap: Datamap, store: str, collection: str) -> dict:
    spec = datamap.stores[store].collections[collection]
    return {
        "categories": sorted({f.category for f in spec.fields.values() if f.category}),
        "purposes": spec.purposes,
        "recipients": spec.recipients,
        "retention": spec.retention,
        **({"legal_basis_for_retention": spec.legal_basis} if spec.erase == "retain" else {}),
    }


def write_manifest(
    staging: Path,
    record: RequestRecord,
    files: list[ExportFile],
    datamap: Datamap,
    generated_at: datetime,
    skipped: Sequence[SkippedItem] = (),
) -> dict:
    """The package's manifest; `skipped` lists what could not be read, so the package says it is partial."""
    sources: dict[tuple[str, str], int] = {}
    for f in files:
        if f.format == "json":
            sources[(f.store, f.collection)] = f.records
    manifest = {
        "request_id": record.id,
        "tenant": record.tenant,
        "type": record.type,
        "generated_at": generated_at.isoformat() + "Z",
        "files": [asdict(f) for f in sorted(files, key=lambda f: f.path)],
        "sources": [
            {"store": s, "collection": c, "records": n, **art15_facts(datamap, s, c)}
            for (s, c), n in sorted(sources.items())
        ],
        "complete": not skipped,
        "skipped": [asdict(item) for item in skipped],
    }
    folder = staging / str(record.id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def discard_package(staging: Path, request_id: int) -> bool:
    """Remove a request's staged package (its subject was erased since); whether there was one."""
    folder = staging / str(request_id)
    if not folder.exists():
        return False
    shutil.rmtree(folder)
    return True


def _empty_target(out: Path) -> None:
    """`out` must be a new or empty directory we can write: a package never mixes with other files."""
    if out.exists() and not out.is_dir():
        raise DsrError(f"--out {out} is a file; give a new or empty directory")
    if out.is_dir() and any(out.iterdir()):
        raise DsrError(f"--out {out} is not empty; give a new or empty directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DsrError(f"cannot create --out {out}: {exc.strerror or exc}") from None


def write_package(staging: Path, keys: Keys, request_id: int, out: Path) -> dict:
    """Decrypt the staged package into `out` (new or empty), verifying every file against the manifest."""
    folder = staging / str(request_id)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise DsrError(f"request {request_id} has no export package (is it a completed access request?)")
    manifest = json.loads(manifest_path.read_text())
    _empty_target(out)
    try:
        for entry in manifest["files"]:
            blob = (folder / f"{entry['store']}.{entry['collection']}.{entry['format']}.enc").read_bytes()
            payload = keys.decrypt(blob, _context(request_id, entry["path"]))
            if hashlib.sha256(payload).hexdigest() != entry["sha256"]:
                raise DsrError(f"request {request_id}: {entry['path']} does not match its manifest checksum")
            target = out / entry["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(payload)
        shutil.copyfile(manifest_path, out / "manifest.json")
    except OSError as exc:  # e.g. the directory is not writable, or the disk is full
        where = exc.filename or out
        raise DsrError(f"cannot write the package to {where}: {exc.strerror or exc}") from None
    return manifest
