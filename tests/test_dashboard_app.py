"""The dashboard module without a browser: colours, controls, drawing, the Reset path, the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from mesa.experimental.scenarios import Scenario as MesaScenario
from mesa.visualization.solara_viz import _build_model_init_kwargs, _check_model_params

from sim import app
from sim.agents import ProviderKind
from sim.cli import build_parser, dashboard_command, main
from sim.plots import KIND_COLOURS
from sim.scenario import Scenario, Shock

ROOT = Path(__file__).resolve().parent.parent
BASELINE = str(ROOT / "scenarios" / "baseline.toml")
SMALL = {"network__councils": 30, "mutuals__count": 10, "scenario__quarters": 12}


@pytest.fixture
def model() -> app.ClassroomModel:
    m = app.ClassroomModel(None, **SMALL)
    for _ in range(3):
        m.step()
    return m


def test_map_colours_follow_the_leading_provider_type(model: app.ClassroomModel) -> None:
    value = model.council_value_by_kind()
    value[0] = 0.0  # a council with every service in a gap is grey
    model.council_value_by_kind = lambda: value  # type: ignore[method-assign]
    colours = app.council_colours(model)
    assert colours[0] == KIND_COLOURS["gap"]
    for i in range(1, model.n_councils):
        kind = ProviderKind(int(np.argmax(value[i]))).name.lower()
        assert colours[i] == KIND_COLOURS[kind]


def test_map_rings_the_councils_a_collapse_hits(model: app.ClassroomModel) -> None:
    model.apply_shock(Shock(kind="provider_collapse", quarter=model.quarter))
    assert model.ledger.councils_hit.any()
    fig = Figure()
    app.draw_market_map(model, fig)
    dots = fig.axes[0].collections[-1]
    edges = [to_hex(c) for c in dots.get_edgecolors()]
    ringed = [e == app.HIT_EDGE for e in edges]
    assert ringed == list(model.ledger.councils_hit)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == [
        "private outsourcer",
        "mutual",
        "in-house",
        "gap (no provider)",
        "contract disrupted",
    ]


def test_controls_come_from_the_schema_with_units_and_ranges() -> None:
    levers = {lever.key: lever for lever in app.levers()}
    assert list(levers) == list(app.LEVERS)
    svw = levers["commissioning.social_value_weight"]
    field = Scenario.model_fields["commissioning"].annotation.model_fields["social_value_weight"]
    assert field.json_schema_extra["unit"] in svw.label
    assert svw.description == field.description
    assert (svw.kind, svw.minimum, svw.maximum) == ("SliderFloat", 0.0, 0.5)
    assert levers["outsourcers.count"].kind == "SliderInt"
    assert levers["mutuals.support_programme"].kind == "Checkbox"
    # The schema's range, where no classroom cap applies.
    assert levers["councils.inhouse_capacity_retained"].maximum == 1.0
    params = app.lever_params(BASELINE)
    assert params["scenario_file"] == BASELINE
    assert params["commissioning__social_value_weight"]["value"] == 0.1
    assert params["outsourcers__count"] == {
        "type": "SliderInt",
        "label": "Outsourcers (providers)",
        "value": 8,
        "min": 0,
        "max": 20,
        "step": 1,
    }


def test_reset_as_solaraviz_does_it_builds_the_model_from_file_and_levers() -> None:
    params = app.lever_params(BASELINE)
    model = app.ClassroomModel(BASELINE)
    _check_model_params(model, params)  # SolaraViz refuses parameters the model cannot take
    chosen = {k: (v["value"] if isinstance(v, dict) else v) for k, v in params.items()}
    chosen["commissioning__social_value_weight"] = 0.3
    chosen["outsourcers__count"] = 3
    kwargs = _build_model_init_kwargs(
        model, chosen, add_scenario_when_empty=True, require_model_accepts_scenario=True
    )
    assert isinstance(kwargs["scenario"], MesaScenario)
    fresh = type(model)(**kwargs)
    assert fresh.params.commissioning.social_value_weight == 0.3
    assert fresh.params.outsourcers.count == 3
    assert fresh.params.scenario.name == "baseline"
    assert "social value weight 0.3" in app.running_levers(fresh)


def test_sliders_past_the_schema_sum_leave_local_preference_the_rest() -> None:
    model = app.ClassroomModel(
        None, commissioning__social_value_weight=0.7, commissioning__local_preference=0.5, **SMALL
    )
    c = model.params.commissioning
    assert c.social_value_weight == 0.7 and c.local_preference == pytest.approx(0.3)


def test_plots_draw_before_the_first_step_and_mark_shocks(model: app.ClassroomModel) -> None:
    empty = app.ClassroomModel(None, **SMALL)
    for spec in app.PLOTS:
        app.draw_series(empty, Figure(), *spec)
    model.apply_shock(Shock(kind="provider_collapse", quarter=model.quarter))
    model.step()
    fig = Figure()
    app.draw_series(model, fig, *app.PLOTS[1])
    ax = fig.axes[0]
    assert len(ax.lines[0].get_ydata()) == 4
    assert ax.get_ylim()[1] == 100.5 and ax.get_ylim()[0] <= 90
    assert any(list(line.get_xdata()) == [3, 3] for line in ax.lines[1:])


def test_event_text_reports_a_collapse(model: app.ClassroomModel) -> None:
    model.apply_shock(Shock(kind="provider_collapse", quarter=model.quarter))
    event = model.events[-1]
    text = app.event_text(event)
    assert text == (
        f"Quarter 3: {event['provider']} collapsed, {event['contracts']} contracts disrupted"
    )
    assert app.event_text({"quarter": 4, "event": "handback", "contracts": 2}) == (
        "Quarter 4: 2 contracts handed back"
    )
    assert app.event_text({"quarter": 4, "event": "handback", "contracts": 1}) == (
        "Quarter 4: 1 contract handed back"
    )


def test_scenario_picker_lists_the_scenarios_folder(tmp_path: Path) -> None:
    files = app.scenario_files()
    assert files["baseline.toml"] == BASELINE
    own = tmp_path / "mine.toml"
    own.write_text("")
    assert app.scenario_files(str(own))["mine.toml"] == str(own)
    assert app.scenario_files(BASELINE) == files  # already listed
    twin = tmp_path / "baseline.toml"  # same name, another folder: listed by its path
    twin.write_text("")
    assert app.scenario_files(str(twin))[str(twin)] == str(twin)


def test_the_model_imports_nothing_of_the_dashboard() -> None:
    code = "import sys, sim, sim.model, sim.cli; assert 'sim.app' not in sys.modules"
    code += "; assert 'solara' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_dashboard_command_serves_offline_on_localhost() -> None:
    args = build_parser().parse_args(["dashboard", BASELINE])
    assert (args.host, args.port) == ("127.0.0.1", 8521)
    argv, env = dashboard_command(BASELINE, "127.0.0.1", 8600)
    assert argv[1:5] == ["-m", "solara", "run", "sim.app"]
    assert argv[argv.index("--host") + 1] == "127.0.0.1" and "--no-check-version" in argv
    assert env[app.SCENARIO_ENV] == BASELINE
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"


def test_a_bad_scenario_is_refused_before_any_server_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[commissioning]\nsocial_value_weight = 2\n")
    assert main(["dashboard", str(bad), "--port", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "commissioning.social_value_weight" in err
    assert "Dashboard:" not in capsys.readouterr().out
