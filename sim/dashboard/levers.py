"""The levers a class moves, made from the scenario schema (labels, units, ranges), and the
scenario files the picker offers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import annotated_types

from sim.scenario import Scenario, load_scenario

__all__ = [
    "AT_START",
    "LEVERS",
    "Lever",
    "fit_levers",
    "lever_values",
    "levers",
    "read_levers",
    "scenario_files",
    "unapplied",
]

#: The main levers a class moves, as dotted scenario keys, with a classroom maximum where the
#: schema's own range is wider than a slider can use (None: the schema's maximum).
LEVERS: dict[str, float | None] = {
    "commissioning.social_value_weight": 0.5,  # with local_preference: their sum must stay <= 1
    "commissioning.local_preference": 0.5,
    "commissioning.fee_uplift": None,
    "councils.inhouse_capacity_retained": None,
    "outsourcers.count": 20,
    "mutuals.support_programme": None,
}
#: The levers that shape the market built at the start (how many firms there are): they apply
#: on Reset only. Every other lever may move during a run and applies from the next quarter.
AT_START = frozenset({"outsourcers.count"})


@dataclass(frozen=True)
class Lever:
    """One control generated from the scenario schema.

    Attributes:
        key: dotted scenario key, e.g. ``commissioning.social_value_weight``.
        label: what the control says, with the unit.
        description: the schema's description of the parameter.
        unit: the schema's unit.
        kind: ``float``, ``int`` or ``bool``.
        minimum, maximum, step: slider range (None for a checkbox).
        mid_run: it may move during a run (applied from the next quarter); else it waits
            for Reset (:data:`AT_START`).
    """

    key: str
    label: str
    description: str
    unit: str
    kind: str
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    mid_run: bool = True

    @property
    def param_name(self) -> str:
        """The keyword the model takes: ``section__field``."""
        return self.key.replace(".", "__")

    def show(self, value: Any) -> str:
        """The value as the page writes it."""
        if self.kind == "bool":
            return "yes" if value else "no"
        return f"{value:d}" if self.kind == "int" else f"{value:.2f}"

    @property
    def words(self) -> str:
        """The lever's name in a sentence, without its unit: ``social value weight``."""
        name = self.label.split(" (")[0]
        return name[0].lower() + name[1:]

    def say(self, value: Any) -> str:
        """The value as the event log writes it: a share in percent (``30%``), else as
        :meth:`show` writes it."""
        if self.kind == "float" and self.unit.startswith("share"):
            return f"{100 * value:.0f}%"
        return self.show(value)


def _bounds(metadata: list[Any]) -> tuple[float | None, float | None]:
    low = high = None
    for item in metadata:
        if isinstance(item, annotated_types.Ge | annotated_types.Gt):
            low = float(getattr(item, "ge", getattr(item, "gt", 0.0)))
        if isinstance(item, annotated_types.Le | annotated_types.Lt):
            high = float(getattr(item, "le", getattr(item, "lt", 0.0)))
    return low, high


def levers() -> list[Lever]:
    """The controls for :data:`LEVERS`, with labels, units and ranges from the schema."""
    out = []
    for key, cap in LEVERS.items():
        section, name = key.split(".")
        field = Scenario.model_fields[section].annotation.model_fields[name]
        unit = field.json_schema_extra["unit"]
        words = (
            section if name == "count" else name.replace("_", " ").replace("inhouse", "in-house")
        )
        label = f"{words.capitalize()} ({unit})"
        mid_run = key not in AT_START
        if field.annotation is bool:
            out.append(Lever(key, label, field.description, unit, "bool", mid_run=mid_run))
            continue
        low, high = _bounds(field.metadata)
        high = min(x for x in (high, cap) if x is not None)
        if field.annotation is int:
            out.append(
                Lever(key, label, field.description, unit, "int", int(low or 0), int(high), 1,
                      mid_run)
            )  # fmt: skip
        else:
            out.append(
                Lever(key, label, field.description, unit, "float", low, high, 0.01, mid_run)
            )
    return out


def fit_levers(values: dict[str, Any]) -> dict[str, Any]:
    """The levers' values as a model can take them: two sliders may ask for social value
    weight + local preference above 1, which the schema forbids; local preference then gets
    what is left. Keys dotted (``commissioning.social_value_weight``) or as the model takes
    them (``commissioning__social_value_weight``)."""
    out = dict(values)
    for sep in (".", "__"):
        social, local = (
            f"commissioning{sep}social_value_weight",
            f"commissioning{sep}local_preference",
        )
        if social in out and local in out:
            out[local] = min(out[local], max(1.0 - out[social], 0.0))
    return out


def lever_values(scenario_file: str | None) -> dict[str, Any]:
    """The levers' values in a scenario file (the defaults for None), by dotted key."""
    return read_levers(load_scenario(scenario_file) if scenario_file else Scenario())


def read_levers(settings: Any) -> dict[str, Any]:
    """The levers' values in a scenario or a model's parameters (same sections), by dotted
    key."""
    return {key: getattr(getattr(settings, key.split(".")[0]), key.split(".")[1]) for key in LEVERS}


def unapplied(chosen: dict[str, Any], running: dict[str, Any]) -> set[str]:
    """The levers whose slider differs from the value the running model uses."""
    out = set()
    for key, value in chosen.items():
        now = running[key]
        same = value == now if isinstance(now, bool | int) else abs(value - now) < 1e-9
        if not same:
            out.add(key)
    return out


def scenario_files(extra: str | None = None) -> dict[str, str]:
    """The scenario files the picker offers, name -> path: every ready scenario (packaged in
    the wheel, or ``scenarios/*.toml`` in a checkout), plus ``extra`` (the file the dashboard
    started with) wherever it is. The picker shows names only, never where the server keeps
    a file: ``extra`` named like a ready scenario is called "NAME (started with)"."""
    from sim.examples import examples_root

    files = {p.name: str(p) for p in sorted((examples_root() / "scenarios").glob("*.toml"))}
    if extra and str(Path(extra).resolve()) not in files.values():
        name = Path(extra).name
        files[f"{name} (started with)" if name in files else name] = str(Path(extra).resolve())
    return files
