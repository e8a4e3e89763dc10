"""commsim analyze and commsim compare: CIs, Sobol and Morris indices, figures, paired tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sweep_support import commsim, experiment_file

from sim.analysis import mean_ci, paired_differences
from sim.cli import main
from sim.executors import InProcessExecutor
from sim.experiment import load_experiment
from sim.sweep import run_sweep

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
    assert list(table.columns[:2]) == ["baseline", "baseline commissioning.social_value_weight=0.4"]
    assert (table["pairs"].loc[["resilience", "final_share_mutual"]] == 6).all()
    row = table.loc["final_share_mutual"]
    assert row["difference"] == pytest.approx(row.iloc[1] - row.iloc[0])
    assert row["ci_low"] <= row["difference"] <= row["ci_high"]
    assert (out / "compare.png").stat().st_size > 10_000
