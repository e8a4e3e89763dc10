"""The dashboard without a browser: what the charts draw, the controls, the page's behaviour
(rendered in-process), the command line."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import os
import socket
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import ipyvuetify
import numpy as np
import pytest
import solara

from sim.cli import CULL_TIMEOUT, build_parser, dashboard_command, main, reachable_address
from sim.core.outcome_table import REPORTERS
from sim.core.state import ProviderKind
from sim.dashboard import SCENARIO_ENV, charts, components, controller, events, export, recipe
from sim.dashboard import levers as lv
from sim.dashboard.components import score_weights
from sim.dashboard.page import Page, open_run
from sim.inputs import InputError
from sim.report.plots import KIND_COLOURS
from sim.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent
BASELINE = str(ROOT / "scenarios" / "baseline.toml")
CUTS = str(ROOT / "scenarios" / "budget_cuts.toml")
SMALL = {"network__councils": 30, "mutuals__count": 10, "scenario__quarters": 12}


@pytest.fixture
def model() -> controller.ClassroomModel:
    m = controller.ClassroomModel(None, **SMALL)
    for _ in range(3):
        m.step()
    return m


def marks(option: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in option["series"] if s.get("name") == name)


def test_map_marks_each_council_by_its_leading_provider_type(
    model: controller.ClassroomModel,
) -> None:
    view = controller.read_view(model)
    option = charts.map_option(view)
    for kind, (label, shape) in charts.KINDS.items():
        series = marks(option, label)
        assert series["itemStyle"]["color"] == KIND_COLOURS[kind] and series["symbol"] == shape
        assert len(series["data"]) == view.leader.count(kind)
    # Colour and shape both carry the type: a shape and a colour of its own for each.
    assert len({shape for _, shape in charts.KINDS.values()}) == len(charts.KINDS)
    assert len({KIND_COLOURS[kind] for kind in charts.KINDS}) == len(charts.KINDS)
    assert len(option["series"][0]["data"]) == len(view.edges) > 0
    assert option["legend"]["textStyle"]["fontSize"] >= 14
    assert json.loads(json.dumps(option)) == option  # plain JSON for the browser


def test_every_provider_type_shows_by_itself_where_the_page_lists_types(
    model: controller.ClassroomModel,
) -> None:
    # Issue 20's fourth type, local private firms, came with no change to the dashboard:
    # every list of types on the page reads ProviderKind.
    assert ProviderKind.LOCAL_FIRM in ProviderKind
    assert charts.KINDS["local_firm"] == ("local firm", "pin")  # its own shape on the map
    view = controller.read_view(model)
    assert "local firm" in [s["name"] for s in charts.map_option(view)["series"][1:]]
    line = charts.plot_option(view, charts.PLOTS[0])["series"][ProviderKind.LOCAL_FIRM]
    assert line["name"] == "local firms"
    # the chart sends percentages rounded to 4 decimals
    assert line["data"][-1][1] == pytest.approx(100 * view.series["share_local_firm"][-1], abs=1e-4)
    assert line["lineStyle"]["type"] not in ("solid", "dashed", "dotted")  # its own dash
    # Its own colour, apart from the mutuals' green and the local-share line's brown.
    local_share = charts.PLOTS[2].measures["local_share"][1]
    assert line["color"] == KIND_COLOURS["local_firm"]
    assert line["color"] not in (KIND_COLOURS["mutual"], local_share)
    shares = view.shares.copy()
    shares[0] = [0.1, 0.2, 0.3, 0.4]
    hover = charts.council_text(dataclasses.replace(view, shares=shares), 0)
    assert hover.endswith("outsourcers 10%, mutuals 20%, in-house 30%, local firms 40%")
    failure = {"quarter": 3, "event": "failure", "cause": "insolvency", "kind": "local_firm"}
    assert events.event_text(failure | {"provider": "Area 001 Firm 1", "contracts": 2}) == (
        "Quarter 3: Area 001 Firm 1 (local firm) went bust, 2 contracts disrupted"
    )


def test_hovering_a_council_says_who_holds_its_contracts(model: controller.ClassroomModel) -> None:
    view = controller.read_view(model)
    option = charts.map_option(view)
    assert option["tooltip"]["formatter"] == "{b}" and "click" in option["tooltip"]["triggerOn"]
    first = next(d for s in option["series"][1:] for d in s["data"])
    i = [tuple(p) for p in view.positions.round(4)].index(tuple(first["value"]))
    assert first["name"] == charts.council_text(view, i)
    words = [charts.kind_words(k)[1] for k in ProviderKind]
    held = dict(zip(words, view.shares[i], strict=True))
    assert first["name"].startswith(f"Council {i}: ")
    for label, share in held.items():
        assert (f"{label} {100 * share:.0f}%" in first["name"]) == (share >= 0.005)
    evil = dataclasses.replace(view, councils=["<img src=x onerror=alert(1)>", *view.councils[1:]])
    assert "<img" not in charts.council_text(evil, 0)  # a network file's names are escaped


def test_map_rings_the_councils_a_collapse_hits_in_thick_black(
    model: controller.ClassroomModel,
) -> None:
    controller.press_shock(model, "provider_collapse")
    view = controller.read_view(model)
    assert view.hit.any() and view.disrupted > 0
    ring = marks(charts.map_option(view), charts.DISRUPTED)
    assert ring["itemStyle"]["borderColor"] == "#000000" and ring["itemStyle"]["borderWidth"] >= 3
    ringed = [tuple(d["value"]) for d in ring["data"]]
    assert ringed == [tuple(view.positions[i].round(4)) for i in np.flatnonzero(view.hit)]


def test_plots_draw_every_quarter_and_mark_shocks(model: controller.ClassroomModel) -> None:
    empty = controller.read_view(controller.ClassroomModel(None, **SMALL))
    for spec in charts.PLOTS:  # at quarter 0: the market as it starts, a dot at 0 years
        option = charts.plot_option(empty, spec)
        for line, name in zip(option["series"], spec.measures, strict=True):
            assert line["data"] == [[0, round(spec.scale * empty.start[name], 4)]]
            assert line["showSymbol"]
    controller.press_shock(model, "provider_collapse")
    model.step()
    view = controller.read_view(model)
    option = charts.plot_option(view, charts.PLOTS[1])
    line = option["series"][0]
    # Against years: the start at 0, the value after quarter 4 (the page's "4 of 12") at 1.
    assert [x for x, _ in line["data"]] == [0, 0.25, 0.5, 0.75, 1.0]
    assert line["data"][4][1] == pytest.approx(100 * view.series["service_delivered"][3])
    assert not line["showSymbol"]
    assert line["markLine"]["data"] == [{"xAxis": 0.75}]  # pressed after quarter 3
    assert (option["xAxis"]["name"], option["xAxis"]["max"], option["yAxis"]["name"]) == (
        "years",
        3,
        "%",
    )
    assert option["tooltip"]["trigger"] == "axis"
    # Steady: 50 to 100 while service stays above half, whatever it does in between.
    assert (option["yAxis"]["min"], option["yAxis"]["max"]) == (50, 100)
    shares = charts.plot_option(view, charts.PLOTS[0])
    assert len(shares["series"]) == len(ProviderKind)
    dashes = {json.dumps(s["lineStyle"]["type"]) for s in shares["series"]}
    assert len(dashes) == len(ProviderKind)  # told apart by dashes


def test_controls_come_from_the_schema_with_units_and_ranges() -> None:
    levers = {lever.key: lever for lever in lv.levers()}
    assert list(levers) == list(lv.LEVERS)
    svw = levers["commissioning.social_value_weight"]
    field = Scenario.model_fields["commissioning"].annotation.model_fields["social_value_weight"]
    assert field.json_schema_extra["unit"] in svw.label
    assert svw.description == field.description
    assert (svw.kind, svw.minimum, svw.maximum) == ("float", 0.0, 0.5)
    assert (levers["outsourcers.count"].kind, levers["outsourcers.count"].maximum) == ("int", 20)
    assert levers["mutuals.support_programme"].kind == "bool"
    assert levers["councils.inhouse_capacity_retained"].maximum == 1.0  # the schema's own
    assert [svw.show(0.1), levers["outsourcers.count"].show(8)] == ["0.10", "8"]
    assert levers["mutuals.support_programme"].show(True) == "yes"


def test_levers_load_from_the_file_and_say_when_they_wait_for_reset() -> None:
    cuts = lv.lever_values(CUTS)
    model = controller.ClassroomModel(CUTS, **{k.replace(".", "__"): v for k, v in cuts.items()})
    running = controller.read_view(model).levers
    assert running == cuts and not lv.unapplied(cuts, running)
    moved = cuts | {"commissioning.social_value_weight": 0.3, "outsourcers.count": 3}
    assert lv.unapplied(moved, running) == {
        "commissioning.social_value_weight",
        "outsourcers.count",
    }


def test_sliders_past_the_schema_sum_leave_local_preference_the_rest() -> None:
    model = controller.ClassroomModel(
        None, commissioning__social_value_weight=0.7, commissioning__local_preference=0.5, **SMALL
    )
    c = model.params.commissioning
    assert c.social_value_weight == 0.7 and c.local_preference == pytest.approx(0.3)


def test_event_text_reports_a_collapse(model: controller.ClassroomModel) -> None:
    controller.press_shock(model, "provider_collapse")
    event = controller.read_view(model).events[-1]
    assert event["kind"] == "outsourcer"  # the provider's type, named in the line
    assert events.event_text(event) == (
        f"Quarter 3: {event['provider']} (private outsourcer) collapsed, {event['contracts']} "
        "contracts disrupted"
    )
    assert events.event_text({"quarter": 4, "event": "handback", "contracts": 1}) == (
        "Quarter 4: 1 contract handed back"
    )


def test_event_log_lists_every_shock_and_failure_newest_first() -> None:
    model = controller.ClassroomModel(str(ROOT / "scenarios" / "carillion_collapse.toml"))
    scheduled = model.params.shocks[0].quarter
    while model.quarter <= scheduled:
        model.step()
    pressed = {controller.press_shock(model, "cost_shock") for _ in range(2)}
    log = events.event_log(controller.read_view(model), pressed)
    q = model.quarter
    assert log[:2] == [f"Quarter {q}: shock pressed: cost shock"] * 2
    assert (
        f"Quarter {scheduled}: shock from the scenario file: collapse of the largest"
        in "\n".join(log)
    )
    quarters = [int(line.split(":")[0].removeprefix("Quarter ")) for line in log]
    assert quarters == sorted(quarters, reverse=True)
    failures = [e for e in model.events if e["event"] == "failure"]
    assert sum("collapsed" in line or "failed" in line or "bust" in line for line in log) == len(
        failures
    )


def test_scenario_picker_lists_the_scenarios_folder(tmp_path: Path) -> None:
    files = lv.scenario_files()
    assert files["baseline.toml"] == BASELINE
    own = tmp_path / "mine.toml"
    own.write_text("")
    assert lv.scenario_files(str(own))["mine.toml"] == str(own)
    assert lv.scenario_files(BASELINE) == files  # already listed
    twin = tmp_path / "baseline.toml"  # same name, another folder: told apart by a word
    twin.write_text("")
    picker = lv.scenario_files(str(twin))
    assert picker["baseline.toml (started with)"] == str(twin)
    assert not any("/" in name for name in picker)  # names only: never where the server keeps it


def test_a_network_file_at_the_edge_of_floats_still_draws(tmp_path: Path) -> None:
    graph = (ROOT / "data" / "example_graph.graphml").read_text()
    graph = graph.replace('<data key="d1">5.0</data>', '<data key="d1">1e308</data>', 1)
    graph = graph.replace('<data key="d1">3.0</data>', '<data key="d1">-1e308</data>', 1)
    (tmp_path / "g.graphml").write_text(graph)
    (tmp_path / "councils.csv").write_text((ROOT / "data" / "example_councils.csv").read_text())
    scenario = tmp_path / "edge.toml"
    scenario.write_text('[network]\ncouncils_file = "councils.csv"\ngraph_file = "g.graphml"\n')
    view = controller.read_view(controller.ClassroomModel(str(scenario)))
    option = charts.map_option(view)
    json.dumps(option, allow_nan=False)  # the browser gets finite numbers it can draw
    drawn = np.array([d["value"] for s in option["series"][1:] for d in s["data"]])
    assert len(drawn) == len(view.positions) and drawn.min() >= 0 and drawn.max() <= 1


def test_a_run_is_a_recipe_its_link_rebuilds_exactly() -> None:
    session = controller.build_session(
        BASELINE, lv.lever_values(BASELINE) | {"outsourcers.count": 5}
    )
    for _ in range(3):
        session.advance()
    session.press("provider_collapse")
    session.advance()
    session.move("commissioning.fee_uplift", 0.0)  # before the shock: the shock reads it
    session.press("cost_shock")
    session.move("commissioning.fee_uplift", 0.8)
    session.press("cost_shock")
    session.advance()
    session.move("commissioning.social_value_weight", 0.3)
    session.advance()
    made = recipe.recipe_of(session, "baseline.toml")
    assert made.shocks == ((3, "provider_collapse"), (4, "cost_shock"), (4, "cost_shock"))
    assert made.levers == lv.lever_values(BASELINE) | {"outsourcers.count": 5}  # at the start
    assert made.actions[1:5] == (
        (4, "commissioning.fee_uplift", 0.0),
        (4, "cost_shock"),
        (4, "commissioning.fee_uplift", 0.8),
        (4, "cost_shock"),
    )
    names = set(lv.scenario_files())
    again = recipe.parse_recipe(made.query(), names)
    assert again == made
    rebuilt = recipe.rebuild_session(again, BASELINE)
    a, b = controller.read_view(session.model), controller.read_view(rebuilt.model)
    assert (a.quarter, a.series, a.shocks, a.events) == (b.quarter, b.series, b.shocks, b.events)
    assert a.levers == b.levers and a.levers["commissioning.social_value_weight"] == 0.3
    assert events.event_log(a, session.pressed, session.actions) == events.event_log(
        b, rebuilt.pressed, rebuilt.actions
    )


def test_a_lever_moved_during_a_run_applies_from_the_next_quarter_and_is_logged() -> None:
    values = lv.lever_values(BASELINE)
    moved, kept = (controller.build_session(BASELINE, values) for _ in range(2))
    for session in (moved, kept):
        session.advance(until=8)
    for weight in (0.15, 0.22, 0.3):  # a slider dragged (or arrow keys): one move, one line
        assert moved.move("commissioning.social_value_weight", weight)
    assert controller.read_view(moved.model).series == controller.read_view(kept.model).series
    log = events.event_log(controller.read_view(moved.model), moved.pressed, moved.actions)
    assert log[0] == "Quarter 8: social value weight 10% -> 30%"  # newest first
    assert sum("social value weight" in line for line in log) == 1
    assert score_weights(moved).endswith("social value 30%, local preference 0%")
    for session in (moved, kept):
        session.advance(until=20)
    a, b = controller.read_view(moved.model).series, controller.read_view(kept.model).series
    assert a["share_mutual"][:8] == b["share_mutual"][:8]
    assert a["share_mutual"][8:] != b["share_mutual"][8:]  # the later tenders score it
    # Moved back in the same quarter: nothing changed, nothing logged.
    moved.move("councils.inhouse_capacity_retained", 0.4)
    moved.move("councils.inhouse_capacity_retained", values["councils.inhouse_capacity_retained"])
    assert len(moved.actions) == 1
    # The market's size waits for Reset; so does every lever once the run is over.
    assert not moved.move("outsourcers.count", 3)
    assert controller.read_view(moved.model).levers["outsourcers.count"] == 8
    moved.advance(until=80)
    assert not moved.move("commissioning.fee_uplift", 0.0)
    with pytest.raises(InputError):
        kept.move("commissioning.fee_uplift", 1.5)


@pytest.mark.parametrize(
    "change",
    [
        {"scenario": ["/etc/passwd"]},  # only names the picker offers
        {"actions": ["3:budget_cut"]},  # only the page's two buttons
        {"actions": ["3:outsourcers.count=2"]},  # only levers that may move during a run
        {"actions": ["3:commissioning.fee_uplift"]},  # a lever moved says where to
        {"actions": [",".join(["1:cost_shock"] * 201)]},  # bounded
        {"actions": ["1:mutuals.support_programme=yes"]},  # a value of the lever's kind
        {"quarter": ["many"]},
        {"outsourcers.count": ["1e400"]},
    ],
)
def test_a_tampered_link_opens_a_new_run_instead(change: dict[str, list[str]]) -> None:
    session = controller.build_session(BASELINE, lv.lever_values(BASELINE))
    fields = parse_qs(recipe.recipe_of(session, "baseline.toml").query()) | change
    query = urlencode(fields, doseq=True)
    assert recipe.parse_recipe(query, set(lv.scenario_files())) is None


def test_a_link_with_levers_out_of_range_opens_a_new_run() -> None:
    session = controller.build_session(BASELINE, lv.lever_values(BASELINE))
    query = recipe.recipe_of(session, "baseline.toml").query()
    wild = query.replace(
        "commissioning.social_value_weight=0.1", "commissioning.social_value_weight=5.0"
    )
    chosen, values, fresh = open_run(BASELINE, wild)
    assert chosen == BASELINE and values == lv.lever_values(BASELINE) and fresh.model.quarter == 0
    assert open_run(BASELINE, query)[1] == values  # the link as written: its levers
    for value in ("1.5", "-1", "nan", "inf"):  # a lever moved out of range during the run
        moved = query.replace(
            "actions=", f"quarter=2&actions=1%3Acommissioning.fee_uplift%3D{value}"
        )
        chosen, values, fresh = open_run(BASELINE, moved)
        assert fresh.model.quarter == 0 and not fresh.actions, value


# ----------------------------------------------------------------------------- the page


def texts(widget: Any) -> list[str]:
    """Every string shown under ``widget`` (HTML panels as their source)."""
    out = []
    if isinstance(getattr(widget, "unsafe_innerHTML", None), str):
        out.append(widget.unsafe_innerHTML)
    for child in getattr(widget, "children", None) or []:
        out += [child] if isinstance(child, str) else texts(child)
    return out


def button(rc: Any, label: str) -> Any:
    return rc.find(ipyvuetify.Btn, children=[label]).widget


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(controller, "START", BASELINE)
    box, rc = solara.render(Page(), handle_error=False)
    yield box, rc
    rc.close()


def test_page_steps_presses_and_logs(page: Any) -> None:
    box, rc = page
    assert "0 of 80" in texts(box)
    # At quarter 0 the numbers are the market as it starts, never a dash.
    start = controller.read_view(controller.ClassroomModel(BASELINE)).start
    assert "–" not in texts(box) and f"{100 * start['share_outsourcer']:.0f}%" in texts(box)
    assert "0.50" in texts(box)  # trust as it starts
    assert rc.find(components.Chart).widgets[4].alt == "Trust (0 to 1), at the start: trust 0.50."
    for _ in range(3):
        button(rc, "Step").click()
    assert "3 of 80" in texts(box)
    for _ in range(4):
        button(rc, "Collapse the largest outsourcer now").click()
    log = next(t for t in texts(box) if "shock pressed" in t)
    assert log.count("Quarter 3: shock pressed: collapse of the largest outsourcer") == 4
    charts = rc.find(components.Chart).widgets
    assert len(charts) == 5 and all(c.quarter == 3 for c in charts)
    # Each chart says in words what it draws (its text alternative).
    assert charts[0].alt.startswith("Map of 150 councils after quarter 3, by who holds most")
    assert "private outsourcer" in charts[0].alt and "with a contract disrupted" in charts[0].alt
    assert charts[2].alt.startswith("Service delivered (%), after quarter 3: service delivered ")
    assert charts[4].alt.startswith("Trust (0 to 1), after quarter 3: trust 0.")
    assert sum("of 80" in t for t in texts(box)) == 1  # one quarter count


def test_page_reset_asks_first_and_runs_the_picked_file(page: Any) -> None:
    box, rc = page
    button(rc, "Step").click()
    rc.find(components.ScenarioPicker).widget.value = "budget_cuts.toml"
    button(rc, "Keep this run").click()
    assert "1 of 80" in texts(box)
    assert rc.find(components.ScenarioPicker).widget.value == "baseline.toml"  # shows what runs
    rc.find(components.ScenarioPicker).widget.value = "budget_cuts.toml"
    # A run is under way: the page asks before throwing it away.
    assert "Discard this run?" in texts(box) and "1 of 80" in texts(box)
    button(rc, "Discard and start again").click()
    assert "0 of 60" in texts(box)
    cuts = lv.lever_values(CUTS)
    outsourcers = next(lev for lev in lv.levers() if lev.key == "outsourcers.count")
    assert str(cuts["outsourcers.count"]) in texts(box)
    slider = rc.find(ipyvuetify.Slider).widgets[list(lv.LEVERS).index("outsourcers.count")]
    slider.v_model = cuts["outsourcers.count"] + 1
    assert "press Reset" in texts(box)
    button(rc, "Reset: start again with these levers").click()
    assert "0 of 60" in texts(box) and "press Reset" not in texts(box)
    assert outsourcers.show(cuts["outsourcers.count"] + 1) in texts(box)


def test_page_moves_a_lever_during_the_run_and_keeps_it_in_the_link(page: Any) -> None:
    box, rc = page
    for _ in range(2):
        button(rc, "Step").click()
    sliders = rc.find(ipyvuetify.Slider).widgets
    sliders[list(lv.LEVERS).index("commissioning.social_value_weight")].v_model = 0.3
    assert "Quarter 2: social value weight 10% -&gt; 30%" in " ".join(texts(box))  # log: HTML
    assert "press Reset" not in texts(box)  # in force from the next quarter
    assert "social value 30%" in " ".join(texts(box))  # the score's weights as they now are
    link = rc.find(components.PageSetup).widget.link
    assert "2%3Acommissioning.social_value_weight%3D0.3" in link
    reopened = open_run(BASELINE, link)  # a reload: the sliders where the run has them
    assert reopened[1]["commissioning.social_value_weight"] == 0.3
    assert reopened[2].model.quarter == 2
    sliders[list(lv.LEVERS).index("outsourcers.count")].v_model = 3
    assert "press Reset" in texts(box)  # the market's size: only a new run can change it
    button(rc, "Step").click()
    assert "3 of 80" in texts(box)


def test_a_tampered_picker_value_changes_nothing_and_shows_no_error(page: Any) -> None:
    box, rc = page
    button(rc, "Step").click()
    picker = rc.find(components.ScenarioPicker).widget
    for forged in ("/etc/passwd", "../../secret.toml", "baseline.toml (started with)"):
        picker.value = forged  # what a visitor can send over the websocket
        assert "1 of 80" in texts(box)
        assert not any(d.v_model for d in rc.find(ipyvuetify.Dialog).widgets)  # nothing asked
    assert not any("Traceback" in t or str(ROOT) in t for t in texts(box))
    sliders = rc.find(ipyvuetify.Slider).widgets
    sliders[list(lv.LEVERS).index("commissioning.fee_uplift")].v_model = 5.0  # forged too
    assert "1 of 80" in texts(box) and "5.00" not in texts(box)
    assert not any("Traceback" in t for t in texts(box))


def test_a_collapse_with_no_outsourcer_left_is_refused_with_a_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(controller, "START", None)
    box, rc = solara.render(Page(), handle_error=False)
    try:
        slider = rc.find(ipyvuetify.Slider).widgets[list(lv.LEVERS).index("outsourcers.count")]
        slider.v_model = 1
        button(rc, "Reset: start again with these levers").click()
        for _ in range(3):
            button(rc, "Collapse the largest outsourcer now").click()
        log = next(t for t in texts(box) if "shock pressed" in t)
        assert log.count("shock pressed: collapse") == 1  # only the press that did something
        assert "No outsourcer is trading: there is nothing to collapse." in texts(box)
        button(rc, "Cost shock now (+10%)").click()  # a shock that acts: the message goes
        assert not any("nothing to collapse" in t for t in texts(box))
    finally:
        rc.close()


def test_page_shows_the_score_weights_and_makes_a_new_random_run(page: Any) -> None:
    box, rc = page
    assert "Tender score: price 60%, quality 30%, social value 10%, local preference 0%" in (
        texts(box)
    )
    first = rc.find(components.Chart).widgets[0].base  # the map: where councils are, how linked
    button(rc, "Step").click()
    button(rc, "Reset: start again with these levers").click()
    button(rc, "Discard and start again").click()
    assert rc.find(components.Chart).widgets[0].base == first  # Reset replays the same market
    button(rc, "New random run: these levers, another market").click()
    assert "0 of 80" in texts(box)
    assert rc.find(components.Chart).widgets[0].base != first  # another market, same levers


def test_page_runs_to_the_end_and_says_so(page: Any) -> None:
    box, rc = page
    rc.find(ipyvuetify.TextField).widget.v_model = "80"
    button(rc, "Run to quarter 80").click()
    shown = " ".join(texts(box))
    assert "80 of 80" in shown and "The run is over: all 80 quarters (20 years) simulated" in shown
    assert button(rc, "Step").disabled and button(rc, "Play").disabled


def test_page_explains_the_model_and_hides_the_levers_for_presenting(page: Any) -> None:
    box, rc = page
    about = rc.find(ipyvuetify.Dialog).widgets[-1]
    assert not about.v_model
    button(rc, "About this model").click()
    assert about.v_model
    setup = rc.find(components.PageSetup).widget
    setup.escapes += 1  # Escape pressed anywhere on the page: the dialog closes
    assert not about.v_model
    button(rc, "About this model").click()
    assert about.v_model
    shown = " ".join(texts(box))
    for heading in ("What it is", "How it works", "Things to try: three activities"):
        assert f"<h3>{heading}" in shown
    # The activities of docs/teaching.md, each with what to notice, on the page itself.
    assert shown.count("<b>Things to notice:</b>") == 3 and "Carillion" in shown
    button(rc, "Presentation mode").click()
    assert not rc.find(ipyvuetify.Slider, v_model=0.1) and "Show levers" in texts(box)


def test_presentation_mode_is_read_from_the_back_row_with_reset_and_shocks_at_hand(
    page: Any,
) -> None:
    box, rc = page
    plot = rc.find(components.Chart).widgets[1]
    assert json.loads(plot.base)["xAxis"]["axisLabel"]["fontSize"] == 12
    button(rc, "Presentation mode").click()
    option = json.loads(rc.find(components.Chart).widgets[1].base)
    # The smallest text on the page, a plot's axis labels, is 32 px when presenting.
    assert option["xAxis"]["axisLabel"]["fontSize"] == 32 and option["title"]["textStyle"][
        "fontSize"
    ] == round(14 * 32 / 12)
    assert not rc.find(ipyvuetify.Slider, v_model=0.1)  # the levers are hidden, but not these:
    button(rc, "Step").click()
    button(rc, "Collapse the largest outsourcer now").click()
    assert "1 of 80" in texts(box)
    button(rc, "Reset: start again with these levers").click()
    button(rc, "Discard and start again").click()
    assert "0 of 80" in texts(box)
    button(rc, "Show levers").click()
    assert (
        json.loads(rc.find(components.Chart).widgets[1].base)["xAxis"]["axisLabel"]["fontSize"]
        == 12
    )


def test_playing_tabs_together_leave_the_server_time_for_the_others() -> None:
    assert controller.play_pause_after(3, 0.05) == pytest.approx(0.45)  # alone: the speed
    assert controller.play_pause_after(4, 0.3) == pytest.approx(0.3)  # a slow quarter: once
    with contextlib.ExitStack() as stack:
        for _ in range(9):  # nine tabs playing: each waits three times its last quarter
            stack.enter_context(controller.PLAYERS.playing())
        assert controller.PLAYERS.count == 9
        assert controller.play_pause_after(3, 0.05) == pytest.approx(0.45)
        assert controller.play_pause_after(3, 0.2) == pytest.approx(0.6)
    assert controller.PLAYERS.count == 0


def test_play_pause_label() -> None:
    assert (components.play_pause(False), components.play_pause(True)) == ("Play", "Pause")


def test_downloads_are_named_by_scenario_quarter_and_levers() -> None:
    model = controller.ClassroomModel(CUTS)
    model.step()
    name = export.export_name(model, ".csv")
    assert name.startswith("budget_cuts-q1-social_value_weight") and name.endswith(".csv")
    for key, value in lv.read_levers(model.params).items():
        shown = f"{value:.2f}" if isinstance(value, float) else str(int(value))
        assert f"{key.split('.')[1]}{shown}" in name
    assert export.export_name(controller.ClassroomModel(None, **SMALL), ".png").startswith(
        "defaults-q0-"
    )


def test_the_csv_carries_the_levers_the_shocks_and_a_glossary_shares_in_percent() -> None:
    session = controller.build_session(BASELINE, lv.lever_values(BASELINE))
    session.advance(until=2)
    session.press("provider_collapse")
    session.move("commissioning.social_value_weight", 0.3)
    session.advance()
    text = export.timeseries_csv(session)
    head = [line for line in text.splitlines() if line.startswith("# ")]
    assert (
        head[0]
        == "# commsim classroom dashboard: baseline.toml, seed 42, 3 of 80 quarters simulated"
    )
    assert "social value weight 10%" in head[1] and "outsourcers 8" in head[1]  # at the start
    assert "#   Quarter 2: shock pressed: collapse of the largest outsourcer" in head
    assert "#   Quarter 2: social value weight 10% -> 30%" in head
    # A glossary of every column from the outcome table, shares in percent.
    for name, o in REPORTERS.items():
        unit = o.unit.replace("share", "%", 1) if o.unit.startswith("share") else o.unit
        assert f"#   {name} ({unit}): {o.meaning}" in head
    table = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    assert [row["quarter"] for row in table] == ["0", "1", "2", "3"]  # 0: as the run starts
    series = controller.read_view(session.model).series
    assert float(table[3]["share_mutual"]) == pytest.approx(
        100 * series["share_mutual"][2], abs=0.005
    )
    assert float(table[0]["trust"]) == 0.5  # the starting trust
    assert len(table[1]["share_outsourcer"].split(".")[-1]) <= 2  # no 16-digit fractions


def test_the_png_draws_the_four_plots_the_screen_shows() -> None:
    session = controller.build_session(None, {})
    session.advance(until=3)
    session.press("cost_shock")
    view, _ = session.snapshot()
    figure = export.plots_figure(view, "defaults")
    assert [ax.get_title() for ax in figure.axes] == [plot.title for plot in charts.PLOTS]
    for ax, plot in zip(figure.axes, charts.PLOTS, strict=True):
        lines, low = charts.plot_lines(view, plot)
        drawn = [line for line in ax.get_lines() if line.get_label() in {x.label for x in lines}]
        assert [line.get_xydata().tolist() for line in drawn] == [x.points for x in lines]
        assert [line.get_color() for line in drawn] == [x.colour for x in lines]
        assert ax.get_ylim() == (low, plot.ylim[1]) and ax.get_xlabel() == "years"
    png = export.plots_png(session)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1280, 720)  # the projector's size


# ----------------------------------------------------------------------------- the CLI


@pytest.mark.subprocess
def test_the_model_imports_nothing_of_the_dashboard() -> None:
    code = "import sys, sim, sim.abm.model, sim.cli; assert 'sim.dashboard.app' not in sys.modules"
    code += "; assert 'solara' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_dashboard_command_serves_offline_and_frees_closed_sessions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SOLARA_KERNEL_CULL_TIMEOUT", raising=False)
    args = build_parser().parse_args(["dashboard", BASELINE])
    assert (args.host, args.port) == ("127.0.0.1", 8521)
    argv, env = dashboard_command(BASELINE, "127.0.0.1", 8600)
    assert argv[1:5] == ["-m", "solara", "run", "sim.dashboard.app"]
    assert argv[argv.index("--host") + 1] == "127.0.0.1" and "--no-check-version" in argv
    assert env[SCENARIO_ENV] == BASELINE
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert env["SOLARA_KERNEL_CULL_TIMEOUT"] == CULL_TIMEOUT
    monkeypatch.setenv("SOLARA_KERNEL_CULL_TIMEOUT", "15s")  # the benchmark's own
    assert dashboard_command(BASELINE, "127.0.0.1", 8600)[1]["SOLARA_KERNEL_CULL_TIMEOUT"] == "15s"


def test_host_0000_prints_an_address_students_can_open_and_a_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert reachable_address("127.0.0.1") == "127.0.0.1"
    address = reachable_address("0.0.0.0")
    assert address != "0.0.0.0" and address.count(".") == 3
    started = []
    monkeypatch.setattr(os, "execve", lambda *a: started.append(a))
    main(["dashboard", BASELINE, "--host", "0.0.0.0", "--port", "8600"])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Dashboard: http://{address}:8600"
    assert out[1].startswith("Warning: anyone on this network can open this address")
    assert started and started[0][1][started[0][1].index("--host") + 1] == "0.0.0.0"
    main(["dashboard", BASELINE])
    assert "Warning" not in capsys.readouterr().out


def test_a_bad_scenario_is_refused_before_any_server_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[commissioning]\nsocial_value_weight = 2\n")
    assert main(["dashboard", str(bad), "--port", "1"]) == 2
    printed = capsys.readouterr()  # read once: a second read would find nothing
    err = printed.err.strip()
    assert err.count("\n") == 0 and "commissioning.social_value_weight" in err
    assert "Dashboard:" not in printed.out
    assert "Dashboard:" not in capsys.readouterr().out


def test_a_busy_port_or_a_bad_host_is_one_line_before_any_address_is_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(os, "execve", lambda *a: None)  # were the check missed: no server
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        assert main(["dashboard", BASELINE, "--port", str(port)]) == 2
        captured = capsys.readouterr()
        assert captured.err.count("\n") == 1 and f"--port {port}" in captured.err
        assert "already in use" in captured.err and "Dashboard:" not in captured.out
    assert main(["dashboard", "--host", "no-such-host.invalid", "--port", str(port)]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "--host 'no-such-host.invalid'" in captured.err
    assert "Traceback" not in captured.err and "Dashboard:" not in captured.out
