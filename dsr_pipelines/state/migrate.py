"""The state database's schema version, checked whenever it is opened, and `dsr db upgrade`.

The schema changes only through the Alembic revisions in `migrations/versions/`. Its version is
kept in `dsr_schema_version` (not Alembic's default `alembic_version`, which Dagster's own
storage uses when both live in one PostgreSQL database). An empty database is created at the
newest revision; any other version than the newest is refused with the command that fixes it,
so that no release writes into a schema it was not made for.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import sqlalchemy as sa

from ..core.errors import DsrError
from .schema import metadata

# The newest revision in migrations/versions/ (tests/test_migrations.py checks it against Alembic's
# head). Opening a database compares with it alone: Alembic is imported only to create or upgrade.
HEAD = "0011"
VERSION_TABLE = "dsr_schema_version"
version_t = sa.Table(VERSION_TABLE, sa.MetaData(), sa.Column("version_num", sa.String(32)))
BASELINE = "0001"  # the schema of every release before migrations (commit f6f81dd and earlier)
UPGRADE = "dsr db upgrade"


class SchemaError(DsrError):
    """The state database's schema is not the one this release works with."""


@dataclass(frozen=True)
class Upgrade:
    before: str | None  # None: made by a release without migrations
    after: str


def engine_for(url: str) -> sa.Engine:
    # Bound values stay out of error messages, which end up in logs and Dagster's event log.
    # Pre-ping: after a restart of the database server, pooled connections are dead; a run that
    # failed on one must still be able to record that it failed (a SQLite file does not restart).
    sqlite = sa.engine.make_url(url).get_backend_name() == "sqlite"
    return sa.create_engine(url, hide_parameters=True, pool_pre_ping=not sqlite)


def _alembic(connection: sa.Connection | None = None):
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    config.attributes["connection"] = connection
    return config


@cache
def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory.from_config(_alembic()).walk_revisions()}


def current(conn: sa.Connection) -> str | None:
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(sa.select(version_t.c.version_num)).scalar()


def _has_state(conn: sa.Connection) -> bool:
    return any(name.startswith("dsr_") for name in sa.inspect(conn).get_table_names())


def require_current(engine: sa.Engine) -> None:
    """Refuse a database made for another schema; create an empty one at the newest revision."""
    with engine.connect() as conn:
        version = current(conn)
        if version == HEAD:
            return
        if version is None and not _has_state(conn):
            conn.commit()
            _create(engine)
            return
    if version is None:
        raise SchemaError(
            "the state database was made by a release without schema versions; "
            f"back it up, then run `{UPGRADE}`"
        )
    if version not in known_revisions():
        raise SchemaError(
            f"the state database's schema {version} is newer than this release's {HEAD}: "
            "upgrade dsr-pipelines"
        )
    raise SchemaError(f"the state database's schema is {version}, this release needs {HEAD}: run `{UPGRADE}`")


def _create(engine: sa.Engine) -> None:
    """A new database: every table as `schema.py` has it, stamped with the newest revision."""
    with engine.begin() as conn:
        from alembic import command

        metadata.create_all(conn)
        command.stamp(_alembic(conn), "head")


def upgrade(engine: sa.Engine) -> Upgrade:
    """Bring the database to the newest revision, whatever release made it."""
    with engine.connect() as conn:
        before = current(conn)
        fresh = before is None and not _has_state(conn)
    if fresh:
        _create(engine)
        return Upgrade(None, HEAD)
    from alembic import command

    with engine.begin() as conn:
        # A database without a version was made before migrations: the baseline revision creates
        # only the tables it lacks (the releases then made some of them on first use).
        command.upgrade(_alembic(conn), "head")
    return Upgrade(before, HEAD)
