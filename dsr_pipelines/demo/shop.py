"""A small shop schema with generated people: the demo's data, the tests' fixture, the benchmark's load.

Five related tables and two more: composite primary keys (addresses, order lines), a
composite foreign key (returns -> order lines), a chain (customers -> orders -> order lines ->
returns), a self-reference that is not ownership (referrals) and a free-text field (tickets).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from faker import Faker

metadata = sa.MetaData()

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("email", sa.String(200), nullable=False, index=True),
    sa.Column("phone", sa.String(40), index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("referred_by", sa.Integer, sa.ForeignKey("customers.id")),
    # Processing restricted (Art. 18): set and cleared by restriction requests; the customer's
    # addresses, orders and returns are restricted through it.
    sa.Column("restricted", sa.Boolean, nullable=False, default=False),
    sa.UniqueConstraint("tenant_id", "email"),
)
addresses = sa.Table(
    "addresses",
    metadata,
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("street", sa.String(200)),
    sa.Column("city", sa.String(100)),
)
orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False, index=True),
    sa.Column("placed_on", sa.Date, nullable=False),
    sa.Column("total_cents", sa.Integer, nullable=False),
)
order_lines = sa.Table(
    "order_lines",
    metadata,
    sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("sku", sa.String(40), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("gift_message", sa.String(500)),
)
returns = sa.Table(
    "returns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("order_id", sa.Integer, nullable=False),
    sa.Column("line_no", sa.Integer, nullable=False),
    sa.Column("reason", sa.String(500)),
    sa.ForeignKeyConstraint(["order_id", "line_no"], ["order_lines.order_id", "order_lines.line_no"]),
    sa.Index("ix_returns_line", "order_id", "line_no"),
)
support_tickets = sa.Table(
    "support_tickets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("tenant_id", sa.String(40), nullable=False),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), index=True),
    sa.Column("email", sa.String(200), index=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("opened_at", sa.DateTime, nullable=False, default=sa.func.current_timestamp()),
    sa.Column("restricted", sa.Boolean, nullable=False, default=False),  # processing restricted (Art. 18)
)

# The reviewed datamap for this schema. Orders and their lines are kept for tax law, so a
# customer who has orders is masked rather than deleted; tickets keep their text, minus the person.
DATAMAP = {
    "collections": {
        "customers": {
            "primary_key": ["id"],
            "tenant_field": "tenant_id",
            "erase": "delete",
            "reviewed": True,
            "purposes": ["account management", "order fulfilment"],
            "recipients": ["payment processor"],
            "retention": "until account closure",
            "restriction": {"flag": "restricted"},
            "fields": {
                "id": {"category": "customer_id", "identity": "customer_id"},
                "email": {"category": "email", "identity": "email", "mask": "hash"},
                "phone": {"category": "phone", "identity": "phone"},
                "name": {"category": "name", "mask": "redact"},
            },
            "references": [
                {"fields": ["referred_by"], "to": "customers", "to_fields": ["id"], "follow": False}
            ],
        },
        "addresses": {
            "primary_key": ["customer_id", "seq"],
            "erase": "delete",
            "reviewed": True,
            "purposes": ["delivery"],
            "recipients": ["parcel carrier"],
            "retention": "until account closure",
            "fields": {"street": {"category": "address"}, "city": {"category": "address"}},
            "references": [{"fields": ["customer_id"], "to": "customers", "to_fields": ["id"]}],
        },
        "orders": {
            "primary_key": ["id"],
            "tenant_field": "tenant_id",
            "erase": "retain",
            "reviewed": True,
            "legal_basis": "tax law: invoices kept 10 years",
            "purposes": ["order fulfilment", "accounting"],
            "recipients": ["tax authority on request"],
            "retention": "P10Y",
            "fields": {"customer_id": {"category": "customer_id"}},
            "references": [{"fields": ["customer_id"], "to": "customers", "to_fields": ["id"]}],
        },
        "order_lines": {
            "primary_key": ["order_id", "line_no"],
            "erase": "mask",
            "reviewed": True,
            "purposes": ["order fulfilment", "accounting"],
            "retention": "P10Y",
            "fields": {"gift_message": {"category": "free_text"}},
            "references": [{"fields": ["order_id"], "to": "orders", "to_fields": ["id"]}],
        },
        "returns": {
            "primary_key": ["id"],
            "erase": "delete",
            "reviewed": True,
            "purposes": ["returns handling"],
            "retention": "P1Y",
            "fields": {"reason": {"category": "free_text"}},
            "references": [
                {"fields": ["order_id", "line_no"], "to": "order_lines", "to_fields": ["order_id", "line_no"]}
            ],
        },
        "support_tickets": {
            "primary_key": ["id"],
            "tenant_field": "tenant_id",
            "erase": "mask",
            "reviewed": True,
            "purposes": ["customer support"],
            "recipients": ["helpdesk provider"],
            "retention": "P2Y",
            "restriction": {"flag": "restricted"},
            "fields": {
                "email": {"category": "email", "identity": "email", "mask": "hash"},
                "body": {"category": "free_text", "mask": "spans"},
            },
            "references": [{"fields": ["customer_id"], "to": "customers", "to_fields": ["id"]}],
        },
    }
}


@dataclass(frozen=True)
class Person:
    customer_id: int
    tenant: str
    email: str
    phone: str
    name: str


def people(n: int, seed: int = 7, tenants: tuple[str, ...] = ("acme",), start: int = 1) -> list[Person]:
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    out = []
    for i in range(start, start + n):
        name = fake.name()
        email = f"{name.split()[0].lower()}.{i}@{fake.free_email_domain()}"
        out.append(Person(i, tenants[i % len(tenants)], email, f"+4477009{i % 100000:05d}", name))
    return out


def rows_for(
    persons: list[Person],
    seed: int = 7,
    orders_per_person: int = 2,
    lines_per_order: int = 2,
    order_id_start: int = 1,
) -> Iterator[tuple[sa.Table, list[dict]]]:
    """Rows of every table for these people, in insertion (parent first) order."""
    rnd = random.Random(seed)
    yield (
        customers,
        [
            {
                "id": p.customer_id,
                "tenant_id": p.tenant,
                "email": p.email,
                "phone": p.phone,
                "name": p.name,
                # every fifth person was referred by the one before: someone else's row points at theirs
                "referred_by": persons[idx - 1].customer_id if idx % 5 == 4 else None,
                "restricted": False,
            }
            for idx, p in enumerate(persons)
        ],
    )
    yield (
        addresses,
        [
            {
                "customer_id": p.customer_id,
                "seq": s,
                "street": f"{rnd.randrange(1, 200)} High Street",
                "city": "Leeds",
            }
            for p in persons
            for s in (1, 2)
        ],
    )
    order_rows, line_rows, return_rows = [], [], []
    oid = order_id_start
    for p in persons:
        for _ in range(orders_per_person):
            order_rows.append(
                {
                    "id": oid,
                    "tenant_id": p.tenant,
                    "customer_id": p.customer_id,
                    "placed_on": date(2025, 1, 1) + timedelta(days=rnd.randrange(300)),
                    "total_cents": rnd.randrange(500, 50000),
                }
            )
            for line in range(1, lines_per_order + 1):
                line_rows.append(
                    {
                        "order_id": oid,
                        "line_no": line,
                        "sku": f"SKU-{rnd.randrange(10**6):06d}",
                        "quantity": rnd.randrange(1, 4),
                        "gift_message": f"Happy birthday from {p.name.split()[0]}" if line == 1 else None,
                    }
                )
            if oid % 3 == 0:
                return_rows.append({"id": oid, "order_id": oid, "line_no": 1, "reason": "wrong size"})
            oid += 1
    yield orders, order_rows
    yield order_lines, line_rows
    yield returns, return_rows
    yield (
        support_tickets,
        [
            {
                "id": p.customer_id,
                "tenant_id": p.tenant,
                "customer_id": p.customer_id if p.customer_id % 2 else None,
                "email": p.email,
                "body": f"Hello, this is {p.name}. Please call me on {p.phone}.",
                # Spread over two years, so retention has something of every age to sweep.
                "opened_at": datetime(2024, 1, 1, 9) + timedelta(days=(p.customer_id * 37) % 730),
                "restricted": False,
            }
            for p in persons
        ],
    )


def create(engine: sa.Engine, persons: list[Person], seed: int = 7) -> None:
    metadata.create_all(engine)
    with engine.begin() as conn:
        for table, rows in rows_for(persons, seed):
            if rows:
                conn.execute(sa.insert(table), rows)
