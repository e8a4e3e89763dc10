"""The model as researchers use it from Python: API, seeding, Mesa integration, weights."""

from __future__ import annotations

import math
import re

import mesa
import numpy as np
import pytest
from mesa.experimental.scenarios import Scenario as MesaScenario

from sim import CommissioningModel, InputError, load_scenario
from sim.abm.agents import Council, InHouseUnit, Mutual, Outsourcer
from sim.core.outcomes import REPORTERS, SUMMARY_FIELDS, run_report
from sim.scenario import Scenario
from tests.helpers import small


def test_api_from_file_and_overrides(root):
    scenario = load_scenario(root / "scenarios/baseline.toml", {"network.councils": 30})
    model = CommissioningModel(scenario, rng=1, **{"scenario.quarters": 6})
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


def test_rng_seeds_the_run_and_the_scenario_seed_does_not():
    a = CommissioningModel(**small(rng=5)).run().timeseries()
    b = CommissioningModel(**small(rng=5, **{"scenario.seed": 99})).run().timeseries()
    c = CommissioningModel(**small(rng=6)).run().timeseries()
    assert a.equals(b)
    assert not a.equals(c)


@pytest.mark.fresh_entropy
def test_rng_none_draws_fresh_entropy_and_records_the_seed_it_used():
    """As in Mesa: no rng, a new seed each time; ``seed`` (and summary.json) says which."""
    free = {**small(), "rng": None}
    one, two = CommissioningModel(**free).run(), CommissioningModel(**free).run()
    assert isinstance(one.seed, int) and 0 <= one.seed < 2**63 and one.seed != two.seed
    again = CommissioningModel(**{**free, "rng": one.seed}).run()
    assert again.timeseries().equals(one.timeseries())
    assert run_report(one)["seed"] == one.seed
    assert one.datacollector.get_model_vars_dataframe()["seed"].eq(one.seed).all()


def test_numpy_integer_seeds_are_plain_ints_and_generators_record_none():
    assert CommissioningModel(**small(rng=np.int64(4))).seed == 4
    assert CommissioningModel(**small(rng=np.random.default_rng(4))).seed is None


def test_geography_is_seeded():
    a, b = CommissioningModel(**small(rng=3)), CommissioningModel(**small(rng=3))
    assert sorted(a.graph.edges) == sorted(b.graph.edges)
    assert np.array_equal(a.positions, b.positions) and a.positions.shape == (20, 2)


def test_runs_under_mesa_batch_run_with_run_outcomes_in_the_rows():
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
    row = next(r for r in results if r["rng"] == 2 and r["commissioning__social_value_weight"])
    overrides = {"commissioning.social_value_weight": 0.4, "network.councils": 15}
    outcomes = CommissioningModel(rng=2, **overrides, **{"scenario.quarters": 6}).run().summary()
    assert row["seed"] == 2
    for name in SUMMARY_FIELDS:  # every run outcome, NaN where summary.json says null
        expected = math.nan if outcomes[name] is None else outcomes[name]
        assert row[name] == pytest.approx(expected, nan_ok=True), name


def test_run_outcomes_are_nan_in_every_row_but_the_last():
    model = CommissioningModel(**small(**{"scenario.quarters": 5}))
    model.step()
    assert model.outcomes == {}
    model.run()
    frame = model.datacollector.get_model_vars_dataframe()
    assert frame["resilience"].iloc[:-1].isna().all()
    assert (
        frame["resilience"].iloc[-1]
        == model.summary()["resilience"]
        == model.outcomes["resilience"]
    )
    assert list(model.timeseries().columns) == ["quarter", *REPORTERS]


def test_solaraviz_reset_rebuilds_a_plain_model():
    """SolaraViz's Reset passes its own Mesa Scenario (and the inputs); the model takes it."""
    from mesa.visualization.solara_viz import _build_model_init_kwargs, _check_model_params

    model = CommissioningModel(**small())
    inputs = {"commissioning__social_value_weight": 0.3, "network__councils": 12}
    _check_model_params(model, inputs)
    kwargs = _build_model_init_kwargs(
        model, inputs, add_scenario_when_empty=True, require_model_accepts_scenario=True
    )
    assert isinstance(kwargs["scenario"], MesaScenario)
    fresh = type(model)(**kwargs)
    assert fresh.params.commissioning.social_value_weight == 0.3
    assert fresh.n_councils == 12 and isinstance(fresh.seed, int)
    assert fresh.scenario.rng == fresh.seed  # Mesa's record of the run holds the seed used
    fresh.step()


def test_a_mesa_scenario_carries_the_seed_and_parameters():
    class Policy(MesaScenario):
        commissioning__social_value_weight: float = 0.25

    a = CommissioningModel(Policy(rng=7, network__councils=12))
    assert a.seed == 7 and a.n_councils == 12
    assert a.params.commissioning.social_value_weight == 0.25
    assert isinstance(a.scenario, Policy)
    b = CommissioningModel(scenario=Policy(), rng=7, network__councils=12)
    assert b.seed == 7 and sorted(a.graph.edges) == sorted(b.graph.edges)
    with pytest.raises(InputError, match="differ"):
        CommissioningModel(Policy(rng=7), rng=8)
    with pytest.raises(InputError, match="names no parameter"):
        CommissioningModel(MesaScenario(rng=1, density=0.8))


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
