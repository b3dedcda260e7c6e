"""The Python API behind the CLI: submit, run (through the Dagster job), dry-run, export."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import dagster as dg

from connectors import StoreError

from . import lifecycle, links, processing, retention
from .backups import Inventory, ScanResult
from .config import Config
from .datamap import Problem, draft_store_map, live_problems, load_datamap, static_problems
from .durations import parse_duration
from .errors import DsrError, IdentityError, RequestStateError
from .export import write_package
from .holds import Holds
from .identities import Identity, parse_pair
from .jobs import dsr_job, run_config
from .lifecycle import LifecycleState
from .purge import Purger, PurgeReport, age_out, sweep_archives
from .request_store import RUNNABLE, RequestStore
from .resources import resources_for
from .stores import OpenStores, open_connector
from .sweep import Sweeper, SweepReport
from .tenants import Terminations
from .tombstones import Tombstones


def open_requests(config: Config) -> RequestStore:
    return RequestStore(config.request_store_url, config.keys())


def parse_identities(config: Config, pairs: Sequence[str]) -> list[Identity]:
    region = config.settings.default_phone_region
    identities = [parse_pair(p, region, i) for i, p in enumerate(pairs, start=1)]
    if not identities:
        raise IdentityError("give at least one --identity KIND=VALUE")
    if config.datamap_path.is_file():
        known = load_datamap(config.datamap_path).identity_kinds()
        for i, ident in enumerate(identities, start=1):
            if ident.kind not in known:
                raise IdentityError(
                    f"identity {i} ({ident.kind}): no datamap field has this identity kind "
                    f"(known: {', '.join(sorted(known)) or 'none'})"
                )
    return identities


def submit(config: Config, tenant: str, type_: str, pairs: Sequence[str], actor: str, verified: bool) -> int:
    identities = parse_identities(config, pairs)
    with closing(open_requests(config)) as rs:
        return rs.submit(tenant, type_, identities, actor, config.response_period(tenant), verified)


@dataclass(frozen=True)
class RunOutcome:
    states: dict[int, str]
    run_id: str | None

    @property
    def all_completed(self) -> bool:
        return bool(self.states) and all(s == "completed" for s in self.states.values())


def dagster_instance(config: Config) -> dg.DagsterInstance:
    """DAGSTER_HOME's instance when set, else a persistent one beside the request store."""
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    home = config.path(".dsr/dagster")
    home.mkdir(parents=True, exist_ok=True)
    # Telemetry off: the project runs offline and sends nothing anywhere.
    return dg.DagsterInstance.local_temp(tempdir=str(home), overrides={"telemetry": {"enabled": False}})


def runnable_ids(rs: RequestStore, request_ids: Sequence[int], pending: bool) -> list[int]:
    if pending:
        return [r.id for r in rs.list(state="verified")]
    for record in rs.get_many(request_ids):
        if record.state not in RUNNABLE:
            hint = " (verify it first: dsr verify)" if record.state == "received" else ""
            raise RequestStateError(f"request {record.id} is {record.state}; nothing to run{hint}")
    return list(request_ids)


def run(
    config: Config,
    config_path: str,
    request_ids: Sequence[int],
    actor: str,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "WARNING",
    on_started: Callable[[list[int]], None] | None = None,
) -> RunOutcome:
    """Execute the DSR job in process for these requests; returns each request's final state."""
    ids = list(request_ids)
    if not ids:
        return RunOutcome({}, None)
    if on_started:
        on_started(ids)
    cfg = run_config(ids, actor)
    cfg.loggers = {"console": {"config": {"log_level": log_level}}}
    result = dsr_job.execute_in_process(
        run_config=cfg,
        instance=instance or dagster_instance(config),
        resources=resources_for(config_path),
        raise_on_error=False,
        tags={"dsr/kind": "cli", "dsr/batch": f"{ids[0]}-{ids[-1]}"},
    )
    with closing(open_requests(config)) as rs:
        if not result.success:
            # An unexpected failure leaves requests running; mark them failed so the state tells the truth.
            for record in rs.get_many(ids):
                if record.state == "running":
                    rs.finish(
                        record.id, "failed", actor, f"run {result.run_id} failed; run again to resume", None
                    )
        return RunOutcome({r.id: r.state for r in rs.get_many(ids)}, result.run_id)


def dry_run(config: Config, request_ids: Sequence[int], actor: str) -> dict[int, list]:
    """What a run would find and change, per request and collection; nothing changes."""
    datamap = load_datamap(config.datamap_path)
    out: dict[int, list] = {r: [] for r in request_ids}
    connector = OpenStores(config, datamap)
    with closing(open_requests(config)) as rs:
        records = {r.id: r for r in rs.get_many(request_ids)}
        subjects = rs.subjects(request_ids)
        try:
            found = links.resolve(datamap, connector, subjects)  # resolved, not recorded: nothing changes
            subjects = [links.with_links(s, found[s.request_id]) for s in subjects]
            for name, store_map in sorted(datamap.stores.items()):
                for type_ in sorted({r.type for r in records.values()}):
                    mine = [s for s in subjects if records[s.request_id].type == type_]
                    summary = processing.inspect(
                        name, store_map, connector(name), mine, type_, config.settings.guard
                    )
                    for request_id, results in summary.results.items():
                        out[request_id] += list(results)
                    for request_id, reason in summary.failed.items():
                        out[request_id].append(reason)
        finally:
            connector.close()
        for request_id in request_ids:
            counts = [r for r in out[request_id] if not isinstance(r, str)]
            rs.audit(
                request_id,
                "dry_run",
                actor,
                {
                    "found": sum(c.found for c in counts),
                    "would_delete": sum(c.deleted for c in counts),
                    "would_mask": sum(c.masked for c in counts),
                },
            )
    return out


def export_package(config: Config, request_id: int, out: Path) -> dict:
    with closing(open_requests(config)) as rs:
        record = rs.get(request_id)
        if record.type != "access" or record.state not in ("completed", "partially_completed"):
            raise DsrError(
                f"request {request_id} is a {record.state} {record.type} request; "
                "only completed (or partially completed) access requests have a package"
            )
        manifest = write_package(config.export_dir, rs.keys, request_id, out)
        rs.audit(request_id, "exported", "cli", {"files": len(manifest["files"])})
        return manifest


def datamap_problems(config: Config) -> list[Problem]:
    datamap = load_datamap(config.datamap_path)
    problems = static_problems(datamap, {s.name: s.kind for s in config.settings.stores})
    for name, store_map in sorted(datamap.stores.items()):
        if any(p.path == f"stores.{name}" for p in problems):
            continue
        try:
            connector = open_connector(config, name, datamap)
        except (StoreError, DsrError) as exc:
            problems.append(Problem(f"stores.{name}", str(exc)))
            continue
        try:
            problems += live_problems(name, store_map, connector)
        finally:
            connector.close()
    return problems


def draft_datamap(config: Config, store_name: str):
    connector = open_connector(config, store_name)
    try:
        return draft_store_map(connector.collections())
    finally:
        connector.close()


# -- retention and holds --------------------------------------------------------------------


def store_kinds(config: Config) -> dict[str, str]:
    return {s.name: s.kind for s in config.settings.stores}


def retention_problems(config: Config) -> list[str]:
    datamap = load_datamap(config.datamap_path)
    return retention.problems(retention.load_rules(config.rules_path), store_kinds(config), datamap)


def sweep(
    config: Config,
    actor: str,
    as_of: datetime | None = None,
    rule: str | None = None,
    dry_run: bool = False,
    run_key: str | None = None,
    requests: RequestStore | None = None,
) -> SweepReport:
    """Apply the retention rules as of `as_of` (default: now); the dry run only counts."""
    datamap = load_datamap(config.datamap_path)
    rules = retention.load_rules(config.rules_path)
    stores = OpenStores(config, datamap)
    rs = requests or open_requests(config)
    try:
        sweeper = Sweeper(config, datamap, rules, rs, stores)
        return sweeper.run(as_of or rs.clock(), actor, rule=rule, dry_run=dry_run, run_key=run_key)
    finally:
        stores.close()
        if requests is None:
            rs.close()


def bucket_lifecycle(config: Config, apply: bool = False) -> list[LifecycleState]:
    """Compare (or make) the buckets' `dsr-` lifecycle rules with the rules marked `lifecycle: true`."""
    datamap = load_datamap(config.datamap_path)
    rules = retention.load_rules(config.rules_path)
    retention.require_valid(rules, store_kinds(config), datamap)
    stores = OpenStores(config, datamap)
    try:
        return (lifecycle.apply if apply else lifecycle.check)(rules, datamap, stores)
    finally:
        stores.close()


def add_hold(
    config: Config,
    tenant: str,
    reason: str,
    actor: str,
    identity: str | None = None,
    store: str | None = None,
    collection: str | None = None,
    until: datetime | None = None,
) -> int:
    ident = parse_identities(config, [identity])[0] if identity else None
    if store is not None:
        config.store(store)  # an unknown store is refused, naming the known ones
        datamap = load_datamap(config.datamap_path)
        collections = datamap.stores[store].collections if store in datamap.stores else {}
        if collection not in collections:
            raise DsrError(f"store {store} has no collection {collection} in the datamap")
    with closing(open_requests(config)) as rs:
        return Holds(rs).add(
            tenant, reason, actor, identity=ident, store=store, collection=collection, until=until
        )


def scan_backups(config: Config, actor: str, as_of: datetime | None = None) -> list[ScanResult]:
    """List every declared backup location; confirm what is gone and age out what waited for it."""
    rules = retention.load_rules(config.rules_path)
    retention.require_valid(rules, store_kinds(config), load_datamap(config.datamap_path))
    if not rules.backups:
        raise DsrError(
            f"no backups declared in {config.rules_path.name} (backups: store, location, rotation)"
        )
    stores = OpenStores(config)
    try:
        with closing(open_requests(config)) as rs:
            results = Inventory(rs).scan(rules.backups, config, stores, actor, as_of)
            age_out(config, rs, actor, as_of)
            return results
    finally:
        stores.close()


def replay_erasures(config: Config, store: str, actor: str) -> dict[str, int]:
    """Apply again, to a store restored from a backup, every erasure whose tombstones match its rows."""
    if config.store(store).kind != "sql":
        raise DsrError(f"store {store}: replay reads primary keys, which only sql stores have here")
    datamap = load_datamap(config.datamap_path)
    if store not in datamap.stores:
        raise DsrError(f"store {store} is not in the datamap")
    connector = open_connector(config, store, datamap)
    try:
        with closing(open_requests(config)) as rs:
            return Tombstones(rs).replay(store, datamap.stores[store], connector, actor)
    finally:
        connector.close()


# -- terminations ---------------------------------------------------------------------------


def terminate_tenant(config: Config, tenant: str, effective: datetime, grace: str | None, actor: str):
    period = parse_duration(grace, "--grace") if grace else None
    with closing(open_requests(config)) as rs:
        return Terminations(rs).terminate(tenant, effective, period, actor, set(config.settings.tenants))


def purge_tenant(config: Config, tenant: str, actor: str, dry_run: bool = False) -> PurgeReport:
    """Purge a terminated tenant from every store (or, with `dry_run`, say what that would do)."""
    datamap = load_datamap(config.datamap_path)
    rules = retention.load_rules(config.rules_path)
    stores = OpenStores(config, datamap)
    try:
        with closing(open_requests(config)) as rs:
            termination = Terminations(rs).require(tenant)
            if not dry_run and termination.due_at > rs.clock():
                raise DsrError(
                    f"tenant {tenant}'s purge is due on {termination.due_at:%Y-%m-%d}; "
                    "before that only --dry-run"
                )
            return Purger(config, datamap, rules, rs, stores).run(termination, actor, dry_run)
    finally:
        stores.close()


def expire_archives(config: Config, actor: str, as_of: datetime | None = None) -> int:
    stores = OpenStores(config)
    try:
        with closing(open_requests(config)) as rs:
            return sweep_archives(rs, stores, actor, as_of or rs.clock())
    finally:
        stores.close()
