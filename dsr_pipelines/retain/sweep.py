"""Retention sweeps: apply every rule to what it selects, leave held and restricted data, record it all.

A sweep is recorded before it starts and each rule's result as soon as it is known, with the
counts in the ledger, so an interrupted sweep shows how far it got; running it again finishes
the rest, because what a rule removed is no longer there to remove. A sweep started with a
`run_key` (the daily schedule's tick) runs at most once for that key.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import pyarrow as pa
import pyarrow.ipc as ipc

from connectors import Connector, Delete, Dependent, Expiry, ExpiryCount, Mask, ParquetConnector, StoreError

from ..core.config import Config
from ..core.errors import ConfigError
from ..plan.datamap.model import Datamap
from ..state.db import StateDB
from ..state.holds import Hold
from . import bucket_rules, dependents, restriction
from .backups import after_change
from .holds import held_keys, held_rows
from .rules import RetentionRules, Rule, Target, require_valid, targets


@dataclass(frozen=True)
class TargetResult:
    rule: str
    target: str
    action: str
    count: ExpiryCount
    held_by: tuple[int, ...] = ()
    error: str | None = None
    note: str | None = None  # why expired records were kept beyond holds (rows referencing them)


@dataclass
class SweepReport:
    sweep_id: int | None
    as_of: datetime
    dry_run: bool
    results: list[TargetResult] = field(default_factory=list)
    already_ran: bool = False
    archives_expired: int = 0  # archive files whose legal obligation ended, deleted with the sweep

    @property
    def state(self) -> str:
        return "partial" if any(r.error for r in self.results) else "completed"


class Sweeper:
    """Applies retention rules to the stores; holds and restrictions always win over a rule."""

    def __init__(
        self,
        config: Config,
        datamap: Datamap,
        rules: RetentionRules,
        db: StateDB,
        connector: Callable[[str], Connector],
    ):
        self.kinds = {s.name: s.kind for s in config.settings.stores}
        require_valid(rules, self.kinds, datamap)
        self.config, self.datamap, self.rules, self.db, self.connector = config, datamap, rules, db, connector

    def run(
        self,
        as_of: datetime,
        actor: str,
        *,
        rule: str | None = None,
        dry_run: bool = False,
        run_key: str | None = None,
        run: str = "",
        lease_until: datetime | None = None,
    ) -> SweepReport:
        """Sweep every rule (or one). A real sweep holds each rule's lease while it applies it, for
        `run` until `lease_until`: a rule another run is sweeping is skipped, saying so."""
        chosen = [self.rules.rule(rule)] if rule else list(self.rules.rules)
        if run_key and self.db.sweeps.completed(run_key):
            return SweepReport(None, as_of, dry_run, already_ran=True)
        report = SweepReport(self.db.sweeps.start(as_of, actor, rule, dry_run, run_key), as_of, dry_run)
        active = self.db.holds.active()
        held_by_store: dict[str, dict[str, list[tuple[int, pa.Table]]] | StoreError] = {}
        drift = self._bucket_drift(chosen)
        for r in chosen:
            if r.store not in held_by_store:
                try:
                    held_by_store[r.store] = self._held_records(r.store, active)
                except StoreError as exc:  # held records unknown: nothing of this store may go
                    held_by_store[r.store] = exc
            lease = f"sweep-rule:{r.name}"
            other = None if dry_run else self.db.leases.take(lease, run, lease_until)
            for target in targets(r, self.datamap):
                held = held_by_store[r.store]
                if other is not None:
                    why = f"skipped: run {other.run} is sweeping rule {r.name} (until {other.until:%H:%M})"
                    result = TargetResult(r.name, target.label, r.action, ExpiryCount(), (), why)
                elif isinstance(held, StoreError):
                    result = TargetResult(r.name, target.label, r.action, ExpiryCount(), (), str(held))
                else:
                    result = self._sweep_target(target, as_of, dry_run, active, held)
                if r.name in drift and result.error is None:
                    result = replace(result, error=drift[r.name])
                for one in [result, *self._dependent_results(result, dry_run)]:
                    report.results.append(one)
                    self.db.sweeps.record(
                        report.sweep_id,
                        one.rule,
                        one.target,
                        one.action,
                        one.count,
                        one.held_by,
                        one.error,
                        actor=actor,
                        as_of=as_of,
                        dry_run=dry_run,
                    )
            if other is None and not dry_run:
                self.db.leases.release(lease, run)
        self._finish(report, actor)
        return report

    def _bucket_drift(self, chosen: Sequence[Rule]) -> dict[str, str]:
        """Per rule expressed as a bucket lifecycle rule that the bucket does not match: why."""
        wanted = RetentionRules(rules=[r for r in chosen if r.lifecycle])
        if not wanted.rules:
            return {}
        try:
            states = bucket_rules.check(wanted, self.datamap, self.connector)
        except StoreError as exc:
            return {r.name: f"bucket lifecycle not readable: {exc}" for r in wanted.rules}
        return {
            state.rule: f"bucket lifecycle rule {state.rule_id} {state.state} (dsr sweep lifecycle --apply)"
            for state in states
            if state.rule is not None and state.state != "matches"
        }

    @staticmethod
    def _dependent_results(result: TargetResult, dry_run: bool) -> list[TargetResult]:
        """A line per dependent collection: the rows that went (or would go) with the target's, or
        lost their reference to them."""
        store = result.target.split(".", 1)[0]
        return [
            TargetResult(
                result.rule,
                f"{store}.{name} (with {result.target})",
                "dependent",
                ExpiryCount(expired=n, changed=0 if dry_run else n),
            )
            for name, n in sorted(result.count.dependents.items())
        ]

    # -- one target -------------------------------------------------------------------------

    def _sweep_target(
        self,
        target: Target,
        as_of: datetime,
        dry_run: bool,
        active: Sequence[Hold],
        held_rows: dict[str, list[tuple[int, pa.Table]]],
    ) -> TargetResult:
        rule = target.rule
        spec = self._spec(target)
        keep, held_by, whole = (
            self._held(rule.store, target.collection, active, held_rows)
            if target.prefix is None
            else ([], [], None)
        )
        if whole is not None:  # the collection is held whole
            return self._whole_hold(target, as_of, whole)
        own = spec.restriction if spec is not None else None
        restricted = own and (own.flag or own.tag)
        try:
            keep += self._restricted_keys(rule.store, target.collection)
            plans = dependents.plan(self.rules, self.datamap, rule.store, target.collection)
            deps = (
                self._dependents(rule, plans, as_of, active, held_rows)
                if self.kinds[rule.store] == "sql"
                else ()
            )
        except StoreError as exc:
            return TargetResult(rule.name, target.label, rule.action, ExpiryCount(), (), str(exc))
        expiry = Expiry(
            target.collection,
            rule.age.age(),
            rule.cutoff(as_of),
            action=self._action(target),
            keep=keep,
            restricted=restricted or None,
            batch=rule.batch,
            archive=None if rule.action != "archive" or dry_run else self._archiver(target, as_of),
            prefix=target.prefix,
            dependents=deps,
        )
        try:
            count = self.connector(rule.store).expire(expiry, dry_run=dry_run)
        except StoreError as exc:
            return TargetResult(rule.name, target.label, rule.action, ExpiryCount(), tuple(held_by), str(exc))
        note = "; ".join(
            f"{n} kept: rows of {rule.store}.{name} referencing them are kept longer"
            for name, n in sorted(count.kept_by.items())
            if n
        )
        return TargetResult(
            rule.name,
            target.label,
            rule.action,
            count,
            tuple(sorted(set(held_by))) if count.kept else (),
            note=note or None,
        )

    def _held(
        self,
        store: str,
        collection: str,
        active: Sequence[Hold],
        held_rows: dict[str, list[tuple[int, pa.Table]]],
    ) -> tuple[list[pa.Table], list[int], Hold | None]:
        """Keys of a collection's records that holds keep, the holds, and a hold on all of it."""
        spec = (
            self.datamap.stores[store].collections.get(collection) if store in self.datamap.stores else None
        )
        keep, held_by = [], []
        for hold in active:
            if hold.covers(store, collection):
                if spec is None or not spec.tenant_field:
                    return [], [], hold
                keep.append(pa.table({spec.tenant_field: [hold.tenant]}))
                held_by.append(hold.id)
        for hold_id, table in held_rows.get(collection, []):
            keep.append(table)
            held_by.append(hold_id)
        return keep, held_by, None

    def _dependents(
        self,
        rule: Rule,
        plans: Sequence[dependents.DependentPlan],
        as_of: datetime,
        active: Sequence[Hold],
        held_rows: dict[str, list[tuple[int, pa.Table]]],
    ) -> tuple[Dependent, ...]:
        """The plans with what keeps each dependent's rows: holds, restrictions, its own rule (and an
        archive rule keeps its target's owned rows, which it cannot archive, until they are gone)."""
        out = []
        for p in plans:
            spec = self.datamap.stores[rule.store].collections[p.collection]
            keep, _, whole = self._held(rule.store, p.collection, active, held_rows)
            own = p.own_rule
            waits = p.action == "delete" and (
                rule.action == "archive" or (own is not None and own.action != "delete")
            )
            by_own_rule = own is not None and own.action == "delete"
            out.append(
                Dependent(
                    p.collection,
                    p.fields,
                    p.to_fields,
                    p.action,
                    keep=keep + self._restricted_keys(rule.store, p.collection),
                    restricted=spec.restriction.flag if spec.restriction is not None else None,
                    keep_all=whole is not None or waits,
                    own_age=own.age.age() if by_own_rule else None,
                    own_cutoff=own.cutoff(as_of) if by_own_rule else None,
                    dependents=self._dependents(rule, p.dependents, as_of, active, held_rows),
                )
            )
        return tuple(out)

    def _restricted_keys(self, store: str, collection: str) -> list[pa.Table]:
        """Keys a sweep keeps for restriction beyond a flag or tag the store checks itself: a lake's
        side table, or records restricted through the collection they reference."""
        store_map = self.datamap.stores.get(store)
        spec = store_map.collections.get(collection) if store_map else None
        if spec is None:
            return []
        connector = self.connector(store)
        if spec.restriction is not None:
            side = spec.restriction.side_table
            return [connector.restricted(collection, side)] if side else []
        through = restriction.inherited(store_map, connector, collection)
        return [through] if through is not None else []

    def _whole_hold(self, target: Target, as_of: datetime, hold: Hold) -> TargetResult:
        """A collection held whole: nothing changes; the dry run says how much waits for the hold."""
        rule = target.rule
        expiry = Expiry(target.collection, rule.age.age(), rule.cutoff(as_of), prefix=target.prefix)
        try:
            count = self.connector(rule.store).expire(expiry, dry_run=True)
        except StoreError as exc:
            return TargetResult(rule.name, target.label, rule.action, ExpiryCount(), (hold.id,), str(exc))
        held = ExpiryCount(expired=count.expired, kept=count.expired)
        return TargetResult(rule.name, target.label, rule.action, held, (hold.id,))

    def _spec(self, target: Target):
        store_map = self.datamap.stores.get(target.rule.store)
        return store_map.collections.get(target.collection) if store_map else None

    def _action(self, target: Target) -> Delete | Mask:
        if target.rule.action != "anonymise":
            return Delete()
        masks = self._spec(target).value_masks()
        return Mask({f: masks[f] for f in target.fields}, self.db.keys.mask_key)

    def _held_records(self, store: str, active: Sequence[Hold]) -> dict[str, list[tuple[int, pa.Table]]]:
        """Per collection of `store`, the keys of records held subjects own: (hold id, keys)."""
        held = self.db.holds.subjects([h for h in active if h.identity_kind])
        findings = held_rows(self.datamap, self.connector, store, held)
        return held_keys(self.datamap.stores[store], self.kinds[store], findings)

    def _archiver(self, target: Target, as_of: datetime) -> Callable[[pa.Table], None]:
        """A writer of archived batches into the rule's archive store, one file per batch.

        The file is named by its content, so a batch written again after a crash replaces itself.
        """
        archive = self.connector(target.rule.archive_to)
        if not isinstance(archive, ParquetConnector):
            raise ConfigError(f"rule {target.rule.name}: archive_to must be a parquet store")
        rule = target.rule

        def write(batch: pa.Table) -> None:
            sink = io.BytesIO()
            with ipc.new_stream(sink, batch.schema) as stream:
                stream.write_table(batch)
            digest = hashlib.sha256(sink.getvalue()).hexdigest()[:32]
            marked = batch.replace_schema_metadata(
                {
                    **(batch.schema.metadata or {}),
                    b"dsr.restricted": b"true",
                    b"dsr.rule": rule.name.encode(),
                    b"dsr.legal_basis": rule.legal_basis.encode(),
                    b"dsr.archived_as_of": as_of.isoformat().encode(),
                }
            )
            archive.write_file(
                f"{rule.name}/{rule.store}/{target.collection.strip('/')}/{digest}.parquet", marked
            )

        return write

    def _finish(self, report: SweepReport, actor: str) -> None:
        changed = sorted({r.target.split(".", 1)[0] for r in report.results if r.count.changed})
        if changed and not report.dry_run:  # the backups taken before now still hold what went
            holder = f"sweep:{report.sweep_id}"
            after_change(self.db, self.config, self.connector, self.rules.backups, holder, changed, actor)
        total = sum(r.count.changed for r in report.results)
        self.db.sweeps.finish(report.sweep_id, report.state, report.dry_run, total, actor)
