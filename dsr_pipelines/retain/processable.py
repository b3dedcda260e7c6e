"""For the processor's own jobs: read only records whose processing is not restricted (Art. 18).

Anything that processes personal data beyond storing it (a newsletter send, an export to a
recipient, analytics) reads through these, so restricted records are kept but left alone:

    from .processable import processable_rows, processable_select

    rows = conn.execute(processable_select(shop.customers, datamap.stores["shop"], "customers"))
    events = processable_rows(lake_table, lake.restricted("events", "_restricted/events"))

A collection restricted through another (orders through their customer) is filtered by joining
that collection's flag; the docs show the same as a SQL view.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from connectors.matching import matches

from ..core.errors import DsrError
from ..plan.datamap.model import StoreMap
from .restriction import covering


def processable_select(table: sa.Table, store: StoreMap, collection: str) -> sa.Select:
    """`SELECT * FROM table` without restricted rows: its own flag, or the flag of the collection
    it is restricted through, reached along the datamap's followed references."""
    via = covering(store, collection)
    if via is None:
        raise DsrError(f"{collection}: no restriction marker here or through its references")
    query = sa.select(table)
    current, current_name = table, collection
    while current_name != via:
        spec = store.collections[current_name]
        ref = next(r for r in spec.local_references() if r.follow and covering(store, r.to) == via)
        parent = table.metadata.tables[ref.to]
        on = sa.and_(*(current.c[f] == parent.c[t] for f, t in zip(ref.fields, ref.to_fields, strict=True)))
        query = query.join_from(current, parent, on)
        current, current_name = parent, ref.to
    flag = current.c[store.collections[via].restriction.flag]
    return query.where(sa.or_(flag.is_(None), flag == sa.false()))


def processable_rows(rows: pa.Table, restricted: pa.Table) -> pa.Table:
    """Arrow rows without those whose key is in `restricted` (a lake's side table, or `_source`s)."""
    if restricted.num_rows == 0:
        return rows
    return rows.filter(pc.invert(matches(rows, restricted)))
