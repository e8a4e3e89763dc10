"""What the map and the plots draw, as ECharts options (plain JSON) built from a
:class:`~sim.dashboard.controller.View`; the browser draws them (``assets/chart.vue``)."""

from __future__ import annotations

import html
from typing import Any, NamedTuple

import numpy as np

from sim.core.state import KIND_NAMES, ProviderKind
from sim.dashboard.controller import View
from sim.report.plots import KIND_COLOURS

__all__ = [
    "DASHES",
    "DISRUPTED",
    "KINDS",
    "PLOTS",
    "SHAPES",
    "Line",
    "Plot",
    "council_text",
    "kind_words",
    "map_base",
    "map_option",
    "map_text",
    "map_update",
    "merged_option",
    "plot_base",
    "plot_lines",
    "plot_option",
    "plot_text",
    "plot_update",
]

#: How the page names a provider type whose word in ``KIND_NAMES`` does not say it well:
#: (one, several). Any other type is called by its word, ``local_firm``: "local firm(s)".
_WORDS = {"outsourcer": ("private outsourcer", "outsourcers"), "inhouse": ("in-house", "in-house")}
#: The map's shape of each provider type, in ``ProviderKind``'s order ("diamond" is a gap's).
SHAPES = ("circle", "triangle", "rect", "pin", "arrow", "roundRect")


def kind_words(kind: ProviderKind) -> tuple[str, str]:
    """What the page calls a provider type: (one, several), e.g. ("mutual", "mutuals")."""
    word = KIND_NAMES[kind]
    return _WORDS.get(word, (word.replace("_", " "), word.replace("_", " ") + "s"))


#: What each provider type looks like on the map: legend label and shape (its colour is
#: ``KIND_COLOURS``'s), for every type in ``ProviderKind``, then a gap. Shape and colour both
#: carry the type, so a student who cannot tell the colours apart reads shapes.
KINDS = {KIND_NAMES[k]: (kind_words(k)[0], SHAPES[k]) for k in ProviderKind} | {
    "gap": ("gap (no provider)", "diamond")
}
DISRUPTED = "contract disrupted"


class Plot(NamedTuple):
    """One of the key plots.

    Attributes:
        title: its title, with the unit.
        measures: reporter name -> (line label, colour).
        scale: what a reporter's value is multiplied by (100 for a share shown in %).
        ylim: y range; a lower bound of None: 50, or 0 once the data go below 50.
        unit: the y axis's unit.
    """

    title: str
    measures: dict[str, tuple[str, str]]
    scale: float
    ylim: tuple[float | None, float]
    unit: str = ""


#: The key plots.
PLOTS: list[Plot] = [
    Plot(
        "Who delivers (% of value)",
        {
            f"share_{KIND_NAMES[k]}": (kind_words(k)[1], KIND_COLOURS[KIND_NAMES[k]])
            for k in ProviderKind
        },
        100.0,
        (0, 100),
        "%",
    ),
    Plot(
        "Service delivered (%)",
        {"service_delivered": ("service delivered", "#111111")},
        100.0,
        (None, 100),
        "%",
    ),
    Plot(
        "Local share of spend (%)",
        {"local_share": ("local share", "#a6761d")},
        100.0,
        (0, 100),
        "%",
    ),
    Plot("Trust (0 to 1)", {"trust": ("trust", "#1f78b4")}, 1.0, (0, 1)),
]
#: Line styles of a plot's lines, so that lines are told apart without their colour
#: (ECharts' names, or dash and gap lengths).
DASHES: tuple[str | list[int], ...] = ("solid", "dashed", "dotted", [9, 3, 2, 3], [2, 5])


class Line(NamedTuple):
    """One line of a plot as the page draws it: label, colour, dash (of :data:`DASHES`) and
    points (years, value in the plot's unit): the start at 0 years, then the value after
    quarter q at q / 4 years."""

    label: str
    colour: str
    dash: str | list[int]
    points: list[list[float]]


def plot_lines(view: View, plot: Plot) -> tuple[list[Line], float]:
    """The lines a plot draws over the quarters simulated so far, and the y axis's lower
    bound: fixed, or (a lower bound of None) 50 until the data go below 50, then 0. The
    screen's plots (:func:`plot_option`) and the PNG download draw these same lines."""
    _, measures, scale, ylim, _ = plot
    lines = []
    lowest = 100.0
    for n, (name, (label, colour)) in enumerate(measures.items()):
        start = [view.start[name]] if name in view.start else []
        values = [round(v * scale, 4) for v in start + list(view.series.get(name, []))]
        lowest = min([lowest, *values])
        first = 0 if start else 1
        points = [[(q + first) / 4, v] for q, v in enumerate(values)]
        lines.append(Line(label, colour, DASHES[n % len(DASHES)], points))
    low = ylim[0] if ylim[0] is not None else (50.0 if lowest >= 50 else 0.0)
    return lines, low


def _px(size: float, text: float) -> int:
    """A size in pixels at the page's text size."""
    return round(size * text)


def _toolbox(name: str, text: float = 1.0) -> dict[str, Any]:
    return {
        "right": 2,
        "top": 0,
        "itemSize": _px(14, text),
        "feature": {"saveAsImage": {"title": "PNG", "name": name, "pixelRatio": 2}},
    }


def merged_option(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """A chart's whole option: its ``base`` with a quarter's ``update`` merged in, as ECharts
    merges them in the browser (``assets/chart.vue``): the update's series are added after
    the base's, its other parts merged one level deep."""
    out = dict(base)
    for key, value in update.items():
        if key == "series":
            out["series"] = base.get("series", []) + value
        else:
            out[key] = base.get(key, {}) | value
    return out


def plot_base(view: View, plot: Plot, text: float = 1.0) -> dict[str, Any]:
    """What a plot's option keeps from quarter to quarter (title, axes, legend, toolbox):
    sent to the browser only when the run or the text size ``text`` changes."""
    title, measures, _, ylim, unit = plot
    years = view.horizon / 4
    option: dict[str, Any] = {
        "animation": False,
        "title": {"text": title, "textStyle": {"fontSize": _px(14, text)}, "left": 2, "top": 0},
        "grid": {
            "left": _px(48, text),
            "right": _px(12, text),
            "top": _px(30 if len(measures) == 1 else 70, text),
            "bottom": _px(40, text),
        },
        "tooltip": {"trigger": "axis"},
        "xAxis": {
            "type": "value",
            "name": "years",
            "nameLocation": "middle",
            "nameGap": _px(22, text),
            "nameTextStyle": {"fontSize": _px(12, text)},
            "min": 0,
            "max": years,
            "interval": 5 if years > 10 else 1,
            "axisLabel": {"fontSize": _px(12, text)},
        },
        "yAxis": {
            "type": "value",
            "name": unit,
            "nameLocation": "middle",
            "nameGap": _px(30, text),
            "nameTextStyle": {"fontSize": _px(12, text)},
            "max": ylim[1],
            "axisLabel": {"fontSize": _px(12, text)},
        },
        "toolbox": _toolbox(title.split(" (")[0].lower().replace(" ", "-"), text),
    }
    if len(measures) > 1:
        option["legend"] = {
            "top": _px(20, text),
            "left": 0,
            "itemWidth": _px(16, text),
            "itemGap": _px(6, text),
            "textStyle": {"fontSize": _px(12, text)},
        }
    return option


def plot_update(view: View, plot: Plot) -> dict[str, Any]:
    """What a plot's option changes each quarter: its lines (:func:`plot_lines`), each
    shock's dashed black line, and the y axis's lower bound."""
    drawn, low = plot_lines(view, plot)
    lines = [
        {
            "id": f"line-{n}",
            "type": "line",
            "name": line.label,
            # A single point (the start, at quarter 0) shows as a dot; a line, as a line.
            "showSymbol": len(line.points) == 1,
            "color": line.colour,
            "lineStyle": {"width": 2.5, "type": line.dash},
            "data": line.points,
        }
        for n, line in enumerate(drawn)
    ]
    if lines:  # always given, empty without a shock: a merge then clears the last run's
        lines[0]["markLine"] = {
            "silent": True,
            "symbol": "none",
            "label": {"show": False},
            "lineStyle": {"color": "#000000", "type": "dashed", "width": 1.2},
            "data": [{"xAxis": q / 4} for q in sorted({q for q, _ in view.shocks})],
        }
    return {"yAxis": {"min": low}, "series": lines}


def plot_option(view: View, plot: Plot, text: float = 1.0) -> dict[str, Any]:
    """The ECharts option of one plot over the quarters simulated so far, against years
    (:func:`plot_lines`): the start at 0, the value after quarter q at q / 4 years, so the
    last point is the quarter the page counts. A dashed black line marks each shock where it
    was applied; a tooltip reads the values. The y range is steady: fixed, or (a lower
    bound of None) 50 to 100 until the data go below 50, then 0 to 100. ``text`` scales its
    text (the page's text size). It is :func:`plot_base` and :func:`plot_update` merged."""
    return merged_option(plot_base(view, plot, text), plot_update(view, plot))


def council_text(view: View, i: int) -> str:
    """One council as the map's tooltip says it: its name (escaped: the tooltip is HTML and a
    network file names the councils) and the shares of its contract value by provider type."""
    held = ", ".join(
        f"{kind_words(kind)[1]} {100 * share:.0f}%"
        for kind, share in zip(ProviderKind, view.shares[i], strict=True)
        if share >= 0.005
    )
    return f"{html.escape(view.councils[i])}: {held or 'no provider'}"


def _map_sizes(view: View) -> np.ndarray:
    return 9 + 17 * view.budget / max(float(view.budget.max()), 1e-9)


def map_base(view: View, text: float = 1.0) -> dict[str, Any]:
    """What the map's option keeps from quarter to quarter (the councils' places, the lines
    joining neighbours, title, legend, tooltip): sent to the browser only when the run's
    geography or the text size ``text`` changes."""
    pos = view.positions
    low, high = pos.min(axis=0), pos.max(axis=0)
    pad = 0.03 * max(float((high - low).max()), 1e-9)
    edges = {
        "id": "edges",
        "type": "lines",
        "coordinateSystem": "cartesian2d",
        "silent": True,
        "lineStyle": {"color": "#c8c8c8", "width": 0.7},
        "data": [
            {"coords": [pos[a].round(4).tolist(), pos[b].round(4).tolist()]} for a, b in view.edges
        ],
    }
    axis = {"type": "value", "show": False, "scale": True}
    return {
        "animation": False,
        "title": {
            "text": "Who holds most of each council's contract value",
            "subtext": "one mark per council; size: budget; lines join neighbours, not places",
            "textStyle": {"fontSize": _px(15, text)},
            "subtextStyle": {"fontSize": _px(13, text), "color": "#333"},
            "left": 4,
            "top": 0,
        },
        "legend": {
            "data": [label for label, _ in KINDS.values()] + [DISRUPTED],
            "bottom": 0,
            "left": "center",
            "itemGap": _px(14, text),
            "textStyle": {"fontSize": _px(14, text), "color": "#111"},
            "selectedMode": False,
        },
        "grid": {"left": 4, "right": 4, "top": _px(46, text), "bottom": _px(52, text)},
        "xAxis": axis | {"min": float(low[0] - pad), "max": float(high[0] + pad)},
        "yAxis": axis | {"min": float(low[1] - pad), "max": float(high[1] + pad)},
        "toolbox": _toolbox("council-map", text),
        # Hover (or tap) a council: its name and who holds its contracts.
        "tooltip": {
            "trigger": "item",
            "triggerOn": "mousemove|click",
            "formatter": "{b}",
            "confine": True,
            "textStyle": {"fontSize": _px(14, text)},
        },
        "series": [edges],
    }


def map_update(view: View) -> dict[str, Any]:
    """What the map's option changes each quarter: each council's mark (its leading provider
    type's colour and shape, its size the budget, its hover text) and the black rings."""
    pos, sizes = view.positions, _map_sizes(view)
    series: list[dict[str, Any]] = []
    for kind, (label, shape) in KINDS.items():
        marks = [i for i, lead in enumerate(view.leader) if lead == kind]
        series.append(
            {
                "id": f"kind-{kind}",
                "type": "scatter",
                "name": label,
                "symbol": shape,
                "itemStyle": {"color": KIND_COLOURS[kind], "borderColor": "#ffffff"},
                "data": [
                    {
                        "value": pos[i].round(4).tolist(),
                        "symbolSize": round(float(sizes[i]), 1),
                        "name": council_text(view, i),
                    }
                    for i in marks
                ],
            }
        )
    series.append(
        {
            "id": "disrupted",
            "type": "scatter",
            "name": DISRUPTED,
            "symbol": "circle",
            "z": 3,
            "itemStyle": {"color": "rgba(0,0,0,0)", "borderColor": "#000000", "borderWidth": 3},
            "data": [
                {"value": pos[i].round(4).tolist(), "symbolSize": round(float(sizes[i]) + 9, 1)}
                for i in np.flatnonzero(view.hit)
            ],
        }
    )
    return {"series": series}


def map_option(view: View, text: float = 1.0) -> dict[str, Any]:
    """The ECharts option of the council map: one mark per council, its colour and shape the
    provider type holding most of its contract value, its size the budget; a thick black ring
    round each council with a contract disrupted in the quarter shown; neighbours joined.
    ``text`` scales its text (the page's text size). It is :func:`map_base` and
    :func:`map_update` merged."""
    return merged_option(map_base(view, text), map_update(view))


def plot_text(view: View, plot: Plot) -> str:
    """What a plot shows, in words (its text alternative for a screen reader): its title and
    the last quarter's values."""
    title, measures, scale, _, unit = plot
    values = [
        f"{label} {scale * view.latest(name):.{0 if scale > 1 else 2}f}{unit}"
        for name, (label, _) in measures.items()
        if view.latest(name) is not None
    ]
    when = f"after quarter {view.quarter}" if view.quarter else "at the start"
    return f"{title}, {when}: " + ", ".join(values) + "."


def map_text(view: View) -> str:
    """What the map shows, in words (its text alternative): how many councils each provider
    type leads, and how many had a contract disrupted."""
    counts = [
        f"{view.leader.count(kind)} {label}" for kind, (label, _) in KINDS.items()
        if view.leader.count(kind)
    ]  # fmt: skip
    return (
        f"Map of {len(view.leader)} councils after quarter {view.quarter}, by who holds most "
        f"of their contract value: {', '.join(counts)}; {int(view.hit.sum())} with a contract "
        "disrupted."
    )
