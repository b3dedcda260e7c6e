"""Reflected schemas are kept between runs: a run never reflects a store whose catalogue did not
change, sees a change at once, and treats a cached schema it cannot open as a miss."""

from __future__ import annotations

from contextlib import contextmanager
from unittest.mock import patch

import pytest
import sqlalchemy as sa

from dsr_pipelines.intake.api import Dsr
from dsr_pipelines.state.schema import schema_cache_t

from .conftest import BACKENDS


@contextmanager
def reflected_columns():
    """Every column any reflection reads while inside, as (table, column), and ("*", "*") for each
    listing of the database's tables (an erasure asks for every table's references)."""
    seen: list[tuple[str, str]] = []
    reflect = sa.MetaData.reflect

    def on_reflect(inspector, table, column_info):
        seen.append((table.name, column_info["name"]))

    def listing(metadata, *args, **kwargs):
        seen.append(("*", "*"))
        return reflect(metadata, *args, **kwargs)

    sa.event.listen(sa.Table, "column_reflect", on_reflect)
    try:
        with patch.object(sa.MetaData, "reflect", listing):
            yield seen
    finally:
        sa.event.remove(sa.Table, "column_reflect", on_reflect)


def run(project, person, type_="access") -> list[tuple[str, str]]:
    request_id = project.submit(person, type_)
    with reflected_columns() as seen, Dsr(project.config_path, actor="tester") as dsr:
        assert dsr.run([request_id]).all_completed
    return seen


def cached(project) -> list:
    with project.db() as db, db.engine.connect() as conn:
        return conn.execute(sa.select(schema_cache_t.c.store, schema_cache_t.c.tables)).all()


@pytest.mark.parametrize("project", BACKENDS, indirect=True)
def test_a_store_is_reflected_once_until_its_catalogue_changes(project):
    first = run(project, project.people[0])
    assert ("customers", "email") in first
    assert [store for store, _ in cached(project)] == ["shop"]

    assert run(project, project.people[1]) == []  # the same catalogue: nothing reflected
    # An erasure needs every table's references: the first lists the tables once, the next nothing.
    assert run(project, project.people[2], "erasure") == [("*", "*")]
    assert run(project, project.people[5], "erasure") == []

    with project.engine().begin() as conn:  # a migration of the store adds a column
        conn.execute(sa.text("ALTER TABLE customers ADD COLUMN nickname VARCHAR(40)"))
    after = run(project, project.people[3])
    assert ("customers", "nickname") in after  # reflected again, with the new column
    assert run(project, project.people[4]) == []


def test_a_cached_schema_that_does_not_open_is_reflected_again(project):
    run(project, project.people[0])
    with project.db() as db, db.engine.begin() as conn:
        sealed = conn.execute(sa.select(schema_cache_t.c.schema)).scalar_one()
        forged = sealed[:-1] + bytes([sealed[-1] ^ 1])  # one bit changed: not what the key sealed
        conn.execute(sa.update(schema_cache_t).values(schema=forged))
    assert ("customers", "email") in run(project, project.people[1])
    assert run(project, project.people[2]) == []  # and kept sealed again


def test_commands_that_have_not_opened_the_state_database_reflect_as_before(project):
    project.cli("datamap", "check")
    assert cached(project) == []
