"""Hypothesis strategies shared by the tests."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import strategies as st


@st.composite
def events_tables(draw) -> pa.Table:
    """Events of up to ten users: ids, their emails, and free text that may be missing."""
    n = draw(st.integers(1, 60))
    users = draw(st.lists(st.integers(0, 9), min_size=n, max_size=n))
    notes = draw(st.lists(st.one_of(st.none(), st.text(max_size=12)), min_size=n, max_size=n))
    return pa.table(
        {
            "user_id": pa.array(users, pa.int64()),
            "email": [f"u{u}@x.com" for u in users],
            "note": pa.array(notes, pa.string()),
        }
    )
