"""Group commit for submissions: calls that arrive together are stored in one transaction.

Each submission alone costs a commit (an fsync on SQLite), a ledger append and a handful of
statements; concurrent callers would queue on the database's write lock one by one. Here the route
handlers hand their call to one writer thread and wait; the writer takes every call queued at that
moment (up to `MAX_CALLS`) and stores them with `service.requests.submit_calls`, one transaction
for all, each call still all or nothing on its own. A lone call waits for nothing.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future

from ...core.errors import DsrError
from ...service import requests as service
from ...service.requests import Call
from ...service.workspace import Workspace

MAX_CALLS = 256
log = logging.getLogger("dsr.http.batching")


class Submitter:
    def __init__(self, ws: Workspace):
        self.ws = ws
        self._queue: queue.Queue[tuple[Call, Future] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="dsr-submitter", daemon=True)
        self._thread.start()

    def submit(self, call: Call) -> Future:
        """Store `call` with whatever else is waiting; the future of its requests (or its error)."""
        done: Future = Future()
        self._queue.put((call, done))
        return done

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            waiting = [first]
            while len(waiting) < MAX_CALLS:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this batch
                    break
                waiting.append(item)
            self._store(waiting)

    def _store(self, waiting: list[tuple[Call, Future]]) -> None:
        try:
            outcomes = service.submit_calls(self.ws, [call for call, _ in waiting])
        except Exception as exc:  # the whole batch failed (the database went away): every caller hears
            log.error("a batch of %d submissions failed: %s", len(waiting), type(exc).__name__)
            for _, done in waiting:
                done.set_exception(exc)
            return
        for (_, done), outcome in zip(waiting, outcomes, strict=True):
            if isinstance(outcome, DsrError):
                done.set_exception(outcome)
            else:
                done.set_result(outcome)
