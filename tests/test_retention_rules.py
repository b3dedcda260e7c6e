"""retention_rules.yaml: every mistake is named precisely, by rule, before anything is swept."""

from __future__ import annotations

from datetime import datetime

import pytest
import yaml

from dsr_pipelines.core.durations import parse_duration
from dsr_pipelines.core.errors import ConfigError
from dsr_pipelines.demo import files as shopfiles
from dsr_pipelines.demo import shop
from dsr_pipelines.plan.datamap.model import parse_datamap
from dsr_pipelines.retain.rules import parse_rules, problems

DATAMAP = parse_datamap(
    {
        "version": 1,
        "stores": {"shop": shop.DATAMAP, "lake": shopfiles.LAKE_DATAMAP, "files": shopfiles.FILES_DATAMAP},
    }
)
KINDS = {"shop": "sql", "lake": "parquet", "files": "s3", "archive": "parquet"}
BASE = {"legal_basis": "contract", "owner": "ops"}


def rule(**fields) -> dict:
    return {
        "name": "r",
        "store": "shop",
        "collection": "support_tickets",
        "age": {"field": "opened_at"},
        "period": "P1Y",
        **BASE,
        **fields,
    }


def check(*rules: dict) -> list[str]:
    return problems(parse_rules({"rules": list(rules)}), KINDS, DATAMAP)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"period": "30 days"}, "rule r: period: '30 days' is not an ISO-8601 duration"),
        ({"period": "P"}, "rule r: period: 'P' is not an ISO-8601 duration"),
        ({"age": {"field": "opened_at", "modified": True}}, "rule r.age: Value error, give exactly one of"),
        ({"action": "shred"}, "rule r.action: Input should be 'delete', 'anonymise' or 'archive'"),
        ({"action": "archive"}, "archive_to is needed by, and only by, action: archive"),
        ({"legal_basis": ""}, "rule r.legal_basis"),
        ({"owner": None}, "rule r.owner"),
        ({"colour": "red"}, "rule r.colour: Extra inputs are not permitted"),
        ({"age": {"key_date": "%d/%m"}}, "rule r: key date '%d/%m': needs %Y"),
        ({"age": {"key_date": "%Y/%q"}}, "%q is not supported"),
    ],
)
def test_a_malformed_rule_is_refused_naming_the_rule_and_the_setting(fields, message):
    with pytest.raises(ConfigError) as error:
        parse_rules({"rules": [rule(**fields)]})
    assert message in str(error.value)


def test_rule_names_are_unique():
    with pytest.raises(ConfigError, match="rule names must be unique: r"):
        parse_rules({"rules": [rule(), rule(period="P2Y")]})


def test_rules_are_checked_against_stores_and_datamap():
    found = check(
        rule(name="a", store="warehouse"),
        rule(name="b", age={"modified": True}),
        rule(name="c", collection="nope"),
        rule(name="d", store="files", collection="app_logs", age={"field": "at"}),
        rule(name="e", store="files", collection="app_logs", age={"modified": True}, action="anonymise"),
        rule(name="f", action="archive", archive_to="shop"),
        rule(name="g", collection=None, category="nothing_like_this"),
        rule(
            name="h",
            store="files",
            collection="app_logs",
            age={"modified": True},
            period="P1M",
            lifecycle=True,
        ),
        rule(name="i", collection="orders", age={"field": "placed_on"}, action="anonymise"),
    )
    expected = [
        "rule a: unknown store 'warehouse' (known: archive, files, lake, shop)",
        "rule b: a sql store's age is read from field, not modified",
        "rule c: store shop has no collection nope in the datamap",
        "rule d: a s3 store's age is read from key_date or modified, not field",
        "rule e: objects cannot be anonymised by a sweep; delete or archive them",
        "rule f: archive_to must name a parquet store (got 'shop')",
        "rule g: no collection of store shop holds category nothing_like_this",
        "rule h: lifecycle expirations count days; P1M has months or years",
        "rule i: shop.orders has no personal fields to anonymise",
    ]
    for message in expected:
        assert message in found, (message, found)


def test_two_rules_claiming_the_same_data_with_different_periods_conflict():
    found = check(
        rule(name="tickets-1y"),
        rule(name="tickets-2y", period="P2Y"),
        rule(name="emails", collection=None, category="email", action="anonymise", period="P1Y"),
        {
            "name": "logs",
            "store": "files",
            "prefix": "logs/",
            "age": {"modified": True},
            "period": "P90D",
            **BASE,
        },
        {
            "name": "all-files",
            "store": "files",
            "prefix": "",
            "age": {"modified": True},
            "period": "P1Y",
            **BASE,
        },
    )
    assert found == [
        "rules all-files and logs claim the same data (files prefix 'logs/') "
        "with different periods (P1Y, P90D)",
        "rules emails and tickets-2y claim the same data (shop.support_tickets) "
        "with different periods (P1Y, P2Y)",
        "rules tickets-1y and tickets-2y claim the same data (shop.support_tickets) "
        "with different periods (P1Y, P2Y)",
    ]
    # The same period is no conflict; nor are different categories of one collection.
    assert check(rule(name="a"), rule(name="b", period="P12M")) == []


def test_a_period_is_subtracted_as_calendar_time():
    assert parse_duration("P1M").subtract_from(datetime(2025, 3, 31)) == datetime(2025, 2, 28)
    assert parse_duration("P1Y").subtract_from(datetime(2024, 2, 29)) == datetime(2023, 2, 28)
    assert parse_duration("P13M").subtract_from(datetime(2026, 1, 15)) == datetime(2024, 12, 15)
    assert parse_duration("P2W").subtract_from(datetime(2026, 1, 15)) == datetime(2026, 1, 1)


def test_the_repository_rules_file_is_valid():
    with open("retention_rules.yaml") as f:
        rules = parse_rules(yaml.safe_load(f))
    assert problems(rules, KINDS, DATAMAP) == []


def test_the_cli_refuses_bad_rules_before_touching_a_store(project):
    p = project
    before = p.snapshot()
    (p.root / "retention_rules.yaml").write_text(yaml.safe_dump({"rules": [rule(period="P1Y2")]}))
    assert "rule r: period: 'P1Y2' is not an ISO-8601 duration" in p.cli("sweep", expect=2).stderr
    (p.root / "retention_rules.yaml").write_text(yaml.safe_dump({"rules": [rule(store="nowhere")]}))
    assert "rule r: unknown store 'nowhere' (known: shop)" in p.cli("sweep", "--dry-run", expect=2).stderr
    assert "rule r: unknown store 'nowhere'" in p.cli("sweep", "check", expect=1).stdout
    (p.root / "retention_rules.yaml").write_text(yaml.safe_dump({"rules": [rule()]}))
    assert "no retention rule 'other' (known: r)" in p.cli("sweep", "--rule", "other", expect=2).stderr
    assert "--as-of: 'yesterday' is not a date" in p.cli("sweep", "--as-of", "yesterday", expect=2).stderr
    assert p.snapshot() == before
    p.cli("sweep", "check")
