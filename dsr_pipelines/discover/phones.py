"""Phone numbers written the national way, without a country code: `030-0074321`, `(5) 555-4729`.

Presidio's phone recognizer parses each value in a fixed list of regions. A controller's tables
mix countries, and a row often says which: its country column. So a value is parsed in the
regions the data suggests, in order: the row's own country (its country column, else its tenant's
configured region), the store's configured regions, then discovery's countries and the default
region. Country names are read in every language phonenumbers carries (`Deutschland`,
`Allemagne`, `Germany` are all DE), offline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from phonenumbers.geodata.locale import LOCALE_DATA

# A value that could be a phone number: digits with the separators phones are written with, an
# optional international or trunk prefix (`+1-`, `001-`), an extension (`x3651`, `ext. 12`).
# Checked by pyarrow (RE2) on a whole column before any value is parsed.
_EXT = r"\s*(x|extn?\.?|#)\s*\d{1,6}"  # `x3651`, `ext. 12`, `extn 4`, `#7`
SHAPE = rf"^\+?[\d\s().\-/]*\d[\d\s().\-/]*({_EXT})?$"
_EXTENSION = re.compile(_EXT + "$", re.IGNORECASE)
# Dates and IPv4 addresses fit SHAPE too; they are numbers of another kind.
_NOT_PHONE = re.compile(
    r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$|^\d{1,2}[-/.]\d{1,2}[-/.]\d{4}$|^\d{1,3}(\.\d{1,3}){3}$"
)
MIN_DIGITS, MAX_DIGITS = 7, 15  # ITU-T E.164 allows 15; national numbers are rarely under 7

# Names phonenumbers does not carry as a country's display name, and codes people write.
_ALIASES = {
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "united states of america": "US",
    "america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "holland": "NL",
    "the netherlands": "NL",
    "czech republic": "CZ",
    "south korea": "KR",
    "korea": "KR",
    "russia": "RU",
    "uae": "AE",
}
_COUNTRY_NAME = re.compile(r"(^|_)(country|country_?code|nation|land|pays|pais)($|_)")


@cache
def _country_names() -> dict[str, str]:
    """Every display name of every region, in every language phonenumbers has, casefolded."""
    names: dict[str, str] = {}
    for region, by_language in LOCALE_DATA.items():
        for name in by_language.values():
            for _ in range(3):  # `*aa`: the same name as the `aa` language's (one entry names itself)
                if name.startswith("*"):
                    name = by_language.get(name[1:], "")
            if name and not name.startswith("*"):
                names.setdefault(name.casefold(), region)
    return names


def as_regions(codes: Sequence[str]) -> list[str]:
    """Configured country codes as phonenumbers regions, in order, once each (UK is GB there)."""
    return list(dict.fromkeys("GB" if c.upper() == "UK" else c.upper() for c in codes))


def region_of(country: str) -> str | None:
    """The phonenumbers region for a country name or code, or None: `Germany` -> DE, `UK` -> GB."""
    key = country.strip().casefold()
    if not key:
        return None
    if len(key) == 2 and key.upper() in phonenumbers.SUPPORTED_REGIONS:
        return key.upper()
    return _ALIASES.get(key) or _country_names().get(key)


@dataclass(frozen=True)
class Configured:
    """The regions configuration gives, beyond a row's own country column: the store's, and each
    tenant's (for the rows of a collection whose tenant field names it: the datamap's, else a
    column named tenant or tenant_id)."""

    store: tuple[str, ...] = ()
    tenants: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # tenant: its regions
    tenant_fields: Mapping[str, str] = field(default_factory=dict)  # collection: its mapped tenant field


def row_regions(
    rows: pa.Table, name_tokens, tenant_field: str | None = None, configured: Configured = Configured()
) -> pa.Array | None:
    """Per row, the region its data suggests, or null: the country its country column names (a
    column named like a country that mostly holds country names or codes), else the first region
    configured for the row's tenant. None when neither applies to the table."""
    country = _country_column(rows, name_tokens)
    tenants = {t: r[0] for t, r in configured.tenants.items() if r}
    if tenant_field not in rows.column_names or not tenants:
        return country
    keys = pa.array(list(tenants), pa.string())
    tenant = rows[tenant_field].combine_chunks().cast(pa.string())  # a tenant id may be a number
    of_tenant = pc.take(pa.array(list(tenants.values()), pa.string()), pc.index_in(tenant, keys))
    return of_tenant if country is None else pc.coalesce(country, of_tenant)


def _country_column(rows: pa.Table, name_tokens) -> pa.Array | None:
    for column in rows.column_names:
        if not _COUNTRY_NAME.search(name_tokens(column)):
            continue
        values = rows[column]
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            continue
        values = values.combine_chunks().cast(pa.string())
        distinct = pc.unique(values.drop_null()).to_pylist()
        codes = pa.array([region_of(v) for v in distinct], pa.string())
        regions = pc.take(codes, pc.index_in(values, pa.array(distinct, pa.string())))
        nonnull = len(values) - values.null_count
        if nonnull and (len(regions) - regions.null_count) / nonnull >= 0.6:
            return regions
    return None


@dataclass(frozen=True)
class PhoneShares:
    """Of a column's non-empty values: the share shaped like a phone number, and the share that
    phonenumbers reads as a possible number in a region the data suggests."""

    shaped: float
    possible: float
    by_row_region: bool  # some values were read in their row's own region, which is not configured
    example: str | None = None  # one phone-shaped value, for the caller to mask


def candidates(values: pa.Array) -> pa.Array:
    """Whether each value has a phone's shape and digit count (pyarrow over the whole column)."""
    digits = pc.utf8_length(pc.replace_substring_regex(values, f"{_EXT}$|\\D", ""))
    return pc.and_(
        pc.match_substring_regex(values, SHAPE, ignore_case=True),
        pc.and_(pc.greater_equal(digits, MIN_DIGITS), pc.less_equal(digits, MAX_DIGITS)),
    )


def _possible(value: str, regions: Sequence[str]) -> str | None:
    """The first region in which `value` is a possible number ('+' for an international one)."""
    number = _EXTENSION.sub("", value).strip()
    if _NOT_PHONE.match(number):
        return None
    if re.match(r"^00[1-9]", number):  # an international call prefix written out: 001-206-...
        number = "+" + number[2:]
    for region in ("ZZ",) if number.startswith("+") else regions:
        try:
            parsed = phonenumbers.parse(number, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(parsed):
            return "+" if region == "ZZ" else region
    return None


def shares(
    text: pa.Array, regions: pa.Array | None, configured: Sequence[str], at_least: float = 0.0
) -> PhoneShares:
    """Phone evidence for a column's values (`text`, non-empty), with each row's suggested region
    (`regions`, aligned with `text`, or None). Under `at_least` values shaped like phones, none is
    parsed (phonenumbers is the slow part)."""
    total = len(text)
    if total == 0:
        return PhoneShares(0.0, 0.0, False)
    shaped = candidates(text)
    n_shaped = pc.sum(shaped).as_py() or 0
    if n_shaped == 0 or n_shaped / total < at_least:
        return PhoneShares(n_shaped / total, 0.0, False)
    example = text.filter(shaped)[0].as_py()
    pairs = pa.table({"v": text, "r": regions if regions is not None else pa.nulls(total, pa.string())})
    pairs = pairs.filter(shaped).group_by(["v", "r"]).aggregate([([], "count_all")])
    possible, own = 0, False
    for value, region, count in zip(*(pairs[c].to_pylist() for c in ("v", "r", "count_all")), strict=True):
        order = [region, *(r for r in configured if r != region)] if region else list(configured)
        found = _possible(value, order)
        if found:
            possible += count
            own = own or (found == region and region not in configured)
    return PhoneShares(n_shaped / total, possible / total, own, example)
