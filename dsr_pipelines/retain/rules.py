"""`retention_rules.yaml`: how long each kind of data may live, from which moment, and why.

A rule selects data in one store (a collection, an object prefix, or every collection holding a
category), says where its age is read (a column, a lake partition, an object's LastModified or
a date in its key), the period it may live (ISO-8601: `P30D`, `P13M`, `P7Y`), what happens then
(`delete`, `anonymise` the personal fields, `archive` to an archive store), on which legal basis
or for which purpose, and who owns the rule. Backups are declared here too (issue 7).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors import Age
from connectors.ages import key_date_reader

from ..core.durations import Duration, parse_duration
from ..core.errors import ConfigError
from ..core.yamlfile import read_yaml, validated
from ..plan.datamap.model import CollectionSpec, Datamap

AGE_KINDS = {"sql": {"field"}, "parquet": {"field", "partition"}, "s3": {"modified", "key_date"}}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgeSpec(_Spec):
    """Where the clock starts: exactly one of these."""

    field: str | None = None
    partition: str | None = None
    modified: bool = False
    key_date: str | None = Field(None, description="strftime form of a date in the object key, e.g. %Y/%m/%d")

    @model_validator(mode="after")
    def _exactly_one(self) -> AgeSpec:
        if len(self._given()) != 1:
            raise ValueError("give exactly one of field, partition, modified: true, key_date")
        return self

    def _given(self) -> list[str]:
        return [k for k in ("field", "partition", "modified", "key_date") if getattr(self, k)]

    @property
    def kind(self) -> str:
        return self._given()[0]

    def age(self) -> Age:
        return Age(self.field, self.partition, self.modified, self.key_date)


class Rule(_Spec):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$")
    store: str
    collection: str | None = None
    prefix: str | None = Field(None, description="object stores: objects under this prefix")
    category: str | None = None
    age: AgeSpec
    period: str
    action: Literal["delete", "anonymise", "archive"] = "delete"
    archive_to: str | None = Field(None, description="archive store (kind parquet) for action archive")
    legal_basis: str = Field(min_length=1, description="the law or purpose the period comes from")
    owner: str = Field(min_length=1, description="who answers for the rule")
    lifecycle: bool = Field(False, description="object stores: also expressed as a bucket lifecycle rule")
    batch: int = Field(100_000, ge=1, le=1_000_000, description="most records changed per transaction")

    @model_validator(mode="after")
    def _shape(self) -> Rule:
        if self.collection and self.prefix:
            raise ValueError("give a collection or a prefix, not both")
        if (self.action == "archive") != (self.archive_to is not None):
            raise ValueError("archive_to is needed by, and only by, action: archive")
        if self.lifecycle and not (self.prefix is not None or self.collection):
            raise ValueError("lifecycle needs a prefix or a collection")
        return self

    @property
    def duration(self) -> Duration:
        return parse_duration(self.period, f"rule {self.name}: period")

    def cutoff(self, as_of: datetime) -> datetime:
        """Records older than this have outlived the rule at `as_of`."""
        return self.duration.subtract_from(as_of)


class BackupLocation(_Spec):
    """Where a store's backups are: a directory of dump files, or a prefix in a configured s3 store."""

    directory: str | None = None
    s3_store: str | None = None
    prefix: str = ""

    @model_validator(mode="after")
    def _exactly_one(self) -> BackupLocation:
        if (self.directory is None) == (self.s3_store is None):
            raise ValueError("give exactly one of directory or s3_store")
        return self


class BackupTime(_Spec):
    """When a backup was taken: its file or object time, or a date in its name (`%Y-%m-%d`)."""

    modified: bool = False
    name_date: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> BackupTime:
        if self.modified == (self.name_date is not None):
            raise ValueError("give exactly one of modified: true or name_date")
        return self


class Backup(_Spec):
    """A store's backups: where they are, how their time is read, and how long rotation keeps them."""

    store: str
    location: BackupLocation
    time: BackupTime = BackupTime(modified=True)
    rotation: str

    @property
    def rotation_period(self) -> Duration:
        return parse_duration(self.rotation, f"backups of {self.store}: rotation")


class RetentionRules(_Spec):
    rules: list[Rule] = []
    backups: list[Backup] = []

    def rule(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        known = ", ".join(r.name for r in self.rules) or "none"
        raise ConfigError(f"no retention rule {name!r} (known: {known})")


@dataclass(frozen=True)
class Target:
    """One collection (or object prefix) a rule applies to, and the fields `anonymise` masks."""

    rule: Rule
    collection: str  # the datamap collection, or the prefix itself for a prefix rule
    prefix: str | None = None
    fields: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.rule.store}.{self.collection}"


def load_rules(path: Path) -> RetentionRules:
    if not path.is_file():
        return RetentionRules()
    return parse_rules(read_yaml(path, ConfigError, path.name), path.name)


def parse_rules(raw: dict, source: str = "retention_rules.yaml") -> RetentionRules:
    def locate(loc):  # `rules.2.period` -> `rule invoices.period`: a person knows rules by name
        loc = list(loc)
        if loc[:1] == ["rules"] and len(loc) > 1 and isinstance(loc[1], int):
            rule = (raw.get("rules") or [])[loc[1]]
            label = rule.get("name") if isinstance(rule, dict) and rule.get("name") else f"#{loc[1] + 1}"
            loc = [f"rule {label}", *loc[2:]]
        return loc

    rules = validated(RetentionRules, raw, source, ConfigError, locate)
    problems = []  # what the model cannot check field by field, listed together
    names = [r.name for r in rules.rules]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        problems.append(f"rule names must be unique: {', '.join(dupes)}")
    for backup in rules.backups:
        try:
            backup.rotation_period  # noqa: B018 - a bad rotation is reported here, by store
        except ConfigError as exc:
            problems.append(str(exc))
        try:
            if backup.time.name_date:
                key_date_reader(backup.time.name_date)
        except ValueError as exc:
            problems.append(f"backups of {backup.store}: {exc}")
    for rule in rules.rules:
        try:
            rule.duration  # noqa: B018 - a bad period is reported here, by rule name
        except ConfigError as exc:
            problems.append(str(exc))
        try:
            if rule.age.key_date:
                key_date_reader(rule.age.key_date)
        except ValueError as exc:
            problems.append(f"rule {rule.name}: {exc}")
    if problems:
        listed = problems[0] if len(problems) == 1 else f"{len(problems)} problems: " + "; ".join(problems)
        raise ConfigError(f"{source}: {listed}")
    return rules


def _holds_category(spec: CollectionSpec, category: str) -> bool:
    return any(f.category == category for f in spec.fields.values())


def targets(rule: Rule, datamap: Datamap) -> list[Target]:
    """What a rule applies to: its prefix, its collection, or every collection with its category."""
    if rule.prefix is not None:
        return [Target(rule, rule.prefix, prefix=rule.prefix)]
    store_map = datamap.stores.get(rule.store)
    collections = store_map.collections if store_map else {}
    if rule.collection:
        names = [rule.collection]
    else:
        names = sorted(
            c for c, s in collections.items() if rule.category is None or _holds_category(s, rule.category)
        )
    out = []
    for name in names:
        spec = collections.get(name)
        personal = spec.personal_fields() if spec else {}
        fields = tuple(
            sorted(f for f in personal if rule.category is None or spec.fields[f].category == rule.category)
        )
        out.append(Target(rule, name, None, fields))
    return out


def _claim(target: Target, datamap: Datamap) -> tuple[str, str]:
    """What data a target claims: a collection, or for objects the prefix it lives under."""
    if target.prefix is not None:
        return "prefix", target.prefix
    store_map = datamap.stores.get(target.rule.store)
    spec = store_map.collections.get(target.collection) if store_map else None
    if spec is not None and (spec.prefix is not None or spec.key_pattern):
        return "prefix", spec.layout().get("prefix") or spec.key_pattern.split("{", 1)[0]
    return "collection", target.collection


def _length(duration: Duration) -> tuple[int, int]:
    """A period as (months, days): P1Y and P12M are the same period."""
    return 12 * duration.years + duration.months, duration.days


def _overlap(a: tuple[str, str], b: tuple[str, str]) -> bool:
    if a[0] == b[0] == "prefix":
        return a[1].startswith(b[1]) or b[1].startswith(a[1])
    return a == b


def problems(rules: RetentionRules, store_kinds: dict[str, str], datamap: Datamap) -> list[str]:
    """Everything wrong with the rules against the configured stores and the datamap, by rule name."""
    out: list[str] = []
    for rule in rules.rules:
        where = f"rule {rule.name}"
        kind = store_kinds.get(rule.store)
        if kind is None:
            known = ", ".join(sorted(store_kinds)) or "none configured"
            out.append(f"{where}: unknown store {rule.store!r} (known: {known})")
            continue
        if rule.age.kind not in AGE_KINDS[kind]:
            allowed = " or ".join(sorted(AGE_KINDS[kind]))
            out.append(f"{where}: a {kind} store's age is read from {allowed}, not {rule.age.kind}")
        if rule.prefix is not None and kind != "s3":
            out.append(f"{where}: prefix is for object stores; name a collection")
        collections = datamap.stores[rule.store].collections if rule.store in datamap.stores else {}
        if rule.collection and rule.collection not in collections:
            out.append(f"{where}: store {rule.store} has no collection {rule.collection} in the datamap")
        found = targets(rule, datamap)
        if not found:
            out.append(f"{where}: no collection of store {rule.store} holds category {rule.category}")
        if rule.action == "anonymise":
            if kind == "s3":
                out.append(f"{where}: objects cannot be anonymised by a sweep; delete or archive them")
            for t in found:
                if t.prefix is None and t.collection in collections and not t.fields:
                    out.append(f"{where}: {t.label} has no personal fields to anonymise")
        if rule.archive_to is not None and store_kinds.get(rule.archive_to) != "parquet":
            out.append(f"{where}: archive_to must name a parquet store (got {rule.archive_to!r})")
        if rule.lifecycle:
            if kind != "s3" or not rule.age.modified or rule.action != "delete":
                out.append(f"{where}: lifecycle needs an s3 store, age modified: true and action delete")
            elif rule.duration.exact_days is None:
                out.append(f"{where}: lifecycle expirations count days; {rule.period} has months or years")
    for backup in rules.backups:
        where = f"backups of {backup.store}"
        if backup.store not in store_kinds:
            out.append(f"{where}: unknown store {backup.store!r}")
        s3 = backup.location.s3_store
        if s3 is not None and store_kinds.get(s3) != "s3":
            out.append(f"{where}: s3_store must name an s3 store (got {s3!r})")
    out += _conflicts(rules, datamap)
    return out


def require_valid(rules: RetentionRules, store_kinds: dict[str, str], datamap: Datamap) -> None:
    """Refuse to act on rules with any problem, naming them all."""
    found = problems(rules, store_kinds, datamap)
    if found:
        raise ConfigError("retention rules: " + "; ".join(found))


def _conflicts(rules: RetentionRules, datamap: Datamap) -> list[str]:
    claims = [
        (t.rule, _claim(t, datamap), t.rule.category) for rule in rules.rules for t in targets(rule, datamap)
    ]
    out = []
    for i, (a, claim_a, cat_a) in enumerate(claims):
        for b, claim_b, cat_b in claims[i + 1 :]:
            if a.name == b.name or a.store != b.store or not _overlap(claim_a, claim_b):
                continue
            if cat_a is not None and cat_b is not None and cat_a != cat_b:
                continue
            if _length(a.duration) != _length(b.duration):
                first, second = sorted((a, b), key=lambda r: r.name)
                where = (
                    f"{a.store}.{claim_a[1]}"
                    if claim_a[0] == "collection"
                    else f"{a.store} prefix {max(claim_a[1], claim_b[1], key=len)!r}"
                )
                out.append(
                    f"rules {first.name} and {second.name} claim the same data ({where}) "
                    f"with different periods ({first.period}, {second.period})"
                )
    return sorted(set(out))
