"""What the API process does beside its routes, every `every` seconds: deadline reminders queued,
due callbacks POSTed, access packages past their download period deleted. (`dsr webhooks deliver`
does the callbacks without a server.) One API process per state database delivers; a second would
send its events twice."""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager

import httpx

from ...service import requests, webhooks
from ...service.workspace import Workspace

log = logging.getLogger("dsr.http.background")
ACTOR = "api:background"


@contextmanager
def running(ws: Workspace, every: float, retry: webhooks.Retry):
    """The passes in a background thread while inside (none when `every` is 0)."""
    if every <= 0:
        yield
        return
    stop = threading.Event()

    def loop() -> None:
        with httpx.Client(timeout=10) as client:
            while not stop.wait(every):
                try:
                    webhooks.queue_deadlines(ws)
                    done = webhooks.deliver_due(ws, client, retry)
                    requests.expire_packages(ws, ACTOR)
                except Exception as exc:  # the loop outlives one bad pass; the next one retries
                    log.error("a background pass failed: %s", type(exc).__name__)
                    continue
                if done.sent or done.failed or done.dead:
                    log.info(
                        "callbacks: %d delivered, %d to retry, %d dead", done.sent, done.failed, done.dead
                    )

    thread = threading.Thread(target=loop, name="dsr-background", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every + 15)
