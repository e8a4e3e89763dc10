"""A shock applied between steps (a dashboard button) counts in the quarter it belongs to."""

from __future__ import annotations

import numpy as np

from sim import CommissioningModel
from sim.scenario import Shock

SMALL = {"network__councils": 30, "mutuals__count": 10, "scenario__quarters": 12}


def collapse_largest_outsourcer(model: CommissioningModel) -> None:
    """What the dashboard's button does."""
    model.apply_shock(Shock(kind="provider_collapse", quarter=model.quarter))


def test_a_collapse_between_steps_reaches_the_quarter_tallies_and_trust() -> None:
    model = CommissioningModel(None, **SMALL)
    twin = CommissioningModel(None, **SMALL)
    for _ in range(3):
        model.step()
        twin.step()
    assert model.tally_quarter == 2  # the tallies are quarter 2's, the last simulated
    collapse_largest_outsourcer(model)
    failure = model.events[-1]
    assert failure["quarter"] == 3 and failure["event"] == "failure"
    assert model.tally_quarter == 3  # the collapse opened quarter 3
    # The map shows this quarter's hits only, at once (not the last quarter's).
    ct = model.contracts
    expected = np.zeros(model.n_councils, dtype=bool)
    expected[ct.view("council")[ct.view("disrupted_at") == 3]] = True
    assert expected.any() and np.array_equal(model.ledger.councils_hit, expected)
    assert model.ledger.contracts_disrupted == failure["contracts"]
    model.step()
    twin.step()
    assert model.metrics["failures"] >= 1
    assert model.metrics["contracts_disrupted"] >= failure["contracts"]
    assert model.metrics["trust"] < twin.metrics["trust"]


def test_each_failure_is_counted_once_in_its_own_quarter() -> None:
    model = CommissioningModel(None, **SMALL)
    model.step()
    collapse_largest_outsourcer(model)
    collapsed = model.events[-1]["contracts"]
    for _ in range(4):
        model.step()
    ts = model.timeseries()
    failures = [e for e in model.events if e["event"] == "failure"]
    assert ts["failures"].sum() == len(failures)
    assert ts.loc[1, "contracts_disrupted"] >= collapsed
    for quarter in range(len(ts)):
        in_quarter = sum(e["contracts"] for e in model.events if e["quarter"] == quarter)
        assert ts.loc[quarter, "contracts_disrupted"] == in_quarter
