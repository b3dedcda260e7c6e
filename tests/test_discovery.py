"""Column classification: combined signals, offline engine, countries, custom recognizers."""

from __future__ import annotations

import hashlib
import socket
from dataclasses import replace

import pyarrow as pa
import pytest
from faker import Faker

from dsr_pipelines.core.errors import ConfigError
from dsr_pipelines.discover.recognizers import build_analyzer, load_custom_recognizers
from dsr_pipelines.discover.scoring import classify, mask_example, name_hint


@pytest.fixture(scope="module")
def analyzer():
    return build_analyzer(["US"])


@pytest.fixture(scope="module")
def fake():
    f = Faker("en_US")
    f.seed_instance(5)
    return f


def column(values) -> pa.ChunkedArray:
    return pa.chunked_array([pa.array(values)])


def test_an_email_column_is_email_and_an_identity(analyzer, fake):
    found = classify(analyzer, "users", "contact", column([fake.unique.email() for _ in range(200)]))
    assert (found.category, found.identity) == ("email", "email")
    assert found.share == 1.0 and "OfflineEmailRecognizer" in found.recognizers
    assert found.example and "***@" in found.example


def test_one_email_in_prose_is_free_text_not_an_email_column(analyzer, fake):
    notes = [fake.paragraph(nb_sentences=2) for _ in range(300)]
    notes[40] += f" Forwarded by {fake.email()}."
    found = classify(analyzer, "tickets", "notes", column(notes))
    assert found.category == "free_text"
    assert found.example is None  # prose is never quoted, even masked
    assert classify(analyzer, "tickets", "notes", column(notes[:40] + notes[41:])).category is None


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("order_uuid", lambda f, i: str(f.uuid4())),
        ("sku", lambda f, i: f"SKU-{10000 + i}-XL"),
        ("order_number", lambda f, i: f"ORD-2026-{i:06d}"),
        ("app_version", lambda f, i: f"{i % 9 + 1}.{i % 20}.{i % 30}.{i % 200}"),
        ("fw", lambda f, i: f"{i % 9 + 1}.{i % 20}.{i % 30}.{i % 200}"),  # no telling name: the shape decides
        ("email_sha256", lambda f, i: hashlib.sha256(f.email().encode()).hexdigest()),
        ("tracking_code", lambda f, i: str(4_155_550_000 + i * 7)),  # shaped like US phone numbers
        ("created", lambda f, i: f.date_time_between("-2y").isoformat(sep=" ")),
        ("description", lambda f, i: f.paragraph(nb_sentences=3)),
        ("name", lambda f, i: f.catch_phrase()),  # a product's name (table: products)
        ("email", lambda f, i: f"SKU-{10000 + i}"),  # a misleading name: values decide
    ],
)
def test_hard_negatives_are_not_personal(analyzer, fake, name, make):
    found = classify(analyzer, "products", name, column([make(fake, i) for i in range(300)]))
    assert found.category is None, found


def test_cards_need_luhn_and_ibans_their_checksum(analyzer, fake):
    cards = [fake.credit_card_number(card_type="visa16") for _ in range(200)]
    assert classify(analyzer, "t", "ref", column(cards)).category == "credit_card"
    broken = [c[:-1] + str((int(c[-1]) + 1) % 10) for c in cards]  # last digit off: Luhn fails
    assert classify(analyzer, "t", "ref", column(broken)).category is None
    ibans = [fake.iban() for _ in range(200)]
    assert classify(analyzer, "t", "acct", column(ibans)).category == "iban"
    bad = [i[:2] + ("00" if i[2:4] != "00" else "01") + i[4:] for i in ibans]  # check digits wrong
    assert classify(analyzer, "t", "acct", column(bad)).category is None


def test_names_and_addresses_need_the_column_name_to_lead(analyzer, fake):
    names = [fake.name() for _ in range(200)]
    assert classify(analyzer, "customers", "name", column(names)).category == "name"
    assert classify(analyzer, "customers", "full_name", column(names)).category == "name"
    assert classify(analyzer, "products", "name", column(names)).category is None
    streets = [fake.street_address() for _ in range(200)]
    assert classify(analyzer, "shipments", "street", column(streets)).category == "address"
    full = [fake.address().replace("\n", ", ") for _ in range(200)]
    assert classify(analyzer, "imports", "misc", column(full)).category == "address"


def test_types_numbers_and_dates_need_their_names(analyzer, fake):
    dobs = pa.chunked_array([pa.array([fake.date_of_birth() for _ in range(100)], pa.date32())])
    assert classify(analyzer, "people", "dob", dobs).category == "date_of_birth"
    assert classify(analyzer, "people", "shipped_on", dobs).category is None
    times = pa.chunked_array([pa.array([3_600_000_000 * (i % 24) for i in range(50)], pa.time64("us"))])
    assert classify(analyzer, "people", "birth_time", times).category is None  # a time of day, not a date
    ids = pa.chunked_array([pa.array([4_155_550_100 + i for i in range(100)], pa.int64())])
    assert classify(analyzer, "t", "external_ref", ids).category is None


def test_phone_columns_formatted_or_named(analyzer, fake):
    phones = [fake.phone_number() for _ in range(200)]
    assert classify(analyzer, "t", "contact_data", column(phones)).category == "phone"
    digits = [str(2_125_550_000 + i) for i in range(200)]
    assert classify(analyzer, "t", "mobile", column(digits)).category == "phone"


def test_empty_null_and_long_values(analyzer, fake):
    assert classify(analyzer, "t", "email", pa.chunked_array([pa.array([], pa.string())])).category is None
    nulls = classify(analyzer, "t", "email", pa.chunked_array([pa.array([None] * 50, pa.string())]))
    assert nulls.category is None and "no values in sample" in nulls.notes
    long = [("lorem ipsum " * 50_000) + fake.email() for _ in range(3)]  # the email lies past the cap
    assert classify(analyzer, "t", "blob_text", column(long), max_chars=2000).category is None


def test_country_recognizers_only_for_enabled_countries():
    nhs = "401 023 2137"  # a valid UK NHS number, and shaped like a phone number
    for countries, expected in (([], False), (["US"], False), (["GB"], True)):
        engine = build_analyzer(countries).engine
        entities = {r.entity_type for r in engine.analyze(nhs, language="en")}
        assert ("UK_NHS" in entities) is expected, countries


def test_discovery_never_touches_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    analyzer = build_analyzer(["US"])
    found = classify(analyzer, "t", "email", column([f"u{i}@example.co.uk" for i in range(50)]))
    assert found.category == "email"


def test_custom_recognizers_from_yaml(tmp_path, fake):
    path = tmp_path / "recognizers.yaml"
    path.write_text(
        "recognizers:\n"
        "  - name: customer_number\n"
        "    regex: '\\bCUST-\\d{6}\\b'\n"
        "    score: 0.7\n"
        "    context: [customer]\n"
        "    identity: true\n"
    )
    analyzer = build_analyzer([], load_custom_recognizers(path))
    values = [f"CUST-{100000 + i * 13}" for i in range(100)]
    found = classify(analyzer, "loyalty", "member_no", column(values))
    assert (found.category, found.identity) == ("customer_number", "customer_number")
    assert found.recognizers == ("customer_number",)

    path.write_text("recognizers:\n  - name: broken\n    regex: '(unclosed'\n")
    with pytest.raises(ConfigError, match=r"recognizers\.0\.regex.*not a valid regular expression"):
        load_custom_recognizers(path)


def test_name_hints_and_masked_examples():
    assert name_hint("orders", "customerEmail") == ("email", False)
    assert name_hint("orders", "email_hash") == (None, True)
    assert name_hint("users", "name") == ("name", False)
    assert name_hint("products", "name") == (None, False)
    assert mask_example("jane.doe@example.com", "email") == "j***@e***.com"
    assert mask_example("+44 7700 900123", "phone") == "+***"
    assert "Smith" not in mask_example("Jane Smith", "name")


def hard_columns(fake) -> dict[str, list[str]]:
    """Columns where a pre-filter could go wrong: every entity in many shapes, near misses, and
    values with digits but no entity."""
    n = 300
    formats = ["+1 ### ### ####", "(###) ###-####", "###.###.####", "+44 (0)20 #### ####", "###-####"]
    return {
        "email": [fake.email() for _ in range(n)],
        "phone": [fake.numerify(formats[i % len(formats)]) for i in range(n)],
        "phone_ext": [fake.numerify("###-###-#### x###") for _ in range(n)],
        "ipv4": [fake.ipv4() for _ in range(n)],
        "ipv6": [fake.ipv6() for _ in range(n)],
        "iban": [fake.iban() for _ in range(n)],
        "card": [fake.credit_card_number() for _ in range(n)],
        "ssn": [fake.ssn() for _ in range(n)],
        "born": [fake.date(pattern="%m/%d/%Y") for _ in range(n)],
        "uuid": [fake.uuid4() for _ in range(n)],
        "token": [hashlib.md5(str(i).encode()).hexdigest() for i in range(n)],
        "sku": [f"SKU-{fake.random_int(10000, 99999)}" for _ in range(n)],
        "notes": [f"{fake.sentence()} call {fake.phone_number()} or {fake.email()}" for _ in range(n)],
        "name": [fake.name() for _ in range(n)],
        "city": [fake.city() for _ in range(n)],
        "code": [fake.bothify("??-ACME").upper() for _ in range(n)],
    }


@pytest.mark.parametrize("custom", ["letters only", "not RE2"])
def test_the_prefilter_changes_no_finding(tmp_path, fake, custom):
    regex = r"\b[A-Z]{2}-ACME\b" if custom == "letters only" else r"(?<![A-Z])[A-Z]{2}-ACME\b"
    path = tmp_path / "recognizers.yaml"
    path.write_text(f"recognizers:\n  - name: partner_code\n    regex: '{regex}'\n    score: 0.7\n")
    fast = build_analyzer(["US", "GB"], load_custom_recognizers(path))
    assert (fast.other_shape is None) == (custom == "not RE2")  # a look-behind: no pre-filter
    slow = replace(fast, prefilter=False)
    for name, values in hard_columns(fake).items():
        assert classify(fast, "t", name, column(values)) == classify(slow, "t", name, column(values)), name
    assert classify(fast, "t", "code", column(hard_columns(fake)["code"])).category == "partner_code"
