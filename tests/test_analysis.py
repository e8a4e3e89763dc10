"""commsim analyze and commsim compare: CIs, Sobol and Morris indices, figures, paired tables."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.cli import main
from sim.experiments.analysis import mean_ci, paired_differences, verdict
from sim.experiments.executors import InProcessExecutor
from sim.experiments.experiment import load_experiment
from sim.experiments.stats import Precision, parse_precision, replications_needed
from sim.experiments.sweep import run_sweep
from sim.report.run_report import compare_text
from tests.sweep_support import commsim, experiment_file


def described_columns(csv_path) -> pd.DataFrame:
    """The data dictionary beside ``csv_path`` (``X.columns.csv`` beside ``X.csv``), checked
    to describe every column of the CSV, in order, each with a unit and a description."""
    dictionary = pd.read_csv(csv_path.with_suffix(".columns.csv"), keep_default_na=False)
    assert list(dictionary.columns) == ["column", "unit", "description"]
    assert list(dictionary["column"]) == list(pd.read_csv(csv_path, nrows=0).columns)
    assert (dictionary["unit"] != "").all() and (dictionary["description"] != "").all()
    return dictionary.set_index("column")


TWO = (
    '"commissioning.social_value_weight" = { min = 0.0, max = 0.4 }\n'
    '"outsourcers.count" = { min = 2, max = 12 }'
)


def test_mean_ci_is_the_student_t_interval():
    mean, _, hi, n = mean_ci([1.0, 2.0, 3.0, None])
    assert (mean, n) == (2.0, 3)
    assert hi - mean == pytest.approx(4.302652729911275 * 1.0 / np.sqrt(3))  # t(0.975, 2)
    assert np.isnan(mean_ci([5.0])[1])


def test_paired_difference_cancels_the_shared_noise():
    noise = np.random.default_rng(3).normal(0, 10, 30)
    a = pd.DataFrame({"replication": range(30), "resilience": noise, "error": None})
    b = a.assign(resilience=noise + 1.0)
    row = paired_differences(a, b, ("A", "B")).set_index("outcome").loc["resilience"]
    assert row["difference"] == pytest.approx(1.0)
    assert row["ci_low"] == pytest.approx(1.0) and row["ci_high"] == pytest.approx(1.0)


def sweep(tmp_path, design: str, extra: str, parameters: str = TWO):
    path = experiment_file(tmp_path, parameters, design=design, replications=1, extra=extra)
    out = tmp_path / design
    with InProcessExecutor() as executor:
        run_sweep(load_experiment(path), out, executor, progress=False)
    assert main(["analyze", str(out)]) == 0
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("design", "extra", "indices"),
    [("sobol", "samples = 8", {"S1", "ST"}), ("morris", "samples = 6", {"mu_star", "sigma"})],
)
def test_sensitivity_designs_give_indices_and_figures(tmp_path, design, extra, indices):
    out = sweep(tmp_path, design, extra)
    sens = pd.read_csv(out / "sensitivity.csv")
    assert set(sens["index"]) == indices
    assert set(sens["parameter"]) == {"commissioning.social_value_weight", "outsourcers.count"}
    assert {"final_share_mutual", "mean_local_share"} <= set(sens["outcome"])
    assert np.isfinite(sens["value"]).all()
    assert (out / "figures" / f"{design}.png").stat().st_size > 10_000
    assert (out / "figures" / "outcomes_vs_outsourcers_count.png").exists()
    assert (out / "figures" / "timeseries.png").exists()
    dictionary = described_columns(out / "sensitivity.csv")
    assert all(i in dictionary.loc["index", "description"] for i in indices)


@pytest.mark.slow
def test_summary_has_a_ci_per_design_point(tmp_path):
    parameters = '"commissioning.social_value_weight" = [0.0, 0.4]'
    path = experiment_file(tmp_path, parameters, replications=3)
    with InProcessExecutor() as executor:
        run_sweep(load_experiment(path), tmp_path / "g", executor, progress=False)
    assert main(["analyze", str(tmp_path / "g")]) == 0
    summary = pd.read_csv(tmp_path / "g" / "summary.csv")
    assert list(summary["point"]) == [0, 1] and (summary["runs"] == 3).all()
    runs = pd.read_parquet(tmp_path / "g" / "runs.parquet")
    first = runs[runs.point == 0]["final_share_mutual"]
    assert summary.loc[0, "final_share_mutual_mean"] == pytest.approx(first.mean())
    lo, hi = summary.loc[0, ["final_share_mutual_ci_low", "final_share_mutual_ci_high"]]
    assert lo < first.mean() < hi
    figure = tmp_path / "g" / "figures" / "outcomes_vs_commissioning_social_value_weight.png"
    assert figure.stat().st_size > 10_000
    assert not (tmp_path / "g" / "sensitivity.csv").exists()


def test_analyze_a_folder_that_is_no_sweep(tmp_path, capsys):
    assert main(["analyze", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a sweep directory" in err


@pytest.mark.subprocess
def test_compare_a_file_with_a_modified_copy_of_itself(tmp_path):
    out = tmp_path / "cmp"
    done = commsim(
        "compare",
        "scenarios/baseline.toml",
        "--set",
        "network.councils=20",
        "--set",
        "scenario.quarters=16",
        "--set-b",
        "commissioning.social_value_weight=0.4",
        "--replications",
        "6",
        "--workers",
        "1",
        "--out",
        out,
    )
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out / "compare.csv").set_index("outcome")
    assert list(table.columns[1:3]) == [
        "baseline",
        "baseline commissioning.social_value_weight=0.4",
    ]
    assert (table["pairs"].loc[["resilience", "final_share_mutual"]] == 6).all()
    row = table.loc["final_share_mutual"]
    assert row["difference"] == pytest.approx(row.iloc[2] - row.iloc[1])
    assert row["ci_low"] <= row["difference"] <= row["ci_high"]
    assert (out / "compare.png").stat().st_size > 10_000
    assert table.loc["resilience", "unit"] == "share"
    assert table.loc["total_emergency_cost", ["unit", "section"]].tolist() == [
        "GBP m",
        "Value for money",
    ]
    dictionary = described_columns(out / "compare.csv")
    assert "B (baseline commissioning.social_value_weight=0.4)" in dictionary.iloc[3]["description"]
    printed = done.stdout.splitlines()
    assert printed[0].split()[:4] == ["outcome", "unit", "baseline", "baseline"]
    money = printed.index("Value for money:")
    assert printed[money + 1].split()[:3] == ["total_spend", "GBP", "m"]
    assert "e+" not in done.stdout and "e-" not in done.stdout  # no powers of ten
    assert row["verdict"] == "B > A"  # a 0.4 social value weight grows mutuals in every pair
    assert set(table["verdict"]) <= {
        "B > A",
        "B < A",
        "cannot be told from noise",
        "the same in every pair",
        "undefined",
    }
    # at 6 pairs, small effects (spin-outs, handbacks) are lost in the noise, and it says so
    noise = table[table["verdict"] == "cannot be told from noise"]
    assert len(noise) >= 1
    assert f"{len(noise)} of {len(table)} differences cannot be told from noise" in done.stdout


# ----------------------------------------------------------------------------- replications


def half_width(n: int, sd: float) -> float:
    return float(stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n))


@pytest.mark.parametrize(("sd", "h"), [(1.0, 0.5), (2.0, 0.1), (0.03, 0.001), (5.0, 20.0)])
def test_replications_needed_is_the_least_n_whose_t_interval_is_narrow_enough(sd, h):
    n = int(replications_needed(sd, h))
    assert half_width(n, sd) <= h
    assert n == 2 or half_width(n - 1, sd) > h
    # the normal approximation is a lower bound, and close for large n
    assert n >= (1.959963984540054 * sd / h) ** 2


def test_replications_needed_edge_cases():
    assert replications_needed(1.0, 0.5) == 18  # t(0.975, 17) = 2.110: 2.110/sqrt(18) < 0.5
    assert replications_needed(0.0, 0.1) == 2
    assert np.isnan(replications_needed(float("nan"), 0.1))
    assert np.isnan(replications_needed(1.0, float("nan")))
    assert replications_needed(1.0, 1e-9, cap=1000) == 1000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10%", Precision(0.1, True)),
        (" 2.5 % ", Precision(0.025, True)),
        ("0.01", Precision(0.01, False)),
        ("3", Precision(3.0, False)),
    ],
)
def test_parse_precision(text, expected):
    assert parse_precision(text) == expected


def test_a_relative_precision_scales_with_the_mean_and_is_undefined_at_zero():
    assert Precision(0.1, True).half_width(-4.0) == pytest.approx(0.4)
    assert np.isnan(Precision(0.1, True).half_width(0.0))
    assert Precision(0.5, False).half_width(0.0) == 0.5


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("-1", "above 0"),
        ("abc", "is not a number"),
        ("0", "above 0"),
        ("150%", "below 100%"),
        ("0%", "above 0%"),
        ("nan", "is not a number"),
        ("", "is not a number"),
    ],
)
def test_bad_precision_is_one_line_and_exit_2(tmp_path, capsys, value, expected):
    with pytest.raises(SystemExit) as stop:
        main(["analyze", str(tmp_path), "--precision", value])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--precision" in err and expected in err, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_analyze_precision_reports_the_replications_each_point_needs(tmp_path, capsys):
    parameters = '"commissioning.social_value_weight" = [0.0, 0.4]'
    path = experiment_file(tmp_path, parameters, replications=4)
    out = tmp_path / "g"
    with InProcessExecutor() as executor:
        run_sweep(load_experiment(path), out, executor, progress=False)
    capsys.readouterr()
    assert main(["analyze", str(out), "--precision", "5%"]) == 0
    printed = capsys.readouterr().out
    assert "replications for a 95% CI half-width of 5%" in printed
    table = pd.read_csv(out / "replications.csv")
    assert set(table["point"]) == {0, 1}
    assert {"commissioning.social_value_weight", "outcome", "replications_needed"} <= set(table)
    row = table.set_index(["point", "outcome"]).loc[(1, "final_share_mutual")]
    runs = pd.read_parquet(out / "runs.parquet")
    values = runs[runs.point == 1]["final_share_mutual"]
    assert row["target"] == pytest.approx(0.05 * values.mean())
    assert row["sd"] == pytest.approx(values.std(ddof=1))
    defined = table.dropna(subset=["replications_needed"])
    assert len(defined) > 10
    # the rule agrees with the intervals the sweep has: a CI already narrow enough needs no
    # more runs than were made, a wider one needs more
    enough = defined["half_width"] <= defined["target"]
    assert (defined[enough]["replications_needed"] <= 4).all()
    assert (defined[~enough]["replications_needed"] > 4).all()
    assert (out / "figures" / "replications.png").stat().st_size > 10_000
    dictionary = described_columns(out / "replications.csv")
    parameter = dictionary.loc["commissioning.social_value_weight"]
    assert parameter["unit"] == "share of score"  # a varied parameter with its own unit
    assert "outcome" in dictionary.loc["mean", "unit"]  # each row in its outcome's unit


def test_the_compare_table_reads_in_units_with_value_for_money_apart():
    rng = np.random.default_rng(3)
    a = pd.DataFrame(
        {
            "replication": range(8),
            "error": None,
            "resilience": rng.uniform(0.9, 1.0, 8),
            "failures_total": rng.integers(0, 5, 8),
            "total_emergency_cost": rng.uniform(1e5, 2e5, 8),  # 1.745e+05 as it once printed
            "final_trust": rng.uniform(0, 1, 8),
        }
    )
    b = a.assign(
        resilience=a["resilience"] - 0.01, total_emergency_cost=a["total_emergency_cost"] + 1234.5
    )
    table = paired_differences(a, b, ("A", "B"))
    assert list(table["outcome"]) == [
        "resilience", "failures_total", "final_trust", "total_emergency_cost"
    ]  # fmt: skip
    text = compare_text(table)
    assert "e+" not in text and "e-" not in text
    lines = {line.split()[0]: line for line in text.splitlines()}
    cost = a["total_emergency_cost"].mean()
    assert f"{cost:,.2f}" in lines["total_emergency_cost"] and "+1,234.50" in text
    assert f"{100 * a['resilience'].mean():.2f}%" in lines["resilience"]
    assert "-1.00 pp" in lines["resilience"]  # a difference of shares in percentage points
    assert re.search(r"\d\.\d{3} ", lines["final_trust"])  # an index to three decimals
    order = text.splitlines()
    assert order.index("Value for money:") == order.index(lines["total_emergency_cost"]) - 1
    assert order.index("Value for money:") > order.index(lines["final_trust"])


def test_verdict_says_when_the_ci_is_wider_than_the_effect():
    assert verdict(0.2, 0.1, 0.3) == "B > A"
    assert verdict(-0.2, -0.3, -0.1) == "B < A"
    assert verdict(0.05, -0.1, 0.2) == "cannot be told from noise"
    assert verdict(0.0, 0.0, 0.0) == "the same in every pair"
    assert verdict(float("nan"), 0.0, 0.0) == "undefined"


def test_paired_differences_flag_an_effect_lost_in_noise():
    rng = np.random.default_rng(4)
    a = pd.DataFrame({"replication": range(10), "resilience": rng.normal(0, 1, 10)})
    b = a.assign(resilience=a["resilience"] + rng.normal(0.05, 1, 10))
    row = paired_differences(a, b, ("A", "B")).set_index("outcome").loc["resilience"]
    assert row["verdict"] == "cannot be told from noise"
    assert row["ci_low"] < 0 < row["ci_high"]
    # the pairs that would make the CI as narrow as the observed effect
    sd = float((b["resilience"] - a["resilience"]).std(ddof=1))
    n = int(row["pairs_to_resolve"])
    assert n > 10 and half_width(n, sd) <= abs(row["difference"]) < half_width(n - 1, sd)
