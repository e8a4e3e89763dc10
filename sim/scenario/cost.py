"""What a run will cost before it starts: memory and time from a scenario's size.

The formula was fitted to measured runs (peak resident memory and wall time of one run, from
150 councils x 1 lot to 8,000 councils and 4,000 councils x 10 lots, on a 2-core machine;
docs/security.md gives the measurements): a run holds about 2.5 KB per contract (councils x
service lines x lots) and a byte and a half per pair of councils (the neighbour matrix) on top
of ~200 MB of loaded libraries; it takes about 25 us per contract to build and 2.6 us per
contract per quarter to run, plus ~50 ns per pair of councils. Estimates are within 15% of
those measurements (a quarter for the smallest run's time); a slower machine takes longer,
memory does not change with speed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.scenario.schema import Scenario

__all__ = ["MAX_RUN_MEMORY_MB", "WARN_RUN_MEMORY_MB", "WARN_RUN_SECONDS", "RunCost", "run_cost"]

#: ``commsim run`` refuses a run estimated above this much memory unless ``--force``.
MAX_RUN_MEMORY_MB = 2000
#: Above either of these, ``commsim run`` prints the estimate before it starts.
WARN_RUN_MEMORY_MB = 1000
WARN_RUN_SECONDS = 60

BASE_MB = 200  # Python, NumPy, pandas, Mesa, matplotlib loaded
MB_PER_CONTRACT = 0.0025
MB_PER_COUNCIL_PAIR = 1.4e-6
SECONDS_PER_CONTRACT = 25e-6  # building the market
SECONDS_PER_CONTRACT_QUARTER = 2.6e-6
SECONDS_PER_COUNCIL_PAIR = 50e-9


@dataclass(frozen=True)
class RunCost:
    """The estimated peak memory (MB) and wall time (seconds) of one run."""

    contracts: int
    memory_mb: float
    seconds: float

    def describe(self) -> str:
        """``~2.3 GB of memory and ~3 min`` for a message."""
        memory = (
            f"{self.memory_mb / 1000:.1f} GB"
            if self.memory_mb >= 1000
            else f"{self.memory_mb:.0f} MB"
        )
        minutes = self.seconds / 60
        time = f"{minutes:.0f} min" if minutes >= 1 else f"{self.seconds:.0f} s"
        return f"{self.contracts:,} contracts: about {memory} of memory and {time}"


def run_cost(scenario: Scenario) -> RunCost:
    """The estimated cost of running ``scenario`` once (see the module's docstring)."""
    councils = scenario.network.councils
    contracts = councils * scenario.councils.service_lines * scenario.councils.lots
    pairs = councils * councils
    quarters = scenario.scenario.quarters
    memory = BASE_MB + MB_PER_CONTRACT * contracts + MB_PER_COUNCIL_PAIR * pairs
    seconds = (
        contracts * (SECONDS_PER_CONTRACT + quarters * SECONDS_PER_CONTRACT_QUARTER)
        + SECONDS_PER_COUNCIL_PAIR * pairs
    )
    return RunCost(contracts=contracts, memory_mb=memory, seconds=seconds)
