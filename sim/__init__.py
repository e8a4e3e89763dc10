"""commsim: an agent-based simulator of public-service commissioning markets.

Councils tender services to private outsourcers, public service mutuals and their own
in-house units, under social-value weightings and failure shocks; the model records
resilience and local reinvestment.

    from sim import CommissioningModel, load_scenario
    model = CommissioningModel(load_scenario("scenarios/baseline.toml")).run()
    model.timeseries(), model.summary()
"""

from sim.model import CommissioningModel
from sim.scenario import Scenario, ScenarioError, load_scenario

__all__ = ["CommissioningModel", "Scenario", "ScenarioError", "load_scenario"]
