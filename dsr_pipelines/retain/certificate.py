"""A purge's certificate, as JSON and Markdown under `.dsr/certificates`: what was removed where,
what was archived, why and until when, what could not be separated, and which backups still hold
the data (rewritten as they age out)."""

from __future__ import annotations

import json
from dataclasses import asdict

from ..core.config import Config
from ..state.db import StateDB
from ..state.terminations import Termination
from .purge import PurgeReport


def write_certificate(config: Config, db: StateDB, report: PurgeReport, termination: Termination) -> dict:
    """The purge's certificate, as JSON and Markdown under .dsr/certificates."""
    data = {
        "tenant": report.tenant,
        "effective": termination.effective_at.isoformat(),
        "purged_at": db.clock().isoformat(),
        "complete": report.complete,
        "collections": [asdict(t) for t in report.targets],
        "backups": db.backups.state_of(f"tenant:{report.tenant}"),
    }
    _save(config, data)
    return data


def refresh_certificate(config: Config, db: StateDB, tenant: str) -> bool:
    """Rewrite a certificate's backups section (as backups age out); False when there is none yet."""
    data = read_certificate(config, tenant)
    if data is None:
        return False
    data["backups"] = db.backups.state_of(f"tenant:{tenant}")
    _save(config, data)
    return True


def read_certificate(config: Config, tenant: str) -> dict | None:
    """A tenant's purge certificate as last written; None before its purge."""
    path = config.path(".dsr/certificates") / f"tenant-{tenant}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _save(config: Config, data: dict) -> None:
    folder = config.path(".dsr/certificates")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"tenant-{data['tenant']}.json").write_text(json.dumps(data, indent=2))
    (folder / f"tenant-{data['tenant']}.md").write_text(_markdown(data))


def _markdown(data: dict) -> str:
    done = (
        "every active store is clear of the tenant." if data["complete"] else "**not complete**: run again."
    )
    lines = [
        f"# Termination purge: tenant {data['tenant']}",
        "",
        f"Contract ended {data['effective'][:10]}; purged {data['purged_at'][:10]}; {done}",
        "",
        "| store | collection | what happened | records | left | why |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for t in data["collections"]:
        if t["action"] == "archive":
            what, why = (
                f"archived (encrypted) until {t['archived_until'][:10]}",
                f"{t['rule']}: {t['legal_basis']}",
            )
        elif t["action"] == "held":
            what, why = "kept", "legal hold " + ", ".join(map(str, t["held_by"]))
        elif t["action"] == "delete":
            what, why = "deleted", f"{t['kept']} kept for legal hold {t['held_by']}" if t["kept"] else ""
        else:
            what, why = "not separable by tenant", "no tenant field in the datamap"
        left = "" if t["residual"] is None else t["residual"]
        lines.append(
            f"| {t['store']} | {t['collection']} | {what} | {t['records']} | {left} | {t['error'] or why} |"
        )
    lines += ["", "## Backups still holding the data", ""]
    backups = data["backups"]
    if backups:
        lines.append(f"State: {backups['state']}.")
        lines += [
            f"- {b['store']}: {b['name']} (taken {b['taken_at'][:10]}, due by {b['due_by'][:10]}): "
            + (f"gone {b['gone_at'][:10]}" if b["gone_at"] else "still present")
            for b in backups["backups"]
        ]
    else:
        lines.append("No declared backup was taken before the purge.")
    return "\n".join(lines) + "\n"
