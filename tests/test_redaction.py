"""Free-text redaction: only the subject's spans go, and erasure applies it idempotently."""

from __future__ import annotations

import json
import re
from unittest.mock import patch

import pyarrow as pa
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors import REDACTED
from dsr_pipelines.demo import shop
from dsr_pipelines.plan.datamap.model import parse_datamap
from dsr_pipelines.plan.lookup import REQUEST
from dsr_pipelines.plan.redaction import Terms, _spans, redact, subject_terms

R = REDACTED


def test_only_the_subjects_spans_are_redacted():
    terms = Terms(
        literals=frozenset({"ann@x.com", "ann lee"}),
        names=frozenset({"Ann", "Lee"}),
        phones=frozenset({"+447700900123"}),
    )
    text = "Ann Lee (ann@x.com, 07700 900123) cc joann@x.com and Bob on +44 7700 900999; ann likes annuals."
    assert (
        redact(text, terms) == f"{R} ({R}, {R}) cc joann@x.com and Bob on +44 7700 900999; ann likes annuals."
    )
    assert redact("Call +44 (0)7700-900123 now", terms) == f"Call {R} now"
    assert redact("nothing here", terms) == "nothing here"
    assert redact("Ann", Terms()) == "Ann"


@settings(max_examples=300, deadline=None)
@given(
    before=st.text(max_size=20),
    after=st.text(max_size=20),
    mention=st.sampled_from(
        [
            "ANN@X.COM",
            "Ann@x.com",
            "ann lee",
            "Ann",
            "Lee",
            "+44 7700 900123",
            "07700-900-123",
            "(0)7700 900123",
            "٠٧٧٠٠ ٩٠٠١٢٣",
            "ΝΙΚΌΛΑΟΣ",
            "nikolaos",
            "900123",
            "",
        ]
    ),
)
def test_the_quick_check_never_hides_a_span(before, after, mention):
    """A text is searched only when each term could be in it: never a span lost by skipping."""
    terms = Terms(
        literals=frozenset({"ann@x.com", "ann lee", "νικόλαος"}),
        names=frozenset({"Ann", "Lee"}),
        phones=frozenset({"+447700900123"}),
    )
    text = f"{before} {mention} {after}"
    with patch("dsr_pipelines.plan.redaction._may_mention", return_value=True):
        everywhere = redact(text, terms)
    assert redact(text, terms) == everywhere


def _pattern_spans(text: str, terms: Terms) -> set[tuple[int, int]]:
    """The spans the redaction's rules describe, as regular expressions (what the plain substring
    search replaced): literals ignoring case, not inside a longer word or address; names as words."""
    spans = set()
    if terms.literals:
        words = "|".join(re.escape(t) for t in sorted(terms.literals, key=len, reverse=True))
        pattern = re.compile(rf"(?<![\w.+-])(?:{words})(?![\w-])", re.IGNORECASE)
        spans |= {m.span() for m in pattern.finditer(text)}
    if terms.names:
        words = "|".join(re.escape(t) for t in sorted(terms.names, key=len, reverse=True))
        spans |= {m.span() for m in re.finditer(rf"\b(?:{words})\b", text)}
    return spans


@settings(max_examples=3000, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(
            ["ann", "ANN", "Ann", "@x.com", " lee", " Lee", "LEE", "jo", "x-1", "Éla", "ÉLA", "straße"]
            + ["STRASSE", "ΣΑΣ", "σας", "İnn", "ß", " ", ".", "-", "+", "_", "1", "é"]
        ),
        max_size=12,
    ).map("".join),
    literals=st.sets(
        st.sampled_from(["ann@x.com", "ann lee", "ann", "straße", "σας", "i̇nn", "x-1"]), max_size=4
    ),
    names=st.sets(st.sampled_from(["Ann", "Lee", "Éla", "Ann-"]), max_size=2),
)
def test_substring_search_finds_every_span_the_patterns_find(text, literals, names):
    """Every character the equivalent patterns would redact is redacted (full case folding may find
    more: STRASSE for straße, İnn for i̇nn), and exactly those where folding is one character for one."""
    terms = Terms(literals=frozenset(literals), names=frozenset(names))
    found = {i for start, end in _spans(text, terms) for i in range(start, end)}
    expected = {i for start, end in _pattern_spans(text, terms) for i in range(start, end)}
    assert expected <= found
    if all(t.casefold() == t.lower() and len(t.lower()) == len(t) for t in (text, *literals)):
        assert found == expected


def test_terms_come_from_the_subjects_own_rows():
    store = parse_datamap({"stores": {"shop": shop.DATAMAP}}).stores["shop"]
    found = {
        "customers": pa.table(
            {
                "id": [1, 2],
                "email": ["a@x.com", "hash:abc"],
                "phone": ["+14155550100", None],
                "name": ["Dr Ada Byron", "B"],
                REQUEST: [10, 11],
            }
        ),
        "support_tickets": pa.table({"id": [5], "email": ["a@x.com"], "body": ["free text"], REQUEST: [10]}),
    }
    terms = subject_terms(store, found)
    assert terms[10].literals == {"a@x.com", "dr ada byron"}
    assert terms[10].names == {"Ada", "Byron"} and terms[10].phones == {"+14155550100"}
    assert 11 not in terms  # masked and too-short values are not terms


def test_erasure_redacts_a_ticket_and_keeps_others_mentioned(project):
    p = project
    subject, other = p.people[0], p.people[1]
    engine = p.engine()
    text = f"From {subject.name}: please also update {other.email} and call me on {subject.phone}"
    with engine.begin() as conn:
        conn.execute(
            sa.update(shop.support_tickets)
            .where(shop.support_tickets.c.customer_id == subject.customer_id)
            .values(body=text)
        )
    request_id = p.submit(subject, "erasure")
    p.cli("run", str(request_id))
    with engine.connect() as conn:
        (body,) = conn.execute(
            sa.select(shop.support_tickets.c.body).where(
                shop.support_tickets.c.customer_id == subject.customer_id
            )
        ).one()
    assert body == f"From {R}: please also update {other.email} and call me on {R}"
    status = json.loads(p.cli("status", str(request_id), "--json").stdout)
    assert status["state"] == "completed" and status["probe"]["residual"] == 0

    before = p.snapshot()  # a second erasure of the same person changes nothing
    again = p.submit(subject, "erasure")
    p.cli("run", str(again), expect=None)
    assert p.snapshot() == before
    engine.dispose()
