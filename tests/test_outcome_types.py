"""Every outcome is stored in its true type (sim/core/outcomes.py) by every writer: a run's
summary.json and timeseries.csv, a sweep's runs.parquet and time series, ``commsim export``,
and the dashboard's CSV download. Each stored value equals the run's own."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from sim.core.engine import Simulation
from sim.core.outcomes import REPORTERS, SUMMARY_FIELDS, Outcome
from sim.experiments.executors import make_executor
from sim.experiments.experiment import iter_run_specs, load_experiment, scenario_at
from sim.experiments.export import export_csv
from sim.experiments.sweep import run_sweep
from tests.helpers import run_cli
from tests.sweep_support import experiment_file

#: A market small enough to sweep in seconds, with failures, so counts are not all 0
#: and service_quarters_lost is a fraction.
FIXED = """
[fixed]
"network.councils" = 20
"scenario.quarters" = 16
"scenario.warm_up_quarters" = 2
"outsourcers.count" = 4
"""
#: One point without a shock and its recovery (null outcomes), one with.
SHOCKS = 'shocks = [[], [{ kind = "provider_collapse", quarter = 6 }]]'


def assert_stored(stored: Any, own: Any, definition: Outcome, where: str) -> None:
    """``stored`` has the outcome's type and the run's own value (exactly: no writer rounds a
    float that it stores as a number)."""
    what = f"{definition.name} in {where}"
    if own is None or (isinstance(own, float) and math.isnan(own)):
        assert definition.nullable or isinstance(own, float), what
        assert stored is None or (isinstance(stored, float) and math.isnan(stored)), what
        return
    assert type(stored) is definition.type, f"{what}: {stored!r} is no {definition.type}"
    assert stored == own, f"{what}: stored {stored!r}, the run's own {own!r}"


def from_csv(text: str, definition: Outcome, where: str) -> Any:
    """A CSV field read back as the outcome's type: an integer must be written as one."""
    if text == "":
        return None
    if definition.type is int:
        assert text.lstrip("-").isdigit(), f"{definition.name} in {where}: {text!r} no integer"
        return int(text)
    return float(text)


def assert_csv(text: str, own: Any, definition: Outcome, where: str) -> None:
    """As :func:`assert_stored`, for a CSV field written to 10 significant digits."""
    stored = from_csv(text, definition, where)
    if stored is None or own is None or definition.type is int:
        assert_stored(stored, own, definition, where)
    else:
        assert stored == pytest.approx(own, rel=1e-9, abs=1e-12), f"{definition.name}: {where}"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> tuple[Path, dict[int, Simulation]]:
    """A finished sweep (2 points x 2 replications) and each run rerun on its own."""
    folder = tmp_path_factory.mktemp("types")
    experiment = load_experiment(experiment_file(folder, SHOCKS, fixed=FIXED))
    out = folder / "out"
    run_sweep(experiment, out, make_executor(1, None), progress=False)
    own = {
        spec.run_id: Simulation(
            scenario_at(spec.scenario, spec.values, "parameters"), rng=spec.seed
        ).run()
        for spec in iter_run_specs(experiment)
    }
    return out, own


def test_the_runs_the_check_reads_have_fractions_counts_and_nulls(sweep):
    _, own = sweep
    summaries = [run.summary() for run in own.values()]
    assert any(
        0 < s["service_quarters_lost"] != round(s["service_quarters_lost"]) for s in summaries
    )
    assert any(s["failures_total"] > 0 for s in summaries)
    assert any(s["recovery_quarters"] is None for s in summaries)
    assert any(s["first_shock_quarter"] is not None for s in summaries)


def test_runs_parquet_stores_every_outcome_as_the_run_has_it(sweep):
    out, own = sweep
    for row in pq.read_table(out / "runs.parquet").to_pylist():
        summary = own[row["run_id"]].summary()
        for name, definition in SUMMARY_FIELDS.items():
            assert_stored(row[name], summary[name], definition, f"runs.parquet {row['run_id']}")


def test_the_sweeps_time_series_store_every_reporter_as_the_run_has_it(sweep):
    out, own = sweep
    rows = ds.dataset(out / "timeseries", format="parquet").to_table().to_pylist()
    assert len(rows) == sum(len(run.series()["quarter"]) for run in own.values())
    for row in rows:
        series = own[row["run_id"]].series()
        for name, definition in REPORTERS.items():
            value = series[name][row["quarter"]].item()
            assert_stored(row[name], value, definition, f"time series {row['run_id']}")


def test_export_writes_every_outcome_and_reporter_as_the_run_has_it(sweep, tmp_path):
    out, own = sweep
    export_csv(out, tmp_path)
    with (tmp_path / "runs.csv").open() as f:
        for row in csv.DictReader(f):
            summary = own[int(row["run_id"])].summary()
            for name, definition in SUMMARY_FIELDS.items():
                assert_csv(row[name], summary[name], definition, "export's runs.csv")
    with (tmp_path / "timeseries.csv").open() as f:
        for row in csv.DictReader(f):
            series = own[int(row["run_id"])].series()
            for name, definition in REPORTERS.items():
                value = series[name][int(row["quarter"])].item()
                assert_csv(row[name], value, definition, "export's timeseries.csv")


def test_commsim_run_writes_every_outcome_and_reporter_as_the_run_has_it(tmp_path):
    overrides = {
        "network.councils": 20,
        "scenario.quarters": 16,
        "scenario.warm_up_quarters": 2,
        "outsourcers.count": 4,
    }
    sets = [a for k, v in overrides.items() for a in ("--set", f"{k}={v}")]
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"
    result = run_cli("run", str(scenario), "--out", str(tmp_path / "r"), "--seed", "3", *sets)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "r" / "summary.json").read_text())
    run = Simulation(report["scenario"], rng=3).run()
    summary = run.summary()
    for name, definition in SUMMARY_FIELDS.items():
        assert_stored(report["outcomes"][name], summary[name], definition, "summary.json")
    series = run.series()
    with (tmp_path / "r" / "timeseries.csv").open() as f:
        for row in csv.DictReader(f):
            for name, definition in REPORTERS.items():
                value = series[name][int(row["quarter"])].item()
                assert_csv(row[name], value, definition, "timeseries.csv")


def test_the_dashboards_csv_download_writes_every_reporter_as_the_run_has_it():
    from sim.dashboard.controller import ClassroomModel, Session
    from sim.dashboard.export import timeseries_csv

    model = ClassroomModel(None, rng=4, **{"network__councils": 20, "scenario__quarters": 10})
    model.run_model()
    series = model.timeseries()
    table = [line for line in timeseries_csv(Session(model)).splitlines() if line[0] != "#"]
    rows = list(csv.DictReader(table))
    assert [int(row["quarter"]) for row in rows] == list(range(11))  # 0: as the run starts
    for row in rows[1:]:  # row q: the quarter that ends at the page's "Quarter q"
        for name, definition in REPORTERS.items():
            value = series[name].iloc[int(row["quarter"]) - 1].item()
            if definition.unit.startswith("share"):  # written in percent, to 0.01
                assert float(row[name]) == pytest.approx(100 * value, abs=0.005), name
            elif definition.type is float and not math.isnan(value):  # to 4 decimals
                assert float(row[name]) == pytest.approx(value, abs=5e-5), name
            else:
                assert_csv(row[name], value, definition, "the dashboard's CSV")
