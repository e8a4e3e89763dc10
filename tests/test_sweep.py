"""Sweeps end to end: files on disk, crash and resume, local pool vs in-process vs Dask."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import dask
import pandas as pd
import pytest
from dask.distributed import Client

from sim.core.outcomes import SUMMARY_FIELDS
from sim.experiments.executors import DaskExecutor, InProcessExecutor, PoolExecutor, local_cluster
from sim.experiments.experiment import load_experiment
from sim.experiments.sweep import run_sweep
from tests.sweep_support import REPO, commsim, experiment_file

# Every test here runs commsim or a script in a fresh interpreter: `make test` runs them.
pytestmark = pytest.mark.subprocess

GRID = '"commissioning.social_value_weight" = [0.0, 0.2]\nshocks = [[], [{ kind = "provider_collapse", quarter = 6 }]]'
OUTCOMES = [f for f in SUMMARY_FIELDS]


def outcomes(out) -> pd.DataFrame:
    runs = pd.read_parquet(out / "runs.parquet")
    return runs[["run_id", "seed", *OUTCOMES, "error"]].set_index("run_id")


def test_sweep_writes_runs_timeseries_and_manifest(tmp_path):
    exp = experiment_file(tmp_path, GRID, extra="timeseries_every = 3")
    out = tmp_path / "out"
    done = commsim("sweep", exp, "--out", out, "--workers", "2")
    assert done.returncode == 0, done.stderr
    runs = pd.read_parquet(out / "runs.parquet")
    assert list(runs["run_id"]) == list(range(8))
    assert {
        "point",
        "replication",
        "seed",
        "commissioning.social_value_weight",
        "shocks",
        "error",
    } <= set(runs)
    assert set(OUTCOMES) <= set(runs.columns)
    assert runs["error"].isna().all()
    assert set(runs["shocks"]) == {"none", "provider_collapse@6(largest_outsourcer)"}
    ts = pd.read_parquet(out / "timeseries")
    assert sorted(ts["quarter"].unique()) == [0, 3, 6, 9]
    assert ts.groupby("run_id").size().to_dict() == dict.fromkeys(range(8), 4)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["experiment"]["text"] == exp.read_text()
    assert len(manifest["experiment"]["sha256"]) == 64
    assert manifest["base_scenario"]["network"]["councils"] == 20
    assert manifest["counts"] == {"points": 4, "runs": 8, "finished": 8, "failed": 0, "ran_last": 8}
    assert manifest["versions"]["mesa"] and manifest["versions"]["python"]
    assert manifest["started"] <= manifest["finished"]


def test_writing_into_a_full_directory_needs_resume(tmp_path):
    exp = experiment_file(tmp_path, GRID)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    done = commsim("sweep", exp, "--out", out, "--workers", "1")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "not empty" in done.stderr and "--resume" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_resume_refuses_results_of_another_experiment(tmp_path):
    out = tmp_path / "out"
    first = experiment_file(tmp_path, GRID, replications=1)
    assert commsim("sweep", first, "--out", out, "--workers", "1").returncode == 0
    second = experiment_file(tmp_path, GRID, replications=3, name="other.toml")
    done = commsim("sweep", second, "--out", out, "--workers", "1", "--resume")
    assert done.returncode == 2 and "different experiment" in done.stderr


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path):
    params = (
        '"commissioning.social_value_weight" = { min = 0.5, max = 0.9 }\n'
        '"commissioning.local_preference" = { min = 0.0, max = 0.4 }'
    )
    exp = experiment_file(tmp_path, params, design="lhs", replications=1, extra="samples = 12")
    out = tmp_path / "out"
    done = commsim("sweep", exp, "--out", out, "--workers", "1")
    assert done.returncode == 0, done.stderr
    runs = pd.read_parquet(out / "runs.parquet")
    bad = runs["commissioning.social_value_weight"] + runs["commissioning.local_preference"] > 1
    assert bad.any() and (~bad).any()
    assert runs.loc[bad, "error"].str.contains("at most 1").all()
    assert runs.loc[bad, "resilience"].isna().all()
    assert runs.loc[~bad, "error"].isna().all() and runs.loc[~bad, "resilience"].notna().all()


@pytest.mark.slow
def test_sigkill_then_resume_loses_no_finished_run(tmp_path):
    grid = '"commissioning.social_value_weight" = [0.0, 0.1, 0.2, 0.3, 0.4]\n"mutuals.count" = [30, 60]'
    fixed = '[fixed]\n"network.councils" = 20\n"scenario.quarters" = 24\n'
    exp = experiment_file(tmp_path, grid, replications=16, fixed=fixed)  # 160 runs
    reference = tmp_path / "reference"
    assert commsim("sweep", exp, "--out", reference, "--workers", "2").returncode == 0

    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", "sweep", str(exp), "--out", str(out), "--workers", "2"],
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while len(list((out / "parts").glob("runs-*.parquet"))) < 3 and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep, its forkserver and its workers
    proc.wait()
    assert not (out / "runs.parquet").exists(), "the sweep finished before it was killed"
    survived = pd.concat(pd.read_parquet(p) for p in (out / "parts").glob("runs-*.parquet"))
    assert 0 < len(survived) < 160

    done = commsim("sweep", exp, "--out", out, "--workers", "2", "--resume")
    assert done.returncode == 0, done.stderr
    assert f"{len(survived)} already done" in done.stdout
    runs = pd.read_parquet(out / "runs.parquet")
    assert sorted(runs["run_id"]) == list(range(160))  # every run exactly once
    pd.testing.assert_frame_equal(outcomes(out), outcomes(reference))
    # every finished run kept: the killed sweep's rows are in the final table, unchanged
    kept = outcomes(out).loc[survived["run_id"]]
    pd.testing.assert_frame_equal(
        kept.reset_index(drop=True),
        survived.set_index("run_id")[kept.columns].reset_index(drop=True),
    )
    ts = pd.read_parquet(out / "timeseries")
    assert ts.groupby("run_id").size().to_dict() == dict.fromkeys(range(160), 24)
    assert not (out / "parts").exists()


@pytest.mark.slow
def test_dask_local_cluster_matches_local_pool_and_in_process(tmp_path):
    exp = load_experiment(experiment_file(tmp_path, GRID, replications=3))
    with InProcessExecutor() as executor:
        run_sweep(exp, tmp_path / "one", executor, progress=False)
    with PoolExecutor(2) as executor:
        run_sweep(exp, tmp_path / "pool", executor, progress=False)
    with local_cluster(2) as cluster, DaskExecutor(cluster.scheduler_address) as executor:
        assert executor.workers == 2
        run_sweep(exp, tmp_path / "dask", executor, progress=False)
        # the lean settings reach the worker processes (they are made before the cluster)
        with Client(cluster) as client:
            seen = client.run(lambda: dask.config.get("distributed.worker.profile.enabled"))
        assert list(seen.values()) == [False, False]
        # a stopped sweep (SIGTERM, Ctrl-C) leaves none of its tasks on the cluster
        executor = DaskExecutor(cluster.scheduler_address)
        batches = executor.results(slow_task, range(40))
        assert 0 in next(batches)
        executor.abort()
        with Client(cluster) as client:
            left = client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))
        assert left == 0
    one = outcomes(tmp_path / "one")
    assert len(one) == 12 and one["error"].isna().all()
    pd.testing.assert_frame_equal(outcomes(tmp_path / "pool"), one)
    pd.testing.assert_frame_equal(outcomes(tmp_path / "dask"), one)
    manifest = json.loads((tmp_path / "dask" / "manifest.json").read_text())
    assert manifest["executor"].startswith("dask scheduler tcp://127.0.0.1:")


def slow_task(n: int) -> list[int]:
    """A task that takes a moment, so that most are still queued when the sweep stops."""
    time.sleep(0.2 if n else 0)
    return [n]


def test_the_sweep_writer_does_not_load_the_model(tmp_path):
    """The process that streams results to disk holds no copy of Mesa, scipy or networkx: with
    a pool, only the workers (forked from one preloaded server) carry the model."""
    exp = experiment_file(tmp_path, GRID)
    argv = ["sweep", str(exp), "--out", str(tmp_path / "out"), "--workers", "2"]
    code = (
        "import sys\n"
        "from sim.cli import main\n"
        f"assert main({argv!r}) == 0\n"
        "print(sorted(m for m in ('mesa', 'scipy', 'networkx', 'sim.abm.model') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert len(pd.read_parquet(tmp_path / "out" / "runs.parquet")) == 8
