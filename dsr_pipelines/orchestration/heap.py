"""Keep the cyclic garbage collector out of a run's way.

Dagster, pyarrow, SQLAlchemy and Presidio leave a few hundred thousand objects that live as long as
the process, and a batch allocates millions of short-lived ones (rows, events, parameters) that
reference counting frees. With the default thresholds, the collector ran 500 times during a batch
of 1,000 erasures and walked the imports' objects in full once: 0.30 s of a 2.1 s run (measured
with `gc.callbacks` around `python -m bench erasure`'s batched run); frozen and with a larger first
generation, 0.05 s. The API process (`dsr serve`) does the same at start: a full collection there
stalls every call in flight.
"""

from __future__ import annotations

import gc
from functools import cache


@cache
def freeze_imports() -> None:
    """Once a process, after the imports: they move to a permanent generation that the collector
    no longer walks (reference counting still frees them), and it runs a fourteenth as often."""
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
