"""Discovery: sample each table of a store and propose, per column, what personal data it holds.

A column's category comes from combining signals, never from one match:
- prevalence: the share of sampled values that *are* an entity (the match covers the value).
  An email column is mostly emails; one email inside a notes column makes it free text with
  personal data, not an email column;
- value checks Presidio applies (Luhn for cards, the IBAN checksum) and shapes of our own
  (UUIDs, unformatted digit ids, version numbers that parse as IP addresses);
- the column's type: numbers and timestamps are personal only when their name says so;
- the column's and the table's names, as hints that confirm, or as the only evidence where
  patterns cannot see (person names without a named-entity model);
- the rest of the row and the table: a country column says where a phone number without its
  country code was written (phones.py); a company-name column with no person's name says a
  phone or address is an organisation's.
Reports hold shares, recognizer names and at most a masked example, never sampled values.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import accumulate
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from connectors import CollectionInfo, Connector, StoreError

from ..plan.datamap.draft import tenant_column
from . import phones, streets

if TYPE_CHECKING:  # Presidio and spaCy take a second to import; only discovery itself needs them
    from .recognizers import Analyzer

SAMPLE_ROWS = 1000
MAX_CHARS = 2000  # analysed length of one value; longer text is cut in the database
PREVALENCE = 0.6  # share of values that must be the entity for a structured column
MIN_SCORE = 0.4  # Presidio score (after context) for a match to count
TECHNICAL_ENTITY = "UUID"  # Presidio's UUID matches mark a column as technical
_TEXT_CHUNK = 200_000  # characters per analyzer call (spaCy refuses texts beyond 1,000,000)
_SEPARATOR = "\n\x1e\n"  # between values joined into one analyzer call; no pattern crosses it

# Every category discovery proposes without custom recognizers.
DETECTABLE = frozenset(
    {
        "email",
        "phone",
        "name",
        "address",
        "ip_address",
        "credit_card",
        "iban",
        "national_id",
        "date_of_birth",
        "free_text",
    }
)
# Categories whose presence inside prose makes a column "free text with personal data".
_IN_TEXT = {"email", "phone", "credit_card", "iban", "national_id", "ip_address", "name"}
# Categories of Presidio's own entities; anything else comes from a user's recognizer.
_BUILTIN = {*_IN_TEXT, "date", "address", "date_of_birth", "UUID"}
# Categories decided from values alone; a technical-sounding name does not overrule them.
_SELF_VALIDATING = {"email", "credit_card", "iban"}

_HINTS: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"e_?mail")),
    ("ip_address", re.compile(r"(^|_)(ip|ipv[46]|ip_?addr(ess)?|remote_addr|client_ip)($|_)")),
    ("phone", re.compile(r"(^|_)(phone|mobile|tel|telephone|cell|fax|msisdn)($|_)")),
    ("date_of_birth", re.compile(r"(^|_)(dob|birth|birthday|birthdate|born)($|_)|date_of_birth")),
    ("national_id", re.compile(r"(^|_)(ssn|social_security|national_id|nino|nhs|passport|tax_id|tin)($|_)")),
    ("credit_card", re.compile(r"(^|_)(cc|pan|card|card_?number|credit_?card)($|_)")),
    ("iban", re.compile(r"(^|_)(iban|bank_account)($|_)")),
    (
        "name",
        re.compile(
            r"(^|_)(first_?name|last_?name|full_?name|given_?name|middle_?name|surname|forename|"
            r"maiden_?name|holder|(customer|contact|person|employee|patient|member|\w*holder|recipient)_name)($|_)"
        ),
    ),
    (
        "address",
        re.compile(
            r"(^|_)(address|addr|street|address_?line_?\d?|line_?[12]|city|town|zip|"
            r"zip_?code|post_?code|postal_?code)($|_)"
        ),
    ),
    (
        "free_text",
        re.compile(
            r"(^|_)(notes?|comments?|body|message|description|remarks?|feedback|"
            r"text|content|details|bio)($|_)"
        ),
    ),
]
_TECHNICAL = re.compile(
    r"(^|_)(id|uuid|guid|sku|hash|hashed|digest|checksum|sha\d*|md5|version|build|release|"
    r"token|key|serial|mac|host|server|url|wallet|ref)($|_)"
)
_PERSON_TABLE = re.compile(
    r"(^|_)(customer|user|member|person|people|employee|contact|client|patient|student|subscriber|"
    r"profile|author|applicant|guest|passenger|staff|recipient|visitor|buyer|seller|account_holder)s?$"
)
# A column naming the organisation a row is about (`CompanyName`, `shipper`): with no person's
# name beside it, the row's phone and address are the organisation's switchboard and premises.
_COMPANY = re.compile(
    r"(^|_)(company|organi[sz]ation|business|firm|shipper|carrier|vendor|supplier)(_?name)?$"
)
_ORGANISATION_CONTACT = {"phone", "address"}
_SHAPES = {
    "uuid": r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$",
    "digits": r"^\d{6,}$",
    "small_dotted": r"^\d{1,2}\.\d{1,2}\.\d{1,2}(\.\d{1,3})?$",  # 1.2.10 or 2.0.1.144: a version
    "person": r"^((mr|mrs|ms|miss|dr|prof)\.?\s+)?[^\W\d_][^\W\d_'’.-]*([’'.-][^\W\d_]+)*\.?"
    r"(\s+[^\W\d_][^\W\d_'’.-]*([’'.-][^\W\d_]+)*\.?){0,3}$",
    "address": r"^\d{1,6}[A-Za-z]?\s+\w|^\d{5}(-\d{4})?$|^[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}$|"
    r"^[^\W\d_]+([\s'-][^\W\d_]+){0,3}$",
    "iso_date": r"^\d{4}-\d{2}-\d{2}",
    # a whole postal address in one value: number and street, town, then a US state and ZIP or a UK postcode
    "postal": r"^\d{1,6}\s+[^,]+,\s*[^,]+,\s*([A-Z]{2}\s+\d{5}(-\d{4})?|[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2})$",
}


@dataclass(frozen=True)
class ColumnFinding:
    """What discovery proposes for one column, with its evidence. No sampled values."""

    collection: str
    field: str
    category: str | None
    confidence: float = 0.0
    share: float = 0.0  # of sampled non-null values, the share that match the category
    values: int = 0  # non-null values sampled
    recognizers: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    example: str | None = None  # masked, e.g. j***@e***.com
    identity: str | None = None


@dataclass(frozen=True)
class TableReport:
    collection: str
    rows: int = 0
    method: str = ""
    error: str | None = None
    columns: tuple[ColumnFinding, ...] = ()


@dataclass(frozen=True)
class StoreReport:
    store: str
    tables: tuple[TableReport, ...] = ()
    error: str | None = None
    settings: dict = field(default_factory=dict)

    def findings(self) -> list[ColumnFinding]:
        return [c for t in self.tables for c in t.columns if c.category]


@dataclass(frozen=True)
class _Matches:
    """Per category: weighted share of values fully matched, and of values containing a match."""

    full: dict[str, float]
    any: dict[str, float]
    recognizers: dict[str, set[str]]
    example: dict[str, str]


def tokens(name: str) -> str:
    """`customerEmail2` -> `customer_email2`: hints match on underscore-separated words."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^a-z0-9]+", "_", snake.lower()).strip("_")


def name_hint(table: str, column: str) -> tuple[str | None, bool]:
    """(category the column name suggests, whether the name sounds technical)."""
    col = tokens(column)
    technical = bool(_TECHNICAL.search(col))
    for category, pattern in _HINTS:
        if pattern.search(col):
            return (None if technical else category), technical
    if col == "name" and _PERSON_TABLE.search(tokens(table)):
        return "name", False
    return None, technical


def mask_example(value: str, category: str) -> str:
    """A shape a reviewer can recognise, with nothing left of the person: j***@e***.com."""
    value = value.strip()
    if category == "email" and "@" in value:
        local, _, domain = value.rpartition("@")
        tld = domain.rsplit(".", 1)[-1] if "." in domain else ""
        return f"{local[:1]}***@{domain[:1]}***" + (f".{tld}" if tld else "")
    if len(value) <= 4:
        return "***"
    return f"{value[:1]}***{value[-1:]}" if not value[-1].isdigit() else f"{value[:1]}***"


def _weighted(values: pa.Array, counts: pa.Array, pattern: str | pa.Array) -> float:
    """The share of sampled values (distinct `values`, each seen `counts` times) that match
    `pattern`, or whose entry in a boolean array of the same length is true."""
    if isinstance(pattern, pa.Array):
        hits = pattern
    else:
        hits = pc.match_substring_regex(values, pattern, ignore_case=True)
    total = pc.sum(counts).as_py() or 0
    return (pc.sum(pc.if_else(hits, counts, 0)).as_py() or 0) / total if total else 0.0


def _as_text(
    column: pa.ChunkedArray, max_chars: int, aligned: pa.Array | None = None
) -> tuple[pa.Array, pa.Array | None, list[str]]:
    """Non-null, non-blank values as strings (bytes decoded leniently), cut to `max_chars`; and
    `aligned` (one entry per row, such as the row's country) kept for the same rows."""
    notes = []
    values = column.combine_chunks()
    if pa.types.is_binary(values.type) or pa.types.is_large_binary(values.type):
        decoded = [None if v is None else v.decode("utf-8", "replace") for v in values.to_pylist()]
        values = pa.array(decoded, pa.string())
        notes.append("binary values decoded as UTF-8")
    elif not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    values = pc.utf8_slice_codeunits(pc.utf8_trim_whitespace(values), 0, max_chars)
    keep = pc.fill_null(pc.greater(pc.utf8_length(values), 0), False)
    return values.filter(keep), (aligned.filter(keep) if aligned is not None else None), notes


def _match_ok(category: str, matched: str) -> bool:
    """Shape checks on one match: loose phone and IP patterns also fire on versions and dates."""
    if category == "phone":
        digits = sum(ch.isdigit() for ch in matched)
        return digits >= 9 and not re.search(r"\d{4}-\d{2}-\d{2}", matched)
    if category == "ip_address":
        return not re.fullmatch(_SHAPES["small_dotted"], matched)
    return True


def _analyze(analyzer: Analyzer, distinct: pa.Array, counts: list[int], context: list[str]) -> _Matches:
    """Run Presidio over the distinct values that have the shape of some entity, in chunks of values
    joined into one text, a pass per group of entities; then map matches back to values."""
    total = sum(counts)
    found: dict[int, dict[str, bool]] = {}  # value index: category: whether a match covers it
    recognizers: dict[str, set[str]] = {}
    example: dict[str, str] = {}
    values = distinct.to_pylist()
    for entities, shape in analyzer.passes:
        chosen = (
            range(len(values))
            if shape is None
            else pc.indices_nonzero(pc.match_substring_regex(distinct, shape)).to_pylist()
        )
        for indices in _chunks(values, chosen):
            parts = [values[i] for i in indices]
            starts = list(accumulate((len(p) + len(_SEPARATOR) for p in parts[:-1]), initial=0))
            text = _SEPARATOR.join(parts)
            for r in analyzer.engine.analyze(text, language="en", entities=entities, context=context):
                if r.score < MIN_SCORE:
                    continue
                k = bisect.bisect_right(starts, r.start) - 1
                value = parts[k]
                if r.end > starts[k] + len(value):
                    continue  # crosses into the next value
                category = (
                    TECHNICAL_ENTITY
                    if r.entity_type == TECHNICAL_ENTITY
                    else analyzer.categories[r.entity_type]
                )
                if not _match_ok(category, text[r.start : r.end]):
                    continue
                covers = (r.end - r.start) >= 0.8 * len(value)
                seen = found.setdefault(indices[k], {})
                seen[category] = seen.get(category, False) or covers
                recognizers.setdefault(category, set()).add(
                    (r.recognition_metadata or {}).get("recognizer_name", r.entity_type)
                )
                if covers:
                    example.setdefault(category, value)
    full: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    for index, seen in found.items():
        for category, covers in seen.items():
            anywhere[category] += counts[index]
            if covers:
                full[category] += counts[index]
    share = {c: n / total for c, n in full.items()}
    return _Matches(share, {c: n / total for c, n in anywhere.items()}, recognizers, example)


def _chunks(values: list[str], indices: Iterable[int]) -> Iterator[list[int]]:
    """The indices in runs whose values, joined, stay under `_TEXT_CHUNK` characters."""
    run, size = [], 0
    for index in indices:
        if run and size + len(values[index]) >= _TEXT_CHUNK:
            yield run
            run, size = [], 0
        run.append(index)
        size += len(values[index]) + len(_SEPARATOR)
    if run:
        yield run


def _birth_dates(base: ColumnFinding, dates: pa.ChunkedArray, today: dt.date | None) -> ColumnFinding:
    """Dates under a birth-date name: a date of birth if most fall in plausible birth years."""
    values = dates.drop_null()
    if len(values) == 0:
        return base
    years = pc.year(values)
    latest = (today or dt.date.today()).year - 10
    ok = pc.and_(pc.greater_equal(years, 1900), pc.less_equal(years, latest))
    share = (pc.sum(ok).as_py() or 0) / len(values)
    if share < PREVALENCE:
        return base
    return replace(
        base,
        category="date_of_birth",
        confidence=round(0.6 + 0.3 * share, 2),
        share=round(share, 3),
        notes=(*base.notes, "dates in a plausible range of birth years"),
    )


def classify(
    analyzer: Analyzer,
    collection: str,
    field_name: str,
    column: pa.ChunkedArray,
    max_chars: int = MAX_CHARS,
    today: dt.date | None = None,
    regions: pa.Array | None = None,
    phone_regions: Sequence[str] = (),
) -> ColumnFinding:
    """Propose a category for one sampled column, with the evidence for it. `regions` holds each
    row's country as a phone region (or null), where the table has a country column;
    `phone_regions` are tried after it (the analyzer's own come last)."""
    hint, technical = name_hint(collection, field_name)
    hints = (f"name suggests {hint}",) if hint else (("name sounds technical",) if technical else ())
    base = ColumnFinding(collection, field_name, None, hints=hints)
    kind = column.type
    nonnull = len(column) - column.null_count
    if nonnull == 0:
        return replace(base, notes=("no values in sample",))
    if pa.types.is_boolean(kind):
        return replace(base, values=nonnull, notes=("boolean",))
    if pa.types.is_temporal(kind):
        if hint == "date_of_birth" and (pa.types.is_date(kind) or pa.types.is_timestamp(kind)):
            found = _birth_dates(replace(base, values=nonnull), column, today)
            if found.category:
                return found
        return replace(base, values=nonnull, notes=("dates without a birth-date name",))
    if (
        pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    ) and hint not in ("phone", "credit_card", "national_id"):
        return replace(base, values=nonnull, notes=("numbers without a personal-data name",))

    text, regions, notes = _as_text(column, max_chars, regions)
    if len(text) == 0:
        return replace(base, notes=("only empty values in sample",))
    counted = pc.value_counts(text)
    distinct, counts = counted.field("values"), counted.field("counts")
    base = replace(base, values=len(text), notes=tuple(notes))
    uuid_share = _weighted(distinct, counts, _SHAPES["uuid"])
    if uuid_share >= PREVALENCE:
        return replace(base, notes=(*base.notes, f"{uuid_share:.0%} UUIDs: a technical key"))
    if hint == "date_of_birth" and _weighted(distinct, counts, _SHAPES["iso_date"]) >= PREVALENCE:
        dates = pc.strptime(pc.utf8_slice_codeunits(text, 0, 10), "%Y-%m-%d", "s", error_is_null=True)
        found = _birth_dates(base, pa.chunked_array([dates]), today)
        if found.category:
            return found

    context = [t for t in tokens(field_name).split("_") if t]
    matches = _analyze(analyzer, distinct, counts.to_pylist(), context)
    distinct_ratio = len(distinct) / len(text)
    found = _structured(base, matches, hint, technical, distinct, counts)
    if found.category is None or (hint == "phone" and found.category == "ip_address"):
        configured = list(dict.fromkeys([*phone_regions, *analyzer.phone_regions]))
        found = _national_phones(found, hint, technical, text, regions, configured)
    if found.category:
        # unique values make an identity; a fax number is none a subject gives to be found by
        unique = distinct_ratio >= 0.9 and "fax" not in context
        identity = found.category if found.category in analyzer.identities and unique else None
        return replace(found, identity=identity)
    prose = _prose(base, matches, hint, text)
    if prose.category:
        return prose
    postal = _weighted(distinct, counts, _SHAPES["postal"])
    street = 0.0
    if _weighted(distinct, counts, r"\d") >= PREVALENCE:  # a street line alone has a house number
        street = _weighted(distinct, counts, streets.street_line(distinct))
    if max(postal, street) >= PREVALENCE:
        return replace(
            found,
            category="address",
            confidence=round(0.5 + 0.4 * max(postal, street), 2),
            share=round(max(postal, street), 3),
            recognizers=("postal address shape",) if postal >= street else ("street words and a number",),
        )
    return _by_name(found, hint, distinct, counts)


def _structured(base, matches: _Matches, hint, technical, distinct, counts) -> ColumnFinding:
    """A column whose values are, mostly, one kind of entity."""
    candidates = {c: s for c, s in matches.full.items() if c not in (TECHNICAL_ENTITY, "date")}
    if not candidates:
        return base
    category, share = max(candidates.items(), key=lambda kv: (kv[1], kv[0]))
    if share < PREVALENCE:
        return replace(base, notes=(*base.notes, f"{category} in {share:.0%} of values: below prevalence"))
    overruled = None
    if category == "phone" and hint != "phone" and _weighted(distinct, counts, _SHAPES["digits"]) >= 0.8:
        overruled = "unformatted digit strings without a phone name: identifiers"
    elif (
        category == "ip_address"
        and hint != "ip_address"
        and (technical or _weighted(distinct, counts, _SHAPES["small_dotted"]) >= 0.8)
    ):
        overruled = "dotted numbers that look like versions"
    elif technical and category not in _SELF_VALIDATING:
        overruled = f"{category} values under a technical name"
    if overruled:
        return replace(base, notes=(*base.notes, f"{category} in {share:.0%} of values; {overruled}"))
    confidence = share
    if hint == category:
        confidence += 0.1
    elif hint and hint != "free_text":
        confidence -= 0.1
    return replace(
        base,
        category=category,
        confidence=round(max(0.5, min(confidence, 1.0)), 2),
        share=round(share, 3),
        recognizers=tuple(sorted(matches.recognizers.get(category, ()))),
        example=mask_example(matches.example[category], category),
    )


def _national_phones(found: ColumnFinding, hint, technical, text, regions, configured) -> ColumnFinding:
    """Phones written without a country code, parsed in the regions the rows suggest. A phone name
    (`HomePhone`, `Fax`) with phone-shaped values is enough; without one, the values must be
    possible numbers, and formatted (bare digit strings are identifiers)."""
    if technical:
        return found
    if hint != "phone" and pc.mean(pc.match_substring_regex(text, _SHAPES["digits"])).as_py() >= 0.8:
        return found  # bare digit strings without a phone name: identifiers
    evidence = phones.shares(text, regions, configured, at_least=PREVALENCE)
    share = evidence.shaped if hint == "phone" else evidence.possible
    if share < PREVALENCE:
        return found
    confidence = 0.6 + 0.3 * evidence.possible if hint == "phone" else 0.5 + 0.4 * evidence.possible
    used = ("column name", "phone shape") if hint == "phone" else ("phone shape",)
    if evidence.possible:
        used += ("phonenumbers, the row's country" if evidence.by_row_region else "phonenumbers",)
    return replace(
        found,
        category="phone",
        confidence=round(min(confidence, 1.0), 2),
        share=round(share, 3),
        recognizers=used,
        example=mask_example(evidence.example, "phone"),
        notes=(*found.notes, f"{evidence.possible:.0%} of values possible numbers where the rows suggest"),
    )


def _prose(base, matches: _Matches, hint, text: pa.Array) -> ColumnFinding:
    """Free text: longer values, some of which contain personal data."""
    words = pc.approximate_median(pc.count_substring_regex(text, r"\S+")).as_py() or 0
    inside = {c: s for c, s in matches.any.items() if c in _IN_TEXT or c not in _BUILTIN}
    if words < 4 or not inside:
        return base
    share = max(inside.values())
    confidence = 0.7 + min(0.2, share) + (0.1 if hint == "free_text" else 0.0)
    found_in = ", ".join(f"{c} in {s:.0%}" for c, s in sorted(inside.items()))
    return replace(
        base,
        category="free_text",
        confidence=round(min(confidence, 1.0), 2),
        share=round(sum(inside.values()), 3),
        recognizers=tuple(sorted({r for c in inside for r in matches.recognizers.get(c, ())})),
        notes=(*base.notes, f"prose containing {found_in} of values"),
    )


def _by_name(found: ColumnFinding, hint, distinct, counts) -> ColumnFinding:
    """Names and addresses: patterns cannot see them, so the column name leads and shapes confirm."""
    shape = {"name": "person", "address": "address"}.get(hint or "")
    if shape is None:
        if hint and hint != "free_text":
            return replace(found, notes=(*found.notes, f"values do not look like {hint}"))
        return found
    hits = pc.match_substring_regex(distinct, _SHAPES[shape], ignore_case=True)
    if shape == "address":
        hits = pc.or_(hits, streets.street_like(distinct))
    share = _weighted(distinct, counts, hits)
    if share < PREVALENCE:
        return replace(found, notes=(*found.notes, f"{share:.0%} of values shaped like {hint}"))
    return replace(
        found,
        category=hint,
        confidence=round(0.5 + 0.4 * share, 2),
        share=round(share, 3),
        recognizers=("column name", f"{hint} shape"),
    )


def _organisation_contacts(table: str, columns: tuple[ColumnFinding, ...]) -> tuple[ColumnFinding, ...]:
    """In a table of organisations (a company-name column, no person's name, not named for
    people), phones and addresses are the organisation's, not a person's: not proposed, with a
    note the reviewer sees. Emails stay proposed: they often name a person (jane.doe@acme.com)."""
    if _PERSON_TABLE.search(tokens(table)) or any(c.category == "name" for c in columns):
        return columns
    company = next((c.field for c in columns if _COMPANY.search(tokens(c.field))), None)
    if company is None:
        return columns
    note = f"the table names organisations ({company}) and no person: their contact data"
    return tuple(
        replace(c, category=None, identity=None, notes=(*c.notes, f"{c.category}: {note}"))
        if c.category in _ORGANISATION_CONTACT
        else c
        for c in columns
    )


# Takes a collection's sampled rows and returns them without the restricted ones.
SampleFilter = Callable[[str, pa.Table], pa.Table]


def discover_table(
    analyzer: Analyzer,
    connector: Connector,
    info: CollectionInfo,
    sample_rows: int = SAMPLE_ROWS,
    max_chars: int = MAX_CHARS,
    today: dt.date | None = None,
    unrestricted: SampleFilter | None = None,
    regions: phones.Configured = phones.Configured(),
) -> TableReport:
    try:
        sample = connector.sample(info.name, sample_rows, max_chars)
        rows = unrestricted(info.name, sample.rows) if unrestricted else sample.rows
    except StoreError as exc:
        return TableReport(info.name, error=str(exc))
    tenant_field = regions.tenant_fields.get(info.name) or tenant_column(info)
    by_row = phones.row_regions(rows, tokens, tenant_field, regions)
    columns = tuple(
        classify(analyzer, info.name, name, rows[name], max_chars, today, by_row, regions.store)
        for name in rows.column_names
    )
    columns = _organisation_contacts(info.name, columns)
    return TableReport(info.name, rows.num_rows, sample.method, None, columns)


def discover_store(
    analyzer: Analyzer,
    connector: Connector,
    sample_rows: int = SAMPLE_ROWS,
    max_chars: int = MAX_CHARS,
    only: Sequence[str] = (),
    today: dt.date | None = None,
    unrestricted: SampleFilter | None = None,
    regions: phones.Configured = phones.Configured(),
) -> StoreReport:
    """Every table (or those in `only`); a table that cannot be read is reported and skipped."""
    try:
        infos = connector.collections()
    except StoreError as exc:
        return StoreReport(connector.name, error=str(exc))
    tables = tuple(
        discover_table(analyzer, connector, info, sample_rows, max_chars, today, unrestricted, regions)
        for info in infos
        if not only or info.name in only
    )
    return StoreReport(connector.name, tables, settings={"sample_rows": sample_rows, "max_chars": max_chars})
