"""Merge what discovery found into the datamap, as a list of changes a person reviews.

New collections and fields are added (marked unreviewed). A field a person has reviewed (its
own `reviewed: true` or its collection's) is never changed: a different proposal for it is
reported as a conflict. A category discovery no longer sees is reported, never deleted.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from connectors import CollectionInfo

from ..plan.datamap.draft import draft_store_map
from ..plan.datamap.model import CollectionSpec, Datamap, FieldSpec, StoreMap
from ..plan.datamap.tenancy import unscoped
from .scoring import DETECTABLE, ColumnFinding, StoreReport

ChangeKind = Literal[
    "add_collection", "add_field", "update_field", "conflict", "gone", "skipped", "needs_tenant"
]


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    path: str  # datamap key path, e.g. stores.shop.collections.customers.fields.email
    detail: str
    category: str | None = None
    confidence: float | None = None

    def __str__(self) -> str:
        return f"{self.kind:14} {self.path}: {self.detail}"


@dataclass(frozen=True)
class Proposal:
    datamap: Datamap  # the merged map; the input map is left as it was
    changes: tuple[Change, ...]


def _rewritable(spec: CollectionSpec | None) -> bool:
    """Can rows be rewritten by key (SQL, or a declared primary key)? Objects and lakes have none."""
    return spec is None or bool(spec.primary_key) or not spec.layout()


def _field_spec(finding: ColumnFinding, spans: bool = True) -> FieldSpec:
    """`spans` says rows can be rewritten by key (SQL, or a primary key): else free text is redacted."""
    if finding.category == "free_text":
        mask = "spans" if spans else "redact"
    else:
        mask = "hash" if finding.identity else None
    return FieldSpec(category=finding.category, identity=finding.identity, mask=mask)


def _describe(finding: ColumnFinding) -> str:
    text = f"{finding.category} (confidence {finding.confidence:.2f}"
    if finding.identity:
        text += f", identity {finding.identity}"
    return text + ")"


def merge(
    datamap: Datamap, report: StoreReport, live: list[CollectionInfo], tenants: Collection[str] = ()
) -> Proposal:
    """The datamap with `report`'s findings for its store merged in, and what changed."""
    merged = datamap.model_copy(deep=True)
    store = merged.stores.setdefault(report.store, StoreMap())
    spath = f"stores.{report.store}.collections"
    draft = draft_store_map(live).collections
    changes: list[Change] = []
    for table in report.tables:
        cpath = f"{spath}.{table.collection}"
        if table.error:
            changes.append(Change("skipped", cpath, table.error))
            continue
        findings = {c.field: c for c in table.columns if c.category}
        if table.collection not in store.collections:
            if not findings:
                continue
            spec = draft.get(table.collection)
            store.collections[table.collection] = _new_collection(spec, findings, _rewritable(spec))
            names = ", ".join(f"{f} {c.category}" for f, c in sorted(findings.items()))
            changes.append(Change("add_collection", cpath, f"{len(findings)} personal fields: {names}"))
            continue
        changes += _merge_collection(store.collections[table.collection], table.columns, cpath)
    changes += _hold_back_unscoped_identities(merged, report.store, tenants)
    return Proposal(merged, tuple(changes))


def _hold_back_unscoped_identities(datamap: Datamap, store: str, tenants: Collection[str]) -> list[Change]:
    """With several tenants, an identity is proposed only where rows can be told apart by tenant:
    elsewhere a person decides (a tenant field, a reference, or shared with a reason)."""
    changes = []
    for sname, cname, _ in unscoped(datamap, tenants):
        if sname != store:
            continue
        spec = datamap.stores[sname].collections[cname]
        for fname, field in spec.fields.items():
            if field.identity and not (field.reviewed or spec.reviewed):
                spec.fields[fname] = field.model_copy(update={"identity": None})
                detail = (
                    f"identity {field.identity} not proposed: no tenant field tells tenants apart here; "
                    "give a tenant_field, a reference to a collection with one, or shared: true with a reason"
                )
                changes.append(
                    Change("needs_tenant", f"stores.{sname}.collections.{cname}.fields.{fname}", detail)
                )
    return changes


def _new_collection(
    draft: CollectionSpec | None, findings: dict[str, ColumnFinding], spans: bool
) -> CollectionSpec:
    """Keys, tenant and references from the schema; fields from discovery (and a person table's key)."""
    spec = draft.model_copy(deep=True) if draft else CollectionSpec()
    keep = {name: f for name, f in spec.fields.items() if f.identity and name in spec.primary_key}
    spec.fields = keep | {name: _field_spec(f, spans) for name, f in sorted(findings.items())}
    return spec


def _merge_collection(spec: CollectionSpec, columns: tuple[ColumnFinding, ...], cpath: str) -> list[Change]:
    changes = []
    sampled = {c.field: c for c in columns}
    spans = _rewritable(spec)
    for column in columns:
        if not column.category:
            continue
        fpath = f"{cpath}.fields.{column.field}"
        current = spec.fields.get(column.field)
        if current is None:
            spec.fields[column.field] = _field_spec(column, spans)
            changes.append(Change("add_field", fpath, _describe(column), column.category, column.confidence))
        elif current.category != column.category:
            if spec.reviewed or current.reviewed:
                detail = f"reviewed as {current.category}; discovery proposes {_describe(column)}: kept"
                changes.append(Change("conflict", fpath, detail, column.category, column.confidence))
            else:
                detail = f"{current.category} -> {_describe(column)}"
                spec.fields[column.field] = current.model_copy(
                    update={"category": column.category, "mask": _field_spec(column, spans).mask}
                )
                changes.append(Change("update_field", fpath, detail, column.category, column.confidence))
    for name, current in spec.fields.items():
        if current.category not in DETECTABLE:
            continue  # keys and ids are declared, not discovered
        column = sampled.get(name)
        if column is None:
            changes.append(Change("gone", f"{cpath}.fields.{name}", "column no longer exists: kept"))
        elif column.values and column.category is None:
            detail = f"{current.category} no longer found in sample: kept"
            changes.append(Change("gone", f"{cpath}.fields.{name}", detail))
    return changes


def identity_questions(store: str, entry: StoreMap) -> dict[tuple[str, ...], str]:
    """Comments for a drafted store's entry: which of the identities it proposes are the data
    subjects'. Sampling sees that a column's values are unique, not whose they are: an employees'
    email column is as unique as the customers'."""
    asked = {
        (cname, fname): field.identity
        for cname, spec in sorted(entry.collections.items())
        for fname, field in sorted(spec.fields.items())
        if field.identity and not (field.reviewed or spec.reviewed)
    }
    if not asked:
        return {}
    listed = ", ".join(f"{c}.{f} ({kind})" for (c, f), kind in asked.items())
    comments = {
        ("stores", store): (
            "Drafted by dsr datamap init from the schema and a sample of each table. Identities "
            f"proposed: {listed}. Which are your data subjects'? Keep identity on those, delete it "
            "elsewhere, then mark what you checked reviewed: true and run dsr datamap check."
        )
    }
    for (cname, fname), kind in asked.items():
        comments[("stores", store, "collections", cname, "fields", fname)] = (
            f"identity {kind}? Are the people in {cname} subjects whose requests name them by "
            f"{kind}? If not, delete the identity line (the field stays personal data)."
        )
    return comments
