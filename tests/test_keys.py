"""The project key: a wrong one is refused at once by every command; key files are checked as ssh
checks private keys; no message ever shows key bytes."""

from __future__ import annotations

import base64
import json
import os

import pytest
import sqlalchemy as sa
import yaml

from dsr_pipelines.demo import shop
from dsr_pipelines.retain.archive import read_archive
from dsr_pipelines.service.workspace import Workspace

OTHER = base64.b64encode(b"o" * 32).decode()


def test_a_wrong_key_is_refused_by_every_command_before_anything_is_read_or_written(
    project, monkeypatch, tmp_path
):
    access = project.submit(project.people[0], "access")
    project.cli("run", str(access))
    before = json.loads(project.cli("list", "--json").stdout)
    monkeypatch.setenv("DSR_MASTER_KEY", OTHER)
    package = tmp_path / "package"
    for args in [
        ("submit", "--tenant", "acme", "--type", "erasure", "--identity", f"email={project.people[1].email}"),
        ("status", str(access)),
        ("list",),
        ("audit", "verify"),
        ("run", "--pending"),
        ("export", str(access), "--out", str(package)),
        ("hold", "list"),
    ]:
        result = project.cli(*args, expect=2)
        assert result.stderr.strip() == (
            "error: DSR_MASTER_KEY is not the key this state database was made with: "
            "nothing was read or written"
        ), args
        assert "Traceback" not in result.stderr and OTHER not in result.stderr
    assert not package.exists()
    monkeypatch.setenv("DSR_MASTER_KEY", base64.b64encode(b"k" * 32).decode())
    assert json.loads(project.cli("list", "--json").stdout) == before  # nothing was submitted


def _with_key_file(project, monkeypatch, content: bytes | None, mode: int = 0o600):
    monkeypatch.delenv("DSR_MASTER_KEY")
    key_file = project.root / "master.key"
    if content is None:
        key_file.mkdir()
    else:
        key_file.write_bytes(content)
        key_file.chmod(mode)
    project.write_config(key_file="master.key")
    return key_file


@pytest.mark.parametrize(
    "content, mode, message",
    [
        (None, 0o600, "key file {path} is a directory"),
        (b"k" * 32 + b"\xff\xfe", 0o600, "key file {path}: not base64 text"),  # raw bytes, not base64
        (base64.b64encode(b"short") + b"\n", 0o600, "key file {path}: the key must be 32 bytes in base64"),
        (base64.b64encode(b"k" * 32) + b"\n", 0o640, "key file {path} is readable by others (mode 640)"),
        (base64.b64encode(b"k" * 32) + b"\n", 0o604, "key file {path} is readable by others (mode 604)"),
    ],
    ids=["directory", "raw-bytes", "wrong-length", "group-readable", "world-readable"],
)
def test_key_files_are_refused_with_their_name_and_never_their_bytes(
    project, monkeypatch, content, mode, message
):
    path = _with_key_file(project, monkeypatch, content, mode)
    result = project.cli("list", expect=2)
    assert message.format(path=path) in result.stderr
    assert "Traceback" not in result.stderr and "kkkk" not in result.stderr and "\\x" not in result.stderr


def test_a_good_key_file_works_and_the_key_from_the_environment_is_named_when_wrong(project, monkeypatch):
    _with_key_file(project, monkeypatch, base64.b64encode(b"k" * 32) + b"\n")
    project.cli("list")
    monkeypatch.setenv("DSR_MASTER_KEY", "not a key at all")
    result = project.cli("list", expect=2)
    assert "DSR_MASTER_KEY: the key must be 32 bytes in base64" in result.stderr
    assert "not a key at all" not in result.stderr
    monkeypatch.delenv("DSR_MASTER_KEY")
    os.remove(project.root / "master.key")
    assert "no project key: set DSR_MASTER_KEY" in project.cli("list", expect=2).stderr


NEW = base64.b64encode(b"n" * 32).decode()


def _people_of(project, tenant: str):
    return [p for p in project.people if p.tenant == tenant]


def test_a_rotation_amid_open_requests_holds_and_archives_keeps_everything_working(
    project, monkeypatch, tmp_path
):
    acme = _people_of(project, "acme")
    settings = {
        "stores": [
            {"name": "shop", "kind": "sql", "url": project.shop_url},
            {"name": "archive", "kind": "parquet", "url": "archive"},
        ],
        "tenants": {"acme": {}, "globex": {}},
    }
    project.write_config(**settings)
    invoices = {"name": "invoices", "store": "shop", "collection": "orders", "age": {"field": "placed_on"}}
    invoices |= {"period": "P10Y", "action": "archive", "archive_to": "archive"}
    rules = {"rules": [invoices | {"legal_basis": "tax law", "owner": "finance"}]}
    (project.root / "retention_rules.yaml").write_text(yaml.safe_dump(rules))
    monkeypatch.setenv("DSR_ARCHIVE_KEY", base64.b64encode(b"a" * 32).decode())
    project.cli("tenant", "terminate", "globex", "--effective", "2026-01-31")
    project.cli("tenant", "purge", "globex")  # invoices archived, encrypted
    access = project.submit(acme[0], "access")
    restriction = project.submit(acme[1], "restriction")
    erased = project.submit(acme[3], "erasure")
    project.cli("run", str(access), str(restriction), str(erased))
    hold = project.cli(
        "hold", "add", "--tenant", "acme", "--identity", f"email={acme[2].email}", "--reason", "case 9"
    )
    pending = project.submit(acme[4], "erasure")  # verified, not run yet: its identity is encrypted
    flags_before = _flags(project)
    refs_before = json.loads(project.cli("status", str(access), "--json").stdout)["subject_refs"]

    monkeypatch.setenv("DSR_NEW_MASTER_KEY", NEW)
    monkeypatch.setenv("DSR_NEW_ARCHIVE_KEY", base64.b64encode(b"b" * 32).decode())
    # Cut short after the database's values moved: it still opens with the current key only.
    monkeypatch.setattr("dsr_pipelines.service.keys.reencrypt_staged", _crash)
    project.cli("keys", "rotate", expect=None)
    project.cli("list")
    monkeypatch.undo()
    monkeypatch.setenv("DSR_MASTER_KEY", base64.b64encode(b"k" * 32).decode())
    monkeypatch.setenv("DSR_CONFIG", str(project.config_path))
    monkeypatch.setenv("DSR_ARCHIVE_KEY", base64.b64encode(b"a" * 32).decode())
    monkeypatch.setenv("DSR_NEW_MASTER_KEY", NEW)
    monkeypatch.setenv("DSR_NEW_ARCHIVE_KEY", base64.b64encode(b"b" * 32).decode())
    rotated = project.cli("keys", "rotate")
    assert "staged package files: 12 re-encrypted" in rotated.stderr and "archive files:" in rotated.stderr
    assert "DSR_MASTER_KEY is not the key" in project.cli("list", expect=2).stderr  # the old key is done

    monkeypatch.setenv("DSR_MASTER_KEY", NEW)
    monkeypatch.setenv("DSR_ARCHIVE_KEY", base64.b64encode(b"b" * 32).decode())
    assert "ledger intact" in project.cli("audit", "verify").stdout
    project.cli("export", str(access), "--out", str(tmp_path / "package"))
    customers = json.loads((tmp_path / "package" / "shop" / "customers.json").read_text())
    assert [c["email"] for c in customers] == [acme[0].email]
    project.cli("run", str(pending))  # its identity decrypts under the new key
    assert json.loads(project.cli("status", str(pending), "--json").stdout)["state"] == "completed"
    lift = project.submit(acme[1], "lift-restriction")
    project.cli("run", str(lift))
    assert _flags(project) == {k: v - {acme[1].customer_id} for k, v in flags_before.items()}
    held = project.submit(acme[2], "erasure")
    project.cli("run", str(held), expect=1)
    assert json.loads(project.cli("status", str(held), "--json").stdout)["holds"] == [
        f"legal hold {hold.stdout.strip()}"
    ]
    again = project.submit(acme[0], "access")  # the same person has the same reference
    assert json.loads(project.cli("status", str(again), "--json").stdout)["subject_refs"] == refs_before

    # A restore brings an erased address back: the tombstones still find it.
    engine = project.engine()
    with engine.begin() as conn:
        conn.execute(
            sa.insert(shop.addresses).values(
                customer_id=acme[3].customer_id, seq=1, street="1 High Street", city="x"
            )
        )
    engine.dispose()
    assert json.loads(project.cli("backups", "replay", "--store", "shop", "--json").stdout)["addresses"] == 1

    with Workspace.open(project.config_path) as ws:
        files = [a for a in ws.db.archives.present()]
        assert files and all(read_archive(ws.connector("archive"), a.path).num_rows for a in files)
    events = [e["event"] for e in json.loads(project.cli("audit", "show").stdout)]
    assert events.count("keys_rotated") == 1


def _crash(*args, **kwargs):
    raise OSError("the machine went down")


def _flags(project) -> dict[str, set[int]]:
    snapshot = project.snapshot()
    return {
        "customers": {r[0] for r in snapshot["customers"] if r[6]},
        "support_tickets": {r[0] for r in snapshot["support_tickets"] if r[-1]},
    }
