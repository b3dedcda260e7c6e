"""The datamap as a graph: collections children first, reference cycles, stores in link order."""

from __future__ import annotations

from ...core.errors import DatamapError
from .model import Datamap, StoreMap


def children_first(store: StoreMap) -> list[str]:
    """Collections ordered so that referencing rows come before the rows they reference."""
    parents = {
        name: {r.to for r in spec.local_references() if r.to != name and r.to in store.collections}
        for name, spec in store.collections.items()
    }
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order or name in visiting:
            return  # a cycle: its order is arbitrary, masking instead of deleting keeps it valid
        visiting.add(name)
        for child in sorted(c for c, ps in parents.items() if name in ps):
            visit(child)
        visiting.discard(name)
        order.append(name)

    for name in sorted(store.collections):
        visit(name)
    return order


def reference_cycles(store: StoreMap) -> list[list[str]]:
    """Cycles in the followed-reference graph (self-references included)."""
    edges = {
        name: sorted({r.to for r in spec.local_references() if r.follow and r.to in store.collections})
        for name, spec in store.collections.items()
    }
    cycles, seen = [], set()
    for start in sorted(edges):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in edges[node]:
                if nxt == start:
                    key = frozenset(path)
                    if key not in seen:
                        seen.add(key)
                        cycles.append(path + [start])
                elif nxt not in path and nxt > start:
                    stack.append((nxt, path + [nxt]))
    return cycles


def store_order(datamap: Datamap) -> list[str]:
    """Stores ordered so that a store comes after every store its references point into."""
    targets = {  # a reference naming its own store is reported by static_problems, not as a cycle
        name: sorted(
            {r.store for c in store.collections.values() for r in c.references if r.store not in (None, name)}
        )
        for name, store in datamap.stores.items()
    }
    order: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            cycle = " -> ".join([*visiting[visiting.index(name) :], name])
            raise DatamapError(f"stores reference each other in a cycle ({cycle}): links cannot be resolved")
        visiting.append(name)
        for target in targets.get(name, ()):
            if target in datamap.stores:
                visit(target)
        visiting.pop()
        order.append(name)

    for name in sorted(datamap.stores):
        visit(name)
    return order
