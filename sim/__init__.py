"""commsim: an agent-based simulator of public-service commissioning markets.

Councils tender services to private outsourcers, public service mutuals and their own
in-house units, under social-value weightings and failure shocks; the model records
resilience and local reinvestment.

    from sim import CommissioningModel, load_scenario
    model = CommissioningModel(load_scenario("scenarios/baseline.toml")).run()
    model.timeseries(), model.summary()

``Simulation`` is the same model without Mesa (same seed, same numbers; no agents, space or
data collector, and no Mesa or pandas to import): ``Simulation(...).run().series()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.inputs import InputError, ScenarioError
from sim.scenario import Scenario, load_scenario
from sim.version import __version__

if TYPE_CHECKING:
    from sim.engine import Simulation
    from sim.model import CommissioningModel

# ScenarioError: the deprecated name of InputError (the same class), kept for old scripts
__all__ = [
    "CommissioningModel",
    "InputError",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "__version__",
    "load_scenario",
]


def __getattr__(name: str) -> Any:
    # The model (and Mesa, pandas, scipy: ~80 MB) loads on first use, not on ``import sim``:
    # a sweep's writer process and ``commsim validate`` never need it.
    if name == "CommissioningModel":
        from sim.model import CommissioningModel

        return CommissioningModel
    if name == "Simulation":  # the model without Mesa: NumPy and the mechanisms only
        from sim.engine import Simulation

        return Simulation
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
