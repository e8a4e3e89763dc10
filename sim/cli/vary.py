"""``commsim sweep SCENARIO --vary KEY=LOW:HIGH:N ...``: the experiment a sweep without a file
runs, built from the options, validated as a file would be and saved beside the results."""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
from pathlib import Path
from typing import Any

from sim.cli.common import folder_name, parse_set_options
from sim.inputs import InputError, clip


def is_scenario_file(path: str) -> bool:
    """Whether ``path`` is a scenario: a TOML file with no ``[experiment]`` table, or the name
    of a ready scenario (``baseline``)."""
    from sim.examples import scenario_names
    from sim.inputs import read_toml

    if not Path(path).exists() and not path.endswith(".toml"):
        return path in scenario_names()
    return Path(path).is_file() and "experiment" not in read_toml(path)


def _number(text: str, option: str) -> int | float:
    """One finite number of a ``--vary`` range, an integer where it is written as one."""
    try:
        value: int | float = int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            raise InputError(f"{option}: {clip(text, 20)!r} is not a number") from None
    if not math.isfinite(value):
        raise InputError(f"{option}: {clip(text, 20)!r} is not a finite number")
    return value


def parse_vary(text: str, design: str) -> tuple[str, Any]:
    """A ``--vary`` option as the experiment file's ``[parameters]`` entry: for a grid,
    ``KEY=LOW:HIGH:N`` gives N evenly spaced values (whole numbers where LOW, HIGH and the
    step are); for a sampled design, ``KEY=LOW:HIGH`` gives the bounds ``{min, max}``."""
    option = f"--vary {clip(text, 60)}"
    form = "KEY=LOW:HIGH:N" if design == "grid" else "KEY=LOW:HIGH"
    key, sep, spec = (part.strip() for part in text.partition("="))
    parts = spec.split(":")
    if not sep or not key or len(parts) != (3 if design == "grid" else 2):
        raise InputError(f"{option}: expected {form} (design {design})")
    low, high = (_number(p.strip(), option) for p in parts[:2])
    if not low < high:
        raise InputError(f"{option}: LOW must be below HIGH")
    if design != "grid":
        return key, {"min": float(low), "max": float(high)}
    if not parts[2].strip().isdigit() or not 2 <= int(parts[2]) <= 1000:
        raise InputError(f"{option}: N must be a whole number from 2 to 1000")
    n = int(parts[2])
    if isinstance(low, int) and isinstance(high, int) and (high - low) % (n - 1) == 0:
        return key, [low + i * (high - low) // (n - 1) for i in range(n)]
    # 12 significant digits: 0.3, not 0.30000000000000004, in the file and the results
    return key, [float(f"{low + i * (high - low) / (n - 1):.12g}") for i in range(n)]


def _toml_value(value: Any) -> str:
    """A number, string, list or table of them as TOML (JSON's spelling is TOML's here)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value)


def _path_from(folder: Path, path: Path) -> str:
    """``path`` as the file in ``folder`` should name it: relative when it lies below
    ``folder``'s parent (a project folder that moves as a whole), else absolute."""
    relative = os.path.relpath(path.resolve(), folder.resolve())
    climbs_twice = relative.startswith(os.path.join(os.pardir, os.pardir))
    return str(path.resolve()) if climbs_twice else relative


def varied_experiment(args: argparse.Namespace) -> tuple[Any, Path, Path]:
    """Build the experiment that ``commsim sweep SCENARIO --vary ...`` describes, validate it
    as a file would be, and save it beside the results (``OUT.experiment.toml``), where
    ``--resume`` and ``replay`` find it again.

    Returns:
        The experiment, its saved file and the sweep folder.

    Raises:
        InputError: a bad ``--vary``; a file of that name describing another sweep.
    """
    from sim.examples import resolve_scenario_arg
    from sim.experiments.experiment import load_experiment

    design = args.design or "grid"
    if args.samples is not None and design == "grid":
        raise InputError("--samples: goes with --design lhs, sobol or morris, not grid")
    scenario = Path(resolve_scenario_arg(args.experiment))
    if not is_scenario_file(str(scenario)):
        raise InputError(f"{args.experiment}: --vary sweeps a scenario file, not an experiment")
    parameters = dict(parse_vary(text, design) for text in args.vary)
    if len(parameters) != len(args.vary):
        raise InputError("--vary: a parameter is given twice")
    name = folder_name(f"{scenario.stem}_sweep")
    out = Path(args.out) if args.out else Path("results") / name
    saved = out.parent / f"{out.name}.experiment.toml"
    meta = {
        "name": name,
        "description": f"{scenario.stem}, varying {', '.join(parameters)}",
        "scenario": _path_from(out.parent, scenario),
        "replications": args.replications if args.replications is not None else 10,
        "design": design,
    }
    if args.samples is not None:
        meta["samples"] = args.samples
    given = " ".join(shlex.quote(v) for v in args.vary)
    lines = [f"# Built by commsim sweep {shlex.quote(args.experiment)} --vary {given}", ""]
    lines += ["[experiment]", *(f"{k} = {_toml_value(v)}" for k, v in meta.items()), ""]
    lines += [
        "[parameters]",
        *(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in parameters.items()),
    ]
    text = "\n".join(lines) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    trial = saved.with_name(f".{saved.name}.{os.getpid()}")  # beside it: same relative paths
    trial.write_text(text, encoding="utf-8")
    try:
        experiment = load_experiment(trial, overrides=parse_set_options(args.set))
        if saved.is_file() and saved.read_text(encoding="utf-8") != text:
            raise InputError(
                f"--out {out}: {saved} describes another sweep; choose another --out "
                f"(or resume that one with: commsim sweep {saved} --out {out} --resume)"
            )
        os.replace(trial, saved)
        # loaded again from where it now lies: the sweep records (and resume checks) its path
        experiment = load_experiment(saved, overrides=parse_set_options(args.set))
    except InputError as err:  # the file is ours: name the options it was built from
        raise InputError(str(err).replace(str(trial), "--vary", 1)) from None
    finally:
        trial.unlink(missing_ok=True)
    return experiment, saved, out
