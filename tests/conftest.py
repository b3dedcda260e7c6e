"""Fixtures: a clean database per test on SQLite, PostgreSQL or MariaDB, a clean S3 bucket on a
real SeaweedFS server, a dsr project around them, and one Dagster instance for the whole session.

PostgreSQL and MariaDB are the machine's services (127.0.0.1); SeaweedFS is started once per run
(tests/s3server.py). Locally a missing service skips its tests; under CI=true it fails them, so
a green CI run means every backend was exercised.

Projects use SQLite unless a test asks for the three databases, where the dialect matters:

    @pytest.mark.parametrize("project", BACKENDS, indirect=True)   # or "stores"
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow.dataset as ds
import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from dsr_pipelines.core.config import load_config
from dsr_pipelines.demo import files as shopfiles
from dsr_pipelines.demo import shop
from dsr_pipelines.intake.cli import app
from dsr_pipelines.state.db import StateDB

from . import s3server

IN_CI = os.environ.get("CI") == "true"
PG_ADMIN = os.environ.get("DSR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIA_ADMIN = os.environ.get("DSR_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")
BACKENDS = ["sqlite", "postgresql", "mariadb"]


def unavailable(what: str, exc: Exception):
    """A service the tests need is not there: skipped locally, a failure under CI=true."""
    message = f"{what} is not reachable ({exc.__class__.__name__})"
    if IN_CI:
        pytest.fail(message + "; under CI=true every backend must run")
    pytest.skip(message)


def _admin_engine(url: str, what: str) -> sa.Engine:
    # pre-ping: a test may restart the server under a pooled connection
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        unavailable(what, exc)
    return engine


def fresh_database(backend: str, tmp_path: Path):
    """A generator yielding the URL of an empty schema or database, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / (name + '.db')}"
    elif backend == "postgresql":
        admin = _admin_engine(PG_ADMIN, "PostgreSQL")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
        try:
            yield f"{PG_ADMIN}?options=-csearch_path%3D{name}"
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
            admin.dispose()
    else:
        admin = _admin_engine(MARIA_ADMIN, "MariaDB")
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE `{name}`"))
        try:
            yield MARIA_ADMIN.rsplit("/", 1)[0] + f"/{name}"
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f"DROP DATABASE `{name}`"))
            admin.dispose()


def files_containing(folder: Path, needles: list[str]) -> list[str]:
    """`file: needle` for every file under `folder` whose bytes contain a needle."""
    hits = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits += [f"{path.relative_to(folder)}: {n}" for n in needles if n.encode() in data]
    return hits


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    yield from fresh_database(request.param, tmp_path)


@pytest.fixture
def sqlite_url(tmp_path):
    yield from fresh_database("sqlite", tmp_path)


@pytest.fixture
def pg_url(tmp_path):
    yield from fresh_database("postgresql", tmp_path)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    try:
        weed, server = s3server.start(tmp_path_factory.mktemp("weed"))
    except (OSError, RuntimeError, TimeoutError) as exc:
        unavailable("SeaweedFS (S3)", exc)
    yield server
    s3server.stop(weed)


@pytest.fixture
def bucket(s3_server) -> str:
    return s3_server.new_bucket()


@pytest.fixture(scope="session")
def dagster_home(tmp_path_factory) -> Path:
    """One Dagster instance for the session (every CLI run and job execution uses it)."""
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return home


@pytest.fixture(autouse=True)
def master_key(monkeypatch, dagster_home):
    key = base64.b64encode(b"k" * 32).decode()
    monkeypatch.setenv("DSR_MASTER_KEY", key)
    monkeypatch.delenv("DSR_CONFIG", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    # Dummy AWS credentials and no instance metadata: nothing may reach a real cloud.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "dummy-not-used")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "dummy-not-used")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return key


@dataclass
class Project:
    """A dsr project in a temporary folder: config, datamap, a shop store and a CLI to drive it."""

    root: Path
    shop_url: str
    people: list[shop.Person]

    @property
    def config_path(self) -> Path:
        return self.root / "dsr.yaml"

    def write_config(self, **overrides) -> None:
        settings = {
            "request_store": "sqlite:///state.db",
            "datamap": "datamap.yaml",
            "export_dir": "exports",
            "guard": {"max_share": 0.5, "min_rows": 10},
            "stores": [{"name": "shop", "kind": "sql", "url": self.shop_url}],
        }
        settings.update(overrides)
        self.config_path.write_text(yaml.safe_dump(settings))

    def write_datamap(self, stores: dict) -> None:
        (self.root / "datamap.yaml").write_text(yaml.safe_dump({"version": 1, "stores": stores}))

    def cli(self, *args: str, expect: int | None = 0):
        result = CliRunner().invoke(app, ["--config", str(self.config_path), "--actor", "tester", *args])
        if expect is not None:
            assert result.exit_code == expect, (
                result.exit_code,
                result.stdout,
                result.stderr,
                result.exception,
            )
        return result

    def submit(
        self, person: shop.Person, type_: str = "erasure", *extra: str, tenant: str | None = None
    ) -> int:
        result = self.cli(
            "submit",
            "--tenant",
            tenant or person.tenant,
            "--type",
            type_,
            "--identity",
            f"email={person.email}",
            "--verified",
            *extra,
        )
        return int(result.stdout.strip())

    def db(self) -> StateDB:
        config = load_config(self.config_path)
        return StateDB(config.request_store_url, config.master_key())

    def engine(self) -> sa.Engine:
        return sa.create_engine(self.shop_url)

    def snapshot(self) -> dict[str, list[tuple]]:
        """Every row of every shop table, sorted: to prove what changed and what did not."""
        engine = self.engine()
        with engine.connect() as conn:
            out = {
                t.name: sorted(tuple(r) for r in conn.execute(sa.select(t)))
                for t in shop.metadata.sorted_tables
            }
        engine.dispose()
        return out


def killed_run(project: Project, ids: list[int], point: str, home: Path) -> None:
    """`dsr run` of these requests in a process of its own, SIGKILLed at a crash point
    (core/faults.py), its Dagster instance under `home`: no cleanup, as a machine losing power."""
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "DSR_CRASH_AT": point}
    dsr = Path(sys.executable).parent / "dsr"
    killed = subprocess.run(
        [str(dsr), "--config", str(project.config_path), "--actor", "operator", "run", *map(str, ids)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -9, killed.stderr[-2000:]  # SIGKILL: no cleanup ran


def make_project(root: Path, shop_url: str, n: int = 20) -> Project:
    persons = shop.people(n, tenants=("acme", "globex"))
    engine = sa.create_engine(shop_url)
    shop.create(engine, persons)
    engine.dispose()
    project = Project(root, shop_url, persons)
    project.write_config()
    project.write_datamap({"shop": shop.DATAMAP})
    return project


def _backend(request) -> str:
    """The database a fixture was asked for (`indirect` parametrization), SQLite by default."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def project(request, tmp_path) -> Project:
    for url in fresh_database(_backend(request), tmp_path):
        yield make_project(tmp_path, url)


@dataclass
class Stores:
    """A shop, its event lake and its file bucket, and the project configured for all three."""

    project: Project
    lake: Path
    bucket: str
    client: object

    def events(self) -> list[dict]:
        table = ds.dataset(self.lake / "events", partitioning="hive").to_table()
        return sorted(table.drop_columns(["day"]).to_pylist(), key=lambda r: r["event_id"])

    def objects(self) -> dict[str, bytes]:
        listing = self.client.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        return {
            o["Key"]: self.client.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read() for o in listing
        }

    def status(self, request_id: int) -> dict:
        return json.loads(self.project.cli("status", str(request_id), "--json").stdout)

    def split(self, chunks, **settings) -> None:
        """The lake and the bucket split into `chunks` (dsr.yaml), with other settings changed too."""
        data = yaml.safe_load(self.project.config_path.read_text())
        for store in data["stores"]:
            if store["kind"] in ("parquet", "s3"):
                store["chunks"] = chunks
        data.update(settings)
        self.project.config_path.write_text(yaml.safe_dump(data))

    def without(self, person: shop.Person, events: list[dict]) -> list[dict]:
        """`events` less the person's: what erasing them from the lake must leave."""
        return [e for e in events if e["user_id"] != person.customer_id and e.get("email") != person.email]


@pytest.fixture
def stores(request, tmp_path, s3_server, bucket, monkeypatch) -> Stores:
    """The shop (SQLite unless parametrized), its lake and its bucket, one project over all three."""
    for url in fresh_database(_backend(request), tmp_path):
        yield make_stores(tmp_path, url, s3_server, bucket, monkeypatch)


def make_stores(tmp_path: Path, shop_url: str, s3_server, bucket: str, monkeypatch) -> Stores:
    """A project whose shop, Parquet lake and S3 bucket hold the same people, linked by customer id."""
    project = make_project(tmp_path, shop_url)
    shopfiles.write_lake(tmp_path / "lake", project.people)
    client = s3_server.client()
    shopfiles.upload(client, bucket, project.people)
    monkeypatch.setenv("FILES_ACCESS_KEY", s3_server.access_key)
    monkeypatch.setenv("FILES_SECRET_KEY", s3_server.secret_key)
    project.write_config(
        stores=[
            {"name": "shop", "kind": "sql", "url": project.shop_url},
            {"name": "lake", "kind": "parquet", "url": "lake"},
            {
                "name": "files",
                "kind": "s3",
                "url": f"s3://{bucket}",
                "endpoint_url": s3_server.endpoint,
                "access_key_env": "FILES_ACCESS_KEY",
                "secret_key_env": "FILES_SECRET_KEY",
            },
        ]
    )
    project.write_datamap(
        {"shop": shop.DATAMAP, "lake": shopfiles.LAKE_DATAMAP, "files": shopfiles.FILES_DATAMAP}
    )
    return Stores(project, tmp_path / "lake", bucket, client)
