"""Figures: the run overview a policy maker reads, in matplotlib (no display needed).

Drawn with matplotlib's object API (a ``Figure`` on an Agg canvas, never pyplot), and
matplotlib is imported only when a figure is drawn: ``from sim.report.plots import KIND_COLOURS``
costs nothing, and ``commsim run`` pays for matplotlib once, when it writes the overview.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["KIND_COLOURS", "OVERVIEW_DPI", "council_map", "mark_shocks", "overview_figure"]

#: One colour per provider type, shared by every figure and the dashboard map.
KIND_COLOURS = {
    "outsourcer": "#d95f02",
    "mutual": "#1b9e77",
    "inhouse": "#7570b3",
    "gap": "#bbbbbb",
}

#: Resolution of overview.png: 12 x 10 inches at 110 dpi is 1320 x 1100 pixels.
OVERVIEW_DPI = 110
#: PNG compression: zlib level 3 writes a file 2% larger than the default 6 in half the time.
PNG_COMPRESS_LEVEL = 3

# The overview's margins and gaps in inches (12 x 10 figure, 3 x 2 panels): room for the
# suptitle and panel titles, and for y tick labels of up to five characters beside their
# axis labels. Fixed, not computed: a layout engine measures every label before drawing, which
# costs more than the drawing itself. When the labels do not fit (very large numbers), the
# overview is drawn again with the constrained layout (see _labels_fit).
_MARGIN_IN = {
    "left": 0.8,
    "right": 0.75,
    "top": 0.56,
    "bottom": 0.47,
    "wide": 1.45,
    "high": 0.4,
    "suptitle": 0.06,  # from the top edge to the suptitle's top
}


def mark_shocks(ax: Axes, shocks: Sequence[tuple[int, str]], label: bool = False) -> None:
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


def council_map(
    ax: Axes,
    positions: np.ndarray,
    edges: np.ndarray,
    values: np.ndarray,
    sizes: np.ndarray | float = 12.0,
    **style: Any,
) -> Any:
    """Councils at their places on the map, coloured by ``values``, borders as grey lines.

    Args:
        ax: where to draw; its aspect is set equal so that a real map keeps its shape.
        positions: (n, 2) each council's x, y (a user's graph file's, or the synthetic ones).
        edges: (m, 2) pairs of council indices that share a border.
        values: (n,) what colours each council (``style`` passes ``cmap``, ``vmin``, ``vmax``).
        sizes: marker areas, one for all or one per council.

    Returns:
        The councils' scatter, for a colour bar.
    """
    from matplotlib.collections import LineCollection

    xy = np.asarray(positions, dtype=float)
    pairs = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    ax.add_collection(LineCollection(list(xy[pairs]), colors="#bbbbbb", linewidths=0.5, zorder=1))
    dots = ax.scatter(
        xy[:, 0], xy[:, 1], c=values, s=sizes, zorder=2, edgecolors="black", linewidths=0.2, **style
    )
    ax.set(aspect="equal", xticks=[], yticks=[])
    return dots


def _joint_legend(ax: Axes, twin: Axes) -> None:
    """One legend for a panel and its twin axis."""
    handles, labels = ax.get_legend_handles_labels()
    more_handles, more_labels = twin.get_legend_handles_labels()
    ax.legend(handles + more_handles, labels + more_labels, loc="lower left", fontsize=8)


def _bars(ax: Axes, x: np.ndarray, heights: np.ndarray, **style: Any) -> None:
    """Bars of width 0.8 at ``x``, drawn as one patch (one outline of many rectangles) rather
    than one patch per bar: the same picture at a fraction of matplotlib's cost per artist."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    left, right = x - 0.4, x + 0.4
    zero = np.zeros_like(heights)
    # each bar: lower left, upper left, upper right, lower right, back to the start
    corners = np.stack([left, zero, left, heights, right, heights, right, zero, left, zero], 1)
    codes = np.tile(
        [MplPath.MOVETO, MplPath.LINETO, MplPath.LINETO, MplPath.LINETO, MplPath.CLOSEPOLY],
        len(x),
    )
    patch = PathPatch(MplPath(corners.reshape(-1, 2), codes), linewidth=0, **style)
    patch.sticky_edges.y.append(0)  # as bars do: the axis starts at zero, with no margin below
    ax.add_patch(patch)
    ax.autoscale_view()


def overview_figure(
    ts: Mapping[str, Any], title: str, shocks: Sequence[tuple[int, str]], path: str | Path
) -> Path:
    """Six panels over time: market shares, service and disruption, local money, trust,
    spend and cost of failure, concentration. Saved as PNG at ``path``.

    ``ts``: the run's time series by column (``Simulation.series()``, or a DataFrame), with a
    ``quarter`` column and the quarterly reporters (:data:`sim.core.outcomes.REPORTERS`).
    """
    from matplotlib.image import imsave  # here, not at the top: see the module's docstring

    fig = _draw_overview(ts, title, shocks, fixed=True)
    if not _labels_fit(fig):
        fig = _draw_overview(ts, title, shocks, fixed=False)
    path = Path(path)
    # the pixels already drawn, written as savefig would (which would draw them all again)
    imsave(
        path,
        fig.canvas.buffer_rgba(),
        format="png",
        dpi=fig.dpi,
        pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL},
    )
    return path


def _draw_overview(
    ts: Mapping[str, Any], title: str, shocks: Sequence[tuple[int, str]], fixed: bool
) -> Figure:
    """The overview drawn on an Agg canvas: panels placed by :func:`_grid` if ``fixed``, else
    by matplotlib's constrained layout."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def col(name: str) -> np.ndarray:
        return np.asarray(ts[name], dtype=float)

    q = col("quarter")
    width, height = 12, 10
    fig = Figure(figsize=(width, height), dpi=OVERVIEW_DPI, layout=None if fixed else "constrained")
    canvas = FigureCanvasAgg(fig)
    axes = fig.subplots(3, 2, sharex=True, gridspec_kw=_grid(width, height) if fixed else None)
    if fixed:
        fig.suptitle(title, fontsize=13, y=1 - _MARGIN_IN["suptitle"] / height, va="top")
    else:
        fig.suptitle(title, fontsize=13)

    ax = axes[0, 0]
    ax.stackplot(
        q,
        100 * col("share_outsourcer"),
        100 * col("share_mutual"),
        100 * col("share_inhouse"),
        labels=["private outsourcers", "mutuals", "in-house"],
        colors=[KIND_COLOURS["outsourcer"], KIND_COLOURS["mutual"], KIND_COLOURS["inhouse"]],
        alpha=0.85,
    )
    ax.set(
        title="Who delivers: share of contract value", ylabel="% of contract value", ylim=(0, 100)
    )
    ax.legend(loc="lower left", fontsize=8)

    ax = axes[0, 1]
    service = 100 * col("service_delivered")
    ax.plot(q, service, color="black", label="service delivered")
    ax.set(title="Service continuity and disruption", ylabel="% of required service delivered")
    ax.set_ylim(min(90.0, service.min(initial=100.0) - 2), 100.5)
    twin = ax.twinx()
    _bars(
        twin, q, col("contracts_disrupted"), color="#e7298a", alpha=0.5, label="contracts disrupted"
    )
    twin.set_ylabel("contracts disrupted per quarter", color="#e7298a")
    _joint_legend(ax, twin)

    ax = axes[1, 0]
    ax.plot(q, col("local_reinvestment"), color=KIND_COLOURS["mutual"], label="re-spent locally")
    ax.plot(q, col("leaked"), color=KIND_COLOURS["outsourcer"], label="leaves the area")
    ax.set(title="Where the money goes", ylabel="GBP m per quarter")
    ax.legend(loc="lower left", fontsize=8)
    twin = ax.twinx()
    twin.plot(q, 100 * col("local_share"), color="grey", linestyle=":", label="local share")
    twin.set_ylabel("local share of spend, % (dotted)")

    ax = axes[1, 1]
    ax.plot(q, col("trust"), color="#1f78b4", label="mean trust")
    ax.plot(
        q,
        col("social_value"),
        color=KIND_COLOURS["mutual"],
        linestyle="--",
        label="social value of providers",
    )
    ax.set(title="Public trust and social value", ylabel="index, 0 to 1", ylim=(0, 1))
    ax.legend(loc="lower left", fontsize=8)

    ax = axes[2, 0]
    ax.plot(q, col("spend"), color="black", label="spend")
    ax.set(
        title="Spend and the cost of failure", ylabel="spend, GBP m per quarter", xlabel="quarter"
    )
    twin = ax.twinx()
    _bars(twin, q, col("emergency_cost"), color="#e6ab02", alpha=0.6, label="emergency cost")
    twin.set_ylabel("emergency cost, GBP m per quarter", color="#a67c00")
    _joint_legend(ax, twin)

    ax = axes[2, 1]
    ax.plot(q, col("hhi"), color="#666666", label="HHI")
    ax.set(title="Market concentration and providers", ylabel="HHI, 0 to 1", xlabel="quarter")
    twin = ax.twinx()
    twin.step(q, col("providers_active"), color="#a6761d", where="mid", label="providers trading")
    twin.set_ylabel("outsourcers and mutuals trading", color="#a6761d")
    _joint_legend(ax, twin)

    for i, ax in enumerate(axes.flat):
        mark_shocks(ax, shocks, label=i < 2)
        ax.grid(alpha=0.3)
    canvas.draw()
    return fig


def _grid(width: float, height: float) -> dict[str, float]:
    """The 3 x 2 panels' placement (``Figure.subplots`` gridspec keywords) for a figure of
    ``width`` x ``height`` inches, from :data:`_MARGIN_IN`."""
    m = _MARGIN_IN
    panel_w = (width - m["left"] - m["right"] - m["wide"]) / 2
    panel_h = (height - m["top"] - m["bottom"] - 2 * m["high"]) / 3
    return {
        "left": m["left"] / width,
        "right": 1 - m["right"] / width,
        "top": 1 - m["top"] / height,
        "bottom": m["bottom"] / height,
        "wspace": m["wide"] / panel_w,
        "hspace": m["high"] / panel_h,
    }


def _labels_fit(fig: Figure) -> bool:
    """Whether, as drawn, every y axis label (placed by matplotlib beyond its tick labels) is
    inside the figure and clear of the other panels and their labels in its row."""
    renderer = fig.canvas.get_renderer()
    width = fig.bbox.width
    boxes = []  # (label's extent, its own axes's extent)
    for ax in fig.axes:
        if ax.yaxis.label.get_text():
            boxes.append((ax.yaxis.label.get_window_extent(renderer), ax.bbox))
    for label, own in boxes:
        if label.x0 < 0 or label.x1 > width:
            return False
        for other_label, other_axes in boxes:
            if other_axes is own or other_axes.bounds == own.bounds:
                continue  # the panel itself and its twin
            if label.overlaps(other_axes) or label.overlaps(other_label):
                return False
    return True
