"""Account-termination purges: a terminated tenant's data leaves every active store.

Per collection of the datamap: the tenant's records are deleted (SQL rows by tenant field in
short transactions, lake partitions dropped or rows rewritten, objects under a tenant key pattern
deleted, records in shared objects rewritten away). Where a retention rule with action
`archive` covers the collection (a legal obligation, such as invoices kept for tax law), the
records are first written to that rule's archive store (`archive.py`), kept until the rule's
period from the termination's effective date. A collection without a tenant field cannot be told apart by
tenant: it is reported, never guessed at. After the purge a probe per collection confirms that
nothing of the tenant is left, and a certificate (JSON and Markdown) says what was removed
where, what was archived, why and until when, and which backups still hold the data.

A purge interrupted part-way runs again: what it removed is gone, archive files are named by
their content, and the termination stays `purging` until every collection is done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from connectors import Age, Connector, Delete, EraseOp, Expiry, Mask, StoreError
from connectors.matching import distinct, matches_any

from ..core.config import Config
from ..plan import through
from ..plan.datamap.graph import children_first, store_order
from ..plan.datamap.model import Datamap
from ..state.db import StateDB
from ..state.holds import Hold
from ..state.terminations import Termination
from .archive import encrypted_writer
from .backups import after_change
from .holds import held_keys, held_rows
from .rules import RetentionRules, Rule, targets

FOREVER = datetime(9999, 12, 31)  # a purge's cutoff: every record of the tenant, whatever its age


@dataclass
class TargetOutcome:
    store: str
    collection: str
    action: str  # delete, archive, unseparable
    records: int = 0  # removed (or, in a dry run, that would be)
    residual: int | None = None  # the probe's count after the purge
    archived_until: str | None = None
    legal_basis: str | None = None
    rule: str | None = None
    error: str | None = None
    kept: int = 0  # records a legal hold keeps
    held_by: list[int] = field(default_factory=list)


@dataclass
class PurgeReport:
    tenant: str
    dry_run: bool
    targets: list[TargetOutcome] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Nothing of the tenant is left that may go (held and unseparable collections are listed apart)."""
        return all(
            t.error is None and not t.residual for t in self.targets if t.action in ("delete", "archive")
        )


def _archive_rule(rules: RetentionRules, datamap: Datamap, store: str, collection: str) -> Rule | None:
    for rule in rules.rules:
        chosen = rule.action == "archive" and rule.store == store
        if chosen and any(t.collection == collection for t in targets(rule, datamap)):
            return rule
    return None


class Purger:
    def __init__(
        self,
        config: Config,
        datamap: Datamap,
        rules: RetentionRules,
        db: StateDB,
        connector: Callable[[str], Connector],
    ):
        self.config = config
        self.datamap = datamap
        self.rules = rules
        self.db = db
        self.connector = connector
        self.kinds = {s.name: s.kind for s in config.settings.stores}

    def run(self, termination: Termination, actor: str, dry_run: bool = False) -> PurgeReport:
        """Purge (or, with `dry_run`, say what a purge would do); the termination records how far it got."""
        tenant = termination.tenant
        report = PurgeReport(tenant, dry_run)
        if not dry_run:
            self.db.terminations.mark(tenant, "purging", actor, {})
        active = self.db.holds.active(tenant)  # legal holds win over a purge too
        held_subjects = self.db.holds.subjects([h for h in active if h.identity_kind])
        # Stores that reference others first: their tenant is read through rows still there.
        for store in reversed(store_order(self.datamap)):
            store_map = self.datamap.stores[store]
            try:
                found = held_rows(self.datamap, self.connector, store, held_subjects)
                held = held_keys(store_map, self.kinds[store], found)
            except StoreError as exc:
                report.targets += [
                    TargetOutcome(store, c, "delete", error=str(exc)) for c in children_first(store_map)
                ]
                continue
            for collection in children_first(store_map):
                report.targets.append(self._target(termination, store, collection, dry_run, active, held))
        if dry_run:
            return report
        changed = sorted({t.store for t in report.targets if t.records})
        after_change(
            self.db, self.config, self.connector, self.rules.backups, f"tenant:{tenant}", changed, actor
        )
        details = {"removed": sum(t.records for t in report.targets), "complete": report.complete}
        self.db.terminations.mark(tenant, "purged" if report.complete else "purging", actor, details)
        return report

    def _target(
        self,
        termination: Termination,
        store: str,
        collection: str,
        dry_run: bool,
        active: list[Hold],
        held: dict[str, list[tuple[int, pa.Table]]],
    ) -> TargetOutcome:
        store_map = self.datamap.stores[store]
        spec = store_map.collections[collection]
        whole = [h.id for h in active if h.covers(store, collection)]
        if whole:  # the tenant's rows of this collection are held: nothing of it goes
            return TargetOutcome(store, collection, "held", held_by=whole)
        keep = [keys for _, keys in held.get(collection, [])]
        # Rows with no tenant field of their own belong to the tenant of the rows they reference,
        # in this store or (a profile of a shop's customer) in another.
        steps = through.path(store_map, collection, lambda s: bool(s.tenant_field))
        linked = None if steps is not None else self._linked(spec, termination.tenant)
        if steps is None and linked is None:
            return TargetOutcome(store, collection, "unseparable")
        rule = _archive_rule(self.rules, self.datamap, store, collection)
        outcome = TargetOutcome(store, collection, "archive" if rule else "delete")
        if rule is not None:
            outcome.rule, outcome.legal_basis = rule.name, rule.legal_basis
            outcome.archived_until = rule.duration.add_to(termination.effective_at).isoformat()
        connector = self.connector(store)
        try:
            if linked is not None:
                only = [linked()]
            else:
                top = store_map.collections[steps[-1][1].to] if steps else spec
                only = [pa.table({top.tenant_field: [termination.tenant]})]
                if steps:
                    only = [through.keys_down(connector, steps, only[0])]
            if self.kinds[store] == "sql" and not dry_run:
                self._detach(connector, store, collection, only, keep)
            if self.kinds[store] == "s3" and not spec.key_pattern:
                outcome.records = self._objects_by_content(connector, collection, only, dry_run)
            else:
                archive = (
                    None if rule is None or dry_run else self._archiver(termination, store, collection, rule)
                )
                expiry = Expiry(collection, Age(), FOREVER, only=only, keep=keep, archive=archive)
                count = connector.expire(expiry, dry_run=dry_run)
                outcome.records = count.changed if not dry_run else count.expired - count.kept
                outcome.kept = count.kept
                outcome.held_by = sorted({h for h, _ in held.get(collection, [])}) if count.kept else []
            if not dry_run:
                outcome.residual = self._probe(connector, store, collection, only, keep)
        except StoreError as exc:
            outcome.error = str(exc)
        return outcome

    def _linked(self, spec, tenant: str) -> Callable[[], pa.Table] | None:
        """For a collection linked to another store's collection that has a tenant field: a reader
        of the values of its reference fields that belong to the tenant (read from the other store)."""
        for ref in spec.references:
            if ref.local or ref.store not in self.datamap.stores:
                continue
            other = self.datamap.stores[ref.store].collections.get(ref.to)
            if other is not None and other.tenant_field:

                def read(ref=ref, other=other) -> pa.Table:
                    start = pa.table({other.tenant_field: [tenant]})
                    found = [
                        b
                        for b in self.connector(ref.store).find(ref.to, [start])
                        if isinstance(b, pa.RecordBatch)
                    ]
                    if not found:
                        return pa.table({f: pa.array([], pa.string()) for f in ref.fields})
                    rows = pa.Table.from_batches(found).select(ref.to_fields).rename_columns(ref.fields)
                    return distinct(rows, ref.fields)

                return read
        return None

    def _detach(
        self, connector: Connector, store: str, collection: str, only: list[pa.Table], keep: list[pa.Table]
    ) -> None:
        """Clear references that do not mean ownership (another customer's referral) to rows about
        to go, so that no foreign key stops the purge and no row points at a purged one."""
        store_map = self.datamap.stores[store]
        refs = [
            (name, ref)
            for name, spec in store_map.collections.items()
            for ref in spec.local_references()
            if ref.to == collection and not ref.follow
        ]
        if not refs:
            return
        batches = [b for b in connector.find(collection, only) if isinstance(b, pa.RecordBatch)]
        if not batches:
            return
        going = pa.Table.from_batches(batches)
        going = going.filter(pc.invert(matches_any(going, keep)))  # held rows stay, and so do their referrals
        connector.erase(
            [
                EraseOp(
                    name,
                    going.select(ref.to_fields).rename_columns(ref.fields),
                    Mask(dict.fromkeys(ref.fields, "null")),
                )
                for name, ref in refs
            ]
        )

    def _objects_by_content(self, connector: Connector, collection: str, only, dry_run: bool) -> int:
        """Records of shared objects (a tenant field inside them): found, then rewritten away."""
        if dry_run:
            return sum(b.num_rows for b in connector.find(collection, only) if isinstance(b, pa.RecordBatch))
        (count,) = connector.erase([EraseOp(collection, only[0], Delete())])
        if count.skipped:
            raise StoreError(
                f"{len(count.skipped)} objects of {collection} could not be rewritten; run again"
            )
        return count.changed

    def _probe(self, connector: Connector, store: str, collection: str, only, keep) -> int:
        """What is left of the tenant, apart from what a hold keeps."""
        if self.kinds[store] == "s3" and not self.datamap.stores[store].collections[collection].key_pattern:
            return sum(b.num_rows for b in connector.find(collection, only) if isinstance(b, pa.RecordBatch))
        left = connector.expire(Expiry(collection, Age(), FOREVER, only=only, keep=keep), dry_run=True)
        return left.expired - left.kept

    def _archiver(self, termination: Termination, store: str, collection: str, rule: Rule):
        until = rule.duration.add_to(termination.effective_at)
        archive = self.connector(rule.archive_to)
        return encrypted_writer(self.db, archive, rule, termination.tenant, store, collection, until)
