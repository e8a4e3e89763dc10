"""``commsim run`` (one scenario and its report) and ``commsim compare`` (two scenarios on the
same seeds)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sim.cli.common import (
    MAX_WORKERS,
    check_run_cost,
    first_compile,
    folder_name,
    free_folder,
    parse_set_options,
    staged_output,
)
from sim.experiments.stopping import StopOnSignals, check_stop
from sim.inputs import InputError, check_count, quote


def _quarters(scenario: Any, quiet: bool) -> Iterable[int]:
    """The quarters to step through, with a progress bar on a terminal (tqdm is imported
    only then: on a pipe, or with --quiet, there is no bar to draw)."""
    quarters = range(scenario.scenario.quarters)
    if quiet or not sys.stderr.isatty():
        return quarters
    from tqdm import tqdm

    return tqdm(quarters, desc=scenario.scenario.name, unit="quarter", leave=False)


def write_series_csv(series: Mapping[str, Any], path: Path) -> None:
    """Write ``timeseries.csv``: the ``quarter`` column and every quarterly reporter
    (:data:`sim.core.outcomes.REPORTERS`), one row per quarter; integers as integers, other numbers
    to 10 significant digits, a missing value (NaN) as an empty field."""
    import numpy as np

    from sim.core.outcome_table import REPORTERS

    names = ["quarter", *REPORTERS]
    columns = []
    for name in names:
        values = np.asarray(series[name])
        if values.dtype.kind in "iub":
            columns.append([str(v) for v in values.tolist()])
        else:
            columns.append(["" if v != v else f"{v:.10g}" for v in values.tolist()])
    lines = [",".join(names), *(",".join(row) for row in zip(*columns, strict=True))]
    path.write_text("\n".join(lines) + "\n")


def cmd_run(args: argparse.Namespace) -> int:
    """Run one scenario; write timeseries.csv (and its data dictionary), summary.json,
    overview.png and report.html.

    Imports only what one run needs: the model's engine (no Mesa, pandas, networkx or SciPy),
    and matplotlib's object API for the overview (no pyplot). SIGINT or SIGTERM stops it
    between quarters (never inside a compiled kernel) with nothing written.
    """
    from sim.examples import resolve_scenario_arg
    from sim.scenario import load_scenario

    overrides = parse_set_options(args.set)
    if args.seed is not None:
        overrides["scenario.seed"] = args.seed
    scenario = load_scenario(resolve_scenario_arg(args.scenario), overrides)
    check_run_cost(scenario, args.force)
    meta = scenario.scenario
    out = Path(args.out) if args.out else free_folder(Path("results") / folder_name(meta.name))
    if first_compile() and not args.quiet:
        print("compiling the model (first run only, about 20 s)", file=sys.stderr, flush=True)
    with staged_output(out, force=args.force) as tmp, StopOnSignals().active() as stop:
        # loaded once the output folder is known to be usable: a refusal is quick
        from sim.core.engine import Simulation
        from sim.core.outcomes import run_report
        from sim.report.run_report import (
            CouncilRecorder,
            MapRecorder,
            summary_text,
            write_run_report,
        )

        councils = CouncilRecorder()
        model = Simulation(scenario, rng=meta.seed)
        on_map = MapRecorder.of(model)  # None: no map of its own to draw
        for _ in _quarters(scenario, bool(args.quiet)):
            model.step()
            check_stop()
            if args.councils:
                councils.record(model)
            if on_map is not None and model.quarter == 1:
                on_map.record(model)  # the councils as the run starts
        series = model.series()
        summary = run_report(model)
        write_series_csv(series, tmp / "timeseries.csv")
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        maps = None
        if on_map is not None:
            on_map.record(model)  # and as it ends
            maps = on_map.maps
        write_run_report(tmp, summary, series, model.shock_log, maps)
        if args.councils:
            councils.write(tmp, model.council_table.name)
        stop.check()  # a stop while the report was written: nothing moves into --out
    changes = list(args.set or [])
    if args.seed is not None:
        changes.append(f"scenario.seed={args.seed}")
    ran = f"{meta.name} with {', '.join(changes)}" if changes else meta.name
    print(summary_text(ran, summary["outcomes"]))
    print(f"report: {out}/report.html (figure {out}/overview.png; data: {out}/timeseries.csv, "
          f"its columns in {out}/timeseries.columns.csv, {out}/summary.json)")  # fmt: skip
    return 0


def add_run_parser(sub: Any) -> None:
    """The ``commsim run`` subcommand."""
    run = sub.add_parser("run", help="run one scenario and write its report")
    run.add_argument(
        "scenario", help="scenario file (TOML), or the name of a ready one, e.g. baseline"
    )
    run.add_argument(
        "--out",
        help="output directory (default: results/<scenario name>, or the next free "
        "results/<scenario name>-2, -3, ...)",
    )
    run.add_argument(
        "--seed", type=int, help="seed for every random draw (overrides scenario.seed)"
    )
    run.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a parameter, e.g. --set commissioning.social_value_weight=0.2",
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="write into a non-empty --out, and run above the memory available",
    )
    run.add_argument(
        "--councils",
        action="store_true",
        help="also write councils.csv: each council's quarter (service, spend, shares, trust)",
    )
    run.set_defaults(func=cmd_run)


def cmd_compare(args: argparse.Namespace) -> int:
    """Two scenarios on the same seeds: outcomes, paired differences with 95% CIs, a figure."""
    from sim.examples import resolve_scenario_arg
    from sim.experiments.analysis import MAX_COMPARE_REPLICATIONS, MAX_SEED, compare_scenarios
    from sim.scenario import load_scenario
    from sim.scenario.cost import check_cost, command_cost, run_cost

    check_count("--replications", args.replications, 2, MAX_COMPARE_REPLICATIONS)
    check_count("--seed", args.seed, 0, MAX_SEED)
    if args.workers is not None:
        check_count("--workers", args.workers, 1, MAX_WORKERS)
    a = load_scenario(
        resolve_scenario_arg(args.a),
        {**parse_set_options(args.set), **parse_set_options(args.set_a)},
    )
    b_path = args.b or args.a
    b = load_scenario(
        resolve_scenario_arg(b_path),
        {**parse_set_options(args.set), **parse_set_options(args.set_b)},
    )
    if args.b is None and not (args.set_a or args.set_b):
        raise InputError("give a second scenario file, or --set-a / --set-b changes to compare")
    label_a = Path(args.a).stem + "".join(f" {s}" for s in args.set_a or [])
    label_b = Path(b_path).stem + "".join(f" {s}" for s in args.set_b or [])
    default = folder_name(f"compare_{Path(args.a).stem}_vs_{Path(b_path).stem}")
    out = Path(args.out) if args.out else free_folder(Path("results") / default)
    workers = args.workers or len(os.sched_getaffinity(0))
    biggest = max((run_cost(a), run_cost(b)), key=lambda c: c.memory_mb)
    cost = command_cost(biggest, 2 * args.replications, workers)
    check_cost(cost, force=args.force, what=f"{quote(a.scenario.name, 40)} vs B")
    if args.out is None:
        out.parent.mkdir(exist_ok=True)
    with staged_output(out, force=args.force) as tmp, StopOnSignals().active() as stop:
        table = compare_scenarios(
            a,
            b,
            labels=(label_a, label_b),
            replications=args.replications,
            seed=args.seed,
            workers=args.workers,
            out=tmp,
        )
        stop.check()  # a stop while the figure was drawn: nothing moves into --out
    from sim.report.run_report import compare_text

    print(compare_text(table))
    noise = table[table["verdict"] == "cannot be told from noise"]
    if len(noise):
        most = noise["pairs_to_resolve"].max()
        print(
            f"{len(noise)} of {len(table)} differences cannot be told from noise: their 95% CI "
            f"is wider than the effect ({', '.join(noise['outcome'])}); resolving effects of "
            f"those sizes needs up to {most:.0f} pairs (--replications)"
        )
    print(f"table: {out}/compare.csv (its columns in {out}/compare.columns.csv), "
          f"figure: {out}/compare.png")  # fmt: skip
    return 0


def add_compare_parser(sub: Any) -> None:
    """The ``commsim compare`` subcommand."""
    compare = sub.add_parser("compare", help="compare two scenarios on the same seeds")
    compare.add_argument("a", help="scenario A (TOML)")
    compare.add_argument("b", nargs="?", help="scenario B (TOML; default: A, with --set-b)")
    compare.add_argument("--replications", type=int, default=20, help="paired runs (default 20)")
    compare.add_argument("--seed", type=int, default=1, help="root seed of the pairs (default 1)")
    compare.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    compare.add_argument(
        "--out",
        help="directory for compare.csv and compare.png (default: results/compare_A_vs_B, or the next free one)",
    )
    for flag, which in (("--set", "both"), ("--set-a", "A"), ("--set-b", "B")):
        compare.add_argument(
            flag,
            action="append",
            metavar="KEY=VALUE",
            help=f"override a parameter in {which}",
        )
    compare.add_argument(
        "--force",
        action="store_true",
        help="write into a non-empty --out, and run above the memory available",
    )
    compare.set_defaults(func=cmd_compare)
