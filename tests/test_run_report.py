"""A run's report reads unaided: years on the time axis, fixed axes, events and the warm-up
marked, units in the printed summary, a data dictionary beside the CSV, and report.html."""

from __future__ import annotations

import csv
import html
import json
import re

import numpy as np
import pytest

from sim.core.engine import Simulation
from sim.core.outcome_table import VALUE_FOR_MONEY, Outcome
from sim.core.outcomes import REPORTERS, SUMMARY_FIELDS, run_report
from sim.report.plots import TimeAxis, _labels_fit, overview_figure
from sim.report.run_report import (
    HEADLINE,
    MapRecorder,
    changed_inputs,
    format_number,
    format_value,
    outcome_sections,
    report_html,
    summary_text,
)
from sim.scenario import load_scenario
from tests.helpers import ROOT, run_cli, small

SHOCK = [{"kind": "provider_collapse", "quarter": 6, "target": "largest_outsourcer"}]


@pytest.fixture(scope="module")
def shocked() -> Simulation:
    """A small run with a collapse (so failures and disruption) and a warm-up."""
    return Simulation(None, rng=2, **small(shocks=SHOCK, **{"scenario.warm_up_quarters": 4})).run()


def test_the_time_axis_shows_calendar_years_where_the_scenario_states_a_start():
    assert TimeAxis(1992)(40) == 2002.0 and TimeAxis(1992).name(41) == "2002 Q2"
    assert TimeAxis()(0) == 1.0 and TimeAxis().name(4) == "year 2 Q1"
    assert TimeAxis(1992).label == "year" and TimeAxis().label == "year of the run"


def test_the_overview_has_years_fixed_axes_and_marks_events_and_the_warm_up(shocked):
    fig = overview_figure(
        shocked.series(), "t", shocked.shock_log, start_year=2010, warm_up=4, events=shocked.events
    )
    shares, service = fig.axes[0], fig.axes[1]
    assert shares.get_ylim() == (0, 100) and service.get_ylim() == (0, 118)
    assert fig.axes[4].get_xlabel() == "year" and fig.axes[4].get_xlim()[0] < 2010.5
    legend = [t.get_text() for t in service.get_legend().get_texts()]
    assert "provider failure" in legend and "warm-up (not in the outcomes)" in legend
    shock_labels = [t.get_text() for t in shares.texts]
    assert shock_labels == ["shock: provider collapse"]


def test_two_runs_share_the_service_axis_however_deep_their_dips(shocked):
    calm = Simulation(None, rng=2, **small()).run()
    limits = {overview_figure(r.series(), "t", []).axes[1].get_ylim() for r in (calm, shocked)}
    assert limits == {(0, 118)}


def test_values_print_with_their_units_and_no_float_noise():
    assert format_value(0.6000000000000001) == "0.6"
    assert format_value(0.99412, "share") == "99.4%"
    assert format_value(3, "providers") == "3 providers"
    assert format_value(185312.77, "GBP m") == "185,313 GBP m"
    assert format_value(0.66191, "index 0-1") == "0.6619 (index 0-1)"
    assert format_value(None, "quarters") == "none"
    assert (
        format_value(1, "providers") == "1 provider" and format_value(40, "quarter") == "quarter 40"
    )


def test_numbers_in_a_table_line_up_by_unit_and_never_in_powers_of_ten():
    assert format_number(174512.345, "GBP m", fixed=True) == "174,512.35"
    assert format_number(0.4, "GBP m", fixed=True) == "0.40"
    assert format_number(0.99412, "share", fixed=True) == "99.41%"
    assert format_number(-0.0123, "share", fixed=True, difference=True) == "-1.23 pp"
    assert format_number(0.5, "index 0-1", fixed=True, difference=True) == "+0.500"
    assert format_number(float("nan"), "GBP m", fixed=True) == "none"


#: The value-for-money outcomes (the outcome table defines every one).
DEFINED_MONEY = [k for k in VALUE_FOR_MONEY if k in SUMMARY_FIELDS]


def test_value_for_money_is_a_section_of_its_own_holding_what_a_summary_has():
    assert list(VALUE_FOR_MONEY) == DEFINED_MONEY
    sections = dict(outcome_sections([*SUMMARY_FIELDS]))
    assert sections["Value for money"] == DEFINED_MONEY
    assert not set(sections["Outcomes"]) & set(VALUE_FOR_MONEY)
    # a summary without some of them (an older one) shows the rest
    assert dict(outcome_sections(["resilience", "total_emergency_cost"]))["Value for money"] == [
        "total_emergency_cost"
    ]
    assert dict(outcome_sections(["resilience"]))["Value for money"] == []


def test_the_report_page_shows_value_for_money_with_units(shocked):
    report = run_report(shocked)
    page = report_html(report, b"png")
    section = page.split("<h2>Value for money</h2>")[1].split("<h2>")[0]
    for name in DEFINED_MONEY:
        o = SUMMARY_FIELDS[name]
        shown = format_value(report["outcomes"][name], o.unit)
        assert f'<td>{html.escape(o.title)}</td><td class="value">{shown}</td>' in section
        assert o.unit in shown
    outcomes = page.split("<h2>Outcomes</h2>")[1].split("<h2>")[0]
    assert SUMMARY_FIELDS["total_emergency_cost"].meaning not in outcomes  # shown once


def test_a_summary_with_every_value_for_money_outcome_shows_each_with_its_unit(
    shocked, monkeypatch
):
    """What the page and the printed summary show once issue 20's outcomes are defined (here
    stand-ins where the outcome table does not define them yet)."""
    units = {"mean_cost_per_service": "ratio"}
    report = run_report(shocked)
    for k, name in enumerate(VALUE_FOR_MONEY):
        if name not in SUMMARY_FIELDS:
            unit = units.get(name, "GBP m")
            monkeypatch.setitem(SUMMARY_FIELDS, name, Outcome(name, float, unit, name, name))
        report["outcomes"].setdefault(name, 1000.0 * k + 0.5)
    section = report_html(report, b"png").split("<h2>Value for money</h2>")[1].split("<h2>")[0]
    titles = re.findall(r"<tr><td>([^<]*)</td>", section)
    assert titles == [html.escape(SUMMARY_FIELDS[k].title) for k in VALUE_FOR_MONEY]
    for name in VALUE_FOR_MONEY:
        o = SUMMARY_FIELDS[name]
        assert format_value(report["outcomes"][name], o.unit) in section
    printed = summary_text("run", report["outcomes"]).splitlines()
    assert len(printed) == 1 + len(HEADLINE) + 1 + len(VALUE_FOR_MONEY)


def test_the_printed_summary_ends_with_value_for_money(shocked):
    lines = summary_text("baseline", shocked.summary()).splitlines()
    heading = lines.index("Value for money:")
    assert heading == len(HEADLINE) + 1
    money = lines[heading + 1 :]
    assert [line.split("  ")[1].strip() for line in money] == [
        SUMMARY_FIELDS[k].title for k in DEFINED_MONEY
    ]
    assert all(re.search(r"GBP m$|GBP per GBP$", line) for line in money), money


def test_the_printed_summary_names_each_headline_outcome_with_its_unit(shocked):
    text = summary_text("baseline", shocked.summary())
    for name in HEADLINE:
        assert SUMMARY_FIELDS[name].title in text
    assert re.search(r"Provider failures +\d+ providers?", text)
    assert re.search(r"Resilience +\d+\.\d%", text)


def test_changed_inputs_are_those_that_differ_from_the_defaults(shocked):
    changed = {key: value for key, value, _, _ in changed_inputs(run_report(shocked)["scenario"])}
    assert changed["network.councils"] == 20 and changed["scenario.warm_up_quarters"] == 4
    assert "commissioning.price_weight" not in changed and "scenario.seed" not in changed


def test_run_writes_a_report_page_that_opens_offline_and_a_data_dictionary(tmp_path):
    out = tmp_path / "r"
    sets = ["--set", "network.councils=20", "--set", "scenario.quarters=16"]
    result = run_cli("run", "scenarios/home_care_1993.toml", "--out", str(out), *sets)
    assert result.returncode == 0, result.stderr
    assert f"{out}/report.html" in result.stdout and "providers" in result.stdout
    page = (out / "report.html").read_text()
    assert "data:image/png;base64," in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing fetched: opens offline
    assert "1992 Q1 to 1995 Q4" in page  # the scenario's start year
    summary = json.loads((out / "summary.json").read_text())
    for name in SUMMARY_FIELDS:
        assert SUMMARY_FIELDS[name].meaning.replace("'", "&#x27;") in page, name
    assert "network.councils" in page and "market_test_rate" in page  # changed inputs
    failures = [e for e in summary["events"] if e["event"] == "failure"]
    assert f"Failures and shocks ({len(failures)})" in page
    for e in failures:
        assert f"{e['provider']} failed ({e['cause']})" in page
    with (out / "timeseries.columns.csv").open() as f:
        dictionary = list(csv.DictReader(f))
    header = (out / "timeseries.csv").read_text().splitlines()[0].split(",")
    assert [row["column"] for row in dictionary] == header
    for row in dictionary[1:]:
        assert row["type"] == REPORTERS[row["column"]].type.__name__
        assert row["unit"] == REPORTERS[row["column"]].unit


def test_the_page_lists_every_event_and_shock_with_its_time(shocked):
    report = run_report(shocked)
    page = report_html(report, b"png")
    assert shocked.events, "the shocked run has events to list"
    for event in shocked.events:
        assert TimeAxis().name(event["quarter"]) in page
    assert "shock: provider collapse" in page and TimeAxis().name(SHOCK[0]["quarter"]) in page


ENGLAND = str(ROOT / "scenarios" / "england_home_care.toml")


def test_a_run_on_its_own_map_draws_its_councils_there_first_and_last():
    model = Simulation(load_scenario(ENGLAND, {"scenario.quarters": 4}), rng=1)
    recorder = MapRecorder.of(model)
    assert recorder is not None
    for _ in range(4):
        model.step()
        if model.quarter == 1:
            recorder.record(model)
    recorder.record(model)
    maps = recorder.maps
    assert [q for q, _ in maps.external] == [0, 3]
    inhouse = model.council_value_by_kind()[:, 2] / model.council_value_by_kind().sum(axis=1)
    np.testing.assert_allclose(maps.external[-1][1], 1 - inhouse)
    fig = overview_figure(model.series(), "England", [], maps=maps)
    drawn = [ax for ax in fig.axes if ax.get_title().startswith("Councils' external share")]
    assert [ax.get_title() for ax in drawn] == [
        "Councils' external share, year 1 Q1",
        "Councils' external share, year 1 Q4",
    ]
    for ax, (_, external) in zip(drawn, maps.external, strict=True):
        dots = ax.collections[-1]  # the councils, over their borders
        np.testing.assert_allclose(dots.get_offsets(), model.positions)
        np.testing.assert_allclose(dots.get_array(), 100 * external)
        assert len(ax.collections[0].get_segments()) == len(model.edges)
    plain = overview_figure(model.series(), "England", [])
    assert fig.get_figwidth() > plain.get_figwidth()  # the maps beside the same panels
    assert _labels_fit(fig)


def test_a_run_without_a_map_of_its_own_keeps_the_overview_as_it_was(tmp_path):
    assert MapRecorder.of(Simulation(None, rng=1, **small())) is None  # synthetic places
    (tmp_path / "c.csv").write_text("name,budget\nA,10\nB,20\nC,30\n")
    (tmp_path / "g.csv").write_text("source,target\nA,B\nB,C\n")  # borders, no places
    own = {"network.councils_file": str(tmp_path / "c.csv")}
    own["network.graph_file"] = str(tmp_path / "g.csv")
    assert MapRecorder.of(Simulation(None, rng=1, **small(**own))) is None


@pytest.mark.subprocess
def test_an_england_run_shows_its_councils_on_the_map(tmp_path):
    from PIL import Image

    out = tmp_path / "england"
    done = run_cli("run", ENGLAND, "--set", "scenario.quarters=4", "--out", str(out))
    assert done.returncode == 0, done.stderr
    with Image.open(out / "overview.png") as image:
        assert image.size[0] > 1320 and image.size[1] == 1100  # wider than the plain 1320
