"""The page Solara serves: one run per browser tab, put together from
:mod:`~sim.dashboard.components`.

* a left column: the scenario picker, the levers (each with its number; a lever moved during
  a run applies from the next quarter and is logged, except those that shape the market at
  the start, which say "press Reset" until Reset applies them), Reset, the two shock buttons
  and an event log of every shock, lever moved and failure with its quarter;
* a bar of controls in plain words: Step, Play / Pause, a slow-fast speed, "run to quarter",
  presentation mode (hides the left column), "About this model", and downloads of the plots
  (PNG) and the run's time series (CSV);
* big number monitors, one quarter count, a map of the councils and four plots, all drawn in
  the browser from data (ECharts, served by the machine itself), no images made per step.

The page itself holds the tab's state and re-renders only when a control changes it; a new
quarter moves ``tick``, which only the components that show the run read.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import reacton.core
import solara
import solara.lab

from sim.abm.model import fresh_seed
from sim.dashboard import controller
from sim.dashboard.components import (
    TEXT_SIZES,
    About,
    ControlBar,
    EndBanner,
    EventLog,
    Guard,
    LeverControl,
    Monitors,
    Pace,
    RunCharts,
    ScenarioPicker,
    asset,
    score_weights,
)
from sim.dashboard.controller import COST_SHOCK, PLAYERS, build_session, play_pause_after
from sim.dashboard.levers import lever_values, levers, read_levers, scenario_files
from sim.dashboard.recipe import parse_recipe, rebuild_session
from sim.inputs import InputError

__all__ = ["TITLE", "Layout", "Page"]

TITLE = "commsim: the classroom dashboard"


def open_run(start: str | None, search: str | None) -> tuple[str | None, dict[str, Any], Any]:
    """The run a new page opens with: the one its link's recipe describes (a reload, a
    bookmark, a restarted server), else a new run of ``start``. Returns the scenario file,
    the levers' values and the session."""
    files = scenario_files(start)
    recipe = parse_recipe(search or "", set(files))
    if recipe is not None:
        scenario_file = files[recipe.scenario] if recipe.scenario else None
        with contextlib.suppress(InputError):  # levers out of range: a new run instead
            rebuilt = rebuild_session(recipe, scenario_file)
            # The sliders show the levers as the run now uses them (moves included).
            return scenario_file, read_levers(rebuilt.model.params), rebuilt
    values = lever_values(start)
    return start, values, build_session(start, values)


@solara.component
def Page() -> None:
    """The page Solara serves: one model per browser tab."""
    search = solara.use_router().search
    opened = solara.use_memo(lambda: open_run(controller.START, search), [])
    chosen = solara.use_reactive(opened[0])
    values = solara.use_reactive(opened[1])
    session = solara.use_reactive(opened[2])
    tick = solara.use_reactive(0)  # moves whenever the model does: read by what shows the run
    playing = solara.use_reactive(False)
    speed = solara.use_reactive(3)
    target = solara.use_reactive(20)
    present = solara.use_reactive(False)
    size = solara.use_reactive(1)  # the text size, an index (from 1) into TEXT_SIZES
    about = solara.use_reactive(False)
    pending = solara.use_reactive(None)  # an action waiting for "discard this run?"
    # The picker's name while "discard this run?" is asked; None: the picker shows what runs.
    picked = solara.use_reactive(None)
    notice = solara.use_reactive(None)  # why the last shock pressed was refused

    s = session.value

    render = reacton.core.get_render_context()

    def redraw() -> None:
        # One render for every component that shows the run, not one each: the components
        # subscribe to the tick one by one, and each would otherwise re-render the page.
        with render:
            tick.set(tick.value + 1)

    def advance(until: int | None = None) -> None:
        s.advance(until)
        redraw()

    def play_loop() -> None:
        with PLAYERS.playing():  # the playing tabs leave the server time for Steps
            while playing.value and not s.ended.is_set():
                started = time.perf_counter()
                advance()
                if not s.model.running:
                    playing.set(False)
                    break
                time.sleep(play_pause_after(speed.value, time.perf_counter() - started))

    solara.lab.use_task(play_loop, dependencies=[playing.value, id(s)], prefer_threaded=True)
    solara.use_effect(lambda: s.ended.set, [id(s)])  # runs s.ended.set() when s goes

    def press(kind: str) -> None:
        done = s.press(kind)
        with render:  # one render for the notice and the run
            notice.set(None if done else "No outsourcer is trading: there is nothing to collapse.")
            redraw()

    def move(key: str, value: Any) -> None:
        # A lever that may move during a run applies from the next quarter (and is logged);
        # the others, and any once the run is over, wait for Reset ("press Reset").
        try:
            moved = s.move(key, value)
        except InputError:  # outside the lever's range: only a tampered page sends that
            return
        with render:  # one render for the slider, its number and the log
            values.set(values.value | {key: value})
            if moved:
                redraw()

    def rebuild(
        scenario_file: str | None, lever_set: dict[str, Any], seed: int | None = None
    ) -> None:
        playing.set(False)
        notice.set(None)
        session.set(build_session(scenario_file, lever_set, seed))

    def do(action: tuple[str, Any]) -> None:
        picked.set(None)
        if action[0] == "pick":
            chosen.set(action[1])
            fresh = lever_values(action[1])
            values.set(fresh)
            rebuild(action[1], fresh)
        elif action[0] == "random":  # the same levers, another market
            rebuild(chosen.value, values.value, fresh_seed())
        else:
            rebuild(chosen.value, values.value)

    def ask(action: tuple[str, Any]) -> None:
        if s.model.quarter > 0:
            playing.set(False)
            pending.set(action)
        else:
            do(action)

    def run_controls(block: bool = False) -> None:
        """Reset and the two shock buttons: in the left column, and in the bar when
        presenting, so that they are always on screen."""
        solara.Button(
            "Reset: start again with these levers",
            on_click=lambda: ask(("reset", None)),
            color="primary",
            block=block,
            small=True,
        )
        solara.Button(
            "Collapse the largest outsourcer now",
            on_click=lambda: press("provider_collapse"),
            color="#8b0000",
            dark=True,
            block=block,
            small=True,
        )
        solara.Button(
            f"Cost shock now (+{COST_SHOCK:.0%})",
            on_click=lambda: press("cost_shock"),
            color="#7a4a00",
            dark=True,
            block=block,
            small=True,
        )

    def toggle_present() -> None:
        # Presenting: the largest text, for the back row; back to normal with the levers.
        with render:  # one render: never the big text with the levers still shown
            size.set(len(TEXT_SIZES) if not present.value else 1)
            present.set(not present.value)

    files = scenario_files(chosen.value)

    def ask_pick(name: str) -> None:
        if name not in files:  # not one the picker offered (a tampered page): nothing to do
            return
        picked.set(name)
        ask(("pick", files[name]))

    names = {path: name for name, path in files.items()}
    running = read_levers(s.model.params)

    solara.Title(TITLE)
    solara.Style(asset("dashboard.css"))

    def escape() -> None:
        about.set(False)
        if pending.value is not None:
            picked.set(None)
            pending.set(None)

    Guard(s, tick, names.get(str(chosen.value), ""), escape)
    text = TEXT_SIZES[size.value - 1]
    big = ["commsim-big"] if text > 1 else []
    with solara.Row(
        classes=["commsim-root", *big], gap="0px", style={"font-size": f"{14 * text:.1f}px"}
    ):
        if not present.value:
            with solara.Column(classes=["commsim-side"], gap="4px"):
                ScenarioPicker.element(
                    names=list(files),
                    value=picked.value or names.get(str(chosen.value), ""),
                    on_value=ask_pick,
                )
                for lever in levers():
                    LeverControl(
                        lever,
                        values.value[lever.key],
                        running[lever.key],
                        lambda v, k=lever.key: move(k, v),
                    )
                run_controls(block=True)
                solara.Button(
                    "New random run: these levers, another market",
                    on_click=lambda: ask(("random", None)),
                    block=True,
                    small=True,
                    outlined=True,
                )
                solara.Text(score_weights(s), classes=["commsim-weights"])
                if notice.value:
                    solara.Div(children=[notice.value], classes=["commsim-notice"])
                solara.Text("Event log (newest first)", style={"font-weight": "600"})
                EventLog(s, tick)
        with solara.Column(classes=["commsim-main"], gap="0px"):
            ControlBar(
                s, tick, Pace(playing, speed, target), present, about, size, advance,
                toggle_present, run_controls,
            )  # fmt: skip
            EndBanner(s, tick)
            Monitors(s, tick)
            RunCharts(s, tick, present.value, text)
    solara.lab.ConfirmationDialog(
        pending.value is not None,
        on_close=lambda: pending.set(None),
        title="Discard this run?",
        content=f"The run is at quarter {s.model.quarter}. Starting again throws it away.",
        ok="Discard and start again",
        on_ok=lambda: do(pending.value),
        cancel="Keep this run",
        on_cancel=lambda: picked.set(None),
    )
    About(about)


@solara.component
def Layout(children: list[Any] = []) -> None:  # noqa: B006 (Solara's layout signature)
    """No app bar, no margins: the page is laid out for a 1280x720 projector."""
    with solara.Column(gap="0px", style={"padding": "0", "margin": "0"}):
        for child in children:
            solara.display(child)
