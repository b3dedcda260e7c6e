"""What legal holds keep: the records of held subjects, and the collections held whole.

Sweeps and purges keep held records (`held_rows`, `held_keys`); an erasure that meets a hold
erases everything else and keeps the held part (`split_by_holds`), counted as retained with the
hold as the reason. The holds themselves are records in the state database (`state/holds.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from connectors import SOURCE, Connector
from connectors.matching import matches

from ..plan import links, lookup
from ..plan.datamap.model import Datamap, StoreMap
from ..plan.lookup import SubjectRows
from ..state.holds import Hold
from ..state.requests import Subject


@dataclass(frozen=True)
class HeldGroup:
    """Subjects erased together under one store map: the collections their holds cover are retained."""

    store_map: StoreMap
    subjects: list[Subject]
    met: dict[int, list[Hold]]  # per request, the holds it met in this store


def held_rows(
    datamap: Datamap, connector: Callable[[str], Connector], store: str, held: Sequence[Subject]
) -> SubjectRows | None:
    """The records of held subjects (request id: minus the hold's id) in `store`, links resolved."""
    store_map = datamap.stores.get(store)
    if not held or store_map is None:
        return None
    found = links.resolve(datamap, connector, held)
    linked = [links.with_links(s, found[s.request_id]) for s in held]
    return lookup.find_subjects(store_map, connector(store), linked)


def held_keys(
    store_map: StoreMap, kind: str, findings: SubjectRows | None
) -> dict[str, list[tuple[int, pa.Table]]]:
    """Per collection, the keys of the records held subjects own, as (hold id, keys): what a sweep
    or purge keeps. Objects go whole, so a held record keeps its object (`_source`)."""
    out: dict[str, list[tuple[int, pa.Table]]] = {}
    if findings is None:
        return out
    for collection, table in findings.tables.items():
        columns = [SOURCE] if kind == "s3" else lookup.row_key(store_map.collections[collection], table)
        for request in set(table[lookup.REQUEST].to_pylist()):
            mine = table.filter(pc.equal(table[lookup.REQUEST], request))
            out.setdefault(collection, []).append((-request, mine.select(columns)))
    return out


def overlapping(store_map: StoreMap, mine: SubjectRows, held: SubjectRows | None) -> dict[int, set[int]]:
    """Per request, the holds whose subject owns some of the request's records in this store.

    This is how a hold placed on one identity (a phone) meets an erasure asked by another (an
    email) of the same person: they share records.
    """
    out: dict[int, set[int]] = {}
    if held is None:
        return out
    for collection, rows in mine.tables.items():
        theirs = held.tables.get(collection)
        if theirs is None:
            continue
        columns = lookup.row_key(store_map.collections[collection], rows)
        for hold_request in set(theirs[lookup.REQUEST].to_pylist()):
            keys = theirs.filter(pc.equal(theirs[lookup.REQUEST], hold_request)).select(columns)
            shared = rows.filter(matches(rows, keys))
            for request_id in set(shared[lookup.REQUEST].to_pylist()):
                out.setdefault(request_id, set()).add(-hold_request)
    return out


def split_by_holds(
    store: str,
    store_map: StoreMap,
    subjects: Sequence[Subject],
    refs: Mapping[int, Sequence[str]],
    active: Sequence[Hold],
    overlap: Mapping[int, set[int]],
) -> list[HeldGroup]:
    """Group an erasure's subjects by what holds keep of theirs in `store`.

    A subject on hold (named by one of the request's identities, or sharing records with the held
    subject: `overlap`) keeps everything; a collection on hold keeps its tenant's rows (all rows,
    when the collection has no tenant field). Held collections become `retain`, with the hold as
    the legal basis, so the erasure counts them as retained and changes the rest.
    """
    groups: dict[tuple, HeldGroup] = {}
    for subject in subjects:
        held: dict[str, list[Hold]] = {}
        for hold in active:
            named = hold.identity_ref in refs[subject.request_id]
            if (
                hold.identity_ref
                and hold.tenant == subject.tenant
                and (named or hold.id in overlap.get(subject.request_id, ()))
            ):
                for name in store_map.collections:
                    held.setdefault(name, []).append(hold)
            elif hold.store == store and hold.collection in store_map.collections:
                spec = store_map.collections[hold.collection]
                if hold.tenant == subject.tenant or not spec.tenant_field:
                    held.setdefault(hold.collection, []).append(hold)
        signature = tuple(sorted((c, tuple(h.id for h in hs)) for c, hs in held.items()))
        if signature not in groups:
            groups[signature] = HeldGroup(_retaining(store_map, held), [], {})
        group = groups[signature]
        group.subjects.append(subject)
        met = sorted({h.id: h for hs in held.values() for h in hs}.values(), key=lambda h: h.id)
        if met:
            group.met[subject.request_id] = met
    return list(groups.values())


def _retaining(store_map: StoreMap, held: Mapping[str, Sequence[Hold]]) -> StoreMap:
    if not held:
        return store_map
    collections = dict(store_map.collections)
    for name, holds in held.items():
        basis = ", ".join(h.name for h in holds)
        collections[name] = collections[name].model_copy(update={"erase": "retain", "legal_basis": basis})
    return store_map.model_copy(update={"collections": collections})
