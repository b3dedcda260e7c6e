"""A staged access package on disk: decrypted into `dsr export --out`, re-encrypted when keys
rotate, discarded when its subject is erased. No pyarrow here: `plan/export.py` writes the files.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from ..core.errors import DsrError
from ..core.keys import Keys


def file_context(request_id: int, name: str) -> str:
    return f"export:{request_id}:{name}"


def replace_file(target: Path, data: bytes) -> None:
    """Write `data` to a temporary, then swap it in: a reader sees the old file or the new one."""
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)


def staged_file(folder: Path, name: str) -> Path:
    """Where a package file (`store/collection.json`) waits, encrypted: `store.collection.json.enc`."""
    return folder / (name.replace("/", ".", 1) + ".enc")


def reencrypt_staged(staging: Path, keys: Keys) -> int:
    """Every staged package file under the newest encryption key (a key rotation); how many changed."""
    changed = 0
    for target in sorted(staging.glob("*/*.enc")):
        store, rest = target.name.removesuffix(".enc").split(".", 1)  # store names have no dots
        context = file_context(int(target.parent.name), f"{store}/{rest}")
        blob = keys.reencrypt(target.read_bytes(), context)
        if blob is not None:
            replace_file(target, blob)
            changed += 1
    return changed


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
            blob = staged_file(folder, entry["path"]).read_bytes()
            payload = keys.decrypt(blob, file_context(request_id, entry["path"]))
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
