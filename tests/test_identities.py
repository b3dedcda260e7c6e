"""Identity normalisation and the project key."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag
from hypothesis import given
from hypothesis import strategies as st

from dsr_pipelines.core.durations import Duration, parse_duration
from dsr_pipelines.core.errors import ConfigError, IdentityError
from dsr_pipelines.core.identities import normalise
from dsr_pipelines.core.keys import Keys, MasterKey


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("email", "  Ann.Lee@Example.COM ", "ann.lee@example.com"),
        ("phone", "+44 7700 900123", "+447700900123"),
        ("phone", "(020) 7946 0958", "+442079460958"),
        ("customer_id", " 42 ", "42"),
    ],
)
def test_normalise(kind, raw, expected):
    assert normalise(kind, raw, default_region="GB").value == expected


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        ("email", ""),
        ("email", "   "),
        ("email", "ann@"),
        ("email", "a b@example.com"),
        ("email", "%@example.com"),
        ("phone", "12"),
        ("phone", "0207 946 0958"),
        ("customer_id", "4*"),
        ("Bad Kind", "x"),
        ("user_id", "a b"),
    ],
)
def test_refused(kind, raw):
    with pytest.raises(IdentityError) as info:
        normalise(kind, raw)
    assert raw.strip() == "" or raw not in str(info.value)


emails = st.from_regex(r"[A-Za-z0-9._+-]{1,20}@[A-Za-z0-9]{1,10}\.[A-Za-z]{2,6}", fullmatch=True)


@given(emails, st.sampled_from(["", " ", "\t"]))
def test_normalising_twice_changes_nothing(email, pad):
    once = normalise("email", pad + email + pad)
    assert normalise("email", once.value) == once
    assert repr(once).count(once.value) == 0


def test_subject_refs_are_keyed_and_encryption_is_bound_to_context():
    a, b = Keys.derived(MasterKey(b"a" * 32)), Keys.derived(MasterKey(b"b" * 32))
    ident = normalise("email", "ann@example.com")
    assert a.subject_ref(ident) != b.subject_ref(ident) and len(a.subject_ref(ident)) == 64
    blob = a.encrypt(b"secret", "request:1:0")
    assert a.decrypt(blob, "request:1:0") == b"secret"
    with pytest.raises(InvalidTag):
        a.decrypt(blob, "request:2:0")


def test_durations():
    assert parse_duration("P1M").add_to(__import__("datetime").date(2026, 1, 31)).isoformat() == "2026-02-28"
    assert parse_duration("P2W") == Duration(days=14)
    assert parse_duration("P7Y") == Duration(years=7)
    for bad in ("P", "30D", "P1.5M", "", "PT1H"):
        with pytest.raises(ConfigError):
            parse_duration(bad)
