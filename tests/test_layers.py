"""The package layout is the architecture: imports run one way, and the README's map is the tree.

    intake -> orchestration -> service -> domain (plan <- retain, plan <- discover) -> state -> core

Anything may use `connectors/`, which uses none of them; nothing below orchestration imports
Dagster; the entry points (intake, orchestration) reach the use cases through the service only.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dsr_pipelines"
RANK = {
    "core": 0,
    "state": 1,
    "plan": 2,
    "retain": 3,
    "discover": 3,
    "service": 4,
    "orchestration": 5,
    "definitions": 6,  # the one Definitions, built from orchestration
    "intake": 6,
    "demo": 6,  # sample data for the demo and the tests: used by intake only
}
ENTRY_POINTS = {"intake", "orchestration", "definitions"}  # reach use cases through the service


def imports(path: Path) -> list[str]:
    """Every module `path` imports, absolute (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            out += [module] if node.module else [f"{module}.{a.name}" for a in node.names]
    return out


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "dsr_pipelines" and len(parts) > 1 else None


def sources(folder: Path) -> list[Path]:
    """Modules, without Alembic's revisions (frozen history) and the package's own docstring."""
    return sorted(
        p
        for p in folder.rglob("*.py")
        if "migrations" not in p.parts and p.parent != ROOT / "dsr_pipelines" or p.stem == "definitions"
    )


@pytest.mark.parametrize("path", sources(PACKAGE), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_run_one_way(path):
    mine = layer(".".join(path.relative_to(ROOT).with_suffix("").parts))
    assert mine in RANK, f"{path.relative_to(ROOT)} is in no layer"
    for module in imports(path):
        theirs = layer(module)
        if module.split(".")[0] == "dagster":
            assert RANK[mine] >= RANK["orchestration"], f"{mine} imports Dagster"
        if theirs is None or theirs == mine:
            continue
        assert RANK[theirs] < RANK[mine] or (mine, theirs) == ("intake", "demo"), f"{mine} imports {module}"
        if mine in ENTRY_POINTS:
            assert theirs in {"service", "core", "orchestration", "demo"}, (
                f"{mine} reaches past the service: {module}"
            )


@pytest.mark.parametrize("path", sources(ROOT / "connectors"), ids=lambda p: str(p.relative_to(ROOT)))
def test_connectors_know_stores_not_requests(path):
    assert not [m for m in imports(path) if m.split(".")[0] in ("dsr_pipelines", "dagster")]


def test_the_readme_architecture_is_the_tree():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Architecture", 1)[1].split("```", 2)[1]
    named = set(re.findall(r"dsr_pipelines/([a-z_]+)/", block))
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert named == folders
    for folder in folders:  # and every module of each folder is on the map
        modules = {p.stem for p in (PACKAGE / folder).glob("*.py") if p.stem != "__init__"}
        missing = sorted(m for m in modules if not re.search(rf"\b{m}\b", block))
        assert not missing, f"dsr_pipelines/{folder}: {missing} not in the README's architecture"
