"""A production-shaped Dagster deployment for the tests: deploy/'s instance on a scratch PostgreSQL
schema, a code server, the daemon and the webserver, each its own process on free loopback ports,
their output kept in files (to read when one fails, and to search for what must not be logged).

Run monitoring polls every second here (30 s in deploy/), and fails a run after `max_runtime`
seconds (6 hours in deploy/): the tests wait for what it does.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import dagster as dg
import httpx
import yaml

from .apiserver import free_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
READY_WITHIN = 90.0


@dataclass
class Deployment:
    home: Path
    webserver: str
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @contextmanager
    def instance(self) -> Iterator[dg.DagsterInstance]:
        """The deployment's instance, opened in this process (its storage URL from the environment)."""
        storage = {"DAGSTER_PG_URL": self.env["DAGSTER_PG_URL"]}
        with mock.patch.dict(os.environ, storage), dg.DagsterInstance.from_config(str(self.home)) as instance:
            yield instance

    def logged(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.home.glob("*.log")))

    def dagster(self, *args: str) -> str:
        """The `dagster` CLI against this deployment, as an operator types it."""
        done = subprocess.run(
            [str(BIN / "dagster"), *args, "-w", str(self.home / "workspace.yaml")],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def stop(self) -> None:
        for process in self.processes.values():
            process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def process_children() -> dict[int, list[int]]:
    """Every process's children, from /proc: to find a run's worker tree, or a server's own processes."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    return children


def _start(deployment: Deployment, name: str, command: list[str]) -> None:
    log = (deployment.home / f"{name}.log").open("wb")
    deployment.processes[name] = subprocess.Popen(
        command, env=deployment.env, stdout=log, stderr=subprocess.STDOUT, cwd=deployment.home
    )


def _wait_ready(deployment: Deployment) -> None:
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline:
        for name, process in deployment.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}: {deployment.logged()[-3000:]}")
        try:
            answer = httpx.post(
                f"{deployment.webserver}/graphql",
                json={
                    "query": "{ workspaceOrError { ... on Workspace { locationEntries { "
                    "locationOrLoadError { __typename } } } } }"
                },
                timeout=5,
            )
            if '"RepositoryLocation"' in answer.text:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the deployment was not ready within {READY_WITHIN} s: {deployment.logged()[-3000:]}")


def start(
    home: Path, pg_url: str, config_path: Path, env: dict[str, str] | None = None, max_runtime: int = 600
) -> Deployment:
    """deploy/ copied to `home`, its storage on `pg_url`; dsr's definitions read `config_path`."""
    shutil.copytree(ROOT / "deploy", home)
    instance_yaml = yaml.safe_load((home / "dagster.yaml").read_text())
    instance_yaml["run_monitoring"] |= {"poll_interval_seconds": 1, "max_runtime_seconds": max_runtime}
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_yaml))
    grpc, web = free_port(), free_port()
    workspace = yaml.safe_load((home / "workspace.yaml").read_text())
    workspace["load_from"][0]["grpc_server"]["port"] = grpc
    (home / "workspace.yaml").write_text(yaml.safe_dump(workspace))
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DSR_CONFIG": str(config_path),
        # dagster-postgres connects with psycopg2: the same database and schema, its driver's URL.
        "DAGSTER_PG_URL": pg_url.replace("postgresql+psycopg://", "postgresql+psycopg2://"),
        **(env or {}),
    }
    deployment = Deployment(home, f"http://127.0.0.1:{web}", env)
    try:
        code_server = [str(BIN / "dagster"), "code-server", "start", "-m", "dsr_pipelines.definitions"]
        _start(deployment, "code-server", [*code_server, "-a", "defs", "-h", "127.0.0.1", "-p", str(grpc)])
        workspace_file = str(home / "workspace.yaml")
        _start(deployment, "daemon", [str(BIN / "dagster-daemon"), "run", "-w", workspace_file])
        webserver = [str(BIN / "dagster-webserver"), "-w", workspace_file, "-h", "127.0.0.1", "-p", str(web)]
        _start(deployment, "webserver", webserver)
        _wait_ready(deployment)
    except BaseException:
        deployment.stop()
        raise
    return deployment
