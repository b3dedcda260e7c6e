"""Errors carry no values: what a driver or Arrow says about a failing value is scrubbed at one
boundary (the connector's), before it reaches the state database, the ledger or Dagster's event log;
and a store URL with a password in it is refused (credentials come from the environment)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from connectors import SqlConnector, StoreError
from connectors.scrub import scrub
from dsr_pipelines.demo import shop

from .conftest import BACKENDS, files_containing

SECRET = "mismatched.value@example.org"  # personal data where a number belongs


def _state_text(project) -> str:
    """Every row of every table of the state database, as text."""
    with project.db() as db, db.engine.connect() as conn:
        names = sa.inspect(conn).get_table_names()
        return json.dumps(
            {n: [list(map(str, r)) for r in conn.execute(sa.text(f"SELECT * FROM {n}"))] for n in names}
        )


def test_a_row_whose_value_does_not_fit_its_type_fails_the_store_without_the_value(project, dagster_home):
    person = project.people[1]
    engine = project.engine()
    with engine.begin() as conn:  # SQLite keeps text in an INTEGER column; reading it as a number fails
        conn.execute(
            sa.update(shop.customers)
            .where(shop.customers.c.id == person.customer_id)
            .values(referred_by=SECRET)
        )
    engine.dispose()
    request_id = project.submit(person, "access")
    result = project.cli("run", str(request_id), expect=1)
    status = json.loads(project.cli("status", str(request_id), "--json").stdout)
    assert status["state"] == "failed" and "store shop: find in customers" in status["error"]
    assert "Could not convert" in status["error"] or "convert" in status["error"].lower()

    assert SECRET not in result.stdout + result.stderr
    assert SECRET not in _state_text(project)  # requests, results, notes, the ledger
    assert SECRET not in project.cli("audit", "show").stdout
    assert files_containing(dagster_home, [SECRET]) == []  # event log, run records, compute logs


@pytest.mark.parametrize("db_url", BACKENDS[1:], indirect=True)
def test_a_driver_message_that_quotes_the_value_is_scrubbed(db_url):
    """MariaDB's "Duplicate entry '…' for key", PostgreSQL's "Key (email)=(…)" on its DETAIL line."""
    connector = SqlConnector("crm", db_url)
    people = sa.Table(
        "people",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(100), unique=True),
    )
    people.create(connector.engine)
    with connector.engine.begin() as conn:
        conn.execute(sa.insert(people).values(id=1, email=SECRET))
    with (
        pytest.raises(StoreError) as failed,
        connector.store_errors("insert"),
        connector.engine.begin() as conn,
    ):
        conn.execute(sa.insert(people).values(id=2, email=SECRET))
    message = str(failed.value)
    assert message.startswith("store crm: insert: ") and SECRET not in message
    assert "Duplicate entry" in message or "duplicate key" in message
    connector.close()


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("Duplicate entry 'ann@example.com' for key 'email'", "Duplicate entry '…' for key '…'"),
        (
            "Could not convert 'ann' with type str: tried to convert to int64",
            "Could not convert '…' with type str",
        ),
        (
            "Could not convert 4155550123 with type int: tried to convert to string",
            "Could not convert … with",
        ),
        ('invalid input syntax for type integer: "ann"', 'invalid input syntax for type integer: "…"'),
        (
            "duplicate key value\nDETAIL:  Key (email)=(ann@example.com) already exists.",
            "duplicate key value",
        ),
        ("Key (email)=(ann@example.com) already exists.", "Key (email)=(…) already exists."),
    ],
)
def test_scrub_keeps_the_message_and_drops_the_value(said, kept):
    assert kept in scrub(said) and "ann" not in scrub(said) and "4155550123" not in scrub(said)


@pytest.mark.parametrize(
    "settings",
    [
        {"stores": [{"name": "shop", "kind": "sql", "url": "postgresql+psycopg://app:s3cret@db/shop"}]},
        {"stores": [{"name": "shop", "kind": "sql", "url": "mysql+pymysql://app@db/shop?password=s3cret"}]},
        {"request_store": "postgresql+psycopg://dsr:s3cret@db/state"},
    ],
)
def test_a_url_with_a_password_is_refused_without_echoing_it(project, settings):
    project.write_config(**settings)
    result = project.cli("list", expect=2)
    assert "has a password in it" in result.stderr and "s3cret" not in result.stderr
