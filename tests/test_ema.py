"""sim.experiments.ema: commsim driven by EMA Workbench, from sampling to PRIM scenario discovery."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ema_workbench")

from ema_workbench import Sample, SequentialEvaluator, perform_experiments
from ema_workbench.analysis import prim

from sim import CommissioningModel
from sim.experiments.ema import ema_model, ema_name
from sim.experiments.experiment import replication_seeds
from sim.scenario import InputError

#: The docs/ema.md example at test size: 20 councils, 12 quarters, the largest outsourcer
#: collapsing in quarter 4.
TINY = {
    "scenario": {"quarters": 12, "seed": 3},
    "network": {"councils": 20},
    "mutuals": {"count": 8},
    "local_firms": {"count": 40},
    "shocks": [{"kind": "provider_collapse", "quarter": 4, "target": "largest_outsourcer"}],
}
UNCERTAINTIES = {
    "outsourcers.credit_limit": (0.05, 0.6),
    "councils.inhouse_capacity_retained": (0.0, 0.3),
}
LEVERS = {"commissioning.social_value_weight": (0.0, 0.4)}


def _run(model, scenarios, policies=0):
    with SequentialEvaluator(model) as evaluator:
        return evaluator.perform_experiments(
            scenarios=scenarios,
            policies=policies,
            uncertainty_sampling_kwargs={"rng": 42},
            lever_sampling_kwargs={"rng": 43},
            combine="sample" if policies else "full_factorial",
        )


def test_twenty_experiments_and_prim_find_where_collapses_cost_most():
    model = ema_model(
        UNCERTAINTIES, LEVERS, scenario=TINY, timeseries=["service_delivered", "spend"]
    )
    experiments, outcomes = _run(model, scenarios=20, policies=20)
    assert len(experiments) == 20
    assert outcomes["resilience"].shape == (20,) and outcomes["spend"].shape == (20, 12)
    assert np.isfinite(outcomes["total_emergency_cost"]).all()
    # the service dips in the quarter of the collapse, in every experiment
    assert (outcomes["service_delivered"][:, 4] < outcomes["service_delivered"][:, 3]).all()

    cost = outcomes["total_emergency_cost"]
    costly = cost > np.percentile(cost, 70)
    x = experiments[[ema_name(k) for k in [*UNCERTAINTIES, *LEVERS]]]
    box = prim.Prim(x, costly, mass_min=0.1).find_box()
    assert box.density > costly.mean()  # the box holds costly runs more densely than the whole
    assert len(box.box_lim.columns) >= 1 and box.coverage > 0


def test_same_sample_same_numbers():
    model = ema_model(UNCERTAINTIES, scenario=TINY, outcomes=["total_emergency_cost"])
    first = _run(model, scenarios=3)[1]["total_emergency_cost"]
    again = _run(model, scenarios=3)[1]["total_emergency_cost"]
    assert np.array_equal(first, again)


def test_an_undefined_outcome_is_nan_not_none():
    no_shock = {**TINY, "shocks": []}
    model = ema_model(UNCERTAINTIES, scenario=no_shock, outcomes=["recovery_quarters"])
    outcomes = _run(model, scenarios=2)[1]
    assert outcomes["recovery_quarters"].dtype == float
    assert np.isnan(outcomes["recovery_quarters"]).all()


def test_replications_share_their_seeds_across_experiments():
    key = "commissioning__social_value_weight"
    twice = [Sample("a", **{key: 0.1}), Sample("b", **{key: 0.1})]  # one point, two experiments
    outcomes = {}
    for how in (np.mean, np.std):
        model = ema_model(
            {"commissioning.social_value_weight": (0.0, 0.4)},
            scenario=TINY,
            outcomes=["total_emergency_cost"],
            timeseries=["spend"],
            replications=3,
            aggregate=how,
        )
        _, outcomes[how] = perform_experiments(model, scenarios=twice)
    mean, spread = outcomes[np.mean]["total_emergency_cost"], outcomes[np.std]["spend"]
    assert mean.shape == (2,) and spread.shape == (2, 12)
    assert mean[0] == mean[1]  # common random numbers: the same seeds in both experiments
    assert (spread[0] > 0).any()  # three replications, three seeds
    alone = [
        CommissioningModel(TINY, rng=seed, **{key: 0.1}).run().summary()["total_emergency_cost"]
        for seed in replication_seeds(1, 3)
    ]
    assert mean[0] == pytest.approx(np.mean(alone), rel=1e-12)


def test_a_point_breaking_a_joint_rule_gives_nan_outcomes():
    weights = {
        "commissioning.social_value_weight": (0.6, 0.9),
        "commissioning.local_preference": (0.2, 0.4),
    }
    model = ema_model(weights, scenario=TINY, outcomes=["resilience"])
    outcomes = _run(model, scenarios=6)[1]["resilience"]
    assert np.isnan(outcomes).any()  # some points put the weights above 1
    assert not np.isnan(outcomes).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"uncertainties": {"commisioning.social_value_weight": (0, 0.3)}},
            "uncertainty: 'commisioning.social_value_weight' names no parameter "
            "(did you mean 'commissioning.social_value_weight'?)",
        ),
        (
            {"levers": {"commissioning.social_value_weight": (0.0, 1.5)}},
            "lever 'commissioning.social_value_weight' = 1.5: commissioning.social_value_weight:",
        ),
        ({"outcomes": ["resilence"]}, "'resilence' is no run outcome (did you mean 'resilience'?)"),
        ({"timeseries": ["resilience"]}, "'resilience' is no quarterly reporter"),
        ({"replications": 0}, "replications = 0: must be at least 1"),
        ({"uncertainties": {"network.councils": (10,)}}, "network.councils: expected (low, high)"),
        (
            {"uncertainties": {"scenario.quarters": (8, 12)}, "timeseries": ["spend"]},
            "scenario.quarters cannot vary",
        ),
    ],
)
def test_bad_input_is_a_plain_python_error(kwargs, message):
    with pytest.raises(ValueError) as err:
        ema_model(**{"scenario": TINY, **kwargs})
    assert err.type is InputError
    assert message in str(err.value) and "--set" not in str(err.value)


def test_a_ready_scenario_by_name():
    model = ema_model({"commissioning.social_value_weight": (0.0, 0.4)})
    assert model.name == "commsim" and isinstance(model.constants["rng"].value, int)
    assert [u.name for u in model.uncertainties] == ["commissioning__social_value_weight"]
