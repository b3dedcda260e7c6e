"""Object formats: records out of an object's text, and the text back without some of them.

JSON, NDJSON, CSV and plain text, each optionally gzip-compressed. Nested JSON is flattened
(`{"user": {"email": ...}}` gives the field `user.email`). A rewrite keeps every line or row it
does not change exactly as it was, malformed ones included: what could not be read is never
lost. Problems are described by position (`line 7: invalid JSON`), never by content.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ..base import RECORD

FORMATS = ("json", "ndjson", "csv", "text")
TEXT_FIELD = "line"  # the one field of a plain-text record
_SUFFIXES = {
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".csv": "csv",
    ".txt": "text",
    ".log": "text",
}


class FormatError(Exception):
    """The object cannot be read as its format. The message says where, never what."""


def detect(key: str, declared: str = "auto") -> str | None:
    """The format of an object: the declared one, else from its name (`.ndjson.gz` is NDJSON)."""
    if declared != "auto":
        return declared
    name = key.removesuffix(".gz").rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return _SUFFIXES.get(name[dot:].lower()) if dot > 0 else None


def decode(body: bytes) -> tuple[str, bool]:
    """The object's text and whether it was gzip-compressed (told by its magic bytes, not its name)."""
    compressed = body[:2] == b"\x1f\x8b"
    if compressed:
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error):
            raise FormatError("not a valid gzip stream") from None
    try:
        return body.decode("utf-8"), compressed
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text (byte {exc.start})") from None


def encode(text: str, compressed: bool) -> bytes:
    data = text.encode("utf-8")
    return gzip.compress(data, mtime=0) if compressed else data


def flatten(record: dict, prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted fields; lists as their JSON text."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = json.dumps(value, ensure_ascii=False)
        else:
            out[name] = value
    return out


def _set_path(record: dict, path: str, value: Any) -> None:
    if path in record or "." not in path:
        record[path] = value
        return
    head, _, rest = path.partition(".")
    if isinstance(record.get(head), dict):
        _set_path(record[head], rest, value)


def records_table(rows: list[dict[str, Any]], positions: list[int]) -> pa.Table:
    """Flattened records as Arrow, `_record` holding each one's position in its object.

    A field whose values have mixed types (5 here, "5" there) becomes text rather than failing.
    """
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    columns = {}
    for name in names:
        values = [row.get(name) for row in rows]
        try:
            columns[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            columns[name] = pa.array(
                [None if v is None else v if isinstance(v, str) else json.dumps(v) for v in values],
                pa.string(),
            )
    columns[RECORD] = pa.array(positions, pa.int64())
    return pa.table(columns)


@dataclass
class Document:
    """An object's text as units (lines, or CSV rows), the record each holds, and what is wrong."""

    format: str
    units: list[Any]  # str lines (ndjson, text), field lists (csv), or values (json array items)
    records: dict[int, dict[str, Any]]  # unit position -> parsed record (malformed and blank units absent)
    problems: dict[int, str] = field(default_factory=dict)  # unit position -> what is wrong there
    header: list[str] = field(default_factory=list)
    newline: str = "\n"
    single: bool = False  # a JSON document holding one object rather than an array
    indent: int | None = None

    def table(self) -> pa.Table:
        positions = sorted(self.records)
        return records_table([flatten(self.records[p]) for p in positions], positions)

    def unit_text(self, position: int) -> str:
        unit = self.units[position]
        if isinstance(unit, str):
            return unit
        if self.format == "csv":
            return ",".join(unit)
        return json.dumps(unit, ensure_ascii=False)

    def render(self, drop: set[int], changes: dict[int, dict[str, Any]]) -> str | None:
        """The text without the `drop`ped units and with `changes` applied; None if nothing is left."""
        kept = [p for p in range(len(self.units)) if p not in drop]
        if not any(p in self.records or p in self.problems for p in kept):
            return None
        if self.format in ("ndjson", "text"):
            return "".join(self._line(p, changes.get(p)) for p in kept)
        if self.format == "csv":
            out = io.StringIO()
            writer = csv.writer(out, lineterminator=self.newline)
            writer.writerow(self.header)
            for p in kept:
                row = self.units[p]
                if p in changes:
                    row = [changes[p].get(h, v) for h, v in zip(self.header, row, strict=True)]
                writer.writerow(["" if v is None else v for v in row])
            return out.getvalue()
        items = []
        for p in kept:
            item = self.units[p]
            if p in changes:
                item = json.loads(json.dumps(item))
                for path, value in changes[p].items():
                    _set_path(item, path, value)
            items.append(item)
        return json.dumps(items[0] if self.single else items, ensure_ascii=False, indent=self.indent) + (
            "\n" if self.indent else ""
        )

    def _line(self, position: int, change: dict[str, Any] | None) -> str:
        line = self.units[position]
        if change is None:
            return line
        ending = line[len(line.rstrip("\r\n")) :]
        if self.format == "text":
            return str(change.get(TEXT_FIELD, line.rstrip("\r\n"))) + ending
        record = json.loads(line)
        for path, value in change.items():
            _set_path(record, path, value)
        return json.dumps(record, ensure_ascii=False) + ending


def parse(text: str, fmt: str) -> Document:
    """Split and parse an object's text. A malformed line or row is a problem; the rest is read."""
    if fmt == "text":
        lines = text.splitlines(keepends=True)
        records = {i: {TEXT_FIELD: line.rstrip("\r\n")} for i, line in enumerate(lines) if line.strip()}
        return Document("text", lines, records)
    if fmt == "ndjson":
        lines = text.splitlines(keepends=True)
        records, problems = {}, {}
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                problems[i] = f"line {i + 1}: invalid JSON ({exc.msg} at column {exc.colno})"
                continue
            if isinstance(value, dict):
                records[i] = value
            else:
                problems[i] = f"line {i + 1}: not a JSON object"
        return Document("ndjson", lines, records, problems)
    if fmt == "csv":
        return _parse_csv(text)
    if fmt == "json":
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FormatError(f"invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
        indent = 2 if "\n" in text.strip() else None
        if isinstance(value, dict):
            return Document("json", [value], {0: value}, single=True, indent=indent)
        if not isinstance(value, list):
            raise FormatError("JSON document is neither an object nor an array")
        records = {i: v for i, v in enumerate(value) if isinstance(v, dict)}
        problems = {
            i: f"item {i + 1}: not a JSON object" for i, v in enumerate(value) if not isinstance(v, dict)
        }
        return Document("json", value, records, problems, indent=indent)
    raise FormatError(f"unknown format {fmt}")


def _parse_csv(text: str) -> Document:
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise FormatError(f"unreadable CSV ({exc.__class__.__name__})") from None
    if not rows:
        return Document("csv", [], {})
    header, body = rows[0], rows[1:]
    records, problems = {}, {}
    for i, row in enumerate(body):
        if not row:
            continue
        if len(row) != len(header):
            problems[i] = f"row {i + 2}: {len(row)} fields, the header has {len(header)}"
        else:
            records[i] = dict(zip(header, row, strict=True))
    newline = "\r\n" if "\r\n" in text else "\n"
    return Document("csv", body, records, problems, header=header, newline=newline)
