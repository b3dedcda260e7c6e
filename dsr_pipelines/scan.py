"""Discovery over the configured stores: the analyzer from dsr.yaml, the merge, the findings log.

Used by `dsr discover` and by the Dagster discovery job; neither writes the datamap itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import findings
from .config import Config
from .datamap import Datamap, load_datamap
from .discovery import StoreReport, discover_store
from .proposal import Change, Proposal, merge
from .request_store import RequestStore
from .restriction import sample_filter
from .stores import open_connector

if TYPE_CHECKING:
    from .recognizers import Analyzer


def analyzer(config: Config) -> Analyzer:
    # Imported here: Presidio and spaCy cost every other command a second at start-up.
    from .recognizers import build_analyzer, load_custom_recognizers

    settings = config.settings.discovery
    custom = load_custom_recognizers(config.path(settings.recognizers)) if settings.recognizers else []
    region = config.settings.default_phone_region
    return build_analyzer(settings.countries, custom, [region] if region else [], settings.ner_model)


@dataclass(frozen=True)
class Discovery:
    reports: tuple[StoreReport, ...]
    proposal: Proposal


def discover(
    config: Config,
    stores: Sequence[str] = (),
    sample_rows: int | None = None,
    actor: str = "cli",
    run: str | None = None,
    engine: Analyzer | None = None,
) -> Discovery:
    """Discover every named store (default: all), merge into the datamap, log what is new.

    The datamap file is not written: the caller applies the proposal or saves it for review.
    """
    run = run or f"cli-{uuid.uuid4().hex[:12]}"  # one id per invocation: findings list the latest
    names = list(stores) or [s.name for s in config.settings.stores]
    targets = [config.store(name) for name in names]  # an unknown store fails before any work
    settings = config.settings.discovery
    engine = engine or analyzer(config)
    datamap = load_datamap(config.datamap_path) if config.datamap_path.is_file() else Datamap()
    reports, changes = [], []
    for store in targets:
        connector = open_connector(config, store.name, datamap)
        try:
            rows = sample_rows or settings.sample_rows
            # Restricted records are not processed, discovery included: samples leave them out.
            unrestricted = sample_filter(store.kind, datamap.stores.get(store.name), connector)
            report = discover_store(engine, connector, rows, settings.max_chars, unrestricted=unrestricted)
            live = [] if report.error else connector.collections()
        finally:
            connector.close()
        proposal = merge(datamap, report, live)
        if report.error:
            proposal = Proposal(datamap, (Change("skipped", f"stores.{store.name}", report.error),))
        datamap = proposal.datamap
        reports.append(report)
        changes += proposal.changes
        with closing(RequestStore(config.request_store_url, config.keys())) as rs:
            findings.record(rs, run, actor, store.name, proposal.changes)
    return Discovery(tuple(reports), Proposal(datamap, tuple(changes)))
