"""A collection without a tenant field is not silently shared between tenants: the datamap must say
how its rows are told apart (a tenant field, a reference that leads to one, or `shared: true` with a
reason), `dsr datamap check` and every run refuse a map that does not, and requests honour what it
says. On the shop: `signups` holds an email and, where known, the customer it became."""

from __future__ import annotations

import copy
import json

import pytest
import sqlalchemy as sa

from dsr_pipelines.demo import shop

from .conftest import BACKENDS

SIGNUPS = sa.Table(
    "signups",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(200)),
    sa.Column("customer_id", sa.Integer),  # the account it became, where it became one
)
SIGNUP_FIELDS = {"email": {"category": "email", "identity": "email"}}


@pytest.fixture
def signups(project):
    """The subject signed up at acme (became their customer), at globex with the same email (became
    a globex customer), and once more without an account: whose is that one, nobody can tell."""
    person = next(p for p in project.people if p.tenant == "acme")
    other = next(p for p in project.people if p.tenant == "globex")
    engine = project.engine()
    SIGNUPS.create(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(SIGNUPS),
            [
                {"id": 1, "email": person.email, "customer_id": person.customer_id},
                {"id": 2, "email": person.email, "customer_id": other.customer_id},
                {"id": 3, "email": person.email, "customer_id": None},
                {"id": 4, "email": other.email, "customer_id": other.customer_id},
            ],
        )
    engine.dispose()
    project.write_config(tenants={"acme": {}, "globex": {}})
    return person


def _map(project, signups: dict) -> None:
    datamap = copy.deepcopy(shop.DATAMAP)
    datamap["collections"]["signups"] = {"primary_key": ["id"], "fields": SIGNUP_FIELDS, **signups}
    project.write_datamap({"shop": datamap})


def _left(project) -> list[int]:
    engine = project.engine()
    with engine.connect() as conn:
        ids = sorted(conn.execute(sa.select(SIGNUPS.c.id)).scalars())
    engine.dispose()
    return ids


def _erase(project, person) -> dict:
    request_id = project.submit(person, "erasure")
    project.cli("run", str(request_id))
    return json.loads(project.cli("status", str(request_id), "--json").stdout)


@pytest.mark.parametrize("project", BACKENDS, indirect=True)
def test_a_collection_that_cannot_tell_tenants_apart_is_refused(project, signups):
    _map(project, {})
    check = project.cli("datamap", "check", expect=1)
    said = check.stdout + check.stderr
    assert "stores.shop.collections.signups: identity field email but no tenant_field" in said
    before = project.snapshot()
    request_id = project.submit(signups, "erasure")
    refused = project.cli("run", str(request_id), expect=2)
    assert "stores.shop.collections.signups" in refused.stderr and "Traceback" not in refused.stderr
    assert project.snapshot() == before and _left(project) == [1, 2, 3, 4]

    _map(project, {"shared": True})  # shared needs its reason
    assert "shared: true needs a shared_reason" in project.cli("datamap", "check", expect=2).stderr


@pytest.mark.parametrize("project", BACKENDS, indirect=True)
def test_a_reference_to_a_tenant_row_tells_tenants_apart(project, signups):
    reference = {"fields": ["customer_id"], "to": "customers", "to_fields": ["id"], "follow": False}
    _map(project, {"references": [reference]})
    assert project.cli("datamap", "check").stdout.strip() == "datamap ok"
    status = _erase(project, signups)
    assert status["state"] == "completed"
    # Only the acme signup goes: the globex one is another controller's, the third is nobody's known.
    assert _left(project) == [2, 3, 4]
    assert {r["collection"]: r["deleted"] for r in status["results"]}["signups"] == 1


def test_a_shared_collection_is_matched_whichever_tenant_asks(project, signups):
    _map(project, {"shared": True, "shared_reason": "one mailing list for every tenant"})
    assert project.cli("datamap", "check").stdout.strip() == "datamap ok"
    assert _erase(project, signups)["state"] == "completed"
    assert _left(project) == [4]  # every signup with the subject's email, said so in the map
