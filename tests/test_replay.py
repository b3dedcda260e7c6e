"""Restore replay, for real: pg_dump a shop, erase subjects, restore the dump into a new database,
point the store at it, replay the erasures from their tombstones, and compare with the erased shop."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import urllib.parse
import uuid

import pytest
import sqlalchemy as sa

from .conftest import PG_ADMIN, _admin_engine, make_project

PG = urllib.parse.urlparse(PG_ADMIN.replace("postgresql+psycopg", "postgresql"))


@pytest.fixture
def databases():
    """Two empty PostgreSQL databases (the shop, and where its backup is restored), dropped after."""
    admin = _admin_engine(PG_ADMIN, "PostgreSQL")
    names = [f"t_{uuid.uuid4().hex[:10]}", f"t_{uuid.uuid4().hex[:10]}"]
    with admin.connect() as conn:
        for name in names:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield [PG_ADMIN.rsplit("/", 1)[0] + f"/{name}" for name in names]
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def pg(tool: str, *args: str) -> None:
    options = ["-h", PG.hostname, "-p", str(PG.port or 5432), "-U", PG.username or "postgres"]
    subprocess.run([tool, *options, *args], check=True, capture_output=True)


def test_a_restored_backup_is_erased_again_before_use(tmp_path, databases, monkeypatch):
    shop_url, restored_url = databases
    project = make_project(tmp_path, shop_url)
    dump = tmp_path / "shop.dump"
    pg("pg_dump", "-Fc", "-f", str(dump), urllib.parse.urlparse(shop_url).path.lstrip("/"))

    erased = project.people[:2]
    ids = [project.submit(p) for p in erased]
    project.cli("run", *map(str, ids))
    expected = project.snapshot()

    pg("pg_restore", "--no-owner", "-d", urllib.parse.urlparse(restored_url).path.lstrip("/"), str(dump))
    project.shop_url = restored_url
    project.write_config()
    restored = project.snapshot()
    assert any(p.email in str(restored["customers"]) for p in erased)  # the backup brought them back

    # The wrong key is refused, and nothing is erased.
    good_key = os.environ["DSR_MASTER_KEY"]
    monkeypatch.setenv("DSR_MASTER_KEY", base64.b64encode(os.urandom(32)).decode())
    refused = project.cli("backups", "replay", "--store", "shop", expect=2)
    assert "DSR_MASTER_KEY is not the key this state database was made with" in refused.stderr
    assert project.snapshot() == restored
    monkeypatch.setenv("DSR_MASTER_KEY", good_key)

    done = json.loads(project.cli("backups", "replay", "--store", "shop", "--json").stdout)
    assert done["customers"] == 2 and done["addresses"] == 4
    replayed = project.snapshot()
    for person in erased:
        assert person.email not in str(replayed) and person.name not in str(replayed)
    # Everyone else is exactly as in the erased shop. Free text the erasure redacted span by span is
    # redacted whole on replay: the spans were never kept.
    for table, rows in expected.items():
        if table != "support_tickets":
            assert replayed[table] == rows, table
    tickets = {r[0]: r for r in replayed["support_tickets"]}
    for row in expected["support_tickets"]:
        if row[0] in {p.customer_id for p in erased}:
            assert tickets[row[0]][4] == "[redacted]"
        else:
            assert tickets[row[0]] == row

    again = json.loads(project.cli("backups", "replay", "--store", "shop", "--json").stdout)
    assert "addresses" not in again  # deleted rows are gone; masked ones are masked again, unchanged
    assert project.snapshot() == replayed
