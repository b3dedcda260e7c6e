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
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...core.errors import DatamapError
from ...core.yamlfile import read_yaml, validated

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
    # Rows matched whichever tenant asks (a store's own log of every tenant): said, with a reason.
    shared: bool = False
    shared_reason: str | None = None

    @model_validator(mode="after")
    def _retain_needs_basis(self) -> CollectionSpec:
        if self.erase == "retain" and not self.legal_basis:
            raise ValueError("erase: retain needs a legal_basis")
        return self

    @model_validator(mode="after")
    def _shared_needs_reason(self) -> CollectionSpec:
        if self.shared and not (self.shared_reason or "").strip():
            raise ValueError("shared: true needs a shared_reason")
        if self.shared and self.tenant_field:
            raise ValueError("a collection with a tenant_field is not shared")
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


def load_datamap(path: Path) -> Datamap:
    if not path.is_file():
        raise DatamapError(f"no datamap at {path} (create one with: dsr datamap init --store NAME)")
    return parse_datamap(read_yaml(path, DatamapError), str(path))


def parse_datamap(raw: dict, source: str = "datamap") -> Datamap:
    return validated(Datamap, raw, source, DatamapError)


def dump_datamap(datamap: Datamap, comments: Mapping[tuple[str, ...], str] | None = None) -> str:
    """The canonical YAML of a map: defaults left out, so two dumps diff line by line. `comments`
    puts a comment above the keys at the given paths (`("stores", "shop")`), for a reviewer."""
    data = {"version": 1, **datamap.model_dump(mode="json", exclude_defaults=True)}
    text = yaml.safe_dump(data, sort_keys=False, width=100)
    return _commented(text, comments) if comments else text


def _commented(text: str, comments: Mapping[tuple[str, ...], str]) -> str:
    """Walks the dump's block mappings by indentation to know each key's path."""
    out: list[str] = []
    path: list[tuple[int, str]] = []
    for line in text.splitlines():
        key = re.match(r"^( *)([^\s#\-'\"][^:]*|'[^']*'|\"[^\"]*\"):( |$)", line)
        if key:
            indent = len(key.group(1))
            while path and path[-1][0] >= indent:
                path.pop()
            path.append((indent, str(yaml.safe_load(key.group(2)))))
            comment = comments.get(tuple(k for _, k in path))
            if comment:
                out += [f"{key.group(1)}# {part}" for part in textwrap.wrap(comment, 96 - indent)]
        out.append(line)
    return "\n".join(out) + "\n"


def save_datamap(datamap: Datamap, path: Path, comments: Mapping[tuple[str, ...], str] | None = None) -> None:
    path.write_text(dump_datamap(datamap, comments))
