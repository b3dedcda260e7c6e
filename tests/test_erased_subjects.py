"""An erased subject is forgotten by every earlier request of theirs in that tenant: identities,
links and staged packages go (recorded in the ledger), unfinished requests are closed, and `dsr
export` says why there is nothing to export. And `dsr export --out` writes only into a new or empty
directory."""

from __future__ import annotations

import json

import sqlalchemy as sa

from dsr_pipelines.state.schema import identities_t, links_t


def _status(project, request_id: int) -> dict:
    return json.loads(project.cli("status", str(request_id), "--json").stdout)


def test_an_erasure_removes_what_earlier_requests_of_the_subject_hold(project, tmp_path):
    project.write_config(tenants={"acme": {}, "globex": {}})
    person, other = project.people[2], project.people[5]
    access = project.submit(person, "access")
    elsewhere = project.submit(person, "access", tenant="globex" if person.tenant == "acme" else "acme")
    someone_else = project.submit(other, "access")
    project.cli("run", str(access), str(elsewhere), str(someone_else))
    waiting = project.submit(person, "restriction")  # verified, not yet run
    exports = project.root / "exports"
    assert (exports / str(access) / "manifest.json").is_file()

    erasure = project.submit(person, "erasure")
    project.cli("run", str(erasure))
    assert _status(project, erasure)["state"] == "completed"

    refused = project.cli("export", str(access), "--out", str(tmp_path / "a"), expect=2)
    assert f"erased by request {erasure}" in refused.stderr and "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "a").exists() and not (exports / str(access)).exists()
    assert person.email not in json.dumps(json.loads(project.cli("audit", "show").stdout))

    with project.db().engine.connect() as conn:
        held = conn.execute(
            sa.select(identities_t.c.request_id).where(identities_t.c.ciphertext.is_not(None))
        ).scalars()
        linked = set(conn.execute(sa.select(links_t.c.request_id)).scalars())
    assert set(held) == {elsewhere, someone_else}  # the other tenant's request is another controller's
    assert access not in linked and waiting not in linked

    closed = _status(project, waiting)
    assert closed["state"] == "rejected" and f"erased by request {erasure}" in closed["error"]
    assert project.cli("run", str(waiting), expect=2)  # nothing left to run

    events = [
        (e["event"], e["request_id"], json.loads(e["details"]))
        for e in json.loads(project.cli("audit", "show").stdout)
        if e["event"] in ("identities_removed", "package_removed")
    ]
    assert ("identities_removed", access, {"erased_by": erasure}) in events
    assert ("identities_removed", waiting, {"erased_by": erasure}) in events
    assert ("package_removed", access, {}) in events
    assert {r for _, r, _ in events} == {access, waiting, erasure}

    for kept in (elsewhere, someone_else):
        project.cli("export", str(kept), "--out", str(tmp_path / str(kept)))
        assert (tmp_path / str(kept) / "manifest.json").is_file()


def test_a_request_finishing_after_the_erasure_of_its_subject_is_superseded(project, tmp_path):
    """An earlier access request another run still held when the erasure completed: it is
    superseded when it finishes, and its fresh package goes with it."""
    person = project.people[2]
    access = project.submit(person, "access")
    erasure = project.submit(person, "erasure")
    db = project.db()
    db.requests.claim([access], "another-run", db.clock().replace(year=2100))
    project.cli("run", str(erasure))
    assert _status(project, access)["identities_held"] is True  # not taken from under its run

    db.requests.release([access], "another-run")
    project.cli("run", str(access))  # finishes after the erasure
    record = _status(project, access)
    assert record["state"] == "completed" and record["identities_held"] is False
    assert not (project.root / "exports" / str(access)).exists()
    refused = project.cli("export", str(access), "--out", str(tmp_path / "out"), expect=2)
    assert f"erased by request {erasure}" in refused.stderr


def test_export_writes_only_into_a_new_or_empty_directory(project, tmp_path):
    request_id = project.submit(project.people[2], "access")
    project.cli("run", str(request_id))

    crowded = tmp_path / "crowded"
    crowded.mkdir()
    (crowded / "someone-elses.json").write_text("{}")
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for out, says in (
        (crowded, "is not empty"),
        (a_file, "is a file"),
        (a_file / "below", "cannot create"),
    ):
        result = project.cli("export", str(request_id), "--out", str(out), expect=2)
        assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert sorted(p.name for p in crowded.iterdir()) == ["someone-elses.json"]

    empty = tmp_path / "empty"
    empty.mkdir()
    project.cli("export", str(request_id), "--out", str(empty))
    assert (empty / "manifest.json").is_file()
