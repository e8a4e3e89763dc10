"""``commsim sweep``, ``replay``, ``export`` and ``analyze``: many runs streamed to a sweep
folder, and what is read back from it."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.cli.common import MAX_WORKERS, first_compile, parse_set_options
from sim.cli.vary import is_scenario_file, varied_experiment
from sim.inputs import InputError, check_count, clip


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run an experiment file's sweep (or one built from a scenario and ``--vary``), streaming
    runs.parquet, timeseries/ and manifest.json.

    SIGTERM and SIGINT stop the workers, keep what finished and exit 143 / 130 with one line
    saying how to resume (a run the signal interrupted is not recorded: it runs on resume); a
    write that fails part-way (full or read-only disk) is one line and exit 1, with the parts
    already written left whole.
    """
    from concurrent.futures.process import BrokenProcessPool

    from sim.experiments.executors import make_executor
    from sim.experiments.experiment import experiment_cost, load_experiment
    from sim.experiments.stopping import StopOnSignals, Stopped
    from sim.experiments.store import SettingError, error_reason
    from sim.experiments.sweep import run_sweep
    from sim.scenario.cost import check_cost

    if args.workers is not None:
        check_count("--workers", args.workers, 1, MAX_WORKERS)
    if args.retry_failed and not args.resume:
        raise InputError("--retry-failed: only with --resume (it reruns a sweep's failed runs)")
    if args.scheduler is not None:
        check_scheduler(args.scheduler)
    if args.vary:
        experiment, experiment_file, out = varied_experiment(args)
    elif is_scenario_file(args.experiment):
        raise InputError(
            f"{args.experiment}: is a scenario, not an experiment; give --vary KEY=LOW:HIGH:N "
            "to sweep it (commsim sweep --help)"
        )
    elif args.design is not None or args.samples is not None:
        raise InputError("--design and --samples go with --vary (an experiment file has its own)")
    else:
        experiment_file = args.experiment
        experiment = load_experiment(
            experiment_file, replications=args.replications, overrides=parse_set_options(args.set)
        )
        out = Path(args.out) if args.out else Path("results") / experiment.meta.name
    if args.scheduler is None:  # a cluster's memory is the cluster's
        workers = args.workers or len(os.sched_getaffinity(0))
        cost = experiment_cost(experiment, workers)
        check_cost(cost, force=args.force, what=clip(str(experiment_file), 60))
    resume = resume_command(args, experiment_file, out)

    def say(message: str) -> None:
        print(f"commsim sweep: {message}", file=sys.stderr, flush=True)

    def note(message: str) -> None:
        if not args.quiet:
            say(message)

    if first_compile():
        note("compiling the model (first run only, about 20 s)")
    report = None
    stop = StopOnSignals()
    try:
        with stop.active():
            # the executor first: an unreachable scheduler then leaves --out untouched
            executor = make_executor(args.workers, args.scheduler)
            watch = warn_without_workers(executor, args.scheduler, note)
            try:
                report = run_sweep(
                    experiment,
                    out,
                    executor,
                    resume=args.resume,
                    retry_failed=args.retry_failed,
                    progress=False if args.quiet else None,
                    notify=note,
                )
            finally:
                if watch is not None:
                    watch.cancel()
                if report is None:
                    executor.abort()
                else:
                    executor.close()
    except SettingError as err:  # the library's words; here, the options given
        flag = {"sweep folder": "--out", "scheduler": "--scheduler"}[err.setting]
        remedy = "; pass --resume to continue the sweep in it, or choose a new --out"
        raise InputError(
            f"{flag} {err.value}: {err.problem}{remedy if err.resumable else ''}"
        ) from None
    except (Stopped, BrokenProcessPool, OSError) as err:
        if report is None and stop.signum is not None:
            name = signal.Signals(stop.signum).name
            say(f"stopped by {name}; the finished runs are kept in {out}; continue with: {resume}")
            return 128 + stop.signum
        if isinstance(err, BrokenProcessPool):
            say(
                f"a worker process died (out of memory?); the finished runs are kept in {out}; "
                f"continue with: {resume}"
            )
            return 1
        if isinstance(err, OSError):
            say(
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


def resume_command(args: argparse.Namespace, experiment_file: str | Path, out: Path) -> str:
    """The command that continues this sweep: the same file, folder, changes and scheduler."""
    changes = "".join(f" --set {shlex.quote(s)}" for s in args.set or [])
    if args.replications is not None and not args.vary:  # a built experiment has its own
        changes += f" --replications {args.replications}"
    if args.scheduler is not None:  # the runs' results are there, not on this machine's cores
        changes += f" --scheduler {shlex.quote(args.scheduler)}"
    return (
        f"commsim sweep {shlex.quote(str(experiment_file))} --out {shlex.quote(str(out))}"
        f"{changes} --resume"
    )


#: Seconds a sweep waits on a Dask scheduler with no workers before saying so.
NO_WORKERS_AFTER_SECONDS = 5.0


def warn_without_workers(
    executor: Any, scheduler: str | None, note: Callable[[str], None]
) -> threading.Timer | None:
    """Say, after a few seconds, that the scheduler still has no workers and how to add one
    (the runs wait for one silently otherwise); None for a local pool."""
    client = getattr(executor, "client", None)
    if scheduler is None or client is None:
        return None

    def check() -> None:
        try:
            idle = not client.nthreads()
        except Exception:  # the scheduler went away: the sweep itself reports that
            return
        if idle:
            note(
                f"the scheduler {scheduler} has no workers; the runs wait until one joins: "
                f"start one with: dask worker {scheduler}"
            )

    timer = threading.Timer(NO_WORKERS_AFTER_SECONDS, check)
    timer.daemon = True
    timer.start()
    return timer


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


def add_parsers(sub: Any) -> None:
    """The ``sweep``, ``replay``, ``export`` and ``analyze`` subcommands."""
    sweep = sub.add_parser(
        "sweep",
        help="run an experiment file (or a scenario with --vary): many runs, streamed to Parquet",
    )
    sweep.add_argument(
        "experiment", help="experiment file (TOML); with --vary, a scenario file or ready name"
    )
    sweep.add_argument(
        "--vary",
        action="append",
        metavar="KEY=LOW:HIGH:N",
        help="sweep a scenario without an experiment file: N values of KEY from LOW to HIGH "
        "(grid; KEY=LOW:HIGH for --design lhs/sobol/morris); repeat for more parameters. "
        "The experiment is saved as OUT.experiment.toml beside the results",
    )
    sweep.add_argument(
        "--design",
        choices=["grid", "lhs", "sobol", "morris"],
        help="with --vary: the design (default grid)",
    )
    sweep.add_argument(
        "--samples", type=int, help="with --vary and a sampled design: its samples (default 64)"
    )
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
    sweep.add_argument(
        "--retry-failed",
        action="store_true",
        help="with --resume: run the failed runs again too (a success replaces the failure)",
    )
    sweep.add_argument(
        "--force", action="store_true", help="run even if the estimate is above free memory"
    )
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
