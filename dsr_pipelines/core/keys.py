"""The project key and what is derived from it.

One 32-byte master key (DSR_MASTER_KEY, base64, or a generated key file for the demo) yields
independent sub-keys with HKDF: subject references (HMAC-SHA256) for the ledger and request
store, AES-256-GCM for identities and staged export files at rest, and the keyed hash used to
mask values in stores. Rotating the master key therefore changes every reference.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import ConfigError
from .identities import Identity

KEY_ENV = "DSR_MASTER_KEY"


def _derive(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(master)


@dataclass(frozen=True)
class Keys:
    master: bytes = field(repr=False)

    @property
    def _ref_key(self) -> bytes:
        return _derive(self.master, "dsr subject reference")

    @property
    def _enc_key(self) -> bytes:
        return _derive(self.master, "dsr encryption at rest")

    @property
    def mask_key(self) -> bytes:
        return _derive(self.master, "dsr masking hash")

    @property
    def tombstone_key(self) -> bytes:
        return _derive(self.master, "dsr erasure tombstones")

    def subject_ref(self, identity: Identity) -> str:
        """HMAC-SHA256 of `kind:value`: the only form of a subject outside the state database."""
        msg = f"{identity.kind}:{identity.value}".encode()
        return hmac.new(self._ref_key, msg, hashlib.sha256).hexdigest()

    def encrypt(self, plaintext: bytes, context: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + AESGCM(self._enc_key).encrypt(nonce, plaintext, context.encode())

    def decrypt(self, blob: bytes, context: str) -> bytes:
        return AESGCM(self._enc_key).decrypt(blob[:12], blob[12:], context.encode())


def generate_key_file(path: Path) -> None:
    """Write a new random key readable only by its owner (demo and first set-up)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(os.urandom(32)).decode() + "\n")


def load_keys(key_file: Path | None = None) -> Keys:
    """The key from DSR_MASTER_KEY, else from `key_file` when one is configured."""
    text = os.environ.get(KEY_ENV)
    source = KEY_ENV
    if not text and key_file is not None and key_file.exists():
        text, source = key_file.read_text(), str(key_file)
    if not text:
        raise ConfigError(
            f"no project key: set {KEY_ENV} to 32 random bytes in base64 (or configure key_file)"
        )
    try:
        master = base64.b64decode(text.strip(), validate=True)
    except ValueError:
        master = b""
    if len(master) != 32:
        raise ConfigError(f"{source}: the key must be 32 bytes in base64")
    return Keys(master)
