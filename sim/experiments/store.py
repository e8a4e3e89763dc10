"""Streaming results to disk: Parquet parts written atomically, a manifest, and resume.

A Parquet file cannot be appended to safely, so each batch of finished runs is written as its
own part file under a temporary name and moved into place with ``os.replace`` (atomic on
POSIX): a sweep killed at any moment, SIGKILL included, leaves only whole parts. The runs part
is written after the matching time-series part and is the commit mark: a time-series part
without its runs part is an orphan and is removed on resume. At the end the parts are gathered
into ``DIR/runs.parquet`` (also atomically).

One sweep at a time owns a directory: :func:`sweep_lock` holds an OS lock (``flock``) on
``DIR/.lock`` for the sweep's lifetime, so a second sweep is refused while the first lives and
the lock of a killed sweep is free at once. On resume every part is read back in full (with
page checksums); an unreadable one is moved to ``DIR/quarantine/`` and its runs run again.

Layout of a sweep directory::

    DIR/manifest.json           the experiment, the resolved base scenario, versions, times, counts
    DIR/runs.parquet            one row per finished run (after the sweep; parts before)
    DIR/parts/runs-*.parquet    finished runs not yet gathered into runs.parquet
    DIR/timeseries/*.parquet    one row per run and kept quarter, with a run_id column; at
                                the end of a sweep compacted into one file, ts-*-compacted.parquet
    DIR/.lock                   the owner's pid and host, while a sweep runs
    DIR/quarantine/             unreadable parts found by a resume (kept for inspection)

This module holds :class:`RunStore`, which writes a sweep's results and knows which runs are
done. The names, schemas and atomic writers are in :mod:`sim.experiments.layout`, the lock
and the folder's checks in :mod:`sim.experiments.sweepdir`, and the readers in
:mod:`sim.experiments.readers`; their public names are re-exported here, where callers
import them.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.experiments.columns import dictionary_metadata
from sim.experiments.layout import (
    COMPACTED,
    COUNCILS,
    LOCK,
    MANIFEST,
    PARTS,
    QUARANTINE,
    ROW_GROUP_ROWS,
    RUNS,
    TIMESERIES,
    SettingError,
    _described_councils,
    _described_timeseries,
    _read_parquet,
    _write_parquet_atomic,
    error_reason,
    note_to_stderr,
    run_schema,
    write_json_atomic,
)
from sim.experiments.readers import read_councils, read_runs, read_timeseries
from sim.experiments.sweepdir import (
    check_not_in_use,
    prepare_sweep_dir,
    read_manifest,
    sweep_lock,
)

if TYPE_CHECKING:
    from sim.experiments.experiment import RunBatch


__all__ = [
    "LOCK",
    "MANIFEST",
    "QUARANTINE",
    "RUNS",
    "RunStore",
    "SettingError",
    "check_not_in_use",
    "error_reason",
    "note_to_stderr",
    "prepare_sweep_dir",
    "read_councils",
    "read_manifest",
    "read_runs",
    "read_timeseries",
    "run_schema",
    "sweep_lock",
    "write_json_atomic",
]


class RunStore:
    """The on-disk results of one sweep: write finished runs, know which are finished.

    Opening a store checks what is already there: debris of a killed write is removed, and
    every part is read back in full; an unreadable part is moved to ``quarantine/`` (with a
    note) and its runs count as not finished, so the sweep runs them again.

    Args:
        out: the sweep directory (created if missing).
        schema: the runs schema (see :func:`run_schema`).
        timeseries: whether the sweep keeps time series (a run then counts as finished only
            if its series is on disk too).
        notify: where the one-line notes about quarantined parts go (default: stderr).
    """

    def __init__(
        self,
        out: Path,
        schema: pa.Schema,
        *,
        timeseries: bool = True,
        notify: Callable[[str], None] = note_to_stderr,
    ):
        self.out = Path(out)
        self.schema = schema
        self.keeps_timeseries = timeseries
        self.notify = notify
        self.parts = self.out / PARTS
        self.timeseries = self.out / TIMESERIES
        self.parts.mkdir(parents=True, exist_ok=True)
        self.timeseries.mkdir(exist_ok=True)
        self._prefix = f"{time.time_ns():x}-{os.getpid()}"
        self._counter = itertools.count()
        self._finished: set[int] = set()
        self._failed: set[int] = set()
        self._verify()

    # ------------------------------------------------------------------ what is on disk

    def _verify(self) -> None:
        """Remove debris, quarantine unreadable parts, and work out the finished runs."""
        for tmp in itertools.chain(self.parts.glob(".*.tmp"), self.timeseries.glob(".*.tmp")):
            tmp.unlink(missing_ok=True)
        (self.out / f".{RUNS}.tmp").unlink(missing_ok=True)
        gathered: set[str] = set()
        superseded: set[str] = set()  # time-series parts compacted into one file
        outcome: dict[int, bool] = {}  # run id -> failed (a failed run keeps no time series)
        for path in self._run_files():
            try:
                table = _read_parquet(path)
                meta = table.schema.metadata or {}  # read before the cast, which drops it
                table = table.cast(self.schema)
            except (OSError, ValueError, pa.ArrowException) as err:
                self._quarantine_runs(path, err)
                continue
            if path.name == RUNS:
                gathered = set(json.loads(meta.get(b"commsim_parts", b"[]")))
                superseded = set(json.loads(meta.get(b"commsim_superseded", b"[]")))
            ids = table.column("run_id").to_pylist()
            errors = table.column("error").is_valid().to_pylist()
            for run, failed in zip(ids, errors, strict=True):  # one success in any file wins
                outcome[run] = outcome.get(run, True) and failed
        committed = gathered | {p.name.removeprefix("runs-") for p in self._run_parts()}
        with_series: set[int] = set()
        for ts in sorted(self.timeseries.glob("ts-*.parquet")):
            if ts.name.removeprefix("ts-") in superseded - gathered:
                ts.unlink()  # a compaction ended before it removed the parts it had copied
                continue
            if ts.name.removeprefix("ts-") not in committed:
                ts.unlink()  # its runs part never landed: those runs are not finished
                continue
            try:
                ids = _read_parquet(ts).column("run_id")
            except (OSError, ValueError, KeyError, pa.ArrowException) as err:
                self._move_to_quarantine(ts)
                self.notify(
                    f"{ts}: unreadable ({error_reason(err)}); moved to {self.out / QUARANTINE}, "
                    "its runs will run again"
                )
                continue
            ids = set(ids.unique().to_pylist())
            if ids & with_series:  # left by two sweeps at once (before the lock existed)
                self._move_to_quarantine(ts)
                self.notify(
                    f"{ts}: repeats time series already on disk; moved to "
                    f"{self.out / QUARANTINE}, its runs will run again"
                )
                continue
            with_series |= ids
        self._finished = {
            run
            for run, failed in outcome.items()
            if failed or not self.keeps_timeseries or run in with_series
        }
        self._failed = {run for run, failed in outcome.items() if failed}

    def _quarantine_runs(self, path: Path, err: BaseException) -> None:
        """Move an unreadable runs file, and the time series that belong to it, to quarantine."""
        if path.name == RUNS:
            live = {p.name.removeprefix("runs-") for p in self._run_parts()} - {path.name}
            series = [
                t
                for t in self.timeseries.glob("ts-*.parquet")
                if t.name.removeprefix("ts-") not in live
            ]
        else:
            series = [self.timeseries / f"ts-{path.name.removeprefix('runs-')}"]
        self._move_to_quarantine(path)
        moved = [t for t in series if t.exists() and self._move_to_quarantine(t)]
        also = f" with its {len(moved)} time-series part(s)" if moved else ""
        self.notify(
            f"{path}: unreadable ({error_reason(err)}); moved to {self.out / QUARANTINE}{also}, "
            "its runs will run again"
        )

    def _move_to_quarantine(self, path: Path) -> bool:
        folder = self.out / QUARANTINE
        folder.mkdir(exist_ok=True)
        target = folder / path.name
        for n in itertools.count(1):
            if not target.exists():
                break
            target = folder / f"{path.stem}.{n}{path.suffix}"
        os.replace(path, target)
        return True

    def finished_ids(self) -> set[int]:
        """Run ids finished and whole on disk (their row, and their time series if kept)."""
        return set(self._finished)

    def failed_ids(self) -> set[int]:
        """Run ids whose every recorded attempt failed (``commsim sweep --retry-failed``
        runs them again)."""
        return set(self._failed)

    def _run_parts(self) -> list[Path]:
        return sorted(self.parts.glob("runs-*.parquet"))

    def _run_files(self) -> list[Path]:
        files = self._run_parts()
        return [self.out / RUNS, *files] if (self.out / RUNS).exists() else files

    # ------------------------------------------------------------------ writing

    def write(self, batch: RunBatch) -> None:
        """Write a batch of finished runs (:class:`~sim.experiments.experiment.RunBatch`) as one part."""
        if not batch.rows:
            return
        name = f"{self._prefix}-{next(self._counter):06d}.parquet"
        if batch.timeseries is not None:
            table = _described_timeseries(pa.table(batch.timeseries))
            _write_parquet_atomic(table, self.timeseries / f"ts-{name}")
        if batch.councils is not None:
            (self.out / COUNCILS).mkdir(exist_ok=True)
            table = _described_councils(pa.table(batch.councils))
            _write_parquet_atomic(table, self.out / COUNCILS / f"c-{name}")
        rows = pa.Table.from_pylist(batch.rows, schema=self.schema)
        _write_parquet_atomic(rows, self.parts / f"runs-{name}")
        ids = rows.column("run_id").to_numpy().tolist()
        failed = rows.column("error").is_valid().to_pylist()
        self._finished.update(ids)
        self._failed.difference_update(run for run, f in zip(ids, failed, strict=True) if not f)
        self._failed.update(run for run, f in zip(ids, failed, strict=True) if f)

    def gather(self) -> pa.Table:
        """Gather every finished run into ``runs.parquet`` (sorted by run id) and drop the parts.

        Done in Arrow, with no round trip through a pandas DataFrame.
        """
        files = self._run_files()
        tables = [_read_parquet(p).cast(self.schema) for p in files]
        table = pa.concat_tables(tables) if tables else self.schema.empty_table()
        table = table.take(_one_row_per_run(table))
        compacted, superseded = self._compact_timeseries()
        meta = {
            b"commsim_parts": json.dumps([compacted] if compacted else []).encode(),
            b"commsim_superseded": json.dumps(superseded).encode(),
            **dictionary_metadata(table.schema),
        }
        # runs.parquet names the compacted file: from here the parts it copied are surplus
        _write_parquet_atomic(table.replace_schema_metadata(meta), self.out / RUNS)
        for name in superseded:
            (self.timeseries / f"ts-{name}").unlink(missing_ok=True)
        for p in files:
            if p.name != RUNS:
                p.unlink()
        self.parts.rmdir()  # empty now; a resumed sweep makes it again
        return table

    def _compact_timeseries(self) -> tuple[str | None, list[str]]:
        """Copy every time-series part into one file, part by part (memory: one part and a
        row group); return its name and the names of the parts it holds (``ts-`` dropped).

        The parts stay until ``runs.parquet`` names the new file, so a sweep killed while
        compacting keeps its parts and loses only the unfinished copy.
        """
        parts = sorted(self.timeseries.glob("ts-*.parquet"))
        if len(parts) == 1 and parts[0].name.endswith(f"-{COMPACTED}"):
            return parts[0].name.removeprefix("ts-"), []
        if not parts:
            return None, []
        name = f"{self._prefix}-{COMPACTED}"
        tmp = self.timeseries / f".ts-{name}.tmp"
        writer: pq.ParquetWriter | None = None
        try:
            buffered: list[pa.Table] = []
            for part in parts:
                table = _described_timeseries(_read_parquet(part))
                if writer is None:
                    schema = table.schema.with_metadata(dictionary_metadata(table.schema))
                    writer = pq.ParquetWriter(tmp, schema, write_page_checksum=True)
                buffered.append(table.cast(writer.schema))
                if sum(t.num_rows for t in buffered) >= ROW_GROUP_ROWS:
                    writer.write_table(pa.concat_tables(buffered))
                    buffered = []
            if buffered:
                writer.write_table(pa.concat_tables(buffered))
            writer.close()
            os.replace(tmp, self.timeseries / f"ts-{name}")
        except BaseException:
            if writer is not None:
                with suppress(Exception):
                    writer.close()
            tmp.unlink(missing_ok=True)
            raise
        return name, [p.name.removeprefix("ts-") for p in parts]


def _one_row_per_run(table: pa.Table) -> np.ndarray:
    """Indices of one row per run id, by run id: a run re-run after its time series was lost
    is in two files (the same row twice: same seed, same numbers), and one retried after it
    failed (``--retry-failed``) has a failed row and a new one; the first row that did not
    fail is kept, else the first."""
    ids = table.column("run_id").to_numpy()
    failed = table.column("error").is_valid().to_numpy(zero_copy_only=False)
    order = np.lexsort((np.arange(len(ids)), failed, ids))
    _, first = np.unique(ids[order], return_index=True)
    return order[first]
