"""Experiment files: which parameters to vary, how (grid, LHS, Sobol, Morris), and the seeds.

An experiment file (TOML) names a base scenario and a ``[parameters]`` table; loading it
validates everything at the edge (the file, the base scenario, every grid point) and raises a
one-line :class:`~sim.inputs.InputError` naming the file and the field. The design turns
into a list of :class:`RunSpec` (design point x replication, each with its own seed), and
:func:`simulate_runs` is the picklable worker that runs them. See docs/experiments.md.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Container, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.experiments.stopping import check_stop
from sim.inputs import (
    InputError,
    clip,
    format_validation_error,
    parse_toml,
    quote,
    read_text_file,
    suggest,
)
from sim.scenario import (
    DATA_FILE_FIELDS,
    Scenario,
    Shock,
    apply_overrides,
    check_data_files,
    known_keys,
    load_scenario,
    scenario_from_dict,
    shock_field,
)
from sim.scenario.cost import RunCost

__all__ = [
    "DESIGNS",
    "NOT_PARAMETERS",
    "SHOCKS_KEY",
    "Experiment",
    "ExperimentMeta",
    "RunBatch",
    "RunResult",
    "RunSpec",
    "changed_input",
    "design_matrix",
    "experiment_cost",
    "experiment_from_manifest",
    "iter_run_specs",
    "join_batches",
    "load_experiment",
    "replication_seeds",
    "run_specs",
    "salib_problem",
    "shock_label",
    "simulate",
    "simulate_batch",
    "simulate_run",
    "simulate_runs",
]

DESIGNS = ("grid", "lhs", "sobol", "morris")
#: Most design points an experiment may have (a grid's product of value counts, lhs samples,
#: sobol N x (parameters + 2), morris trajectories x (parameters + 1)); checked before the
#: design is built, so a 10^7-point grid is refused at once, not built and checked point by
#: point. Each grid point is validated as a whole scenario (~60 us each).
MAX_DESIGN_POINTS = 100_000
#: Most runs (design points x replications) an experiment may ask for.
MAX_RUNS = 1_000_000
#: Parameters naming a user's data file: relative paths in an experiment file are relative
#: to it, and the files are read and checked when the experiment is validated.
DATA_KEYS = tuple(f"network.{key}" for key in DATA_FILE_FIELDS)
#: The parameter key that replaces the scenario's whole ``[[shocks]]`` list (grid designs only).
SHOCKS_KEY = "shocks"


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


class _ExperimentFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    experiment: ExperimentMeta
    fixed: dict[str, Any] = Field(default_factory=dict)
    parameters: dict[str, Any] = Field(min_length=1)


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


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One run: a design point, a replication and a seed, with everything a worker needs."""

    run_id: int
    point: int
    replication: int
    seed: int
    values: dict[str, Any]
    scenario: dict[str, Any]
    timeseries: bool = True
    timeseries_every: int = 1
    councils: bool = False


@dataclass(slots=True)
class RunResult:
    """What a worker returns: the outcome row and, if kept, the run's time series as NumPy
    columns (they cross between processes far more cheaply than DataFrames)."""

    row: dict[str, Any]
    timeseries: dict[str, np.ndarray] | None = None  # column -> values
    councils: dict[str, np.ndarray] | None = None  # column -> values, a row per council


@dataclass(slots=True)
class RunBatch:
    """A chunk of finished runs as a worker returns them to a sweep: one outcome row per
    run, and the kept time series of all of them joined (``run_id`` tells them apart)."""

    rows: list[dict[str, Any]]
    timeseries: dict[str, np.ndarray] | None = None  # column -> values
    councils: dict[str, np.ndarray] | None = None  # column -> values


# ----------------------------------------------------------------------------- loading


def _fail(origin: str, message: str) -> InputError:
    return InputError(f"{origin}: {message}")


def _parameter_kind(key: str, origin: str, table: str = "parameters") -> str:
    """The type of a varied (or fixed) parameter, or an error naming the key."""
    if key == SHOCKS_KEY:
        return "shocks"
    dotted = key.replace("__", ".")
    try:
        shock = shock_field(dotted)  # shocks.N.field: one field of the base scenario's shock N
    except InputError as err:
        raise _fail(origin, f"[{table}] {err}") from None
    known = [k for k in known_keys(Scenario) if k.count(".") == 1]
    if shock is None and dotted not in known:
        raise _fail(
            origin, f"[{table}] {quote(key, 60)} names no parameter{suggest(dotted, known)}"
        )
    section, name = ("shocks[]", shock[1]) if shock else dotted.split(".")
    model = Shock if shock else Scenario.model_fields[section].annotation
    annotation = model.model_fields[name].annotation
    return {int: "int", float: "float", bool: "bool", str: "str"}.get(annotation, "str")


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


def load_experiment(
    path: str | Path,
    *,
    replications: int | None = None,
    overrides: dict[str, Any] | None = None,
) -> Experiment:
    """Load and validate an experiment file: the file, its base scenario and its design.

    Grid points are each validated as whole scenarios; sampled designs have each parameter's
    bounds validated (a sampled point that breaks a cross-field rule is run and recorded as a
    failed run).

    Args:
        path: the experiment file; its ``scenario`` is relative to the file's folder.
        replications: replaces ``experiment.replications`` (``commsim sweep --replications``).
        overrides: set on the base scenario after ``[fixed]``, as more fixed values
            (``commsim sweep --set``); a varied parameter cannot be set.

    Raises:
        InputError: one line naming the file, the field and what is wrong.
    """
    path = Path(path)
    origin = str(path)
    text = read_text_file(path, "TOML file")
    data = parse_toml(text, path)
    try:
        parsed = _ExperimentFile.model_validate(data)
    except ValidationError as err:
        raise InputError(format_validation_error(err, origin, _ExperimentFile)) from None
    meta = parsed.experiment
    scenario_path = (path.parent / meta.scenario).resolve()
    try:
        base = load_scenario(scenario_path).model_dump(mode="json")
    except InputError as err:
        raise _fail(origin, f"experiment.scenario: {err}") from None
    if parsed.fixed:
        for key in parsed.fixed:
            _parameter_kind(key, origin, table="fixed")
        fixed = scenario_at(base, _data_paths(parsed.fixed, path.parent), f"{origin}: [fixed]")
        scenario = scenario_from_dict(fixed, origin=f"{origin}: [fixed]")
        check_data_files(scenario, origin=f"{origin}: [fixed]")
        base = scenario.model_dump(mode="json")

    _check_spellings(parsed.fixed, parsed.parameters, origin)
    kinds = {key: _parameter_kind(key, origin) for key in parsed.parameters}
    command_line = _command_line(replications, overrides or {}, kinds)
    if replications is not None:
        meta = meta.model_copy(update={"replications": replications})
    if overrides:
        at = scenario_at(base, overrides, "--set")
        base = scenario_from_dict(at, origin=f"{origin}: --set").model_dump(mode="json")
    # --set replaces a [fixed] value however either spells it: one column, the value run
    set_keys = {k.replace("__", ".") for k in overrides or {}}
    fixed_values = {k: v for k, v in parsed.fixed.items() if k.replace("__", ".") not in set_keys}
    fixed_values.update(overrides or {})
    fixed_kinds = {k: _parameter_kind(k, origin, "fixed") for k in fixed_values if k not in kinds}
    if meta.design == "grid":
        parameters = {
            k: _grid_values(k, kinds[k], v, origin)
            for k, v in _data_paths(parsed.parameters, path.parent).items()
        }
    else:
        parameters = {
            k: _range(k, kinds[k], v, meta.design, origin) for k, v in parsed.parameters.items()
        }
        _check_design(meta, len(parameters), origin)
    _check_size(meta, parameters, origin)
    if meta.design != "grid":
        for k, (lo, hi) in parameters.items():  # each bound alone must be a valid value
            for bound in (lo, hi):
                value = round(bound) if kinds[k] == "int" else bound
                scenario_from_dict(
                    scenario_at(base, {k: value}, origin), origin=f"{origin}: [parameters] '{k}'"
                )
    points = _design_points(meta, parameters, kinds)
    if meta.design == "grid":
        _check_grid_points(base, points, origin)
    data_files = [base["network"].get(k) for k in DATA_FILE_FIELDS]
    for key, values in parameters.items():
        if key.replace("__", ".") in DATA_KEYS:
            data_files += values
    return Experiment(
        path=path,
        text=text,
        meta=meta,
        base=base,
        parameters=parameters,
        kinds=kinds,
        points=points,
        fixed={k: _column_value(fixed_values[k], kind) for k, kind in fixed_kinds.items()},
        fixed_kinds=fixed_kinds,
        command_line=command_line,
        inputs=_input_hashes([path, scenario_path, *(Path(f) for f in data_files if f)]),
    )


def experiment_cost(experiment: Experiment, workers: int) -> RunCost:
    """The estimated cost of the whole sweep on ``workers`` local processes, each run as big
    as the design's biggest (the size fields of each point, else the base scenario's; a grid
    of councils files counts the base scenario's councils)."""
    from sim.scenario.cost import SIZE_FIELDS, command_cost, cost_of_size

    def size(values: dict[str, Any]) -> list[int]:
        dotted = {k.replace("__", "."): v for k, v in values.items()}
        out = []
        for name in SIZE_FIELDS:
            section, key = name.split(".")
            out.append(int(dotted.get(name, experiment.base[section][key])))
        return out

    biggest = max((cost_of_size(*size(p)) for p in experiment.points), key=lambda c: c.memory_mb)
    return command_cost(biggest, experiment.runs, workers)


def _input_hashes(paths: list[Path]) -> dict[str, str]:
    """Each file (absolute path) -> the SHA-256 of its bytes (read whole: every input file
    is at most :data:`~sim.inputs.MAX_INPUT_BYTES` and was already read to be checked)."""
    out = {}
    for p in paths:
        key = str(Path(p).resolve())
        if key not in out:
            try:
                out[key] = hashlib.sha256(Path(p).read_bytes()).hexdigest()
            except OSError as err:
                raise InputError(f"{p}: cannot be read ({err.strerror})") from None
    return out


def changed_input(recorded: dict[str, str], now: dict[str, str]) -> str | None:
    """The first file whose hash in ``recorded`` (a sweep's manifest) differs from ``now``
    (the experiment as loaded again), with how, or None when every recorded file is the same.
    """
    for path, digest in recorded.items():
        if path not in now:
            return f"{path} is no longer read by the experiment"
        if now[path] != digest:
            return f"{path} has changed since the sweep started"
    extra = next((p for p in now if p not in recorded), None)
    return f"{extra} is read now, and was not when the sweep started" if extra else None


#: Parameters an experiment may not vary or fix: each run's seed comes from
#: ``experiment.seed`` and its replication, so the scenario's own seed never reaches a run.
NOT_PARAMETERS = {"scenario.seed": "each run's seed comes from experiment.seed and its replication"}


def _check_spellings(fixed: dict[str, Any], parameters: dict[str, Any], origin: str) -> None:
    """One spelling per parameter: ``a.b`` and ``a__b`` name the same one, so a parameter
    given twice (both ways in one table, or in both [fixed] and [parameters]) is refused
    before anything is built, as is a parameter no run would read."""
    seen: dict[str, str] = {}
    for table, keys in (("fixed", fixed), ("parameters", parameters)):
        for key in keys:
            dotted = key.replace("__", ".")
            if dotted in NOT_PARAMETERS:
                raise _fail(origin, f"[{table}] {quote(key, 60)}: {NOT_PARAMETERS[dotted]}")
            if dotted in seen:
                raise _fail(
                    origin,
                    f"[{table}] {quote(key, 60)}: the same parameter as {seen[dotted]}; "
                    "give it once",
                )
            seen[dotted] = f"[{table}] {quote(key, 60)}"


def _data_paths(values: dict[str, Any], folder: Path) -> dict[str, Any]:
    """``values`` with each data file path (or grid list of paths) made absolute against the
    experiment file's folder, so runs read the same files wherever they run."""

    def absolute(value: Any) -> Any:
        if isinstance(value, str) and value:
            return str((folder / value).resolve())
        return value

    out = dict(values)
    for key, value in values.items():
        if key.replace("__", ".") in DATA_KEYS:
            out[key] = [absolute(v) for v in value] if isinstance(value, list) else absolute(value)
    return out


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


def _check_grid_points(base: dict[str, Any], points: list[dict[str, Any]], origin: str) -> None:
    """Validate every grid point as a whole scenario, and read each distinct data file once."""
    checked: set[tuple[str, str]] = set()
    for i, point in enumerate(points):
        where = ", ".join(f"{k} = {clip(str(_label(v)), 40)}" for k, v in point.items())
        at = f"{origin}: design point {i} ({where})"
        scenario = scenario_from_dict(scenario_at(base, point, origin), origin=at)
        files = (scenario.network.councils_file, scenario.network.graph_file)
        if files not in checked:
            check_data_files(scenario, origin=at)
            checked.add(files)


def experiment_from_manifest(manifest: dict[str, Any]) -> Experiment:
    """The experiment a sweep ran, rebuilt from its manifest (the design is drawn again from
    its seed), so that any run can be repeated alone (``commsim replay``)."""
    recorded = manifest["experiment"]
    meta = ExperimentMeta.model_validate({k: recorded[k] for k in ExperimentMeta.model_fields})
    kinds = manifest["parameter_kinds"]
    parameters = {
        k: v if meta.design == "grid" else tuple(v) for k, v in manifest["parameters"].items()
    }
    return Experiment(
        path=Path(recorded["path"]),
        text=recorded["text"],
        meta=meta,
        base=manifest["base_scenario"],
        parameters=parameters,
        kinds=kinds,
        points=_design_points(meta, parameters, kinds),
        fixed=manifest.get("fixed", {}),
        fixed_kinds=manifest.get("fixed_kinds", {}),
        command_line=manifest.get("command_line", {}),
        inputs=manifest.get("inputs", {}),
    )


def _command_line(
    replications: int | None, overrides: dict[str, Any], kinds: dict[str, str]
) -> dict[str, Any]:
    """The sweep's command-line changes to the file, checked (the manifest records them)."""
    if replications is not None and not 1 <= replications <= 100_000:
        raise InputError(f"--replications {replications}: must be 1 to 100000")
    varied = {k.replace("__", "."): k for k in kinds}
    given: dict[str, str] = {}
    for key in overrides:
        _parameter_kind(key, "--set", table="fixed")
        dotted = key.replace("__", ".")
        if dotted in NOT_PARAMETERS:
            raise InputError(f"--set {clip(key, 60)}: {NOT_PARAMETERS[dotted]}")
        if dotted in varied:
            raise InputError(
                f"--set {clip(key, 60)}: the experiment varies it in [parameters] "
                f"(as {quote(varied[dotted], 60)})"
            )
        if dotted in given:
            raise InputError(f"--set {clip(key, 60)}: the same parameter as --set {given[dotted]}")
        given[dotted] = clip(key, 60)
    out: dict[str, Any] = {}
    if replications is not None:
        out["replications"] = replications
    if overrides:
        out["set"] = dict(overrides)
    return out


def _column_value(value: Any, kind: str) -> Any:
    """A fixed value as its runs.parquet column holds it (shocks as a label, lists as JSON)."""
    if kind == "shocks":
        return shock_label(value)
    return json.dumps(value) if isinstance(value, list | dict) else value


def _label(value: Any) -> Any:
    return shock_label(value) if isinstance(value, list) else value


# ----------------------------------------------------------------------------- seeds and runs


def replication_seeds(root: int, n: int) -> list[int]:
    """``n`` independent seeds from ``numpy.random.SeedSequence(root).spawn(n)``."""
    children = np.random.SeedSequence(root).spawn(n)
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


def run_specs(experiment: Experiment) -> list[RunSpec]:
    """Every run of the experiment in order: ``run_id = point * replications + replication``.

    With common random numbers (the default) replication ``r`` has the same seed at every
    design point, so differences between points are the policy's, not the dice's.
    """
    return list(iter_run_specs(experiment))


def iter_run_specs(experiment: Experiment, skip: Container[int] = ()) -> Iterator[RunSpec]:
    """:func:`run_specs` one at a time, leaving out the run ids in ``skip``: a sweep makes
    each spec as it sends it, so a long sweep holds no list of every run."""
    meta = experiment.meta
    reps = meta.replications
    n_points = len(experiment.points)
    crn = meta.common_random_numbers
    seeds = replication_seeds(meta.seed, reps if crn else reps * n_points)
    for p, values in enumerate(experiment.points):
        for r in range(reps):
            if p * reps + r in skip:
                continue
            yield RunSpec(
                run_id=p * reps + r,
                point=p,
                replication=r,
                seed=seeds[r] if crn else seeds[p * reps + r],
                values=values,
                scenario=experiment.base,
                timeseries=meta.timeseries,
                timeseries_every=meta.timeseries_every,
                councils=meta.councils,
            )


def salib_problem(parameters: dict[str, Any]) -> dict[str, Any]:
    """The SALib problem dict of a sampled design (names and bounds, in file order)."""
    return {
        "num_vars": len(parameters),
        "names": list(parameters),
        "bounds": [list(b) for b in parameters.values()],
    }


def simulate(
    scenario: dict[str, Any], seed: int, councils: bool = False
) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, np.ndarray] | None]:
    """Run one model to its horizon; return its quarterly columns (``quarter`` and every
    reporter of :data:`sim.core.outcomes.REPORTERS`, as NumPy arrays), its run outcomes and,
    with ``councils``, each council's quarters (:func:`sim.core.outcomes.council_table`).

    The one place a sweep touches the model: the Mesa-free engine (:mod:`sim.core.engine`; same
    seed, same numbers as :class:`~sim.abm.model.CommissioningModel`), with no pandas DataFrame.
    A stop signal is acted on between quarters (:func:`~sim.experiments.stopping.check_stop`),
    never inside a compiled kernel.

    Raises:
        Stopped: SIGINT or SIGTERM arrived while a stop was being watched for.
    """
    from sim.core.engine import Simulation
    from sim.core.outcomes import council_metrics, council_table

    simulation = Simulation(scenario, rng=seed)
    quarters = []
    while simulation.running:
        simulation.step()
        check_stop()
        if councils:
            quarters.append(council_metrics(simulation.market))
    table = council_table(quarters) if councils else None
    return simulation.series(), simulation.outcomes or simulation.summary(), table


def _run(spec: RunSpec, scenarios: dict[tuple[int, int], dict[str, Any]]) -> RunResult:
    """One run; ``scenarios`` holds the design points' scenario dicts already made in this
    call (keyed by the identity of the base and the values), so replications share one."""
    from sim.core.outcomes import SUMMARY_FIELDS

    row: dict[str, Any] = {
        "run_id": spec.run_id,
        "point": spec.point,
        "replication": spec.replication,
        "seed": spec.seed,
    }
    row.update({k: _label(v) for k, v in spec.values.items()})
    ts = by_council = None
    try:
        key = (id(spec.scenario), id(spec.values))
        scenario = scenarios.get(key)
        if scenario is None:
            scenario = scenarios[key] = scenario_at(spec.scenario, spec.values, "parameters")
        series, outcomes, by_council = simulate(scenario, spec.seed, spec.councils)
        if by_council is not None:
            rows = len(by_council["quarter"])
            by_council = {"run_id": np.full(rows, spec.run_id, dtype=np.int64), **by_council}
        if spec.timeseries:
            every = spec.timeseries_every
            quarters = len(series["quarter"][::every])
            ts = {"run_id": np.full(quarters, spec.run_id, dtype=np.int64)}
            ts.update({c: v[::every] for c, v in series.items()})
        error = None
    except Exception as err:  # recorded per run; the sweep goes on
        check_stop()  # a failure caused by the stop is no failure of the run
        outcomes = dict.fromkeys(SUMMARY_FIELDS)
        error = f"{type(err).__name__}: {err}".splitlines()[0]
    row.update({k: outcomes.get(k) for k in SUMMARY_FIELDS})
    row["error"] = error
    return RunResult(row=row, timeseries=ts, councils=by_council)


def simulate_run(spec: RunSpec) -> RunResult:
    """Run one model and return its outcome row (and kept time series).

    A run that raises is returned with every outcome null and the error in ``error``: the
    sweep records it and goes on.
    """
    return _run(spec, {})


def simulate_runs(specs: list[RunSpec]) -> list[RunResult]:
    """Run a chunk of runs in one worker call (fewer round trips than one task per run)."""
    scenarios: dict[tuple[int, int], dict[str, Any]] = {}
    return [_run(spec, scenarios) for spec in specs]


def simulate_batch(specs: list[RunSpec]) -> list[RunBatch]:
    """Run a chunk of runs and return them as one :class:`RunBatch` (in a list, as
    executors expect): the chunk's time series joined into one array per column here, in
    the worker, so the process writing the results unpickles a few arrays, not a few per run.
    """
    results = simulate_runs(specs)
    return [join_batches([RunBatch([r.row], r.timeseries, r.councils) for r in results])]


def join_batches(batches: list[RunBatch]) -> RunBatch:
    """Several batches as one: their rows in order, their time series joined."""
    if len(batches) == 1:
        return batches[0]

    def joined(tables: list[dict[str, np.ndarray] | None]) -> dict[str, np.ndarray] | None:
        kept = [t for t in tables if t is not None]
        return {c: np.concatenate([t[c] for t in kept]) for c in kept[0]} if kept else None

    return RunBatch(
        rows=[row for b in batches for row in b.rows],
        timeseries=joined([b.timeseries for b in batches]),
        councils=joined([b.councils for b in batches]),
    )
