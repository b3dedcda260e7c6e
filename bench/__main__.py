"""`python -m bench [erasure|discovery|lake|objects|sweep|intake] [options]`: one benchmark, or all."""

import sys

from . import discovery, erasure, intake, lake, objects, sweep

BENCHMARKS = {
    "erasure": erasure.main,
    "discovery": discovery.main,
    "lake": lake.main,
    "objects": objects.main,
    "sweep": sweep.main,
    "intake": intake.main,
}

if len(sys.argv) > 1 and sys.argv[1] in BENCHMARKS:
    BENCHMARKS[sys.argv[1]](sys.argv[2:])
else:
    for run in BENCHMARKS.values():
        run(sys.argv[1:])
