"""Lean sweeps: what a worker returns equals the model's own tables (no pandas per run), chunks
send every run once and shrink at the end, specs are made as sent, and workers load no more
than the engine."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.experiments.executors import PoolExecutor
from sim.experiments.experiment import (
    iter_run_specs,
    load_experiment,
    run_specs,
    scenario_at,
    simulate_batch,
    simulate_run,
)
from sim.experiments.sweep import MAX_CHUNK, _chunks, chunk_size
from tests.sweep_support import experiment_file

GRID = (
    '"commissioning.social_value_weight" = [0.0, 0.3]\n'
    'shocks = [[], [{ kind = "provider_collapse", quarter = 4 }]]'
)


@pytest.fixture(scope="module")
def specs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lean")
    return run_specs(load_experiment(experiment_file(folder, GRID, extra="timeseries_every = 2")))


def test_a_run_returns_the_models_own_series_and_outcomes(specs):
    """The NumPy columns a worker returns hold what the model's DataFrame and report hold:
    same columns in the same order, dtypes and values (so the Parquet files are unchanged)."""
    from sim.abm.model import CommissioningModel
    from sim.core.outcomes import SUMMARY_FIELDS, run_report

    for spec in (specs[0], specs[-1]):  # no shock; a collapse at quarter 4
        result = simulate_run(spec)
        model = CommissioningModel(scenario_at(spec.scenario, spec.values, "p"), rng=spec.seed)
        frame = model.run().timeseries().iloc[::2]
        assert list(result.timeseries) == ["run_id", *frame.columns]
        assert (result.timeseries["run_id"] == spec.run_id).all()
        for column in frame.columns:
            kept = result.timeseries[column]
            assert kept.dtype == frame[column].dtype, column
            np.testing.assert_array_equal(kept, frame[column].to_numpy(), err_msg=column)
        expected = run_report(model, seed=spec.seed)["outcomes"]
        for name in SUMMARY_FIELDS:
            got, want = result.row[name], expected[name]
            assert got == want or (math.isnan(got) and math.isnan(want)), name
        assert result.row["error"] is None


def test_a_batch_holds_the_same_runs_as_one_at_a_time(specs):
    (batch,) = simulate_batch(specs[:5])
    alone = [simulate_run(spec) for spec in specs[:5]]
    assert batch.rows == [r.row for r in alone]
    for column, values in batch.timeseries.items():
        np.testing.assert_array_equal(values, np.concatenate([r.timeseries[column] for r in alone]))


def test_a_failed_run_in_a_batch_keeps_its_row_and_no_series(specs):
    bad = specs[0].__class__(**{**_fields(specs[0]), "values": {"network.councils": -1}})
    (batch,) = simulate_batch([bad, specs[1]])
    assert batch.rows[0]["error"] and batch.rows[1]["error"] is None
    assert set(batch.timeseries["run_id"]) == {specs[1].run_id}


def _fields(spec) -> dict:
    return {name: getattr(spec, name) for name in spec.__slots__}


def test_specs_are_made_as_sent_leaving_out_finished_runs(specs, tmp_path):
    experiment = load_experiment(experiment_file(tmp_path, GRID, extra="timeseries_every = 2"))
    left = list(iter_run_specs(experiment, skip={1, 4}))
    assert left == [s for s in specs if s.run_id not in {1, 4}]


@pytest.mark.parametrize(("runs", "workers"), [(2000, 2), (20, 1), (333, 3), (1, 2)])
def test_chunks_send_every_run_once_in_order_and_shrink_at_the_end(runs, workers):
    sizes, sent = [], []
    for chunk in _chunks(iter(range(runs)), runs, workers):
        sizes.append(len(chunk))
        sent += chunk
    assert sent == list(range(runs))
    assert sizes[0] == chunk_size(runs, workers) and max(sizes) <= MAX_CHUNK
    assert sizes == sorted(sizes, reverse=True)  # never larger than the chunk before
    # the last chunks are small: each worker ends within a run or two of the others
    assert sizes[-1] == 1 and sum(sizes[-workers:]) <= 2 * workers


def test_pool_workers_load_the_engine_not_mesa_or_pandas():
    names = ("mesa", "pandas", "networkx", "sim.abm.model", "sim.core.engine")
    probe = f"sorted(m for m in {names!r} if m in __import__('sys').modules)"
    with PoolExecutor(1) as executor:  # eval: a task any worker can unpickle
        loaded = [name for batch in executor.results(eval, [probe]) for name in batch]
    assert loaded == ["sim.core.engine"]
