"""The classroom dashboard: watch the market in a browser, press a shock, works offline.

Run it with ``commsim dashboard [SCENARIO.toml]`` (or ``solara run sim.app`` with
``COMMSIM_SCENARIO`` naming the file). The page is Mesa's SolaraViz with custom parts:

* a map of the council network, each council coloured by who holds most of its contract
  value and sized by budget, councils with a contract disrupted this quarter ringed in red;
* controls generated from the scenario schema for the main levers, a scenario picker,
  Step, Play and Reset (SolaraViz's own);
* shock buttons that apply a shock to the running model in the current quarter, through
  ``CommissioningModel.apply_shock`` (:func:`sim.shocks.apply_shock`), exactly as a scenario
  file would;
* live plots of market shares, service delivered, local share of spend and trust.

The model imports nothing of this module: the dashboard only reads the model and calls its
``apply_shock``.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import annotated_types
import numpy as np
import solara
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from mesa.visualization import SolaraViz
from mesa.visualization.utils import force_update, update_counter

from sim.agents import KIND_NAMES, ProviderKind
from sim.model import CommissioningModel, resolve_scenario
from sim.plots import KIND_COLOURS
from sim.scenario import Scenario, Shock, load_scenario

__all__ = [
    "COST_SHOCK",
    "LEVERS",
    "SCENARIO_ENV",
    "ClassroomModel",
    "Lever",
    "Page",
    "chosen_scenario",
    "council_colours",
    "dashboard_for",
    "draw_market_map",
    "draw_series",
    "event_text",
    "lever_params",
    "levers",
    "running_levers",
    "scenario_files",
]

#: Environment variable naming the scenario file the page starts with.
SCENARIO_ENV = "COMMSIM_SCENARIO"
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
HIT_EDGE = "#d7191c"
TITLE = "commsim: the classroom dashboard"
ROOT = Path(__file__).resolve().parent.parent
SCENARIO_DIR = ROOT / "scenarios"


# ----------------------------------------------------------------------------- the model


class ClassroomModel(CommissioningModel):
    """The model as SolaraViz builds it: from a scenario file plus lever overrides.

    SolaraViz's Reset calls ``type(model)(**params, scenario=<a Mesa Scenario>)``; Mesa's
    scenario carries nothing the model uses, so it is dropped and the file is read again.
    Two sliders may ask for social value weight + local preference above 1, which the schema
    forbids: local preference then gets what is left.

    Args:
        scenario_file: the TOML scenario file; None for the defaults.
        scenario: ignored (Mesa's own scenario object, passed by SolaraViz on Reset).
        rng: seed; defaults to the scenario's.
        **levers: overrides as ``section__field=value`` (see :data:`LEVERS`).
    """

    def __init__(
        self,
        scenario_file: str | None = None,
        *,
        scenario: Any = None,
        rng: Any = None,
        **levers: Any,
    ):
        social, local = "commissioning__social_value_weight", "commissioning__local_preference"
        if social in levers and local in levers:
            levers[local] = min(levers[local], max(1.0 - levers[social], 0.0))
        # A class repeats the scenario's run: Reset with the same levers shows the same market.
        params = resolve_scenario(scenario_file, levers)
        super().__init__(params, rng=params.scenario.seed if rng is None else rng)
        self.scenario_file = scenario_file


# ----------------------------------------------------------------------------- controls


@dataclass(frozen=True)
class Lever:
    """One control generated from the scenario schema.

    Attributes:
        key: dotted scenario key, e.g. ``commissioning.social_value_weight``.
        label: what the control says, with the unit.
        description: the schema's description of the parameter.
        unit: the schema's unit.
        kind: ``SliderFloat``, ``SliderInt`` or ``Checkbox`` (SolaraViz input types).
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
        section_model = Scenario.model_fields[section].annotation
        field = section_model.model_fields[name]
        unit = field.json_schema_extra["unit"]
        words = (
            section if name == "count" else name.replace("_", " ").replace("inhouse", "in-house")
        )
        label = f"{words.capitalize()} ({unit})"
        if field.annotation is bool:
            out.append(Lever(key, label, field.description, unit, "Checkbox"))
            continue
        low, high = _bounds(field.metadata)
        high = min(x for x in (high, cap) if x is not None)
        if field.annotation is int:
            low, high = int(low or 0), int(high)
            out.append(Lever(key, label, field.description, unit, "SliderInt", low, high, 1))
        else:
            out.append(Lever(key, label, field.description, unit, "SliderFloat", low, high, 0.01))
    return out


def lever_params(scenario_file: str | None) -> dict[str, Any]:
    """SolaraViz ``model_params``: the scenario file (fixed) and one input per lever, starting
    at the file's values."""
    scenario = load_scenario(scenario_file) if scenario_file else Scenario()
    params: dict[str, Any] = {"scenario_file": scenario_file}
    for lever in levers():
        section, name = lever.key.split(".")
        value = getattr(getattr(scenario, section), name)
        spec: dict[str, Any] = {"type": lever.kind, "label": lever.label, "value": value}
        if lever.kind != "Checkbox":  # a file may go past the classroom range: keep its value
            spec |= {"min": lever.minimum, "max": max(lever.maximum, value), "step": lever.step}
        params[lever.param_name] = spec
    return params


def scenario_files(extra: str | None = None) -> dict[str, str]:
    """The scenario files the picker offers, name -> path: every ``scenarios/*.toml``, plus
    ``extra`` (the file the dashboard started with) wherever it is."""
    files = {p.name: str(p) for p in sorted(SCENARIO_DIR.glob("*.toml"))}
    if extra and str(Path(extra).resolve()) not in files.values():
        path = str(Path(extra).resolve())
        files[path if Path(extra).name in files else Path(extra).name] = path
    return files


# ----------------------------------------------------------------------------- drawing


def council_colours(model: CommissioningModel) -> list[str]:
    """Each council's colour: the provider type holding most of its contract value (grey for
    a council whose services are all in a gap)."""
    value = model.council_value_by_kind()
    lead = np.argmax(value, axis=1)
    names = [KIND_NAMES[ProviderKind(k)] for k in lead]
    return [
        KIND_COLOURS[n] if v > 0 else KIND_COLOURS["gap"]
        for n, v in zip(names, value.sum(1), strict=True)
    ]


def draw_market_map(model: CommissioningModel, fig: Figure) -> None:
    """Draw the council network on ``fig``: colour by leading provider type, size by budget,
    a red ring round councils with a contract disrupted this quarter (a provider failed or
    handed it back), and a legend."""
    ax = fig.add_axes((0.01, 0.02, 0.64, 0.86))
    pos = np.array([model.positions[node] for node in model.nodes])
    edges = [(model.positions[a], model.positions[b]) for a, b in model.graph.edges]
    ax.add_collection(LineCollection(edges, colors="#cccccc", linewidths=0.6, zorder=1))
    budget = model.council_table.budget
    sizes = 20 + 180 * budget / budget.max()
    hit = model.ledger.councils_hit
    ax.scatter(
        pos[:, 0],
        pos[:, 1],
        s=sizes,
        c=council_colours(model),
        edgecolors=np.where(hit, HIT_EDGE, "white"),
        linewidths=np.where(hit, 2.5, 0.5),
        zorder=2,
    )
    low, high = pos.min(axis=0), pos.max(axis=0)
    pad = 0.04 * max(float((high - low).max()), 1e-9)
    ax.set(xlim=(low[0] - pad, high[0] + pad), ylim=(low[1] - pad, high[1] + pad))
    ax.set(xticks=[], yticks=[], aspect="equal")
    quarter = model.tally_quarter
    fig.text(
        0.5,
        0.985,
        f"Quarter {quarter}: who holds most of each council's contract value\n"
        f"(dot size: budget; red ring: {int(hit.sum())} councils with a contract disrupted)",
        ha="center",
        va="top",
        fontsize=9,
    )
    handles = [
        Patch(color=KIND_COLOURS["outsourcer"], label="private outsourcer"),
        Patch(color=KIND_COLOURS["mutual"], label="mutual"),
        Patch(color=KIND_COLOURS["inhouse"], label="in-house"),
        Patch(color=KIND_COLOURS["gap"], label="gap (no provider)"),
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markerfacecolor="white",
            markeredgecolor=HIT_EDGE,
            markeredgewidth=2.5,
            markersize=9,
            label="contract disrupted",
        ),
    ]
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)


#: The live plots: title, y label, {reporter: (label, colour)}, scale and y range (a lower
#: bound of None: at most 90, lower if the data go lower).
PLOTS: list[tuple[str, str, dict[str, tuple[str, str]], float, tuple[float | None, float]]] = [
    (
        "Who delivers: share of contract value",
        "% of contract value",
        {
            "share_outsourcer": ("private outsourcers", KIND_COLOURS["outsourcer"]),
            "share_mutual": ("mutuals", KIND_COLOURS["mutual"]),
            "share_inhouse": ("in-house", KIND_COLOURS["inhouse"]),
        },
        100.0,
        (0, 100),
    ),
    (
        "Service delivered",
        "% of required service",
        {"service_delivered": ("service delivered", "black")},
        100.0,
        (None, 100.5),
    ),
    (
        "Local share of spend",
        "% re-spent in the paying area",
        {"local_share": ("local share", KIND_COLOURS["mutual"])},
        100.0,
        (0, 100),
    ),
    ("Public trust", "index, 0 to 1", {"trust": ("mean trust", "#1f78b4")}, 1.0, (0, 1)),
]


def draw_series(
    model: CommissioningModel,
    fig: Figure,
    title: str,
    ylabel: str,
    measures: dict[str, tuple[str, str]],
    scale: float = 1.0,
    ylim: tuple[float | None, float] | None = None,
) -> None:
    """Draw reporters over the quarters simulated so far, with a dashed line at each shock."""
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.14, right=0.97, bottom=0.16, top=0.9)
    df = model.datacollector.get_model_vars_dataframe()
    drawn = []
    for name, (label, colour) in measures.items():
        values = df[name].to_numpy() * scale if name in df else np.array([])
        drawn.append(values)
        ax.plot(np.arange(values.size), values, color=colour, label=label, linewidth=1.6)
    for quarter, _ in model.shock_log:
        ax.axvline(quarter, color=HIT_EDGE, linestyle="--", linewidth=1.0)
    horizon = model.params.scenario.quarters
    ax.set(title=title, ylabel=ylabel, xlabel="quarter", xlim=(0, max(horizon - 1, 1)))
    if ylim:
        low = ylim[0]
        if low is None:
            lowest = min((float(np.min(v)) for v in drawn if v.size), default=100.0)
            low = min(90.0, lowest - 2)
        ax.set_ylim(low, ylim[1])
    ax.grid(alpha=0.3)
    if len(measures) > 1 or not len(df):
        ax.legend(loc="upper right", fontsize=8)
    if not len(df):
        ax.text(0.5, 0.5, "press Step", transform=ax.transAxes, ha="center", color="grey")


def event_text(event: dict[str, Any]) -> str:
    """One line on a failure or handback from ``model.events``."""
    n = event["contracts"]
    contracts = f"{n} contract{'' if n == 1 else 's'}"
    if event["event"] == "failure":
        verb = {"collapse": "collapsed", "insolvency": "went bust"}.get(event["cause"], "failed")
        return f"Quarter {event['quarter']}: {event['provider']} {verb}, {contracts} disrupted"
    return f"Quarter {event['quarter']}: {contracts} handed back"


# ----------------------------------------------------------------------------- components


def _figure(width: float, height: float, dpi: int = 80) -> Figure:
    # Fixed margins, no constrained layout: it costs more than the drawing (Step latency).
    return Figure(figsize=(width, height), dpi=dpi)


@solara.component
def MarketMap(model: CommissioningModel) -> None:
    """The council map (re-drawn whenever the model moves)."""
    update_counter.get()
    fig = _figure(5.6, 3.9, dpi=92)
    draw_market_map(model, fig)
    solara.FigureMatplotlib(fig, format="png", dependencies=[update_counter.value, id(model)])


def _series_component(title: str, ylabel: str, measures: dict, scale: float, ylim: Any):
    @solara.component
    def Series(model: CommissioningModel) -> None:
        update_counter.get()
        fig = _figure(5.0, 3.2)
        draw_series(model, fig, title, ylabel, measures, scale, ylim)
        solara.FigureMatplotlib(fig, format="png", dependencies=[update_counter.value, id(model)])

    Series.__doc__ = f"Live plot: {title}."
    return Series


EXPLANATION = """
<p><b>What is on screen.</b> Each dot on the map is a council; its colour says who holds most
of its contract value (orange: private outsourcers, green: mutuals, purple: in-house), its size
its budget. A red ring marks a council with a contract disrupted this quarter: its provider
failed or handed the work back. The plots follow the whole market, one point per quarter
(3 months); a dashed red line marks a shock.</p>
<p><b>What to try.</b> Press <i>Step</i> a few times, or <i>Play</i>. Press
<i>Collapse the largest outsourcer now</i> and watch the red rings, then Step: does service
dip? Who takes the work? Move a slider (e.g. social value weight), press <i>Reset</i>, and
compare the market after 10 years.</p>
"""


@solara.component
def Explanation(model: CommissioningModel) -> None:
    """A short plain-language panel: what is on screen and what to try."""
    with solara.Column(style={"padding": "8px", "font-size": "14px"}):
        solara.HTML(tag="div", unsafe_innerHTML=EXPLANATION)
        with solara.Details("What the controls mean"):
            for lever in levers():
                solara.Text(f"{lever.label}: {lever.description}")


#: Slider labels above their sliders, so long labels with units leave the slider its width.
SIDEBAR_CSS = """
.v-input__slider .v-input__slot { flex-wrap: wrap; }
.v-input__slider .v-input__slot > .v-label { flex: 0 0 100%; max-width: 100%; white-space: normal; }
"""


def running_levers(model: CommissioningModel) -> str:
    """The levers' values in the running model, e.g. for a line under the controls."""
    parts = []
    for lever in levers():
        section, name = lever.key.split(".")
        value = getattr(getattr(model.params, section), name)
        shown = ("yes" if value else "no") if isinstance(value, bool) else f"{value:g}"
        parts.append(f"{lever.label.split(' (')[0].lower()} {shown}")
    return ", ".join(parts)


@solara.component
def ClassroomCard(
    model: solara.Reactive[CommissioningModel], scenario: solara.Reactive[str | None]
) -> None:
    """Sidebar card: scenario picker, shock buttons, quarter counter and latest failures."""
    update_counter.get()
    m = model.value
    note = solara.use_reactive("")
    solara.use_effect(lambda: note.set(""), [id(m)])  # a new model (Reset) starts with no news

    def shock(spec: Shock, label: str) -> None:
        before = len(m.events)
        m.apply_shock(spec)
        new = m.events[before:]
        note.set(event_text(new[-1]) if new else f"Quarter {m.quarter}: {label}")
        force_update()

    def collapse() -> None:
        spec = Shock(kind="provider_collapse", quarter=m.quarter, target="largest_outsourcer")
        shock(spec, "no outsourcer left to collapse")

    def cost() -> None:
        spec = Shock(kind="cost_shock", quarter=m.quarter, magnitude=COST_SHOCK)
        shock(spec, f"delivery costs rose {COST_SHOCK:.0%} for every provider (fixed prices)")

    solara.Style(SIDEBAR_CSS)
    with solara.Card("Classroom"):
        files = scenario_files(scenario.value)
        shown = {path: name for name, path in files.items()}
        solara.Select(
            "Scenario (loads it now)",
            value=shown.get(str(scenario.value)),
            values=list(files),
            on_value=lambda name: scenario.set(files[name]),
        )
        horizon = m.params.scenario.quarters
        solara.Text(
            f"{m.quarter} of {horizon} quarters simulated ({m.quarter / 4:.1f} years)",
            classes=["commsim-quarter"],
        )
        solara.Button(
            "Collapse the largest outsourcer now", color="error", on_click=collapse, block=True
        )
        solara.Button(
            f"Cost shock now (+{COST_SHOCK:.0%})", color="warning", on_click=cost, block=True
        )
        solara.Text("Running with: " + running_levers(m), style={"font-size": "13px"})
        failures = [event_text(e) for e in m.events if e["event"] == "failure"][-3:]
        last = m.quarter - 1 if m.quarter else 0
        handbacks = [e for e in m.events if e["event"] == "handback" and e["quarter"] >= last]
        with solara.Column(classes=["commsim-status"]):
            if note.value:
                solara.Text(note.value, style={"font-weight": "bold"})
            for line in reversed(failures):
                if line != note.value:
                    solara.Text(line)
            if not failures and not note.value:
                solara.Text("No provider has failed yet.")
            for event in handbacks:
                solara.Text(event_text(event), style={"color": "#555"})


@functools.cache
def dashboard_for(scenario_file: str | None) -> Any:
    """The dashboard component of one scenario file: SolaraViz with the classroom card.

    One component type per file, so that picking another file unmounts the old dashboard and
    mounts a new one: a new model, and SolaraViz's parameters (kept inside it, and used by its
    Reset) start afresh from the new file. A changing key did not do that reliably.
    """

    @solara.component
    def Dashboard() -> None:
        initial = solara.use_memo(lambda: ClassroomModel(scenario_file), [])
        model = solara.use_reactive(initial)
        with solara.Sidebar():
            ClassroomCard(model, chosen_scenario)
        components = [(MarketMap, 0), (Explanation, 0)]
        components += [(series, 0) for series in _SERIES]
        SolaraViz(
            model,
            components=components,
            model_params=lever_params(scenario_file),
            name=TITLE,
            play_interval=200,
        )

    return Dashboard


_SERIES = [_series_component(*spec) for spec in PLOTS]
_start = os.environ.get(SCENARIO_ENV) or None
#: The scenario file the page shows (the picker sets it).
chosen_scenario = solara.reactive(str(Path(_start).resolve()) if _start else None)


@solara.component
def Page() -> None:
    """The page Solara serves: picking another scenario builds the dashboard afresh."""
    solara.Title(TITLE)
    dashboard_for(chosen_scenario.value)()
