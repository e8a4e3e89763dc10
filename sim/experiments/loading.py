"""Loading an experiment file: validated at the edge, with one line naming the file and field.

:func:`load_experiment` reads the TOML file and its base scenario, checks each parameter's
name and spelling, the ``[fixed]`` values, the command line's changes (``--replications``,
``--set``) and every grid point, and hashes every file a run reads;
:func:`experiment_from_manifest` rebuilds a sweep's experiment from its manifest, and
:func:`experiment_cost` estimates what the sweep will take. The design itself is in
:mod:`sim.experiments.design`; :mod:`sim.experiments.experiment` re-exports this module's
public names.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.experiments.design import (
    Experiment,
    ExperimentMeta,
    _check_design,
    _check_size,
    _design_points,
    _fail,
    _grid_values,
    _label,
    _range,
    scenario_at,
    shock_label,
)
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
    check_data_files,
    known_keys,
    load_scenario,
    scenario_from_dict,
    shock_field,
)
from sim.scenario.cost import RunCost

__all__ = [
    "DATA_KEYS",
    "NOT_PARAMETERS",
    "SHOCKS_KEY",
    "changed_input",
    "experiment_cost",
    "experiment_from_manifest",
    "load_experiment",
]


#: Parameters naming a user's data file: relative paths in an experiment file are relative
#: to it, and the files are read and checked when the experiment is validated.
DATA_KEYS = tuple(f"network.{key}" for key in DATA_FILE_FIELDS)
#: The parameter key that replaces the scenario's whole ``[[shocks]]`` list (grid designs only).
SHOCKS_KEY = "shocks"


class _ExperimentFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    experiment: ExperimentMeta
    fixed: dict[str, Any] = Field(default_factory=dict)
    parameters: dict[str, Any] = Field(min_length=1)


# ----------------------------------------------------------------------------- loading


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
