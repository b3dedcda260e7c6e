"""Redact one subject's spans from free text, and nothing else of it.

A support ticket keeps its words but loses the subject's email, phone and name. What to look
for comes from the subject's own rows found in the same store (their email, phone, name,
address fields), so another person mentioned in the same text is left alone. Phones are
compared as numbers (E.164), in any formatting; other values as whole words, ignoring case;
name parts (a first name alone) must match with their capital letter.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import phonenumbers
import pyarrow as pa

from connectors import HASH_PREFIX, REDACTED

from .datamap.model import StoreMap
from .lookup import REQUEST

_NOT_TERMS = {"free_text", "date_of_birth"}  # categories whose values are not searched for in text
_TITLES = {"mr", "mrs", "ms", "miss", "dr", "prof", "sir"}
_MIN_TERM = 3


@dataclass(frozen=True)
class Terms:
    literals: frozenset[str] = frozenset()  # lower-cased whole values: emails, full names, streets
    names: frozenset[str] = frozenset()  # capitalised name parts
    phones: frozenset[str] = frozenset()  # E.164

    def __bool__(self) -> bool:
        return bool(self.literals or self.names or self.phones)

    def union(self, other: Terms) -> Terms:
        return Terms(self.literals | other.literals, self.names | other.names, self.phones | other.phones)


def _e164(value: str) -> str | None:
    try:
        number = phonenumbers.parse(value, None if value.startswith("+") else "US")
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def subject_terms(store: StoreMap, found: Mapping[str, pa.Table]) -> dict[int, Terms]:
    """Per request: the values of its subject's personal fields in this store, to find in text."""
    out: dict[int, Terms] = {}
    for collection, rows in found.items():
        spec = store.collections.get(collection)
        if spec is None or not rows.num_rows:
            continue
        fields = {
            name: f
            for name, f in spec.fields.items()
            if name in rows.column_names
            and f.mask != "spans"
            and (f.identity or f.category not in _NOT_TERMS)
        }
        for name, f in fields.items():
            kind = f.identity or f.category
            # Each request's distinct values (a subject has thousands of rows, a few values).
            pairs = pa.table({"r": rows[REQUEST], "v": rows[name]}).group_by(["r", "v"]).aggregate([])
            for request_id, value in zip(pairs["r"].to_pylist(), pairs["v"].to_pylist(), strict=True):
                if not isinstance(value, str) or len(value.strip()) < _MIN_TERM:
                    continue
                value = value.strip()
                if value == REDACTED or value.startswith(HASH_PREFIX):
                    continue
                terms = Terms(literals=frozenset({value.lower()}))
                if kind == "phone" and (e164 := _e164(value)):
                    terms = Terms(phones=frozenset({e164}))
                elif f.category == "name":
                    parts = {p for p in re.findall(r"[^\W\d_][\w'’-]*", value) if len(p) >= _MIN_TERM}
                    terms = terms.union(Terms(names=frozenset(p for p in parts if p.lower() not in _TITLES)))
                out[request_id] = out.get(request_id, Terms()).union(terms)
    return out


@functools.lru_cache(maxsize=4096)
def _regions(phones: frozenset[str]) -> tuple[str, ...]:
    """The subject's own countries, for numbers written without +: 07700 900123 in a UK ticket."""
    codes = {phonenumbers.parse(p).country_code for p in phones}
    return tuple(sorted({phonenumbers.region_code_for_country_code(c) for c in codes}))


def _may_mention(text: str, terms: Terms) -> bool:
    """Whether `text` can hold one of the subject's spans at all: each term as a plain substring,
    a phone's last seven digits among the text's digits. Most texts do not, and are left without
    running phonenumbers' matcher over them."""
    folded = text.casefold()
    if any(t.casefold() in folded for t in terms.literals) or any(n in text for n in terms.names):
        return True
    if terms.phones:
        digits = "".join(str(unicodedata.digit(ch)) for ch in text if ch.isdigit())  # any script's digits
        return any(p[-7:] in digits for p in terms.phones)
    return False


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"  # what \w matches in a str pattern


def _occurrences(haystack: str, needle: str) -> Iterator[int]:
    at = haystack.find(needle)
    while at != -1:
        yield at
        at = haystack.find(needle, at + 1)


def _folded(text: str) -> tuple[str, list[int] | None]:
    """`text` case-folded, and where folding changed its length (ß is ss), the index in `text` of
    each folded character."""
    folded = text.casefold()
    if len(folded) == len(text):
        return folded, None
    origin = [i for i, ch in enumerate(text) for _ in ch.casefold()]
    return folded, origin


def _literal_spans(text: str, literals: frozenset[str]) -> list[tuple[int, int]]:
    """Whole values, ignoring case, not inside a longer word or address (ann@x.com is not part of
    joann@x.com). Plain substring search: a pattern per subject cost more to compile than a batch's
    redaction itself."""
    folded, origin = _folded(text)
    spans = []
    for term in literals:
        needle = term.casefold()
        for i in _occurrences(folded, needle):
            j = i + len(needle)
            if origin is not None:
                # Only whole folded characters: not the second s of a ß.
                if (i and origin[i - 1] == origin[i]) or (j < len(origin) and origin[j] == origin[j - 1]):
                    continue
                i, j = origin[i], origin[j - 1] + 1
            before, after = text[i - 1 : i], text[j : j + 1]
            if not (before and (_is_word(before) or before in ".+-")) and not (
                after and (_is_word(after) or after == "-")
            ):
                spans.append((i, j))
    return spans


def _name_spans(text: str, names: frozenset[str]) -> list[tuple[int, int]]:
    """Name parts with their capital letter, as whole words (a word boundary on both sides)."""

    def boundary(at: int) -> bool:
        return (at > 0 and _is_word(text[at - 1])) != (at < len(text) and _is_word(text[at]))

    return [
        (i, i + len(name))
        for name in names
        for i in _occurrences(text, name)
        if boundary(i) and boundary(i + len(name))
    ]


def _spans(text: str, terms: Terms) -> list[tuple[int, int]]:
    if not _may_mention(text, terms):
        return []
    spans = _literal_spans(text, terms.literals) + _name_spans(text, terms.names)
    for region in _regions(terms.phones):
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
            if phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164) in terms.phones:
                spans.append((match.start, match.end))
    return spans


def redact(text: str, terms: Terms) -> str:
    """`text` with every span of the subject replaced by the redaction marker."""
    spans = sorted(_spans(text, terms)) if terms and text else []
    if not spans:
        return text
    merged = [list(spans[0])]
    for start, end in spans[1:]:
        if start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    parts, last = [], 0
    for start, end in merged:
        parts += [text[last:start], REDACTED]
        last = end
    return "".join(parts) + text[last:]
