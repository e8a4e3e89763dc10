"""``commsim``: run, validate, and the other subcommands.

Every kind of bad input ends the same way: one line on stderr naming the file, the field and
what is wrong, exit status 2, no traceback, and nothing written.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shlex
import shutil
import signal
import socket
import sys
import tempfile
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from sim.inputs import InputError, clip, quote

# Each command imports what it uses inside its function: `commsim --help` loads no NumPy or
# pydantic, `validate` and `params` no model, `run` no Mesa, pandas or pyplot.

__all__ = ["main", "parse_set_option", "staged_output"]

EXIT_BAD_INPUT = 2
EXIT_WRITE_FAILED = 1


class OutputError(Exception):
    """The output could not be written (disk full, read-only, ...); nothing was left behind."""


#: The extra that installs each optional top-level module (see pyproject.toml).
EXTRAS = {
    "solara": "dashboard",
    "solara_assets": "dashboard",
    "ipyvue": "dashboard",
    "ipyvuetify": "dashboard",
    "altair": "dashboard",
    "dask": "cluster",
    "distributed": "cluster",
    "dask_jobqueue": "cluster",
    "ema_workbench": "ema",
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see '{self.prog} --help')\n")


@contextmanager
def staged_output(out: Path, force: bool = False) -> Iterator[Path]:
    """Write into a hidden temporary folder; move the files into ``out`` (creating it and
    its parents) only when the block succeeds, so a failure leaves nothing half-written.

    Raises:
        InputError: ``out`` is a file, is not empty (unless ``force``), or cannot be created.
        OutputError: writing failed (a full disk, say); nothing was moved into ``out``.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a directory")
    if not force and out.is_dir() and any(out.iterdir()):
        raise InputError(
            f"--out {out}: is not empty; give another --out, or --force to write into it "
            "(files of the same names are replaced)"
        )
    anchor = out.resolve().parent
    while not anchor.exists():  # the temporary folder must be on the same file system
        anchor = anchor.parent
    if not os.access(anchor, os.W_OK):
        raise InputError(f"--out {out}: {anchor} is not writable")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=anchor))
    except OSError as err:
        raise InputError(f"--out {out}: cannot be created ({err.strerror})") from None
    try:
        yield tmp
        out.mkdir(parents=True, exist_ok=True)
        for item in tmp.iterdir():
            os.replace(item, out / item.name)
    except OSError as err:
        name = Path(err.filename).name if err.filename else str(out)
        raise OutputError(
            f"--out {out}: cannot write {name} ({err.strerror}); nothing was written"
        ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def folder_name(name: str) -> str:
    """A scenario's name as one folder name that stays inside its parent: characters other
    than letters, digits, ``_``, ``.`` and ``-`` become ``_``, and no leading ``.`` or
    ``-`` (so ``..`` cannot climb out of ``results/``)."""
    safe = re.sub(r"[^\w.-]+", "_", name).lstrip(".-")
    return safe[:100] or "scenario"


def check_run_cost(scenario: Any, force: bool) -> None:
    """Print the estimated cost of a big run; refuse one above the ceiling unless forced."""
    from sim.scenario.cost import MAX_RUN_MEMORY_MB, WARN_RUN_MEMORY_MB, WARN_RUN_SECONDS, run_cost

    cost = run_cost(scenario)
    if cost.memory_mb > MAX_RUN_MEMORY_MB and not force:
        raise InputError(
            f"{quote(scenario.scenario.name, 40)}: {cost.describe()}; above the "
            f"{MAX_RUN_MEMORY_MB / 1000:g} GB ceiling: --force runs it anyway (docs/security.md)"
        )
    if cost.memory_mb > WARN_RUN_MEMORY_MB or cost.seconds > WARN_RUN_SECONDS:
        print(f"estimate: {cost.describe()}", file=sys.stderr, flush=True)


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

    from sim.core.outcomes import REPORTERS

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
    """Run one scenario; write timeseries.csv, summary.json and overview.png.

    Imports only what one run needs: the model's engine (no Mesa, pandas, networkx or SciPy),
    and matplotlib's object API for the overview (no pyplot).
    """
    from sim.examples import resolve_scenario_arg
    from sim.scenario import load_scenario

    overrides = _overrides(args.set)
    if args.seed is not None:
        overrides["scenario.seed"] = args.seed
    scenario = load_scenario(resolve_scenario_arg(args.scenario), overrides)
    check_run_cost(scenario, args.force)
    out = Path(args.out) if args.out else Path("results") / folder_name(scenario.scenario.name)
    meta = scenario.scenario
    with staged_output(out, force=args.force) as tmp:
        # loaded once the output folder is known to be usable: a refusal is quick
        from sim.core.engine import Simulation
        from sim.core.outcomes import run_report
        from sim.report.plots import overview_figure

        model = Simulation(scenario, rng=meta.seed)
        for _ in _quarters(scenario, bool(args.quiet)):
            model.step()
        series = model.series()
        summary = run_report(model)
        write_series_csv(series, tmp / "timeseries.csv")
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        title = f"{meta.name}: {meta.description}".rstrip(": ")
        overview_figure(series, title, model.shock_log, tmp / "overview.png")
    outcomes = summary["outcomes"]
    print(
        f"{meta.name}: resilience {outcomes['resilience']:.3f}, "
        f"final private share {outcomes['final_share_outsourcer']:.1%}, "
        f"mutual share {outcomes['final_share_mutual']:.1%}, "
        f"local share of spend {outcomes['mean_local_share']:.1%}"
    )
    print(f"report: {out}/overview.png (data: {out}/timeseries.csv, {out}/summary.json)")
    return 0


# ----------------------------------------------------------------------------- validate


def validate_file(path: str) -> str:
    """Check a scenario or experiment file without running it; returns what it is."""
    from sim.examples import resolve_scenario_arg
    from sim.inputs import read_toml
    from sim.scenario import load_scenario

    path = resolve_scenario_arg(path)
    data = read_toml(path)
    if "experiment" in data:
        from sim.experiments.experiment import load_experiment

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
    from sim.scenario import parameter_markdown

    print(parameter_markdown())
    return 0


# ----------------------------------------------------------------------------- dashboard


#: How long a closed tab's session is kept before its memory is freed.
CULL_TIMEOUT = "15s"


def dashboard_command(
    scenario: str | None, host: str, port: int
) -> tuple[list[str], dict[str, str]]:
    """The ``solara run`` command line and environment that serve the dashboard offline.

    Solara's JavaScript and CSS come from the installed ``solara-assets`` through its local
    ``/_solara/cdn`` route; telemetry and the version check (both reach the internet) are off.
    """
    from sim.dashboard.app import SCENARIO_ENV

    env = dict(os.environ)
    env |= {
        "SOLARA_ASSETS_PROXY": "True",
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "SOLARA_THEME_SHOW_BANNER": "False",
        # A closed tab's session (its model, its page) is dropped this long after it closed,
        # not after Solara's default of a day: a class of 30 opening and closing tabs.
        "SOLARA_KERNEL_CULL_TIMEOUT": CULL_TIMEOUT,
    }
    # Each thread that serves a tab would get its own malloc arena, which keeps its memory
    # after the tab's session is freed: two arenas hand it back (measured in performance.md).
    env.setdefault("MALLOC_ARENA_MAX", "2")
    env.pop(SCENARIO_ENV, None)
    if scenario:
        env[SCENARIO_ENV] = str(Path(scenario).resolve())
    argv = [
        sys.executable,
        "-m",
        "solara",
        "run",
        "sim.dashboard.app",
        "--host",
        host,
        "--port",
        str(port),
    ]
    argv += ["--production", "--no-open", "--no-check-version", "--log-level", "warning"]
    return argv, env


def reachable_address(host: str) -> str:
    """The address to give students for ``host``: for 0.0.0.0 (every interface) this
    machine's address on its network, found without sending anything; else ``host``."""
    if host not in ("0.0.0.0", "::", ""):
        return host
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # a UDP "connect" only picks the route
            return s.getsockname()[0]
        except OSError:
            return socket.gethostbyname(socket.gethostname())


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Validate the scenario, print the address, then become the dashboard's server."""
    from sim.scenario import load_scenario

    if args.scenario:
        load_scenario(args.scenario)  # bad input: one line, exit 2, before any server starts
    argv, env = dashboard_command(args.scenario, args.host, args.port)
    print(f"Dashboard: http://{reachable_address(args.host)}:{args.port}", flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            "Warning: anyone on this network can open this address and drive the dashboard.",
            flush=True,
        )
    print("Ctrl-C stops it.", flush=True)
    os.execve(argv[0], argv, env)
    return 0  # not reached: the server process replaces this one


def port_number(text: str) -> int:
    """A TCP port, 1 to 65535 (an argparse type: anything else is a usage error, exit 2)."""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{clip(text, 12)!r} is not a port (1 to 65535)")
    return int(text)


def add_dashboard_parser(sub: Any) -> None:
    """The ``commsim dashboard`` subcommand."""
    dash = sub.add_parser("dashboard", help="the classroom dashboard in the browser (offline)")
    dash.add_argument("scenario", nargs="?", help="scenario file (TOML); default: the defaults")
    dash.add_argument("--port", type=port_number, default=8521, help="port (default 8521)")
    dash.add_argument(
        "--host",
        default="127.0.0.1",
        help="address (default 127.0.0.1: this machine only; 0.0.0.0: anyone on the network)",
    )
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

    from sim.experiments.executors import make_executor
    from sim.experiments.experiment import load_experiment
    from sim.experiments.store import error_reason, prepare_sweep_dir, sweep_lock
    from sim.experiments.sweep import run_sweep

    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers {args.workers}: must be at least 1")
    if args.scheduler is not None:
        check_scheduler(args.scheduler)
    experiment = load_experiment(
        args.experiment, replications=args.replications, overrides=_overrides(args.set)
    )
    out = Path(args.out) if args.out else Path("results") / experiment.meta.name
    changes = "".join(f" --set {shlex.quote(s)}" for s in args.set or [])
    if args.replications is not None:
        changes += f" --replications {args.replications}"
    resume = (
        f"commsim sweep {shlex.quote(args.experiment)} --out {shlex.quote(str(out))}"
        f"{changes} --resume"
    )

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


def check_scheduler(address: str) -> None:
    """Refuse a Dask scheduler address commsim cannot use: only plain ``tcp://host:port``
    (or ``host:port``). TLS needs certificates and keys commsim does not configure; a
    scheduler belongs on a trusted network (docs/security.md)."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    host, colon, port = rest.rpartition(":")
    if scheme != "tcp":
        raise InputError(
            f"--scheduler {clip(address, 60)}: only tcp:// schedulers are supported, on a "
            "trusted network (docs/security.md)"
        )
    if not (colon and host and port.isdigit() and 1 <= int(port) <= 65535):
        raise InputError(f"--scheduler {clip(address, 60)}: expected tcp://HOST:PORT")


def cmd_replay(args: argparse.Namespace) -> int:
    """Run one run of a sweep again; exit 0 if its outcomes match, 1 if they differ."""
    from sim.experiments.sweep import replay_run

    recorded, new, differ = replay_run(Path(args.dir), args.run_id)
    if not differ:
        print(
            f"run {args.run_id} matches: seed {new['seed']}, "
            f"resilience {new['resilience']}, error {new['error']}"
        )
        return 0
    for name in differ:
        print(f"{name}: recorded {recorded.get(name)!r}, replayed {new.get(name)!r}")
    print(f"run {args.run_id} differs in {len(differ)} outcome(s): {', '.join(differ)}")
    return 1


def cmd_export(args: argparse.Namespace) -> int:
    """Write a sweep's runs, time series and column dictionary as CSV."""
    from sim.experiments.export import export_csv

    for path in export_csv(Path(args.dir), Path(args.out) if args.out else None):
        print(path)
    return 0


def _precision(text: str) -> Any:
    """``--precision`` as argparse reads it: a bad value is a one-line usage error."""
    from sim.experiments.stats import parse_precision

    try:
        return parse_precision(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def cmd_analyze(args: argparse.Namespace) -> int:
    """Summarise a sweep: CIs per design point, sensitivity indices, figures; with
    ``--precision``, the replications each outcome needs."""
    import pandas as pd

    from sim.experiments.analysis import analyze_sweep

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
    from sim.examples import resolve_scenario_arg
    from sim.experiments.analysis import compare_scenarios
    from sim.scenario import load_scenario

    if args.replications < 2:
        raise InputError(f"--replications {args.replications}: must be at least 2")
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers {args.workers}: must be at least 1")
    a = load_scenario(
        resolve_scenario_arg(args.a), {**_overrides(args.set), **_overrides(args.set_a)}
    )
    b_path = args.b or args.a
    b = load_scenario(
        resolve_scenario_arg(b_path), {**_overrides(args.set), **_overrides(args.set_b)}
    )
    if args.b is None and not (args.set_a or args.set_b):
        raise InputError("give a second scenario file, or --set-a / --set-b changes to compare")
    label_a = Path(args.a).stem + "".join(f" {s}" for s in args.set_a or [])
    label_b = Path(b_path).stem + "".join(f" {s}" for s in args.set_b or [])
    default = f"compare_{Path(args.a).stem}_vs_{Path(b_path).stem}"
    out = Path(args.out) if args.out else Path("results") / default
    if args.out is None:
        out.parent.mkdir(exist_ok=True)
    with staged_output(out, force=args.force) as tmp:
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
    sweep.add_argument(
        "--replications", type=int, help="runs per design point (replaces the file's)"
    )
    sweep.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="hold a parameter fixed, as in [fixed] (recorded in the manifest)",
    )
    sweep.set_defaults(func=cmd_sweep)

    replay = sub.add_parser("replay", help="run one run of a sweep again and check it matches")
    replay.add_argument("dir", help="a sweep directory (written by commsim sweep)")
    replay.add_argument("run_id", type=int, help="the run's run_id in runs.parquet")
    replay.set_defaults(func=cmd_replay)

    export = sub.add_parser("export", help="a sweep's results as CSV (runs, time series)")
    export.add_argument("dir", help="a sweep directory (written by commsim sweep)")
    export.add_argument("--out", help="folder for the CSV files (default: DIR/csv)")
    export.set_defaults(func=cmd_export)

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
    compare.add_argument("--force", action="store_true", help="write into a non-empty --out")
    compare.set_defaults(func=cmd_compare)


# ----------------------------------------------------------------------------- examples


def cmd_examples(args: argparse.Namespace) -> int:
    """Copy the ready scenarios, experiments and data into a folder to edit."""
    from sim.examples import copy_examples

    for folder in copy_examples(args.dir, force=args.force):
        print(folder)
    print(f"next: commsim run {args.dir}/scenarios/baseline.toml")
    return 0


# ----------------------------------------------------------------------------- main


class _Version(argparse.Action):
    """``--version``: the version and the commit it was built from, looked up only if asked."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> NoReturn:
        from sim.version import build_commit, package_version

        commit = build_commit()
        print(f"commsim {package_version()}" + (f" (commit {commit})" if commit else ""))
        parser.exit(0)


def _add_verbosity(parser: argparse.ArgumentParser) -> None:
    # `sweep` had its own --quiet (no progress bar); this one replaces it with the same dest.
    parser.conflict_handler = "resolve"
    group = parser.add_argument_group("output")
    group.add_argument(
        "-v", "--verbose", action="count", default=0, help="say more (-vv: debugging detail)"
    )
    group.add_argument(
        "-q", "--quiet", action="count", default=0, help="only errors; no progress bars"
    )


def _configure_logging(args: argparse.Namespace) -> None:
    level = logging.WARNING + 10 * (int(args.quiet) - args.verbose)
    logging.basicConfig(
        level=max(logging.DEBUG, min(level, logging.ERROR)),
        format="%(levelname)s %(name)s: %(message)s",
    )


def _missing_extra(err: ModuleNotFoundError) -> str | None:
    """The extra to install for a module that is not there; None if it is no extra's."""
    return EXTRAS.get((err.name or "").split(".")[0])


def build_parser() -> argparse.ArgumentParser:
    """The ``commsim`` argument parser with every subcommand."""
    parser = _Parser(prog="commsim", description="Simulate public-service commissioning markets.")
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run one scenario and write its report")
    run.add_argument(
        "scenario", help="scenario file (TOML), or the name of a ready one, e.g. baseline"
    )
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
    run.add_argument(
        "--force",
        action="store_true",
        help="write into a non-empty --out, and run above the memory ceiling",
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

    examples = sub.add_parser(
        "examples", help="copy the ready scenarios, experiments and data into a folder to edit"
    )
    examples.add_argument(
        "dir", nargs="?", default="commsim-examples", help="folder (default commsim-examples)"
    )
    examples.add_argument("--force", action="store_true", help="overwrite files already there")
    examples.set_defaults(func=cmd_examples)

    add_dashboard_parser(sub)
    _add_experiment_commands(sub)
    for subparser in sub.choices.values():
        _add_verbosity(subparser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``commsim``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args)
    try:
        return args.func(args)
    except InputError as err:
        print(f"commsim {args.command}: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ModuleNotFoundError as err:
        extra = _missing_extra(err)
        if extra is None:
            raise
        print(
            f"commsim {args.command}: needs {err.name}, which is not installed: "
            f"pip install 'commsim[{extra}]'",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    except OutputError as err:
        print(f"commsim {args.command}: {err}", file=sys.stderr)
        return EXIT_WRITE_FAILED
    except KeyboardInterrupt:
        print("commsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `commsim params | head`: the reader has gone, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
