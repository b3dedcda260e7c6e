"""A first, unreviewed datamap entry for a store from its reflected schema: keys, references, ids."""

from __future__ import annotations

import re

from connectors import CollectionInfo

from .model import CollectionSpec, FieldSpec, Reference, StoreMap

# A person's id in a table that does not reference the person table: an identity to start from.
# Which other fields are personal is discovery's to say, from sampled values (dsr datamap init).
_PERSON_ID = re.compile(r"^(user|customer|member|account)_?id$")
_PERSON_TABLES = re.compile(r"^(customer|user|member|account|person|people|client)s?$")


def tenant_column(info: CollectionInfo) -> str | None:
    """The column a collection's name for it suggests holds each row's tenant, if any."""
    return next((c.name for c in info.fields if c.name.lower() in ("tenant", "tenant_id")), None)


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
            if col.name in fields or col.name in info.primary_key or col.name in fk_fields:
                continue  # a reference to a person row is followed, not an identity of its own
            if _PERSON_ID.match(col.name.lower()):
                fields[col.name] = FieldSpec(category="user_id", identity="user_id", mask="hash")
        tenant = tenant_column(info)
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
