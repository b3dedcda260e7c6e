"""How a collection tells tenants apart, so that one controller's request never reaches another's rows.

A lookup starts at identity fields. In a store that holds several controllers' data, a collection
a lookup starts in must say whose each row is: its own `tenant_field`; a reference (through
collections of the same store) to a collection that has one, which the lookup then checks each
found row against; or `shared: true` with a `shared_reason`, when its rows are meant to be matched
whichever controller asks.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection

from .model import Datamap, Reference, StoreMap


def multi_tenant(datamap: Datamap, tenants: Collection[str]) -> bool:
    """More than one tenant declared, or any collection split by a tenant field."""
    return len(tenants) > 1 or any(
        c.tenant_field for s in datamap.stores.values() for c in s.collections.values()
    )


def tenant_path(store: StoreMap, collection: str) -> list[Reference] | None:
    """The shortest chain of references from `collection` to one with a tenant field (empty: it has
    one itself); None when there is none."""
    if store.collections[collection].tenant_field:
        return []
    seen, queue = {collection}, deque([(collection, [])])
    while queue:
        name, path = queue.popleft()
        for ref in store.collections[name].local_references():
            target = store.collections.get(ref.to)
            if target is None or ref.to in seen:
                continue
            if target.tenant_field:
                return [*path, ref]
            seen.add(ref.to)
            queue.append((ref.to, [*path, ref]))
    return None


def unscoped(datamap: Datamap, tenants: Collection[str]) -> list[tuple[str, str, str]]:
    """(store, collection, why) for each collection a lookup starts in that does not say how tenants
    are told apart, in a multi-tenant configuration."""
    if not multi_tenant(datamap, tenants):
        return []
    out = []
    for sname, store in sorted(datamap.stores.items()):
        for cname, coll in sorted(store.collections.items()):
            if coll.identity_fields() and not coll.shared and tenant_path(store, cname) is None:
                fields = ", ".join(sorted(coll.identity_fields()))
                out.append(
                    (
                        sname,
                        cname,
                        f"identity field {fields} but no tenant_field: another tenant's rows would match; "
                        "give a tenant_field, a reference to a collection with one, or shared: true "
                        "with a shared_reason",
                    )
                )
    return out
