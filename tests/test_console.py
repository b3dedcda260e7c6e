"""The operator console as a person sees it: rendered by headless Chromium (Debian's package),
signed in with the link `dsr console` prints; open requests with the overdue ones first and in
red, failed ones with the reason, terminations, dead callbacks, a chart; ids and counts only."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta

import sqlalchemy as sa

from dsr_pipelines.intake.api import Dsr
from dsr_pipelines.state.schema import requests_t

from . import apiserver
from .browser import render


def test_the_console_shows_what_waits_and_what_is_late(project, tmp_path):
    project.write_config(tenants={"acme": {}, "globex": {}})
    acme = [p for p in project.people if p.tenant == "acme"]
    late, failing, fine = (project.submit(p, "erasure") for p in acme[:3])
    with project.db() as db, db.engine.begin() as conn:  # one request past its due date, one failed
        due = db.requests.get(late).received_at - timedelta(days=1)
        conn.execute(sa.update(requests_t).where(requests_t.c.id == late).values(due_at=due))
        conn.execute(
            sa.update(requests_t)
            .where(requests_t.c.id == failing)
            .values(state="failed", error="store shop: not reachable; run again to resume")
        )
    project.cli("tenant", "terminate", "globex", "--effective", "2026-01-01")
    with Dsr(project.config_path, actor="ops") as dsr:
        controller = dsr.create_api_key("acme").token
    server = apiserver.start(project.config_path, "--deliver-every", "0")
    try:
        link = project.cli("console", "--url", server.base_url).stdout.strip()
        shot = tmp_path / "console.png"
        dom = render(link, tmp_path, shot)
        with server.client(controller) as client:  # a controller's key does not open it
            refused = client.get("/console")
        with server.client(None) as client:
            forged = client.get("/console/enter", params={"ticket": link.split("ticket=")[1] + "0"})
    finally:
        server.stop()

    assert "Open requests" in dom and "Failed and stale" in dom and "Terminated tenants" in dom
    assert "<svg" in dom and "received (blue) and completed (green) a day" in dom
    rows = [r for r in dom.split("<tr") if "<td" in r]
    first = next(r for r in rows if f">{late}<" in r or f">{fine}<" in r)
    assert f">{late}<" in first and 'class="overdue"' in first  # overdue first, and red
    assert any(f">{failing}<" in r and "not reachable" in r for r in rows)
    assert any(">globex<" in r for r in rows)
    assert all(p.email not in dom and p.name not in dom for p in project.people)
    assert shot.stat().st_size > 20_000  # a page was drawn, not a blank
    assert refused.status_code == 401 and forged.status_code == 401
    if os.environ.get("DSR_SCREENSHOT"):  # the README's picture: DSR_SCREENSHOT=docs/console.png
        shutil.copyfile(shot, os.environ["DSR_SCREENSHOT"])
