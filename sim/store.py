"""Streaming results to disk: Parquet parts written atomically, a manifest, and resume.

A Parquet file cannot be appended to safely, so each batch of finished runs is written as its
own part file under a temporary name and moved into place with ``os.replace`` (atomic on
POSIX): a sweep killed at any moment, SIGKILL included, leaves only whole parts. The runs part
is written after the matching time-series part and is the commit mark: a time-series part
without its runs part is an orphan and is removed on resume. At the end the parts are gathered
into ``DIR/runs.parquet`` (also atomically).

Layout of a sweep directory::

    DIR/manifest.json           the experiment, the resolved base scenario, versions, times, counts
    DIR/runs.parquet            one row per finished run (after the sweep; parts before)
    DIR/parts/runs-*.parquet    finished runs not yet gathered into runs.parquet
    DIR/timeseries/*.parquet    one row per run and kept quarter, with a run_id column
"""

from __future__ import annotations

import itertools
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.scenario import ScenarioError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MANIFEST",
    "RUNS",
    "RunStore",
    "prepare_sweep_dir",
    "read_manifest",
    "read_runs",
    "read_timeseries",
    "run_schema",
    "write_json_atomic",
]

MANIFEST = "manifest.json"
RUNS = "runs.parquet"
PARTS = "parts"
TIMESERIES = "timeseries"
_ARROW_TYPES = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "str": pa.string(),
    "shocks": pa.string(),
}


def run_schema(kinds: dict[str, str], outcomes: list[str]) -> pa.Schema:
    """The fixed schema of ``runs.parquet``: ids, seed, varied parameters, outcomes, error.

    Outcomes are float64 (null where undefined, e.g. ``recovery_quarters`` with no shock), so
    every part has the same schema whatever its runs returned.
    """
    fields = [
        pa.field("run_id", pa.int64()),
        pa.field("point", pa.int64()),
        pa.field("replication", pa.int64()),
        pa.field("seed", pa.int64()),
    ]
    fields += [pa.field(k, _ARROW_TYPES[kind]) for k, kind in kinds.items()]
    fields += [pa.field(k, pa.float64()) for k in outcomes]
    fields.append(pa.field("error", pa.string()))
    return pa.schema(fields)


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON to a temporary name beside ``path`` and rename it into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _write_parquet_atomic(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def read_manifest(out: Path) -> dict[str, Any] | None:
    """The sweep's manifest, or None if ``out`` holds none."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ScenarioError(f"{path}: not a readable manifest ({err})") from None


def prepare_sweep_dir(out: Path, *, resume: bool, experiment_sha256: str) -> dict[str, Any] | None:
    """Check ``out`` before anything is written; return the old manifest when resuming.

    Raises:
        ScenarioError: ``out`` is a file, or is not empty and ``resume`` is False, or holds
            another experiment's results.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ScenarioError(f"--out {out}: exists and is not a directory")
    if not out.exists() or not any(out.iterdir()):
        return None
    if not resume:
        raise ScenarioError(
            f"--out {out}: directory is not empty; pass --resume to continue the sweep in it, "
            "or choose a new --out"
        )
    manifest = read_manifest(out)
    if manifest is None:
        raise ScenarioError(
            f"--out {out}: not empty and holds no {MANIFEST}: not a sweep directory"
        )
    if manifest.get("experiment", {}).get("sha256") != experiment_sha256:
        raise ScenarioError(
            f"--out {out}: was written by a different experiment file (its hash differs); "
            "resume with the same file, or choose a new --out"
        )
    return manifest


class RunStore:
    """The on-disk results of one sweep: write finished runs, know which are finished.

    Args:
        out: the sweep directory (created if missing).
        schema: the runs schema (see :func:`run_schema`).
    """

    def __init__(self, out: Path, schema: pa.Schema):
        self.out = Path(out)
        self.schema = schema
        self.parts = self.out / PARTS
        self.timeseries = self.out / TIMESERIES
        self.parts.mkdir(parents=True, exist_ok=True)
        self.timeseries.mkdir(exist_ok=True)
        self._prefix = f"{time.time_ns():x}-{os.getpid()}"
        self._counter = itertools.count()
        self._remove_debris()

    def _remove_debris(self) -> None:
        """Delete temporary files and time-series parts whose runs part never landed."""
        for tmp in itertools.chain(self.parts.glob(".*.tmp"), self.timeseries.glob(".*.tmp")):
            tmp.unlink(missing_ok=True)
        committed = {p.name.removeprefix("runs-") for p in self.parts.glob("runs-*.parquet")}
        committed |= self._gathered_parts()
        for ts in self.timeseries.glob("ts-*.parquet"):
            if ts.name.removeprefix("ts-") not in committed:
                ts.unlink()
        (self.out / f".{RUNS}.tmp").unlink(missing_ok=True)

    def _gathered_parts(self) -> set[str]:
        """Names of the parts already gathered into runs.parquet (kept in its metadata)."""
        if not (self.out / RUNS).exists():
            return set()
        meta = pq.read_schema(self.out / RUNS).metadata or {}
        return set(json.loads(meta.get(b"commsim_parts", b"[]")))

    def finished_ids(self) -> set[int]:
        """Run ids already on disk (in runs.parquet or in a part)."""
        ids: set[int] = set()
        for path in self._run_files():
            ids.update(pq.read_table(path, columns=["run_id"]).column(0).to_pylist())
        return ids

    def _run_files(self) -> list[Path]:
        files = sorted(self.parts.glob("runs-*.parquet"))
        return [self.out / RUNS, *files] if (self.out / RUNS).exists() else files

    def write(self, results: list[Any]) -> None:
        """Write a batch of finished runs (:class:`~sim.experiment.RunResult`) as one part."""
        if not results:
            return
        name = f"{self._prefix}-{next(self._counter):06d}.parquet"
        series = [r.timeseries for r in results if r.timeseries is not None]
        if series:
            table = pa.table({c: np.concatenate([s[c] for s in series]) for c in series[0]})
            _write_parquet_atomic(table, self.timeseries / f"ts-{name}")
        rows = pa.Table.from_pylist([r.row for r in results], schema=self.schema)
        _write_parquet_atomic(rows, self.parts / f"runs-{name}")

    def gather(self) -> pa.Table:
        """Gather every finished run into ``runs.parquet`` (sorted by run id) and drop the parts.

        Done in Arrow, with no round trip through a pandas DataFrame.
        """
        files = self._run_files()
        tables = [pq.read_table(p).cast(self.schema) for p in files]
        table = pa.concat_tables(tables) if tables else self.schema.empty_table()
        # one row per run id (a run can be in two parts if a resume raced a kill), by run id
        _, first = np.unique(table.column("run_id").to_numpy(), return_index=True)
        table = table.take(first)
        names = sorted(p.name.removeprefix("ts-") for p in self.timeseries.glob("ts-*.parquet"))
        meta = {b"commsim_parts": json.dumps(names).encode()}
        _write_parquet_atomic(table.replace_schema_metadata(meta), self.out / RUNS)
        for p in files:
            if p.name != RUNS:
                p.unlink()
        self.parts.rmdir()  # empty now; a resumed sweep makes it again
        return table


def read_runs(out: Path) -> pd.DataFrame:
    """``DIR/runs.parquet`` plus any parts not gathered yet, one row per run id."""
    import pandas as pd

    out = Path(out)
    files = [out / RUNS] if (out / RUNS).exists() else []
    files += sorted((out / PARTS).glob("runs-*.parquet"))
    if not files:
        raise ScenarioError(f"{out}: holds no runs ({RUNS} or {PARTS}/): is it a sweep directory?")
    frame = pd.concat([pd.read_parquet(p) for p in files], ignore_index=True)
    return frame.drop_duplicates("run_id").sort_values("run_id").reset_index(drop=True)


def read_timeseries(out: Path) -> pd.DataFrame | None:
    """Every kept time series of a sweep (``run_id``, ``quarter``, reporters), or None."""
    import pandas as pd

    files = sorted((Path(out) / TIMESERIES).glob("ts-*.parquet"))
    if not files:
        return None
    return pd.concat([pd.read_parquet(p) for p in files], ignore_index=True)
