"""Sweep figures read unaided: panels titled in words with units, shock settings drawn as
categories, envelopes kept apart per setting, count CIs never below zero, Figures returned."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from sim.core.outcomes import SUMMARY_FIELDS
from sim.experiments.executors import make_executor
from sim.experiments.experiment import load_experiment
from sim.experiments.store import read_manifest, read_runs, read_timeseries
from sim.experiments.sweep import run_sweep
from sim.report.experiment_plots import envelope_figure, outcomes_figure
from tests.sweep_support import experiment_file

PARAMETERS = """
"commissioning.social_value_weight" = [0.0, 0.4]
shocks = [[], [{ kind = "provider_collapse", quarter = 6, target = "largest_outsourcer" }]]
"""
FIXED = """
[fixed]
"network.councils" = 20
"scenario.quarters" = 12
"scenario.warm_up_quarters" = 2
"""


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plots")
    experiment = load_experiment(experiment_file(folder, PARAMETERS, fixed=FIXED, replications=3))
    run_sweep(experiment, folder / "out", make_executor(1, None), progress=False)
    manifest = read_manifest(folder / "out")
    return read_runs(folder / "out"), read_timeseries(folder / "out"), manifest


def panels(fig: Figure) -> list:
    """The figure's drawn panels (a grid's spare cells are hidden)."""
    return [ax for ax in fig.axes if ax.get_visible()]


def _figure(sweep, name: str, path=None) -> Figure:
    runs, _, manifest = sweep
    parameters, kinds = list(manifest["parameters"]), manifest["parameter_kinds"]
    return outcomes_figure(runs, name, parameters, kinds, "grid", path)


def test_figures_are_returned_and_saved_only_when_a_path_is_given(sweep, tmp_path):
    assert isinstance(_figure(sweep, "shocks"), Figure)
    _figure(sweep, "shocks", tmp_path / "o.png")
    assert (tmp_path / "o.png").read_bytes()[:4] == b"\x89PNG"


def test_panels_are_titled_in_words_with_units(sweep):
    titles = {ax.get_title() for ax in panels(_figure(sweep, "commissioning.social_value_weight"))}
    assert "Resilience (share)" in titles and "Provider failures (providers)" in titles
    assert not any("_" in t for t in titles)
    xlabel = _figure(sweep, "commissioning.social_value_weight").axes[0].get_xlabel()
    assert xlabel == "commissioning.social_value_weight (share of score)"


def test_shock_settings_are_categories_never_joined_by_lines(sweep):
    for ax in panels(_figure(sweep, "shocks")):
        assert ax.lines and all(line.get_linestyle() == "None" for line in ax.lines), ax.get_title()


def test_count_and_other_outcome_cis_never_fall_below_zero(sweep):
    """A CI band never claims a count or share below zero; a margin, which can be negative
    in a run, keeps its band."""
    runs = sweep[0]
    may_be_negative = {
        SUMMARY_FIELDS[k].label for k in SUMMARY_FIELDS if k in runs and (runs[k] < 0).any()
    }
    for name in ("shocks", "commissioning.social_value_weight"):
        for ax in panels(_figure(sweep, name)):
            if ax.get_title() not in may_be_negative:
                assert ax.dataLim.y0 >= 0, (name, ax.get_title())
    counts = [o.label for o in SUMMARY_FIELDS.values() if o.type is int]
    shown = [ax.get_title() for ax in panels(_figure(sweep, "shocks"))]
    assert set(counts) & set(shown), "the sweep shows some counts"


def test_envelopes_keep_each_shock_setting_apart(sweep):
    runs, ts, manifest = sweep
    fig = envelope_figure(
        ts, runs, list(manifest["parameters"]), "grid", kinds=manifest["parameter_kinds"]
    )
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert len(labels) == 4  # 2 weights x 2 shock settings: nothing pooled
    assert sum(label.startswith("shocks=none") for label in labels) == 2
    # a sampled design pools numeric settings, never the categorical ones
    fig = envelope_figure(ts, runs, list(manifest["parameters"]), "lhs")
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert len(labels) == 2 and all(label.startswith("shocks=") for label in labels)


def test_analyze_writes_a_data_dictionary_beside_its_summary(tmp_path):
    import pandas as pd

    from sim.experiments.analysis import analyze_sweep

    experiment = load_experiment(experiment_file(tmp_path, PARAMETERS, fixed=FIXED))
    run_sweep(experiment, tmp_path / "out", make_executor(1, None), progress=False)
    written = analyze_sweep(tmp_path / "out")
    assert tmp_path / "out" / "summary.columns.csv" in written
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    dictionary = pd.read_csv(tmp_path / "out" / "summary.columns.csv", keep_default_na=False)
    assert list(dictionary["column"]) == list(summary.columns)
    assert (dictionary["description"] != "").all() and (dictionary["unit"] != "").all()
    row = dictionary.set_index("column").loc["service_quarters_lost_ci_low"]
    assert row["unit"] == "quarters" and "95% CI" in row["description"]
