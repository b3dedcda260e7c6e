"""Datamap bootstrap from reflection, and checks that name each problem by its key path."""

from __future__ import annotations

import copy
import sqlite3
from contextlib import closing

import yaml

from dsr_pipelines.demo import shop
from dsr_pipelines.plan.datamap.model import load_datamap

from .conftest import Project


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


MUSIC_SHOP = """
CREATE TABLE Artist (ArtistId INTEGER PRIMARY KEY, Name TEXT);
CREATE TABLE Genre (GenreId INTEGER PRIMARY KEY, Name TEXT);
CREATE TABLE MediaType (MediaTypeId INTEGER PRIMARY KEY, Name TEXT);
CREATE TABLE Playlist (PlaylistId INTEGER PRIMARY KEY, Name TEXT);
CREATE TABLE Track (TrackId INTEGER PRIMARY KEY, Name TEXT, Composer TEXT, Milliseconds INTEGER);
CREATE TABLE Employee (EmployeeId INTEGER PRIMARY KEY, LastName TEXT, FirstName TEXT, Title TEXT,
    Address TEXT, Country TEXT, Phone TEXT, Fax TEXT, Email TEXT);
CREATE TABLE Customer (CustomerId INTEGER PRIMARY KEY, FirstName TEXT, LastName TEXT, Company TEXT,
    Address TEXT, Country TEXT, Phone TEXT, Fax TEXT, Email TEXT,
    SupportRepId INTEGER REFERENCES Employee (EmployeeId));
"""


def _music_shop(path, n: int = 60) -> str:
    """A music shop's schema (the kind the issue names), filled with Faker in several countries."""
    from faker import Faker

    fakes = {
        "Germany": Faker("de_DE"),
        "France": Faker("fr_FR"),
        "Brazil": Faker("pt_BR"),
        "USA": Faker("en_US"),
    }
    for i, f in enumerate(fakes.values()):
        f.seed_instance(i)
    people = lambda: [(c, f) for c, f in fakes.items() for _ in range(n // len(fakes))]  # noqa: E731
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(MUSIC_SHOP)
        words = Faker("en_US")
        words.seed_instance(9)
        for table in ("Artist", "Genre", "MediaType", "Playlist"):
            names = [(words.catch_phrase(),) for _ in range(n)]
            conn.executemany(f"INSERT INTO {table} (Name) VALUES (?)", names)
        tracks = [(words.sentence(nb_words=3).rstrip("."), words.name(), 200_000 + i) for i in range(n)]
        conn.executemany("INSERT INTO Track (Name, Composer, Milliseconds) VALUES (?, ?, ?)", tracks)
        for table in ("Employee", "Customer"):
            rows = [
                (
                    f.last_name(),
                    f.first_name(),
                    f.street_address(),
                    c,
                    f.phone_number(),
                    f.phone_number(),
                    f.unique.email(),
                )
                for c, f in people()
            ]
            conn.executemany(
                f"INSERT INTO {table} (LastName, FirstName, Address, Country, Phone, Fax, Email) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        conn.commit()
    return f"sqlite:///{path}"


def test_init_maps_what_the_sample_shows_and_asks_whose_identities_they_are(tmp_path):
    url = _music_shop(tmp_path / "music.db")
    project = Project(tmp_path, url, [])
    project.write_config(stores=[{"name": "music", "kind": "sql", "url": url}])
    result = project.cli("datamap", "init", "--store", "music")
    assert "4 identities proposed" in result.stdout
    text = (tmp_path / "datamap.yaml").read_text()
    drafted = load_datamap(tmp_path / "datamap.yaml").stores["music"].collections
    # Every table is there (keys and references for traversal), but a Name is personal only in a
    # table of people: an artist's, a genre's, a playlist's or a track's is not
    assert set(drafted) == {"Artist", "Genre", "MediaType", "Playlist", "Track", "Employee", "Customer"}
    for table in ("Artist", "Genre", "MediaType", "Playlist", "Track"):
        assert drafted[table].fields == {}, table
    for table in ("Employee", "Customer"):
        categories = {name: f.category for name, f in drafted[table].fields.items()}
        assert categories == {
            "FirstName": "name",
            "LastName": "name",
            "Address": "address",
            "Phone": "phone",
            "Fax": "phone",
            "Email": "email",
        }, table
        # Unique emails and phones are proposed as identities, and a comment asks whose they are;
        # a fax is no identity a request gives
        assert drafted[table].identity_fields() == {"Phone": "phone", "Email": "email"}
        assert f"# identity email? Are the people in {table} subjects whose requests name them" in text
    comments = " ".join(line.strip(" #") for line in text.splitlines() if line.strip().startswith("#"))
    assert "Identities proposed: Customer.Email (email), Customer.Phone (phone), Employee.Email" in comments
    project.cli("datamap", "check")
