"""The commands that do not run a job answer at once: they load none of the heavy libraries the
stores and the orchestration need. (How long they take is measured in bench/, not here.)"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("dagster", "pyarrow", "boto3", "presidio_analyzer", "alembic", "numpy")

# Runs one dsr command in a fresh interpreter, then prints the heavy modules it loaded.
PROBE = """
import json, sys
from dsr_pipelines.intake.cli import main
command, heavy = json.loads(sys.argv[1]), json.loads(sys.argv[2])
sys.argv = ["dsr", *command]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
loaded = sorted(name for name in heavy if name in sys.modules)
print(json.dumps({"code": code, "loaded": loaded}), file=sys.stderr)
"""


def loaded_by(*args: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    ran = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args)), json.dumps(heavy)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(ran.stderr.strip().splitlines()[-1])
    assert report["code"] in (0, None), ran.stderr
    return report["loaded"]


@pytest.mark.parametrize(
    "command",
    [
        ("--help",),
        ("status", "1"),
        ("list",),
        ("list", "--overdue"),
        ("submit", "--tenant", "acme", "--type", "access", "--identity", "email=someone@example.com"),
        ("extend", "1", "--by", "P7D", "--reason", "waiting for documents"),
        ("hold", "list"),
        ("audit", "verify"),
    ],
    ids=" ".join,
)
def test_commands_that_run_no_job_load_no_heavy_library(project, command):
    project.submit(project.people[0], "access")
    assert loaded_by("--config", str(project.config_path), *command) == []


def test_a_run_still_loads_what_it_needs(project):
    request_id = project.submit(project.people[0], "access")
    loaded = loaded_by("--config", str(project.config_path), "run", str(request_id))
    assert {"dagster", "pyarrow"} <= set(loaded)


def test_help_loads_no_service_and_no_database_library():
    # Command groups are built when named, and the vocabulary the help shows lives in core. (typer
    # itself loads pydantic's validators once it parses an option, so pydantic is not on the list.)
    service = ("sqlalchemy", "yaml", "cryptography", "dsr_pipelines.service", "dsr_pipelines.state")
    assert loaded_by("--help", heavy=service) == []
    assert loaded_by("audit", "--help", heavy=service) == []
