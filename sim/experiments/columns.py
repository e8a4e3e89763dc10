"""What each output column means: its unit, description and role.

A sweep's ``runs.parquet`` and time series carry these in each Parquet field's metadata
(``unit``, ``description``, ``role``), and ``commsim export`` writes them as a data dictionary
beside the CSV files; ``commsim analyze`` and ``commsim compare`` write one (column, unit,
description) beside each CSV they write (:func:`write_dictionary`). Names come from :mod:`sim.core.outcomes` (quarterly reporters and run
outcomes) and the parameter table (:func:`sim.scenario.parameter_table`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path

import pyarrow as pa

from sim.core.outcome_table import outcome
from sim.inputs import InputError
from sim.scenario import parameter_table, shock_field

__all__ = [
    "DICTIONARY_KEY",
    "REPLICATION_COLUMNS",
    "ROLES",
    "ROW_UNIT",
    "SENSITIVITY_COLUMNS",
    "compare_columns",
    "describe",
    "described_field",
    "dictionary",
    "dictionary_metadata",
    "is_integer",
    "write_dictionary",
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


def _summary_column(column: str) -> tuple[str, str]:
    """``(unit, description)`` of a summary.csv column: an outcome's mean or CI bound in the
    outcome's unit, else an id or a parameter."""
    for suffix, what in _SUMMARY_SUFFIXES.items():
        base = column.removesuffix(suffix)
        if base != column and outcome(base) is not None:
            unit, text = describe(base)
            return unit, f"{text}: {what}"
    return _SUMMARY_IDS.get(column) or describe(column)


def write_summary_dictionary(path: Path, columns: Iterable[str]) -> Path:
    """Write the data dictionary (column, unit, description) of ``commsim analyze``'s
    summary.csv beside it: each outcome's mean and CI columns in the outcome's unit."""
    columns = list(columns)
    return write_dictionary(path, columns, {c: _summary_column(c) for c in columns})


#: The unit of a value in a table with one outcome a row (its ``outcome`` or ``unit`` column).
ROW_UNIT = "the row's outcome's unit"

#: sensitivity.csv's columns (``commsim analyze`` of a sobol or morris design).
SENSITIVITY_COLUMNS: dict[str, tuple[str, str]] = {
    "outcome": ("name", "The run outcome the index measures (docs/ODD.md, section 8)"),
    "parameter": ("name", "The varied parameter (its unit and range: commsim params)"),
    "method": ("text", "sobol or morris (SALib.analyze)"),
    "index": (
        "text",
        "S1: Sobol first-order index (the share of the outcome's variance due to the "
        "parameter alone); ST: Sobol total index (with its interactions); mu_star: Morris "
        "mean absolute elementary effect; sigma: Morris standard deviation of the effects",
    ),
    "value": (
        "share or " + ROW_UNIT,
        "The index: S1 and ST a share of variance (0-1); mu_star and sigma in the outcome's "
        "unit, over a step of the parameter's range as SALib scales it",
    ),
    "conf": (
        "as value",
        "Half-width of the index's 95% confidence interval (SALib's bootstrap); empty for sigma",
    ),
}

#: replications.csv's columns (``commsim analyze --precision``), but the varied parameters.
REPLICATION_COLUMNS: dict[str, tuple[str, str]] = {
    "point": _SUMMARY_IDS["point"],
    "outcome": ("name", "The run outcome (docs/ODD.md, section 8)"),
    "runs": ("runs", "Runs at the design point with a value of the outcome"),
    "mean": (ROW_UNIT, "Mean of the outcome over those runs"),
    "sd": (ROW_UNIT, "Sample standard deviation of the outcome over those runs"),
    "half_width": (ROW_UNIT, "Half-width of the 95% CI of the mean from those runs"),
    "target": (
        ROW_UNIT,
        "Half-width asked for (--precision): absolute, or relative times the mean's magnitude",
    ),
    "replications_needed": (
        "runs",
        "Runs a 95% CI of the target half-width needs; empty where undefined (constant, "
        "missing, or a relative target on a zero mean)",
    ),
}


def compare_columns(labels: Sequence[str]) -> dict[str, tuple[str, str]]:
    """compare.csv's columns (``commsim compare``): A's and B's means headed by ``labels``."""
    return {
        "outcome": ("name", "The run outcome (docs/ODD.md, section 8)"),
        "unit": ("text", "The outcome's unit: the unit of the means, difference and CI"),
        labels[0]: (ROW_UNIT, f"Mean of the outcome over the runs of A ({labels[0]})"),
        labels[1]: (ROW_UNIT, f"Mean of the outcome over the runs of B ({labels[1]})"),
        "difference": (ROW_UNIT, "Mean paired difference B - A (the same seed in each pair)"),
        "ci_low": (ROW_UNIT, "Lower end of the difference's 95% CI (Student t)"),
        "ci_high": (ROW_UNIT, "Upper end of the difference's 95% CI (Student t)"),
        "pairs": ("runs", "Pairs in which both runs have a value of the outcome"),
        "verdict": (
            "text",
            "B > A or B < A (the CI excludes zero), cannot be told from noise (it straddles "
            "zero), the same in every pair, or undefined",
        ),
        "pairs_to_resolve": (
            "runs",
            "Pairs whose CI half-width would equal the difference: what a rerun needs to tell "
            "an effect of this size from zero; empty when the difference is zero",
        ),
        "section": ("text", "The report's section: Outcomes, or Value for money"),
    }


def write_dictionary(
    path: Path, columns: Iterable[str], known: Mapping[str, tuple[str, str]]
) -> Path:
    """Write the data dictionary (column, unit, description) of a CSV's ``columns`` at
    ``path``: each as ``known`` describes it (``(unit, description)``), else as
    :func:`describe` does (an id, an outcome, a parameter)."""
    rows = []
    for column in columns:
        unit, text = known.get(column) or describe(column)
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
