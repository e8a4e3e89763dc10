"""Analysis of sweeps and comparisons: means with 95% CIs, sensitivity indices, paired tests.

Pure functions over DataFrames (``runs.parquet`` rows); :func:`analyze_sweep` and
:func:`compare_scenarios` are the edges that read and write files. Confidence intervals are
Student t intervals over replications (``scipy.stats.t``); Sobol and Morris indices come from
``SALib.analyze`` on the mean outcome of each design point.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.stats import (
    KEY_OUTCOMES,
    Precision,
    mean_ci,
    outcome_columns,
    replications_needed,
    sample_sd,
)
from sim.inputs import InputError, check_count
from sim.scenario import Scenario

__all__ = [
    "KEY_OUTCOMES",
    "MAX_COMPARE_REPLICATIONS",
    "analyze_sweep",
    "compare_scenarios",
    "mean_ci",
    "morris_indices",
    "outcome_columns",
    "paired_differences",
    "point_summary",
    "replication_table",
    "sobol_indices",
    "verdict",
]


def point_summary(runs: pd.DataFrame, parameters: list[str]) -> pd.DataFrame:
    """One row per design point: its parameter values, runs, failures, and for each outcome
    ``<outcome>_mean``, ``<outcome>_ci_low``, ``<outcome>_ci_high``."""
    outcomes = outcome_columns(runs)
    rows = []
    for point, group in runs.groupby("point", sort=True):
        row: dict[str, Any] = {"point": point}
        row.update({p: group[p].iloc[0] for p in parameters})
        row["runs"] = len(group)
        row["failed"] = int(group["error"].notna().sum())
        for name in outcomes:
            mean, lo, hi, _ = mean_ci(group[name])
            row.update({f"{name}_mean": mean, f"{name}_ci_low": lo, f"{name}_ci_high": hi})
        rows.append(row)
    return pd.DataFrame(rows)


def replication_table(
    runs: pd.DataFrame, parameters: list[str], precision: Precision
) -> pd.DataFrame:
    """Per design point and outcome, the replications a 95% CI of the chosen half-width needs.

    One row per (point, outcome): the point's parameters, ``runs`` (non-null values),
    ``mean``, ``sd``, ``half_width`` (of the CI from the runs at hand), ``target`` (the
    half-width asked for: absolute, or relative to the point's mean) and
    ``replications_needed`` (:func:`sim.experiments.stats.replications_needed` with the observed sd; NaN
    where the outcome is undefined, has one value, or a relative target meets a zero mean).
    """
    rows = []
    for point, group in runs.groupby("point", sort=True):
        fixed = {p: group[p].iloc[0] for p in parameters}
        for name in outcome_columns(runs):
            mean, lo, hi, n = mean_ci(group[name])
            sd = sample_sd(group[name])
            target = precision.half_width(mean)
            rows.append(
                {
                    "point": point,
                    **fixed,
                    "outcome": name,
                    "runs": n,
                    "mean": mean,
                    "sd": sd,
                    "half_width": (hi - lo) / 2,
                    "target": target,
                    "replications_needed": replications_needed(sd, target),
                }
            )
    return pd.DataFrame(rows)


def _point_means(runs: pd.DataFrame, outcome: str) -> np.ndarray:
    return runs.groupby("point", sort=True)[outcome].mean().to_numpy(dtype=float)


def _analysable(y: np.ndarray, expected: int) -> bool:
    return len(y) == expected and bool(np.isfinite(y).all()) and float(np.ptp(y)) > 0


def sobol_indices(runs: pd.DataFrame, problem: dict[str, Any], seed: int = 1) -> pd.DataFrame:
    """Sobol first-order (S1) and total (ST) indices of each outcome (SALib, no second order).

    Outcomes that are constant or undefined at some design point are left out.
    """
    from SALib.analyze import sobol

    n_points = runs["point"].nunique()
    rows = []
    for outcome in outcome_columns(runs):
        y = _point_means(runs, outcome)
        if not _analysable(y, n_points) or runs["point"].max() + 1 != n_points:
            continue
        res = sobol.analyze(problem, y, calc_second_order=False, seed=seed)
        for i, name in enumerate(problem["names"]):
            for index in ("S1", "ST"):
                rows.append(
                    {
                        "outcome": outcome,
                        "parameter": name,
                        "method": "sobol",
                        "index": index,
                        "value": float(res[index][i]),
                        "conf": float(res[f"{index}_conf"][i]),
                    }
                )
    return pd.DataFrame(rows, columns=["outcome", "parameter", "method", "index", "value", "conf"])


def morris_indices(
    runs: pd.DataFrame, problem: dict[str, Any], x: np.ndarray, levels: int, seed: int = 1
) -> pd.DataFrame:
    """Morris mu* (with its confidence) and sigma of each outcome (SALib).

    Args:
        runs: the sweep's runs.
        problem: the SALib problem (names, bounds).
        x: the design matrix as sampled (integer parameters not yet rounded, so that every
            step of a trajectory is the one SALib planned).
        levels: the Morris grid levels.
        seed: for SALib's bootstrap of the confidence intervals.
    """
    from SALib.analyze import morris

    rows = []
    for outcome in outcome_columns(runs):
        y = _point_means(runs, outcome)
        if not _analysable(y, len(x)):
            continue
        res = morris.analyze(problem, x, y, num_levels=levels, seed=seed)
        for i, name in enumerate(problem["names"]):
            for index, conf in (("mu_star", "mu_star_conf"), ("sigma", None)):
                rows.append(
                    {
                        "outcome": outcome,
                        "parameter": name,
                        "method": "morris",
                        "index": index,
                        "value": float(res[index][i]),
                        "conf": float(res[conf][i]) if conf else math.nan,
                    }
                )
    return pd.DataFrame(rows, columns=["outcome", "parameter", "method", "index", "value", "conf"])


def analyze_sweep(out: Path, precision: Precision | None = None) -> list[Path]:
    """Write ``summary.csv``, ``sensitivity.csv`` (sobol/morris designs) and ``figures/``;
    with ``precision``, also ``replications.csv`` and ``figures/replications.png`` (see
    :func:`replication_table`). Each CSV's data dictionary is beside it (``summary.columns.csv``,
    ``sensitivity.columns.csv``, ``replications.columns.csv``).

    Raises:
        InputError: ``out`` is not a sweep directory.
    """
    from sim.experiments.columns import (
        REPLICATION_COLUMNS,
        SENSITIVITY_COLUMNS,
        write_dictionary,
        write_summary_dictionary,
    )
    from sim.experiments.store import read_manifest, read_runs, read_timeseries
    from sim.report import experiment_plots as plots

    out = Path(out)
    if not out.is_dir():
        raise InputError(f"{out}: no such sweep directory")
    manifest = read_manifest(out)
    if manifest is None:
        raise InputError(f"{out}: holds no manifest.json: not a sweep directory")
    runs = read_runs(out)
    parameters = list(manifest["parameters"])
    meta = manifest["experiment"]
    written = []
    summary = point_summary(runs, parameters)
    summary.to_csv(out / "summary.csv", index=False, float_format="%.10g")
    written.append(out / "summary.csv")
    written.append(write_summary_dictionary(out / "summary.columns.csv", summary.columns))

    sensitivity = None
    problem = manifest.get("problem")
    if meta["design"] == "sobol":
        sensitivity = sobol_indices(runs, problem, seed=meta["seed"])
    elif meta["design"] == "morris":
        from sim.experiments.experiment import ExperimentMeta, design_matrix

        fields = {k: v for k, v in meta.items() if k in ExperimentMeta.model_fields}
        x = design_matrix(ExperimentMeta.model_validate(fields), problem["bounds"])
        sensitivity = morris_indices(runs, problem, x, meta["levels"], seed=meta["seed"])
    figures = out / "figures"
    figures.mkdir(exist_ok=True)
    if sensitivity is not None:
        sensitivity.to_csv(out / "sensitivity.csv", index=False, float_format="%.10g")
        written.append(out / "sensitivity.csv")
        dictionary = out / "sensitivity.columns.csv"
        written.append(write_dictionary(dictionary, sensitivity.columns, SENSITIVITY_COLUMNS))
        written.append(figures / f"{meta['design']}.png")
        plots.sensitivity_figure(sensitivity, written[-1])
    kinds = manifest.get("parameter_kinds", {})
    for name in parameters:
        path = figures / f"outcomes_vs_{name.replace('.', '_')}.png"
        plots.outcomes_figure(runs, name, parameters, kinds, meta["design"], path)
        written.append(path)
    if precision is not None:
        needed = replication_table(runs, parameters, precision)
        needed.to_csv(out / "replications.csv", index=False, float_format="%.10g")
        written.append(out / "replications.csv")
        dictionary = out / "replications.columns.csv"
        written.append(write_dictionary(dictionary, needed.columns, REPLICATION_COLUMNS))
        written.append(figures / "replications.png")
        plots.replications_figure(needed, str(precision), int(meta["replications"]), written[-1])
    ts = read_timeseries(out)
    if ts is not None:
        written.append(figures / "timeseries.png")
        plots.envelope_figure(ts, runs, parameters, meta["design"], written[-1], kinds)
    return written


# ----------------------------------------------------------------------------- compare


def verdict(difference: float, ci_low: float, ci_high: float) -> str:
    """What a paired difference's 95% CI says: ``B > A`` or ``B < A`` when the interval
    excludes zero; ``the same in every pair`` when every difference is zero; otherwise
    ``cannot be told from noise`` (the CI is wider than the effect: it straddles zero)."""
    if not all(math.isfinite(v) for v in (difference, ci_low, ci_high)):
        return "undefined"
    if ci_low == ci_high == difference == 0:
        return "the same in every pair"
    if ci_low > 0:
        return "B > A"
    if ci_high < 0:
        return "B < A"
    return "cannot be told from noise"


def paired_differences(a: pd.DataFrame, b: pd.DataFrame, labels: tuple[str, str]) -> pd.DataFrame:
    """Outcomes of A and B run on the same seeds (rows aligned by ``replication``): each
    outcome's ``unit``, the mean of each, the mean paired difference B - A with its 95% CI,
    its :func:`verdict`, ``pairs_to_resolve``: the pairs whose CI half-width would equal the
    observed difference (what a rerun needs to tell an effect of this size from zero; NaN
    when it is zero), and the report's ``section`` (``Outcomes`` first, then ``Value for
    money``: :func:`sim.report.run_report.outcome_sections`)."""
    from sim.core.outcome_table import SUMMARY_FIELDS
    from sim.report.run_report import outcome_sections

    a = a.set_index("replication").sort_index()
    b = b.set_index("replication").sort_index()
    rows = []
    for section, names in outcome_sections(outcome_columns(a)):
        for outcome in names:
            xa = pd.to_numeric(a[outcome], errors="coerce")
            xb = pd.to_numeric(b[outcome], errors="coerce")
            both = xa.notna() & xb.notna()
            diff, lo, hi, n = mean_ci((xb - xa)[both])
            rows.append(
                {
                    "outcome": outcome,
                    "unit": SUMMARY_FIELDS[outcome].unit,
                    labels[0]: mean_ci(xa)[0],
                    labels[1]: mean_ci(xb)[0],
                    "difference": diff,
                    "ci_low": lo,
                    "ci_high": hi,
                    "pairs": n,
                    "verdict": verdict(diff, lo, hi),
                    "pairs_to_resolve": replications_needed(sample_sd((xb - xa)[both]), abs(diff)),
                    "section": section,
                }
            )
    return pd.DataFrame(rows)


#: Most replications ``commsim compare`` runs a side: it keeps every run's time series for its
#: figure (~10 KB a run at 80 quarters), so 10,000 a side is ~200 MB, and takes minutes.
MAX_COMPARE_REPLICATIONS = 10_000
#: Largest seed: a seed is a non-negative 63-bit integer (as in an experiment file).
MAX_SEED = 2**63 - 1


def compare_scenarios(
    a: Scenario,
    b: Scenario,
    *,
    labels: tuple[str, str],
    replications: int,
    seed: int,
    workers: int | None = None,
    out: Path | None = None,
) -> pd.DataFrame:
    """Run A and B on the same ``replications`` seeds; return the paired table.

    With ``out``, writes ``compare.csv``, its data dictionary ``compare.columns.csv`` and the
    overlay figure ``compare.png`` there.

    Raises:
        InputError: ``replications`` is not 2 to :data:`MAX_COMPARE_REPLICATIONS`, or
            ``seed`` is not 0 to 2^63 - 1 (checked before anything runs).
    """
    from sim.experiments.executors import make_executor
    from sim.experiments.experiment import RunSpec, replication_seeds, simulate_runs
    from sim.report import experiment_plots as plots

    check_count("--replications", replications, 2, MAX_COMPARE_REPLICATIONS)
    check_count("--seed", seed, 0, MAX_SEED)
    if labels[0] == labels[1]:
        labels = (f"A: {labels[0]}", f"B: {labels[1]}")
    seeds = replication_seeds(seed, replications)
    scenarios = (a.model_dump(mode="json"), b.model_dump(mode="json"))  # one dict a side
    specs = [
        RunSpec(
            run_id=side * replications + r,
            point=side,
            replication=r,
            seed=s,
            values={},
            scenario=scenario,
        )
        for side, scenario in enumerate(scenarios)
        for r, s in enumerate(seeds)
    ]
    with make_executor(workers) as executor:
        results = [
            r for batch in executor.results(simulate_runs, [[s] for s in specs]) for r in batch
        ]
    runs = pd.DataFrame([r.row for r in results])
    errors = runs["error"].dropna()
    if len(errors):
        raise InputError(f"compare: {len(errors)} runs failed, e.g. {errors.iloc[0]}")
    table = paired_differences(runs[runs.point == 0], runs[runs.point == 1], labels)
    if out is not None:
        from sim.experiments.columns import compare_columns, write_dictionary

        table.to_csv(Path(out) / "compare.csv", index=False, float_format="%.10g")
        write_dictionary(Path(out) / "compare.columns.csv", table.columns, compare_columns(labels))
        ts = pd.concat([pd.DataFrame(r.timeseries) for r in results], ignore_index=True)
        ts["side"] = np.where(ts["run_id"] < replications, labels[0], labels[1])
        plots.compare_figure(ts, table, labels, Path(out) / "compare.png")
    return table
