"""Model speed: the baseline scenario at 1x, 4x and 16x councils, and with a collapse and contagion.

Model time only (construction + run, no interpreter start-up or file writing); median of 5.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from sim import CommissioningModel, Scenario, load_scenario

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"
REPEATS = 5


def time_run(scenario, repeats: int = REPEATS) -> float:
    """Median wall time in seconds of building and running the model."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        CommissioningModel(scenario, rng=scenario.scenario.seed).run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Print the scaling table and the cost of shocks."""
    print(f"{'case':<44}{'councils':>9}{'median s':>10}{'ratio':>8}")
    base = None
    for factor in (1, 4, 16):
        scenario = load_scenario(BASELINE, {"network.councils": 150 * factor})
        t = time_run(scenario)
        base = base or t
        print(f"{'baseline x' + str(factor):<44}{150 * factor:>9}{t:>10.3f}{t / base:>8.2f}")
    plain = load_scenario(BASELINE, {"outsourcers.subcontract_share": 0.0})
    data = load_scenario(BASELINE, {"outsourcers.subcontract_share": 0.2}).model_dump()
    data["shocks"] = [{"kind": "provider_collapse", "quarter": 40, "target": "largest_outsourcer"}]
    shocked = Scenario.model_validate(data)
    # Interleave the two so that machine noise hits both alike.
    a, b = [], []
    for _ in range(REPEATS):
        a.append(time_run(plain, 1))
        b.append(time_run(shocked, 1))
    ta, tb = statistics.median(a), statistics.median(b)
    print(f"{'baseline, no shock':<44}{150:>9}{ta:>10.3f}{1.0:>8.2f}")
    print(f"{'baseline + collapse q40 + 20% subcontracting':<44}{150:>9}{tb:>10.3f}{tb / ta:>8.2f}")
