"""Links between stores: the keys by which a subject's rows in one store reach another store.

A lake's `events.user_id` references the shop's `customers.id`; to find a subject's events the
lookup needs their customer ids, and only the shop knows them. Before any store changes, each
request's links are resolved store by store (a store after the stores it points into) and
recorded, encrypted, in the state database (`state/links.py`): erasing the shop first cannot cut
the way to the lake, and a re-run after a crash still reaches every store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from connectors import Connector

from ..state.requests import Subject
from .datamap.graph import store_order
from .datamap.model import Datamap
from .lookup import REQUEST, find_subjects


def wanted(datamap: Datamap) -> dict[str, dict[str, tuple[str, tuple[str, ...]]]]:
    """Per store, the links other stores need from it: link name -> (collection, fields)."""
    out: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {}
    for store in datamap.stores.values():
        for spec in store.collections.values():
            for ref in spec.references:
                if not ref.local:
                    out.setdefault(ref.store, {})[ref.link] = (ref.to, tuple(ref.to_fields))
    return out


def resolve(
    datamap: Datamap, connector: Callable[[str], Connector], subjects: Sequence[Subject]
) -> dict[int, dict[str, set[tuple]]]:
    """Per request, the key tuples of every link, found store by store. Nothing is changed."""
    needed = wanted(datamap)
    links: dict[int, dict[str, set[tuple]]] = {s.request_id: {} for s in subjects}
    if not needed:
        return links
    for name in store_order(datamap):
        if name not in needed:
            continue
        current = [with_links(s, links[s.request_id]) for s in subjects]
        found = find_subjects(datamap.stores[name], connector(name), current).tables
        for link, (collection, fields) in needed[name].items():
            rows = found.get(collection)
            if rows is None:
                continue
            for row in rows.select([*fields, REQUEST]).drop_null().to_pylist():
                values = tuple(row[f] for f in fields)
                links[row[REQUEST]].setdefault(link, set()).add(values)
    return links


def with_links(subject: Subject, links: dict[str, set[tuple]]) -> Subject:
    merged = {k: tuple(v) for k, v in subject.links.items()}
    for link, values in links.items():
        merged[link] = tuple(sorted(set(merged.get(link, ())) | values, key=repr))
    return replace(subject, links=merged)
