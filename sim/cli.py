"""``commsim``: run, validate, and the other subcommands.

Every kind of bad input ends the same way: one line on stderr naming the file, the field and
what is wrong, exit status 2, no traceback, and nothing written.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from sim.inputs import InputError, read_toml
from sim.scenario import load_scenario, parameter_markdown

__all__ = ["main", "parse_set_option", "staged_output"]

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see '{self.prog} --help')\n")


@contextmanager
def staged_output(out: Path) -> Iterator[Path]:
    """Write into a hidden temporary folder; move the files into ``out`` (creating it and
    its parents) only when the block succeeds, so a failure leaves nothing half-written."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a directory")
    anchor = out.resolve().parent
    while not anchor.exists():  # the temporary folder must be on the same file system
        anchor = anchor.parent
    if not os.access(anchor, os.W_OK):
        raise InputError(f"--out {out}: {anchor} is not writable")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=anchor))
    try:
        yield tmp
        out.mkdir(parents=True, exist_ok=True)
        for item in tmp.iterdir():
            os.replace(item, out / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def parse_set_option(text: str) -> tuple[str, Any]:
    """Parse a ``--set key.path=value`` option; the value is read as TOML, else as a string."""
    if "=" not in text:
        raise InputError(f"--set {text}: expected key.path=value")
    key, raw = (s.strip() for s in text.split("=", 1))
    if not key:
        raise InputError(f"--set {text}: the key is empty")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def _overrides(items: Sequence[str] | None) -> dict[str, Any]:
    return dict(parse_set_option(text) for text in items or [])


# ----------------------------------------------------------------------------- run


def cmd_run(args: argparse.Namespace) -> int:
    """Run one scenario; write timeseries.csv, summary.json and overview.png."""
    overrides = _overrides(args.set)
    if args.seed is not None:
        overrides["scenario.seed"] = args.seed
    scenario = load_scenario(args.scenario, overrides)
    from tqdm import tqdm

    from sim.model import CommissioningModel
    from sim.outcomes import run_report
    from sim.plots import overview_figure

    out = (
        Path(args.out)
        if args.out
        else Path("results") / re.sub(r"[^\w.-]+", "_", scenario.scenario.name)
    )
    with staged_output(out) as tmp:
        model = CommissioningModel(scenario)
        for _ in tqdm(
            range(scenario.scenario.quarters),
            desc=scenario.scenario.name,
            unit="quarter",
            disable=None,
            leave=False,
        ):
            model.step()
        ts = model.timeseries()
        ts.to_csv(tmp / "timeseries.csv", index=False, float_format="%.10g")
        summary = run_report(model)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        overview_figure(
            ts,
            f"{scenario.scenario.name}: {scenario.scenario.description}".rstrip(": "),
            model.shock_log,
            tmp / "overview.png",
        )
    outcomes = summary["outcomes"]
    print(
        f"{scenario.scenario.name}: resilience {outcomes['resilience']:.3f}, "
        f"final private share {outcomes['final_share_outsourcer']:.1%}, "
        f"mutual share {outcomes['final_share_mutual']:.1%}, "
        f"local share of spend {outcomes['mean_local_share']:.1%}"
    )
    print(f"report: {out}/overview.png (data: {out}/timeseries.csv, {out}/summary.json)")
    return 0


# ----------------------------------------------------------------------------- validate


def validate_file(path: str) -> str:
    """Check a scenario or experiment file without running it; returns what it is."""
    data = read_toml(path)
    if "experiment" in data:
        from sim.experiment import load_experiment

        load_experiment(path)
        return "experiment"
    load_scenario(path)
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
    """Print every parameter with its default, unit, range and source."""
    print(parameter_markdown())
    return 0


# ----------------------------------------------------------------------------- dashboard


def dashboard_command(
    scenario: str | None, host: str, port: int
) -> tuple[list[str], dict[str, str]]:
    """The ``solara run`` command line and environment that serve the dashboard offline.

    Solara's JavaScript and CSS come from the installed ``solara-assets`` through its local
    ``/_solara/cdn`` route; telemetry and the version check (both reach the internet) are off.
    """
    from sim.app import SCENARIO_ENV

    env = dict(os.environ)
    env |= {
        "SOLARA_ASSETS_PROXY": "True",
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "SOLARA_THEME_SHOW_BANNER": "False",
    }
    env.pop(SCENARIO_ENV, None)
    if scenario:
        env[SCENARIO_ENV] = str(Path(scenario).resolve())
    argv = [sys.executable, "-m", "solara", "run", "sim.app", "--host", host, "--port", str(port)]
    argv += ["--production", "--no-open", "--no-check-version", "--log-level", "warning"]
    return argv, env


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Validate the scenario, print the address, then become the dashboard's server."""
    if args.scenario:
        load_scenario(args.scenario)  # bad input: one line, exit 2, before any server starts
    argv, env = dashboard_command(args.scenario, args.host, args.port)
    print(f"Dashboard: http://{args.host}:{args.port}", flush=True)
    print("Ctrl-C stops it.", flush=True)
    os.execve(argv[0], argv, env)
    return 0  # not reached: the server process replaces this one


def add_dashboard_parser(sub: Any) -> None:
    """The ``commsim dashboard`` subcommand."""
    dash = sub.add_parser("dashboard", help="the classroom dashboard in the browser (offline)")
    dash.add_argument("scenario", nargs="?", help="scenario file (TOML); default: the defaults")
    dash.add_argument("--port", type=int, default=8521, help="port (default 8521)")
    dash.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    dash.set_defaults(func=cmd_dashboard)


# ----------------------------------------------------------------------------- experiments


class _Stopped(BaseException):
    """SIGTERM or SIGINT arrived during a sweep (a BaseException: run code catching Exception
    must not swallow it)."""


class _StopOnSignals:
    """While active, the first SIGTERM or SIGINT raises :class:`_Stopped` (if armed) and later
    ones are ignored, so the clean-up that follows is never cut short by a second Ctrl-C."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.signum: int | None = None
        self.armed = True

    def _handle(self, signum: int, frame: object) -> None:
        if self.signum is not None:
            return
        self.signum = signum
        for sig in self.SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        if self.armed:
            raise _Stopped

    @contextmanager
    def active(self) -> Iterator[_StopOnSignals]:
        """Install the handlers for the block; restore the previous ones after it."""
        previous = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run an experiment file's sweep, streaming runs.parquet, timeseries/ and manifest.json.

    SIGTERM and SIGINT stop the workers, keep what finished and exit 143 / 130 with one line
    saying how to resume; a write that fails part-way (full or read-only disk) is one line and
    exit 1, with the parts already written left whole.
    """
    from concurrent.futures.process import BrokenProcessPool

    from sim.executors import make_executor
    from sim.experiment import load_experiment
    from sim.store import error_reason, prepare_sweep_dir, sweep_lock
    from sim.sweep import run_sweep

    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers {args.workers}: must be at least 1")
    experiment = load_experiment(args.experiment)
    out = Path(args.out) if args.out else Path("results") / experiment.meta.name
    resume = f"commsim sweep {shlex.quote(args.experiment)} --out {shlex.quote(str(out))} --resume"

    def note(message: str) -> None:
        print(f"commsim sweep: {message}", file=sys.stderr, flush=True)

    prepare_sweep_dir(out, resume=args.resume, experiment_sha256=experiment.sha256)
    report = None
    stop = _StopOnSignals()
    try:
        with stop.active():
            # the executor first: an unreachable scheduler then leaves --out untouched
            executor = make_executor(args.workers, args.scheduler)
            try:
                with sweep_lock(out, note):
                    try:
                        report = run_sweep(
                            experiment,
                            out,
                            executor,
                            resume=args.resume,
                            progress=False if args.quiet else None,
                            notify=note,
                        )
                    finally:
                        stop.armed = False
            finally:
                if report is None:
                    executor.abort()
                else:
                    executor.close()
    except (_Stopped, BrokenProcessPool, OSError) as err:
        if report is None and stop.signum is not None:
            name = signal.Signals(stop.signum).name
            note(f"stopped by {name}; the finished runs are kept in {out}; continue with: {resume}")
            return 128 + stop.signum
        if isinstance(err, BrokenProcessPool):
            note(
                f"a worker process died (out of memory?); the finished runs are kept in {out}; "
                f"continue with: {resume}"
            )
            return 1
        if isinstance(err, OSError):
            note(
                f"cannot write in {out} ({error_reason(err)}); the runs written are kept; "
                f"when it is writable again, continue with: {resume}"
            )
            return 1
        raise
    print(
        f"{experiment.meta.name}: {report.total} runs ({report.skipped} already done, "
        f"{report.ran} run now, {report.failed} failed) in {report.seconds:.1f} s"
    )
    print(f"results: {out}/runs.parquet, {out}/timeseries/, {out}/manifest.json")
    print(f"next: commsim analyze {out}")
    return 0


def _precision(text: str) -> Any:
    """``--precision`` as argparse reads it: a bad value is a one-line usage error."""
    from sim.stats import parse_precision

    try:
        return parse_precision(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def cmd_analyze(args: argparse.Namespace) -> int:
    """Summarise a sweep: CIs per design point, sensitivity indices, figures; with
    ``--precision``, the replications each outcome needs."""
    import pandas as pd

    from sim.analysis import analyze_sweep

    out = Path(args.dir)
    written = analyze_sweep(out, precision=args.precision)
    for path in written:
        print(path)
    if args.precision is not None:
        needed = pd.read_csv(out / "replications.csv")
        have = int(needed["runs"].max())
        print(f"replications for a 95% CI half-width of {args.precision} (most over points):")
        for outcome, n in (
            needed.groupby("outcome", sort=False)["replications_needed"].max().items()
        ):
            if pd.isna(n):
                print(f"  {outcome}: undefined (constant, missing, or a zero mean)")
            else:
                print(f"  {outcome}: {int(n)} {'(enough)' if n <= have else f'(ran {have})'}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Two scenarios on the same seeds: outcomes, paired differences with 95% CIs, a figure."""
    from sim.analysis import compare_scenarios

    if args.replications < 2:
        raise InputError(f"--replications {args.replications}: must be at least 2")
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers {args.workers}: must be at least 1")
    a = load_scenario(args.a, {**_overrides(args.set), **_overrides(args.set_a)})
    b_path = args.b or args.a
    b = load_scenario(b_path, {**_overrides(args.set), **_overrides(args.set_b)})
    if args.b is None and not (args.set_a or args.set_b):
        raise InputError("give a second scenario file, or --set-a / --set-b changes to compare")
    label_a = Path(args.a).stem + "".join(f" {s}" for s in args.set_a or [])
    label_b = Path(b_path).stem + "".join(f" {s}" for s in args.set_b or [])
    default = f"compare_{Path(args.a).stem}_vs_{Path(b_path).stem}"
    out = Path(args.out) if args.out else Path("results") / default
    if args.out is None:
        out.parent.mkdir(exist_ok=True)
    with staged_output(out) as tmp:
        table = compare_scenarios(
            a,
            b,
            labels=(label_a, label_b),
            replications=args.replications,
            seed=args.seed,
            workers=args.workers,
            out=tmp,
        )
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    noise = table[table["verdict"] == "cannot be told from noise"]
    if len(noise):
        most = noise["pairs_to_resolve"].max()
        print(
            f"{len(noise)} of {len(table)} differences cannot be told from noise: their 95% CI "
            f"is wider than the effect ({', '.join(noise['outcome'])}); resolving effects of "
            f"those sizes needs up to {most:.0f} pairs (--replications)"
        )
    print(f"table: {out}/compare.csv, figure: {out}/compare.png")
    return 0


def _add_experiment_commands(sub: Any) -> None:
    """The ``sweep``, ``analyze`` and ``compare`` subcommands (batch experiments)."""
    sweep = sub.add_parser("sweep", help="run an experiment file: many runs, streamed to Parquet")
    sweep.add_argument("experiment", help="experiment file (TOML)")
    sweep.add_argument("--out", help="output directory (default: results/<experiment name>)")
    group = sweep.add_mutually_exclusive_group()
    group.add_argument(
        "--workers",
        type=int,
        help="local worker processes (default: every core; 1 runs in this process)",
    )
    group.add_argument(
        "--scheduler", metavar="ADDRESS", help="a Dask scheduler, e.g. tcp://10.0.0.5:8786"
    )
    sweep.add_argument(
        "--resume", action="store_true", help="continue a sweep in --out, skipping finished runs"
    )
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.set_defaults(func=cmd_sweep)

    analyze = sub.add_parser("analyze", help="summarise a sweep: CIs, sensitivity, figures")
    analyze.add_argument("dir", help="a sweep directory (written by commsim sweep)")
    analyze.add_argument(
        "--precision",
        type=_precision,
        metavar="H",
        help="target 95%% CI half-width, relative (10%%) or absolute (0.01): writes "
        "replications.csv, the replications each outcome needs at each design point",
    )
    analyze.set_defaults(func=cmd_analyze)

    compare = sub.add_parser("compare", help="compare two scenarios on the same seeds")
    compare.add_argument("a", help="scenario A (TOML)")
    compare.add_argument("b", nargs="?", help="scenario B (TOML; default: A, with --set-b)")
    compare.add_argument("--replications", type=int, default=20, help="paired runs (default 20)")
    compare.add_argument("--seed", type=int, default=1, help="root seed of the pairs (default 1)")
    compare.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    compare.add_argument(
        "--out", help="directory for compare.csv and compare.png (default: results/compare_A_vs_B)"
    )
    for flag, which in (("--set", "both"), ("--set-a", "A"), ("--set-b", "B")):
        compare.add_argument(
            flag,
            action="append",
            metavar="KEY=VALUE",
            help=f"override a parameter in {which}",
        )
    compare.set_defaults(func=cmd_compare)


# ----------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    """The ``commsim`` argument parser with every subcommand."""
    parser = _Parser(prog="commsim", description="Simulate public-service commissioning markets.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run one scenario and write its report")
    run.add_argument("scenario", help="scenario file (TOML)")
    run.add_argument("--out", help="output directory (default: results/<scenario name>)")
    run.add_argument(
        "--seed", type=int, help="seed for every random draw (overrides scenario.seed)"
    )
    run.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a parameter, e.g. --set commissioning.social_value_weight=0.2",
    )
    run.set_defaults(func=cmd_run)

    val = sub.add_parser(
        "validate", help="check scenario and experiment files without running them"
    )
    val.add_argument("files", nargs="+", metavar="FILE")
    val.set_defaults(func=cmd_validate)

    params = sub.add_parser(
        "params", help="list every parameter with default, unit, range and source"
    )
    params.set_defaults(func=cmd_params)

    add_dashboard_parser(sub)
    _add_experiment_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``commsim``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except InputError as err:
        print(f"commsim {args.command}: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("commsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `commsim params | head`: the reader has gone, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
