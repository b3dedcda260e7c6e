"""Discovery on the public Northwind sample against its hand labels (tests/data/northwind).

Scored twice: as published, and blind, with the columns whose names tell (`Phone`, `HomePhone`,
`Fax`, `Address`, `ShipAddress`) renamed to words that tell nothing, so that only the values and
the rest of the row speak. Labels' neutral columns count neither way.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
import yaml

from connectors import SqlConnector
from dsr_pipelines.discover.recognizers import Analyzer
from dsr_pipelines.discover.scoring import StoreReport, discover_store

NORTHWIND = Path(__file__).resolve().parents[1] / "tests" / "data" / "northwind"
# Longest first: `HomePhone` before `Phone`, `ShipAddress` before `Address`.
BLIND = {
    "HomePhone": "Reach1",
    "ShipAddress": "ShipLine",
    "Phone": "Reach",
    "Fax": "Reach2",
    "Address": "Line",
}

Column = tuple[str, str]  # (table, column) as labeled


@dataclass(frozen=True)
class Scored:
    report: StoreReport
    truth: dict[Column, str | None]  # every scored column: its category, or None (not personal)
    proposed: dict[Column, str | None]
    hard_negatives: list[Column]
    neutral: int


def score(analyzer: Analyzer, sample_rows: int = 1000, blind: bool = False) -> Scored:
    labels = yaml.safe_load((NORTHWIND / "labels.yaml").read_text())
    script = (NORTHWIND / "create.sql").read_text(encoding="utf-8", errors="replace")
    if blind:
        for name, renamed in BLIND.items():
            script = re.sub(rf'\b"?{name}"?\b', renamed, script)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/northwind.db"
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.connection.executescript(script)
        engine.dispose()
        connector = SqlConnector("northwind", url)
        report = discover_store(analyzer, connector, sample_rows)
        connector.close()
    labeled = {renamed: name for name, renamed in BLIND.items()} if blind else {}
    neutral = {(t, c) for t, columns in labels["neutral"].items() for c in columns}
    personal = {(t, c): cat for t, columns in labels["personal"].items() for c, cat in columns.items()}
    found = [
        (t.collection, labeled.get(c.field, c.field), c.category) for t in report.tables for c in t.columns
    ]
    truth = {(t, c): personal.get((t, c)) for t, c, _ in found if (t, c) not in neutral}
    proposed = {(t, c): got for t, c, got in found if (t, c) in truth}
    hard = [(t, c) for t, columns in labels["hard_negatives"].items() for c in columns]
    return Scored(report, truth, proposed, hard, len(neutral))
