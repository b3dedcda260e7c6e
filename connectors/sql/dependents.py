"""Rows that reference expiring rows, in a SQL store: what keeps an expiring row, and what goes (or
loses its reference) with it, children first, in the expiring batch's own transaction.

Conditions that read the swept table itself in a subquery are left out (a self-reference's rows
neither keep their parent nor are counted by a subquery): MySQL and MariaDB refuse a DELETE whose
subquery reads the table it deletes from. The keys a batch removes are read first and matched
by value (`IN` chunks), so clearing a self-reference works on every database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pyarrow as pa
import sqlalchemy as sa

from ..base import Dependent

if TYPE_CHECKING:
    from .connector import SqlConnector


def _link(child, parent, dep: Dependent) -> sa.ColumnElement[bool]:
    return sa.and_(*[child.c[f] == parent.c[t] for f, t in zip(dep.fields, dep.to_fields, strict=True)])


def _stays(sql: SqlConnector, child, dep: Dependent, moment) -> list[sa.ColumnElement[bool]]:
    """Why a row of a dependent collection must stay: held, restricted, or kept by its own rule."""
    if dep.keep_all:
        return [sa.true()]
    reasons = [c for keys in dep.keep if keys.num_rows for c in sql.key_conditions(child, keys)]
    if dep.restricted and dep.restricted in child.c:
        flag = child.c[dep.restricted]
        reasons.append(sa.and_(flag.is_not(None), flag != sa.false()))
    if dep.action == "delete" and dep.own_age is not None and dep.own_age.field in child.c:
        column = child.c[dep.own_age.field]
        reasons.append(column >= moment(column.type, dep.own_cutoff))
    return reasons


def _holding(sql: SqlConnector, parent, dep: Dependent, top: str, moment) -> sa.ColumnElement[bool] | None:
    """Rows of `parent` some row of `dep` (or of its own dependents) that must stay references."""
    if dep.collection == top:
        return None
    child = sql.table(dep.collection).alias()
    reasons = _stays(sql, child, dep, moment)
    if dep.action == "delete":
        reasons += [c for d in dep.dependents if (c := _holding(sql, child, d, top, moment)) is not None]
    if not reasons:
        return None
    return sa.exists().where(_link(child, parent, dep), sa.or_(*reasons))


def keeping(
    sql: SqlConnector, table: sa.Table, deps: Sequence[Dependent], moment
) -> dict[str, sa.ColumnElement[bool]]:
    """Per dependent collection, the condition on `table`'s rows that it keeps them."""
    out: dict[str, sa.ColumnElement[bool]] = {}
    for dep in deps:
        condition = _holding(sql, table, dep, table.name, moment)
        if condition is not None:
            earlier = out.get(dep.collection)
            out[dep.collection] = condition if earlier is None else sa.or_(earlier, condition)
    return out


def count(
    sql: SqlConnector,
    conn: sa.Connection,
    parent,
    going: sa.ColumnElement[bool],
    deps: Sequence[Dependent],
    counts: dict[str, int],
) -> None:
    """How many rows of each dependent would go or be cleared with `parent`'s rows where `going`."""
    for dep in deps:
        child = sql.table(dep.collection).alias()
        keys = sa.select(*[parent.c[t] for t in dep.to_fields]).where(going)
        columns = [child.c[f] for f in dep.fields]
        refs = (columns[0] if len(columns) == 1 else sa.tuple_(*columns)).in_(keys)
        found = conn.execute(sa.select(sa.func.count()).select_from(child).where(refs)).scalar()
        counts[dep.collection] = counts.get(dep.collection, 0) + found
        if dep.action == "delete":
            count(sql, conn, child, refs, dep.dependents, counts)


def apply(
    sql: SqlConnector,
    conn: sa.Connection,
    parent: sa.Table,
    going: sa.ColumnElement[bool],
    deps: Sequence[Dependent],
    counts: dict[str, int],
) -> None:
    """Delete or clear, children first, the rows of `deps` referencing `parent`'s rows where `going`."""
    for dep in deps:
        child = sql.table(dep.collection)
        rows = conn.execute(sa.select(*[parent.c[t] for t in dep.to_fields]).where(going).distinct()).all()
        rows = [r for r in rows if None not in r]
        if not rows:
            continue
        keys = pa.table({f: [r[i] for r in rows] for i, f in enumerate(dep.fields)})
        refs = sa.or_(*sql.key_conditions(child, keys))
        if dep.action == "clear":
            changed = conn.execute(sa.update(child).where(refs).values(dict.fromkeys(dep.fields))).rowcount
        else:
            apply(sql, conn, child, refs, dep.dependents, counts)
            changed = conn.execute(sa.delete(child).where(refs)).rowcount
        counts[dep.collection] = counts.get(dep.collection, 0) + changed
