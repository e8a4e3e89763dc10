"""The pieces of the page, each a Solara component that re-renders only when what it shows
moves: the parts that show the run (monitors, charts, event log, the control bar) read the
page's ``tick`` themselves, so a new quarter redraws them and nothing else."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import ipyvue
import solara
import traitlets

from sim.core.state import KIND_NAMES, ProviderKind
from sim.core.tendering import effective_weights
from sim.dashboard.charts import (
    PLOTS,
    kind_words,
    map_base,
    map_text,
    map_update,
    plot_base,
    plot_text,
    plot_update,
)
from sim.dashboard.controller import SPEEDS, Session, View
from sim.dashboard.events import event_log
from sim.dashboard.export import export_name, plots_png, timeseries_csv
from sim.dashboard.levers import Lever, levers, unapplied
from sim.dashboard.recipe import recipe_of

__all__ = [
    "TEXT_SIZES",
    "About",
    "Chart",
    "ControlBar",
    "EndBanner",
    "EventLog",
    "Guard",
    "LeverControl",
    "Monitors",
    "Pace",
    "PageSetup",
    "RunCharts",
    "ScenarioPicker",
    "asset",
    "play_pause",
    "score_weights",
]


#: The page's text sizes, as multiples of its normal size (14 px); the largest, which
#: presentation mode uses, makes the smallest text on the page (a plot's axis labels, 12 px
#: normally) 32 px: readable from the back of a classroom at 720 lines.
TEXT_SIZES = (1.0, 1.5, 2.0, 32 / 12)


def asset(name: str) -> str:
    """The text of one of the page's files in ``sim/dashboard/assets`` (package data)."""
    return (files("sim.dashboard") / "assets" / name).read_text(encoding="utf-8")


def play_pause(playing: bool) -> str:
    """The label of the Play button."""
    return "Pause" if playing else "Play"


class Chart(ipyvue.VueTemplate):
    """A chart drawn in the browser by ECharts (served by this machine) from an ECharts
    option sent as JSON text, in two parts: ``base``, what stays from quarter to quarter
    (axes, titles, the map's places and links: sent when the run or the text size changes),
    and ``spec``, what the quarter changes, merged into it. A string costs the page's
    renderer nothing to compare, where a dict of hundreds of points was walked item by item
    on every quarter; and the browser redraws only what moved."""

    template = traitlets.Unicode(asset("chart.vue")).tag(sync=True)
    base = traitlets.Unicode("{}").tag(sync=True)
    spec = traitlets.Unicode("{}").tag(sync=True)
    quarter = traitlets.Int(0).tag(sync=True)
    alt = traitlets.Unicode("").tag(sync=True)


def _json(option: dict[str, Any]) -> str:
    return json.dumps(option, separators=(",", ":"))


def _chart(base: str, update: dict[str, Any], quarter: int, alt: str) -> None:
    Chart.element(base=base, spec=_json(update), quarter=quarter, alt=alt)


class PageSetup(ipyvue.VueTemplate):
    """What the page sets in the browser: its language, a viewport that lets a student zoom,
    a confirmation before a reload or a closed tab discards a run (``armed``), and a count of
    Escape presses (``escapes``) the page answers by closing its dialogs, and the run's link
    (``link``, its recipe as a query) kept in the address bar."""

    template = traitlets.Unicode(asset("page_setup.vue")).tag(sync=True)
    armed = traitlets.Bool(False).tag(sync=True)
    escapes = traitlets.Int(0).tag(sync=True)
    link = traitlets.Unicode("").tag(sync=True)


class ScenarioPicker(ipyvue.VueTemplate):
    """The scenario picker: the browser's own drop-down list of file names, labelled, so a
    keyboard and a screen reader use it as any form (Vuetify's select nests a text box in a
    button, which assistive technology cannot reach)."""

    template = traitlets.Unicode(asset("picker.vue")).tag(sync=True)
    names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    value = traitlets.Unicode("").tag(sync=True)


@solara.component
def Guard(
    session: Session, tick: solara.Reactive[int], scenario: str, on_escape: Callable[[], None]
) -> None:
    """The page's setup: the leave guard armed once the run has moved, and the run's recipe
    (``scenario`` is its file's name in the picker) kept in the address bar."""
    PageSetup.element(
        armed=session.view(tick.value).quarter > 0,
        link=recipe_of(session, scenario).query(),
        on_escapes=lambda _: on_escape(),
    )


def _monitor(label: str, value: str, css: str = "") -> None:
    with solara.Div(classes=["commsim-monitor", css]):
        solara.Div(children=[label], classes=["label"])
        solara.Div(children=[value], classes=["value"])


def _percent(view: View, name: str) -> str:
    value = view.latest(name)
    return f"{100 * value:.0f}%" if value is not None else "–"


@solara.component
def Monitors(session: Session, tick: solara.Reactive[int]) -> None:
    """Big numbers: the one quarter count and the last quarter's outcomes (at quarter 0, the
    market as it starts), a share of contract value for each provider type."""
    view = session.view(tick.value)
    trust = view.latest("trust")
    spend = view.latest("spend")
    with solara.Div(classes=["commsim-monitors"]):
        with solara.Div(
            classes=["commsim-monitor", "commsim-quarter"],
            attributes={"role": "status", "aria-live": "polite"},  # read out as it moves
        ):
            solara.Div(children=["Quarter"], classes=["label"])
            solara.Div(children=[f"{view.quarter} of {view.horizon}"], classes=["value"])
        _monitor("Service delivered (% of need)", _percent(view, "service_delivered"))
        for kind in ProviderKind:
            name = f"share_{KIND_NAMES[kind]}"
            _monitor(f"{kind_words(kind)[1].capitalize()} (% of value)", _percent(view, name))
        _monitor("Spend (a quarter)", f"£{spend:,.0f}m" if spend is not None else "–")
        _monitor("Local share (% of spend)", _percent(view, "local_share"))
        _monitor("Trust (0 to 1)", f"{trust:.2f}" if trust is not None else "–")
        _monitor("Contracts disrupted", f"{view.disrupted}", "commsim-disrupted")


@solara.component
def EndBanner(session: Session, tick: solara.Reactive[int]) -> None:
    """Says the run is over, once it is."""
    view = session.view(tick.value)
    if not view.running:
        solara.Div(
            children=[
                f"The run is over: all {view.horizon} quarters ({view.horizon / 4:g} years)"
                " simulated. Download the CSV, or press Reset to start again."
            ],
            classes=["commsim-end"],
        )


@solara.component
def RunCharts(
    session: Session, tick: solara.Reactive[int], present: bool, text: float = 1.0
) -> None:
    """The council map and the four plots, drawn for the quarter just simulated, their text
    at the page's text size ``text``."""
    view = session.view(tick.value)
    # What the charts keep from quarter to quarter: made (and sent) once per run and size.
    bases = solara.use_memo(
        lambda: [_json(map_base(view, text))] + [_json(plot_base(view, p, text)) for p in PLOTS],
        [id(session), text],
    )
    height = "calc(100vh - 136px)" if view.running else "calc(100vh - 164px)"
    with solara.Div(classes=["commsim-body"], style={"height": height}):
        with solara.Div(
            classes=["commsim-panel"],
            style={"flex": "0 0 50%" if present else "0 0 54%", "height": "100%"},
        ):
            _chart(bases[0], map_update(view), view.quarter, map_text(view))
        with solara.Div(classes=["commsim-grid"], style={"height": "100%"}):
            for base, spec in zip(bases[1:], PLOTS, strict=True):
                with solara.Div(classes=["commsim-panel"], style={"min-height": 0}):
                    _chart(base, plot_update(view, spec), view.quarter, plot_text(view, spec))


@solara.component
def EventLog(session: Session, tick: solara.Reactive[int]) -> None:
    """Every shock, lever moved during the run and failure, with its quarter, newest first."""
    view = session.view(tick.value)
    lines = event_log(view, session.pressed, list(session.actions)) or ["Nothing has happened yet."]
    with solara.Div(
        classes=["commsim-log"],
        style={"flex": "1 1 0", "min-height": "60px"},
        # Focusable, so that a keyboard can scroll a long log.
        attributes={
            "role": "log",
            "aria-live": "polite",
            "aria-label": "Event log",
            "tabindex": "0",
        },
    ):
        solara.HTML(tag="div", unsafe_innerHTML="<br>".join(html.escape(x) for x in lines))


def score_weights(session: Session) -> str:
    """How the running model's tenders score a bid, in percent of the score."""
    weights = effective_weights(session.model.params.commissioning)
    names = {"price": "price", "quality": "quality", "social_value": "social value"}
    names["local"] = "local preference"
    return "Tender score: " + ", ".join(f"{names[k]} {100 * w:.0f}%" for k, w in weights.items())


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
        # Each control is named by the lever's label (read by screen readers; the visible name
        # is the line above, so the control's own label is hidden by the CSS).
        if lever.kind == "bool":
            solara.Checkbox(
                label=lever.label, value=bool(value), on_value=on_value, style="margin: 0"
            )
        elif lever.kind == "int":
            solara.SliderInt(
                lever.label, value=int(value), min=int(lever.minimum),
                max=int(max(lever.maximum, value)), on_value=on_value, thumb_label=False,
            )  # fmt: skip
        else:
            solara.SliderFloat(
                lever.label, value=float(value), min=lever.minimum,
                max=max(lever.maximum, value), step=lever.step, on_value=on_value,
                thumb_label=False,
            )  # fmt: skip


@dataclass(frozen=True)
class Pace:
    """The page's state of the run's pace, which the control bar sets: Play / Pause
    (``playing``), the speed (``speed``, an index from 1 into ``SPEEDS``) and the quarter
    "run to quarter" runs to (``target``)."""

    playing: solara.Reactive[bool]
    speed: solara.Reactive[int]
    target: solara.Reactive[int]


@solara.component
def ControlBar(
    session: Session,
    tick: solara.Reactive[int],
    pace: Pace,
    present: solara.Reactive[bool],
    about: solara.Reactive[bool],
    size: solara.Reactive[int],
    advance: Callable[[int | None], None],
    on_present: Callable[[], None],
    run_controls: Callable[[], None],
) -> None:
    """Step, Play / Pause, the speed, "run to quarter", presentation mode, the text size,
    About and the downloads, in plain words; in presentation mode also Reset and the shocks
    (``run_controls`` draws them), so that they stay on screen. ``pace``: Play / Pause, the
    speed and the quarter to run to."""
    playing, speed, target = pace.playing, pace.speed, pace.target
    view = session.view(tick.value)
    idle = not view.running or playing.value
    with solara.Div(classes=["commsim-bar"]):
        solara.Button("Step", on_click=lambda: advance(None), disabled=idle, small=True)
        solara.Button(
            play_pause(playing.value),
            on_click=lambda: playing.set(not playing.value),
            disabled=not view.running,
            color="primary",
            small=True,
        )
        solara.Text("Speed: slow")
        with solara.Div(style={"width": "80px"}):
            solara.SliderInt("Speed", value=speed, min=1, max=len(SPEEDS), thumb_label=False)
        solara.Text("fast")
        solara.Button(
            f"Run to quarter {target.value}",
            on_click=lambda: advance(target.value),
            disabled=idle,
            small=True,
        )
        solara.InputInt(
            "Quarter to run to",
            value=target,
            style={"max-width": "52px"},
            dense=True,
            continuous_update=True,
        )
        solara.Button(
            "Show levers" if present.value else "Presentation mode",
            on_click=on_present,
            small=True,
            outlined=True,
        )
        solara.Text("Text: small")
        with solara.Div(style={"width": "5em"}):
            solara.SliderInt("Text size", value=size, min=1, max=len(TEXT_SIZES), thumb_label=False)
        solara.Text("big")
        solara.Button(
            "About this model", on_click=lambda: about.set(True), small=True, outlined=True
        )
        if present.value:
            run_controls()
        solara.FileDownload(
            lambda: timeseries_csv(session),
            filename=export_name(session.model, ".csv"),
            label="CSV",
            mime_type="text/csv",
        )
        solara.FileDownload(
            lambda: plots_png(session),
            filename=export_name(session.model, ".png"),
            label="PNG",
            mime_type="image/png",
        )


@solara.component
def About(open_: solara.Reactive[bool]) -> None:
    """The "About this model" panel: what it is, how it works, things to try."""
    dialog = solara.v.Dialog(v_model=open_.value, on_v_model=open_.set, max_width=760)
    with dialog, solara.Card("About this model"):
        solara.HTML(tag="div", unsafe_innerHTML=asset("about.html"))
        with solara.Details("What the levers mean"):
            for lever in levers():
                solara.Text(f"{lever.label}: {lever.description}")
        solara.Button("Close", on_click=lambda: open_.set(False))
