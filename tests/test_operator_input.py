"""What an operator types, wrong in every way we could think of: each is one line saying what is wrong
(exit 2), never a traceback, and nothing is recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer.main
import yaml

from dsr_pipelines.intake.cli import app
from dsr_pipelines.state.schema import requests_t

DSR = Path(sys.executable).with_name("dsr")


def _one_line(result) -> str:
    text = result.stderr.strip()
    assert "Traceback" not in text and len(text.splitlines()) == 1, text
    return text


def test_an_argument_that_is_not_utf8_is_refused_by_the_command_itself(project):
    """A terminal in another encoding hands the program bytes that are not UTF-8."""
    argv = [DSR, "--config", project.config_path, "submit", "--tenant", "acme", "--type", "access"]
    for bad in (b"email=\xffann@example.com", b"phone=+44\xe9"):
        run = subprocess.run([*argv, "--identity", bad], capture_output=True, env=os.environ, timeout=120)
        assert run.returncode == 2, run.stderr
        assert run.stderr.decode().strip() == "error: argument 9 is not valid UTF-8 text"
    # The same value reaching the API (the CLI's own check bypassed) is refused by the identity check.
    result = project.cli(
        "submit",
        "--tenant",
        "acme",
        "--type",
        "access",
        "--identity",
        "email=\udcffann@example.com",
        expect=2,
    )
    assert "identity 1 (email): the value is not valid UTF-8 text" in _one_line(result)
    assert project.cli("list", "--json").stdout.strip() == "[]"


def test_paths_that_cannot_be_written_are_named(project, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    cases = [
        (("audit", "checkpoint", "--out", str(a_file / "checkpoint.json")), "a-file"),
        (("demo", "--dir", str(a_file / "demo")), "a-file"),
    ]
    for args, names in cases:
        result = project.cli(*args, expect=2)
        assert names in _one_line(result), result.stderr


def test_a_submit_without_a_datamap_says_what_is_missing(project):
    (project.root / "datamap.yaml").unlink()
    person = project.people[0]
    for kind in (f"email={person.email}", "loyalty_card=12345"):
        result = project.cli("submit", "--tenant", "acme", "--type", "erasure", "--identity", kind, expect=2)
        assert "no datamap at" in _one_line(result) and "dsr datamap init" in result.stderr
    assert project.cli("list", "--json").stdout.strip() == "[]"


@pytest.mark.parametrize("file", ["dsr.yaml", "datamap.yaml", "retention_rules.yaml"])
def test_a_yaml_syntax_error_names_its_line(project, file):
    path = project.root / file
    text = path.read_text() if path.exists() else "rules: []\n"
    path.write_text(text + "oops: [unclosed\nnext: 1\n")
    line = len(text.splitlines()) + 2
    result = project.cli("sweep", "check", expect=2)
    assert f"{file}: not valid YAML: line {line}, column" in _one_line(result)


def test_config_validation_lists_every_problem_at_once(project):
    settings = yaml.safe_load(project.config_path.read_text())
    settings.update(
        response_period="one month",
        guard={"max_share": 7, "min_rows": 0},
        lease_seconds=0,
        tenants={"acme": {"response_period": "P1X"}},
        colour="blue",
    )
    project.config_path.write_text(yaml.safe_dump(settings))
    message = _one_line(project.cli("list", expect=2))
    assert "6 problems" in message
    for where in (
        "response_period:",
        "guard.max_share:",
        "guard.min_rows:",
        "lease_seconds:",
        "tenants.acme.response_period:",
        "colour: Extra inputs",
    ):
        assert where in message, where


def test_the_state_database_unreachable_is_one_line(project):
    project.write_config(request_store="postgresql+psycopg://postgres@127.0.0.1:1/test")
    assert "the state database (request_store) cannot be opened" in _one_line(project.cli("list", expect=2))


def test_list_filters_states_and_due_dates(project):
    ids = [project.submit(p, "access") for p in project.people[:3]]
    result = project.cli("list", "--state", "done", expect=2)
    assert "unknown state 'done'" in _one_line(result) and "partially_completed" in result.stderr
    project.cli("reject", str(ids[2]), "--reason", "not verified")
    listed = json.loads(project.cli("list", "--state", "verified", "--json").stdout)
    assert [r["id"] for r in listed] == ids[:2]

    assert json.loads(project.cli("list", "--overdue", "--json").stdout) == []
    with project.db() as db, db.engine.begin() as conn:  # the first request's due date has passed
        conn.execute(
            sa.update(requests_t).where(requests_t.c.id == ids[0]).values(due_at=datetime(2020, 1, 31))
        )
    assert [r["id"] for r in json.loads(project.cli("list", "--overdue", "--json").stdout)] == [ids[0]]
    due = {
        r["id"]: datetime.fromisoformat(r["due_at"]) for r in json.loads(project.cli("list", "--json").stdout)
    }
    soon = (due[ids[1]] + timedelta(days=1)).date().isoformat()
    before = json.loads(project.cli("list", "--due-before", soon, "--json").stdout)
    assert [r["id"] for r in before] == ids[:2]  # the rejected one is not waiting for anything
    assert [
        r["id"] for r in json.loads(project.cli("list", "--due-before", "2021-01-01", "--json").stdout)
    ] == [ids[0]]
    assert "--due-before: 'soon' is not a date" in _one_line(
        project.cli("list", "--due-before", "soon", expect=2)
    )


def test_every_command_and_option_says_what_it_takes():
    def commands(group, path):  # through click's own API: command groups are built when named
        context = typer.Context(group)
        for name in group.list_commands(context):
            command = group.get_command(context, name)
            if hasattr(command, "commands"):
                yield from commands(command, [*path, name])
            else:
                yield [*path, name], command

    found = list(commands(typer.main.get_command(app), ["dsr"]))
    assert len(found) > 25
    missing = [
        f"{' '.join(path)} {param.opts}"
        for path, command in found
        for param in command.params
        if not (getattr(param, "help", None) or "").strip()
    ]
    missing += [" ".join(path) for path, command in found if not (command.help or "").strip()]
    assert missing == []
