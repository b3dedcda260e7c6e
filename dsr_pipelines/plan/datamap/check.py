"""Check a datamap: what is wrong with it on its own (`static_problems`) and against a live store
(`live_problems`), each problem with its key path."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from connectors import Connector, StoreError
from connectors.s3 import ObjectLayout

from ...core.errors import DatamapError
from .graph import reference_cycles, store_order
from .model import CollectionSpec, Datamap, StoreMap
from .tenancy import unscoped


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


_KIND_FIELDS = {"s3": ("prefix", "format", "key_pattern"), "parquet": ("path",), "sql": ()}


def static_problems(datamap: Datamap, stores: dict[str, str], tenants: Collection[str] = ()) -> list[Problem]:
    """Problems visible without touching a store; `stores` maps each configured store to its kind,
    `tenants` are the declared tenants."""
    problems = [Problem(f"stores.{s}.collections.{c}", why) for s, c, why in unscoped(datamap, tenants)]
    try:
        store_order(datamap)
    except DatamapError as exc:
        problems.append(Problem("stores", str(exc)))
    for sname, store in datamap.stores.items():
        spath = f"stores.{sname}"
        kind = stores.get(sname)
        if kind is None:
            problems.append(Problem(spath, "unknown store (not in dsr.yaml stores)"))
        for cname, coll in store.collections.items():
            cpath = f"{spath}.collections.{cname}"
            problems += _collection_problems(datamap, sname, kind, cname, coll, cpath)
        for cycle in reference_cycles(store):
            for cname in cycle[:-1]:
                if not store.collections[cname].primary_key:
                    path = " -> ".join(cycle)
                    problems.append(
                        Problem(
                            f"{spath}.collections.{cname}", f"in reference cycle {path} without a primary_key"
                        )
                    )
    return problems


def _collection_problems(
    datamap: Datamap, sname: str, kind: str | None, cname: str, coll: CollectionSpec, cpath: str
) -> list[Problem]:
    problems = []
    for fname, spec in coll.fields.items():
        if spec.identity and not spec.category:
            problems.append(Problem(f"{cpath}.fields.{fname}", f"identity {spec.identity} has no category"))
        if spec.mask == "spans" and kind in ("s3", "parquet") and not coll.primary_key:
            problems.append(
                Problem(f"{cpath}.fields.{fname}", "mask: spans rewrites rows by key: give a primary_key")
            )
    for key in coll.layout():
        if kind is not None and key not in _KIND_FIELDS.get(kind, ()):
            problems.append(Problem(f"{cpath}.{key}", f"not a setting of {kind} collections"))
    if coll.key_pattern is not None:
        names = ObjectLayout(key_pattern=coll.key_pattern).placeholders()
        if not names:
            hint = "needs a {field} placeholder, e.g. users/{user_id}/"
            problems.append(Problem(f"{cpath}.key_pattern", hint))
        if coll.erase != "delete":
            problems.append(Problem(f"{cpath}.erase", "objects under a key pattern can only be deleted"))
        if coll.tenant_field and coll.tenant_field not in names:
            hint = (
                f"must be a placeholder of the key pattern, e.g. {{{coll.tenant_field}}}/users/{{user_id}}/"
            )
            problems.append(Problem(f"{cpath}.tenant_field", hint))
    if coll.restriction is not None and kind is not None:
        how = next(k for k in ("flag", "tag", "side_table") if getattr(coll.restriction, k))
        fits = {"sql": "flag", "s3": "tag", "parquet": "side_table"}[kind]
        if how != fits:
            problems.append(Problem(f"{cpath}.restriction", f"{kind} collections mark restriction by {fits}"))
    if coll.format == "text" and coll.tenant_field:
        problems.append(Problem(f"{cpath}.tenant_field", "plain-text records have no field for a tenant"))
    for i, ref in enumerate(coll.references):
        rpath = f"{cpath}.references[{i}]"
        if ref.local:
            if ref.to not in datamap.stores[sname].collections:
                problems.append(Problem(rpath, f"refers to {ref.to}, not in this store's map"))
        elif ref.store == sname:
            problems.append(Problem(rpath, "store: names this same store; leave it out"))
        elif ref.store not in datamap.stores:
            problems.append(Problem(rpath, f"refers to store {ref.store}, not in the datamap"))
        elif ref.to not in datamap.stores[ref.store].collections:
            problems.append(Problem(rpath, f"refers to {ref.store}.{ref.to}, not in that store's map"))
    return problems


def live_problems(store_name: str, store: StoreMap, connector: Connector) -> list[Problem]:
    """Problems found by comparing one store's map with the live schema."""
    spath = f"stores.{store_name}"
    try:
        live = {c.name: c for c in connector.collections()}
    except StoreError as exc:
        return [Problem(spath, f"unreachable: {exc}")]
    problems = []
    for cname, coll in store.collections.items():
        cpath = f"{spath}.collections.{cname}"
        info = live.get(cname)
        if info is None:
            problems.append(Problem(cpath, "no such table"))
            continue
        columns = {f.name for f in info.fields}

        def need(
            path: str, names: list[str], what: str, cols: set[str] = columns, table: str = cname
        ) -> None:
            for name in names:
                if name not in cols:
                    problems.append(Problem(path, f"{what} {name}: no such column in {table}"))

        for fname in coll.fields:
            if fname not in columns and coll.format != "text":  # text identities are found inside lines
                problems.append(Problem(f"{cpath}.fields.{fname}", f"no such column in {cname}"))
        need(f"{cpath}.primary_key", coll.primary_key, "primary key")
        if coll.tenant_field:
            need(f"{cpath}.tenant_field", [coll.tenant_field], "tenant field")
        for i, ref in enumerate(coll.references):
            rpath = f"{cpath}.references[{i}]"
            need(rpath, ref.fields, "field")
            if not ref.local:
                continue  # the other store's side is checked with that store
            target = live.get(ref.to)
            if target is None:
                if ref.to in store.collections:
                    problems.append(Problem(rpath, f"refers to {ref.to}: no such table"))
            else:
                need(rpath, ref.to_fields, "to_field", {f.name for f in target.fields}, ref.to)
    return problems
