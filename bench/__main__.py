"""`python -m bench [NAME] [options]`: the benchmark NAME (a key of BENCHMARKS), or every one in turn
(but the soak, which runs for many minutes: `python -m bench soak`)."""

import sys

from . import (
    access,
    api,
    discovery,
    erasure,
    intake,
    lake,
    lake_erasure,
    objects,
    objects_erasure,
    scaling,
    soak,
    sweep,
    workers,
)

BENCHMARKS = {
    "erasure": erasure.main,
    "access": access.main,
    "scaling": scaling.main,
    "discovery": discovery.main,
    "lake": lake.main,
    "lake-erasure": lake_erasure.main,
    "objects": objects.main,
    "objects-erasure": objects_erasure.main,
    "sweep": sweep.main,
    "intake": intake.main,
    "api": api.main,
    "workers": workers.main,
    "soak": soak.main,
}
ON_DEMAND = ("soak",)

if len(sys.argv) > 1 and sys.argv[1] in BENCHMARKS:
    BENCHMARKS[sys.argv[1]](sys.argv[2:])
else:
    for name, run in BENCHMARKS.items():
        if name not in ON_DEMAND:
            run(sys.argv[1:])
