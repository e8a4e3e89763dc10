"""The command line as a policy modeller uses it: outputs, reproducibility, and bad input."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sim.core.outcomes import REPORTERS, SUMMARY_FIELDS
from tests.helpers import commsim_in_process, run_cli

DESIGN_REPORTERS = [
    "share_outsourcer", "share_mutual", "share_inhouse", "hhi", "providers_active", "failures",
    "contracts_disrupted", "service_delivered", "unmet_need", "emergency_cost", "spend",
    "local_reinvestment", "local_share", "lm3", "social_value", "trust",
]  # fmt: skip
DESIGN_OUTCOMES = [
    "resilience", "min_service_delivered", "recovery_quarters", "total_emergency_cost",
    "cumulative_local_reinvestment", "mean_local_share", "failures_total", "final_share_outsourcer",
    "final_share_mutual", "final_share_inhouse", "final_hhi", "final_trust",
]  # fmt: skip


@pytest.mark.subprocess
def test_run_writes_the_three_files(tmp_path, root):
    out = tmp_path / "report"
    result = run_cli("run", "scenarios/baseline.toml", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"{out}/overview.png" in result.stdout
    ts = pd.read_csv(out / "timeseries.csv")
    assert list(ts["quarter"]) == list(range(80))
    assert set(DESIGN_REPORTERS) <= set(ts.columns) and set(REPORTERS) <= set(ts.columns)
    summary = json.loads((out / "summary.json").read_text())
    assert set(DESIGN_OUTCOMES) <= set(summary["outcomes"]) and set(SUMMARY_FIELDS) == set(
        summary["outcomes"]
    )
    assert summary["seed"] == 42 and summary["package_version"]
    resolved = summary["scenario"]
    assert resolved["network"]["councils"] == 150
    assert (
        resolved["mutuals"]["spin_out_rate"] is not None
    )  # defaults are filled in, not only what the file says
    assert (out / "overview.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.subprocess
def test_same_seed_same_bytes_other_seed_other_numbers(tmp_path):
    args = [
        "run",
        "scenarios/baseline.toml",
        "--set",
        "network.councils=40",
        "--set",
        "scenario.quarters=30",
    ]
    for name, seed in [("a", "7"), ("b", "7"), ("c", "8")]:
        assert run_cli(*args, "--seed", seed, "--out", str(tmp_path / name)).returncode == 0
    a, b, c = ((tmp_path / n / "timeseries.csv").read_bytes() for n in "abc")
    assert a == b
    assert a != c


@pytest.mark.subprocess
def test_set_changes_the_parameter(tmp_path):
    out = tmp_path / "o"
    result = run_cli("run", "scenarios/baseline.toml", "--out", str(out), "--set", "scenario.quarters=5",
                     "--set", "commissioning.social_value_weight=0.3")  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"]["commissioning"]["social_value_weight"] == 0.3
    assert len(pd.read_csv(out / "timeseries.csv")) == 5


BAD_FILES = {
    "toml_syntax": ("[scenario]\nquarters = = 3\n", "TOML syntax error"),
    "unknown_key": ("[commissioning]\nsocial_value_wieght = 0.2\n", "did you mean 'commissioning.social_value_weight'"),
    "unknown_section": ("[comissioning]\nprice_weight = 0.5\n", "did you mean 'commissioning'"),
    "wrong_type": ("[network]\ncouncils = \"many\"\n", "network.councils"),
    "out_of_range": ("[network]\ncouncils = -4\n", "network.councils"),
    "weights_over_one": ("[commissioning]\nsocial_value_weight = 0.7\nlocal_preference = 0.5\n", "at most 1"),
    "years_reversed": ("[councils]\ncontract_years_min = 6\ncontract_years_max = 3\n", "contract_years_min"),
    "shock_past_horizon": ("[scenario]\nquarters = 10\n[[shocks]]\nkind = \"budget_cut\"\nquarter = 12\n", "past the horizon"),
    "unknown_shock_kind": ("[[shocks]]\nkind = \"meteor\"\nquarter = 3\n", "shocks[0].kind"),
    "markups_disordered": ("[mutuals]\nmarkup_min = 0.05\nmarkup_initial = 0.01\n", "markup_min"),
    "social_value_weights_zero": ("[commissioning]\nsocial_value_local_weight = 0\nsocial_value_reinvestment_weight = 0\nsocial_value_commitments_weight = 0\n", "must not all be zero"),
    "renamed_social_value": ("[mutuals]\nsocial_value = 0.7\n", "did you mean 'mutuals.social_commitments'"),
    "unknown_shock_key": ("[[shocks]]\nkind = \"cost_shock\"\nquarter = 3\nsize = 0.1\n", "shocks[0].size"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_scenario_file(case, tmp_path):
    text, expected = BAD_FILES[case]
    path = tmp_path / f"{case}.toml"
    path.write_text(text)
    assert_bad_input(tmp_path, ["run", str(path)], expected, str(path))


BAD_ARGS = {
    "missing_file": (["run", "nowhere.toml"], "no such file"),
    "directory": (["run", "scenarios"], "is a directory"),
    "set_unknown": (
        ["run", "scenarios/baseline.toml", "--set", "commissioning.sv=0.2"],
        "names no parameter",
    ),
    "set_bad_value": (
        ["run", "scenarios/baseline.toml", "--set", "network.councils=lots"],
        "network.councils",
    ),
    "set_no_equals": (
        ["run", "scenarios/baseline.toml", "--set", "network.councils"],
        "key.path=value",
    ),
    "seed_not_int": (["run", "scenarios/baseline.toml", "--seed", "x"], "invalid int value"),
    "no_subcommand": (["frobnicate"], "invalid choice"),
}


@pytest.mark.parametrize("case", sorted(BAD_ARGS))
def test_bad_arguments(case, tmp_path):
    args, expected = BAD_ARGS[case]
    assert_bad_input(tmp_path, args, expected)


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes("[scenario]\nname = 'Caf\u00e9'\n".encode("latin-1"))
    assert_bad_input(tmp_path, ["run", str(path)], "not UTF-8", str(path))


def test_out_is_a_file(tmp_path):
    target = tmp_path / "taken"
    target.write_text("x")
    result = commsim_in_process("run", "scenarios/baseline.toml", "--out", str(target))
    assert result.returncode == 2 and "not a directory" in result.stderr
    assert target.read_text() == "x"


@pytest.mark.subprocess
@pytest.mark.parametrize(
    "args, expected",
    [(["run", "BAD"], "TOML syntax error"), (["run", "scenarios/baseline.toml", "--seed", "x"], "invalid int value")],
)  # fmt: skip
def test_bad_input_in_a_fresh_interpreter(tmp_path, args, expected):
    """The smoke test of the cases above (run in process): a real process says the same."""
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_FILES["toml_syntax"][0])
    args = [str(bad) if a == "BAD" else a for a in args]
    assert_bad_input(tmp_path, args, expected, runner=run_cli)


def assert_bad_input(tmp_path, args, expected, name=None, runner=commsim_in_process):
    """One clear line on stderr, exit 2, no traceback, nothing written."""
    out = tmp_path / "out"
    before = set(tmp_path.iterdir())
    result = runner(*args, "--out", str(out)) if args[0] == "run" else runner(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert expected in lines[0], lines[0]
    if name:
        assert name in lines[0]
    assert not out.exists()
    assert set(tmp_path.iterdir()) == before  # no half-written or temporary files
    assert result.stdout == ""


def test_validate_reports_each_file(tmp_path, root):
    bad = tmp_path / "bad.toml"
    bad.write_text("[network]\ncouncils = 1\n")
    result = commsim_in_process("validate", "scenarios/baseline.toml", str(bad))
    assert result.returncode == 2
    assert "scenarios/baseline.toml: ok" in result.stdout
    assert str(bad) in result.stderr and "network.councils" in result.stderr
    assert commsim_in_process("validate", "scenarios/baseline.toml").returncode == 0
