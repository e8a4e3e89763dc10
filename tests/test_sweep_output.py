"""Self-describing sweep output: units in the Parquet metadata, integer counts, fixed values
and a sweep id as columns, one compacted time series, replay, command-line changes, CSV."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.core.outcomes import REPORTERS, SUMMARY_FIELDS
from sim.experiments import store
from sim.experiments.executors import make_executor
from sim.experiments.experiment import load_experiment
from sim.experiments.sweep import run_sweep
from sim.inputs import InputError
from tests.sweep_support import BASELINE, commsim, experiment_file

# Every test here runs commsim or a script in a fresh interpreter: `make test` runs them.
pytestmark = pytest.mark.subprocess

FIXED = """
[fixed]
"network.councils" = 20
"scenario.quarters" = 8
"outsourcers.count" = 5
shocks = [{ kind = "provider_collapse", quarter = 3 }]
"""
SVW = '"commissioning.social_value_weight" = [0.0, 0.3]'


def sweep(folder: Path, out: Path, **load) -> Path:
    """A finished 4-run sweep in ``out`` (grid of 2 x 2 replications, a shock fixed)."""
    exp = load_experiment(experiment_file(folder, SVW, fixed=FIXED), **load)
    run_sweep(exp, out, make_executor(1, None), progress=False)
    return out


@pytest.fixture(scope="module")
def done(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sweep")
    return sweep(folder, folder / "out")


def meta(field: pa.Field) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in field.metadata.items()}


def test_runs_parquet_fields_carry_unit_description_and_role(done):
    schema = pq.read_schema(done / "runs.parquet")
    assert meta(schema.field("resilience")) == {
        "unit": "share", "description": SUMMARY_FIELDS["resilience"].meaning, "role": "outcome",
    }  # fmt: skip
    svw = meta(schema.field("commissioning.social_value_weight"))
    assert svw["unit"] == "share of score" and svw["role"] == "parameter" and svw["description"]
    assert meta(schema.field("outsourcers.count"))["role"] == "fixed"
    assert meta(schema.field("total_emergency_cost"))["unit"] == "GBP m"
    assert meta(schema.field("run_id"))["role"] == "id"
    for name in SUMMARY_FIELDS:  # every outcome has a unit
        assert meta(schema.field(name))["unit"], name


def test_counts_are_integers_in_runs_and_time_series(done):
    runs = pq.read_schema(done / "runs.parquet")
    for name in ("failures_total", "handbacks_total", "first_shock_quarter", "recovery_quarters"):
        assert runs.field(name).type == pa.int64(), name
    assert runs.field("resilience").type == pa.float64()
    (ts,) = (done / "timeseries").glob("*.parquet")  # compacted into one file
    series = pq.read_schema(ts)
    for name in ("quarter", "failures", "handbacks", "providers_active", "spin_outs"):
        assert series.field(name).type == pa.int64(), name
    assert meta(series.field("unmet_need")) == {
        "unit": REPORTERS["unmet_need"].unit, "description": REPORTERS["unmet_need"].meaning,
        "role": "reporter",
    }  # fmt: skip


def test_fixed_values_and_the_sweep_id_are_columns(done, tmp_path):
    runs = pd.read_parquet(done / "runs.parquet")
    manifest = json.loads((done / "manifest.json").read_text())
    assert set(runs["sweep_id"]) == {manifest["sweep_id"]}
    assert set(runs["outsourcers.count"]) == {5} and set(runs["network.councils"]) == {20}
    assert set(runs["shocks"]) == {"provider_collapse@3(largest_outsourcer)"}
    assert manifest["fixed"]["outsourcers.count"] == 5
    other = sweep(tmp_path, tmp_path / "again")
    both = pd.concat([runs, pd.read_parquet(other / "runs.parquet")])
    assert both["sweep_id"].nunique() == 2
    assert not both.duplicated(["sweep_id", "run_id"]).any()


def test_the_time_series_is_one_file_and_reads_as_a_dataset(done):
    files = sorted((done / "timeseries").iterdir())
    assert len(files) == 1 and files[0].name.endswith("-compacted.parquet")
    ts = pd.read_parquet(done / "timeseries")
    assert len(ts) == 4 * 8 and not ts.duplicated(["run_id", "quarter"]).any()
    assert json.loads(pq.read_schema(done / "runs.parquet").metadata[b"commsim_parts"]) == [
        files[0].name.removeprefix("ts-")
    ]


@pytest.mark.parametrize("stage", ["before runs.parquet", "after runs.parquet"])
def test_a_compaction_cut_short_is_repaired_by_resume(done, tmp_path, monkeypatch, stage):
    """Killed while compacting: before runs.parquet names the new file (the copy is an orphan)
    or after it (the copied parts are surplus); resume ends with the same data, once each."""
    path = experiment_file(tmp_path, SVW, fixed=FIXED, replications=2)
    exp = load_experiment(path)
    out = tmp_path / "out"
    real_write, real_unlink = store._write_parquet_atomic, Path.unlink

    def write(table, target):
        if stage == "before runs.parquet" and target.name == store.RUNS:
            raise KeyboardInterrupt
        real_write(table, target)

    def unlink(self, missing_ok=False):
        if stage == "after runs.parquet" and self.name.startswith("ts-"):
            raise KeyboardInterrupt
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(store, "_write_parquet_atomic", write)
    monkeypatch.setattr(Path, "unlink", unlink)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(exp, out, make_executor(1, None), progress=False)
    monkeypatch.undo()
    assert len(list((out / "timeseries").glob("ts-*.parquet"))) > 1
    report = run_sweep(exp, out, make_executor(1, None), progress=False, resume=True)
    assert report.ran == 0
    files = list((out / "timeseries").glob("ts-*.parquet"))
    assert len(files) == 1
    ts = pd.read_parquet(out / "timeseries").sort_values(["run_id", "quarter"])
    ref = pd.read_parquet(done / "timeseries").sort_values(["run_id", "quarter"])
    pd.testing.assert_frame_equal(ts.reset_index(drop=True), ref.reset_index(drop=True))


def test_replay_reproduces_a_run_and_reports_a_difference(done, tmp_path):
    result = commsim("replay", done, 3)
    assert result.returncode == 0, result.stderr
    assert "run 3 matches" in result.stdout
    copy = tmp_path / "copy"
    shutil.copytree(done, copy)
    table = pq.read_table(copy / "runs.parquet")
    runs = table.to_pandas()
    runs.loc[runs["run_id"] == 3, "resilience"] += 0.01
    pq.write_table(pa.Table.from_pandas(runs, schema=table.schema), copy / "runs.parquet")
    result = commsim("replay", copy, 3)
    assert result.returncode == 1
    assert "resilience: recorded" in result.stdout and "run 3 differs in 1" in result.stdout
    missing = commsim("replay", done, 99)
    assert missing.returncode == 2 and "holds no run 99" in missing.stderr


def test_sweep_replications_and_set_shrink_and_vary_a_sweep(tmp_path):
    path = experiment_file(tmp_path, SVW, fixed=FIXED, replications=5)
    out = tmp_path / "out"
    args = ("sweep", path, "--out", out, "--workers", "1")  # not -q: the summary is read
    result = commsim(*args, "--replications", "1", "--set", "outsourcers.count=3")
    assert result.returncode == 0, result.stderr
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 2 and set(runs["outsourcers.count"]) == {3}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command_line"] == {"replications": 1, "set": {"outsourcers.count": 3}}
    assert manifest["experiment"]["replications"] == 1
    assert manifest["base_scenario"]["outsourcers"]["count"] == 3
    again = commsim(*args, "--replications", "2", "--set", "outsourcers.count=3", "--resume")
    assert again.returncode == 2 and "different experiment" in again.stderr
    same = commsim(*args, "--replications", "1", "--set", "outsourcers.count=3", "--resume")
    assert same.returncode == 0 and "2 already done" in same.stdout
    replay = commsim("replay", out, 1)
    assert replay.returncode == 0 and "matches" in replay.stdout


def test_sweep_set_refuses_a_varied_parameter_and_a_bad_count(tmp_path):
    path = experiment_file(tmp_path, SVW, fixed=FIXED)
    with pytest.raises(InputError, match="varies it"):
        load_experiment(path, overrides={"commissioning.social_value_weight": 0.1})
    result = commsim("sweep", path, "--replications", "0")
    assert result.returncode == 2 and "--replications 0: must be 1 to 100000" in result.stderr


def test_the_scenario_path_is_relative_to_the_experiment_file_after_a_copy(tmp_path, monkeypatch):
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "experiments").mkdir()
    shutil.copy(BASELINE, tmp_path / "scenarios" / "mine.toml")
    exp = tmp_path / "experiments" / "e.toml"
    exp.write_text(
        '[experiment]\nname = "e"\nscenario = "../scenarios/mine.toml"\nreplications = 1\n'
        f"{FIXED}\n[parameters]\n{SVW}\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # not the experiment's folder, nor the repository
    loaded = load_experiment(exp)
    assert loaded.base["scenario"]["name"] == "baseline" and len(loaded.points) == 2


def test_export_writes_behaviorspace_style_csv_with_a_data_dictionary(done, tmp_path):
    result = commsim("export", done, "--out", tmp_path / "csv")
    assert result.returncode == 0, result.stderr
    runs = pd.read_csv(tmp_path / "csv" / "runs.csv")
    assert len(runs) == 4 and "resilience" in runs and "sweep_id" in runs
    ts = pd.read_csv(tmp_path / "csv" / "timeseries.csv")
    assert list(ts.columns[:4]) == [
        "run_id", "commissioning.social_value_weight", "network.councils", "scenario.quarters",
    ]  # fmt: skip
    assert len(ts) == 4 * 8 and "quarter" in ts and "service_delivered" in ts
    columns = pd.read_csv(tmp_path / "csv" / "columns.csv").set_index("column")
    assert columns.loc["resilience", "unit"] == "share"
    assert columns.loc["failures", "role"] == "reporter"


def test_units_are_in_the_file_metadata_that_polars_and_duckdb_read(done):
    """polars (read_parquet_metadata) and DuckDB (parquet_kv_metadata) read a Parquet file's
    key-value metadata, not Arrow's field metadata; neither is installed here, so the file's
    own key-value metadata is read with pyarrow's Parquet reader, as they would read it."""
    (ts,) = (done / "timeseries").glob("*.parquet")
    for path, name, unit in ((done / "runs.parquet", "service_quarters_lost", "quarters"),
                             (ts, "unmet_need", "GBP m / quarter")):  # fmt: skip
        kv = pq.read_metadata(path).metadata
        columns = json.loads(kv[b"commsim_columns"])
        assert columns[name]["unit"] == unit, path
        assert set(columns) == set(pq.read_schema(path).names)
