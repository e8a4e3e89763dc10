"""Experiment files: designs, seeds, and the per-run worker."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import CommissioningModel
from sim.experiments.experiment import load_experiment, replication_seeds, run_specs, simulate_run
from sim.inputs import InputError
from tests.sweep_support import experiment_file

SVW = '"commissioning.social_value_weight"'


def test_grid_is_the_full_factorial_with_common_random_numbers(tmp_path):
    exp = load_experiment(
        experiment_file(tmp_path, f'{SVW} = [0.0, 0.2, 0.4]\n"outsourcers.count" = [4, 8]')
    )
    assert len(exp.points) == 6
    assert {(p[SVW.strip('"')], p["outsourcers.count"]) for p in exp.points} == {
        (w, n) for w in (0.0, 0.2, 0.4) for n in (4, 8)
    }
    specs = run_specs(exp)
    assert [s.run_id for s in specs] == list(range(12))
    seeds = replication_seeds(5, 2)
    assert seeds == [
        int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
        for c in np.random.SeedSequence(5).spawn(2)
    ]
    # replication r has the same seed at every design point, and replications differ
    assert all(s.seed == seeds[s.replication] for s in specs)
    assert seeds[0] != seeds[1]


def test_without_common_random_numbers_every_run_has_its_own_seed(tmp_path):
    exp = load_experiment(
        experiment_file(tmp_path, f"{SVW} = [0.0, 0.2]", extra="common_random_numbers = false")
    )
    seeds = [s.seed for s in run_specs(exp)]
    assert len(set(seeds)) == len(seeds) == 4


def test_lhs_points_stratify_each_range_and_round_counts(tmp_path):
    params = f'{SVW} = {{ min = 0.0, max = 0.4 }}\n"mutuals.count" = {{ min = 10, max = 50 }}'
    path = experiment_file(tmp_path, params, design="lhs", extra="samples = 20")
    exp = load_experiment(path)
    x = np.array([p["commissioning.social_value_weight"] for p in exp.points])
    assert len(x) == 20 and x.min() >= 0.0 and x.max() <= 0.4
    # Latin hypercube: exactly one point in each of the 20 equal strata
    assert sorted(np.floor(x / 0.4 * 20).astype(int)) == list(range(20))
    counts = [p["mutuals.count"] for p in exp.points]
    assert all(isinstance(c, int) and 10 <= c <= 50 for c in counts)
    assert load_experiment(path).points == exp.points  # seeded: same design every time


def test_sobol_and_morris_sizes_follow_salib(tmp_path):
    params = f'{SVW} = {{ min = 0.0, max = 0.4 }}\n"outsourcers.credit_limit" = {{ min = 0.02, max = 0.2 }}'
    sobol = load_experiment(experiment_file(tmp_path, params, design="sobol", extra="samples = 8"))
    assert len(sobol.points) == 8 * (2 + 2)
    morris = load_experiment(
        experiment_file(tmp_path, params, design="morris", extra="samples = 5\nlevels = 4")
    )
    assert len(morris.points) == 5 * (2 + 1)


def test_sobol_needs_a_power_of_two(tmp_path):
    params = f'{SVW} = {{ min = 0.0, max = 0.4 }}\n"outsourcers.credit_limit" = {{ min = 0.02, max = 0.2 }}'
    with pytest.raises(InputError, match="power of 2"):
        load_experiment(experiment_file(tmp_path, params, design="sobol", extra="samples = 10"))


def test_a_run_reproduces_the_model_with_its_seed_and_values(tmp_path):
    exp = load_experiment(experiment_file(tmp_path, f"{SVW} = [0.3]"))
    spec = run_specs(exp)[1]
    result = simulate_run(spec)
    model = CommissioningModel(
        rng=spec.seed,
        **{
            "network.councils": 20,
            "scenario.quarters": 12,
            "commissioning.social_value_weight": 0.3,
        },
    ).run()
    assert result.row["error"] is None
    assert result.row["resilience"] == model.summary()["resilience"]
    assert result.row["final_share_mutual"] == model.summary()["final_share_mutual"]
    ts = pd.DataFrame(result.timeseries)
    assert list(ts["quarter"]) == list(range(12))
    assert set(ts["run_id"]) == {spec.run_id}


def test_shocks_parameter_switches_a_collapse_on_and_off(tmp_path):
    shocks = 'shocks = [[], [{ kind = "provider_collapse", quarter = 6 }]]'
    exp = load_experiment(experiment_file(tmp_path, shocks, replications=1))
    off, on = (simulate_run(s).row for s in run_specs(exp))
    assert off["shocks"] == "none" and off["first_shock_quarter"] is None
    assert on["shocks"] == "provider_collapse@6(largest_outsourcer)"
    # The collapse falls within the warm-up: failures_total leaves it out, the shock's own
    # outcomes do not.
    assert on["first_shock_quarter"] == 6 and on["shock_contracts_disrupted"] >= 1


def test_a_run_that_raises_is_returned_with_its_error(tmp_path):
    params = f'{SVW} = {{ min = 0.7, max = 0.9 }}\n"commissioning.local_preference" = {{ min = 0.35, max = 0.5 }}'
    exp = load_experiment(experiment_file(tmp_path, params, design="lhs", extra="samples = 4"))
    row = simulate_run(run_specs(exp)[0]).row  # 0.7 + 0.35 > 1 at every point
    assert row["error"].startswith("InputError") and "at most 1" in row["error"]
    assert row["resilience"] is None
