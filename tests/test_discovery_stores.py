"""Discovery against real stores: sampling, bad input, permissions, the CLI and its proposal."""

from __future__ import annotations

import copy
import json
import uuid

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.dialects import mysql

from connectors import SqlConnector
from dsr_pipelines.demo import shop
from dsr_pipelines.discover.recognizers import build_analyzer
from dsr_pipelines.discover.scoring import discover_store


@pytest.fixture(scope="module")
def analyzer():
    return build_analyzer(["US"])


def _create(url: str, *columns: sa.Column, name: str = "t", rows: list[dict] = ()) -> None:
    engine = sa.create_engine(url)
    table = sa.Table(name, sa.MetaData(), *columns)
    table.create(engine)
    if rows:
        with engine.begin() as conn:
            conn.execute(table.insert(), list(rows))
    engine.dispose()


def test_sample_is_spread_bounded_and_repeatable(db_url):
    rows = [{"id": i, "note": f"n{i}"} for i in range(1, 5001)]
    _create(
        db_url,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("note", sa.String(20)),
        rows=rows,
    )
    connector = SqlConnector("s", db_url)
    first = connector.sample("t", 100, 100)
    again = connector.sample("t", 100, 100)
    connector.close()
    ids = first.rows["id"].to_pylist()
    assert first.method == "spread" and 80 <= len(ids) <= 100
    assert min(ids) < 1000 and max(ids) > 4000  # over the table, not its first rows
    assert ids == again.rows["id"].to_pylist()  # seeded: a re-run proposes the same


def test_bad_input_is_reported_not_fatal(db_url, analyzer):
    """Empty tables, only NULLs, binary and JSON columns, and text far beyond the analysed length."""
    _create(
        db_url,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(100)),
        name="empty",
    )
    _create(
        db_url,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("email", sa.String(100)),
        name="nulls",
        rows=[{"id": i, "email": None} for i in range(30)],
    )
    long_text = "lorem ipsum dolor " * 20_000  # 360,000 characters: LONGTEXT on MariaDB
    _create(
        db_url,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("raw", sa.LargeBinary),
        sa.Column("profile", sa.JSON),
        sa.Column("body", sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")),
        name="odd",
        rows=[
            {
                "id": i,
                "raw": f"user{i}@example.com".encode(),
                "profile": {"contact": {"email": f"user{i}@example.com", "since": 2020}},
                "body": long_text + f" user{i}@example.com",  # past the cap: never analysed
            }
            for i in range(40)
        ],
    )
    connector = SqlConnector("s", db_url)
    capped = connector.sample("odd", 10, 500).rows
    assert max(len(v) for v in capped["body"].to_pylist()) <= 500
    report = discover_store(analyzer, connector, sample_rows=100, max_chars=500)
    connector.close()
    tables = {t.collection: t for t in report.tables}
    assert all(t.error is None for t in tables.values())
    assert tables["empty"].rows == 0
    assert {c.category for c in tables["empty"].columns} == {None}
    nulls = {c.field: c for c in tables["nulls"].columns}
    assert nulls["email"].category is None and "no values in sample" in nulls["email"].notes
    odd = {c.field: c for c in tables["odd"].columns}
    assert odd["raw"].category == "email" and "binary values decoded as UTF-8" in odd["raw"].notes
    assert odd["profile"].category == "free_text"
    assert odd["body"].category is None


def test_undecodable_text_is_read_with_replacement_characters(sqlite_url, analyzer):
    _create(
        sqlite_url, sa.Column("id", sa.Integer, primary_key=True), sa.Column("note", sa.Text), name="latin"
    )
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:  # Latin-1 bytes stored as TEXT: not valid UTF-8
        for i in range(20):
            conn.execute(
                sa.text("INSERT INTO latin VALUES (:i, CAST(:b AS TEXT))"),
                {"i": i, "b": f"caf\xe9 owner {i} at user{i}@example.com".encode("latin-1")},
            )
    engine.dispose()
    connector = SqlConnector("s", sqlite_url)
    report = discover_store(analyzer, connector)
    connector.close()
    (table,) = report.tables
    assert table.error is None and table.rows == 20
    assert {c.field: c.category for c in table.columns}["note"] == "free_text"


def test_a_table_without_permission_is_reported_and_discovery_goes_on(pg_url, analyzer):
    _create(
        pg_url,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("email", sa.String(100)),
        name="open_t",
        rows=[{"id": i, "email": f"u{i}@example.com"} for i in range(20)],
    )
    _create(
        pg_url, sa.Column("id", sa.Integer, primary_key=True), sa.Column("secret", sa.Text), name="closed_t"
    )
    role = f"dsr_ro_{uuid.uuid4().hex[:8]}"
    schema = pg_url.rsplit("%3D", 1)[1]
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(sa.text(f'GRANT USAGE ON SCHEMA "{schema}" TO {role}'))
        conn.execute(sa.text(f"GRANT SELECT ON open_t TO {role}"))
    try:
        url = pg_url.replace("postgres@", f"{role}@", 1)
        connector = SqlConnector("s", url)
        report = discover_store(analyzer, connector)
        connector.close()
        tables = {t.collection: t for t in report.tables}
        assert "permission denied" in tables["closed_t"].error
        assert [c.category for c in tables["open_t"].columns if c.category] == ["email"]
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP OWNED BY {role}"))
            conn.execute(sa.text(f"DROP ROLE {role}"))
        admin.dispose()


def _reviewable_map() -> dict:
    """The shop's map with gaps and mistakes for discovery to find."""
    spec = copy.deepcopy(shop.DATAMAP)
    colls = spec["collections"]
    del colls["addresses"]  # a whole table missing
    del colls["support_tickets"]["fields"]["body"]  # a free-text field missing
    colls["customers"]["fields"]["phone"]["category"] = "address"  # reviewed: must not change
    colls["returns"]["reviewed"] = False
    colls["returns"]["fields"]["id"] = {"category": "email"}  # unreviewed and wrong: "gone"
    colls["order_lines"]["reviewed"] = False
    colls["order_lines"]["fields"]["sku"] = {"category": "phone"}  # unreviewed: gone, kept
    return spec


def test_cli_proposes_merges_and_lists_proposed_changes(project):
    p = project
    p.write_datamap({"shop": _reviewable_map()})
    before = (p.root / "datamap.yaml").read_text()
    result = p.cli("discover", "--store", "shop")
    assert (p.root / "datamap.yaml").read_text() == before  # review first: nothing applied
    proposal = yaml.safe_load((p.root / "datamap.proposal.yaml").read_text())
    assert "addresses" in proposal["stores"]["shop"]["collections"]
    assert "add_collection stores.shop.collections.addresses" in " ".join(result.stdout.split())
    added = [line[1:].strip() for line in result.stdout.splitlines() if line.startswith("+ ")]
    assert "body:" in added and "mask: spans" in added  # the unified diff shows the new field

    p.cli("discover", "--store", "shop", "--apply")
    merged = yaml.safe_load((p.root / "datamap.yaml").read_text())["stores"]["shop"]["collections"]
    addresses = merged["addresses"]
    assert addresses["primary_key"] == ["customer_id", "seq"] and addresses.get("reviewed", False) is False
    assert {f: v["category"] for f, v in addresses["fields"].items()} == {
        "street": "address",
        "city": "address",
    }
    assert merged["support_tickets"]["fields"]["body"] == {"category": "free_text", "mask": "spans"}
    assert merged["customers"]["fields"]["phone"]["category"] == "address"  # reviewed: kept, reported
    assert merged["returns"]["fields"]["id"] == {"category": "email"}  # gone: reported, not deleted

    listed = json.loads(p.cli("discover", "changes", "--json").stdout)
    kinds = {(f["kind"], f["path"].rsplit(".", 1)[-1]) for f in listed}
    assert ("conflict", "phone") in kinds and ("gone", "id") in kinds and ("gone", "sku") in kinds
    assert ("add_collection", "addresses") in kinds and ("add_field", "body") in kinds

    p.cli("discover", "--store", "shop")  # after --apply, the latest run has nothing left to add
    latest = {f["kind"] for f in json.loads(p.cli("discover", "changes", "--json").stdout)}
    assert latest == {"conflict", "gone"}


def test_cli_output_and_storage_hold_no_sampled_values(project):
    p = project
    out = p.cli("discover", "--store", "shop")
    as_json = p.cli("discover", "--store", "shop", "--json")
    json.loads(as_json.stdout)
    shop_db = p.shop_url.removeprefix("sqlite:///")
    stored = b"".join(f.read_bytes() for f in p.root.rglob("*") if f.is_file() and str(f) != shop_db)
    texts = [out.stdout, out.stderr, as_json.stdout, stored.decode("utf-8", "replace")]
    for person in p.people:
        for value in (person.email, person.phone, person.name):
            assert not any(value in t for t in texts), "a sampled value leaked"
    assert "***@" in out.stdout  # masked examples only


def test_cli_bad_store_names_and_unreachable_stores(project):
    p = project
    result = p.cli("discover", "--store", "nope", expect=2)
    assert "unknown store 'nope'" in result.stderr
    p.write_config(
        stores=[{"name": "shop", "kind": "sql", "url": "postgresql+psycopg://postgres@127.0.0.1:1/x"}]
    )
    result = p.cli("discover", "--store", "shop", expect=1)
    assert "skipped" in result.stdout + result.stderr
