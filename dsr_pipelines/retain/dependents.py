"""What a sweep does to the rows that reference the rows it removes (SQL stores), planned from the
datamap's references as erasure plans them.

A reference that means ownership (`follow: true`, an invoice line's invoice) makes its rows go with
what they reference, children first; one that does not (`follow: false`, a referral) is cleared.
A dependent collection with a retention rule of its own keeps what it references while that rule
keeps it (an archive or anonymise rule: until it has done its work). A reference back to a
collection already on the path is cleared, so a cycle ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..plan.datamap.model import Datamap
from .rules import RetentionRules, Rule, targets


@dataclass(frozen=True)
class DependentPlan:
    collection: str
    fields: tuple[str, ...]
    to_fields: tuple[str, ...]
    action: str  # delete | clear
    own_rule: Rule | None
    dependents: tuple[DependentPlan, ...] = ()


def own_rule(rules: RetentionRules, datamap: Datamap, store: str, collection: str) -> Rule | None:
    """The rule that governs a collection's own retention, if any."""
    for rule in rules.rules:
        if rule.store == store and any(
            t.prefix is None and t.collection == collection for t in targets(rule, datamap)
        ):
            return rule
    return None


def plan(
    rules: RetentionRules, datamap: Datamap, store: str, collection: str, path: frozenset[str] = frozenset()
) -> tuple[DependentPlan, ...]:
    """The collections of `store` referencing `collection`, and what a sweep of it does to them."""
    store_map = datamap.stores.get(store)
    if store_map is None:
        return ()
    path = path | {collection}
    out = []
    for name, spec in sorted(store_map.collections.items()):
        for ref in spec.local_references():
            if ref.to != collection:
                continue
            action = "delete" if ref.follow and name not in path else "clear"
            below = plan(rules, datamap, store, name, path) if action == "delete" else ()
            out.append(
                DependentPlan(
                    name,
                    tuple(ref.fields),
                    tuple(ref.to_fields),
                    action,
                    own_rule(rules, datamap, store, name),
                    below,
                )
            )
    return tuple(out)


def describe(
    rule: Rule, collection: str, plans: tuple[DependentPlan, ...], parent: str | None = None
) -> list[str]:
    """One line per dependent collection: what a sweep of `rule` will do to it."""
    parent = parent or f"{rule.store}.{collection}"
    lines = []
    for p in plans:
        where = (
            f"rule {rule.name}: {rule.store}.{p.collection} (references {parent} by {', '.join(p.fields)})"
        )
        if p.action == "clear":
            lines.append(f"{where}: the reference is cleared, the rows stay")
            continue
        if rule.action == "archive":
            lines.append(f"{where}: keeps them until its rows are gone (give it an archive rule of its own)")
        elif p.own_rule is not None and p.own_rule.action != "delete":
            lines.append(
                f"{where}: keeps them until rule {p.own_rule.name} has done its work ({p.own_rule.action})"
            )
        elif p.own_rule is not None:
            lines.append(
                f"{where}: goes with them once rule {p.own_rule.name} ({p.own_rule.period}) lets it; "
                "until then it keeps them"
            )
        else:
            lines.append(f"{where}: goes with them")
        lines += describe(rule, collection, p.dependents, f"{rule.store}.{p.collection}")
    return lines
