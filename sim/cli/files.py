"""``commsim validate``, ``params`` and ``examples``: the files a user reads and edits."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from typing import Any

from sim.cli.common import EXIT_BAD_INPUT
from sim.inputs import InputError


def validate_file(path: str) -> str:
    """Check a scenario or experiment file without running it; returns what it is.

    A file whose runs would not fit in the memory available (the estimate of
    :mod:`sim.scenario.cost`, a sweep's on every core) is refused as ``run`` and ``sweep``
    would refuse it; a big one has its estimate printed.
    """
    from sim.examples import resolve_scenario_arg
    from sim.inputs import clip, read_toml
    from sim.scenario import load_scenario
    from sim.scenario.cost import check_cost, run_cost

    path = resolve_scenario_arg(path)
    data = read_toml(path)
    if "experiment" in data:
        from sim.experiments.experiment import experiment_cost, load_experiment

        experiment = load_experiment(path)
        cost = experiment_cost(experiment, len(os.sched_getaffinity(0)))
        check_cost(cost, what=clip(path, 60))
        return "experiment"
    check_cost(run_cost(load_scenario(path)), what=clip(path, 60))
    return "scenario"


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate each file; report every bad one, exit 2 if any was bad."""
    bad = 0
    for path in args.files:
        try:
            kind = validate_file(path)
        except InputError as err:
            print(err, file=sys.stderr)
            bad += 1
        else:
            print(f"{path}: ok ({kind})")
    return EXIT_BAD_INPUT if bad else 0


def cmd_params(args: argparse.Namespace) -> int:
    """Print every parameter with its default, unit, range and source: a Markdown table (as
    docs/ODD.md carries it), CSV, or JSON (a list of objects) for other tools."""
    from sim.scenario import parameter_markdown
    from sim.scenario.parameters import parameter_table

    if args.format == "table":
        print(parameter_markdown())
    elif args.format == "json":
        print(json.dumps(parameter_table(), indent=2))
    else:
        rows = parameter_table()
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return 0


def ready_files() -> list[tuple[str, str, str]]:
    """The ready scenarios and experiments: (kind, name, its one-line description)."""
    from sim.examples import examples_root, experiment_names, scenario_names
    from sim.inputs import read_toml

    found = []
    for kind, folder, names in (
        ("scenario", "scenarios", scenario_names()),
        ("experiment", "experiments", experiment_names()),
    ):
        for name in names:
            data = read_toml(examples_root() / folder / f"{name}.toml")
            found.append((kind, name, str(data.get(kind, {}).get("description", ""))))
    return found


def cmd_list(args: argparse.Namespace) -> int:
    """Print the ready scenarios and experiments, one line each with its description."""
    files = ready_files()
    width = max(len(name) for _, name, _ in files)
    for kind, name, description in files:
        print(f"{kind:<10}  {name:<{width}}  {description}")
    print("run one: commsim run NAME; copy them to edit: commsim examples")
    return 0


def cmd_examples(args: argparse.Namespace) -> int:
    """Copy the ready scenarios, experiments and data into a folder to edit."""
    from sim.examples import copy_examples

    for folder in copy_examples(args.dir, force=args.force):
        print(folder)
    print(f"next: commsim run {args.dir}/scenarios/baseline.toml")
    return 0


def add_parsers(sub: Any) -> None:
    """The ``validate``, ``params`` and ``examples`` subcommands."""
    val = sub.add_parser(
        "validate", help="check scenario and experiment files without running them"
    )
    val.add_argument("files", nargs="+", metavar="FILE")
    val.set_defaults(func=cmd_validate)

    params = sub.add_parser(
        "params", help="list every parameter with default, unit, range and source"
    )
    params.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help="table (Markdown, the default), csv or json",
    )
    params.set_defaults(func=cmd_params)

    ready = sub.add_parser(
        "list", help="the ready scenarios and experiments, one line each with its description"
    )
    ready.set_defaults(func=cmd_list)

    examples = sub.add_parser(
        "examples", help="copy the ready scenarios, experiments and data into a folder to edit"
    )
    examples.add_argument(
        "dir", nargs="?", default="commsim-examples", help="folder (default commsim-examples)"
    )
    examples.add_argument("--force", action="store_true", help="overwrite files already there")
    examples.set_defaults(func=cmd_examples)
