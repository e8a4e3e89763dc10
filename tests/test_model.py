"""The model as researchers use it from Python: API, seeding, Mesa integration, weights."""

from __future__ import annotations

import re

import mesa
import pytest
from conftest import small

from sim import CommissioningModel, InputError, load_scenario
from sim.agents import Council, InHouseUnit, Mutual, Outsourcer
from sim.scenario import Scenario


def test_api_from_file_and_overrides(root):
    scenario = load_scenario(root / "scenarios/baseline.toml", {"network.councils": 30})
    model = CommissioningModel(scenario, **{"scenario.quarters": 6})
    assert model.params.network.councils == 30 and model.params.scenario.quarters == 6
    model.run()
    assert model.quarter == 6 and not model.running
    assert len(model.timeseries()) == 6
    assert len(model.agents_by_type[Council]) == 30
    assert len(model.agents_by_type[InHouseUnit]) == 30
    assert len(model.agents_by_type[Outsourcer]) <= 8


def test_double_underscore_overrides_match_dotted():
    a = CommissioningModel(**small(**{"commissioning.social_value_weight": 0.3})).run().timeseries()
    b = CommissioningModel(**small(), commissioning__social_value_weight=0.3).run().timeseries()
    assert a.equals(b)


def test_scenario_error_is_the_deprecated_name_of_input_error():
    import sim

    assert sim.InputError is InputError  # `except InputError` in old scripts still works


def test_bad_override_is_an_input_error():
    with pytest.raises(
        InputError, match=re.escape("did you mean 'commissioning.social_value_weight'")
    ):
        CommissioningModel(commissioning__social_value_wait=0.3)


def test_rng_argument_overrides_scenario_seed():
    a = CommissioningModel(**small(), rng=5).run().timeseries()
    b = CommissioningModel(**small(**{"scenario.seed": 5})).run().timeseries()
    c = CommissioningModel(**small(), rng=6).run().timeseries()
    assert a.equals(b)
    assert not a.equals(c)


def test_geography_is_seeded():
    a, b = CommissioningModel(**small(), rng=3), CommissioningModel(**small(), rng=3)
    assert sorted(a.graph.edges) == sorted(b.graph.edges)
    assert a.positions == b.positions


def test_runs_under_mesa_batch_run():
    results = mesa.batch_run(
        CommissioningModel,
        parameters={
            "commissioning__social_value_weight": [0.0, 0.4],
            "network__councils": 15,
            "scenario__quarters": 6,
        },
        rng=[1, 2],
        max_steps=100,
        number_processes=1,
        data_collection_period=-1,
        display_progress=False,
    )
    assert len(results) == 4
    assert {(r["commissioning__social_value_weight"], r["rng"]) for r in results} == {
        (0.0, 1), (0.4, 1), (0.0, 2), (0.4, 2),
    }  # fmt: skip
    assert all(r["Step"] == 6 for r in results)
    assert all(0 <= r["service_delivered"] <= 1 for r in results)


def test_weights_make_room_for_social_value():
    """Sweeping social_value_weight alone keeps the price:quality ratio and a total of 1."""
    for sv in (0.0, 0.1, 0.35):
        w = Scenario.model_validate(
            {"commissioning": {"social_value_weight": sv}}
        ).effective_weights()
        assert sum(w.values()) == pytest.approx(1.0)
        assert w["price"] / w["quality"] == pytest.approx(2.0)
        assert w["social_value"] == sv


def test_mutual_agents_are_views_of_the_arrays():
    model = CommissioningModel(**small()).run()
    for agent in model.agents_by_type[Mutual]:
        assert agent.alive and agent.cash == model.providers.cash[agent.index]
        assert agent.home >= 0
    value = model.council_value_by_kind()
    for council in model.councils:
        assert council.budget > 0 and 0 <= council.trust <= 1
        assert council.leading_kind == value[council.index].argmax()
