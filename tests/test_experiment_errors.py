"""Bad experiment files: one clear line on stderr, exit status 2, nothing written."""

from __future__ import annotations

import pytest

from tests.helpers import commsim_in_process
from tests.sweep_support import BASELINE, commsim

HEAD = f'[experiment]\nname = "bad"\nscenario = "{BASELINE}"\nreplications = 2\n'
SVW = '"commissioning.social_value_weight"'

CASES = {
    "toml_syntax": (HEAD + "[parameters\n", "TOML syntax error"),
    "unknown_experiment_key": (
        HEAD + f"replicatons = 3\n[parameters]\n{SVW} = [0.1]\n",
        "did you mean 'experiment.replications'",
    ),
    "unknown_parameter": (
        HEAD + '[parameters]\n"commissioning.social_value_wieght" = [0.1]\n',
        "did you mean 'commissioning.social_value_weight'",
    ),
    "unknown_design": (
        HEAD + f'design = "factorial"\n[parameters]\n{SVW} = [0.1]\n',
        "experiment.design",
    ),
    "zero_replications": (
        HEAD.replace("replications = 2", "replications = 0") + f"[parameters]\n{SVW} = [0.1]\n",
        "experiment.replications",
    ),
    "grid_value_not_a_list": (HEAD + f"[parameters]\n{SVW} = 0.1\n", "non-empty list"),
    "grid_value_out_of_range": (
        HEAD + f"[parameters]\n{SVW} = [0.1, 1.5]\n",
        "design point 1",
    ),
    "lhs_without_bounds": (
        HEAD + f'design = "lhs"\n[parameters]\n{SVW} = [0.1, 0.2]\n',
        "min = ..., max = ...",
    ),
    "min_not_below_max": (
        HEAD + f'design = "lhs"\n[parameters]\n{SVW} = {{ min = 0.3, max = 0.1 }}\n',
        "min must be below max",
    ),
    "sobol_samples_not_power_of_two": (
        HEAD
        + 'design = "sobol"\nsamples = 100\n[parameters]\n'
        + f'{SVW} = {{ min = 0.0, max = 0.3 }}\n"outsourcers.count" = {{ min = 2, max = 9 }}\n',
        "power of 2",
    ),
    "sampled_boolean": (
        HEAD + 'design = "lhs"\n[parameters]\n"mutuals.support_programme" = { min = 0, max = 1 }\n',
        "cannot be sampled",
    ),
    "missing_base_scenario": (
        HEAD.replace(str(BASELINE), "no_such_scenario.toml") + f"[parameters]\n{SVW} = [0.1]\n",
        "no such file",
    ),
    "no_parameters": (HEAD, "the [parameters] table is missing"),
    "bad_shock_value": (
        HEAD + '[parameters]\nshocks = [[], [{ kind = "meteor", quarter = 4 }]]\n',
        "kind",
    ),
}


def sweep(folder, case: str, run=commsim_in_process) -> tuple:
    """One bad file through ``commsim sweep`` (in this interpreter unless ``run`` says)."""
    path = folder / "bad.toml"
    path.write_text(CASES[case][0])
    return folder, path, run("sweep", path, "--out", folder / "out", "--workers", "1")


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> dict[str, tuple]:
    """Every bad file through ``commsim sweep``."""
    return {case: sweep(tmp_path_factory.mktemp(case), case) for case in CASES}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_experiment_file_is_one_line_exit_2_and_writes_nothing(swept, case):
    refused_and_nothing_written(*swept[case], CASES[case][1])


@pytest.mark.subprocess
def test_a_bad_experiment_file_in_a_fresh_interpreter(tmp_path):
    """The smoke test of the cases above: a real process says the same."""
    refused_and_nothing_written(*sweep(tmp_path, "toml_syntax", commsim), "TOML syntax error")


def refused_and_nothing_written(tmp_path, path, done, expected: str) -> None:
    """One line on stderr naming the file, exit 2, no traceback, nothing but the file left."""
    out = tmp_path / "out"
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert str(path) in done.stderr and expected in done.stderr, done.stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_missing_experiment_file(tmp_path):
    done = commsim_in_process("sweep", tmp_path / "nowhere.toml", "--out", tmp_path / "out")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "no such file" in done.stderr
    assert not (tmp_path / "out").exists()


def test_validate_checks_experiment_files(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(CASES["unknown_parameter"][0])
    done = commsim_in_process("validate", path, "experiments/social_value_sweep.toml")
    assert done.returncode == 2
    assert "did you mean" in done.stderr and "ok (experiment)" in done.stdout
