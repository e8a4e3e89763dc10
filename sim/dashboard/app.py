"""The classroom dashboard: run a lesson on a projector, or a whole class at once, offline.

Run it with ``commsim dashboard [SCENARIO.toml]`` (or ``solara run sim.dashboard.app`` with
``COMMSIM_SCENARIO`` naming the file). One Solara page per browser tab, each with its own
:class:`ClassroomModel`:

* a left column: the scenario picker, the levers (each with its number; a lever changed but
  not yet applied says "press Reset"), Reset, the two shock buttons and an event log of every
  shock and every failure with its quarter;
* a bar of controls in plain words: Step, Play / Pause, a slow-fast speed, "run to quarter",
  presentation mode (hides the left column), "About this model", and downloads of the plots
  (PNG) and the run's time series (CSV);
* big number monitors, one quarter count, a map of the councils and four plots, all drawn in
  the browser from data (ECharts, served by the machine itself), no images made per step.

The page reads the model only through the functions under "the model, read in one place";
the model imports nothing of this module.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import html
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import annotated_types
import ipyvue
import numpy as np
import solara
import solara.lab
import traitlets

from sim.abm.agents import KIND_NAMES, ProviderKind
from sim.abm.model import CommissioningModel, resolve_scenario
from sim.dashboard import SCENARIO_ENV
from sim.report.plots import KIND_COLOURS
from sim.scenario import Scenario, Shock, load_scenario

__all__ = [
    "COST_SHOCK",
    "LEVERS",
    "PLOTS",
    "SCENARIO_ENV",
    "SPEEDS",
    "ClassroomModel",
    "Layout",
    "Lever",
    "Page",
    "View",
    "event_log",
    "event_text",
    "lever_values",
    "levers",
    "map_option",
    "play_pause",
    "plot_option",
    "scenario_files",
    "unapplied",
]

#: The main levers a class moves, as dotted scenario keys, with a classroom maximum where the
#: schema's own range is wider than a slider can use (None: the schema's maximum).
LEVERS: dict[str, float | None] = {
    "commissioning.social_value_weight": 0.5,  # with local_preference: their sum must stay <= 1
    "commissioning.local_preference": 0.5,
    "councils.inhouse_capacity_retained": None,
    "outsourcers.count": 20,
    "mutuals.support_programme": None,
}
#: Size of the "Cost shock now" button's shock: costs rise 10% for every provider type.
COST_SHOCK = 0.1
#: Play speeds, slow to fast: seconds between quarters. A session also waits at least as
#: long as its last quarter took to compute and draw, so a playing tab never takes more than
#: half a core, and ten tabs leave the server time to answer the others.
SPEEDS = (2.0, 1.0, 0.5, 0.25)
TITLE = "commsim: the classroom dashboard"
#: What each provider type looks like on the map: legend label, colour and shape. Shape and
#: colour both carry the type, so a student who cannot tell the colours apart reads shapes.
KINDS = {
    "outsourcer": ("private outsourcer", "circle"),
    "mutual": ("mutual", "triangle"),
    "inhouse": ("in-house", "rect"),
    "gap": ("gap (no provider)", "diamond"),
}
DISRUPTED = "contract disrupted"
SHOCK_NAMES = {
    "provider_collapse": "collapse of the largest outsourcer",
    "cost_shock": "cost shock",
    "demand_shock": "demand shock",
    "budget_cut": "budget cut",
}


# ----------------------------------------------------------------------------- the model


class ClassroomModel(CommissioningModel):
    """The model the page runs: a scenario file plus the levers' values.

    Two sliders may ask for social value weight + local preference above 1, which the schema
    forbids: local preference then gets what is left.

    Args:
        scenario_file: the TOML scenario file; None for the defaults.
        rng: seed; defaults to the scenario's.
        **levers: overrides as ``section__field=value`` (see :data:`LEVERS`).
    """

    def __init__(self, scenario_file: str | None = None, *, rng: Any = None, **levers: Any):
        social, local = "commissioning__social_value_weight", "commissioning__local_preference"
        if social in levers and local in levers:
            levers[local] = min(levers[local], max(1.0 - levers[social], 0.0))
        # A class repeats the scenario's run: Reset with the same levers shows the same market.
        params = resolve_scenario(scenario_file, levers)
        super().__init__(params, rng=params.scenario.seed if rng is None else rng)
        self.scenario_file = scenario_file


@dataclass(frozen=True)
class View:
    """Everything the page draws, read from the model in one place (:func:`_view`).

    Attributes:
        quarter: quarters simulated so far (the one quarter count on the page).
        horizon: quarters in the run.
        running: False once the run reached its horizon.
        positions: (councils, 2) map coordinates.
        edges: (edges, 2) council indices of neighbouring councils.
        budget: each council's budget.
        leader: each council's leading provider type (a key of :data:`KINDS`).
        hit: each council: a contract disrupted in the quarter the map shows.
        disrupted: contracts disrupted in that quarter.
        series: reporter name -> one value per quarter simulated.
        shocks: (quarter, kind) of every shock applied, in order.
        events: failures and handbacks (dicts with quarter, event, contracts, ...).
        levers: dotted lever key -> the value the running model uses.
    """

    quarter: int
    horizon: int
    running: bool
    positions: np.ndarray
    edges: np.ndarray
    budget: np.ndarray
    leader: list[str]
    hit: np.ndarray
    disrupted: int
    series: dict[str, list[float]]
    shocks: list[tuple[int, str]]
    events: list[dict[str, Any]]
    levers: dict[str, Any]


def _view(model: CommissioningModel) -> View:
    """Read what the page draws from the model (the only place the page reads the model)."""
    index = {node: i for i, node in enumerate(model.nodes)}
    value = model.council_value_by_kind()
    lead = np.argmax(value, axis=1)
    leader = [
        KIND_NAMES[ProviderKind(k)] if total > 0 else "gap"
        for k, total in zip(lead, value.sum(1), strict=True)
    ]
    params = model.params
    return View(
        quarter=model.quarter,
        horizon=params.scenario.quarters,
        running=bool(model.running),
        positions=np.array([model.positions[node] for node in model.nodes], dtype=float),
        edges=np.array([(index[a], index[b]) for a, b in model.graph.edges], dtype=int),
        budget=np.asarray(model.council_table.budget, dtype=float),
        leader=leader,
        hit=np.asarray(model.ledger.councils_hit, dtype=bool).copy(),
        disrupted=int(model.ledger.contracts_disrupted),
        series={k: list(v) for k, v in model.datacollector.model_vars.items()},
        shocks=list(model.shock_log),
        events=list(model.events),
        levers={
            key: getattr(getattr(params, key.split(".")[0]), key.split(".")[1]) for key in LEVERS
        },
    )


def _press_shock(model: CommissioningModel, kind: str) -> int:
    """Apply a shock now, in the current quarter, exactly as a scenario file would; return
    its index in the model's list of shocks applied."""
    if kind == "provider_collapse":
        spec = Shock(kind=kind, quarter=model.quarter, target="largest_outsourcer")
    else:
        spec = Shock(kind=kind, quarter=model.quarter, magnitude=COST_SHOCK)
    model.apply_shock(spec)
    return len(model.shock_log) - 1


def _timeseries_csv(model: CommissioningModel) -> str:
    """The run so far, one row per quarter, as CSV (what ``commsim run`` writes)."""
    return model.timeseries().to_csv(index=False)


def _plots_png(model: CommissioningModel) -> bytes:
    """The run so far as the report's overview figure (PNG), drawn only when asked for."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.report.plots import overview_figure

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plots.png"
        overview_figure(model.timeseries(), model.params.scenario.name, model.shock_log, path)
        plt.close("all")
        return path.read_bytes()


# ----------------------------------------------------------------------------- controls


@dataclass(frozen=True)
class Lever:
    """One control generated from the scenario schema.

    Attributes:
        key: dotted scenario key, e.g. ``commissioning.social_value_weight``.
        label: what the control says, with the unit.
        description: the schema's description of the parameter.
        unit: the schema's unit.
        kind: ``float``, ``int`` or ``bool``.
        minimum, maximum, step: slider range (None for a checkbox).
    """

    key: str
    label: str
    description: str
    unit: str
    kind: str
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None

    @property
    def param_name(self) -> str:
        """The keyword the model takes: ``section__field``."""
        return self.key.replace(".", "__")

    def show(self, value: Any) -> str:
        """The value as the page writes it."""
        if self.kind == "bool":
            return "yes" if value else "no"
        return f"{value:d}" if self.kind == "int" else f"{value:.2f}"


def _bounds(metadata: list[Any]) -> tuple[float | None, float | None]:
    low = high = None
    for item in metadata:
        if isinstance(item, annotated_types.Ge | annotated_types.Gt):
            low = float(getattr(item, "ge", getattr(item, "gt", 0.0)))
        if isinstance(item, annotated_types.Le | annotated_types.Lt):
            high = float(getattr(item, "le", getattr(item, "lt", 0.0)))
    return low, high


def levers() -> list[Lever]:
    """The controls for :data:`LEVERS`, with labels, units and ranges from the schema."""
    out = []
    for key, cap in LEVERS.items():
        section, name = key.split(".")
        field = Scenario.model_fields[section].annotation.model_fields[name]
        unit = field.json_schema_extra["unit"]
        words = (
            section if name == "count" else name.replace("_", " ").replace("inhouse", "in-house")
        )
        label = f"{words.capitalize()} ({unit})"
        if field.annotation is bool:
            out.append(Lever(key, label, field.description, unit, "bool"))
            continue
        low, high = _bounds(field.metadata)
        high = min(x for x in (high, cap) if x is not None)
        if field.annotation is int:
            out.append(
                Lever(key, label, field.description, unit, "int", int(low or 0), int(high), 1)
            )
        else:
            out.append(Lever(key, label, field.description, unit, "float", low, high, 0.01))
    return out


def lever_values(scenario_file: str | None) -> dict[str, Any]:
    """The levers' values in a scenario file (the defaults for None), by dotted key."""
    scenario = load_scenario(scenario_file) if scenario_file else Scenario()
    return {key: getattr(getattr(scenario, key.split(".")[0]), key.split(".")[1]) for key in LEVERS}


def unapplied(chosen: dict[str, Any], running: dict[str, Any]) -> set[str]:
    """The levers whose slider differs from the value the running model uses."""
    out = set()
    for key, value in chosen.items():
        now = running[key]
        same = value == now if isinstance(now, bool | int) else abs(value - now) < 1e-9
        if not same:
            out.add(key)
    return out


def scenario_files(extra: str | None = None) -> dict[str, str]:
    """The scenario files the picker offers, name -> path: every ready scenario (packaged in
    the wheel, or ``scenarios/*.toml`` in a checkout), plus ``extra`` (the file the dashboard
    started with) wherever it is."""
    from sim.examples import examples_root

    files = {p.name: str(p) for p in sorted((examples_root() / "scenarios").glob("*.toml"))}
    if extra and str(Path(extra).resolve()) not in files.values():
        path = str(Path(extra).resolve())
        files[path if Path(extra).name in files else Path(extra).name] = path
    return files


def play_pause(playing: bool) -> str:
    """The label of the Play button."""
    return "Pause" if playing else "Play"


# ----------------------------------------------------------------------------- drawing


def map_option(view: View) -> dict[str, Any]:
    """The ECharts option of the council map: one mark per council, its colour and shape the
    provider type holding most of its contract value, its size the budget; a thick black ring
    round each council with a contract disrupted in the quarter shown; neighbours joined."""
    pos = view.positions
    sizes = 9 + 17 * view.budget / max(float(view.budget.max()), 1e-9)
    low, high = pos.min(axis=0), pos.max(axis=0)
    pad = 0.03 * max(float((high - low).max()), 1e-9)
    series: list[dict[str, Any]] = [
        {
            "type": "lines",
            "coordinateSystem": "cartesian2d",
            "silent": True,
            "lineStyle": {"color": "#c8c8c8", "width": 0.7},
            "data": [
                {"coords": [pos[a].round(4).tolist(), pos[b].round(4).tolist()]}
                for a, b in view.edges
            ],
        }
    ]
    for kind, (label, shape) in KINDS.items():
        marks = [i for i, lead in enumerate(view.leader) if lead == kind]
        series.append(
            {
                "type": "scatter",
                "name": label,
                "symbol": shape,
                "itemStyle": {"color": KIND_COLOURS[kind], "borderColor": "#ffffff"},
                "data": [
                    {"value": pos[i].round(4).tolist(), "symbolSize": round(float(sizes[i]), 1)}
                    for i in marks
                ],
            }
        )
    series.append(
        {
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
    axis = {"type": "value", "show": False, "scale": True}
    return {
        "animation": False,
        "title": {
            "text": "Who holds most of each council's contract value",
            "subtext": "one mark per council; size: budget",
            "textStyle": {"fontSize": 15},
            "subtextStyle": {"fontSize": 13, "color": "#333"},
            "left": 4,
            "top": 0,
        },
        "legend": {
            "data": [label for label, _ in KINDS.values()] + [DISRUPTED],
            "bottom": 0,
            "left": "center",
            "itemGap": 14,
            "textStyle": {"fontSize": 14, "color": "#111"},
            "selectedMode": False,
        },
        "grid": {"left": 4, "right": 4, "top": 46, "bottom": 52},
        "xAxis": axis | {"min": float(low[0] - pad), "max": float(high[0] + pad)},
        "yAxis": axis | {"min": float(low[1] - pad), "max": float(high[1] + pad)},
        "toolbox": _toolbox("council-map"),
        "series": series,
    }


#: The key plots: title, {reporter: (label, colour)}, scale, y range (a lower bound of None:
#: at most 90, lower if the data go lower) and unit.
PLOTS: list[tuple[str, dict[str, tuple[str, str]], float, tuple[float | None, float], str]] = [
    (
        "Who delivers (% of value)",
        {
            "share_outsourcer": ("outsourcers", KIND_COLOURS["outsourcer"]),
            "share_mutual": ("mutuals", KIND_COLOURS["mutual"]),
            "share_inhouse": ("in-house", KIND_COLOURS["inhouse"]),
        },
        100.0,
        (0, 100),
        "%",
    ),
    (
        "Service delivered (%)",
        {"service_delivered": ("service delivered", "#111111")},
        100.0,
        (None, 100),
        "%",
    ),
    (
        "Local share of spend (%)",
        {"local_share": ("local share", KIND_COLOURS["mutual"])},
        100.0,
        (0, 100),
        "%",
    ),
    ("Trust (0 to 1)", {"trust": ("trust", "#1f78b4")}, 1.0, (0, 1), ""),
]
#: Line styles of a plot's lines, so that lines are told apart without their colour.
DASHES = ("solid", "dashed", "dotted")


def _toolbox(name: str) -> dict[str, Any]:
    return {
        "right": 2,
        "top": 0,
        "itemSize": 14,
        "feature": {"saveAsImage": {"title": "PNG", "name": name, "pixelRatio": 2}},
    }


def plot_option(
    view: View,
    title: str,
    measures: dict[str, tuple[str, str]],
    scale: float,
    ylim: tuple[float | None, float],
    unit: str = "",
) -> dict[str, Any]:
    """The ECharts option of one plot over the quarters simulated so far, with a dashed
    black line at each shock."""
    lines = []
    lowest = 100.0
    for n, (name, (label, colour)) in enumerate(measures.items()):
        values = [round(v * scale, 4) for v in view.series.get(name, [])]
        lowest = min([lowest, *values])
        lines.append(
            {
                "type": "line",
                "name": label,
                "showSymbol": False,
                "color": colour,
                "lineStyle": {"width": 2.5, "type": DASHES[n % len(DASHES)]},
                "data": [[q, v] for q, v in enumerate(values)],
            }
        )
    if lines and view.shocks:
        lines[0]["markLine"] = {
            "silent": True,
            "symbol": "none",
            "label": {"show": False},
            "lineStyle": {"color": "#000000", "type": "dashed", "width": 1.2},
            "data": [{"xAxis": q} for q in sorted({q for q, _ in view.shocks})],
        }
    low = ylim[0] if ylim[0] is not None else min(90.0, float(np.floor(lowest - 2)))
    option: dict[str, Any] = {
        "animation": False,
        "title": {"text": title, "textStyle": {"fontSize": 14}, "left": 2, "top": 0},
        "grid": {"left": 38, "right": 10, "top": 30 if len(lines) == 1 else 70, "bottom": 24},
        "xAxis": {
            "type": "value",
            "min": 0,
            "max": max(view.horizon - 1, 1),
            "axisLabel": {"fontSize": 12},
        },
        "yAxis": {"type": "value", "min": low, "max": ylim[1], "axisLabel": {"fontSize": 12}},
        "toolbox": _toolbox(title.split(" (")[0].lower().replace(" ", "-")),
        "series": lines,
    }
    if len(lines) > 1:
        option["legend"] = {
            "top": 20,
            "left": 0,
            "itemWidth": 16,
            "itemGap": 6,
            "textStyle": {"fontSize": 12},
        }
    return option


def event_text(event: dict[str, Any]) -> str:
    """One line on a failure or handback from the model's events."""
    n = event["contracts"]
    contracts = f"{n} contract{'' if n == 1 else 's'}"
    if event["event"] == "failure":
        verb = {"collapse": "collapsed", "insolvency": "went bust"}.get(event["cause"], "failed")
        return f"Quarter {event['quarter']}: {event['provider']} {verb}, {contracts} disrupted"
    return f"Quarter {event['quarter']}: {contracts} handed back"


def event_log(view: View, pressed: set[int]) -> list[str]:
    """Every shock (pressed here, or from the scenario file) and every failure and handback,
    newest first. ``pressed`` holds the indices of the shocks pressed on the page."""
    rows: list[tuple[int, int, str]] = []
    for i, (q, kind) in enumerate(view.shocks):
        how = "pressed" if i in pressed else "from the scenario file"
        rows.append((q, 0, f"Quarter {q}: shock {how}: {SHOCK_NAMES.get(kind, kind)}"))
    rows += [(e["quarter"], 1, event_text(e)) for e in view.events]
    rows.sort(key=lambda row: (row[0], row[1]))  # stable: the order things happened in
    return [text for _, _, text in reversed(rows)]


# ----------------------------------------------------------------------------- the page

ABOUT = """
<h3>What it is</h3>
<p>A model of how councils buy public services (care, waste, housing support...) from three
kinds of provider: large national <b>private outsourcers</b>, small local <b>mutuals</b>
(owned by staff or community), and the council's own <b>in-house</b> teams. Each council is
a mark on the map. One step is a quarter (3 months); a run is usually 20 years.</p>
<h3>How it works</h3>
<p>When a contract ends, the council tenders it: providers bid a price, and the council
scores bids on price, quality, social value and (if it chooses) local preference. Outsourcers
are big, so they can bid low; mutuals re-spend more of each pound locally. Providers that make
losses hand contracts back or go bust; then the councils they served lose service until
someone else takes the work. Public trust follows how well services are delivered.</p>
<p>The model is stylised: its numbers show mechanisms, not forecasts.</p>
<h3>Things to try</h3>
<ul>
<li>Press <b>Play</b> and watch who wins the tenders over five years.</li>
<li>At quarter 12, press <b>Collapse the largest outsourcer now</b>: where are the black
rings? What happens to service at the next step? Who takes the work?</li>
<li>Move <b>Social value weight</b> and <b>Local preference</b> up, tick the <b>Support
programme</b>, press <b>Reset</b>: does more money stay local?</li>
<li>Press <b>Cost shock now</b> and watch a few quarters: who is hurt first?</li>
</ul>
<h3>Reading the page</h3>
<p>Map: colour and shape give who holds most of a council's contract value (orange circle:
private outsourcer, green triangle: mutual, purple square: in-house, grey diamond: no
provider); a thick black ring marks a council with a contract disrupted in the last quarter.
On the plots a dashed black line marks a shock. The numbers at the top are the last quarter's.
</p>
"""

CSS = """
html, body { overflow: hidden; }
.commsim-root { height: 100vh; width: 100vw; overflow: hidden; background: #fafafa;
  font-size: 14px; color: #111; }
.commsim-side { width: 270px; min-width: 270px; height: 100vh; overflow-y: auto;
  padding: 6px 10px; background: #f0f0f0; border-right: 1px solid #ddd; }
.commsim-main { flex: 1 1 auto; height: 100vh; overflow: hidden; padding: 4px 8px; }
.commsim-bar { display: flex; align-items: center; gap: 6px; flex-wrap: nowrap;
  height: 44px; }
.commsim-bar .v-btn { text-transform: none; letter-spacing: 0; }
.commsim-side .v-btn { text-transform: none; letter-spacing: 0; }
.commsim-monitors { display: flex; gap: 6px; height: 62px; margin: 2px 0 4px 0; }
.commsim-monitor { flex: 1 1 0; background: white; border: 1px solid #ddd; border-radius: 4px;
  padding: 1px 6px; line-height: 1.15; }
.commsim-monitor .label { font-size: 13px; color: #333; white-space: nowrap; }
.commsim-monitor .value { font-size: 26px; font-weight: 600; white-space: nowrap; }
.commsim-body { display: flex; gap: 6px; }
.commsim-grid { display: grid; grid-template-columns: 1fr 1fr; grid-template-rows: 1fr 1fr;
  gap: 6px; flex: 1 1 0; min-width: 0; }
.commsim-side > * { flex: 0 0 auto; }
.commsim-panel { background: white; border: 1px solid #ddd; border-radius: 4px; }
.commsim-lever { margin: 0 0 2px 0; }
.commsim-lever .name { font-size: 13px; line-height: 1.2; }
.commsim-lever .num { font-weight: 700; }
.commsim-lever .v-input { margin-top: 0; padding-top: 0; }
.commsim-lever .v-input__slot { min-height: 22px; margin-bottom: 0; }
.commsim-pending { color: #7a3f00; background: #fff0c2; font-weight: 700; padding: 0 4px;
  border-radius: 3px; white-space: nowrap; }
.commsim-log { font-size: 13px; line-height: 1.3; background: white; border: 1px solid #ddd;
  border-radius: 4px; padding: 2px 6px; overflow-y: auto; }
.commsim-end { background: #1b4f72; color: white; font-weight: 600; padding: 2px 10px;
  border-radius: 4px; font-size: 15px; }
"""


class _Chart(ipyvue.VueTemplate):
    """A chart drawn in the browser by ECharts (served by this machine) from an ECharts
    option sent as JSON text: a string costs the page's renderer nothing to compare, where a
    dict of hundreds of points was walked item by item on every quarter."""

    template = traitlets.Unicode(
        """<template>
  <div ref="chart" class="commsim-chart" :data-quarter="drawn"
       style="width: 100%; height: 100%"></div>
</template>
<script>
module.exports = {
  data() { return { drawn: -1 }; },
  mounted() {
    const cdn = window.solara ? window.solara.cdn : '_solara/cdn';
    const load = window.requirejs ? Promise.resolve() : new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = cdn + '/requirejs@2.3.6/require.js';
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
    load.then(() => window.requirejs([cdn + '/echarts@5.4.0/dist/echarts.min.js'], (echarts) => {
      if (this.gone) { return; }
      this.chart = echarts.init(this.$refs.chart);
      this.draw();
      this.observer = new ResizeObserver(() => this.chart.resize());
      this.observer.observe(this.$refs.chart);
    }));
  },
  destroyed() {
    this.gone = true;
    if (this.observer) { this.observer.disconnect(); }
    if (this.chart) { this.chart.dispose(); }
  },
  computed: { frame() { return [this.spec, this.quarter]; } },
  watch: { frame() { this.draw(); } },  /* once per update, even if only one of them moved */
  methods: {
    draw() {
      if (!this.chart) { return; }
      this.chart.setOption(JSON.parse(this.spec), true);  /* draws at once, no animation */
      this.drawn = this.quarter;
    },
  },
};
</script>"""
    ).tag(sync=True)
    spec = traitlets.Unicode("{}").tag(sync=True)
    quarter = traitlets.Int(0).tag(sync=True)


def _chart(option: dict[str, Any], quarter: int) -> None:
    _Chart.element(spec=json.dumps(option, separators=(",", ":")), quarter=quarter)


class _LeaveGuard(ipyvue.VueTemplate):
    """Asks the browser to confirm before a reload or a closed tab discards a run."""

    template = traitlets.Unicode(
        """<template><span style="display: none"></span></template>
<script>
module.exports = {
  mounted() {
    this.handler = (e) => { if (this.armed) { e.preventDefault(); e.returnValue = ''; } };
    window.addEventListener('beforeunload', this.handler);
  },
  destroyed() { window.removeEventListener('beforeunload', this.handler); },
};
</script>"""
    ).tag(sync=True)
    armed = traitlets.Bool(False).tag(sync=True)


@dataclass
class _Session:
    """One tab's model and the lock that keeps Play, Step and the buttons from interleaving."""

    model: CommissioningModel
    lock: threading.Lock
    pressed: set[int]
    ended: threading.Event  # set when the tab's page goes or the model is replaced: Play stops


def _build(scenario_file: str | None, values: dict[str, Any]) -> _Session:
    model = ClassroomModel(
        scenario_file, **{key.replace(".", "__"): value for key, value in values.items()}
    )
    return _Session(model, threading.Lock(), set(), threading.Event())


_start = os.environ.get(SCENARIO_ENV) or None
START = str(Path(_start).resolve()) if _start else None


def _monitor(label: str, value: str, css: str = "") -> None:
    with solara.Div(classes=["commsim-monitor", css]):
        solara.Div(children=[label], classes=["label"])
        solara.Div(children=[value], classes=["value"])


def _percent(series: dict[str, list[float]], name: str) -> str:
    values = series.get(name) or []
    return f"{100 * values[-1]:.0f}%" if values else "–"


@solara.component
def Monitors(view: View) -> None:
    """Big numbers: the one quarter count and the last quarter's outcomes."""
    s = view.series
    trust = f"{s['trust'][-1]:.2f}" if s.get("trust") else "–"
    with solara.Div(classes=["commsim-monitors"]):
        _monitor("Quarter", f"{view.quarter} of {view.horizon}", "commsim-quarter")
        _monitor("Service delivered", _percent(s, "service_delivered"))
        _monitor("Outsourcers", _percent(s, "share_outsourcer"))
        _monitor("Mutuals", _percent(s, "share_mutual"))
        _monitor("In-house", _percent(s, "share_inhouse"))
        _monitor("Local share", _percent(s, "local_share"))
        _monitor("Trust", trust)
        _monitor("Contracts disrupted", f"{view.disrupted}", "commsim-disrupted")


@solara.component
def LeverControl(lever: Lever, value: Any, running: Any, on_value: Callable[[Any], None]) -> None:
    """One lever: its name and number as text, "press Reset" while it differs from the
    running model, and the slider (or tick box)."""
    pending = lever.key in unapplied({lever.key: value}, {lever.key: running})
    with solara.Div(classes=["commsim-lever"]):
        children: list[Any] = [
            lever.label + ": ",
            solara.Text(lever.show(value), classes=["num"]),
        ]
        if pending:
            children += [" ", solara.Text("press Reset", classes=["commsim-pending"])]
        solara.Div(children=children, classes=["name"])
        if lever.kind == "bool":
            solara.Checkbox(label="on", value=bool(value), on_value=on_value, style="margin: 0")
        elif lever.kind == "int":
            solara.SliderInt(
                "", value=int(value), min=int(lever.minimum), max=int(max(lever.maximum, value)),
                on_value=on_value, thumb_label=False,
            )  # fmt: skip
        else:
            solara.SliderFloat(
                "", value=float(value), min=lever.minimum, max=max(lever.maximum, value),
                step=lever.step, on_value=on_value, thumb_label=False,
            )  # fmt: skip


@solara.component
def Page() -> None:
    """The page Solara serves: one model per browser tab."""
    chosen = solara.use_reactive(START)
    first = solara.use_memo(lambda: lever_values(START), [])
    values = solara.use_reactive(first)
    session = solara.use_reactive(solara.use_memo(lambda: _build(START, first), []))
    tick = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    speed = solara.use_reactive(3)
    target = solara.use_reactive(20)
    present = solara.use_reactive(False)
    about = solara.use_reactive(False)
    pending = solara.use_reactive(None)  # an action waiting for "discard this run?"
    kept = solara.use_reactive(0)  # how often "keep this run" was answered

    s = session.value
    tick.get()  # re-render whenever the model moved
    with s.lock:
        view = _view(s.model)

    def redraw() -> None:
        tick.set(tick.value + 1)

    def advance(until: int | None = None) -> None:
        with s.lock:
            model = s.model
            if model.running:
                model.step()
            while until is not None and model.running and model.quarter < until:
                model.step()
        redraw()

    def play_loop() -> None:
        while playing.value and not s.ended.is_set():
            start = time.perf_counter()
            advance()
            if not s.model.running:
                playing.set(False)
                break
            took = time.perf_counter() - start
            time.sleep(max(SPEEDS[speed.value - 1] - took, took))

    solara.lab.use_task(play_loop, dependencies=[playing.value, id(s)], prefer_threaded=True)
    solara.use_effect(lambda: s.ended.set, [id(s)])  # runs s.ended.set() when s goes

    def press(kind: str) -> None:
        with s.lock:
            s.pressed.add(_press_shock(s.model, kind))
        redraw()

    def rebuild(scenario_file: str | None, lever_set: dict[str, Any]) -> None:
        playing.set(False)
        session.set(_build(scenario_file, lever_set))

    def do(action: tuple[str, Any]) -> None:
        if action[0] == "pick":
            chosen.set(action[1])
            fresh = lever_values(action[1])
            values.set(fresh)
            rebuild(action[1], fresh)
        else:
            rebuild(chosen.value, values.value)

    def ask(action: tuple[str, Any]) -> None:
        if view.quarter > 0:
            playing.set(False)
            pending.set(action)
        else:
            do(action)

    files = scenario_files(chosen.value)
    names = {path: name for name, path in files.items()}
    log = event_log(view, s.pressed)

    solara.Title(TITLE)
    solara.Style(CSS)
    _LeaveGuard.element(armed=view.quarter > 0)
    with solara.Row(classes=["commsim-root"], gap="0px"):
        if not present.value:
            with solara.Column(classes=["commsim-side"], gap="4px"):
                solara.Select(
                    "Scenario",
                    value=names.get(str(chosen.value)),
                    values=list(files),
                    on_value=lambda name: ask(("pick", files[name])),
                    dense=True,
                ).key(f"picker-{kept.value}")  # a new picker after "keep this run"
                for lever in levers():
                    LeverControl(
                        lever,
                        values.value[lever.key],
                        view.levers[lever.key],
                        lambda v, k=lever.key: values.set(values.value | {k: v}),
                    )
                solara.Button(
                    "Reset: start again with these levers",
                    on_click=lambda: ask(("reset", None)),
                    color="primary",
                    block=True,
                    small=True,
                )
                solara.Button(
                    "Collapse the largest outsourcer now",
                    on_click=lambda: press("provider_collapse"),
                    color="#8b0000",
                    dark=True,
                    block=True,
                    small=True,
                )
                solara.Button(
                    f"Cost shock now (+{COST_SHOCK:.0%})",
                    on_click=lambda: press("cost_shock"),
                    color="#7a4a00",
                    dark=True,
                    block=True,
                    small=True,
                )
                solara.Text("Event log (newest first)", style={"font-weight": "600"})
                with solara.Div(
                    classes=["commsim-log"], style={"flex": "1 1 0", "min-height": "60px"}
                ):
                    solara.HTML(
                        tag="div",
                        unsafe_innerHTML="<br>".join(
                            html.escape(line) for line in log or ["Nothing has happened yet."]
                        ),
                    )
        with solara.Column(classes=["commsim-main"], gap="0px"):
            with solara.Div(classes=["commsim-bar"]):
                solara.Button(
                    "Step", on_click=advance, disabled=not view.running or playing.value, small=True
                )
                solara.Button(
                    play_pause(playing.value),
                    on_click=lambda: playing.set(not playing.value),
                    disabled=not view.running,
                    color="primary",
                    small=True,
                )
                solara.Text("Speed: slow")
                with solara.Div(style={"width": "80px"}):
                    solara.SliderInt("", value=speed, min=1, max=len(SPEEDS), thumb_label=False)
                solara.Text("fast")
                solara.Button(
                    f"Run to quarter {target.value}",
                    on_click=lambda: advance(target.value),
                    disabled=not view.running or playing.value,
                    small=True,
                )
                solara.InputInt(
                    "",
                    value=target,
                    style={"max-width": "52px"},
                    dense=True,
                    continuous_update=True,
                )
                solara.Button(
                    "Show levers" if present.value else "Presentation mode",
                    on_click=lambda: present.set(not present.value),
                    small=True,
                    outlined=True,
                )
                solara.Button(
                    "About this model", on_click=lambda: about.set(True), small=True, outlined=True
                )
                solara.FileDownload(
                    lambda: _timeseries_csv(s.model),
                    filename="timeseries.csv",
                    label="CSV",
                    mime_type="text/csv",
                )
                solara.FileDownload(
                    lambda: _plots_png(s.model),
                    filename="plots.png",
                    label="PNG",
                    mime_type="image/png",
                )
            if not view.running:
                solara.Div(
                    children=[
                        f"The run is over: all {view.horizon} quarters ({view.horizon / 4:g} years)"
                        " simulated. Download the CSV, or press Reset to start again."
                    ],
                    classes=["commsim-end"],
                )
            Monitors(view)
            height = "calc(100vh - 128px)" if view.running else "calc(100vh - 156px)"
            with solara.Div(classes=["commsim-body"], style={"height": height}):
                with solara.Div(
                    classes=["commsim-panel"],
                    style={"flex": "0 0 50%" if present.value else "0 0 54%", "height": "100%"},
                ):
                    _chart(map_option(view), view.quarter)
                with solara.Div(classes=["commsim-grid"], style={"height": "100%"}):
                    for spec in PLOTS:
                        with solara.Div(classes=["commsim-panel"], style={"min-height": 0}):
                            _chart(plot_option(view, *spec), view.quarter)
    solara.lab.ConfirmationDialog(
        pending.value is not None,
        on_close=lambda: pending.set(None),
        title="Discard this run?",
        content=f"The run is at quarter {view.quarter}. Starting again throws it away.",
        ok="Discard and start again",
        on_ok=lambda: do(pending.value),
        cancel="Keep this run",
        on_cancel=lambda: kept.set(kept.value + 1),
    )
    About(about)


@solara.component
def About(open_: solara.Reactive[bool]) -> None:
    """The "About this model" panel: what it is, how it works, things to try."""
    dialog = solara.v.Dialog(v_model=open_.value, on_v_model=open_.set, max_width=760)
    with dialog, solara.Card("About this model"):
        solara.HTML(tag="div", unsafe_innerHTML=ABOUT)
        with solara.Details("What the levers mean"):
            for lever in levers():
                solara.Text(f"{lever.label}: {lever.description}")
        solara.Button("Close", on_click=lambda: open_.set(False))


@solara.component
def Layout(children: list[Any] = []) -> None:  # noqa: B006 (Solara's layout signature)
    """No app bar, no margins: the page is laid out for a 1280x720 projector."""
    with solara.Column(gap="0px", style={"padding": "0", "margin": "0"}):
        for child in children:
            solara.display(child)


def _release_memory() -> None:
    """After a tab's session ends: collect its model and hand the freed memory back to the
    system (glibc keeps freed memory for reuse unless asked)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: memory is reused instead
        ctypes.CDLL("libc.so.6").malloc_trim(0)


@solara.lab.on_kernel_start
def _on_session() -> Callable[[], None]:
    # The returned function runs when the session is culled (a while after its tab closed),
    # before its objects are dropped: release the memory a moment later.
    return lambda: threading.Timer(2.0, _release_memory).start()
