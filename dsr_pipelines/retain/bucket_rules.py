"""Bucket lifecycle rules for retention rules that are purely age-based on a prefix.

A rule with `lifecycle: true` (an s3 store, age from LastModified, action delete, a period of
whole days) is also written into its bucket's lifecycle configuration, as rule `dsr-<name>`, so
the store expires objects by itself even on a day no sweep runs. `check` compares each bucket
with the rules; the sweep reports a bucket that does not match as an error of that rule.
Lifecycle rules of the bucket not named `dsr-...` belong to someone else and are left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from connectors import Connector, connector_class

from ..plan.datamap.model import Datamap
from .rules import RetentionRules, Rule, targets

if TYPE_CHECKING:
    from connectors import S3Connector

OWNED = "dsr-"


@dataclass(frozen=True)
class BucketRuleState:
    store: str
    rule_id: str
    wanted: tuple[str, int] | None  # (key prefix, days) the rules ask for
    found: tuple[str, int | None] | None  # what the bucket has
    state: str  # matches, missing, differs, unexpected (a dsr- rule no retention rule asks for)
    rule: str | None = None  # the retention rule that asks for it


def _wanted(rule: Rule, datamap: Datamap, connector: S3Connector) -> dict[str, tuple[str, int]]:
    days = rule.duration.exact_days
    chosen = targets(rule, datamap)
    out = {}
    for target in chosen:
        suffix = "" if len(chosen) == 1 else f"-{target.collection}"
        prefix = connector.key_prefix(None if target.prefix is not None else target.collection, target.prefix)
        out[f"{OWNED}{rule.name}{suffix}"] = (prefix, days)
    return out


@dataclass
class _Bucket:
    s3: S3Connector
    wanted: dict[str, tuple[str, int]]  # lifecycle rule id -> (key prefix, days)
    owners: dict[str, str]  # lifecycle rule id -> the retention rule asking for it


def _buckets(
    rules: RetentionRules, datamap: Datamap, connector: Callable[[str], Connector]
) -> dict[str, _Bucket]:
    """Per s3 store named by a lifecycle rule: its connector and the rules it should have."""
    out: dict[str, _Bucket] = {}
    for rule in rules.rules:
        if not rule.lifecycle:
            continue
        s3 = connector(rule.store)
        if not isinstance(s3, connector_class("s3")):
            continue  # refused by retention.problems before this is reached
        bucket = out.setdefault(rule.store, _Bucket(s3, {}, {}))
        wanted = _wanted(rule, datamap, s3)
        bucket.wanted |= wanted
        bucket.owners |= dict.fromkeys(wanted, rule.name)
    return out


def check(
    rules: RetentionRules, datamap: Datamap, connector: Callable[[str], Connector]
) -> list[BucketRuleState]:
    states = []
    for store, bucket in sorted(_buckets(rules, datamap, connector).items()):
        found = {k: v for k, v in bucket.s3.expirations().items() if k.startswith(OWNED)}
        for rule_id in sorted(set(bucket.wanted) | set(found)):
            want, have = bucket.wanted.get(rule_id), found.get(rule_id)
            if want is None:
                state = "unexpected"
            elif have is None:
                state = "missing"
            else:
                state = "matches" if tuple(have) == tuple(want) else "differs"
            states.append(BucketRuleState(store, rule_id, want, have, state, bucket.owners.get(rule_id)))
    return states


def apply(
    rules: RetentionRules, datamap: Datamap, connector: Callable[[str], Connector]
) -> list[BucketRuleState]:
    """Write the wanted `dsr-` rules into each bucket (removing stale ones), then check again."""
    for bucket in _buckets(rules, datamap, connector).values():
        bucket.s3.set_expirations(bucket.wanted, OWNED)
    return check(rules, datamap, connector)
