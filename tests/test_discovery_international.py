"""Discovery on data written the way many countries write it: national phone formats parsed in the
row's own country, street lines in many languages, and the hard negatives beside them."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa
import yaml

from connectors import SqlConnector
from dsr_pipelines.discover import phones, streets
from dsr_pipelines.discover.recognizers import build_analyzer
from dsr_pipelines.discover.scoring import classify, discover_table

STREET_LINES = yaml.safe_load((Path(__file__).parent / "data" / "street_lines.yaml").read_text())

# (country as the row writes it, a number as that country writes it without its country code)
NATIONAL = [
    ("Germany", "030-0074321"),
    ("Mexico", "(5) 555-4729"),
    ("UK", "(171) 555-7788"),
    ("Spain", "(91) 555 22 82"),
    ("Sweden", "0921-12 34 65"),
    ("Italy", "011-4988260"),
    ("Brazil", "(11) 555-7647"),
    ("Japan", "(03) 3555-5011"),
    ("Norway", "(0)2-953010"),
    ("Finland", "(953) 10956"),
]


@pytest.fixture(scope="module")
def analyzer():
    return build_analyzer(["US"])


def column(values) -> pa.ChunkedArray:
    return pa.chunked_array([pa.array(values, pa.string())])


@pytest.mark.parametrize(
    "written, region",
    [
        ("Germany", "DE"),
        ("Deutschland", "DE"),
        ("Allemagne", "DE"),
        ("Alemania", "DE"),
        ("UK", "GB"),
        ("United Kingdom", "GB"),
        ("USA", "US"),
        (" Sweden ", "SE"),
        ("se", "SE"),
        ("Schweiz", "CH"),
        ("Atlantis", None),
        ("", None),
    ],
)
def test_country_names_in_many_languages_give_a_phone_region(written, region):
    assert phones.region_of(written) == region


def test_a_country_column_gives_each_row_its_region():
    rows = pa.table({"Country": ["Germany", "Mexico", None, "Narnia"], "Region": ["BC", "CA", "WA", "SP"]})
    assert phones.row_regions(rows, str.lower).to_pylist() == ["DE", "MX", None, None]
    # a column of two-letter state codes is not a country column, whatever its codes collide with
    assert phones.row_regions(rows.drop_columns(["Country"]), str.lower) is None
    # where the country column is empty, the row's tenant's first configured region (a tenant id
    # may be a number)
    rows = pa.table({"Country": ["Germany", None, "France"], "tenant": [1, 2, 2]})
    tenants = phones.Configured(tenants={"1": ("AT", "CH"), "2": ("ES",)})
    assert phones.row_regions(rows, str.lower, "tenant", tenants).to_pylist() == ["DE", "ES", "FR"]


@pytest.mark.parametrize(
    "value",
    [
        "(206) 555-0100 x3651",
        "206-555-0100 ext. 12",
        "+1-206-555-0100",
        "001-206-555-0100",
        "206.555.0100",
        "(206) 555 0100",
        "+44 20 7946 0018",
    ],
)
def test_extensions_and_prefixes_are_phone_formats(value):
    found = phones.shares(pa.array([value]), None, ["US"])
    assert (found.shaped, found.possible) == (1.0, 1.0)


@pytest.mark.parametrize("value", ["2024-03-05", "05.03.2024", "192.168.10.20", "10248", "1,234.50", "x12"])
def test_dates_addresses_and_short_numbers_are_not_phones(value):
    assert phones.shares(pa.array([value]), None, ["US"]).possible == 0.0


def test_a_phone_column_in_national_formats_is_found_through_the_rows_countries(analyzer):
    countries = pa.array([c for c, _ in NATIONAL] * 20, pa.string())
    numbers = column([n for _, n in NATIONAL] * 20)
    regions = phones.row_regions(pa.table({"Country": countries}), str.lower)
    # Without the rows' countries, parsed in the US only: most of these are no US number
    assert classify(analyzer, "customers", "reach", numbers).category is None
    found = classify(analyzer, "customers", "reach", numbers, regions=regions)
    assert found.category == "phone" and "phonenumbers, the row's country" in found.recognizers
    assert found.example == "0***"  # masked: nothing of the number past its first character
    # The store's configured regions stand in for a missing country column
    mexican = column(["(5) 555-4729", "(5) 555-3932", "(55) 5555-0101"] * 20)
    assert classify(analyzer, "customers", "reach", mexican).category is None
    assert classify(analyzer, "customers", "reach", mexican, phone_regions=["MX"]).category == "phone"


@pytest.mark.parametrize("name", ["HomePhone", "MobileNo", "tel", "Fax", "phone_number"])
def test_a_phone_name_with_phone_shaped_values_is_a_phone(analyzer, name):
    # France's numbers before 1996 (eight digits) are possible nowhere today: the name carries them
    old_french = column(["88.60.15.31", "91.24.45.40", "40.67.88.88", "20.16.10.16"] * 10)
    found = classify(analyzer, "customers", name, old_french)
    assert found.category == "phone" and "column name" in found.recognizers


def test_numbers_that_are_not_phones_stay_unproposed(analyzer):
    cases = {
        "Extension": ["5467", "3457", "428", "465"],  # a desk's extension: too short for a number
        "ordered_on": ["2024-03-05", "2024-03-06", "2023-12-31"],
        "origin": ["88.60.15.31", "91.24.45.40", "40.67.88.88"],  # dotted quads, no phone name
        "order_no": ["10248", "10249", "10250"],
        "total": ["1,234.50", "99.90", "12,000.00"],
    }
    for name, values in cases.items():
        found = classify(analyzer, "orders", name, column(values * 20))
        assert found.category in (None, "ip_address"), (name, found)
        assert found.category != "phone"


@pytest.mark.parametrize("line", STREET_LINES["line"])
def test_a_street_line_with_a_street_word_and_number_is_found_by_its_value(line):
    assert streets.street_line(pa.array([line])).to_pylist() == [True]


@pytest.mark.parametrize("line", STREET_LINES["shape"])
def test_a_street_line_without_a_street_word_needs_an_address_name(line):
    value = pa.array([line])
    assert streets.street_like(value).to_pylist() == [True]
    assert streets.street_line(value).to_pylist() == [False]


@pytest.mark.parametrize("value", STREET_LINES["not"])
def test_products_quantities_and_notes_are_not_street_lines(value):
    assert streets.street_line(pa.array([value])).to_pylist() == [False]


def test_address_columns_in_many_languages(analyzer):
    lines = STREET_LINES["line"] + STREET_LINES["shape"]
    assert classify(analyzer, "customers", "Address", column(lines)).category == "address"
    # A column named for nothing holds street lines: the street words carry it
    found = classify(analyzer, "customers", "line_a", column(STREET_LINES["line"]))
    assert found.category == "address" and found.recognizers == ("street words and a number",)
    # Pack sizes and product names under a neutral name stay what they are
    assert classify(analyzer, "products", "QuantityPerUnit", column(STREET_LINES["not"])).category is None


def _sqlite(tmp_path, ddl: str, rows: list[dict], table: str) -> SqlConnector:
    url = f"sqlite:///{tmp_path}/t.db"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(ddl))
        conn.execute(sa.table(table, *(sa.column(k) for k in rows[0])).insert(), rows)
    engine.dispose()
    return SqlConnector("t", url)


def test_an_organisations_phone_is_not_a_persons(analyzer, tmp_path):
    numbers = ["(503) 555-9831", "(503) 555-3199", "(503) 555-9931", "(171) 555-2222"]
    shippers = _sqlite(
        tmp_path,
        "CREATE TABLE Shippers (ShipperID INTEGER PRIMARY KEY, CompanyName TEXT, Phone TEXT)",
        [{"ShipperID": i, "CompanyName": f"Carrier {i}", "Phone": n} for i, n in enumerate(numbers)],
        "Shippers",
    )
    info = shippers.collections()[0]
    phone = {c.field: c for c in discover_table(analyzer, shippers, info).columns}["Phone"]
    shippers.close()
    assert phone.category is None and phone.share > 0
    assert any("organisations (CompanyName) and no person" in n for n in phone.notes)


def test_a_contact_persons_phone_beside_a_company_is_personal(analyzer, tmp_path):
    names = ["Ana Trujillo", "Hanna Moos", "Thomas Hardy", "Elizabeth Lincoln", "Yang Wang"] * 2
    rows = [
        {"SupplierID": i, "CompanyName": f"Firm {i}", "ContactName": name, "Country": country, "Phone": phone}
        for i, ((country, phone), name) in enumerate(zip(NATIONAL, names, strict=True))
    ]
    ddl = "CREATE TABLE Suppliers (SupplierID INTEGER PRIMARY KEY, CompanyName TEXT, ContactName TEXT, "
    store = _sqlite(tmp_path, ddl + "Country TEXT, Phone TEXT)", rows, "Suppliers")
    info = store.collections()[0]
    found = {c.field: c.category for c in discover_table(analyzer, store, info).columns}
    store.close()
    assert (found["ContactName"], found["Phone"]) == ("name", "phone")


def test_a_stores_phone_regions_must_be_country_codes():
    from pydantic import ValidationError

    from dsr_pipelines.core.config import StoreConfig

    store = StoreConfig(name="crm", kind="sql", url="sqlite://", phone_regions=["de", "uk"])
    assert phones.as_regions(store.phone_regions) == ["DE", "GB"]
    with pytest.raises(ValidationError, match="not two-letter country codes: Germany"):
        StoreConfig(name="crm", kind="sql", url="sqlite://", phone_regions=["Germany"])


@pytest.mark.parametrize("blind", [False, True], ids=["as-published", "telling-names-renamed"])
def test_northwind_a_schema_nobody_here_wrote(analyzer, blind):
    """Every hand-labeled personal column of Northwind in its category, and nothing else proposed;
    blind, with Phone, Fax, HomePhone, Address and ShipAddress renamed, the values alone tell."""
    from bench.northwind import score

    scored = score(analyzer, 1000, blind)
    wrong = {column: (expected, scored.proposed[column]) for column, expected in scored.truth.items()}
    wrong = {column: pair for column, pair in wrong.items() if pair[0] != pair[1]}
    assert wrong == {}
    assert sum(1 for category in scored.truth.values() if category) == 14


def test_a_tenants_regions_read_its_rows_numbers(tmp_path):
    """No country column: each row's tenant says where its numbers were written (dsr.yaml
    `tenants: {acme: {phone_regions: [MX]}}`), before the store's and discovery's regions."""
    import json

    from .conftest import Project

    mexican = ["(5) 555-4729", "(5) 555-3932", "(55) 5555-0101", "(81) 8555-0199"]
    spanish = ["(91) 555 22 82", "(93) 203 4560", "(95) 555 82 82", "(98) 598 76 54"]
    rows = [{"id": i, "tenant_id": "acme", "reach": n} for i, n in enumerate(mexican * 5)]
    rows += [{"id": 100 + i, "tenant_id": "globex", "reach": n} for i, n in enumerate(spanish * 5)]
    ddl = "CREATE TABLE contacts (id INTEGER PRIMARY KEY, tenant_id TEXT, reach TEXT)"
    _sqlite(tmp_path, ddl, rows, "contacts").close()
    url = f"sqlite:///{tmp_path}/t.db"
    project = Project(tmp_path, url, [])

    def reach(tenants: dict) -> dict:
        project.write_config(stores=[{"name": "crm", "kind": "sql", "url": url}], tenants=tenants)
        found = json.loads(project.cli("discover", "--json").stdout)["stores"][0]["tables"][0]["columns"]
        return next(c for c in found if c["field"] == "reach")

    assert reach({"acme": {}, "globex": {}})["category"] is None  # parsed in the US: no number
    found = reach({"acme": {"phone_regions": ["MX"]}, "globex": {"phone_regions": ["ES"]}})
    assert found["category"] == "phone" and "phonenumbers, the row's country" in found["recognizers"]
    assert reach({"acme": {"phone_regions": ["MX"]}, "globex": {}})["category"] is None  # half of them
