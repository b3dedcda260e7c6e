"""A first, unreviewed datamap entry for a store, from its reflected schema and column names."""

from __future__ import annotations

import re

from connectors import CollectionInfo

from .model import CollectionSpec, FieldSpec, Reference, StoreMap

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
