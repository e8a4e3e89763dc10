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

import importlib
from typing import TYPE_CHECKING, Any

from sim.inputs import InputError, ScenarioError

if TYPE_CHECKING:
    from sim.abm.model import CommissioningModel
    from sim.core.engine import Simulation
    from sim.scenario import Scenario, load_scenario
    from sim.version import __version__

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


#: Public names loaded on first use, not on ``import sim``, and the module of each: the model
#: (Mesa, pandas, SciPy: ~80 MB) is never needed by a sweep's writer process or
#: ``commsim validate``, and neither it nor the scenario schema (pydantic, NumPy) by
#: ``commsim --help``.
_LAZY = {
    "CommissioningModel": "sim.abm.model",
    "Scenario": "sim.scenario",
    "Simulation": "sim.core.engine",  # the model without Mesa: NumPy and the mechanisms only
    "load_scenario": "sim.scenario",
    "__version__": "sim.version",
}


def __dir__() -> list[str]:
    """The module's names with the public ones loaded on first use, so ``dir(sim)`` and tab
    completion show ``CommissioningModel`` before it is imported."""
    return sorted({*globals(), *__all__})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
