"""`datamap.yaml`: where personal data lives, how a subject's rows link, and what erasure does.

Traversal starts at identity fields and follows references from a referenced row to the rows
that reference it (a customer's orders, an order's lines); `follow: false` marks references
that do not mean ownership (a referral, a product lookup).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connectors import CollectionInfo, Connector, StoreError

from .errors import DatamapError

MaskMethod = Literal["null", "redact", "hash"]
# `spans` (free text only): redact just the subject's emails, phones and names inside the text.
FieldMask = Literal["null", "redact", "hash", "spans"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldSpec(_Spec):
    category: str | None = None
    identity: str | None = Field(None, pattern=r"^[a-z][a-z0-9_]{0,39}$")
    mask: FieldMask | None = None
    reviewed: bool = False  # a person confirmed this entry: discovery never changes it


class Reference(_Spec):
    fields: list[str] = Field(min_length=1)
    to: str
    to_fields: list[str] = Field(min_length=1)
    follow: bool = True

    @model_validator(mode="after")
    def _same_arity(self) -> Reference:
        if len(self.fields) != len(self.to_fields):
            raise ValueError("fields and to_fields must have the same length")
        return self


class CollectionSpec(_Spec):
    primary_key: list[str] = []
    tenant_field: str | None = None
    erase: Literal["delete", "mask", "retain"] = "delete"
    legal_basis: str | None = None
    mask: MaskMethod = "null"
    purposes: list[str] = []
    recipients: list[str] = []
    retention: str | None = None
    reviewed: bool = False
    fields: dict[str, FieldSpec] = {}
    references: list[Reference] = []

    @model_validator(mode="after")
    def _retain_needs_basis(self) -> CollectionSpec:
        if self.erase == "retain" and not self.legal_basis:
            raise ValueError("erase: retain needs a legal_basis")
        return self

    def key_fields(self) -> set[str]:
        """Fields that identify rows rather than describe people: never masked."""
        keys = set(self.primary_key) | {f for r in self.references for f in r.fields}
        return keys | ({self.tenant_field} if self.tenant_field else set())

    def personal_fields(self) -> dict[str, FieldMask]:
        """Fields with a category and how each is masked."""
        keys = self.key_fields()
        return {
            name: spec.mask or self.mask
            for name, spec in self.fields.items()
            if spec.category and name not in keys
        }

    def identity_fields(self) -> dict[str, str]:
        return {name: spec.identity for name, spec in self.fields.items() if spec.identity}


class StoreMap(_Spec):
    collections: dict[str, CollectionSpec] = {}


class Datamap(_Spec):
    version: Literal[1] = 1
    stores: dict[str, StoreMap] = {}

    def identity_kinds(self) -> set[str]:
        return {
            kind
            for store in self.stores.values()
            for coll in store.collections.values()
            for kind in coll.identity_fields().values()
        }


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def load_datamap(path: Path) -> Datamap:
    if not path.is_file():
        raise DatamapError(f"no datamap at {path} (create one with: dsr datamap init --store NAME)")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise DatamapError(f"{path}: not valid YAML ({exc.__class__.__name__})") from None
    return parse_datamap(raw, str(path))


def parse_datamap(raw: dict, source: str = "datamap") -> Datamap:
    try:
        return Datamap.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if p not in ("function-after",)) or "(top level)"
        raise DatamapError(f"{source}: {where}: {first['msg']}") from None


def dump_datamap(datamap: Datamap) -> str:
    """The canonical YAML of a map: defaults left out, so two dumps diff line by line."""
    data = {"version": 1, **datamap.model_dump(mode="json", exclude_defaults=True)}
    return yaml.safe_dump(data, sort_keys=False, width=100)


def save_datamap(datamap: Datamap, path: Path) -> None:
    path.write_text(dump_datamap(datamap))


def children_first(store: StoreMap) -> list[str]:
    """Collections ordered so that referencing rows come before the rows they reference."""
    parents = {
        name: {r.to for r in spec.references if r.to != name and r.to in store.collections}
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
        name: sorted({r.to for r in spec.references if r.follow and r.to in store.collections})
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


def static_problems(datamap: Datamap, store_names: set[str]) -> list[Problem]:
    """Problems visible without touching a store."""
    problems = []
    for sname, store in datamap.stores.items():
        spath = f"stores.{sname}"
        if sname not in store_names:
            problems.append(Problem(spath, "unknown store (not in dsr.yaml stores)"))
        for cname, coll in store.collections.items():
            cpath = f"{spath}.collections.{cname}"
            for fname, spec in coll.fields.items():
                if spec.identity and not spec.category:
                    problems.append(
                        Problem(f"{cpath}.fields.{fname}", f"identity {spec.identity} has no category")
                    )
            for i, ref in enumerate(coll.references):
                if ref.to not in store.collections:
                    problems.append(
                        Problem(f"{cpath}.references[{i}]", f"refers to {ref.to}, not in this store's map")
                    )
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
            if fname not in columns:
                problems.append(Problem(f"{cpath}.fields.{fname}", f"no such column in {cname}"))
        need(f"{cpath}.primary_key", coll.primary_key, "primary key")
        if coll.tenant_field:
            need(f"{cpath}.tenant_field", [coll.tenant_field], "tenant field")
        for i, ref in enumerate(coll.references):
            rpath = f"{cpath}.references[{i}]"
            need(rpath, ref.fields, "field")
            target = live.get(ref.to)
            if target is None:
                if ref.to in store.collections:
                    problems.append(Problem(rpath, f"refers to {ref.to}: no such table"))
            else:
                need(rpath, ref.to_fields, "to_field", {f.name for f in target.fields}, ref.to)
    return problems


# Column-name hints for the first draft of a datamap; discovery replaces guessing later.
_HINTS: list[tuple[re.Pattern[str], str, str | None]] = [
    (re.compile(r"^(e_?mail|email_?address|.*_email)$"), "email", "email"),
    (re.compile(r"^(phone|mobile|telephone|tel|phone_?number|.*_phone)$"), "phone", "phone"),
    (re.compile(r"^(user|customer|member|account)_?id$"), "user_id", None),
    (re.compile(r"^(name|first_?name|last_?name|full_?name|surname|given_?name)$"), "name", None),
    (
        re.compile(r"^(address|street|address_?line_?\d?|city|zip|zip_?code|post_?code|postal_?code)$"),
        "address",
        None,
    ),
    (re.compile(r"^(ip|ip_?address|remote_?addr)$"), "ip_address", None),
    (re.compile(r"^(dob|birth_?date|date_?of_?birth|birthday)$"), "date_of_birth", None),
    (re.compile(r"^(body|notes?|comment|message|description|text)$"), "free_text", None),
]
_PERSON_TABLES = re.compile(r"^(customer|user|member|account|person|people|client)s?$")


def _singular(table: str) -> str:
    return table[:-1] if table.endswith("s") else table


def draft_store_map(collections: list[CollectionInfo]) -> StoreMap:
    """A first, unreviewed map of one store from its reflected schema."""
    out: dict[str, CollectionSpec] = {}
    for info in collections:
        fk_fields = {f for fk in info.foreign_keys for f in fk.fields}
        fields: dict[str, FieldSpec] = {}
        if _PERSON_TABLES.match(info.name) and len(info.primary_key) == 1:
            kind = f"{_singular(info.name)}_id"
            fields[info.primary_key[0]] = FieldSpec(category=kind, identity=kind)
        for col in info.fields:
            lname = col.name.lower()
            if col.name in fields or col.name in info.primary_key:
                continue
            for pattern, category, identity in _HINTS:
                if not pattern.match(lname):
                    continue
                if category == "user_id":
                    if col.name in fk_fields:
                        break  # a reference to a person row: followed, not an identity of its own
                    identity = category
                mask = "hash" if identity else ("redact" if not col.nullable and col.is_text else None)
                fields[col.name] = FieldSpec(category=category, identity=identity, mask=mask)
                break
        tenant = next((c.name for c in info.fields if c.name.lower() in ("tenant", "tenant_id")), None)
        references = [
            Reference(
                fields=list(fk.fields),
                to=fk.to_collection,
                to_fields=list(fk.to_fields),
                follow=fk.to_collection != info.name,
            )
            for fk in info.foreign_keys
        ]
        out[info.name] = CollectionSpec(
            primary_key=list(info.primary_key), tenant_field=tenant, fields=fields, references=references
        )
    return StoreMap(collections=out)
