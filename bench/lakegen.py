"""A synthetic event lake for the benchmarks: one Parquet file per day, Hive-partitioned.

Each event has an id, a time, the user's id and email (every user has one address), an event
type, a page, a country, an IP address and, for purchases, an amount. Users are drawn
uniformly, so any user's events are spread over the whole year, as in a lake written in time
order. Columns are built with NumPy and Arrow kernels, not Python loops over rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

EVENT_TYPES = ["page_view", "search", "add_to_cart", "purchase", "login", "logout", "share", "review"]
COUNTRIES = ["GB", "US", "DE", "FR", "NL", "ES", "IT", "SE", "PL", "IE", "PT", "BE", "AT", "DK", "FI"]
FIRST = ["ann", "bob", "carla", "dev", "emma", "farid", "grace", "hugo", "iris", "jon", "kai", "lena"]
DOMAINS = ["example.com", "example.org", "mail.example.net", "post.example.co.uk"]


def _email_column(users: int) -> pa.Array:
    """`users` distinct addresses; user u (1-based) has element u - 1."""
    ids = np.arange(1, users + 1)
    local = pc.binary_join_element_wise(
        pa.array(np.array(FIRST)[ids % len(FIRST)]), pa.array(ids.astype(str)), "."
    )
    domain = pa.array(np.array(DOMAINS)[(ids // 7) % len(DOMAINS)])
    return pc.binary_join_element_wise(local, domain, "@")


def _ips(rng: np.random.Generator, n: int) -> pa.Array:
    octets = [pa.array(rng.integers(lo, 255, n).astype(str)) for lo in (11, 0, 0, 1)]
    return pc.binary_join_element_wise(*octets, ".")


def day_table(rng: np.random.Generator, day: int, rows: int, users: int, addresses: pa.Array, start_id: int):
    user = rng.integers(1, users + 1, rows)
    seconds = np.sort(rng.integers(0, 86_400, rows))
    kind = rng.choice(len(EVENT_TYPES), rows, p=[0.45, 0.15, 0.12, 0.04, 0.1, 0.06, 0.05, 0.03])
    amount = np.where(kind == EVENT_TYPES.index("purchase"), rng.integers(100, 50_000, rows), 0)
    base = np.datetime64("2025-01-01T00:00:00", "s") + np.timedelta64(day, "D")
    return pa.table(
        {
            "event_id": pa.array(np.arange(start_id, start_id + rows, dtype=np.int64)),
            "at": pa.array((base + seconds.astype("timedelta64[s]")).astype("datetime64[us]")),
            "user_id": pa.array(user.astype(np.int64)),
            "email": addresses.take(pa.array(user - 1)),
            "event_type": pa.array(np.array(EVENT_TYPES)[kind]),
            "page": pa.array(np.char.add("/p/", rng.integers(0, 400, rows).astype(str))),
            "country": pa.array(np.array(COUNTRIES)[rng.integers(0, len(COUNTRIES), rows)]),
            "ip": _ips(rng, rows),
            "amount_cents": pa.array(amount.astype(np.int32), mask=amount == 0),
        }
    )


def generate(root: Path, rows: int, days: int = 365, users: int = 1_000_000, seed: int = 5) -> dict:
    """Write the lake under `root/events` unless one with the same parameters is there already."""
    params = {"rows": rows, "days": days, "users": users, "seed": seed, "version": 1}
    marker = root / "lake.json"
    if marker.exists() and json.loads(marker.read_text()) == params:
        return params
    rng = np.random.default_rng(seed)
    addresses = _email_column(users)
    per_day = rows // days
    for day in range(days):
        table = day_table(rng, day, per_day, users, addresses, day * per_day + 1)
        date = (np.datetime64("2025-01-01") + np.timedelta64(day, "D")).astype(str)
        folder = root / "events" / f"day={date}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, folder / "part-0.parquet", compression="snappy")
    marker.write_text(json.dumps(params))
    return params


def subjects(n: int, users: int, seed: int = 9) -> tuple[np.ndarray, pa.Array]:
    """`n` users drawn at seeded random, sorted, and their addresses: the benchmarks' subjects."""
    ids = np.sort(np.random.default_rng(seed).choice(users, n, replace=False) + 1)
    return ids, _email_column(users).take(pa.array(ids - 1))


def size(root: Path) -> int:
    return sum(p.stat().st_size for p in (root / "events").rglob("*.parquet"))
