"""Where a collection's objects are: a prefix and a format, or a key pattern."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class ObjectLayout:
    """`prefix` and `format` (`auto`: from the object's name), or a `key_pattern` such as
    `users/{user_id}/` under which every object belongs to the subject its key names."""

    prefix: str = ""
    format: str = "auto"
    key_pattern: str | None = None

    @classmethod
    def of(cls, spec: Mapping[str, str], name: str) -> ObjectLayout:
        pattern = spec.get("key_pattern")
        prefix = spec.get("prefix")
        if prefix is None:
            prefix = pattern.split("{", 1)[0] if pattern else f"{name}/"
        return cls(prefix, spec.get("format") or "auto", pattern)

    @property
    def text(self) -> bool:
        return self.format == "text"

    def spec(self) -> dict[str, str]:
        """The layout as a datamap entry says it."""
        out = {"prefix": self.prefix, "format": self.format}
        return out | ({"key_pattern": self.key_pattern} if self.key_pattern else {})

    def placeholders(self) -> list[str]:
        return _PLACEHOLDER.findall(self.key_pattern or "")

    def key_regex(self, root: str) -> re.Pattern[str]:
        """`users/{user_id}/` matches every key under users/<id>/; without a trailing / the whole key."""
        pattern = self.key_pattern or ""
        parts, last = [], 0
        for m in _PLACEHOLDER.finditer(pattern):
            parts += [re.escape(pattern[last : m.start()]), f"(?P<{m.group(1)}>[^/]+?)"]
            last = m.end()
        parts.append(re.escape(pattern[last:]))
        return re.compile("^" + re.escape(root) + "".join(parts) + ("" if pattern.endswith("/") else "$"))
