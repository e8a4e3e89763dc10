"""Experiment files: which parameters to vary, how (grid, LHS, Sobol, Morris), and the seeds.

An experiment file (TOML) names a base scenario and a ``[parameters]`` table; loading it
validates everything at the edge (the file, the base scenario, every grid point) and raises a
one-line :class:`~sim.inputs.InputError` naming the file and the field. The design turns
into a list of :class:`RunSpec` (design point x replication, each with its own seed), and
:func:`simulate_runs` is the picklable worker that runs them. See docs/experiments.md.

This module holds the runs: their specs and seeds, the one call into the model
(:func:`simulate`) and the batches a worker returns. The designs and :class:`Experiment` are in
:mod:`sim.experiments.design`, loading a file in :mod:`sim.experiments.loading`; their public
names are re-exported here, where callers import them.
"""

from __future__ import annotations

from collections.abc import Container, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.experiments.design import (
    DESIGNS,
    Experiment,
    ExperimentMeta,
    _label,
    design_matrix,
    scenario_at,
    shock_label,
)
from sim.experiments.loading import (
    NOT_PARAMETERS,
    SHOCKS_KEY,
    changed_input,
    experiment_cost,
    experiment_from_manifest,
    load_experiment,
)
from sim.experiments.stopping import check_stop

__all__ = [
    "DESIGNS",
    "NOT_PARAMETERS",
    "SHOCKS_KEY",
    "Experiment",
    "ExperimentMeta",
    "RunBatch",
    "RunResult",
    "RunSpec",
    "changed_input",
    "design_matrix",
    "experiment_cost",
    "experiment_from_manifest",
    "iter_run_specs",
    "join_batches",
    "load_experiment",
    "replication_seeds",
    "run_specs",
    "salib_problem",
    "scenario_at",
    "shock_label",
    "simulate",
    "simulate_batch",
    "simulate_run",
    "simulate_runs",
]


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One run: a design point, a replication and a seed, with everything a worker needs."""

    run_id: int
    point: int
    replication: int
    seed: int
    values: dict[str, Any]
    scenario: dict[str, Any]
    timeseries: bool = True
    timeseries_every: int = 1
    councils: bool = False


@dataclass(slots=True)
class RunResult:
    """What a worker returns: the outcome row and, if kept, the run's time series as NumPy
    columns (they cross between processes far more cheaply than DataFrames)."""

    row: dict[str, Any]
    timeseries: dict[str, np.ndarray] | None = None  # column -> values
    councils: dict[str, np.ndarray] | None = None  # column -> values, a row per council


@dataclass(slots=True)
class RunBatch:
    """A chunk of finished runs as a worker returns them to a sweep: one outcome row per
    run, and the kept time series of all of them joined (``run_id`` tells them apart)."""

    rows: list[dict[str, Any]]
    timeseries: dict[str, np.ndarray] | None = None  # column -> values
    councils: dict[str, np.ndarray] | None = None  # column -> values


# ----------------------------------------------------------------------------- seeds and runs


def replication_seeds(root: int, n: int) -> list[int]:
    """``n`` independent seeds from ``numpy.random.SeedSequence(root).spawn(n)``."""
    children = np.random.SeedSequence(root).spawn(n)
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


def run_specs(experiment: Experiment) -> list[RunSpec]:
    """Every run of the experiment in order: ``run_id = point * replications + replication``.

    With common random numbers (the default) replication ``r`` has the same seed at every
    design point, so differences between points are the policy's, not the dice's.
    """
    return list(iter_run_specs(experiment))


def iter_run_specs(experiment: Experiment, skip: Container[int] = ()) -> Iterator[RunSpec]:
    """:func:`run_specs` one at a time, leaving out the run ids in ``skip``: a sweep makes
    each spec as it sends it, so a long sweep holds no list of every run."""
    meta = experiment.meta
    reps = meta.replications
    n_points = len(experiment.points)
    crn = meta.common_random_numbers
    seeds = replication_seeds(meta.seed, reps if crn else reps * n_points)
    for p, values in enumerate(experiment.points):
        for r in range(reps):
            if p * reps + r in skip:
                continue
            yield RunSpec(
                run_id=p * reps + r,
                point=p,
                replication=r,
                seed=seeds[r] if crn else seeds[p * reps + r],
                values=values,
                scenario=experiment.base,
                timeseries=meta.timeseries,
                timeseries_every=meta.timeseries_every,
                councils=meta.councils,
            )


def salib_problem(parameters: dict[str, Any]) -> dict[str, Any]:
    """The SALib problem dict of a sampled design (names and bounds, in file order)."""
    return {
        "num_vars": len(parameters),
        "names": list(parameters),
        "bounds": [list(b) for b in parameters.values()],
    }


def simulate(
    scenario: dict[str, Any], seed: int, councils: bool = False
) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, np.ndarray] | None]:
    """Run one model to its horizon; return its quarterly columns (``quarter`` and every
    reporter of :data:`sim.core.outcomes.REPORTERS`, as NumPy arrays), its run outcomes and,
    with ``councils``, each council's quarters (:func:`sim.core.outcomes.council_table`).

    The one place a sweep touches the model: the Mesa-free engine (:mod:`sim.core.engine`; same
    seed, same numbers as :class:`~sim.abm.model.CommissioningModel`), with no pandas DataFrame.
    A stop signal is acted on between quarters (:func:`~sim.experiments.stopping.check_stop`),
    never inside a compiled kernel.

    Raises:
        Stopped: SIGINT or SIGTERM arrived while a stop was being watched for.
    """
    from sim.core.engine import Simulation
    from sim.core.outcomes import council_metrics, council_table

    simulation = Simulation(scenario, rng=seed)
    quarters = []
    while simulation.running:
        simulation.step()
        check_stop()
        if councils:
            quarters.append(council_metrics(simulation.market))
    table = council_table(quarters) if councils else None
    return simulation.series(), simulation.outcomes or simulation.summary(), table


def _run(spec: RunSpec, scenarios: dict[tuple[int, int], dict[str, Any]]) -> RunResult:
    """One run; ``scenarios`` holds the design points' scenario dicts already made in this
    call (keyed by the identity of the base and the values), so replications share one."""
    from sim.core.outcome_table import SUMMARY_FIELDS

    row: dict[str, Any] = {
        "run_id": spec.run_id,
        "point": spec.point,
        "replication": spec.replication,
        "seed": spec.seed,
    }
    row.update({k: _label(v) for k, v in spec.values.items()})
    ts = by_council = None
    try:
        key = (id(spec.scenario), id(spec.values))
        scenario = scenarios.get(key)
        if scenario is None:
            scenario = scenarios[key] = scenario_at(spec.scenario, spec.values, "parameters")
        series, outcomes, by_council = simulate(scenario, spec.seed, spec.councils)
        if by_council is not None:
            rows = len(by_council["quarter"])
            by_council = {"run_id": np.full(rows, spec.run_id, dtype=np.int64), **by_council}
        if spec.timeseries:
            every = spec.timeseries_every
            quarters = len(series["quarter"][::every])
            ts = {"run_id": np.full(quarters, spec.run_id, dtype=np.int64)}
            ts.update({c: v[::every] for c, v in series.items()})
        error = None
    except Exception as err:  # recorded per run; the sweep goes on
        check_stop()  # a failure caused by the stop is no failure of the run
        outcomes = dict.fromkeys(SUMMARY_FIELDS)
        error = f"{type(err).__name__}: {err}".splitlines()[0]
    row.update({k: outcomes.get(k) for k in SUMMARY_FIELDS})
    row["error"] = error
    return RunResult(row=row, timeseries=ts, councils=by_council)


def simulate_run(spec: RunSpec) -> RunResult:
    """Run one model and return its outcome row (and kept time series).

    A run that raises is returned with every outcome null and the error in ``error``: the
    sweep records it and goes on.
    """
    return _run(spec, {})


def simulate_runs(specs: list[RunSpec]) -> list[RunResult]:
    """Run a chunk of runs in one worker call (fewer round trips than one task per run)."""
    scenarios: dict[tuple[int, int], dict[str, Any]] = {}
    return [_run(spec, scenarios) for spec in specs]


def simulate_batch(specs: list[RunSpec]) -> list[RunBatch]:
    """Run a chunk of runs and return them as one :class:`RunBatch` (in a list, as
    executors expect): the chunk's time series joined into one array per column here, in
    the worker, so the process writing the results unpickles a few arrays, not a few per run.
    """
    results = simulate_runs(specs)
    return [join_batches([RunBatch([r.row], r.timeseries, r.councils) for r in results])]


def join_batches(batches: list[RunBatch]) -> RunBatch:
    """Several batches as one: their rows in order, their time series joined."""
    if len(batches) == 1:
        return batches[0]

    def joined(tables: list[dict[str, np.ndarray] | None]) -> dict[str, np.ndarray] | None:
        kept = [t for t in tables if t is not None]
        return {c: np.concatenate([t[c] for t in kept]) for c in kept[0]} if kept else None

    return RunBatch(
        rows=[row for b in batches for row in b.rows],
        timeseries=joined([b.timeseries for b in batches]),
        councils=joined([b.councils for b in batches]),
    )
