"""Shocks as parameters: ``shocks.N.field`` in --set, in every experiment design, and in Python."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sim import CommissioningModel, load_scenario
from sim.experiments.executors import make_executor
from sim.experiments.experiment import load_experiment, run_specs, scenario_at, simulate_run
from sim.experiments.sweep import run_sweep
from sim.inputs import InputError
from tests.helpers import commsim_in_process, run_cli, small
from tests.sweep_support import experiment_file

SHOCK = """
[fixed]
"network.councils" = 20
"scenario.quarters" = 12
shocks = [{ kind = "cost_shock", quarter = 4, magnitude = 0.1 }]
"""
MAGNITUDE = '"shocks.0.magnitude" = { min = 0.0, max = 0.5 }'
QUARTER = '"shocks.0.quarter" = { min = 2, max = 10 }'


@pytest.mark.subprocess
def test_set_changes_a_shocks_magnitude_from_the_command_line(root, tmp_path):
    out = tmp_path / "out"
    done = run_cli(
        "run", "scenarios/living_wage_shock.toml", "--set", "shocks.0.magnitude=0.2",
        "--set", "network.councils=30", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"]["shocks"][0]["magnitude"] == 0.2
    assert summary["scenario"]["shocks"][0]["quarter"] == 20  # the rest of the shock is kept
    assert summary["outcomes"]["first_shock_quarter"] == 20


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("shocks.3.magnitude", "shocks.3.magnitude: the scenario has 1 shock (shocks.0)"),
        ("shocks.0.size", "shocks.0.size: no such field; fields are kind, quarter, target,"),
        ("shocks.one.quarter", "shocks.one.quarter: 'one' is no shock number"),
    ],
)
def test_a_bad_shock_address_is_one_line_naming_the_shock(key, message):
    done = commsim_in_process("run", "scenarios/living_wage_shock.toml", "--set", f"{key}=0.2")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_scenario_without_shocks_says_so(root):
    with pytest.raises(InputError, match=r"shocks\.0\.quarter: the scenario has no shocks"):
        load_scenario(root / "scenarios/baseline.toml", {"shocks.0.quarter": 8})


def test_python_overrides_address_a_shock_in_either_spelling(root):
    path = root / "scenarios/living_wage_shock.toml"
    a = CommissioningModel(path, **small(**{"shocks.0.magnitude": 0.3, "shocks.0.quarter": 5}))
    b = CommissioningModel(path, **small(shocks__0__magnitude=0.3, shocks__0__quarter=5))
    assert a.params.shocks[0].magnitude == b.params.shocks[0].magnitude == 0.3
    assert a.params.shocks[0].kind == "cost_shock" and a.params.shocks[0].quarter == 5
    assert a.run().timeseries().equals(b.run().timeseries())
    with pytest.raises(InputError, match=r"overrides: shocks\.1\.magnitude: .* 1 shock"):
        CommissioningModel(path, **{"shocks.1.magnitude": 0.3})


def test_an_lhs_design_varies_a_shocks_magnitude_and_quarter(tmp_path):
    path = experiment_file(
        tmp_path, f"{MAGNITUDE}\n{QUARTER}", design="lhs", extra="samples = 6",
        replications=1, fixed=SHOCK,
    )  # fmt: skip
    exp = load_experiment(path)
    assert exp.kinds == {"shocks.0.magnitude": "float", "shocks.0.quarter": "int"}
    quarters = {p["shocks.0.quarter"] for p in exp.points}
    assert all(isinstance(q, int) and 2 <= q <= 10 for q in quarters) and len(quarters) > 2
    report = run_sweep(exp, tmp_path / "out", make_executor(1, None), progress=False)
    assert report.failed == 0 and report.ran == 6
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert list(runs["first_shock_quarter"]) == list(runs["shocks.0.quarter"])
    spec = run_specs(exp)[0]
    shock = scenario_at(spec.scenario, spec.values, "x")["shocks"][0]
    assert shock == {**shock, "kind": "cost_shock", "magnitude": spec.values["shocks.0.magnitude"]}


@pytest.mark.parametrize(
    ("design", "extra"), [("grid", ""), ("sobol", "samples = 4"), ("morris", "samples = 2")]
)
def test_every_design_takes_shock_fields(tmp_path, design, extra):
    params = (
        '"shocks.0.magnitude" = [0.05, 0.3]\n"shocks.0.quarter" = [3, 8]'
        if design == "grid"
        else f"{MAGNITUDE}\n{QUARTER}"
    )
    exp = load_experiment(
        experiment_file(tmp_path, params, design=design, extra=extra, replications=1, fixed=SHOCK)
    )
    for spec in run_specs(exp)[:3]:
        row = simulate_run(spec).row
        assert row["error"] is None
        assert row["first_shock_quarter"] == spec.values["shocks.0.quarter"]


def test_a_bad_shock_address_in_an_experiment_names_the_file_and_the_shock(tmp_path):
    bad = experiment_file(tmp_path, '"shocks.0.size" = [1, 2]', fixed=SHOCK)
    with pytest.raises(InputError, match=r"exp\.toml: \[parameters\] shocks\.0\.size: no such"):
        load_experiment(bad)
    missing = experiment_file(tmp_path, '"shocks.2.magnitude" = { min = 0.0, max = 0.5 }\n'
                              f"{QUARTER}", design="lhs", fixed=SHOCK)  # fmt: skip
    with pytest.raises(InputError, match=r"exp\.toml: shocks\.2\.magnitude: the scenario has 1 "):
        load_experiment(missing)
