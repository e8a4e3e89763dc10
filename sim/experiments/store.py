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
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.experiments.columns import described_field, dictionary_metadata, is_integer
from sim.inputs import read_text_file
from sim.scenario import InputError

if TYPE_CHECKING:
    import pandas as pd

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


class SettingError(InputError):
    """A setting the caller chose cannot be used: ``str()`` says so in the library's words
    (``sweep folder results/x: directory is not empty; ...``); ``setting``, ``value``,
    ``problem`` and ``resumable`` (resuming the sweep there would do) let a front end name its
    own options instead (``commsim sweep`` says ``--out`` and ``--resume``)."""

    def __init__(self, setting: str, value: object, problem: str, *, resumable: bool = False):
        remedy = "; resume=True continues the sweep in it, or choose another folder"
        super().__init__(f"{setting} {value}: {problem}{remedy if resumable else ''}")
        self.setting, self.value, self.problem = setting, value, problem
        self.resumable = resumable


MANIFEST = "manifest.json"
RUNS = "runs.parquet"
PARTS = "parts"
TIMESERIES = "timeseries"
COUNCILS = "councils"
LOCK = ".lock"
QUARANTINE = "quarantine"
COMPACTED = "compacted.parquet"  # the end of the one time-series file a finished sweep keeps
#: Rows per row group of the compacted time series: also the most rows the compaction holds
#: in memory at once (~6 MB at 25 columns), whatever the number of runs.
ROW_GROUP_ROWS = 32_768
_ARROW_TYPES = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "str": pa.string(),
    "shocks": pa.string(),
}


def run_schema(
    kinds: dict[str, str], outcomes: list[str], fixed: dict[str, str] | None = None
) -> pa.Schema:
    """The fixed schema of ``runs.parquet``: ids, seed, sweep id, varied parameters
    (``kinds``), fixed ones (``fixed``: parameter -> kind), outcomes, error.

    Integer outcomes (their type in :mod:`sim.core.outcomes`) are int64, the others
    float64, null where undefined (e.g. ``recovery_quarters`` with no shock), so every part
    has the same schema whatever its runs returned. Each field carries its unit, description
    and role in its metadata (:mod:`sim.experiments.columns`).
    """
    fields = [described_field(k, pa.int64(), "id") for k in ("run_id", "point", "replication")]
    fields.append(described_field("seed", pa.int64(), "id"))
    fields.append(described_field("sweep_id", pa.string(), "id"))
    fields += [described_field(k, _ARROW_TYPES[kind], "parameter") for k, kind in kinds.items()]
    fields += [
        described_field(k, _ARROW_TYPES[kind], "fixed")
        for k, kind in (fixed or {}).items()
        if k not in kinds
    ]
    fields += [
        described_field(k, pa.int64() if is_integer(k) else pa.float64(), "outcome")
        for k in outcomes
    ]
    fields.append(described_field("error", pa.string(), "status"))
    return pa.schema(fields)


def _described_timeseries(table: pa.Table) -> pa.Table:
    """A time-series table with each field's unit and description, integers as int64."""
    return table.cast(_described_schema(tuple((f.name, f.type) for f in table.schema)))


@lru_cache(maxsize=16)
def _described_schema(fields: tuple[tuple[str, pa.DataType], ...]) -> pa.Schema:
    """The described time-series schema of these (name, type) fields: made once per sweep,
    not once per part written."""
    ids = ("run_id", "quarter")
    return pa.schema(
        described_field(
            name,
            pa.int64() if name in ids or is_integer(name) else dtype,
            "id" if name in ids else "reporter",
        )
        for name, dtype in fields
    )


def _described_councils(table: pa.Table) -> pa.Table:
    """A council table (``experiment.councils``) with each field's unit and description
    (:data:`sim.core.outcomes.COUNCIL_REPORTERS`) and the data dictionary in the file's
    key-value metadata."""
    from sim.core.outcomes import COUNCIL_REPORTERS

    ids = {
        "run_id": "Run number in its sweep",
        "quarter": "Quarter simulated, from 0",
        "council": "Council's index, from 0",
    }
    fields = []
    for field in table.schema:
        o = COUNCIL_REPORTERS.get(field.name)
        unit, text, role = (
            (o.unit, o.meaning, "council") if o else (field.name, ids[field.name], "id")
        )
        meta = {"unit": unit, "description": text, "role": role}
        fields.append(pa.field(field.name, field.type).with_metadata(meta))
    schema = pa.schema(fields)
    return table.cast(schema.with_metadata(dictionary_metadata(schema)))


def note_to_stderr(message: str) -> None:
    """The default place for a sweep's one-line notes (a lock taken over, a part quarantined)."""
    print(message, file=sys.stderr, flush=True)


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON to a temporary name beside ``path`` and rename it into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk gets its space back
        raise


def _write_parquet_atomic(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        # page checksums let a resume tell a damaged part from a whole one
        pq.write_table(table, tmp, write_page_checksum=True)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _read_parquet(path: Path, columns: list[str] | None = None) -> pa.Table:
    """Read a whole Parquet file, checking every page's checksum where it has one."""
    return pq.read_table(path, columns=columns, page_checksum_verification=True)


def error_reason(err: BaseException) -> str:
    """Why an operation failed, short: the OS's words (``No space left on device``) or the
    error's first line cut to 100 characters (Arrow's messages run long)."""
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    text = (str(err).splitlines() or [type(err).__name__])[0]
    return text if len(text) <= 100 else text[:97] + "..."


# ----------------------------------------------------------------------------- the lock


def _owner(fd: int) -> str:
    """'pid N on host H' from a lock file's text ('' if it holds none)."""
    text = os.pread(fd, 200, 0).decode("utf-8", "replace").split()
    if len(text) != 2 or not text[0].isdigit():
        return ""
    return f"pid {text[0]} on host {text[1][:64]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lock_fd(fd: int, path: Path) -> None:
    """Take the OS lock on an open lock file, or raise InputError naming its owner."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        held = True
    except OSError as err:  # a file system without flock: fall back on the pid, this host only
        if err.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
            raise
        words = os.pread(fd, 200, 0).decode("utf-8", "replace").split()
        held = (
            len(words) == 2
            and words[0].isdigit()
            and words[1] == socket.gethostname()
            and int(words[0]) != os.getpid()
            and _pid_alive(int(words[0]))
        )
    if held:
        owner = _owner(fd)
        if not owner:  # the owner has the lock but has not written its name yet
            time.sleep(0.05)
            owner = _owner(fd) or "owner unknown"
        raise SettingError(
            "sweep folder",
            path.parent,
            f"in use by another sweep ({owner}); wait for it to end, or choose another folder",
        )


_HELD: dict[str, int] = {}  # resolved sweep directory -> open lock file, in this process


@contextmanager
def sweep_lock(out: Path, notify: Callable[[str], None] = note_to_stderr) -> Iterator[None]:
    """Own the sweep directory ``out`` (created if missing) for the block.

    The lock is ``flock`` on ``out/.lock``, which holds the owner's pid and host for the
    message another sweep gets. The OS drops the lock when its process dies (SIGKILL
    included), so a lock file left by a dead sweep is taken over, with a note. Re-entrant
    within one process.

    Raises:
        InputError: another live process holds the lock, or ``out`` cannot be created.
    """
    out = Path(out)
    # os.path's tests answer False, not OSError, for a name too long to look up
    if os.path.islink(out) and not os.path.exists(out):
        raise SettingError("sweep folder", out, "is a symbolic link that leads nowhere (a loop?)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SettingError(
            "sweep folder", out, f"cannot be created ({error_reason(err)})"
        ) from None
    key = os.path.realpath(out)
    if key in _HELD:
        yield
        return
    path = out / LOCK
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as err:
            raise SettingError(
                "sweep folder", out, f"cannot write in it ({error_reason(err)})"
            ) from None
        try:
            _lock_fd(fd, path)
            # the owner removes the file as it lets go: make sure ours is still the one there
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            break
        os.close(fd)
    try:
        previous = _owner(fd)
        if previous:
            notify(f"--out {out}: taking over the lock left by {previous}, no longer running")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
    except OSError as err:
        os.close(fd)
        raise SettingError(
            "sweep folder", out, f"cannot write in it ({error_reason(err)})"
        ) from None
    _HELD[key] = fd
    try:
        yield
    finally:
        del _HELD[key]
        # unlinked while still locked: a sweep that opened it meanwhile retries on a new file;
        # if the disk turned read-only, the next sweep takes the left lock over
        with suppress(OSError):
            path.unlink()
        os.close(fd)


# ----------------------------------------------------------------------------- the folder


def read_manifest(out: Path) -> dict[str, Any] | None:
    """The sweep's manifest, or None if ``out`` holds none."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        return None
    text = read_text_file(path, "manifest")  # bounded in size, like every input file
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not a readable manifest ({error_reason(err)})") from None
    if not isinstance(manifest, dict):
        raise InputError(f"{path}: not a readable manifest (not a JSON object)")
    _check_manifest(manifest, path)
    return manifest


#: The tables of a manifest that resuming, replaying and analysing a sweep read.
MANIFEST_TABLES = ("experiment", "parameters", "parameter_kinds", "base_scenario")


def _check_manifest(manifest: dict[str, Any], path: Path) -> None:
    """Refuse a manifest edited or damaged so that a reader would fail on it: one line
    naming the field, never a KeyError's traceback."""
    from pydantic import ValidationError

    from sim.experiments.experiment import ExperimentMeta
    from sim.inputs import format_validation_error

    for key in MANIFEST_TABLES:
        if not isinstance(manifest.get(key), dict):
            raise InputError(f"{path}: {key}: missing or not a table (was the file edited?)")
    recorded = manifest["experiment"]
    try:
        ExperimentMeta.model_validate(
            {k: recorded[k] for k in recorded if k in ExperimentMeta.model_fields}
        )
    except ValidationError as err:
        raise InputError(
            format_validation_error(err, f"{path}: experiment", ExperimentMeta)
        ) from None
    kinds = manifest["parameter_kinds"]
    if set(kinds) != set(manifest["parameters"]):
        raise InputError(
            f"{path}: parameter_kinds: does not name the same parameters as parameters "
            "(was the file edited?)"
        )


def _holds_nothing(folder: Path) -> bool:
    """True if ``folder`` holds only a lock file, temporary files and empty sub-folders: what
    a sweep killed before its manifest landed leaves (or an older version's empty parts/)."""
    for item in folder.iterdir():
        if item.is_dir() and not item.is_symlink():
            if not _holds_nothing(item):
                return False
        elif not (item.name == LOCK or (item.name.startswith(".") and item.name.endswith(".tmp"))):
            return False
    return True


def check_not_in_use(out: Path) -> None:
    """Refuse a directory whose lock a live sweep holds (checked without creating anything)."""
    if os.path.realpath(out) in _HELD:
        return  # this process is the owner
    try:
        fd = os.open(out / LOCK, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        _lock_fd(fd, out / LOCK)
    finally:
        os.close(fd)  # closing drops the lock just taken, if any


def prepare_sweep_dir(
    out: Path,
    *,
    resume: bool,
    experiment_sha256: str,
    inputs: dict[str, str] | None = None,
) -> dict[str, Any] | None:
    """Check ``out`` before anything is written; return the old manifest when resuming.

    A directory that is absent, or holds nothing but a lock file, temporary files and empty
    sub-folders (a sweep killed before its manifest landed), is new.

    Args:
        out: the sweep directory.
        resume: continue the sweep in ``out``.
        experiment_sha256: the experiment file's hash (:attr:`Experiment.sha256`).
        inputs: every file a run reads -> its hash (:attr:`Experiment.inputs`); compared
            with the manifest's when given (a manifest from before they were recorded
            has none to compare).

    Raises:
        InputError: ``out`` is a file, is in use by another sweep, is not empty and
            ``resume`` is False, or holds another experiment's results, or one whose
            base scenario or data files have changed since (the line names the file).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SettingError("sweep folder", out, "exists and is not a directory")
    if not out.exists():
        return None
    check_not_in_use(out)
    try:
        if _holds_nothing(out):
            return None
    except OSError as err:
        raise SettingError("sweep folder", out, f"cannot be read ({error_reason(err)})") from None
    if not resume:
        raise SettingError("sweep folder", out, "directory is not empty", resumable=True)
    manifest = read_manifest(out)
    if manifest is None:
        raise SettingError(
            "sweep folder", out, f"not empty and holds no {MANIFEST}: not a sweep directory"
        )
    if manifest.get("experiment", {}).get("sha256") != experiment_sha256:
        raise SettingError(
            "sweep folder",
            out,
            "was written by a different experiment file (its hash differs); resume with the "
            "same file, or choose another folder",
        )
    recorded = manifest.get("inputs")
    if inputs is not None and isinstance(recorded, dict):
        from sim.experiments.experiment import changed_input

        changed = changed_input(recorded, inputs)
        if changed:
            raise SettingError(
                "sweep folder",
                out,
                f"{changed}; its runs would mix two scenarios: restore the file, or choose "
                "another folder",
            )
    return manifest


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


REPAIR = "repair the sweep with commsim sweep EXPERIMENT.toml --out DIR --resume"
#: Most rows the runs files of one sweep folder may hold before they are read: two per run
#: of the largest experiment allowed (a run retried after it failed is in two files).
MAX_RUN_ROWS = 2_000_000
#: Most bytes the runs files may hold once decoded: a sweep of a million runs holds ~0.4 GB.
MAX_RUN_BYTES = 1_000_000_000
#: Most bytes the time series of one sweep folder may hold once decoded (what ``analyze``
#: loads): a million runs of 100 quarters kept every 4th quarter is ~2 GB.
MAX_TIMESERIES_BYTES = 4_000_000_000


def _check_footprint(files: list[Path], max_rows: int, max_bytes: int, what: str) -> None:
    """Refuse files whose footers promise more rows or decoded bytes than a sweep makes,
    before any is loaded: a few kilobytes of Parquet can decode to gigabytes (one value
    repeated a billion times compresses to almost nothing)."""
    rows = size = 0
    for path in files:
        try:
            meta = pq.read_metadata(path)
        except (OSError, ValueError, pa.ArrowException) as err:
            raise InputError(f"{path}: unreadable ({error_reason(err)}); {REPAIR}") from None
        rows += meta.num_rows
        size += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if rows > max_rows or size > max_bytes:
            raise InputError(
                f"{path}: the {what} hold over {min(rows, max_rows):,} rows or "
                f"{max_bytes / 1e9:g} GB decoded; a sweep never writes that much (see "
                "docs/security.md): not a sweep's file"
            )


_KIND_CHECKS = {
    "int": pa.types.is_integer,
    "str": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t),
}


def _read_frames(files: list[Path], columns: dict[str, str]) -> pd.DataFrame:
    """The files' rows as one DataFrame; an unreadable file, or one missing a column a
    sweep always writes (``columns``: name -> Arrow type kind), is one line naming it."""
    import pandas as pd

    frames = []
    for path in files:
        try:
            table = _read_parquet(path)
        except (OSError, ValueError, pa.ArrowException) as err:
            raise InputError(f"{path}: unreadable ({error_reason(err)}); {REPAIR}") from None
        for name, kind in columns.items():
            if name not in table.column_names:
                raise InputError(f"{path}: has no {name} column: not a sweep's file")
            type_ = table.schema.field(name).type
            if not _KIND_CHECKS[kind](type_):
                raise InputError(f"{path}: {name}: is {type_}, not {kind}: not a sweep's file")
        frames.append(table.to_pandas())
    return pd.concat(frames, ignore_index=True)


def read_runs(out: Path) -> pd.DataFrame:
    """``DIR/runs.parquet`` plus any parts not gathered yet, one row per run id (a run's
    successful attempt over a failed one), sizes checked before anything is loaded."""
    out = Path(out)
    files = [out / RUNS] if (out / RUNS).exists() else []
    files += sorted((out / PARTS).glob("runs-*.parquet"))
    if not files:
        raise InputError(f"{out}: holds no runs ({RUNS} or {PARTS}/): is it a sweep directory?")
    _check_footprint(files, MAX_RUN_ROWS, MAX_RUN_BYTES, "runs files")
    frame = _read_frames(files, {"run_id": "int", "error": "str"})
    frame["_failed"] = frame["error"].notna()
    frame = frame.sort_values(["run_id", "_failed"], kind="stable")
    frame = frame.drop_duplicates("run_id").drop(columns="_failed")
    return frame.reset_index(drop=True)


def read_councils(out: Path) -> pd.DataFrame | None:
    """Every council's quarters of a sweep run with ``councils = true`` (``run_id``,
    ``quarter``, ``council`` and :data:`sim.core.outcomes.COUNCIL_REPORTERS`), or None. A run
    re-run on resume appears once."""
    files = sorted((Path(out) / COUNCILS).glob("c-*.parquet"))
    if not files:
        return None
    _check_footprint(files, 2**62, MAX_TIMESERIES_BYTES, "council series")
    frame = _read_frames(files, {"run_id": "int", "quarter": "int", "council": "int"})
    frame = frame.drop_duplicates(["run_id", "quarter", "council"])
    return frame.sort_values(["run_id", "quarter", "council"]).reset_index(drop=True)


def read_timeseries(out: Path) -> pd.DataFrame | None:
    """Every kept time series of a sweep (``run_id``, ``quarter``, reporters), or None."""
    files = sorted((Path(out) / TIMESERIES).glob("ts-*.parquet"))
    if not files:
        return None
    _check_footprint(files, 2**62, MAX_TIMESERIES_BYTES, "time series")
    return _read_frames(files, {"run_id": "int", "quarter": "int"})
