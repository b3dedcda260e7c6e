"""The shop's event lake and file bucket: Parquet events and S3 objects for the same people.

The lake's `events` (partitioned by day) carry the customer id as `user_id` and, for some
events, the email; the bucket holds one folder per customer (`users/<id>/`), newsletter
exports (NDJSON, by email) and application logs (plain text mentioning emails). Their datamap
entries link both to the shop's `customers.id`, so a request started from an email reaches
every store.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from .shop import Person

LINK = {"fields": ["user_id"], "store": "shop", "to": "customers", "to_fields": ["id"]}

LAKE_DATAMAP = {
    "collections": {
        "events": {
            "path": "events",
            "tenant_field": "tenant_id",
            "erase": "delete",
            "purposes": ["product analytics"],
            "retention": "P13M",
            "restriction": {"side_table": "_restricted/events", "key": ["user_id"]},
            "fields": {
                "user_id": {"category": "customer_id"},
                "email": {"category": "email", "identity": "email"},
                "ip": {"category": "ip_address"},
            },
            "references": [LINK],
        }
    }
}

FILES_DATAMAP = {
    "collections": {
        "profiles": {
            "key_pattern": "users/{user_id}/",
            "purposes": ["account management"],
            "retention": "until account closure",
            "restriction": {"tag": "dsr-restricted"},
            "fields": {"user_id": {"category": "customer_id"}},
            "references": [LINK],
        },
        "newsletter": {
            "prefix": "exports/",
            "format": "ndjson",
            "tenant_field": "tenant_id",
            "purposes": ["marketing (consent)"],
            "recipients": ["mailing provider"],
            "retention": "until consent is withdrawn",
            "restriction": {"tag": "dsr-restricted"},
            "fields": {"email": {"category": "email", "identity": "email"}},
        },
        "app_logs": {  # lines that mention an email are the subject's: erased as a whole
            "prefix": "logs/",
            "format": "text",
            "shared": True,
            "shared_reason": "the service's own log, one for every tenant: a line is its subject's "
            "whichever controller asks",
            "purposes": ["security monitoring"],
            "retention": "P90D",
            "restriction": {"tag": "dsr-restricted"},
            "fields": {"email": {"category": "email", "identity": "email"}},
        },
    }
}

EVENT_TYPES = ("page_view", "search", "add_to_cart", "login")


def events(persons: list[Person], per_person: int = 6, seed: int = 11) -> pa.Table:
    """Events of every person over a week; logins carry the email too."""
    rnd = random.Random(seed)
    start = datetime(2025, 3, 1, tzinfo=UTC)
    rows = []
    for p in persons:
        for _ in range(per_person):
            kind = rnd.choice(EVENT_TYPES)
            at = start + timedelta(minutes=rnd.randrange(7 * 24 * 60))
            rows.append(
                {
                    "event_id": len(rows) + 1,
                    "tenant_id": p.tenant,
                    "user_id": p.customer_id,
                    "email": p.email if kind == "login" else None,
                    "event_type": kind,
                    "ip": f"203.0.113.{rnd.randrange(1, 255)}",  # documentation range (RFC 5737)
                    "at": at,
                    "day": at.date().isoformat(),
                }
            )
    schema = pa.schema(
        [
            ("event_id", pa.int64()),
            ("tenant_id", pa.string()),
            ("user_id", pa.int64()),
            ("email", pa.string()),
            ("event_type", pa.string()),
            ("ip", pa.string()),
            ("at", pa.timestamp("us", tz="UTC")),
            ("day", pa.string()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def write_lake(root: Path, persons: list[Person], per_person: int = 6) -> None:
    ds.write_dataset(
        events(persons, per_person),
        root / "events",
        format="parquet",
        partitioning=["day"],
        partitioning_flavor="hive",
        existing_data_behavior="overwrite_or_ignore",
    )


def objects(persons: list[Person], per_export: int = 5) -> dict[str, bytes]:
    """Key -> body: a profile and an avatar per person; newsletter exports and logs of a few people each."""
    out: dict[str, bytes] = {}
    for p in persons:
        out[f"users/{p.customer_id}/profile.json"] = json.dumps({"name": p.name, "email": p.email}).encode()
        out[f"users/{p.customer_id}/avatar.png"] = b"\x89PNG\r\n" + p.name.encode()
    for n in range(0, len(persons), per_export):
        lines = [
            json.dumps({"email": p.email, "tenant_id": p.tenant, "opted_in": True})
            for p in persons[n : n + per_export]
        ]
        out[f"exports/newsletter-{n // per_export + 1:03d}.ndjson"] = ("\n".join(lines) + "\n").encode()
        log = [
            f"2025-03-0{1 + k % 9}T10:00:00Z login ok user={p.email}"
            for k, p in enumerate(persons[n : n + per_export])
        ]
        log.append("2025-03-09T23:59:59Z nightly backup finished")
        out[f"logs/app-{n // per_export + 1:03d}.log"] = ("\n".join(log) + "\n").encode()
    return out


def upload(client, bucket: str, persons: list[Person]) -> None:
    for key, body in objects(persons).items():
        client.put_object(Bucket=bucket, Key=key, Body=body)
