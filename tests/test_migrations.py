"""The state database's schema: versioned, checked whenever it is opened, upgraded by `dsr db upgrade`.

`data/state_f6f81dd.sql` is a state database made by the release before migrations, through its
own CLI (requests of every kind, holds, a sweep, a backup scan, a termination, a discovery run:
43 ledger events). On PostgreSQL and MariaDB the same rows are copied into the tables that release
created there. Upgraded, everything is intact and the ledger still verifies.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from dsr_pipelines.state import migrate
from dsr_pipelines.state.schema import metadata

LEGACY = Path(__file__).parent / "data" / "state_f6f81dd.sql"
BASELINE = Path(migrate.__file__).with_name("migrations") / "versions" / "0001_baseline.py"
# What the legacy store holds, by table, in the state database as this release names it.
KEPT = {
    "dsr_requests": "id",
    "dsr_request_identities": "request_id, position",
    "dsr_request_transitions": "seq",
    "dsr_holds": "id",
    "dsr_request_holds": "request_id, hold_id, store",
    "dsr_audit_events": "seq",
    "dsr_results": "request_id, store, collection",
    "dsr_restrictions": "request_id, store, collection",
    "dsr_tombstones": "store, collection, digest",
    "dsr_backups": "id",
    "dsr_sweeps": "id",
    "dsr_terminations": "tenant",
}


def baseline_metadata() -> sa.MetaData:
    """The frozen tables of the baseline revision: what releases before migrations created."""
    spec = importlib.util.spec_from_file_location("baseline", BASELINE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.metadata


def legacy_sqlite(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        conn.executescript(LEGACY.read_text())
    return f"sqlite:///{path}"


def legacy_store(url: str, tmp_path: Path) -> str:
    """The legacy rows in a database at `url`, in the tables the legacy release made on its dialect."""
    source = sa.create_engine(legacy_sqlite(tmp_path / "legacy.db"))
    if url.startswith("sqlite"):
        return str(source.url)
    target = sa.create_engine(url)
    tables = baseline_metadata()
    tables.create_all(target)
    with source.connect() as read, target.begin() as write:
        for table in tables.sorted_tables:
            rows = [dict(r._mapping) for r in read.execute(sa.select(table))]
            if rows:
                write.execute(sa.insert(table), rows)
    source.dispose()
    target.dispose()
    return url


def columns(table: str) -> str:
    """The columns the legacy release made (later revisions add others); of the ledger's events,
    all but the chain's links, which re-keying replaces."""
    names = [c.name for c in baseline_metadata().tables[table].columns]
    return ", ".join(n for n in names if table != "dsr_audit_events" or n not in ("prev_hash", "hash"))


def contents(url: str) -> dict[str, list[tuple]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        out = {
            t: [tuple(r) for r in conn.execute(sa.text(f"SELECT {columns(t)} FROM {t} ORDER BY {k}"))]
            for t, k in KEPT.items()
        }
        out["head"] = conn.execute(sa.text("SELECT seq, hash FROM dsr_audit_head")).one()
    engine.dispose()
    return out


def test_the_baseline_revision_is_the_schema_the_release_before_migrations_made(tmp_path):
    made = sqlite3.connect(tmp_path / "made.db")
    made.executescript(LEGACY.read_text())
    frozen = sa.create_engine(f"sqlite:///{tmp_path / 'frozen.db'}")
    baseline_metadata().create_all(frozen)

    def schema(conn: sqlite3.Connection) -> dict[str, str]:
        rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
        return {name: " ".join(sql.split()) for name, sql in rows}

    assert schema(sqlite3.connect(tmp_path / "frozen.db")) == schema(made)
    frozen.dispose()


def test_a_store_made_before_migrations_is_refused_until_upgraded_then_intact(project, db_url, tmp_path):
    url = legacy_store(db_url, tmp_path)
    before = contents(url)
    assert len(before["dsr_requests"]) == 6 and len(before["dsr_holds"]) == 2
    assert len(before["dsr_audit_events"]) == 43
    project.write_config(request_store=url)

    refused = project.cli("list", expect=2)
    assert "made by a release without schema versions" in refused.stderr
    assert "run `dsr db upgrade`" in refused.stderr
    assert (
        contents(url) == before
        and "dsr_schema_version" not in sa.inspect(sa.create_engine(url)).get_table_names()
    )

    assert f"upgraded from before migrations to schema {migrate.HEAD}" in project.cli("db", "upgrade").stdout
    after = contents(url)
    for table in KEPT:  # every request, identity, hold, result, ..., and the ledger's events
        keep = after[table][:43] if table == "dsr_audit_events" else after[table]
        assert keep == before[table], table
    # The chain is re-keyed, and says so in an event that keeps the old chain's head.
    (keyed,) = after["dsr_audit_events"][43:]
    assert keyed[5] == "ledger_keyed" and json.loads(keyed[7]) == {
        "events": 43,
        "unkeyed_head": before["head"][1],
    }
    assert keyed[2] == "tester"
    assert "ledger intact: 44 events" in project.cli("audit", "verify").stdout
    listed = json.loads(project.cli("list", "--json").stdout)
    assert [(r["id"], r["state"]) for r in listed] == [(r[0], r[3]) for r in before["dsr_requests"]]
    assert json.loads(project.cli("status", "6", "--json").stdout)["holds"] == ["legal hold 1"]
    holds = {h["id"]: h["state"] for h in json.loads(project.cli("hold", "list", "--json").stdout)}
    assert holds == {1: "active", 2: "released"}
    changes = json.loads(project.cli("discover", "changes", "--json").stdout)
    assert changes and {c["store"] for c in changes} == {"shop"}  # the discovery log, renamed
    with project.db() as db:  # identities still decrypt: the received request can run once verified
        (subject,) = db.requests.subjects([3])
        assert [i.kind for i in subject.identities] == ["email"]

    assert f"already at schema {migrate.HEAD}" in project.cli("db", "upgrade").stdout
    assert_schema_is_current(url)
    engine = sa.create_engine(url)
    with engine.connect() as conn:  # extensions count from here: the original dates were not kept
        dues = conn.execute(sa.text("SELECT due_at, first_due_at FROM dsr_requests")).fetchall()
    engine.dispose()
    assert len(dues) == 6 and all(due == first for due, first in dues)


def assert_schema_is_current(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": migrate.VERSION_TABLE})
        assert context.get_current_revision() == migrate.HEAD
        assert compare_metadata(context, metadata) == []  # the migrations built exactly schema.py
    engine.dispose()


def test_the_release_compares_with_alembics_newest_revision():
    # Opening a database compares with migrate.HEAD without importing Alembic: a new revision
    # must move HEAD with it.
    scripts = ScriptDirectory(str(Path(migrate.__file__).with_name("migrations")))
    assert scripts.get_current_head() == migrate.HEAD


def test_a_new_store_is_made_at_the_newest_revision(db_url, project):
    project.write_config(request_store=db_url)
    project.cli("list")
    assert_schema_is_current(db_url)


def test_an_older_or_newer_schema_is_refused_naming_what_to_do(project, tmp_path):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    project.write_config(request_store=url)
    project.cli("list")
    engine = sa.create_engine(url)
    for version, message in [
        ("0001", f"schema is 0001, this release needs {migrate.HEAD}: run `dsr db upgrade`"),
        ("0999", f"schema 0999 is newer than this release's {migrate.HEAD}: upgrade dsr-pipelines"),
    ]:
        with engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = :v"), {"v": version})
        assert message in project.cli("list", expect=2).stderr
    engine.dispose()


@pytest.mark.parametrize("missing", ["dsr_discovery_findings", "dsr_archives"])
def test_an_old_store_that_never_made_some_tables_is_upgraded(project, tmp_path, missing):
    """Releases before migrations made a table on its first use: some stores lack some."""
    url = legacy_sqlite(tmp_path / "legacy.db")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {missing}"))
    engine.dispose()
    project.write_config(request_store=url)
    project.cli("db", "upgrade")
    assert_schema_is_current(url)
    assert "ledger intact: 44 events" in project.cli("audit", "verify").stdout
