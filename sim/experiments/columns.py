"""What each output column means: its unit, description and role.

A sweep's ``runs.parquet`` and time series carry these in each Parquet field's metadata
(``unit``, ``description``, ``role``), and ``commsim export`` writes them as a data dictionary
beside the CSV files. Names come from :mod:`sim.core.outcomes` (quarterly reporters and run
outcomes) and the parameter table (:func:`sim.scenario.parameter_table`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pyarrow as pa

from sim.core.outcome_table import outcome
from sim.inputs import InputError
from sim.scenario import parameter_table, shock_field

__all__ = [
    "DICTIONARY_KEY",
    "ROLES",
    "describe",
    "described_field",
    "dictionary",
    "dictionary_metadata",
    "is_integer",
    "write_summary_dictionary",
]

#: The Parquet file key-value metadata holding the data dictionary (column -> unit,
#: description, role) as JSON: what polars (``read_parquet_metadata``) and DuckDB
#: (``parquet_kv_metadata``) read, as they do not read Arrow's field metadata.
DICTIONARY_KEY = "commsim_columns"

#: What a column is: ``id``, ``parameter`` (varied), ``fixed``, ``outcome``, ``reporter``
#: (quarterly) or ``status`` (a run's error).
ROLES = ("id", "parameter", "fixed", "outcome", "reporter", "status")

_IDS: dict[str, tuple[str, str]] = {
    "run_id": ("id", "Run number in its sweep: point * replications + replication"),
    "point": ("id", "Design point (row of the design), from 0"),
    "replication": ("id", "Replication at its design point, from 0"),
    "seed": ("integer", "Seed of the run: CommissioningModel(..., rng=seed) repeats it"),
    "sweep_id": ("id", "The sweep (manifest.json sweep_id); with run_id unique across sweeps"),
    "error": ("text", "Why the run failed: 'ExceptionType: message'; null if it did not"),
    "quarter": ("quarter", "Quarter simulated, from 0"),
}
_SHOCKS = ("label", "The run's shocks: kind@quarter(target or magnitude), '+' between; none")


@cache
def _parameters() -> dict[str, tuple[str, str]]:
    return {r["name"]: (r["unit"], r["description"]) for r in parameter_table()}


def describe(name: str) -> tuple[str, str]:
    """``(unit, description)`` of an output column; ``("", "")`` for a name none defines."""
    if name in _IDS:
        return _IDS[name]
    defined = outcome(name)
    if defined is not None:
        return defined.unit, defined.meaning
    dotted = name.replace("__", ".")
    if dotted == "shocks":
        return _SHOCKS
    try:
        shock = shock_field(dotted)
    except InputError:
        return "", ""
    unit, text = _parameters().get(f"shocks[].{shock[1]}" if shock else dotted, ("", ""))
    return unit, f"{text} (shock {shock[0]})" if shock and text else text


#: summary.csv's columns per outcome: suffix -> what the column holds.
_SUMMARY_SUFFIXES = {
    "_mean": "mean over the design point's runs",
    "_ci_low": "lower end of the 95% CI of the mean (Student t)",
    "_ci_high": "upper end of the 95% CI of the mean (Student t)",
}
_SUMMARY_IDS = {
    "point": ("id", "Design point (row of the design), from 0"),
    "runs": ("runs", "Runs at the design point"),
    "failed": ("runs", "Runs at the design point that raised an error (outcomes null)"),
}


def write_summary_dictionary(path: Path, columns: Iterable[str]) -> Path:
    """Write the data dictionary (column, unit, description) of ``commsim analyze``'s
    summary.csv beside it: each outcome's mean and CI columns in the outcome's unit."""
    rows = []
    for column in columns:
        unit, text = _SUMMARY_IDS.get(column) or describe(column)
        for suffix, what in _SUMMARY_SUFFIXES.items():
            base = column.removesuffix(suffix)
            if base != column and outcome(base) is not None:
                unit, text = describe(base)
                text = f"{text}: {what}"
        rows.append({"column": column, "unit": unit, "description": text})
    with Path(path).open("w", encoding="utf-8", newline="") as sink:
        writer = csv.DictWriter(sink, fieldnames=["column", "unit", "description"])
        writer.writeheader()
        writer.writerows(rows)
    return Path(path)


def is_integer(name: str) -> bool:
    """Whether an outcome or reporter is stored as an integer (its type in
    :mod:`sim.core.outcomes`: counts of whole things)."""
    defined = outcome(name)
    return defined is not None and defined.type is int


def described_field(name: str, type_: pa.DataType, role: str) -> pa.Field:
    """A Parquet field carrying its unit, description and role as metadata."""
    unit, description = describe(name)
    return pa.field(name, type_).with_metadata(
        {"unit": unit, "description": description, "role": role}
    )


def dictionary(schemas: Iterable[pa.Schema]) -> list[dict[str, str]]:
    """The data dictionary of these schemas' columns (each once, in order): column, unit,
    description and role, from each field's metadata (:func:`described_field`)."""
    rows, seen = [], set()
    for schema in schemas:
        for field in schema:
            if field.name in seen:
                continue
            seen.add(field.name)
            meta = {k.decode(): v.decode() for k, v in (field.metadata or {}).items()}
            rows.append(
                {
                    "column": field.name,
                    "unit": meta.get("unit", ""),
                    "description": meta.get("description", ""),
                    "role": meta.get("role", ""),
                }
            )
    return rows


def dictionary_metadata(schema: pa.Schema) -> dict[bytes, bytes]:
    """The file key-value metadata carrying ``schema``'s data dictionary (:data:`DICTIONARY_KEY`)."""
    table = {row.pop("column"): row for row in dictionary([schema])}
    return {DICTIONARY_KEY.encode(): json.dumps(table).encode()}
