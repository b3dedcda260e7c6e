"""The Python API: a project (its dsr.yaml) and who is acting, over the service layer.

    from dsr_pipelines.intake.api import Dsr

    with Dsr("dsr.yaml", actor="ops:ann") as dsr:
        request = dsr.submit("acme", "erasure", ["email=ann@example.com"], verified=True)
        outcome = dsr.run([request.id])          # the Dagster job, here or on the deployment
        print(dsr.status(request.id).record.state)

Each method is one use case of `dsr_pipelines.service`, with this project's workspace and actor;
the `dsr` CLI is built on it. Errors a user can act on are `DsrError`s (see `core/errors.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.config import find_config_path
from ..service import requests
from ..service.workspace import Workspace

# Every use case but the requests' imports its service where it is called: pyarrow, boto3 and
# Dagster load only for the runs, sweeps, purges and discovery that need them, and a command that
# reads one request answers without loading the datamap, the ledger's verifier or the API keys.
if TYPE_CHECKING:
    from ..orchestration.launch import RunOutcome
    from ..service import audit, backups, batch, discovery, retention


class Dsr:
    def __init__(self, config_path: str | Path | None = None, actor: str = "api"):
        self.config_path = find_config_path(config_path).resolve()
        self.actor = actor
        self.ws = Workspace.open(self.config_path)

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> Dsr:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- requests -------------------------------------------------------------------------------

    def submit(self, tenant: str, type_: str, identities: Sequence[str], verified: bool = False):
        """A new request from `KIND=VALUE` identities; returns its record (id, state, due date)."""
        return requests.submit(self.ws, tenant, type_, identities, self.actor, verified)

    def submit_many(
        self, submissions: Sequence[requests.Submission], idempotency_key: str | None = None
    ) -> list:
        """Many requests in one transaction, all or none (`Submission(tenant=, type=, identities=)`);
        with `idempotency_key`, a retry returns what the first call made."""
        return requests.submit_many(self.ws, submissions, self.actor, idempotency_key)

    def submit_file(self, path: Path) -> list:
        """The requests of an NDJSON file, one a line, all or none; problems named by line."""
        return requests.submit_file(self.ws, Path(path), self.actor)

    def cancel(self, request_id: int):
        return requests.cancel(self.ws, request_id, self.actor)

    def verify(self, request_id: int) -> None:
        requests.verify(self.ws, request_id, self.actor)

    def reject(self, request_id: int, reason: str) -> None:
        requests.reject(self.ws, request_id, reason, self.actor)

    def extend(self, request_id: int, by: str, reason: str) -> datetime:
        return requests.extend(self.ws, request_id, by, reason, self.actor)

    def status(self, request_id: int) -> requests.RequestStatus:
        return requests.status(self.ws, request_id)

    def list_requests(
        self,
        state: str | None = None,
        tenant: str | None = None,
        stale: bool = False,
        overdue: bool = False,
        due_before: datetime | None = None,
    ):
        return requests.list_requests(self.ws, state, tenant, stale, overdue, due_before)

    def runnable(self, request_ids: Sequence[int] = (), pending: bool = False) -> list[int]:
        return requests.runnable(self.ws, request_ids, pending)

    def run(self, request_ids: Sequence[int], log_level: str = "WARNING", detach: bool = False) -> RunOutcome:
        """Carry the requests out through the Dagster job: in this process, or on the deployment dsr.yaml
        names (`dagster.webserver`), waiting for the run unless `detach`."""
        from ..orchestration.launch import run_requests  # Dagster loads only for commands that run a job

        self.ws.mapped_stores()  # a missing, malformed or tenant-blind datamap is refused here
        return run_requests(self.ws, self.config_path, list(request_ids), self.actor, log_level, detach)

    def override_guard(self, request_ids: Sequence[int], reason: str) -> None:
        """Let the named requests run without the over-deletion guard from now on (audited)."""
        requests.override_guard(self.ws, request_ids, reason, self.actor)

    def dry_run(self, request_ids: Sequence[int]) -> batch.DryRun:
        from ..service import batch

        return batch.dry_run(self.ws, request_ids, self.actor)

    def progress(self, request_ids: Sequence[int]) -> int:
        """How many store outcomes the requests have recorded so far (a run's progress)."""
        return requests.progress(self.ws, request_ids)

    def export(self, request_id: int, out: Path) -> dict:
        return requests.export(self.ws, request_id, out, self.actor)

    # -- retention, holds, backups, tenants -------------------------------------------------------

    def sweep(self, as_of=None, rule=None, dry_run=False, run_key=None) -> retention.SweepReport:
        from ..service import retention

        return retention.sweep(self.ws, self.actor, as_of, rule, dry_run, run_key)

    def sweep_history(self, limit: int = 20, include_dry_runs: bool = False) -> list[dict]:
        from ..service import retention

        return retention.history(self.ws, limit, include_dry_runs)

    def rule_problems(self) -> list[str]:
        from ..service import retention

        return retention.rule_problems(self.ws)

    def rule_dependents(self) -> list[str]:
        from ..service import retention

        return retention.rule_dependents(self.ws)

    def bucket_lifecycle(self, apply: bool = False):
        from ..service import retention

        return retention.bucket_lifecycle(self.ws, apply)

    def add_hold(self, tenant, reason, identity=None, store=None, collection=None, until=None) -> int:
        from ..service import holds

        return holds.add(self.ws, tenant, reason, self.actor, identity, store, collection, until)

    def release_hold(self, hold_id: int):
        from ..service import holds

        return holds.release(self.ws, hold_id, self.actor)

    def holds(self, tenant: str | None = None):
        from ..service import holds

        return holds.list_holds(self.ws, tenant)

    def scan_backups(self, as_of: datetime | None = None):
        from ..service import backups

        return backups.scan(self.ws, self.actor, as_of)

    def backup_status(self) -> backups.BackupStatus:
        from ..service import backups

        return backups.status(self.ws)

    def replay(self, store: str) -> dict[str, int]:
        from ..service import backups

        return backups.replay(self.ws, store, self.actor)

    def terminate(self, tenant: str, effective: datetime, grace: str | None = None):
        from ..service import tenants

        return tenants.terminate(self.ws, tenant, effective, grace, self.actor)

    def purge(self, tenant: str, dry_run: bool = False):
        from ..service import tenants

        return tenants.purge(self.ws, tenant, self.actor, dry_run)

    def expire_archives(self, as_of: datetime | None = None) -> int:
        from ..service import tenants

        return tenants.expire(self.ws, self.actor, as_of)

    # -- API keys for the controllers' HTTP API ---------------------------------------------------

    def create_api_key(self, tenant: str | None, scopes: str | None = None, expires: str | None = None):
        """A key for `tenant` (None: the operator's); its token is in the result, and nowhere else."""
        from ..service import apikeys

        return apikeys.create(self.ws, tenant, scopes, expires, self.actor)

    def rotate_api_key(self, key_id: str, overlap: str | None = None):
        from ..service import apikeys

        return apikeys.rotate(self.ws, key_id, overlap, self.actor)

    def revoke_api_key(self, key_id: str) -> None:
        from ..service import apikeys

        apikeys.revoke(self.ws, key_id, self.actor)

    def api_keys(self, tenant: str | None = None):
        from ..service import apikeys

        return apikeys.list_keys(self.ws, tenant)

    def add_webhook(self, tenant: str, url: str):
        """A callback endpoint for `tenant`; its signing secret is in the result, and nowhere else."""
        from ..service import webhooks

        return webhooks.add(self.ws, tenant, url, self.actor)

    def deliver_callbacks(self):
        """One pass: deadline reminders queued, every callback that is due POSTed."""
        import httpx

        from ..service import webhooks

        webhooks.queue_deadlines(self.ws)
        with httpx.Client(timeout=10) as client:
            return webhooks.deliver_due(self.ws, client)

    def dead_letters(self):
        from ..service import webhooks

        return webhooks.dead_letters(self.ws)

    def replay_callback(self, event_id: int):
        from ..service import webhooks

        return webhooks.replay(self.ws, event_id, self.actor)

    # -- the datamap, discovery, the ledger, the database -----------------------------------------

    def check_datamap(self):
        from ..service import datamap

        return datamap.check(self.ws)

    def init_datamap(self, store: str, force: bool = False):
        from ..service import datamap

        return datamap.init(self.ws, store, force)

    def discover(self, stores: Sequence[str] = (), sample_rows: int | None = None) -> discovery.Discovery:
        from ..service import discovery

        return discovery.discover(self.ws, self.actor, stores, sample_rows)

    def save_proposal(self, proposal, apply: bool, out: Path | None = None) -> Path:
        from ..service import discovery

        return discovery.save_proposal(self.ws, proposal, apply, out)

    def discovery_report(self, result: discovery.Discovery, path: Path) -> Path:
        from ..service import discovery

        return discovery.write_report(result, path)

    def discovery_changes(self, store: str | None = None):
        from ..service import discovery

        return discovery.latest_changes(self.ws, store)

    def verify_ledger(self, checkpoint=None):
        from ..service import audit

        return audit.verify(self.ws, checkpoint)

    def checkpoint(self, out: Path | None = None) -> audit.Taken:
        from ..service import audit

        return audit.checkpoint(self.ws, self.actor, out)

    def stored_checkpoint(self):
        from ..service import audit

        return audit.stored_checkpoint(self.ws)

    def ledger_events(self, request_id: int | None = None) -> list[dict]:
        from ..service import audit

        return audit.events(self.ws, request_id)

    def rotate_keys(self, new_master):
        """Move the state database, staged packages (and archives, with DSR_NEW_ARCHIVE_KEY) to new keys."""
        from ..service import keys

        return keys.rotate(self.ws, new_master, self.actor)

    def upgrade_database(self):
        from ..service import database

        return database.upgrade(self.ws, self.actor)
