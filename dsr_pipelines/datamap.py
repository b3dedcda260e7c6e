"""`datamap.yaml`: where personal data lives, how a subject's rows link, and what erasure does.

Traversal starts at identity fields and follows references from a referenced row to the rows
that reference it (a customer's orders, an order's lines); `follow: false` marks references
that do not mean ownership (a referral, a product lookup). A reference with `store:` points
into another store (a lake's `events.user_id` to the shop's `customers.id`): one request
covers both. Object and lake collections also say where they live (prefix and format, a key
pattern, a dataset path).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connectors import CollectionInfo, Connector, StoreError
from connectors.s3 import ObjectLayout

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
    store: str | None = None  # another store's collection (`to` is named there); None: this store
    to: str
    to_fields: list[str] = Field(min_length=1)
    follow: bool = True

    @property
    def local(self) -> bool:
        return self.store is None

    @property
    def link(self) -> str:
        """The name of what a cross-store reference is linked by: `shop.customers(id)`."""
        return f"{self.store}.{self.to}({','.join(self.to_fields)})"

    @model_validator(mode="after")
    def _same_arity(self) -> Reference:
        if len(self.fields) != len(self.to_fields):
            raise ValueError("fields and to_fields must have the same length")
        return self


class RestrictionSpec(_Spec):
    """How a collection marks restricted records (Art. 18): exactly one way, fitting its store.

    `flag` (SQL): a boolean column set for restricted rows. `tag` (objects): an object tag.
    `side_table` (lakes): a path under the lake's root (starting with `_`, so it is never taken for
    a dataset) holding the restricted values of the `key` columns, which readers anti-join against.
    """

    flag: str | None = None
    tag: str | None = None
    side_table: str | None = Field(None, pattern=r"^_[A-Za-z0-9_./-]+$")
    key: list[str] = []

    @model_validator(mode="after")
    def _exactly_one(self) -> RestrictionSpec:
        if sum(v is not None for v in (self.flag, self.tag, self.side_table)) != 1:
            raise ValueError("give exactly one of flag, tag, side_table")
        if bool(self.side_table) != bool(self.key):
            raise ValueError("a side_table needs key (the columns it holds), and only a side_table has one")
        return self

    @property
    def marker(self) -> str:
        """What the connector marks restricted records with: the flag, the tag or the side table."""
        return self.flag or self.tag or self.side_table


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
    # Object stores: the prefix and format of the collection's objects, or a key pattern such
    # as `users/{user_id}/` under which every object belongs to one subject.
    prefix: str | None = None
    format: Literal["auto", "json", "ndjson", "csv", "text"] | None = None
    key_pattern: str | None = None
    # Lake stores: the dataset's path under the store's root (default: the collection's name).
    path: str | None = None
    restriction: RestrictionSpec | None = None

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

    def value_masks(self) -> dict[str, MaskMethod]:
        """How each personal field is masked when no subject is known (sweeps, replays): `spans`
        needs the subject's terms, so such text is redacted whole."""
        return {name: "redact" if m == "spans" else m for name, m in self.personal_fields().items()}

    def identity_fields(self) -> dict[str, str]:
        return {name: spec.identity for name, spec in self.fields.items() if spec.identity}

    def layout(self) -> dict[str, str]:
        """Where an object or lake collection lives, as its connector takes it."""
        names = ("prefix", "format", "key_pattern", "path")
        return {k: v for k in names if (v := getattr(self, k)) is not None}

    def local_references(self) -> list[Reference]:
        return [r for r in self.references if r.local]


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


_KIND_FIELDS = {"s3": ("prefix", "format", "key_pattern"), "parquet": ("path",), "sql": ()}


def static_problems(datamap: Datamap, stores: dict[str, str]) -> list[Problem]:
    """Problems visible without touching a store; `stores` maps each configured store to its kind."""
    problems = []
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
            primary_key=list(info.primary_key),
            tenant_field=tenant,
            fields=fields,
            references=references,
            **dict(info.layout),
        )
    return StoreMap(collections=out)
