"""Every value the state database keeps encrypted, and the context each is bound to.

AES-GCM binds a ciphertext to its context (associated data), so a value copied to another row
does not decrypt. The repositories seal and open with these contexts; a key rotation walks
`SEALED` to re-encrypt everything; the keyring proves a master key by opening one of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from .schema import holds_t, identities_t, links_t, restrictions_t, skipped_t, webhooks_t


def identity(request_id: int, position: int) -> str:
    return f"request:{request_id}:{position}"


def link(request_id: int, name: str) -> str:
    return f"link:{request_id}:{name}"


def skipped_item(request_id: int) -> str:
    return f"skipped:{request_id}"


def hold_identity(hold_id: int) -> str:
    return f"hold:{hold_id}"


def webhook_secret(webhook_id: int) -> str:
    return f"webhook:{webhook_id}"


def restriction(request_id: int, store: str, collection: str, part: str) -> str:
    """`part`: `covered` (the records a restriction marks) or `previous` (marked before it)."""
    return f"restriction:{request_id}:{store}:{collection}:{part}"


@dataclass(frozen=True)
class Sealed:
    """One encrypted column: its table and how a row's context is made."""

    column: sa.Column
    context: Callable[[sa.Row], str]

    @property
    def table(self) -> sa.Table:
        return self.column.table


SEALED = (
    Sealed(identities_t.c.ciphertext, lambda r: identity(r.request_id, r.position)),
    Sealed(holds_t.c.ciphertext, lambda r: hold_identity(r.id)),
    Sealed(links_t.c.ciphertext, lambda r: link(r.request_id, r.link)),
    Sealed(skipped_t.c.item, lambda r: skipped_item(r.request_id)),
    Sealed(restrictions_t.c.covered, lambda r: restriction(r.request_id, r.store, r.collection, "covered")),
    Sealed(restrictions_t.c.previous, lambda r: restriction(r.request_id, r.store, r.collection, "previous")),
    Sealed(webhooks_t.c.secret, lambda r: webhook_secret(r.id)),
)
