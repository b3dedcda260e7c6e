"""Access and portability packages: per collection JSON and Parquet, and a manifest.

Files are staged encrypted (AES-256-GCM under the project key) while they wait for `dsr export`,
which decrypts them into the requested directory and checks every SHA-256 against the manifest
(`package.py`: the staged package on disk).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from connectors import RECORD

from ..core.keys import Keys
from ..state.requests import RequestRecord
from ..state.results import SkippedItem
from .datamap.model import Datamap
from .lookup import REQUEST, VIA
from .package import file_context, replace_file, staged_file

_INTERNAL = (REQUEST, VIA, RECORD)  # bookkeeping of the lookup, not the subject's data


@dataclass(frozen=True)
class ExportFile:
    path: str
    sha256: str
    records: int
    store: str
    collection: str
    format: str


def stage_collection(
    staging: Path,
    keys: Keys,
    request_id: int,
    store: str,
    collection: str,
    rows: pa.Table,
    chunk: int | None = None,
) -> list[ExportFile]:
    """Write one collection of one subject (or its share in one chunk of the store: `events.part-3`),
    encrypted, and describe the plaintext files."""
    rows = rows.drop_columns([c for c in _INTERNAL if c in rows.column_names])
    json_bytes = json.dumps(rows.to_pylist(), default=_json_value, ensure_ascii=False, indent=1).encode()
    buffer = io.BytesIO()
    pq.write_table(rows, buffer)
    folder = staging / str(request_id)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    part = "" if chunk is None else f".part-{chunk}"
    for fmt, payload in (("json", json_bytes), ("parquet", buffer.getvalue())):
        name = f"{store}/{collection}{part}.{fmt}"
        replace_file(staged_file(folder, name), keys.encrypt(payload, file_context(request_id, name)))
        files.append(
            ExportFile(name, hashlib.sha256(payload).hexdigest(), rows.num_rows, store, collection, fmt)
        )
    return files


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
    for f in files:  # a collection of a store split into chunks comes in a file per chunk
        if f.format == "json":
            sources[(f.store, f.collection)] = sources.get((f.store, f.collection), 0) + f.records
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
