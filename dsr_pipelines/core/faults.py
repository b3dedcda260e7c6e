"""Crash points, for the tests that kill a run where a machine could lose power.

Off unless `DSR_CRASH_AT` names a point; then the process is killed there with SIGKILL: no
cleanup, no finally, no flush, as a real crash. The batch's step boundaries are points
(`start`, `inspect`, `decide`, `apply:before_commit`, `apply:after_commit`, `finish`).
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "DSR_CRASH_AT"


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
