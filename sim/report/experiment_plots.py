"""Figures of sweeps and comparisons: outcomes against each varied parameter with 95% CI
bands, sensitivity bar charts, time-series envelopes, A/B overlays.

Each function returns a matplotlib ``Figure`` (shown inline in a notebook) and saves it as
PNG at ``path`` if one is given. Figures are made without pyplot: no global state, no
backend to choose, nothing to close. Panels are titled in words with units (the outcome
table, :mod:`sim.core.outcomes`); settings that are not numbers (a sweep's shock lists) are
categories: points with error bars, never joined by lines.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.core.outcome_table import REPORTERS, SUMMARY_FIELDS
from sim.experiments.columns import describe
from sim.experiments.stats import KEY_OUTCOMES, mean_ci, outcome_columns
from sim.report.run_report import format_value

__all__ = [
    "column_title",
    "compare_figure",
    "envelope_figure",
    "outcomes_figure",
    "replications_figure",
    "sensitivity_figure",
]

#: Quarterly reporters drawn as envelopes (mean line, 2.5-97.5 percentile band across runs).
ENVELOPE_REPORTERS = (
    "service_delivered",
    "share_outsourcer",
    "share_mutual",
    "share_inhouse",
    "local_share",
    "trust",
)
MAX_LINES = 6


def _panels(n: int, ncols: int = 4, size: float = 3.2) -> tuple[Figure, list[Axes]]:
    nrows = max(1, math.ceil(n / ncols))
    ncols = min(ncols, max(n, 1))
    fig = Figure(figsize=(size * ncols, 2.7 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    flat = list(np.atleast_1d(axes).ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _varying(runs: pd.DataFrame, columns: list[str]) -> list[str]:
    out = []
    for c in columns:
        x = pd.to_numeric(runs[c], errors="coerce")
        if x.notna().any() and np.nanmax(x) > np.nanmin(x):
            out.append(c)
    return out


def _save(fig: Figure, path: Path | str | None) -> Figure:
    if path is not None:
        fig.savefig(path, dpi=90)
    return fig


def column_title(name: str) -> str:
    """A column's heading in words with its unit: an outcome's or reporter's label, else a
    parameter's dotted name with its unit."""
    defined = SUMMARY_FIELDS.get(name) or REPORTERS.get(name)
    if defined is not None:
        return defined.label
    unit = describe(name)[0]
    return f"{name} ({unit})" if unit and unit != "label" else name


def _setting(value: Any) -> str:
    """A parameter's value as a legend or tick shows it (``0.6``, not ``0.6000000000000001``)."""
    return format_value(value)[:44]


def _ci_line(
    ax: Axes,
    x: np.ndarray,
    groups: list[pd.Series],
    label: str | None,
    categorical: bool = False,
    offset: float = 0.0,
) -> None:
    """Means with their 95% CIs: a line and band over a numeric setting, points with error
    bars over categories. The CI is cut at zero where no run went below it (counts, shares and
    sums cannot be negative, so a band below zero would claim the impossible); a margin can
    be negative, and its band is left as it is."""
    stats = np.array([mean_ci(g)[:3] for g in groups], dtype=float)
    never_negative = all((g.dropna() >= 0).all() for g in groups)
    low = np.maximum(stats[:, 1], 0.0) if never_negative else stats[:, 1]
    mean, high = stats[:, 0], stats[:, 2]
    if categorical:
        ax.errorbar(
            x + offset, mean, yerr=[mean - low, high - mean], fmt="o", markersize=4, capsize=3,
            label=label,
        )  # fmt: skip
        return
    (line,) = ax.plot(x, mean, marker="o", markersize=3, label=label)
    ax.fill_between(x, low, high, color=line.get_color(), alpha=0.2, linewidth=0)


def outcomes_figure(
    runs: pd.DataFrame,
    name: str,
    parameters: list[str],
    kinds: dict[str, str],
    design: str,
    path: Path | str | None = None,
) -> Figure:
    """Each outcome against parameter ``name``: mean and 95% CI (a band over a numeric
    parameter; points with error bars over categories such as shock settings).

    Grid designs draw one series per combination of the other varied parameters (up to six;
    beyond that, pooled); sampled designs draw each point's mean and a binned mean with CI.
    """
    outcomes = _varying(runs, outcome_columns(runs))
    fig, axes = _panels(len(outcomes))
    fig.suptitle(f"Run outcomes against {column_title(name)}: mean and 95% CI over replications")
    numeric = kinds.get(name) in ("int", "float")
    levels = sorted(runs[name].dropna().unique(), key=lambda v: (not numeric, v))
    others = [p for p in parameters if p != name and runs[p].nunique() > 1]
    combos = runs.groupby(others).ngroups if others else 1
    for ax, outcome in zip(axes, outcomes, strict=True):
        if design == "grid":
            x = np.array(levels, dtype=float) if numeric else np.arange(len(levels), dtype=float)
            if others and combos <= MAX_LINES:
                width = 0.5 / combos  # categories: each combination's points side by side
                for k, (key, sub) in enumerate(runs.groupby(others)):
                    key = key if isinstance(key, tuple) else (key,)
                    label = ", ".join(
                        f"{p.split('.')[-1]}={_setting(v)}"
                        for p, v in zip(others, key, strict=True)
                    )
                    groups = [sub.loc[sub[name] == v, outcome] for v in levels]
                    shift = (k - (combos - 1) / 2) * width
                    _ci_line(ax, x, groups, label, categorical=not numeric, offset=shift)
            else:
                groups = [runs.loc[runs[name] == v, outcome] for v in levels]
                _ci_line(ax, x, groups, None, categorical=not numeric)
            if not numeric:
                ax.set_xticks(x, [_setting(v) for v in levels], rotation=20, fontsize=7)
                ax.set_xlim(x[0] - 0.5, x[-1] + 0.5)
        else:
            means = runs.groupby("point").agg(x=(name, "first"), y=(outcome, "mean")).dropna()
            ax.scatter(means["x"], means["y"], s=6, alpha=0.35, color="grey")
            bins = pd.qcut(means["x"], q=min(10, means["x"].nunique()), duplicates="drop")
            grouped = means.groupby(bins, observed=True)
            centres = grouped["x"].mean().to_numpy()
            _ci_line(ax, centres, [g["y"] for _, g in grouped], None)
        ax.set_title(column_title(outcome), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_xlabel(column_title(name), fontsize=7)
    if axes and axes[0].get_legend_handles_labels()[0]:
        handles, names = axes[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside lower center", ncols=min(len(names), 3), fontsize=7)
    return _save(fig, path)


def sensitivity_figure(sensitivity: pd.DataFrame, path: Path | str | None = None) -> Figure:
    """Bar charts of Sobol S1/ST or Morris mu*/sigma per parameter, one panel per outcome."""
    present = list(dict.fromkeys(sensitivity["outcome"]))
    outcomes = [o for o in KEY_OUTCOMES if o in present] or present[:8]
    method = sensitivity["method"].iloc[0] if len(sensitivity) else "sensitivity"
    fig, axes = _panels(max(len(outcomes), 1))
    title = "Sobol indices (first order S1, total ST)" if method == "sobol" else "Morris mu*, sigma"
    fig.suptitle(f"{title}, 95% conf. bars")
    for ax, outcome in zip(axes, outcomes, strict=False):
        sub = sensitivity[sensitivity["outcome"] == outcome]
        names = list(dict.fromkeys(sub["parameter"]))
        indices = list(dict.fromkeys(sub["index"]))
        width = 0.8 / len(indices)
        for k, index in enumerate(indices):
            part = sub[sub["index"] == index].set_index("parameter").loc[names]
            ax.bar(
                np.arange(len(names)) + k * width,
                part["value"],
                width,
                yerr=part["conf"].fillna(0).to_numpy(),
                capsize=2,
                label=index,
            )
        ax.set_xticks(
            np.arange(len(names)) + width * (len(indices) - 1) / 2,
            [n.split(".")[-1] for n in names],
            rotation=30,
            ha="right",
            fontsize=7,
        )
        ax.set_title(column_title(outcome), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    return _save(fig, path)


def replications_figure(
    needed: pd.DataFrame, precision: str, have: int, path: Path | str | None = None
) -> Figure:
    """Replications each outcome needs for the chosen CI half-width: the median and the range
    over design points (log scale), against the replications the sweep ran."""
    rows = needed.dropna(subset=["replications_needed"])
    by = rows.groupby("outcome", sort=False)["replications_needed"]
    order = [o for o in needed["outcome"].unique() if o in by.groups]
    low, mid, high = (by.min()[order], by.median()[order], by.max()[order])
    y = np.arange(len(order))
    fig = Figure(figsize=(7, 0.3 * len(order) + 1.4), layout="constrained")
    ax = fig.subplots()
    ax.hlines(y, low, high, color="grey", linewidth=3, alpha=0.6, label="range over points")
    short = mid <= have
    ax.plot(mid[short], y[short.to_numpy()], "o", color="tab:green", label="median: enough")
    ax.plot(mid[~short], y[~short.to_numpy()], "o", color="tab:red", label="median: too few")
    ax.axvline(have, color="black", linestyle="--", linewidth=0.9, label=f"ran: {have}")
    ax.set_xscale("log")
    ax.set_yticks(y, [column_title(o) for o in order], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("replications needed (log scale)")
    ax.set_title(f"Replications for a 95% CI half-width of {precision}", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)


def _envelopes(axes: list[Axes], ts: pd.DataFrame, group: str | None) -> None:
    keys = [None] if group is None else list(dict.fromkeys(ts[group]))
    for ax, reporter in zip(axes, [r for r in ENVELOPE_REPORTERS if r in ts], strict=False):
        for key in keys:
            sub = ts if key is None else ts[ts[group] == key]
            by_q = sub.groupby("quarter")[reporter]
            q = np.array(list(by_q.groups))
            (line,) = ax.plot(q, by_q.mean().to_numpy(), label=None if key is None else str(key))
            ax.fill_between(
                q,
                by_q.quantile(0.025).to_numpy(),
                by_q.quantile(0.975).to_numpy(),
                color=line.get_color(),
                alpha=0.18,
                linewidth=0,
            )
        ax.set_title(REPORTERS[reporter].title, fontsize=9)
        ax.set_ylabel(REPORTERS[reporter].unit, fontsize=7)
        if REPORTERS[reporter].unit in ("share", "index 0-1"):
            ax.set_ylim(0, 1.02)  # fixed, so that panels and sweeps compare by eye
        ax.set_xlabel("quarter", fontsize=7)
        ax.tick_params(labelsize=7)


def _settings(runs: pd.DataFrame, parameters: list[str], kinds: dict[str, str]) -> list[str]:
    """The varied parameters whose settings the envelopes keep apart: every categorical one
    (a shocked run is never pooled with an unshocked one), then numeric ones while the
    combinations stay within :data:`MAX_LINES`."""
    varied = [p for p in parameters if runs[p].nunique() > 1]
    chosen = [p for p in varied if kinds.get(p) not in ("int", "float")]
    for p in varied:
        if p not in chosen and runs.groupby([*chosen, p]).ngroups <= MAX_LINES:
            chosen.append(p)
    return chosen


def envelope_figure(
    ts: pd.DataFrame,
    runs: pd.DataFrame,
    parameters: list[str],
    design: str,
    path: Path | str | None = None,
    kinds: dict[str, str] | None = None,
) -> Figure:
    """Quarterly reporters across runs: mean and 2.5-97.5 percentile envelope, one colour per
    setting (each combination of the categorical parameters, such as shocks, and of as many
    numeric grid parameters as keep six settings or fewer); a sampled design's numeric
    parameters are pooled. ``kinds``: each parameter's kind (``manifest.json``
    ``parameter_kinds``); a parameter with no kind given is numeric if its values are."""
    kinds = dict(kinds or {})
    for p in parameters:
        if p not in kinds:
            numeric = pd.api.types.is_numeric_dtype(runs[p])
            kinds[p] = "float" if numeric else "label"
    if design != "grid":
        parameters = [p for p in parameters if kinds[p] not in ("int", "float")]
    chosen = _settings(runs, parameters, kinds)
    group = None
    if chosen:
        group = "setting"
        labels = runs[chosen].apply(
            lambda row: ", ".join(
                f"{p.split('.')[-1]}={_setting(v)}" for p, v in zip(chosen, row, strict=True)
            ),
            axis=1,
        )
        ts = ts.merge(pd.DataFrame({"run_id": runs["run_id"], group: labels}), on="run_id")
    shown = [r for r in ENVELOPE_REPORTERS if r in ts]
    fig, axes = _panels(len(shown), ncols=3)
    fig.suptitle(
        "Time series: mean and 95% envelope across runs" + (", by setting" if group else "")
    )
    _envelopes(axes, ts, group)
    if group:
        handles, names = axes[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside lower center", ncols=min(len(names), 2), fontsize=7)
    return _save(fig, path)


def compare_figure(
    ts: pd.DataFrame,
    table: pd.DataFrame,
    labels: tuple[str, str],
    path: Path | str | None = None,
) -> Figure:
    """A against B: time-series envelopes overlaid, and each outcome's paired difference as a
    percentage of A's mean with its 95% CI."""
    shown = [r for r in ENVELOPE_REPORTERS if r in ts]
    fig, axes = _panels(len(shown) + 1, ncols=4)
    fig.suptitle(f"{labels[0]} vs {labels[1]} (same seeds)")
    _envelopes(axes[:-1], ts, "side")
    axes[0].legend(fontsize=7)
    ax = axes[-1]
    rows = table[(table[labels[0]].abs() > 1e-12) & table["difference"].notna()]
    base = rows[labels[0]].abs()
    y = np.arange(len(rows))
    # An effect whose CI straddles zero is drawn grey: it cannot be told from noise.
    noise = (rows["verdict"] == "cannot be told from noise").to_numpy()
    for keep, colour, label in ((~noise, "tab:blue", "resolved"), (noise, "grey", "noise")):
        part = rows[keep]
        ax.errorbar(
            100 * part["difference"] / base[keep],
            y[keep],
            xerr=[
                100 * (part["difference"] - part["ci_low"]) / base[keep],
                100 * (part["ci_high"] - part["difference"]) / base[keep],
            ],
            fmt="o",
            markersize=3,
            capsize=2,
            color=colour,
            label=label,
        )
    ax.legend(fontsize=6)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, [column_title(o) for o in rows["outcome"]], fontsize=6)
    ax.set_xlabel(f"B - A, % of A ({labels[1]} vs {labels[0]})", fontsize=7)
    ax.set_title("paired difference, 95% CI", fontsize=9)
    ax.tick_params(labelsize=7)
    return _save(fig, path)
