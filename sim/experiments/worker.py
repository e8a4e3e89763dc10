"""What a sweep's worker processes load before their first run (the pool's forkserver and a
local Dask cluster's workers import this module once).

It imports the model's engine and runs one small model, which also loads any compiled
kernels the run uses from numba's cache. Pool workers are forked from the server that
imported this, so each starts with all of it in memory (shared with the server) instead of
importing and loading it again before its first run.
"""

from __future__ import annotations

from contextlib import suppress

from sim.experiments.experiment import simulate

#: The warm-up run: small, so the server starts in well under a second once the kernels are
#: cached, yet long enough to pass through tendering, delivery and failures.
WARM_UP = {"network": {"councils": 20}, "scenario": {"quarters": 12}}

# only a head start: a model that cannot run fails in each run instead, and is recorded there
with suppress(Exception):
    simulate(WARM_UP, 0)
