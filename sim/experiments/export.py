"""``commsim export``: a sweep's results as CSV, for BehaviorSpace users and spreadsheets.

Writes into ``DIR/csv/`` (or another folder):

- ``runs.csv``: ``runs.parquet`` as it is, one row per run;
- ``timeseries.csv``: one row per run and kept quarter, laid out as BehaviorSpace's "table"
  output: the run's id, its varied and fixed parameters, then ``quarter`` and every reporter;
- ``columns.csv``: the data dictionary: each column's unit, description and role, from the
  Parquet field metadata (:mod:`sim.experiments.columns`).

The time series is written a batch at a time, so its size is bounded by the disk, not memory.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq

from sim.experiments.columns import dictionary as data_dictionary
from sim.experiments.store import (
    PARTS,
    RUNS,
    TIMESERIES,
    check_not_in_use,
    read_manifest,
    read_runs,
)
from sim.inputs import InputError

__all__ = ["export_csv"]


def export_csv(out: Path, folder: Path | None = None) -> list[Path]:
    """Write a sweep's runs, time series and data dictionary as CSV; return the files written.

    Args:
        out: the sweep directory.
        folder: where to write (default ``out/csv``); created if missing.

    Raises:
        InputError: ``out`` holds no runs, a file in it is unreadable, a sweep is still
            writing it, or it changed while it was read (a sweep ending gathers its parts).
    """
    out = Path(out)
    try:
        check_not_in_use(out)
    except InputError:
        raise InputError(
            f"{out}: a sweep is still writing it; export it when the sweep has ended"
        ) from None
    try:
        return _export(out, Path(folder) if folder else out / "csv")
    except FileNotFoundError as err:
        raise InputError(
            f"{out}: {Path(err.filename or '?').name} went away while it was read (a sweep "
            "ended meanwhile?); run commsim export again"
        ) from None


def _export(out: Path, folder: Path) -> list[Path]:
    runs = read_runs(out)
    manifest = read_manifest(out) or {}
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "runs.csv"]
    runs.to_csv(written[0], index=False, float_format="%.10g")
    gathered = [out / RUNS] if (out / RUNS).exists() else sorted((out / PARTS).glob("*.parquet"))
    schemas = [pq.read_schema(gathered[0])] if gathered else []
    named = [*manifest.get("parameter_kinds", {}), *manifest.get("fixed_kinds", {})]
    parameters = runs[["run_id", *(c for c in named if c in runs.columns)]]
    series = sorted((out / TIMESERIES).glob("ts-*.parquet"))
    if series:
        target = folder / "timeseries.csv"
        header = True
        with target.open("w", encoding="utf-8", newline="") as sink:
            for path in series:
                parquet = pq.ParquetFile(path)
                schemas.append(parquet.schema_arrow)
                for batch in parquet.iter_batches():
                    frame = parameters.merge(batch.to_pandas(), on="run_id", how="inner")
                    frame.to_csv(sink, index=False, header=header, float_format="%.10g")
                    header = False
        written.append(target)
    dictionary = folder / "columns.csv"
    with dictionary.open("w", encoding="utf-8", newline="") as sink:
        writer = csv.DictWriter(sink, fieldnames=["column", "unit", "description", "role"])
        writer.writeheader()
        writer.writerows(data_dictionary(schemas))
    written.append(dictionary)
    return written
