"""The schema's own rules: the score weights and validating a scenario once."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sim.core.engine import Simulation
from sim.scenario import InputError, Scenario, scenario_from_dict
from sim.scenario.schema import effective_weights, weight_rule_violation


def test_score_weights_rule():
    ok = Scenario().commissioning
    assert weight_rule_violation(ok) is None
    too_much = ok.model_copy(update={"social_value_weight": 0.7, "local_preference": 0.4})
    assert "at most 1" in weight_rule_violation(too_much)
    no_rest = ok.model_copy(update={"price_weight": 0.0, "quality_weight": 0.0})
    assert "must not both be zero" in weight_rule_violation(no_rest)
    all_absolute = no_rest.model_copy(update={"social_value_weight": 0.6, "local_preference": 0.4})
    assert weight_rule_violation(all_absolute) is None  # nothing left for price and quality
    no_social = ok.model_copy(
        update={
            "social_value_local_weight": 0.0,
            "social_value_reinvestment_weight": 0.0,
            "social_value_commitments_weight": 0.0,
        }
    )
    assert "must not all be zero" in weight_rule_violation(no_social)


def test_effective_weights_share_the_rest_in_the_ratio_of_price_to_quality():
    c = Scenario().commissioning.model_copy(update={"social_value_weight": 0.3})
    w = effective_weights(c)
    assert w == pytest.approx(
        {"price": 0.7 * 2 / 3, "quality": 0.7 / 3, "social_value": 0.3, "local": 0.0}
    )


def test_a_file_breaking_the_weight_rule_names_the_table():
    data = {"commissioning": {"social_value_weight": 0.7, "local_preference": 0.5}}
    with pytest.raises(InputError) as err:
        scenario_from_dict(data, origin="s.toml")
    assert str(err.value) == (
        "s.toml: commissioning: social_value_weight + local_preference must be at most 1"
    )


def test_setting_one_weight_on_a_built_scenario_is_checked():
    commissioning = Scenario().commissioning
    commissioning.local_preference = 0.4
    with pytest.raises(ValidationError, match="at most 1"):
        commissioning.social_value_weight = 0.7


def test_a_simulation_uses_the_scenario_it_is_given_without_validating_it_again(monkeypatch):
    scenario = Scenario.model_validate({"scenario": {"quarters": 4}, "network": {"councils": 4}})
    calls = []
    original = Scenario.model_validate.__func__

    def counting(cls, *args, **kwargs):
        calls.append(1)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(Scenario, "model_validate", classmethod(counting))
    simulation = Simulation(scenario, rng=1)
    assert simulation.params is scenario
    assert calls == []
    overridden = Simulation(scenario, rng=1, **{"scenario.quarters": 3})  # a new scenario
    assert overridden.params.scenario.quarters == 3 and calls == [1]
