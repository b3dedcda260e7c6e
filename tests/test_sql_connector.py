"""The SQL connector on SQLite, PostgreSQL and MariaDB: where the dialect matters (reflection, bound
`IN` chunks over composite keys, masks and hashes, one transaction per erase, flags, errors)."""

from __future__ import annotations

import pyarrow as pa
import pytest
import sqlalchemy as sa

from connectors import REDACTED, Delete, EraseOp, Mask, Rewrite, StoreError, StoreUnavailable
from connectors.sql import SqlConnector
from dsr_pipelines.demo import shop

PEOPLE = shop.people(8, tenants=("acme", "globex"))
KEY = b"h" * 32


@pytest.fixture
def sql(db_url):
    engine = sa.create_engine(db_url)
    shop.create(engine, PEOPLE)
    engine.dispose()
    connector = SqlConnector("shop", db_url, chunk=2)  # small chunks: several statements per lookup
    yield connector
    connector.close()


def rows(connector: SqlConnector, collection: str, *keys: pa.Table) -> list[dict]:
    found = [r for batch in connector.find(collection, list(keys)) for r in batch.to_pylist()]
    return sorted(found, key=lambda r: tuple(str(v) for v in r.values()))


def snapshot(connector: SqlConnector) -> dict[str, list[tuple]]:
    with connector.engine.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(sa.select(t)))) for t in shop.metadata.sorted_tables}


def test_reflection_gives_keys_and_references_composite_ones_included(sql):
    info = {c.name: c for c in sql.collections()}
    assert info["addresses"].primary_key == ("customer_id", "seq")
    (to_line,) = [fk for fk in info["returns"].foreign_keys if fk.to_collection == "order_lines"]
    assert (to_line.fields, to_line.to_fields) == (("order_id", "line_no"), ("order_id", "line_no"))
    assert info["customers"].field("email").is_text and not info["customers"].field("name").nullable


def test_find_matches_single_and_composite_keys_across_chunks(sql):
    emails = pa.table({"email": [p.email for p in PEOPLE[:5]] + ["nobody@example.org"]})
    assert sorted(r["id"] for r in rows(sql, "customers", emails)) == [p.customer_id for p in PEOPLE[:5]]
    lines = pa.table({"order_id": [1, 1, 2, 99], "line_no": [1, 2, 2, 1]})
    assert [(r["order_id"], r["line_no"]) for r in rows(sql, "order_lines", lines)] == [
        (1, 1),
        (1, 2),
        (2, 2),
    ]
    typed = rows(sql, "orders", pa.table({"id": [1]}))[0]
    assert isinstance(typed["placed_on"], type(shop.orders.c.placed_on.type.python_type.today()))


def test_erase_deletes_masks_hashes_and_rewrites_in_one_transaction(sql):
    ann, bob = PEOPLE[0], PEOPLE[1]
    before = snapshot(sql)
    counts = sql.erase(
        [
            EraseOp("addresses", pa.table({"customer_id": [ann.customer_id]}), Delete()),
            EraseOp(
                "customers",
                pa.table({"id": [ann.customer_id, bob.customer_id]}),
                Mask({"email": "hash", "phone": "null", "name": "redact"}, KEY),
            ),
            EraseOp(
                "support_tickets",
                pa.table({"id": [ann.customer_id]}),
                Rewrite(
                    ("body",), pa.table({"id": [ann.customer_id], "body": ["Hello, this is [redacted]."]})
                ),
            ),
        ]
    )
    assert [c.changed for c in counts] == [2, 2, 1]
    after = snapshot(sql)
    assert not [r for r in after["addresses"] if r[0] == ann.customer_id]
    masked = {r[0]: r for r in after["customers"]}
    for person in (ann, bob):
        row = masked[person.customer_id]
        assert row[2].startswith("hash:") and len(row[2]) <= 200 and row[3] is None and row[4] == REDACTED
    assert masked[ann.customer_id][2] != masked[bob.customer_id][2]  # keyed hashes stay unique
    assert [r for r in after["support_tickets"] if r[0] == ann.customer_id][0][
        4
    ] == "Hello, this is [redacted]."
    untouched = {k: v for k, v in before.items() if k not in ("addresses", "customers", "support_tickets")}
    assert {k: after[k] for k in untouched} == untouched


def test_a_failing_operation_rolls_back_the_others_and_names_no_value(sql):
    person = PEOPLE[2]
    before = snapshot(sql)
    with pytest.raises(StoreError) as failed:
        sql.erase(
            [
                EraseOp("addresses", pa.table({"customer_id": [person.customer_id]}), Delete()),
                # name is NOT NULL: the whole erasure is undone
                EraseOp("customers", pa.table({"id": [person.customer_id]}), Mask({"name": "null"})),
            ]
        )
    assert "store shop" in str(failed.value)
    assert person.name not in str(failed.value) and person.email not in str(failed.value)
    assert snapshot(sql) == before


def test_restriction_flags_are_set_read_and_cleared(sql):
    ids = pa.table({"id": [PEOPLE[3].customer_id, PEOPLE[4].customer_id]})
    assert sql.restrict("customers", ids, "restricted", True) == 2
    assert sorted(sql.restricted("customers", "restricted")["id"].to_pylist()) == sorted(
        ids["id"].to_pylist()
    )
    some = pa.table({"id": [PEOPLE[3].customer_id, PEOPLE[5].customer_id]})
    assert sql.restricted("customers", "restricted", some)["id"].to_pylist() == [PEOPLE[3].customer_id]
    sql.restrict("customers", ids, "restricted", False)
    assert sql.restricted("customers", "restricted").num_rows == 0
    with pytest.raises(StoreError, match="no boolean column email"):
        sql.restrict("customers", ids, "email", True)


def test_bad_columns_and_unreachable_databases_are_store_errors(sql):
    with pytest.raises(StoreError, match="table customers has no column shoe_size"):
        list(sql.find("customers", [pa.table({"shoe_size": [42]})]))
    assert sql.column_values("customers", ["id"]).num_rows == len(PEOPLE)
    gone = SqlConnector("crm", "postgresql+psycopg://postgres@127.0.0.1:1/test")
    with pytest.raises(StoreUnavailable, match="store crm: connect"):
        gone.ping()
