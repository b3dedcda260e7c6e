"""Discovery over the configured stores: the analyzer from dsr.yaml, the merge, the discovery log.

Used by `dsr discover` and by the Dagster discovery job; neither writes the datamap itself unless
asked to apply the proposal.
"""

from __future__ import annotations

import datetime as dt
import difflib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from connectors import CollectionInfo

from ..core.config import Config
from ..discover import phones
from ..discover.phones import as_regions
from ..discover.proposal import Change, Proposal, merge
from ..discover.scoring import StoreReport, discover_store
from ..plan.datamap.model import Datamap, StoreMap, dump_datamap, load_datamap, save_datamap
from ..plan.reach import open_connector
from ..retain.restriction import sample_filter
from ..state.discovery_log import LoggedChange
from .workspace import Workspace

if TYPE_CHECKING:
    from ..discover.recognizers import Analyzer


def analyzer(config: Config) -> Analyzer:
    # Imported here: Presidio and spaCy cost every other command a second at start-up.
    from ..discover.recognizers import build_analyzer, load_custom_recognizers

    settings = config.settings.discovery
    custom = load_custom_recognizers(config.path(settings.recognizers)) if settings.recognizers else []
    # Numbers without a country code are parsed in discovery's countries, then the default region.
    region = config.settings.default_phone_region
    regions = [*settings.countries, region] if region else settings.countries
    return build_analyzer(settings.countries, custom, regions, settings.ner_model)


@dataclass(frozen=True)
class Discovery:
    before: Datamap  # the datamap as it was
    reports: tuple[StoreReport, ...]
    proposal: Proposal

    def diff(self) -> list[str]:
        """The proposal as a unified diff of the datamap's YAML."""
        return list(
            difflib.unified_diff(
                dump_datamap(self.before).splitlines(),
                dump_datamap(self.proposal.datamap).splitlines(),
                "datamap (current)",
                "datamap (proposed)",
                lineterm="",
            )
        )


def discover(
    ws: Workspace,
    actor: str,
    stores: Sequence[str] = (),
    sample_rows: int | None = None,
    run: str | None = None,
    engine: Analyzer | None = None,
) -> Discovery:
    """Discover every named store (default: all), merge into the datamap, log what is new.

    The datamap file is not written: the caller applies the proposal or saves it for review.
    """
    config = ws.config
    run = run or f"cli-{uuid.uuid4().hex[:12]}"  # one id per invocation: the log lists the latest
    names = list(stores) or [s.name for s in config.settings.stores]
    targets = [config.store(name) for name in names]  # an unknown store fails before any work
    engine = engine or analyzer(config)
    before = load_datamap(config.datamap_path) if config.datamap_path.is_file() else Datamap()
    datamap, reports, changes = before, [], []
    for store in targets:
        report, live = sample_store(ws, store.name, datamap, engine, sample_rows)
        proposal = merge(datamap, report, live, ws.config.settings.tenants)
        if report.error:
            proposal = Proposal(datamap, (Change("skipped", f"stores.{store.name}", report.error),))
        datamap = proposal.datamap
        reports.append(report)
        changes += proposal.changes
        ws.db.discovery.record(run, actor, store.name, proposal.changes)
    return Discovery(before, tuple(reports), Proposal(datamap, tuple(changes)))


def sample_store(
    ws: Workspace, store: str, datamap: Datamap, engine: Analyzer, sample_rows: int | None = None
) -> tuple[StoreReport, list[CollectionInfo]]:
    """Discovery's report on one store, and its live collections (none when it cannot be read)."""
    config = ws.config
    settings = config.settings.discovery
    connector = open_connector(config, store, datamap)
    try:
        # Restricted records are not processed, discovery included: samples leave them out.
        unrestricted = sample_filter(config.store(store).kind, datamap.stores.get(store), connector)
        report = discover_store(
            engine,
            connector,
            sample_rows or settings.sample_rows,
            settings.max_chars,
            unrestricted=unrestricted,
            regions=_regions(config, store, datamap.stores.get(store)),
        )
        return report, ([] if report.error else connector.collections())
    finally:
        connector.close()


def write_report(result: Discovery, path: Path) -> Path:
    """The run's findings as one self-contained HTML page (no script, nothing fetched)."""
    from ..discover.report import render

    changes = result.proposal.changes
    html = render(result.reports, changes, result.before, dt.datetime.now(dt.UTC))
    path.write_text(html, encoding="utf-8")
    return path


def _regions(config: Config, store: str, mapped: StoreMap | None) -> phones.Configured:
    """The store's and the tenants' configured phone regions, and the tenant fields the datamap
    declares (discovery falls back on a column named tenant or tenant_id)."""
    tenants = {t: tuple(as_regions(c.phone_regions)) for t, c in config.settings.tenants.items()}
    fields = {
        name: c.tenant_field for name, c in (mapped.collections if mapped else {}).items() if c.tenant_field
    }
    return phones.Configured(tuple(as_regions(config.store(store).phone_regions)), tenants, fields)


def save_proposal(ws: Workspace, proposal: Proposal, apply: bool, out: Path | None = None) -> Path:
    """Write the merged datamap: into the datamap itself (`apply`), else to `out` or beside the
    datamap as `*.proposal.yaml`, for review. Returns where it went."""
    datamap = ws.config.datamap_path
    if apply:
        target = datamap
    else:
        target = out or datamap.with_name(f"{datamap.stem}.proposal{datamap.suffix or '.yaml'}")
    save_datamap(proposal.datamap, target)
    return target


def latest_changes(ws: Workspace, store: str | None = None) -> list[LoggedChange]:
    """What the latest discovery run of each store proposed that the datamap lacks."""
    return ws.db.discovery.latest(store)
