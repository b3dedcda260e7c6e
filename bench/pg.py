"""A scratch PostgreSQL schema for one benchmark, dropped afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

ADMIN = os.environ.get("DSR_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def scratch_schema(schema: str) -> Iterator[str]:
    """Yield a URL whose search_path is a fresh `schema`."""
    admin = sa.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{ADMIN}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()
