"""The project key and the data keys it protects.

The master key (`DSR_MASTER_KEY`, base64, or a key file for the demo) never touches data itself:
it wraps the state database's data keys (`state/keyring.py`) and proves, by a check value stored
there, that it is the key the database was made with. The data keys are independent 32-byte
keys: subject references (HMAC-SHA256) for the ledger and the state database, the masking hash,
erasure tombstones, the ledger's chain, and AES-256-GCM for identities and staged exports at
rest. Rotating the master key re-wraps them and replaces the encryption key; references,
tombstones and the ledger's chain stay valid because their keys do not change.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import ConfigError, DsrError
from .identities import Identity

KEY_ENV = "DSR_MASTER_KEY"
NEW_KEY_ENV = "DSR_NEW_MASTER_KEY"  # the key `dsr keys rotate` moves to

# What each data key is for: also the HKDF label of the keys a database made before key
# versions was given, so those databases keep their references and ciphertexts.
REFERENCE, MASKING, TOMBSTONES, LEDGER, ENCRYPTION = (
    "dsr subject reference",
    "dsr masking hash",
    "dsr erasure tombstones",
    "dsr ledger chain",
    "dsr encryption at rest",
)
PURPOSES = (REFERENCE, MASKING, TOMBSTONES, LEDGER, ENCRYPTION)


class KeyMismatch(DsrError):
    """The master key is not the one the state database was made with."""


def _derive(secret: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(secret)


@dataclass(frozen=True)
class MasterKey:
    secret: bytes = field(repr=False)
    source: str = KEY_ENV  # where it came from, named in every error about it

    def derive(self, purpose: str) -> bytes:
        return _derive(self.secret, purpose)

    def check_value(self) -> str:
        """A value stored beside the data: equal for the same key, useless for finding it."""
        return hmac.new(self.derive("dsr master key check"), b"dsr key check", hashlib.sha256).hexdigest()

    def wrap(self, key: bytes, label: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + AESGCM(self.derive("dsr key wrapping")).encrypt(nonce, key, label.encode())

    def unwrap(self, blob: bytes, label: str) -> bytes:
        try:
            return AESGCM(self.derive("dsr key wrapping")).decrypt(blob[:12], blob[12:], label.encode())
        except InvalidTag:
            raise KeyMismatch(f"{self.source}: cannot unwrap the {label} key with this key") from None


@dataclass(frozen=True)
class Keys:
    """The data keys of one state database. `encryption` holds (version, key), newest first: data
    is encrypted with the newest, and decrypted with whichever version made it (during a
    rotation, two are present)."""

    reference: bytes = field(repr=False)
    masking: bytes = field(repr=False)
    tombstones: bytes = field(repr=False)
    ledger: bytes = field(repr=False)
    encryption: tuple[tuple[int, bytes], ...] = field(repr=False)

    @classmethod
    def derived(cls, master: MasterKey) -> Keys:
        """Version 1 of every data key, derived from the master key as releases before key versions did."""
        return cls(*(master.derive(p) for p in PURPOSES[:4]), ((1, master.derive(ENCRYPTION)),))

    @property
    def mask_key(self) -> bytes:
        return self.masking

    @property
    def tombstone_key(self) -> bytes:
        return self.tombstones

    def subject_ref(self, identity: Identity) -> str:
        """HMAC-SHA256 of `kind:value`: the only form of a subject outside the state database."""
        msg = f"{identity.kind}:{identity.value}".encode()
        return hmac.new(self.reference, msg, hashlib.sha256).hexdigest()

    def keyed_ref(self, label: str, data: bytes) -> str:
        """HMAC-SHA256 of `data` under the reference key, for `label` (an idempotent submission's
        key and body): comparable, not readable."""
        return hmac.new(self.reference, label.encode() + b"\0" + data, hashlib.sha256).hexdigest()

    def encrypt(self, plaintext: bytes, context: str) -> bytes:
        """AES-256-GCM under the newest encryption key, bound to `context` (where the data belongs)."""
        nonce = os.urandom(12)
        return nonce + AESGCM(self.encryption[0][1]).encrypt(nonce, plaintext, context.encode())

    def decrypt(self, blob: bytes, context: str) -> bytes:
        for _, key in self.encryption:
            try:
                return AESGCM(key).decrypt(blob[:12], blob[12:], context.encode())
            except InvalidTag:
                continue
        raise InvalidTag()

    def reencrypt(self, blob: bytes, context: str) -> bytes | None:
        """`blob` under the newest encryption key; None when it already is (a resumed rotation)."""
        newest = AESGCM(self.encryption[0][1])
        try:
            newest.decrypt(blob[:12], blob[12:], context.encode())
            return None
        except InvalidTag:
            return self.encrypt(self.decrypt(blob, context), context)


def generate_key_file(path: Path) -> None:
    """Write a new random key readable only by its owner (demo and first set-up)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(os.urandom(32)).decode() + "\n")


def _read_key_file(path: Path) -> str:
    if path.is_dir():
        raise ConfigError(f"key file {path} is a directory")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):  # as ssh does with private keys
        raise ConfigError(f"key file {path} is readable by others (mode {mode & 0o777:o}): chmod 600 {path}")
    try:
        return path.read_bytes().decode("ascii")
    except UnicodeDecodeError:
        raise ConfigError(f"key file {path}: not base64 text (the key must be 32 bytes in base64)") from None


def _parse(text: str, source: str) -> MasterKey:
    try:
        secret = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        secret = b""
    if len(secret) != 32:  # the message never quotes what was given: it may be a key
        raise ConfigError(f"{source}: the key must be 32 bytes in base64")
    return MasterKey(secret, source)


def key_from_file(path: Path) -> MasterKey:
    return _parse(_read_key_file(path), f"key file {path}")


def load_master(key_file: Path | None = None, variable: str = KEY_ENV) -> MasterKey:
    """The key from `variable` (DSR_MASTER_KEY), else from `key_file` when one is configured."""
    text = os.environ.get(variable)
    if text:
        return _parse(text, variable)
    if key_file is not None and key_file.exists():
        return key_from_file(key_file)
    hint = (
        f" (or configure key_file; {key_file} does not exist)"
        if key_file is not None
        else " (or configure key_file)"
    )
    raise ConfigError(f"no project key: set {variable} to 32 random bytes in base64{hint}")
