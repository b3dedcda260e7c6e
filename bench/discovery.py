"""Discovery accuracy and speed on PostgreSQL, against a naive Presidio baseline in the same run.

    python -m bench discovery [--rows 1000] [--sample 1000] [--big 1000000]

Accuracy: the labeled corpus (bench/corpus.py) is loaded into a scratch schema; discovery
proposes a category per column, and so does the baseline: Presidio on every sampled value,
the column labeled with its most frequent entity. Column-level precision and recall per
category and overall are printed for both. Then the same for a corpus nobody here wrote: the
public Northwind sample (tests/data/northwind: its create.sql in SQLite, and hand labels in
labels.yaml, whose neutral columns count neither way), with the columns discovery misses and
how many of its hard negatives (product names, pack sizes, a shipper's phone) it left alone.

Speed: one table of 10,000 rows and one of `--big` rows with the same columns; discovery time
for each and their ratio (cost must follow the sample), then columns and sampled values per
second of pattern analysis for discovery and for the baseline.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa
import yaml
from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import SpacyNlpEngine

from connectors import SqlConnector
from dsr_pipelines.discover.recognizers import (
    Analyzer,
    BlankSpacyNlpEngine,
    ColumnContextEnhancer,
    build_analyzer,
    load_custom_recognizers,
)
from dsr_pipelines.discover.scoring import StoreReport, classify, discover_store, discover_table

from . import corpus
from . import northwind as nw
from .pg import scratch_schema

SCHEMA = "dsr_bench_discovery"
COUNTRIES = ["us"]


def baseline_label(analyzer: Analyzer, column: pa.ChunkedArray) -> str | None:
    """Presidio on every value; the column gets its most frequent entity (as a category if known)."""
    seen: Counter[str] = Counter()
    for value in column.drop_null().to_pylist():
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        for r in analyzer.engine.analyze(text, language="en"):
            seen[analyzer.categories.get(r.entity_type, r.entity_type)] += 1
    return seen.most_common(1)[0][0] if seen else None


def baseline(analyzer: Analyzer, connector: SqlConnector, sample_rows: int) -> tuple[dict, float, int]:
    labels, values, analysing = {}, 0, 0.0
    for info in connector.collections():
        rows = connector.sample(info.name, sample_rows, 2000).rows
        t0 = time.perf_counter()
        for name in rows.column_names:
            labels[(info.name, name)] = baseline_label(analyzer, rows[name])
            values += len(rows[name]) - rows[name].null_count
        analysing += time.perf_counter() - t0
    return labels, analysing, values


def scores(truth: dict, predicted: dict) -> dict[str, tuple[float, float, int]]:
    """Per category and overall: (precision, recall, support) over columns."""
    categories = sorted({c for c in truth.values() if c})
    out = {}
    for cat in categories:
        tp = sum(1 for k, t in truth.items() if t == cat and predicted.get(k) == cat)
        pp = sum(1 for k in truth if predicted.get(k) == cat)
        support = sum(1 for t in truth.values() if t == cat)
        out[cat] = (tp / pp if pp else 0.0, tp / support, support)
    correct = sum(1 for k, t in truth.items() if t and predicted.get(k) == t)
    positives = sum(1 for k in truth if predicted.get(k))
    support = sum(1 for t in truth.values() if t)
    out["overall"] = (correct / positives if positives else 0.0, correct / support, support)
    return out


def accuracy(url: str, analyzer: Analyzer, rows: int, sample_rows: int) -> None:
    t0 = time.perf_counter()
    corpus.create(sa.create_engine(url), rows)
    truth = corpus.truth()
    print(
        f"corpus: {len(corpus.TABLES)} tables, {len(truth)} columns, {rows} rows each "
        f"({sum(1 for t in truth.values() if t)} personal), loaded in {time.perf_counter() - t0:.1f}s"
    )
    connector = SqlConnector("corpus", url)
    t0 = time.perf_counter()
    report = discover_store(analyzer, connector, sample_rows)
    ours_time = time.perf_counter() - t0
    ours = {(t.collection, c.field): c.category for t in report.tables for c in t.columns}
    naive, naive_time, naive_values = baseline(analyzer, connector, sample_rows)
    connector.close()
    a, b = scores(truth, ours), scores(truth, naive)
    print(f"\n{'category':16} {'n':>4} | {'discovery P':>11} {'R':>6} | {'baseline P':>10} {'R':>6}")
    for cat in [c for c in a if c != "overall"] + ["overall"]:
        (pa_, ra, n), (pb, rb, _) = a[cat], b[cat]
        print(f"{cat:16} {n:4} | {pa_:11.3f} {ra:6.3f} | {pb:10.3f} {rb:6.3f}")
    print("(aim: overall precision and recall >= 0.95, each clearly above the baseline)")
    _mistakes(report, truth)
    print(
        f"\nwhole corpus, sample {sample_rows}: discovery {ours_time:.1f}s (sampling included), "
        f"baseline analysis alone {naive_time:.1f}s over {naive_values:,} values"
    )


def _mistakes(report: StoreReport, truth: dict) -> None:
    wrong = [
        (t.collection, c.field, truth[(t.collection, c.field)], c.category, c.notes)
        for t in report.tables
        for c in t.columns
        if c.category != truth[(t.collection, c.field)]
    ]
    for table, col, expected, got, notes in wrong:
        print(f"  miss: {table}.{col}: expected {expected}, proposed {got} ({'; '.join(notes)})")


def northwind(analyzer: Analyzer, sample_rows: int) -> None:
    """Discovery on Northwind against its hand labels, as published and blind (telling column names
    renamed): per category, overall, what it missed, and the hard negatives it left alone."""
    for blind in (False, True):
        scored = nw.score(analyzer, sample_rows, blind)
        truth, ours = scored.truth, scored.proposed
        result = scores(truth, ours)
        title = (
            "Northwind, blind (Phone, Fax, HomePhone, Address, ShipAddress renamed)" if blind else "Northwind"
        )
        tables = len(scored.report.tables)
        print(f"\n{title}: {tables} tables, {len(truth)} columns scored, {scored.neutral} neutral")
        print(f"{'category':16} {'n':>4} | {'discovery P':>11} {'R':>6}")
        for cat in [c for c in result if c != "overall"] + ["overall"]:
            p, r, n = result[cat]
            print(f"{cat:16} {n:4} | {p:11.3f} {r:6.3f}")
        for (table, column), expected in sorted(truth.items()):
            if ours.get((table, column)) != expected:
                print(f"  miss: {table}.{column}: expected {expected}, proposed {ours.get((table, column))}")
        taken = [f"{t}.{c} as {ours[(t, c)]}" for t, c in scored.hard_negatives if ours.get((t, c))]
        left = len(scored.hard_negatives) - len(taken)
        taken_text = ", ".join(taken) or "none taken"
        print(f"hard negatives: {left} of {len(scored.hard_negatives)} left alone ({taken_text})")


WIDE = """
CREATE TABLE {name} AS
SELECT g AS id,
       'user' || g || '@example.com' AS email,
       '+1 415 555 ' || lpad((g % 10000)::text, 4, '0') AS phone,
       md5(g::text) AS token,
       now() - g * interval '1 minute' AS created_at,
       'Order ' || g || ' shipped, call +1 212 555 ' || lpad((g % 10000)::text, 4, '0') AS notes,
       (g % 997) * 1.5 AS amount,
       'SKU-' || (g % 90000 + 10000) AS sku
FROM generate_series(1, {rows}) AS g;
ALTER TABLE {name} ADD PRIMARY KEY (id);
ANALYZE {name};
"""


def speed(url: str, analyzer: Analyzer, big: int, sample_rows: int) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for name, rows in (("wide_small", 10_000), ("wide_big", big)):
            for stmt in WIDE.format(name=name, rows=rows).split(";"):
                if stmt.strip():
                    conn.execute(sa.text(stmt))
    engine.dispose()
    connector = SqlConnector("speed", url)
    infos = {i.name: i for i in connector.collections()}
    times = {}
    for name in ("wide_small", "wide_big"):
        discover_table(analyzer, connector, infos[name], sample_rows)  # warm caches once
        t0 = time.perf_counter()
        runs = 3
        for _ in range(runs):
            report = discover_table(analyzer, connector, infos[name], sample_rows)
        times[name] = (time.perf_counter() - t0) / runs
        print(
            f"{name:10} ({10_000 if name == 'wide_small' else big:>9,} rows): {times[name] * 1000:7.0f} ms "
            f"per discovery ({report.rows} rows sampled, {report.method})"
        )
    print(f"ratio big/small: {times['wide_big'] / times['wide_small']:.2f} (aim: close to 1)")

    rows = connector.sample("wide_small", sample_rows, 2000).rows
    connector.close()
    n_values = sum(len(c) - c.null_count for c in rows.columns)
    before = unfiltered(analyzer)

    def timed(label, analyze) -> float:
        t0 = time.perf_counter()
        for name in rows.column_names:
            analyze(rows[name], name)
        took = time.perf_counter() - t0
        print(f"  {label:58} {cols / took:7.1f} columns/s {n_values / took:9,.0f} values/s")
        return took

    cols = rows.num_columns
    print(f"pattern analysis of {cols} columns, {n_values:,} sampled values (aim >= 20,000 values/s):")
    ours = timed("discovery (shape pre-filter, no tokenising)", lambda c, n: classify(analyzer, "w", n, c))
    old = timed(
        "discovery before (every value to Presidio, spaCy tokens)", lambda c, n: classify(before, "w", n, c)
    )
    naive = timed(
        "baseline (Presidio on each value, most frequent entity)", lambda c, _: baseline_label(before, c)
    )
    print(f"  speed-up: {old / ours:.1f}x over discovery before, {naive / ours:.1f}x over the baseline")


class _Tokenising(BlankSpacyNlpEngine):
    """The NLP engine as it was: a blank spaCy pipeline tokenising every text for nothing."""

    def process_text(self, text: str, language: str):
        return SpacyNlpEngine.process_text(self, text, language)


def unfiltered(analyzer: Analyzer) -> Analyzer:
    """The same recognizers as discovery ran them before the pre-filter: for the before/after."""
    nlp = _Tokenising()
    nlp.load()
    engine = AnalyzerEngine(
        registry=analyzer.engine.registry,
        nlp_engine=nlp,
        supported_languages=["en"],
        context_aware_enhancer=ColumnContextEnhancer(),
    )
    return replace(analyzer, engine=engine, prefilter=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1000, help="rows per corpus table")
    parser.add_argument("--sample", type=int, default=1000, help="rows sampled per table")
    parser.add_argument("--big", type=int, default=1_000_000, help="rows in the large speed table")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recognizers.yaml"
        path.write_text(yaml.safe_dump(corpus.CUSTOM_RECOGNIZERS))
        analyzer = build_analyzer(COUNTRIES, load_custom_recognizers(path))
    with scratch_schema(SCHEMA) as url:
        accuracy(url, analyzer, args.rows, args.sample)
        northwind(analyzer, args.sample)
        print()
        speed(url, analyzer, args.big, args.sample)
