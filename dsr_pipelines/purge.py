"""Account-termination purges: a terminated tenant's data leaves every active store.

Per collection of the datamap: the tenant's records are deleted (SQL rows by tenant field in
short transactions, lake partitions dropped or rows rewritten, objects under a tenant key pattern
deleted, records in shared objects rewritten away). Where a retention rule with action
`archive` covers the collection (a legal obligation, such as invoices kept for tax law), the
records are first written to that rule's archive store, encrypted with AES-256-GCM under a key
from the environment (`DSR_ARCHIVE_KEY`, never written beside the data), restricted by being
there, and kept until the rule's period from the termination's effective date; `sweep_archives`
deletes them when that ends. A collection without a tenant field cannot be told apart by
tenant: it is reported, never guessed at. After the purge a probe per collection confirms that
nothing of the tenant is left, and a certificate (JSON and Markdown) says what was removed
where, what was archived, why and until when, and which backups still hold the data.

A purge interrupted part-way runs again: what it removed is gone, archive files are named by
their content, and the termination stays `purging` until every collection is done.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from connectors import Age, Connector, Delete, EraseOp, Expiry, Mask, ParquetConnector, StoreError
from connectors.matching import matches_any

from . import through
from .backups import Inventory, after_change
from .config import Config
from .datamap import Datamap, children_first, store_order
from .errors import ConfigError
from .holds import Hold, Holds, held_findings, held_keys
from .ledger import metadata
from .lookup import distinct
from .request_store import RequestStore
from .retention import RetentionRules, Rule, targets
from .tenants import Termination, Terminations

ARCHIVE_KEY_ENV = "DSR_ARCHIVE_KEY"
FOREVER = datetime(9999, 12, 31)  # a purge's cutoff: every record of the tenant, whatever its age

archives_t = sa.Table(
    "dsr_archives",
    metadata,
    sa.Column("path", sa.String(600), primary_key=True),  # MariaDB keys: at most 3072 bytes
    sa.Column("archive_store", sa.String(63), nullable=False),
    sa.Column("tenant", sa.String(200), nullable=False, index=True),
    sa.Column("store", sa.String(63), nullable=False),
    sa.Column("collection", sa.String(200), nullable=False),
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("rule", sa.String(63), nullable=False),
    sa.Column("legal_basis", sa.Text, nullable=False),
    sa.Column("until", sa.DateTime, nullable=False),
    sa.Column("written_at", sa.DateTime, nullable=False),
    sa.Column("deleted_at", sa.DateTime),
)


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


def archive_key() -> bytes:
    text = os.environ.get(ARCHIVE_KEY_ENV)
    if not text:
        raise ConfigError(
            f"{ARCHIVE_KEY_ENV} is not set: archives are encrypted with a key from the environment"
        )
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ConfigError(f"{ARCHIVE_KEY_ENV} must be 32 bytes, base64-encoded (AES-256)")
    return key


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
        requests: RequestStore,
        connector: Callable[[str], Connector],
    ):
        self.config = config
        self.datamap = datamap
        self.rules = rules
        self.rs = requests
        self.connector = connector
        self.kinds = {s.name: s.kind for s in config.settings.stores}
        metadata.create_all(requests.engine, tables=[archives_t])

    def run(self, termination: Termination, actor: str, dry_run: bool = False) -> PurgeReport:
        tenant = termination.tenant
        report = PurgeReport(tenant, dry_run)
        terminations = Terminations(self.rs)
        if not dry_run:
            terminations.mark(tenant, "purging", actor, {})
        holds = Holds(self.rs)
        active = holds.active(tenant)  # legal holds win over a purge too
        held_subjects = holds.subjects([h for h in active if h.identity_kind])
        # Stores that reference others first: their tenant is read through rows still there.
        for store in reversed(store_order(self.datamap)):
            store_map = self.datamap.stores[store]
            try:
                found = held_findings(self.datamap, self.connector, store, held_subjects)
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
            self.rs, self.config, self.connector, self.rules.backups, f"tenant:{tenant}", changed, actor
        )
        details = {"removed": sum(t.records for t in report.targets), "complete": report.complete}
        terminations.mark(tenant, "purged" if report.complete else "purging", actor, details)
        write_certificate(self.config, self.rs, report, termination)
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
        archive = self.connector(rule.archive_to)
        if not isinstance(archive, ParquetConnector):
            raise ConfigError(f"rule {rule.name}: archive_to must be a parquet store")
        key = archive_key()
        until = rule.duration.add_to(termination.effective_at)

        def write(batch: pa.Table) -> None:
            buffer = io.BytesIO()
            pq.write_table(batch, buffer, compression="zstd")
            plain = buffer.getvalue()
            name = hashlib.sha256(plain).hexdigest()[:32]
            path = f"tenants/{termination.tenant}/{store}/{collection}/{name}.parquet.enc"
            nonce = os.urandom(12)
            # The path is bound to the ciphertext: a file moved elsewhere does not decrypt.
            archive.write_bytes(path, nonce + AESGCM(key).encrypt(nonce, plain, path.encode()))
            with self.rs.engine.begin() as conn:
                conn.execute(sa.delete(archives_t).where(archives_t.c.path == path))
                conn.execute(
                    sa.insert(archives_t).values(
                        path=path,
                        archive_store=rule.archive_to,
                        tenant=termination.tenant,
                        store=store,
                        collection=collection,
                        records=batch.num_rows,
                        rule=rule.name,
                        legal_basis=rule.legal_basis,
                        until=until,
                        written_at=self.rs.clock(),
                    )
                )

        return write


def read_archive(archive: ParquetConnector, path: str) -> pa.Table:
    """Decrypt one archived file (for an authority that has a right to it)."""
    with archive.fs.open_input_file(f"{archive.root}/{path}") as f:
        blob = f.read()
    plain = AESGCM(archive_key()).decrypt(blob[:12], blob[12:], path.encode())
    return pq.read_table(io.BytesIO(plain))


def sweep_archives(
    requests: RequestStore, connector: Callable[[str], Connector], actor: str, now: datetime
) -> int:
    """Delete archived files whose obligation has ended; returns how many went."""
    metadata.create_all(requests.engine, tables=[archives_t])
    with requests.engine.connect() as conn:
        due = conn.execute(
            sa.select(archives_t).where(archives_t.c.deleted_at.is_(None), archives_t.c.until <= now)
        ).fetchall()
    for row in due:
        archive = connector(row.archive_store)
        if isinstance(archive, ParquetConnector):
            archive.remove(row.path)
        with requests.engine.begin() as conn:
            conn.execute(sa.update(archives_t).where(archives_t.c.path == row.path).values(deleted_at=now))
            requests.ledger.append(
                conn,
                at=now,
                actor=actor,
                event="archive_expired",
                tenant=row.tenant,
                details={
                    "store": row.store,
                    "collection": row.collection,
                    "records": row.records,
                    "rule": row.rule,
                },
            )
    return len(due)


def write_certificate(
    config: Config, requests: RequestStore, report: PurgeReport, termination: Termination
) -> dict:
    """The purge's certificate, as JSON and Markdown under .dsr/certificates."""
    data = {
        "tenant": report.tenant,
        "effective": termination.effective_at.isoformat(),
        "purged_at": requests.clock().isoformat(),
        "complete": report.complete,
        "collections": [asdict(t) for t in report.targets],
        "backups": Inventory(requests).state_of(f"tenant:{report.tenant}"),
    }
    _save(config, data)
    return data


def refresh_certificate(config: Config, requests: RequestStore, tenant: str) -> bool:
    """Rewrite a certificate's backups section (as backups age out); False when there is none yet."""
    path = config.path(".dsr/certificates") / f"tenant-{tenant}.json"
    if not path.is_file():
        return False
    data = json.loads(path.read_text())
    data["backups"] = Inventory(requests).state_of(f"tenant:{tenant}")
    _save(config, data)
    return True


def _save(config: Config, data: dict) -> None:
    folder = config.path(".dsr/certificates")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"tenant-{data['tenant']}.json").write_text(json.dumps(data, indent=2))
    (folder / f"tenant-{data['tenant']}.md").write_text(_markdown(data))


def _markdown(data: dict) -> str:
    done = (
        "every active store is clear of the tenant." if data["complete"] else "**not complete**: run again."
    )
    lines = [
        f"# Termination purge: tenant {data['tenant']}",
        "",
        f"Contract ended {data['effective'][:10]}; purged {data['purged_at'][:10]}; {done}",
        "",
        "| store | collection | what happened | records | left | why |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for t in data["collections"]:
        if t["action"] == "archive":
            what, why = (
                f"archived (encrypted) until {t['archived_until'][:10]}",
                f"{t['rule']}: {t['legal_basis']}",
            )
        elif t["action"] == "held":
            what, why = "kept", "legal hold " + ", ".join(map(str, t["held_by"]))
        elif t["action"] == "delete":
            what, why = "deleted", f"{t['kept']} kept for legal hold {t['held_by']}" if t["kept"] else ""
        else:
            what, why = "not separable by tenant", "no tenant field in the datamap"
        left = "" if t["residual"] is None else t["residual"]
        lines.append(
            f"| {t['store']} | {t['collection']} | {what} | {t['records']} | {left} | {t['error'] or why} |"
        )
    lines += ["", "## Backups still holding the data", ""]
    backups = data["backups"]
    if backups:
        lines.append(f"State: {backups['state']}.")
        lines += [
            f"- {b['store']}: {b['name']} (taken {b['taken_at'][:10]}, due by {b['due_by'][:10]}): "
            + (f"gone {b['gone_at'][:10]}" if b["gone_at"] else "still present")
            for b in backups["backups"]
        ]
    else:
        lines.append("No declared backup was taken before the purge.")
    return "\n".join(lines) + "\n"


def age_out(config: Config, requests: RequestStore, actor: str, now: datetime | None = None) -> list[str]:
    """After a scan: what waited for backups and now has none left moves to `backups_aged_out`;
    a tenant's certificate is rewritten to say so. Returns the holders that aged out."""
    aged = Inventory(requests).refresh(actor, now)
    for holder in aged:
        kind, _, name = holder.partition(":")
        if kind == "tenant":
            refresh_certificate(config, requests, name)
    return aged
