"""Reading a sweep's results back: runs, time series and council series as DataFrames.

Each reader checks the files' footers before loading anything (a few kilobytes of Parquet can
decode to gigabytes) and each file's key columns, so a damaged or foreign file is one line
naming it. :mod:`sim.experiments.store` re-exports these names.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from sim.experiments.layout import COUNCILS, PARTS, RUNS, TIMESERIES, _read_parquet, error_reason
from sim.scenario import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MAX_RUN_BYTES",
    "MAX_RUN_ROWS",
    "MAX_TIMESERIES_BYTES",
    "read_councils",
    "read_runs",
    "read_timeseries",
]


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
