"""`python -m bench [erasure|discovery] [options]`: one benchmark, or every one in turn."""

import sys

from . import discovery, erasure

BENCHMARKS = {"erasure": erasure.main, "discovery": discovery.main}

if len(sys.argv) > 1 and sys.argv[1] in BENCHMARKS:
    BENCHMARKS[sys.argv[1]](sys.argv[2:])
else:
    for run in BENCHMARKS.values():
        run(sys.argv[1:])
