"""A sweep: every run of an experiment, streamed to disk as it finishes, resumable.

``run_sweep`` ties the parts together: the experiment's run specs (:mod:`sim.experiments.experiment`),
an executor (:mod:`sim.experiments.executors`) and the store (:mod:`sim.experiments.store`), with a progress bar.
"""

from __future__ import annotations

import itertools
import platform
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sim.experiments.executors import RunExecutor
from sim.experiments.experiment import (
    Experiment,
    RunSpec,
    iter_run_specs,
    join_batches,
    salib_problem,
    simulate_batch,
)
from sim.experiments.stopping import check_stop
from sim.experiments.store import (
    MANIFEST,
    RunStore,
    SettingError,
    error_reason,
    note_to_stderr,
    prepare_sweep_dir,
    run_schema,
    sweep_lock,
    write_json_atomic,
)

__all__ = [
    "KEY_LIBRARIES",
    "SweepReport",
    "chunk_size",
    "manifest_for",
    "replay_run",
    "run_sweep",
]

KEY_LIBRARIES = (
    "mesa",
    "numpy",
    "pandas",
    "pyarrow",
    "scipy",
    "SALib",
    "pydantic",
    "dask",
    "distributed",
)


@dataclass(frozen=True)
class SweepReport:
    """What a sweep did: runs in the experiment, run now, skipped (resumed), failed, seconds."""

    total: int
    ran: int
    skipped: int
    failed: int
    seconds: float


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in KEY_LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def manifest_for(experiment: Experiment, executor: RunExecutor) -> dict[str, Any]:
    """The manifest of a new sweep: its id (a UUID, also a column of runs.parquet), the
    experiment file (text and hash) and the command line's changes to it, the resolved base
    scenario, the design, the fixed values, versions, the git commit, and the start time."""
    from sim.version import build_commit, package_version

    meta = experiment.meta
    sampled = meta.design != "grid"
    return {
        "sweep_id": str(uuid.uuid4()),
        "command_line": experiment.command_line,
        "experiment": {
            "path": str(experiment.path),
            "sha256": experiment.sha256,
            "text": experiment.text,
            **meta.model_dump(mode="json"),
        },
        "base_scenario": experiment.base,
        "inputs": experiment.inputs,
        "parameters": {k: list(v) for k, v in experiment.parameters.items()},
        "parameter_kinds": experiment.kinds,
        "fixed": experiment.fixed,
        "fixed_kinds": experiment.fixed_kinds,
        "problem": salib_problem(experiment.parameters) if sampled else None,
        "package_version": package_version(),
        "git_commit": build_commit(),
        "versions": _versions(),
        "executor": executor.description,
        "started": _now(),
        "finished": None,
        "counts": {"points": len(experiment.points), "runs": experiment.runs},
    }


#: Most runs per task: each finished task is a part on disk, and a part costs the writing
#: process a few milliseconds however few runs it holds.
MAX_CHUNK = 64


def chunk_size(runs: int, workers: int) -> int:
    """Runs per task: few round trips on long sweeps, every worker busy on short ones."""
    return max(1, min(MAX_CHUNK, runs // (workers * 16)))


def _chunks(specs: Iterator[RunSpec], runs: int, workers: int) -> Iterator[list[RunSpec]]:
    """``specs`` (``runs`` of them) cut into tasks as the executor asks for them: of
    :func:`chunk_size` runs, then smaller as the last runs are sent (half of what is left per
    worker), so that every worker is busy to the end instead of one finishing a long chunk
    while the others wait."""
    size = chunk_size(runs, workers)
    while runs > 0:
        chunk = list(itertools.islice(specs, min(size, max(1, runs // (2 * workers)))))
        if not chunk:
            return
        runs -= len(chunk)
        yield chunk


def run_sweep(
    experiment: Experiment,
    out: Path,
    executor: RunExecutor,
    *,
    resume: bool = False,
    retry_failed: bool = False,
    progress: bool | None = None,
    notify: Callable[[str], None] = note_to_stderr,
) -> SweepReport:
    """Run every unfinished run of ``experiment`` and stream the results into ``out``.

    The sweep owns ``out`` while it runs (:func:`~sim.experiments.store.sweep_lock`). The manifest is
    written before anything else; on resume every part already there is checked and the runs
    of an unreadable one run again, so the data end equal to an uninterrupted sweep's.

    Args:
        experiment: a loaded experiment.
        out: the sweep directory; it must be empty or absent unless ``resume``.
        executor: where the runs execute.
        resume: skip the runs already in ``out`` (written by the same experiment file, from
            the same base scenario and data files).
        retry_failed: with ``resume``, run the failed runs again too (a success replaces
            the failed row).
        progress: show a progress bar (None: only on a terminal).
        notify: where one-line notes go (a lock taken over, a part quarantined).

    Raises:
        InputError: ``out`` is in use by another sweep, is not empty without ``resume``,
            holds another experiment (or one whose files have changed), or cannot be
            written when the sweep starts.
        Stopped: SIGINT or SIGTERM arrived (while watched for, see
            :mod:`~sim.experiments.stopping`); every run finished is on disk.
        OSError: writing results failed part-way (e.g. the disk is full); what was written
            stays whole and ``resume`` continues from it.
    """
    out = Path(out)
    with sweep_lock(out, notify):
        return _run_locked(
            experiment,
            out,
            executor,
            resume=resume,
            retry_failed=retry_failed,
            progress=progress,
            notify=notify,
        )


def _run_locked(
    experiment: Experiment,
    out: Path,
    executor: RunExecutor,
    *,
    resume: bool,
    retry_failed: bool,
    progress: bool | None,
    notify: Callable[[str], None],
) -> SweepReport:
    from tqdm import tqdm

    from sim.core.outcome_table import SUMMARY_FIELDS

    old = prepare_sweep_dir(
        out, resume=resume, experiment_sha256=experiment.sha256, inputs=experiment.inputs
    )
    started = time.perf_counter()
    manifest = old or manifest_for(experiment, executor)
    if old:
        manifest.setdefault("resumed", []).append({"at": _now(), "executor": executor.description})
        manifest["finished"] = None
    # the same in every row: which sweep, and the values held fixed
    constants = {"sweep_id": manifest.setdefault("sweep_id", str(uuid.uuid4())), **experiment.fixed}
    try:  # first, so that a folder holding anything else is known to be this sweep's
        write_json_atomic(out / MANIFEST, manifest)
        store = RunStore(
            out,
            run_schema(experiment.kinds, list(SUMMARY_FIELDS), experiment.fixed_kinds),
            timeseries=experiment.meta.timeseries,
            notify=notify,
        )
    except OSError as err:
        raise SettingError(
            "sweep folder", out, f"cannot write in it ({error_reason(err)})"
        ) from None

    done = store.finished_ids() - (store.failed_ids() if retry_failed else set())
    todo = experiment.runs - sum(0 <= run < experiment.runs for run in done)
    chunks = _chunks(iter_run_specs(experiment, skip=done), todo, executor.workers)
    failed = 0
    with tqdm(
        total=experiment.runs,
        initial=experiment.runs - todo,
        desc=experiment.meta.name,
        unit="run",
        disable=None if progress is None else not progress,
        smoothing=0.1,
    ) as bar:
        bar.set_postfix(failures=0)
        for done_now in executor.results(simulate_batch, chunks):
            batch = join_batches(done_now)  # every chunk finished meanwhile: one part
            for row in batch.rows:
                row.update(constants)
            store.write(batch)
            failed += sum(row["error"] is not None for row in batch.rows)
            bar.update(len(batch.rows))
            bar.set_postfix(failures=failed, refresh=False)
            check_stop()  # what finished is on disk; stop before asking for more

    runs = store.gather()
    failed = len(runs) - runs.column("error").null_count  # each failed run has its error text
    manifest["finished"] = _now()
    manifest["counts"].update(finished=len(runs), failed=failed, ran_last=todo)
    write_json_atomic(out / MANIFEST, manifest)
    return SweepReport(
        total=experiment.runs,
        ran=todo,
        skipped=experiment.runs - todo,
        failed=failed,
        seconds=time.perf_counter() - started,
    )


def replay_run(out: Path, run_id: int) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """Run one run of the sweep in ``out`` again, from its manifest and seed.

    Returns:
        The recorded row, the new row, and the names of the outcomes (with ``seed`` and
        ``error``) that differ; none should (same seed, same numbers).

    Raises:
        InputError: ``out`` is no sweep directory, or holds no run ``run_id``.
    """
    import math

    import numpy as np

    from sim.core.outcome_table import SUMMARY_FIELDS
    from sim.experiments.experiment import experiment_from_manifest, simulate_run
    from sim.experiments.store import read_manifest, read_runs
    from sim.inputs import InputError

    manifest = read_manifest(Path(out))
    if manifest is None:
        raise InputError(f"{out}: holds no {MANIFEST}: not a sweep directory")
    runs = read_runs(Path(out))
    found = runs[runs["run_id"] == run_id]
    if found.empty:
        raise InputError(
            f"{out}: holds no run {run_id} (its runs.parquet has run ids "
            f"{runs['run_id'].min()} to {runs['run_id'].max()})"
        )
    recorded = found.iloc[0].to_dict()
    try:
        specs = iter_run_specs(experiment_from_manifest(manifest))
        spec = next(s for s in specs if s.run_id == run_id)
    except (KeyError, TypeError, ValueError, IndexError, StopIteration) as err:
        raise InputError(
            f"{out}/{MANIFEST}: does not describe run {run_id} ({type(err).__name__}: "
            f"{error_reason(err)[:60]}); was the file edited?"
        ) from None
    new = simulate_run(spec).row

    def same(a: Any, b: Any) -> bool:
        missing = (a is None or (isinstance(a, float) and math.isnan(a)),
                   b is None or (isinstance(b, float) and math.isnan(b)))  # fmt: skip
        if any(missing):
            return all(missing)
        if isinstance(a, str) or isinstance(b, str):
            return a == b
        if all(isinstance(x, int | np.integer) for x in (a, b)):
            return int(a) == int(b)  # seeds: 63 bits, more than a float holds
        return float(a) == float(b)

    names = ["seed", *SUMMARY_FIELDS, "error"]
    return recorded, new, [k for k in names if not same(recorded.get(k), new.get(k))]
