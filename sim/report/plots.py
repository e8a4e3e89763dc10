"""Figures: the run overview a policy maker reads, in matplotlib (no display needed).

Drawn with matplotlib's object API (a ``Figure`` on an Agg canvas, never pyplot), and
matplotlib is imported only when a figure is drawn: ``from sim.report.plots import KIND_COLOURS``
costs nothing, and ``commsim run`` pays for matplotlib once, when it writes the overview.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "KIND_COLOURS",
    "OVERVIEW_DPI",
    "CouncilMaps",
    "TimeAxis",
    "council_map",
    "mark_events",
    "mark_shocks",
    "mark_warm_up",
    "overview_figure",
]

#: One colour per provider type, shared by every figure and the dashboard map.
KIND_COLOURS = {
    "outsourcer": "#d95f02",
    "mutual": "#1b9e77",
    "inhouse": "#7570b3",
    "local_firm": "#e7298a",  # issue 20's fourth type: apart from the mutuals' green
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
    "map_right": 0.2,  # right of the councils' maps (a run on its own map)
}
#: Width of the overview's column of maps (a run on its own map), the gap before it included.
_MAP_COLUMN_IN = 3.6


@dataclass(frozen=True)
class TimeAxis:
    """Quarters shown as years: calendar years from ``start_year`` (``scenario.start_year``)
    where the scenario states one, else years of the run (quarter 0 starts year 1)."""

    start_year: int | None = None

    def __call__(self, quarter: Any) -> Any:
        """The x position of ``quarter`` (a number or an array)."""
        first = 1 if self.start_year is None else self.start_year
        return first + np.asarray(quarter, dtype=float) / 4

    @property
    def label(self) -> str:
        """The x axis's label."""
        return "year" if self.start_year is not None else "year of the run"

    def name(self, quarter: int) -> str:
        """A quarter in words: ``1994 Q3`` or ``year 2 Q3``."""
        year, q = divmod(int(quarter), 4)
        if self.start_year is None:
            return f"year {year + 1} Q{q + 1}"
        return f"{self.start_year + year} Q{q + 1}"


@dataclass(frozen=True)
class CouncilMaps:
    """A run's councils on their own map, as the overview draws them beside its panels: each
    council's external share (not in-house) at the quarters recorded, one map a quarter.

    ``positions``: (n, 2) each council's x, y; ``edges``: (m, 2) neighbouring councils;
    ``sizes``: (n,) marker areas (a council's budget); ``external``: ``(quarter, share 0-1 by council)``, in order.
    """

    positions: np.ndarray
    edges: np.ndarray
    sizes: np.ndarray
    external: list[tuple[int, np.ndarray]] = field(default_factory=list)


def mark_shocks(
    ax: Axes,
    shocks: Sequence[tuple[int, str]],
    label: bool = False,
    time: TimeAxis | None = None,
) -> None:
    """Draw a dashed line at each shock's quarter (labelled with its kind on top panels);
    ``time`` places quarters on a time axis in years (default: x is the quarter)."""
    for quarter, kind in shocks:
        x = time(quarter) if time else quarter
        ax.axvline(x, color="black", linestyle="--", linewidth=0.9, alpha=0.7)
        if label:
            ax.annotate(
                "shock: " + kind.replace("_", " "),
                (x, 1.0),
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


def mark_warm_up(ax: Axes, warm_up: int, time: TimeAxis, label: bool = False) -> None:
    """Shade the warm-up (the first quarters the run outcomes leave out); with ``label``,
    name it in the panel's legend."""
    if warm_up > 0:
        ax.axvspan(
            time(0), time(warm_up), color="#999999", alpha=0.18, linewidth=0,
            label="warm-up (not in the outcomes)" if label else None,
        )  # fmt: skip


#: How each kind of event is marked: marker, colour and legend label.
EVENT_STYLE = {
    "failure": ("v", "#b2182b", "provider failure"),
    "handback": ("D", "#e08214", "contracts handed back"),
}


def mark_events(ax: Axes, events: Sequence[Mapping[str, Any]], time: TimeAxis) -> None:
    """Mark each failure and handback by a symbol near the top of ``ax`` (one per quarter
    and kind, however many), labelled in the panel's legend; the panel leaves room above
    its data for them."""
    for kind, (marker, colour, label) in EVENT_STYLE.items():
        quarters = sorted({e["quarter"] for e in events if e.get("event") == kind})
        if quarters:
            ax.plot(
                time(quarters),
                np.full(len(quarters), 0.95 if kind == "failure" else 0.905),
                linestyle="none",
                marker=marker,
                markersize=6 if kind == "failure" else 4,
                color=colour,
                transform=ax.get_xaxis_transform(),
                label=label,
                clip_on=False,
            )


def _joint_legend(ax: Axes, twin: Axes) -> None:
    """One legend for a panel and its twin axis."""
    handles, labels = ax.get_legend_handles_labels()
    more_handles, more_labels = twin.get_legend_handles_labels()
    ax.legend(handles + more_handles, labels + more_labels, loc="lower left", fontsize=8)


def _bars(ax: Axes, x: np.ndarray, heights: np.ndarray, width: float = 0.8, **style: Any) -> None:
    """Bars of ``width`` at ``x``, drawn as one patch (one outline of many rectangles) rather
    than one patch per bar: the same picture at a fraction of matplotlib's cost per artist."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    left, right = x - width / 2, x + width / 2
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
    ts: Mapping[str, Any],
    title: str,
    shocks: Sequence[tuple[int, str]],
    path: str | Path | None = None,
    *,
    start_year: int | None = None,
    warm_up: int = 0,
    events: Sequence[Mapping[str, Any]] = (),
    maps: CouncilMaps | None = None,
) -> Figure:
    """Six panels over time: market shares, service and disruption, local money, trust,
    spend and cost of failure, concentration; returned as a Figure, and saved as PNG at
    ``path`` if given. With ``maps`` (a run on its own map), the councils on their map beside
    them, coloured by their external share at each quarter recorded.

    ``ts``: the run's time series by column (``Simulation.series()``, or a DataFrame), with a
    ``quarter`` column and the quarterly reporters (:data:`sim.core.outcomes.REPORTERS`).
    ``start_year``: the calendar year of quarter 0 (``scenario.start_year``), else the axis
    counts years of the run. Shares and service are drawn on fixed 0-100% axes so that two
    runs compare by eye; the warm-up (``warm_up`` quarters) is shaded, and ``events``
    (failures and handbacks, as ``summary.json`` lists them) are marked.
    """
    from matplotlib.image import imsave  # here, not at the top: see the module's docstring

    options: dict[str, Any] = {
        "start_year": start_year,
        "warm_up": warm_up,
        "events": events,
        "maps": maps,
    }
    fig = _draw_overview(ts, title, shocks, True, **options)
    if not _labels_fit(fig):
        fig = _draw_overview(ts, title, shocks, False, **options)
    if path is not None:
        # the pixels already drawn, written as savefig would (which would draw them all again)
        imsave(
            Path(path),
            fig.canvas.buffer_rgba(),
            format="png",
            dpi=fig.dpi,
            pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL},
        )
    return fig


def _draw_overview(
    ts: Mapping[str, Any],
    title: str,
    shocks: Sequence[tuple[int, str]],
    fixed: bool,
    *,
    start_year: int | None = None,
    warm_up: int = 0,
    events: Sequence[Mapping[str, Any]] = (),
    maps: CouncilMaps | None = None,
) -> Figure:
    """The overview drawn on an Agg canvas: panels placed by :func:`_grid` if ``fixed``, else
    by matplotlib's constrained layout; ``maps`` in a column of their own on the right."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def col(name: str) -> np.ndarray:
        return np.asarray(ts[name], dtype=float)

    time = TimeAxis(start_year)
    q = time(col("quarter"))
    width, height = 12 + (_MAP_COLUMN_IN if maps is not None else 0), 10
    fig = Figure(figsize=(width, height), dpi=OVERVIEW_DPI, layout=None if fixed else "constrained")
    canvas = FigureCanvasAgg(fig)
    if maps is None:
        axes = fig.subplots(3, 2, sharex=True, gridspec_kw=_grid(width, height) if fixed else None)
    else:
        axes = _panels_and_maps(fig, maps, time, fixed)
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
    # fixed, so that two runs' dips compare by eye; the room above 100 holds the events
    ax.set(ylim=(0, 118), yticks=range(0, 101, 20))
    mark_warm_up(ax, warm_up, time, label=True)
    mark_events(ax, events, time)
    twin = ax.twinx()
    _bars(
        twin,
        q,
        col("contracts_disrupted"),
        width=0.2,
        color="#e7298a",
        alpha=0.5,
        label="contracts disrupted",
    )
    twin.set_ylabel("contracts disrupted per quarter", color="#e7298a")
    twin.set_ylim(
        0, 1.18 * max(col("contracts_disrupted").max(initial=0.0), 1.0)
    )  # below the events
    _joint_legend(ax, twin)

    ax = axes[1, 0]
    ax.plot(q, col("local_reinvestment"), color=KIND_COLOURS["mutual"], label="re-spent locally")
    ax.plot(q, col("leaked"), color=KIND_COLOURS["outsourcer"], label="leaves the area")
    ax.set(title="Where the money goes", ylabel="GBP m per quarter")
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower left", fontsize=8)
    twin = ax.twinx()
    twin.plot(q, 100 * col("local_share"), color="grey", linestyle=":", label="local share")
    twin.set_ylabel("local share of spend, % (dotted)")
    twin.set_ylim(0, 100)

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
        title="Spend and the cost of failure", ylabel="spend, GBP m per quarter", xlabel=time.label
    )
    ax.set_ylim(bottom=0)
    twin = ax.twinx()
    _bars(
        twin, q, col("emergency_cost"), width=0.2, color="#e6ab02", alpha=0.6,
        label="emergency cost",
    )  # fmt: skip
    twin.set_ylabel("emergency cost, GBP m per quarter", color="#a67c00")
    _joint_legend(ax, twin)

    ax = axes[2, 1]
    ax.plot(q, col("hhi"), color="#666666", label="HHI")
    ax.set(
        title="Market concentration and providers",
        ylabel="HHI, 0 to 1",
        xlabel=time.label,
        ylim=(0, 1),
    )
    twin = ax.twinx()
    twin.step(q, col("providers_active"), color="#a6761d", where="mid", label="providers trading")
    twin.set_ylabel("outsourcers and mutuals trading", color="#a6761d")
    twin.set_ylim(bottom=0)
    _joint_legend(ax, twin)

    from matplotlib.ticker import MaxNLocator

    for i, ax in enumerate(axes.flat):
        mark_shocks(ax, shocks, label=i == 0, time=time)
        if i != 1:  # the service panel has its own, named in its legend
            mark_warm_up(ax, warm_up, time)
        ax.grid(alpha=0.3)
    axes[2, 0].xaxis.set_major_locator(MaxNLocator(integer=True))  # shared: whole years
    canvas.draw()
    return fig


def _grid(width: float, height: float, maps: bool = False) -> dict[str, Any]:
    """The panels' placement (gridspec keywords) for a figure of ``width`` x ``height``
    inches, from :data:`_MARGIN_IN`: 3 x 2 panels, or with ``maps`` a grid of 6 rows (a panel
    spans two, a map three) and 3 columns (the maps' :data:`_MAP_COLUMN_IN` wide, minus their
    gap), panels of the same size either way."""
    m = _MARGIN_IN
    if not maps:
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
    row_h = (height - m["top"] - m["bottom"] - 5 * m["high"]) / 6
    columns = width - m["left"] - m["map_right"] - 2 * m["wide"]
    panel_w = (12 - m["left"] - m["right"] - m["wide"]) / 2
    return {
        "left": m["left"] / width,
        "right": 1 - m["map_right"] / width,
        "top": 1 - m["top"] / height,
        "bottom": m["bottom"] / height,
        "wspace": m["wide"] / (columns / 3),
        "hspace": m["high"] / row_h,
        "width_ratios": [panel_w, panel_w, columns - 2 * panel_w],
    }


def _panels_and_maps(fig: Figure, maps: CouncilMaps, time: TimeAxis, fixed: bool) -> np.ndarray:
    """The overview's 3 x 2 panels (sharing their x axis, its labels on the bottom row) and,
    in a column on their right, the councils' maps with one colour bar; returns the panels."""
    width, height = (float(inches) for inches in fig.get_size_inches())
    grid = fig.add_gridspec(6, 3, **(_grid(width, height, maps=True) if fixed else {}))
    axes = np.empty((3, 2), dtype=object)
    for i in range(3):
        for j in range(2):
            first = axes[0, 0] if i or j else None
            axes[i, j] = fig.add_subplot(grid[2 * i : 2 * i + 2, j], sharex=first)
            if i < 2:
                axes[i, j].tick_params(labelbottom=False)
    shown = maps.external[-2:]  # the first and last quarters recorded
    span = 6 // len(shown) if shown else 6
    dots = None
    for k, (quarter, external) in enumerate(shown):
        ax = fig.add_subplot(grid[k * span : (k + 1) * span, 2])
        dots = council_map(
            ax, maps.positions, maps.edges, 100 * np.asarray(external, dtype=float),
            sizes=maps.sizes, cmap="viridis", vmin=0, vmax=100,
        )  # fmt: skip
        ax.set_title(f"Councils' external share, {time.name(quarter)}", fontsize=10)
        for side in ax.spines.values():
            side.set_visible(False)
    if dots is not None:
        fig.colorbar(
            dots, ax=fig.axes[6:], location="bottom", fraction=0.04, pad=0.02, shrink=0.85,
            label="% of contract value not in-house\n(dot size: the council's budget)",
        )  # fmt: skip
    return axes


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
