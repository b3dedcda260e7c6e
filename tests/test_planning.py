"""The plan, as tables: which rows a lookup reaches, what an erasure does to each, and the keys that
link one store to another. On an in-memory Arrow store, so each case says exactly what it tests.

The shop: customers (1 ann, 2 ann again at another tenant, 3 carl referred by 5 dora, 4 bob),
their orders (kept for tax law), order lines (composite key), addresses and tickets.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from dsr_pipelines.core.identities import Identity
from dsr_pipelines.plan import erasure, links
from dsr_pipelines.plan.datamap.model import parse_datamap
from dsr_pipelines.plan.lookup import REQUEST, find_subjects, row_key
from dsr_pipelines.state.requests import Subject

from .memory import MemoryStore

ANN, BOB, CARL, DORA = "ann@example.com", "bob@example.com", "carl@example.com", "dora@example.com"

DATAMAP = parse_datamap(
    {
        "stores": {
            "shop": {
                "collections": {
                    "customers": {
                        "primary_key": ["id"],
                        "tenant_field": "tenant",
                        "fields": {
                            "email": {"category": "email", "identity": "email", "mask": "hash"},
                            "name": {"category": "name", "mask": "redact"},
                        },
                        "references": [
                            {
                                "fields": ["referred_by"],
                                "to": "customers",
                                "to_fields": ["id"],
                                "follow": False,
                            }
                        ],
                    },
                    "orders": {
                        "primary_key": ["id"],
                        "erase": "retain",
                        "legal_basis": "tax law",
                        "references": [{"fields": ["customer_id"], "to": "customers", "to_fields": ["id"]}],
                    },
                    "order_lines": {
                        "primary_key": ["order_id", "line_no"],
                        "fields": {"gift_note": {"category": "free_text"}},
                        "references": [{"fields": ["order_id"], "to": "orders", "to_fields": ["id"]}],
                    },
                    "addresses": {
                        "primary_key": ["customer_id", "seq"],
                        "fields": {"street": {"category": "address"}},
                        "references": [{"fields": ["customer_id"], "to": "customers", "to_fields": ["id"]}],
                    },
                    "tickets": {
                        "primary_key": ["id"],
                        "tenant_field": "tenant",
                        "fields": {"email": {"category": "email", "identity": "email"}},
                        "references": [{"fields": ["customer_id"], "to": "customers", "to_fields": ["id"]}],
                    },
                }
            },
            "lake": {
                "collections": {
                    "events": {
                        "primary_key": ["event_id"],
                        "references": [
                            {"fields": ["user_id"], "store": "shop", "to": "customers", "to_fields": ["id"]}
                        ],
                    }
                }
            },
        }
    }
)


def shop() -> MemoryStore:
    tables = {
        "customers": pa.table(
            {
                "id": [1, 2, 3, 4, 5],
                "tenant": ["acme", "globex", "acme", "acme", "acme"],
                "email": [ANN, ANN, CARL, BOB, DORA],
                "name": ["Ann", "Ann", "Carl", "Bob", "Dora"],
                "referred_by": [None, None, 5, None, None],
            }
        ),
        "orders": pa.table({"id": [10, 11, 12], "customer_id": [1, 1, 4]}),
        "order_lines": pa.table(
            {"order_id": [10, 10, 11, 12], "line_no": [1, 2, 1, 1], "gift_note": ["a", "b", None, "c"]}
        ),
        "addresses": pa.table(
            {"customer_id": [1, 1, 3, 4], "seq": [1, 2, 1, 1], "street": ["x", "y", "z", "w"]}
        ),
        # Ticket 102 is ann's, but mentions bob's address as its contact.
        "tickets": pa.table(
            {
                "id": [100, 101, 102],
                "tenant": ["acme"] * 3,
                "customer_id": [1, 3, 1],
                "email": [ANN, CARL, BOB],
            }
        ),
    }
    keys = {name: DATAMAP.stores["shop"].collections[name].primary_key for name in tables}
    references = [
        ("orders", ["customer_id"], "customers", ["id"]),
        ("order_lines", ["order_id"], "orders", ["id"]),
        ("addresses", ["customer_id"], "customers", ["id"]),
        ("tickets", ["customer_id"], "customers", ["id"]),
        ("customers", ["referred_by"], "customers", ["id"]),
    ]
    return MemoryStore("shop", tables, keys, references)


def subject(request_id: int, email: str, tenant: str = "acme", links: dict | None = None) -> Subject:
    return Subject(request_id, tenant, (Identity("email", email),), links or {})


def keys_of(rows: pa.Table, collection: str) -> list:
    """Row keys (a tuple for composite keys), sorted."""
    columns = row_key(DATAMAP.stores["shop"].collections[collection], rows)
    values = list(zip(*(rows[c].to_pylist() for c in columns), strict=True))
    return sorted(v if len(v) > 1 else v[0] for v in values)


def reached(subjects: list[Subject]) -> dict[int, dict[str, list]]:
    found = find_subjects(DATAMAP.stores["shop"], shop(), subjects).tables
    out: dict[int, dict[str, list]] = {s.request_id: {} for s in subjects}
    for collection, rows in found.items():
        for request_id in set(rows[REQUEST].to_pylist()):
            mine = rows.filter(pa.compute.equal(rows[REQUEST], request_id))
            out[request_id][collection] = keys_of(mine, collection)
    return out


ANN_ROWS = {
    "customers": [1],
    "orders": [10, 11],
    "order_lines": [(10, 1), (10, 2), (11, 1)],
    "addresses": [(1, 1), (1, 2)],
    "tickets": [100, 102],
}

LOOKUPS = [
    pytest.param([subject(1, ANN)], {1: ANN_ROWS}, id="references-are-followed-from-the-identity"),
    pytest.param(
        [subject(1, ANN, tenant="globex")],
        {1: {"customers": [2]}},
        id="another-tenants-customer-with-the-same-email-is-not-reached",
    ),
    pytest.param(
        [subject(1, DORA)], {1: {"customers": [5]}}, id="a-referral-is-not-ownership: carl is not dora's"
    ),
    pytest.param(
        [subject(1, BOB)],
        {
            1: {
                "customers": [4],
                "orders": [12],
                "order_lines": [(12, 1)],
                "addresses": [(4, 1)],
                "tickets": [102],
            }
        },
        id="an-identity-in-a-child-row-reaches-that-row-only: ticket 102, not ann",
    ),
    pytest.param(
        [subject(1, ANN), subject(2, BOB), subject(3, "nobody@example.org")],
        {
            1: ANN_ROWS,
            2: {
                "customers": [4],
                "orders": [12],
                "order_lines": [(12, 1)],
                "addresses": [(4, 1)],
                "tickets": [102],
            },
            3: {},
        },
        id="a-batch-tags-each-row-with-its-request",
    ),
]


@pytest.mark.parametrize("subjects, expected", LOOKUPS)
def test_lookup_traversal(subjects, expected):
    assert reached(subjects) == expected


def test_a_batch_asks_each_collection_once_per_round_of_the_traversal():
    store = shop()
    find_subjects(DATAMAP.stores["shop"], store, [subject(1, ANN), subject(2, BOB), subject(3, CARL)])
    # Round 1 by identity, round 2 by the customers found, round 3 by their orders: every subject at once.
    assert store.asked == ["customers", "tickets", "orders", "addresses", "tickets", "order_lines"]


def planned(subjects: list[Subject]) -> dict[str, dict[str, list]]:
    store = shop()
    found = find_subjects(DATAMAP.stores["shop"], store, subjects).tables
    out = {}
    for plan in erasure.plan(DATAMAP.stores["shop"], store, found):
        done = {
            what: keys_of(rows, plan.collection)
            for what, rows in (("delete", plan.delete), ("mask", plan.mask), ("retain", plan.retained))
            if rows is not None and rows.num_rows
        }
        out[plan.collection] = done | ({"why": plan.reason} if plan.reason else {})
    return out


PLANS = [
    pytest.param(
        [subject(1, ANN)],
        {
            "customers": {
                "mask": [1],
                "why": "still referenced by rows that are kept: masked instead of deleted",
            },
            "orders": {"retain": [10, 11], "why": "tax law"},
            "order_lines": {"delete": [(10, 1), (10, 2), (11, 1)]},
            "addresses": {"delete": [(1, 1), (1, 2)]},
            "tickets": {"delete": [100, 102]},
        },
        id="kept-orders-keep-their-customer-masked-and-everything-else-goes",
    ),
    pytest.param(
        [subject(1, CARL)],
        {"customers": {"delete": [3]}, "addresses": {"delete": [(3, 1)]}, "tickets": {"delete": [101]}},
        id="a-customer-nothing-keeps-is-deleted-children-first",
    ),
    pytest.param(
        [subject(1, DORA)],
        {
            "customers": {
                "mask": [5],
                "why": "still referenced by rows that are kept: masked instead of deleted",
            }
        },
        id="a-customer-another-kept-customer-was-referred-by-is-masked",
    ),
    pytest.param(
        [subject(1, CARL), subject(2, DORA)],
        {"customers": {"delete": [3, 5]}, "addresses": {"delete": [(3, 1)]}, "tickets": {"delete": [101]}},
        id="referrer-and-referred-erased-together-both-go",
    ),
]


@pytest.mark.parametrize("subjects, expected", PLANS)
def test_erasure_plan(subjects, expected):
    assert planned(subjects) == expected


def test_applying_a_plan_leaves_nothing_a_fresh_plan_would_change():
    store, shop_map = shop(), DATAMAP.stores["shop"]
    subjects = [subject(1, ANN), subject(2, CARL)]
    plans = erasure.plan(shop_map, store, find_subjects(shop_map, store, subjects).tables)
    store.erase(erasure.operations(shop_map, plans, b"k" * 32))
    probe = erasure.plan(shop_map, store, find_subjects(shop_map, store, subjects).tables)
    assert erasure.residual(probe) == {}
    assert store.tables["orders"]["id"].to_pylist() == [10, 11, 12]  # retained
    assert store.tables["customers"]["name"].to_pylist() == ["[redacted]", "Ann", "Bob", "Dora"]


LINKS = [
    pytest.param(
        [subject(1, ANN)], {1: {"shop.customers(id)": {(1,)}}}, {1: [1]}, id="a-customers-id-links-the-lake"
    ),
    pytest.param(
        [subject(1, ANN, tenant="globex"), subject(2, BOB)],
        {1: {"shop.customers(id)": {(2,)}}, 2: {"shop.customers(id)": {(4,)}}},
        {2: [2, 3]},  # globex's ann has no events
        id="per-request-and-per-tenant",
    ),
    pytest.param([subject(1, "nobody@example.org")], {1: {}}, {}, id="no-customer-no-link"),
]


@pytest.mark.parametrize("subjects, expected, events", LINKS)
def test_links_between_stores(subjects, expected, events):
    lake = MemoryStore("lake", {"events": pa.table({"event_id": [1, 2, 3], "user_id": [1, 4, 4]})})
    stores = {"shop": shop(), "lake": lake}
    found = links.resolve(DATAMAP, stores.__getitem__, subjects)
    assert found == expected
    linked = [links.with_links(s, found[s.request_id]) for s in subjects]
    rows = find_subjects(DATAMAP.stores["lake"], lake, linked).tables.get("events", pa.table({REQUEST: []}))
    reached_events: dict[int, list[int]] = {}
    for row in rows.to_pylist():
        reached_events.setdefault(row[REQUEST], []).append(row["event_id"])
    assert {r: sorted(e) for r, e in reached_events.items()} == events
