"""A retention sweep on a table other tables reference (invoices, their lines, payments, credit notes):
rows that reference an expiring row go with it, children first, in the same transactions; a row a
rule of its own keeps longer keeps what it references (reported); a reference that is not ownership
is cleared; a legal hold still wins. On SQLite (foreign keys enforced or not), PostgreSQL, MariaDB."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from .conftest import Project, fresh_database

TODAY = date.today()
OLD, RECENT, ANCIENT = (
    TODAY - timedelta(days=3 * 365),
    TODAY - timedelta(days=30),
    TODAY - timedelta(days=12 * 366),
)
HELD = "held@example.org"

metadata = sa.MetaData()
invoices = sa.Table(
    "invoices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("tenant_id", sa.String(20), nullable=False),
    sa.Column("email", sa.String(100), nullable=False),
    sa.Column("issued_at", sa.Date, nullable=False),
)
invoice_lines = sa.Table(
    "invoice_lines",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("invoice_id", sa.Integer, sa.ForeignKey("invoices.id"), nullable=False),
    sa.Column("amount", sa.Integer),
)
payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("invoice_id", sa.Integer, sa.ForeignKey("invoices.id"), nullable=False),
    sa.Column("paid_at", sa.Date, nullable=False),
)
credit_notes = sa.Table(  # issued against an invoice, but not owned by it
    "credit_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("invoice_id", sa.Integer, sa.ForeignKey("invoices.id")),
    sa.Column("note", sa.String(100)),
)

DATAMAP = {
    "invoices": {
        "primary_key": ["id"],
        "tenant_field": "tenant_id",
        "fields": {"email": {"category": "email", "identity": "email"}},
    },
    "invoice_lines": {
        "primary_key": ["id"],
        "references": [{"fields": ["invoice_id"], "to": "invoices", "to_fields": ["id"]}],
    },
    "payments": {
        "primary_key": ["id"],
        "references": [{"fields": ["invoice_id"], "to": "invoices", "to_fields": ["id"]}],
    },
    "credit_notes": {
        "primary_key": ["id"],
        "references": [{"fields": ["invoice_id"], "to": "invoices", "to_fields": ["id"], "follow": False}],
    },
}
RULES = {
    "rules": [
        {
            "name": "invoices",
            "store": "books",
            "collection": "invoices",
            "age": {"field": "issued_at"},
            "period": "P1Y",
            "legal_basis": "contract: invoices kept a year",
            "owner": "finance",
        },
        {
            "name": "payments",
            "store": "books",
            "collection": "payments",
            "age": {"field": "paid_at"},
            "period": "P10Y",
            "legal_basis": "tax law: payments kept ten years",
            "owner": "finance",
        },
    ]
}


def _books(url: str) -> None:
    """Invoice 1 expired; 2 expired but paid recently (its payment is kept ten years); 3 expired but
    of a held subject; 4 expired, paid long ago; 5 recent. Two lines each; credit notes on 1 and 5."""
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(invoices),
            [
                {"id": 1, "tenant_id": "acme", "email": "a@example.org", "issued_at": OLD},
                {"id": 2, "tenant_id": "acme", "email": "b@example.org", "issued_at": OLD},
                {"id": 3, "tenant_id": "acme", "email": HELD, "issued_at": OLD},
                {"id": 4, "tenant_id": "acme", "email": "c@example.org", "issued_at": OLD},
                {"id": 5, "tenant_id": "acme", "email": "a@example.org", "issued_at": RECENT},
            ],
        )
        conn.execute(
            sa.insert(invoice_lines),
            [{"id": 10 * i + k, "invoice_id": i, "amount": k} for i in range(1, 6) for k in (1, 2)],
        )
        conn.execute(
            sa.insert(payments),
            [{"id": 2, "invoice_id": 2, "paid_at": RECENT}, {"id": 4, "invoice_id": 4, "paid_at": ANCIENT}],
        )
        conn.execute(
            sa.insert(credit_notes),
            [{"id": 1, "invoice_id": 1, "note": "refund"}, {"id": 5, "invoice_id": 5, "note": "discount"}],
        )
    engine.dispose()


def _rows(url: str) -> dict[str, list[tuple]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        out = {t.name: sorted(tuple(r) for r in conn.execute(sa.select(t))) for t in metadata.sorted_tables}
    engine.dispose()
    return out


@pytest.fixture
def enforce_sqlite_foreign_keys():
    """SQLite enforces foreign keys per connection, when asked: ask on every connection to the store."""

    def on(dbapi_connection, _record) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            path = dbapi_connection.execute("PRAGMA database_list").fetchone()[2]
            if path.endswith("books.db"):
                dbapi_connection.execute("PRAGMA foreign_keys=ON")

    sa.event.listen(sa.engine.Engine, "connect", on)
    yield
    sa.event.remove(sa.engine.Engine, "connect", on)


@pytest.mark.parametrize(
    ("backend", "foreign_keys"),
    [("sqlite", False), ("sqlite", True), ("postgresql", True), ("mariadb", True)],
)
def test_a_sweep_plans_what_references_the_rows_it_removes(tmp_path, request, backend, foreign_keys):
    if backend == "sqlite" and foreign_keys:
        request.getfixturevalue("enforce_sqlite_foreign_keys")
    databases = fresh_database(backend, tmp_path)
    url = next(databases)
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'books.db'}"
    try:
        _check_sweep(tmp_path, url)
    finally:
        databases.close()


def _check_sweep(tmp_path, url: str) -> None:
    _books(url)
    project = Project(tmp_path, url, [])
    project.write_config(stores=[{"name": "books", "kind": "sql", "url": url}], tenants={"acme": {}})
    project.write_datamap({"books": {"collections": DATAMAP}})
    (tmp_path / "retention_rules.yaml").write_text(yaml.safe_dump(RULES))
    project.cli("hold", "add", "--tenant", "acme", "--identity", f"email={HELD}", "--reason", "case 7")
    before = _rows(url)

    check = project.cli("sweep", "check").stdout
    assert "books.invoice_lines (references books.invoices by invoice_id): goes with them" in check
    assert (
        "books.payments (references books.invoices by invoice_id): goes with them once rule payments" in check
    )
    assert "books.credit_notes (references books.invoices by invoice_id): the reference is cleared" in check

    dry = json.loads(project.cli("sweep", "--rule", "invoices", "--dry-run", "--json").stdout)
    lines = {r["target"]: r for r in dry["results"]}
    parent = lines["books.invoices"]
    assert (parent["expired"], parent["kept"]) == (4, 2)  # 2 kept by its payment, 3 by the hold
    assert "1 kept: rows of books.payments referencing them are kept longer" in parent["note"]
    would = {t.split(" ")[0]: r["expired"] for t, r in lines.items() if "(with" in t}
    assert would == {"books.invoice_lines": 4, "books.payments": 1, "books.credit_notes": 1}
    assert _rows(url) == before

    done = json.loads(project.cli("sweep", "--rule", "invoices", "--json").stdout)
    assert done["state"] == "completed"
    changed = {r["target"].split(" ")[0]: r["changed"] for r in done["results"]}
    assert changed == {
        "books.invoices": 2,
        "books.invoice_lines": 4,
        "books.payments": 1,
        "books.credit_notes": 1,
    }
    after = _rows(url)
    assert [r[0] for r in after["invoices"]] == [2, 3, 5]
    assert sorted({r[1] for r in after["invoice_lines"]}) == [2, 3, 5]  # none orphaned
    assert after["payments"] == [r for r in before["payments"] if r[1] == 2]
    assert after["credit_notes"] == [(1, None, "refund"), (5, 5, "discount")]

    again = json.loads(project.cli("sweep", "--rule", "invoices", "--json").stdout)
    assert sum(r["changed"] for r in again["results"]) == 0 and _rows(url) == after


# The public Northwind sample (MIT, see its LICENSE beside it), copied from the shared datasets so a
# clean checkout runs it: a schema nobody here wrote.
NORTHWIND = Path(__file__).with_name("data") / "northwind" / "create.sql"


def test_northwind_orders_go_with_their_details_and_a_held_customer_keeps_theirs(
    tmp_path, enforce_sqlite_foreign_keys
):
    """The public sample schema, mapped by `dsr datamap init` as an operator would start."""
    with closing(sqlite3.connect(tmp_path / "books.db")) as conn:  # `books`: foreign keys enforced
        conn.executescript(NORTHWIND.read_text(encoding="utf-8", errors="replace"))
    url = f"sqlite:///{tmp_path / 'books.db'}"
    project = Project(tmp_path, url, [])
    project.write_config(stores=[{"name": "nw", "kind": "sql", "url": url}])
    project.cli("datamap", "init", "--store", "nw")
    datamap = yaml.safe_load((tmp_path / "datamap.yaml").read_text())  # reviewed: customers by their id
    customers = datamap["stores"]["nw"]["collections"]["Customers"]["fields"]
    customers["CustomerID"] = {"category": "customer_id", "identity": "customer_id"}
    (tmp_path / "datamap.yaml").write_text(yaml.safe_dump(datamap))
    rule = {"name": "orders", "store": "nw", "collection": "Orders", "age": {"field": "OrderDate"}}
    rules = {"rules": [{**rule, "period": "P10Y", "legal_basis": "test", "owner": "ops"}]}
    (tmp_path / "retention_rules.yaml").write_text(yaml.safe_dump(rules))
    project.cli("hold", "add", "--tenant", "nw", "--identity", "customer_id=ALFKI", "--reason", "case 9")

    check = project.cli("sweep", "check").stdout
    assert "nw.Order Details (references nw.Orders by OrderID): goes with them" in check
    done = json.loads(project.cli("sweep", "--json").stdout)
    changed = {r["target"]: r["changed"] for r in done["results"]}
    with closing(sqlite3.connect(tmp_path / "books.db")) as conn:
        customers_left = {r[0] for r in conn.execute("SELECT CustomerID FROM Orders")}
        details = conn.execute('SELECT count(*) FROM "Order Details"').fetchone()[0]
        orphans = conn.execute(
            'SELECT count(*) FROM "Order Details" d LEFT JOIN Orders o ON o.OrderID = d.OrderID '
            "WHERE o.OrderID IS NULL"
        ).fetchone()[0]
    assert done["state"] == "completed" and customers_left == {"ALFKI"} and orphans == 0
    assert changed["nw.Orders"] == 830 - 6 and changed["nw.Order Details (with nw.Orders)"] == 2155 - details
