"""Figures: the run overview a policy maker reads, in matplotlib (no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: works on servers and in CI with no screen

import matplotlib.pyplot as plt
import pandas as pd

__all__ = ["KIND_COLOURS", "mark_shocks", "overview_figure"]

#: One colour per provider type, shared by every figure and the dashboard map.
KIND_COLOURS = {
    "outsourcer": "#d95f02",
    "mutual": "#1b9e77",
    "inhouse": "#7570b3",
    "gap": "#bbbbbb",
}


def mark_shocks(ax: plt.Axes, shocks: list[tuple[int, str]], label: bool = False) -> None:
    """Draw a dashed line at each shock's quarter (labelled with its kind on top panels)."""
    for quarter, kind in shocks:
        ax.axvline(quarter, color="black", linestyle="--", linewidth=0.9, alpha=0.7)
        if label:
            ax.annotate(
                kind.replace("_", " "),
                (quarter, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(3, -10),
                textcoords="offset points",
                fontsize=7,
                rotation=0,
            )


def _joint_legend(ax: plt.Axes, twin: plt.Axes) -> None:
    """One legend for a panel and its twin axis."""
    handles, labels = ax.get_legend_handles_labels()
    more_handles, more_labels = twin.get_legend_handles_labels()
    ax.legend(handles + more_handles, labels + more_labels, loc="lower left", fontsize=8)


def overview_figure(
    ts: pd.DataFrame, title: str, shocks: list[tuple[int, str]], path: str | Path
) -> Path:
    """Six panels over time: market shares, service and disruption, local money, trust,
    spend and cost of failure, concentration. Saved as PNG at ``path``."""
    q = ts["quarter"]
    fig, axes = plt.subplots(3, 2, figsize=(12, 10), sharex=True, constrained_layout=True)
    fig.suptitle(title, fontsize=13)

    ax = axes[0, 0]
    ax.stackplot(
        q,
        100 * ts["share_outsourcer"],
        100 * ts["share_mutual"],
        100 * ts["share_inhouse"],
        labels=["private outsourcers", "mutuals", "in-house"],
        colors=[KIND_COLOURS["outsourcer"], KIND_COLOURS["mutual"], KIND_COLOURS["inhouse"]],
        alpha=0.85,
    )
    ax.set(
        title="Who delivers: share of contract value", ylabel="% of contract value", ylim=(0, 100)
    )
    ax.legend(loc="lower left", fontsize=8)

    ax = axes[0, 1]
    ax.plot(q, 100 * ts["service_delivered"], color="black", label="service delivered")
    ax.set(title="Service continuity and disruption", ylabel="% of required service delivered")
    low = min(90.0, 100 * ts["service_delivered"].min() - 2)
    ax.set_ylim(low, 100.5)
    twin = ax.twinx()
    twin.bar(q, ts["contracts_disrupted"], color="#e7298a", alpha=0.5, label="contracts disrupted")
    twin.set_ylabel("contracts disrupted per quarter", color="#e7298a")
    _joint_legend(ax, twin)

    ax = axes[1, 0]
    ax.plot(q, ts["local_reinvestment"], color=KIND_COLOURS["mutual"], label="re-spent locally")
    ax.plot(q, ts["leaked"], color=KIND_COLOURS["outsourcer"], label="leaves the area")
    ax.set(title="Where the money goes", ylabel="GBP m per quarter")
    ax.legend(loc="lower left", fontsize=8)
    twin = ax.twinx()
    twin.plot(q, 100 * ts["local_share"], color="grey", linestyle=":", label="local share")
    twin.set_ylabel("local share of spend, % (dotted)")

    ax = axes[1, 1]
    ax.plot(q, ts["trust"], color="#1f78b4", label="mean trust")
    ax.plot(
        q,
        ts["social_value"],
        color=KIND_COLOURS["mutual"],
        linestyle="--",
        label="social value of providers",
    )
    ax.set(title="Public trust and social value", ylabel="index, 0 to 1", ylim=(0, 1))
    ax.legend(loc="lower left", fontsize=8)

    ax = axes[2, 0]
    ax.plot(q, ts["spend"], color="black", label="spend")
    ax.set(
        title="Spend and the cost of failure", ylabel="spend, GBP m per quarter", xlabel="quarter"
    )
    twin = ax.twinx()
    twin.bar(q, ts["emergency_cost"], color="#e6ab02", alpha=0.6, label="emergency cost")
    twin.set_ylabel("emergency cost, GBP m per quarter", color="#a67c00")
    _joint_legend(ax, twin)

    ax = axes[2, 1]
    ax.plot(q, ts["hhi"], color="#666666", label="HHI")
    ax.set(title="Market concentration and providers", ylabel="HHI, 0 to 1", xlabel="quarter")
    twin = ax.twinx()
    twin.step(q, ts["providers_active"], color="#a6761d", where="mid", label="providers trading")
    twin.set_ylabel("outsourcers and mutuals trading", color="#a6761d")
    _joint_legend(ax, twin)

    for i, ax in enumerate(axes.flat):
        mark_shocks(ax, shocks, label=i < 2)
        ax.grid(alpha=0.3)
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
