"""A sweep folder's names, its Parquet schemas, and the atomic writers.

The file and folder names of a sweep directory (:data:`MANIFEST`, :data:`RUNS`, ...), the
schema of ``runs.parquet`` (:func:`run_schema`) and the described time-series and council
tables, :func:`write_json_atomic` and the Parquet writer that moves a finished file into place
with ``os.replace``, the Parquet reader that checks page checksums, and :class:`SettingError`
with :func:`error_reason` for the one-line refusals. The layout itself is described in
:mod:`sim.experiments.store`, which re-exports this module's public names.
"""

from __future__ import annotations

import json
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sim.experiments.columns import described_field, dictionary_metadata, is_integer
from sim.scenario import InputError

__all__ = [
    "COMPACTED",
    "COUNCILS",
    "LOCK",
    "MANIFEST",
    "PARTS",
    "QUARANTINE",
    "ROW_GROUP_ROWS",
    "RUNS",
    "TIMESERIES",
    "SettingError",
    "error_reason",
    "note_to_stderr",
    "run_schema",
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
    from sim.core.outcome_table import COUNCIL_REPORTERS

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
