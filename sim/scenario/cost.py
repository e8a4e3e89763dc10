"""What a run, or a command's many runs, will cost before they start: memory and time.

One estimate for every command (``commsim run``, ``compare``, ``sweep``, ``validate``) and
the dashboard: :func:`run_cost` for one run of a scenario, :func:`command_cost` for many runs
on some workers, and :func:`check_cost`, which prints a big estimate and refuses one that
does not fit in this machine's available memory.

The formula was fitted to measured runs of ``commsim run`` on the compiled kernels (peak
resident memory, and CPU seconds, of 13 runs from 2,000 councils x 10 lots to 10,000
councils x 20 lots, 10 to 400 quarters, 4 and 10 service lines; docs/security.md gives the
table): a run holds about 280 MB of loaded libraries and compiled kernels, 0.34 KB per
contract (councils x service lines x lots) and 0.19 bytes per pair of councils (the
neighbour matrix); it takes about 1.8 s to start (libraries, the report), 0.19 us per
contract per quarter and 7.7 ns per pair of councils. Fitted on 8 of the runs, the estimate
was within 6% of the other 5 in memory and within 20% in time; a slower or busier machine
takes longer, memory does not change with speed.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from sim.inputs import InputError
from sim.scenario.schema import Scenario

__all__ = [
    "MAX_RUN_MEMORY_MB",
    "SIZE_FIELDS",
    "WARN_RUN_MEMORY_MB",
    "WARN_RUN_SECONDS",
    "RunCost",
    "available_memory_mb",
    "check_cost",
    "command_cost",
    "cost_of_size",
    "run_cost",
]

#: The ceiling before this machine's available memory is known (and where it cannot be
#: read): a run estimated above it is refused unless forced. :func:`check_cost` uses the
#: memory available now instead.
MAX_RUN_MEMORY_MB = 2000
#: Above either of these, a command prints the estimate before it starts.
WARN_RUN_MEMORY_MB = 1000
WARN_RUN_SECONDS = 60

BASE_MB = 280  # Python, NumPy, numba and the compiled kernels, pandas, matplotlib loaded
MB_PER_CONTRACT = 0.00034
MB_PER_COUNCIL_PAIR = 1.9e-7
STARTUP_SECONDS = 1.8  # libraries loaded, the report written
SECONDS_PER_CONTRACT_QUARTER = 0.19e-6
SECONDS_PER_COUNCIL_PAIR = 7.7e-9
# The NumPy reference path, which small runs take (``commsim run`` switches to the compiled
# kernels above a second of it): 25 us per contract to build, 2.6 us per contract-quarter.
REFERENCE_SECONDS_PER_CONTRACT = 25e-6
REFERENCE_SECONDS_PER_CONTRACT_QUARTER = 2.6e-6
REFERENCE_SECONDS_PER_COUNCIL_PAIR = 50e-9


@dataclass(frozen=True)
class RunCost:
    """The estimated cost of one run, or of a command's runs (:func:`command_cost`).

    Attributes:
        contracts: contracts of one run (councils x service lines x lots).
        memory_mb: peak resident memory of the process(es), MB.
        compiled_seconds: wall time on an idle machine, start-up included, seconds.
        seconds: one run's time on the NumPy reference path, seconds (``commsim run``
            takes the compiled kernels above a second of it).
        runs: how many runs.
    """

    contracts: int
    memory_mb: float
    seconds: float
    compiled_seconds: float = 0.0
    runs: int = 1

    def describe(self) -> str:
        """``800,000 contracts: about 570 MB of memory and 9 s`` for a message."""
        memory = (
            f"{self.memory_mb / 1000:.1f} GB"
            if self.memory_mb >= 1000
            else f"{self.memory_mb:.0f} MB"
        )
        minutes = self.compiled_seconds / 60
        time = f"{minutes:.0f} min" if minutes >= 1 else f"{self.compiled_seconds:.0f} s"
        runs = f"{self.runs:,} runs of " if self.runs > 1 else ""
        return f"{runs}{self.contracts:,} contracts: about {memory} of memory and {time}"


def run_cost(scenario: Scenario) -> RunCost:
    """The estimated cost of running ``scenario`` once (see the module's docstring)."""
    return cost_of_size(
        scenario.network.councils,
        scenario.councils.service_lines,
        scenario.councils.lots,
        scenario.scenario.quarters,
    )


def cost_of_size(councils: int, service_lines: int, lots: int, quarters: int) -> RunCost:
    """The estimated cost of one run of this size (what :func:`run_cost` reads off a
    scenario; an experiment's design points give it without building each scenario)."""
    contracts = councils * service_lines * lots
    pairs = councils * councils
    memory = BASE_MB + MB_PER_CONTRACT * contracts + MB_PER_COUNCIL_PAIR * pairs
    compiled = (
        STARTUP_SECONDS
        + SECONDS_PER_CONTRACT_QUARTER * contracts * quarters
        + SECONDS_PER_COUNCIL_PAIR * pairs
    )
    reference = (
        contracts
        * (REFERENCE_SECONDS_PER_CONTRACT + quarters * REFERENCE_SECONDS_PER_CONTRACT_QUARTER)
        + REFERENCE_SECONDS_PER_COUNCIL_PAIR * pairs
    )
    return RunCost(
        contracts=contracts, memory_mb=memory, seconds=reference, compiled_seconds=compiled
    )


#: The scenario fields a run's size comes from, in :func:`cost_of_size`'s order.
SIZE_FIELDS = ("network.councils", "councils.service_lines", "councils.lots", "scenario.quarters")


def command_cost(run: RunCost, runs: int, workers: int) -> RunCost:
    """The cost of ``runs`` runs like ``run`` on ``workers`` processes at once: each worker
    holds one run (and the loaded libraries); the runs share out the time."""
    busy = max(1, min(workers, runs))
    memory = run.memory_mb * busy + (BASE_MB if busy > 1 else 0)  # + the coordinating process
    per_run = run.compiled_seconds - STARTUP_SECONDS
    seconds = STARTUP_SECONDS + per_run * runs / busy
    return RunCost(
        contracts=run.contracts,
        memory_mb=memory,
        seconds=run.seconds,
        compiled_seconds=seconds,
        runs=runs,
    )


def available_memory_mb() -> float:
    """Memory this machine can give a new process now (MB): ``MemAvailable`` on Linux, else
    the free physical memory, else :data:`MAX_RUN_MEMORY_MB` when neither can be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 / 1e6
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (ValueError, OSError, AttributeError):
        return float(MAX_RUN_MEMORY_MB)


def check_cost(cost: RunCost, *, force: bool = False, what: str = "the run") -> None:
    """Print ``cost`` to stderr when it is big; refuse it when it does not fit.

    Args:
        cost: from :func:`run_cost` or :func:`command_cost`.
        force: run anyway when it does not fit (``--force``).
        what: what is estimated, first on the line (a scenario's name, a file).

    Raises:
        InputError: the estimated memory is above what this machine has available.
    """
    ceiling = available_memory_mb()
    if cost.memory_mb > ceiling and not force:
        raise InputError(
            f"{what}: {cost.describe()}; this machine has {ceiling / 1000:.1f} GB available: "
            "--force runs it anyway (docs/security.md)"
        )
    if cost.memory_mb > WARN_RUN_MEMORY_MB or cost.compiled_seconds > WARN_RUN_SECONDS:
        print(f"estimate: {cost.describe()}", file=sys.stderr, flush=True)
