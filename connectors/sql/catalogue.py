"""A cheap fingerprint of a database's catalogue: what reflection would see, hashed.

One query on the catalogue (SQLite's `sqlite_master`, PostgreSQL's `pg_attribute` and
`pg_constraint`, MariaDB's `information_schema`), far cheaper than reflecting the tables: equal
fingerprints mean a schema reflected before can be used again. Other databases have none, and
are reflected every time.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

_SQLITE = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"

# Columns with their types and nullability, then every constraint (keys, references) as DDL.
_POSTGRESQL = """
SELECT c.relname, a.attnum::text, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull::text
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0
  AND NOT a.attisdropped
UNION ALL
SELECT c.relname, 'constraint', k.conname, pg_get_constraintdef(k.oid), ''
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema()
ORDER BY 1, 2, 3
"""

_MARIADB = """
SELECT table_name, CAST(ordinal_position AS CHAR), column_name, column_type, is_nullable, column_key,
       ''
FROM information_schema.columns WHERE table_schema = DATABASE()
UNION ALL
SELECT table_name, 'constraint', constraint_name, column_name, COALESCE(referenced_table_name, ''),
       COALESCE(referenced_column_name, ''), CAST(ordinal_position AS CHAR)
FROM information_schema.key_column_usage WHERE table_schema = DATABASE()
ORDER BY 1, 2, 3, 4
"""

QUERIES = {"sqlite": _SQLITE, "postgresql": _POSTGRESQL, "mysql": _MARIADB, "mariadb": _MARIADB}


def fingerprint(conn: sa.Connection) -> str | None:
    """The catalogue's fingerprint, or None for a database this module cannot read cheaply."""
    query = QUERIES.get(conn.dialect.name)
    if query is None:
        return None
    digest = hashlib.sha256(conn.dialect.name.encode())
    for row in conn.execute(sa.text(query)):
        digest.update(("\x1f".join("" if v is None else str(v) for v in row) + "\n").encode())
    return digest.hexdigest()
