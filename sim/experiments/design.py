"""Experiment designs: the ``[experiment]`` table, a validated :class:`Experiment`, and its points.

What a design is and how its points are made: the grid's values and the sampled parameters'
bounds checked, the sampled designs drawn (scipy.stats.qmc for LHS, SALib for Sobol and
Morris), and the design's size checked before it is built. Loading a file is in
:mod:`sim.experiments.loading`; runs are in :mod:`sim.experiments.experiment`, which
re-exports this module's public names.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.inputs import InputError, format_validation_error, quote
from sim.scenario import Shock, apply_overrides

__all__ = [
    "DESIGNS",
    "MAX_DESIGN_POINTS",
    "MAX_RUNS",
    "Experiment",
    "ExperimentMeta",
    "Range",
    "design_matrix",
    "design_size",
    "scenario_at",
    "shock_label",
]


DESIGNS = ("grid", "lhs", "sobol", "morris")
#: Most design points an experiment may have (a grid's product of value counts, lhs samples,
#: sobol N x (parameters + 2), morris trajectories x (parameters + 1)); checked before the
#: design is built, so a 10^7-point grid is refused at once, not built and checked point by
#: point. Each grid point is validated as a whole scenario (~60 us each).
MAX_DESIGN_POINTS = 100_000
#: Most runs (design points x replications) an experiment may ask for.
MAX_RUNS = 1_000_000


class ExperimentMeta(BaseModel):
    """`[experiment]`: what to run, how many times, with which design, and what to keep."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$",
        description="Name of the sweep and of its default output folder: letters, digits, "
        "'_', '.' and '-', not starting with '.' or '-', at most 100 characters.",
    )
    description: str = Field(
        "", max_length=500, description="One line on what the experiment asks."
    )
    scenario: str = Field(min_length=1, description="Base scenario file, relative to this file.")
    replications: int = Field(10, ge=1, le=100_000, description="Runs per design point.")
    seed: int = Field(1, ge=0, le=2**63 - 1, description="Root of every run's seed.")
    design: Literal["grid", "lhs", "sobol", "morris"] = Field("grid", description="The design.")
    samples: int = Field(
        64,
        ge=1,
        le=1_000_000,
        description="lhs: points; sobol: base sample N (a power of 2); morris: trajectories.",
    )
    levels: int = Field(4, ge=2, le=64, description="morris: grid levels per parameter.")
    common_random_numbers: bool = Field(
        True, description="Replication r uses the same seed at every design point."
    )
    timeseries: bool = Field(True, description="Keep each run's quarterly time series.")
    timeseries_every: int = Field(
        1, ge=1, le=400, description="Keep every k-th quarter of the time series."
    )
    councils: bool = Field(
        False,
        description="Keep each council's quarter (councils/ as Parquet; read_councils): a row "
        "per council and quarter of every run, so off by default.",
    )


class Range(BaseModel):
    """A sampled parameter's bounds: ``{ min = ..., max = ... }``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not (math.isfinite(self.min) and math.isfinite(self.max)) or self.min >= self.max:
            raise ValueError(f"min must be below max (got min = {self.min}, max = {self.max})")
        return self


@dataclass(frozen=True)
class Experiment:
    """A validated experiment: the file, the base scenario and the design points.

    Attributes:
        path: the experiment file.
        text: its text, as recorded in the manifest.
        meta: the ``[experiment]`` table.
        base: the resolved base scenario (JSON-ready dict).
        parameters: varied parameter -> grid values (list) or sampled bounds (min, max).
        kinds: varied parameter -> its type: ``int``, ``float``, ``bool``, ``str`` or ``shocks``.
        points: one dict of parameter values per design point, in design order.
        fixed: fixed parameter -> its value as a runs.parquet column (``[fixed]`` and
            ``commsim sweep --set``, less the varied ones).
        fixed_kinds: fixed parameter -> its type (as ``kinds``).
        command_line: ``commsim sweep``'s changes to the file (``replications``, ``set``).
        inputs: every file a run reads (the experiment file, its base scenario, each data
            file) -> the SHA-256 of its bytes; the manifest records them and ``--resume``
            refuses a folder whose files have changed since (:func:`changed_input`).
    """

    path: Path
    text: str
    meta: ExperimentMeta
    base: dict[str, Any]
    parameters: dict[str, Any]
    kinds: dict[str, str]
    points: list[dict[str, Any]]
    fixed: dict[str, Any] = field(default_factory=dict)
    fixed_kinds: dict[str, str] = field(default_factory=dict)
    command_line: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        """Hash of the experiment file's text and the command line's changes to it (the
        manifest records it; --resume checks it)."""
        text = self.text
        if self.command_line:
            text += "\n" + json.dumps(self.command_line, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def runs(self) -> int:
        """Number of runs: design points x replications."""
        return len(self.points) * self.meta.replications


def _fail(origin: str, message: str) -> InputError:
    return InputError(f"{origin}: {message}")


def shock_label(shocks: list[dict[str, Any]]) -> str:
    """A short readable label for a list of shock tables, e.g. ``provider_collapse@40``."""
    if not shocks:
        return "none"
    parts = []
    for s in shocks:
        shock = Shock.model_validate(s)
        detail = shock.target if shock.kind == "provider_collapse" else f"{shock.magnitude:g}"
        parts.append(f"{shock.kind}@{shock.quarter}({detail})")
    return "+".join(parts)


def scenario_at(base: dict[str, Any], values: dict[str, Any], origin: str) -> dict[str, Any]:
    """The base scenario dict with a design point's values set (``shocks`` replaces the list)."""
    return apply_overrides(base, values, origin=origin)


def _grid_values(key: str, kind: str, values: Any, origin: str) -> list[Any]:
    if not isinstance(values, list) or not values:
        raise _fail(
            origin,
            f"[parameters] '{key}': a grid design needs a non-empty list of values "
            f"(got {quote(values)})",
        )
    if kind == "shocks" and not all(isinstance(v, list) for v in values):
        raise _fail(
            origin,
            f"[parameters] '{key}': each value must be a list of shock tables, "
            'e.g. [[], [{ kind = "provider_collapse", quarter = 40 }]]',
        )
    if kind == "shocks":
        labels = []
        for i, v in enumerate(values):
            try:
                labels.append(shock_label(v))
            except ValidationError as err:
                where = f"{origin}: [parameters] '{key}'[{i}]"
                raise InputError(format_validation_error(err, where, Shock)) from None
        if len(set(labels)) != len(labels):
            raise _fail(origin, f"[parameters] '{key}': two values are the same shocks")
    elif kind != "shocks" and any(isinstance(v, list | dict) for v in values):
        i = next(i for i, v in enumerate(values) if isinstance(v, list | dict))
        raise _fail(
            origin,
            f"[parameters] '{key}'[{i}]: each grid value must be one {kind} value, "
            f"not a {'list' if isinstance(values[i], list) else 'table'}",
        )
    elif len({repr(v) for v in values}) != len(values):
        raise _fail(origin, f"[parameters] '{key}': a value appears twice in {quote(values, 60)}")
    return values


def _range(key: str, kind: str, bounds: Any, design: str, origin: str) -> tuple[float, float]:
    if kind not in ("int", "float"):
        raise _fail(
            origin,
            f"[parameters] '{key}': a {kind} parameter cannot be sampled; use design = 'grid'",
        )
    if not isinstance(bounds, dict):
        raise _fail(
            origin,
            f"[parameters] '{key}': a {design} design needs bounds {{ min = ..., max = ... }} "
            f"(got {quote(bounds)})",
        )
    try:
        r = Range.model_validate(bounds)
    except ValidationError as err:
        where = f"{origin}: [parameters] '{key}'"
        raise InputError(format_validation_error(err, where, Range)) from None
    return (r.min, r.max)


def design_matrix(meta: ExperimentMeta, bounds: list[tuple[float, float]]) -> np.ndarray:
    """The sampled design (points x parameters, before integer rounding), from
    scipy.stats.qmc (lhs) or SALib (sobol, morris); the same for the same seed and bounds."""
    d = len(bounds)
    if meta.design == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=d, rng=np.random.default_rng(meta.seed)).random(meta.samples)
        lo, hi = np.array(bounds).T
        return qmc.scale(unit, lo, hi)
    problem = {"num_vars": d, "names": [f"x{i}" for i in range(d)], "bounds": bounds}
    if meta.design == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, meta.samples, calc_second_order=False, seed=meta.seed)
    from SALib.sample import morris

    return morris.sample(problem, meta.samples, num_levels=meta.levels, seed=meta.seed)


def _design_points(
    meta: ExperimentMeta, parameters: dict[str, Any], kinds: dict[str, str]
) -> list[dict[str, Any]]:
    keys = list(parameters)
    if meta.design == "grid":
        grids = np.meshgrid(*[np.arange(len(parameters[k])) for k in keys], indexing="ij")
        combos = np.stack([g.ravel() for g in grids], axis=1)
        return [{k: parameters[k][i] for k, i in zip(keys, row, strict=True)} for row in combos]
    matrix = design_matrix(meta, [parameters[k] for k in keys])
    return [
        {
            k: round(float(x)) if kinds[k] == "int" else float(x)
            for k, x in zip(keys, row, strict=True)
        }
        for row in matrix
    ]


def _check_design(meta: ExperimentMeta, n_params: int, origin: str) -> None:
    if meta.design == "sobol" and meta.samples & (meta.samples - 1):
        raise _fail(
            origin,
            f"experiment.samples: a sobol design needs a power of 2 (got {meta.samples}; "
            f"try {1 << (meta.samples.bit_length() - 1)} or {1 << meta.samples.bit_length()})",
        )
    if meta.design == "morris" and meta.levels % 2:
        # SALib samples odd levels unevenly, and says so only as a warning on stderr
        raise _fail(
            origin,
            f"experiment.levels: a morris design needs an even number of levels "
            f"(got {meta.levels}; try {meta.levels + 1})",
        )
    if meta.design in ("sobol", "morris") and n_params < 2:
        raise _fail(origin, f"a {meta.design} design needs at least 2 varied parameters")


def design_size(meta: ExperimentMeta, parameters: dict[str, Any]) -> int:
    """The number of design points, computed without building the design."""
    d = len(parameters)
    if meta.design == "grid":
        return math.prod(len(values) for values in parameters.values())
    if meta.design == "sobol":
        return meta.samples * (d + 2)  # Saltelli without second-order indices
    if meta.design == "morris":
        return meta.samples * (d + 1)
    return meta.samples


def _check_size(meta: ExperimentMeta, parameters: dict[str, Any], origin: str) -> None:
    points = design_size(meta, parameters)
    if points > MAX_DESIGN_POINTS:
        raise _fail(
            origin,
            f"the {meta.design} design has {points:,} points; at most {MAX_DESIGN_POINTS:,} "
            "are allowed (see docs/security.md)",
        )
    if points * meta.replications > MAX_RUNS:
        raise _fail(
            origin,
            f"{points:,} points x {meta.replications:,} replications is "
            f"{points * meta.replications:,} runs; at most {MAX_RUNS:,} are allowed",
        )


def _label(value: Any) -> Any:
    return shock_label(value) if isinstance(value, list) else value
