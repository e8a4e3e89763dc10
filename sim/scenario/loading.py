"""Loading a scenario: the TOML file, its data files' paths, and dotted-key overrides.

Every failure is an :class:`~sim.inputs.InputError`, one line naming the file, the field and
what is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.inputs import InputError, format_validation_error, quote, read_toml, suggest
from sim.scenario.schema import Scenario, Shock

__all__ = [
    "DATA_FILE_FIELDS",
    "apply_overrides",
    "check_data_files",
    "known_keys",
    "load_scenario",
    "scenario_from_dict",
    "shock_field",
]

DATA_FILE_FIELDS = ("councils_file", "graph_file")  # in [network]; paths to a user's data


def known_keys(model: type[BaseModel] = Scenario, prefix: str = "") -> list[str]:
    """Every dotted key of a schema: sections (``commissioning``) and their parameters
    (``commissioning.price_weight``)."""
    keys = []
    for name, field in model.model_fields.items():
        keys.append(prefix + name)
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            keys.extend(known_keys(ann, prefix + name + "."))
    return keys


def scenario_from_dict(data: dict[str, Any], origin: str = "<scenario>") -> Scenario:
    """Validate a nested dict (as read from TOML) into a :class:`Scenario`.

    Raises:
        InputError: ``origin: field: what is wrong``.
    """
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise InputError(format_validation_error(err, origin, Scenario)) from None


def load_scenario(
    path: str | Path, overrides: dict[str, Any] | None = None, *, origin: str = "--set"
) -> Scenario:
    """Load and validate a scenario file, applying dotted-key overrides on top.

    Args:
        path: a TOML scenario file.
        overrides: e.g. ``{"commissioning.social_value_weight": 0.2}``.
        origin: what an error in an override names (``--set``; ``overrides`` from Python).

    Data files the scenario names (``network.councils_file``, ``network.graph_file``) are
    relative to the scenario file (in an override, to the working directory); they are
    stored as absolute paths, read and checked here.

    Raises:
        InputError: one line naming the file, the field and what is wrong.
    """
    data = read_toml(path)
    network = data.get("network")
    if isinstance(network, dict):
        for key in DATA_FILE_FIELDS:
            if isinstance(network.get(key), str) and network[key]:
                network[key] = str((Path(path).parent / network[key]).resolve())
    if overrides:
        data = apply_overrides(data, overrides, origin=origin)
    scenario = scenario_from_dict(data, origin=str(path))
    check_data_files(scenario, origin=str(path))
    return scenario


def check_data_files(scenario: Scenario, origin: str = "<scenario>") -> None:
    """Read and check the councils and graph files a scenario names (see :mod:`sim.core.network`).

    Relative paths are made absolute (against the working directory), and
    ``network.councils`` is set to the number of councils in the file.

    Raises:
        InputError: ``origin: network.<field>: <file>: <line>: what is wrong``.
    """
    net = scenario.network
    for key in DATA_FILE_FIELDS:
        if getattr(net, key):
            setattr(net, key, str(Path(getattr(net, key)).resolve()))
    if not net.councils_file:
        return
    # imported here: sim.core.network loads networkx and pandas, which a scenario without data
    # files never needs
    from sim.core.network import load_councils, load_graph

    field = "network.councils_file"
    try:
        councils = load_councils(net.councils_file)
        field = "network.graph_file"
        if net.graph_file:
            load_graph(net.graph_file, list(councils["name"]))
    except InputError as err:
        raise InputError(f"{origin}: {field}: {err}") from None
    net.councils = len(councils)


def shock_field(dotted: str) -> tuple[int, str] | None:
    """``(N, field)`` for a shock's address ``shocks.N.field``; None for any other key.

    Raises:
        InputError: ``shocks.N.field: what is wrong`` (a field a shock lacks, N not a number).
    """
    parts = dotted.split(".")
    if len(parts) != 3 or parts[0] != "shocks":
        return None
    number, field = parts[1], parts[2]
    if not (number.isascii() and number.isdigit()):
        raise InputError(f"{dotted}: '{number}' is no shock number; shocks count from 0")
    if field not in Shock.model_fields:
        raise InputError(f"{dotted}: no such field; fields are {', '.join(Shock.model_fields)}")
    return int(number), field


def _set_shock_field(shocks: Any, key: str, value: Any) -> list[Any]:
    """A copy of the list of shock tables with one shock's field set (see :func:`shock_field`)."""
    n, field = shock_field(key) or (0, "")
    shocks = list(shocks) if isinstance(shocks, list) else []
    if n >= len(shocks):
        have = {0: "no shocks", 1: "1 shock (shocks.0)"}.get(
            len(shocks), f"{len(shocks)} shocks (shocks.0 to shocks.{len(shocks) - 1})"
        )
        raise InputError(f"{key}: the scenario has {have}")
    shock = shocks[n]
    shocks[n] = {**(shock if isinstance(shock, dict) else {}), field: value}
    return shocks


def apply_overrides(
    data: dict[str, Any], overrides: dict[str, Any], origin: str = "--set"
) -> dict[str, Any]:
    """Return a copy of ``data`` with each dotted key set; unknown keys are errors.

    Keys are ``section.parameter`` (or ``section__parameter``); ``shocks`` replaces the
    whole list of shocks; ``shocks.N.field`` (or ``shocks__N__field``) sets one field of the
    scenario's shock N (counted from 0, in file order).
    """
    known = known_keys(Scenario)
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for key, value in overrides.items():
        dotted = key.replace("__", ".")
        parts = dotted.split(".")
        if dotted == "shocks":  # the list of shocks is replaced whole
            out["shocks"] = value
            continue
        try:
            if shock_field(dotted) is not None:
                out["shocks"] = _set_shock_field(out.get("shocks"), dotted, value)
                continue
        except InputError as err:
            raise InputError(f"{origin}: {err}") from None
        if dotted not in known or len(parts) != 2:
            raise InputError(
                f"{origin}: {quote(key, 60)} names no parameter{suggest(dotted, known)}"
            )
        section = out.setdefault(parts[0], {})
        if not isinstance(section, dict):
            raise InputError(f"{origin}: [{parts[0]}] must be a table")
        section[parts[1]] = value
    return out
