"""Datamap bootstrap from reflection, and checks that name each problem by its key path."""

from __future__ import annotations

import copy

import yaml

from dsr_pipelines.demo import shop
from dsr_pipelines.plan.datamap.model import load_datamap


def test_init_drafts_keys_references_and_identity_guesses(project):
    (project.root / "datamap.yaml").unlink()
    result = project.cli("datamap", "init", "--store", "shop")
    assert "6 collections" in result.stdout
    drafted = load_datamap(project.root / "datamap.yaml").stores["shop"].collections
    assert set(drafted) == {"customers", "addresses", "orders", "order_lines", "returns", "support_tickets"}
    assert drafted["addresses"].primary_key == ["customer_id", "seq"]
    (ret,) = drafted["returns"].references
    assert (ret.fields, ret.to, ret.to_fields) == (
        ["order_id", "line_no"],
        "order_lines",
        ["order_id", "line_no"],
    )
    assert drafted["customers"].identity_fields() == {"id": "customer_id", "email": "email", "phone": "phone"}
    assert drafted["support_tickets"].identity_fields() == {"email": "email"}
    assert drafted["customers"].tenant_field == "tenant_id"
    referral = next(r for r in drafted["customers"].references if r.to == "customers")
    assert referral.follow is False  # one customer referring another is not ownership
    assert not any(c.reviewed for c in drafted.values())
    project.cli("datamap", "check")
    assert "already maps store shop" in project.cli("datamap", "init", "--store", "shop", expect=2).stderr


def test_check_reports_every_problem_with_its_key_path(project):
    broken = copy.deepcopy(shop.DATAMAP)
    cols = broken["collections"]
    cols["customers"]["fields"]["shoe_size"] = {"category": "physical"}
    cols["orders"]["references"].append({"fields": ["customer_id"], "to": "ghosts", "to_fields": ["id"]})
    cols["addresses"]["fields"]["street"] = {"identity": "street"}
    cols["invoices"] = {"primary_key": ["id"], "fields": {"email": {"category": "email"}}}
    cols["returns"]["references"][0]["to_fields"] = ["order_id", "line_number"]
    cols["loops"] = {"fields": {}, "references": [{"fields": ["a"], "to": "loops", "to_fields": ["b"]}]}
    project.write_datamap({"shop": broken, "warehouse": {"collections": {}}})
    result = project.cli("datamap", "check", expect=1)
    expected = [
        "stores.warehouse: unknown store",
        "stores.shop.collections.customers.fields.shoe_size: no such column in customers",
        "stores.shop.collections.orders.references[1]: refers to ghosts",
        "stores.shop.collections.addresses.fields.street: identity street has no category",
        "stores.shop.collections.invoices: no such table",
        "stores.shop.collections.returns.references[0]: to_field line_number: no such column in order_lines",
        "stores.shop.collections.loops: in reference cycle loops -> loops without a primary_key",
    ]
    text = " ".join(result.stderr.split())
    for line in expected:
        assert line in text, line


def test_static_errors_name_the_setting(project):
    broken = copy.deepcopy(shop.DATAMAP)
    broken["collections"]["orders"].pop("legal_basis")
    (project.root / "datamap.yaml").write_text(yaml.safe_dump({"version": 1, "stores": {"shop": broken}}))
    result = project.cli("datamap", "check", expect=2)
    assert "stores.shop.collections.orders" in result.stderr and "legal_basis" in result.stderr


def test_object_lake_and_cross_store_settings_are_checked_with_their_key_paths():
    from dsr_pipelines.plan.datamap.check import static_problems
    from dsr_pipelines.plan.datamap.model import parse_datamap

    datamap = parse_datamap(
        {
            "stores": {
                "shop": {"collections": {"customers": {"primary_key": ["id"], "prefix": "x/"}}},
                "lake": {
                    "collections": {
                        "events": {
                            "path": "events",
                            "fields": {"note": {"category": "free_text", "mask": "spans"}},
                            "references": [
                                {
                                    "fields": ["user_id"],
                                    "store": "shop",
                                    "to": "clients",
                                    "to_fields": ["id"],
                                },
                                {"fields": ["user_id"], "store": "crm", "to": "people", "to_fields": ["id"]},
                                {"fields": ["user_id"], "store": "lake", "to": "events", "to_fields": ["id"]},
                            ],
                        }
                    }
                },
                "files": {
                    "collections": {
                        "avatars": {"key_pattern": "users/", "erase": "mask", "tenant_field": "tenant"},
                        "logs": {"prefix": "logs/", "format": "text", "tenant_field": "tenant", "path": "x"},
                    }
                },
            }
        }
    )
    problems = [str(p) for p in static_problems(datamap, {"shop": "sql", "lake": "parquet", "files": "s3"})]
    assert problems == [
        "stores.shop.collections.customers.prefix: not a setting of sql collections",
        "stores.lake.collections.events.fields.note: mask: spans rewrites rows by key: give a primary_key",
        "stores.lake.collections.events.references[0]: refers to shop.clients, not in that store's map",
        "stores.lake.collections.events.references[1]: refers to store crm, not in the datamap",
        "stores.lake.collections.events.references[2]: store: names this same store; leave it out",
        "stores.files.collections.avatars.key_pattern: needs a {field} placeholder, e.g. users/{user_id}/",
        "stores.files.collections.avatars.erase: objects under a key pattern can only be deleted",
        "stores.files.collections.avatars.tenant_field: must be a placeholder of the key pattern, "
        "e.g. {tenant}/users/{user_id}/",
        "stores.files.collections.logs.path: not a setting of s3 collections",
        "stores.files.collections.logs.tenant_field: plain-text records have no field for a tenant",
    ]


def test_stores_that_reference_each_other_in_a_cycle_are_refused():
    from dsr_pipelines.plan.datamap.check import static_problems
    from dsr_pipelines.plan.datamap.model import parse_datamap

    link = {"fields": ["id"], "to": "t", "to_fields": ["id"]}
    datamap = parse_datamap(
        {
            "stores": {
                "a": {"collections": {"t": {"references": [{**link, "store": "b"}]}}},
                "b": {"collections": {"t": {"references": [{**link, "store": "a"}]}}},
            }
        }
    )
    (problem,) = static_problems(datamap, {"a": "sql", "b": "sql"})
    assert str(problem) == (
        "stores: stores reference each other in a cycle (a -> b -> a): links cannot be resolved"
    )
