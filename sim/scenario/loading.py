"""Loading a scenario: the TOML file, its data files' paths, and dotted-key overrides.

Every failure is an :class:`~sim.inputs.InputError`, one line naming the file, the field and
what is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.inputs import InputError, format_validation_error, quote, read_toml, suggest
from sim.scenario.schema import Scenario

__all__ = [
    "DATA_FILE_FIELDS",
    "apply_overrides",
    "check_data_files",
    "known_keys",
    "load_scenario",
    "scenario_from_dict",
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


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load and validate a scenario file, applying dotted-key overrides on top.

    Args:
        path: a TOML scenario file.
        overrides: e.g. ``{"commissioning.social_value_weight": 0.2}``.

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
        data = apply_overrides(data, overrides, origin="--set")
    scenario = scenario_from_dict(data, origin=str(path))
    check_data_files(scenario, origin=str(path))
    return scenario


def check_data_files(scenario: Scenario, origin: str = "<scenario>") -> None:
    """Read and check the councils and graph files a scenario names (see :mod:`sim.network`).

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
    # imported here: sim.network loads networkx and pandas, which a scenario without data
    # files never needs
    from sim.network import load_councils, load_graph

    field = "network.councils_file"
    try:
        councils = load_councils(net.councils_file)
        field = "network.graph_file"
        if net.graph_file:
            load_graph(net.graph_file, list(councils["name"]))
    except InputError as err:
        raise InputError(f"{origin}: {field}: {err}") from None
    net.councils = len(councils)


def apply_overrides(
    data: dict[str, Any], overrides: dict[str, Any], origin: str = "--set"
) -> dict[str, Any]:
    """Return a copy of ``data`` with each dotted key set; unknown keys are errors.

    Keys are ``section.parameter`` (or ``section__parameter``); ``shocks`` replaces the
    whole list of shocks.
    """
    known = known_keys(Scenario)
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for key, value in overrides.items():
        dotted = key.replace("__", ".")
        parts = dotted.split(".")
        if dotted == "shocks":  # the list of shocks is replaced whole
            out["shocks"] = value
            continue
        if dotted not in known or len(parts) != 2:
            raise InputError(
                f"{origin}: {quote(key, 60)} names no parameter{suggest(dotted, known)}"
            )
        section = out.setdefault(parts[0], {})
        if not isinstance(section, dict):
            raise InputError(f"{origin}: [{parts[0]}] must be a table")
        section[parts[1]] = value
    return out
