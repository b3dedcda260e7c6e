"""Identities a request starts from, normalised so that lookups compare like with like.

Errors name the identity by position and kind, never by value: they end up in terminals,
logs and exception text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import IdentityError

_KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Deliberately stricter than RFC 5322: one @, a dotted domain, no spaces or control characters.
_EMAIL = re.compile(r"^[^@\s]{1,64}@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# Characters that act as wildcards in LIKE, glob or shell patterns: a request names one person.
_WILDCARDS = set("*%?")


@dataclass(frozen=True, order=True)
class Identity:
    kind: str
    value: str

    def __repr__(self) -> str:  # keeps values out of tracebacks and debug logs
        return f"Identity(kind={self.kind!r}, value=<redacted>)"


def normalise(kind: str, value: str, default_region: str | None = None, position: int = 1) -> Identity:
    """Return the canonical form of one identity or raise IdentityError saying what is wrong."""
    kind = (kind or "").strip().lower()
    label = f"identity {position} ({kind or 'no kind'})"
    if not _KIND.match(kind):
        raise IdentityError(f"{label}: the kind must be a lower-case word such as email or phone")
    value = (value or "").strip()
    if not value:
        raise IdentityError(f"{label}: the value is empty")
    if not _is_text(value):
        raise IdentityError(f"{label}: the value is not valid UTF-8 text")
    if _WILDCARDS & set(value):
        raise IdentityError(f"{label}: wildcards (* % ?) are not allowed; a request names one person")
    if kind == "email":
        value = value.lower()
        if not _EMAIL.match(value):
            raise IdentityError(f"{label}: not a valid email address")
    elif kind == "phone":
        value = _e164(value, default_region, label)
    elif any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise IdentityError(f"{label}: whitespace or control characters inside the value")
    return Identity(kind, value)


def _is_text(value: str) -> bool:
    """False for strings carrying undecodable bytes (an argument that was not UTF-8 arrives with
    lone surrogates in place of its bytes)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_pair(text: str, default_region: str | None = None, position: int = 1) -> Identity:
    """Parse the CLI form KIND=VALUE."""
    kind, sep, value = (text or "").partition("=")
    if not sep:
        raise IdentityError(f"identity {position}: expected KIND=VALUE, for example email=ann@example.com")
    return normalise(kind, value, default_region, position)


def _e164(value: str, region: str | None, label: str) -> str:
    import phonenumbers  # here: commands that read requests need no phone library (14 ms to import)

    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        hint = "" if region else " (give it with +country code, or set default_phone_region)"
        raise IdentityError(f"{label}: not a phone number{hint}") from None
    if not phonenumbers.is_possible_number(number):
        raise IdentityError(f"{label}: not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
