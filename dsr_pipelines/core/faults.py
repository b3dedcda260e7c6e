"""Crash points, for the tests that kill a run where a machine could lose power, or hold it there.

Off unless `DSR_CRASH_AT` names a point; then the process is killed there with SIGKILL: no
cleanup, no finally, no flush, as a real crash. `DSR_PAUSE_AT=point:seconds` instead holds the
run there (the concurrency tests make two runs overlap for sure). The batch's step boundaries are
points (`claim`, `start`, `inspect`, `decide`, `apply:before_commit`, `apply:after_commit`, `finish`).
"""

from __future__ import annotations

import os
import signal
import time

CRASH_ENV = "DSR_CRASH_AT"
PAUSE_ENV = "DSR_PAUSE_AT"


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    point, _, seconds = os.environ.get(PAUSE_ENV, "").partition(":")
    if point == name:
        time.sleep(float(seconds))
