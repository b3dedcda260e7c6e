"""The audit ledger: verify its chain (against a checkpoint kept outside the database), read its
events, and take checkpoints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from connectors import connector_class

from ..core.durations import parse_duration
from ..core.errors import DsrError
from ..state.ledger import Checkpoint, Verdict
from .workspace import Workspace

if TYPE_CHECKING:
    from connectors import S3Connector


@dataclass(frozen=True)
class Taken:
    checkpoint: Checkpoint
    written: list[str]  # where it was written: a file, an object in a store
    locked: bool  # the stored object is locked against change and deletion


def _checkpoint_store(ws: Workspace) -> S3Connector:
    name = ws.config.settings.audit.checkpoint_store
    store = ws.connector(name)
    if not isinstance(store, connector_class("s3")):
        raise DsrError(f"audit.checkpoint_store: {name} is not an s3 store")
    return store


def checkpoint(ws: Workspace, actor: str, out: Path | None = None) -> Taken:
    """The ledger's head now, written to `out` and to the configured store (locked where the bucket
    allows), and recorded in the ledger."""
    now = ws.db.clock()
    taken = ws.db.ledger.checkpoint(now)
    written, locked = [], False
    if out is not None:
        try:
            out.write_text(taken.as_json() + "\n")
        except OSError as exc:
            raise DsrError(f"--out {out}: cannot write ({exc.strerror})") from None
        written.append(str(out))
    settings = ws.config.settings.audit
    if settings.checkpoint_store:
        key = f"{settings.checkpoint_prefix}{taken.seq:012d}-{now:%Y%m%dT%H%M%S}.json"
        until = parse_duration(settings.checkpoint_retention).add_to(now)
        locked = _checkpoint_store(ws).write_object(key, taken.as_json().encode(), until)
        written.append(f"{settings.checkpoint_store}:{key}")
    details = {"seq": taken.seq, "mac": taken.mac, "written": written, "locked": locked}
    ws.db.ledger.record(at=now, actor=actor, event="ledger_checkpoint", details=details)
    return Taken(taken, written, locked)


def stored_checkpoint(ws: Workspace) -> Checkpoint:
    """The newest checkpoint in the configured store."""
    settings = ws.config.settings.audit
    if not settings.checkpoint_store:
        raise DsrError("no audit.checkpoint_store in dsr.yaml: give a checkpoint file")
    store = _checkpoint_store(ws)
    listed = sorted(o.key for o in store.listing(settings.checkpoint_prefix))
    if not listed:
        raise DsrError(f"no checkpoint under {settings.checkpoint_prefix} in {settings.checkpoint_store}")
    return Checkpoint.parse(store.read_object(listed[-1].removeprefix(store.root)).decode())


def verify(ws: Workspace, checkpoint: Checkpoint | None = None) -> Verdict:
    return ws.db.ledger.verify(checkpoint)


def read_checkpoint(path: Path) -> Checkpoint:
    try:
        return Checkpoint.parse(path.read_text())
    except OSError as exc:
        raise DsrError(f"--checkpoint {path}: cannot read ({exc.strerror})") from None
    except (ValueError, KeyError, TypeError):
        raise DsrError(f"--checkpoint {path}: not a checkpoint (dsr audit checkpoint writes one)") from None


def events(ws: Workspace, request_id: int | None = None) -> list[dict]:
    return ws.db.ledger.events(request_id)
