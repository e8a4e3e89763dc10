"""Batch experiments: ``commsim sweep`` against ``mesa.batch_run``, pool against Dask, scaling.

Every case runs in a fresh Python process (``python -m benchmarks.bench_sweep --case ...``) so
that its memory is its own; the parent samples the proportional set size (PSS: shared pages
split between the processes that share them, so forked workers are not counted twice) of the
case's whole process tree (``/proc/PID/smaps_rollup``) every 100 ms and reports the peak of the sum. Wall time is measured
inside the case, from before the workers start to after the results are on disk (imports
excluded, worker start-up included).

Cases (a grid of 20 social value weights x replications; short runs: 20 councils, 20
quarters; the baseline as shipped: 150 councils, 80 quarters):

- ``sweep`` / ``batch_run``: the same runs (same parameters and seeds) through this sweep
  (Parquet runs + time series streamed to disk) and through ``mesa.batch_run`` collecting
  every quarter (``data_collection_period=1``), its result list then written to Parquet;
  short runs, and the baseline scenario as shipped.
- ``sweep`` with ``--workers 1`` (in-process) and with a pool of 1 worker, against 2 workers:
  parallel efficiency T1 / (2 T2).
- ``dask``: the same sweep on a ``dask.distributed.LocalCluster`` of 2 single-thread worker
  processes on 127.0.0.1 (cluster start-up included), against the local pool.
- memory at 1,000 and 10,000 short runs (20 councils, 8 quarters) through the sweep.

Each case runs ``BENCH_REPEATS`` times (default 2), round robin; the table keeps the fastest
time (the least disturbed by other load on a shared machine) and the highest peak memory.
``BENCH_QUICK=1`` divides every run count by 10 (a smoke test of the benchmark itself).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "baseline.toml"
WEIGHTS = [round(0.02 * i, 2) for i in range(20)]
WORKERS = 2


def _fixed(quarters: int, councils: int) -> dict[str, int]:
    """The scenario values a case sets (0: keep the base scenario's own)."""
    fixed = {"network.councils": councils, "scenario.quarters": quarters}
    return {k: v for k, v in fixed.items() if v}


def _experiment(folder: Path, runs: int, quarters: int, councils: int) -> Path:
    path = folder / "bench.toml"
    fixed = "".join(f'"{k}" = {v}\n' for k, v in _fixed(quarters, councils).items())
    path.write_text(
        f'[experiment]\nname = "bench"\nscenario = "{SCENARIO}"\n'
        f"replications = {runs // len(WEIGHTS)}\nseed = 1\n"
        f"[fixed]\n{fixed}"
        f'[parameters]\n"commissioning.social_value_weight" = {WEIGHTS}\n'
    )
    return path


def _case_sweep(
    folder: Path, runs: int, quarters: int, councils: int, workers: int, how: str
) -> tuple[float, float]:
    """Wall time of the sweep and, of it, the start-up of a Dask cluster (0 for the pool)."""
    from sim.executors import DaskExecutor, PoolExecutor, local_cluster, make_executor
    from sim.experiment import load_experiment
    from sim.sweep import run_sweep

    experiment = load_experiment(_experiment(folder, runs, quarters, councils))
    start = time.perf_counter()
    if how == "dask":
        with (
            local_cluster(workers) as cluster,
            DaskExecutor(cluster.scheduler_address) as executor,
        ):
            startup = time.perf_counter() - start
            run_sweep(experiment, folder / "out", executor, progress=False)
    else:
        startup = 0.0
        executor = PoolExecutor(workers) if how == "pool" else make_executor(workers)
        with executor:
            run_sweep(experiment, folder / "out", executor, progress=False)
    return time.perf_counter() - start, startup


def _case_batch_run(folder: Path, runs: int, quarters: int, councils: int, workers: int) -> float:
    import mesa
    import pandas as pd

    from sim import CommissioningModel, load_scenario
    from sim.experiment import replication_seeds

    seeds = replication_seeds(1, runs // len(WEIGHTS))
    fixed = {k.replace(".", "__"): v for k, v in _fixed(quarters, councils).items()}
    steps = quarters or load_scenario(SCENARIO).scenario.quarters
    start = time.perf_counter()
    results = mesa.batch_run(
        CommissioningModel,
        parameters={"commissioning__social_value_weight": WEIGHTS, **fixed},
        rng=seeds,
        number_processes=workers,
        data_collection_period=1,
        max_steps=steps,
        display_progress=False,
    )
    pd.DataFrame(results).to_parquet(folder / "batch_run.parquet")
    return time.perf_counter() - start


def _child(case: str, runs: int, quarters: int, councils: int, workers: int) -> None:
    """Run one case in this process and print its wall time (and start-up) as JSON."""
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        folder = Path(tmp)
        if case == "batch_run":
            seconds = _case_batch_run(folder, runs, quarters, councils, workers)
            startup = 0.0
        else:
            seconds, startup = _case_sweep(folder, runs, quarters, councils, workers, how=case)
    print(json.dumps({"seconds": seconds, "startup": startup}))


def _pss_rss(pid: int) -> tuple[int, int]:
    """PSS and RSS of a process in bytes, from /proc/PID/smaps_rollup (cheap to read)."""
    values = {}
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            key, _, rest = line.partition(":")
            if key in ("Pss", "Rss"):
                values[key] = int(rest.split()[0]) * 1024
    return values["Pss"], values["Rss"]


def _tree_memory(pids: list[int]) -> tuple[int, int]:
    """(sum of PSS, sum of RSS) in bytes over the given processes."""
    pss = rss = 0
    for pid in pids:
        try:
            one_pss, one_rss = _pss_rss(pid)
        except (OSError, KeyError):  # gone, or not readable
            continue
        pss += one_pss
        rss += one_rss
    return pss, rss


def _busy_seconds() -> float:
    """CPU seconds every core of the machine has been busy (not idle) since boot."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree(proc) -> list[int]:
    import psutil

    try:
        return [proc.pid, *(c.pid for c in proc.children(recursive=True))]
    except psutil.Error:
        return [proc.pid]


def measure(
    case: str, runs: int, quarters: int = 20, workers: int = WORKERS, councils: int = 20
) -> dict:
    """Run a case in a fresh process; return its wall time and peak tree memory (MB).

    ``quarters`` or ``councils`` 0 keeps the base scenario's own value."""
    import psutil

    command = [sys.executable, "-m", "benchmarks.bench_sweep", "--case", case]
    command += ["--runs", str(runs), "--quarters", str(quarters), "--councils", str(councils)]
    command += ["--workers", str(workers)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    child = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True, env=env)
    proc = psutil.Process(child.pid)
    peak_pss = peak_rss = 0
    samples = 0
    ours: dict[int, float] = {}  # CPU seconds of each process of the case, last seen
    busy, started = _busy_seconds(), time.perf_counter()
    while child.poll() is None:
        if samples % 10 == 0:  # listing the tree scans /proc: once a second is enough
            pids = _tree(proc)
        samples += 1
        pss, rss = _tree_memory(pids)
        peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
        for pid in pids:
            ours[pid] = max(ours.get(pid, 0.0), _cpu_seconds(pid))
        time.sleep(0.1)
    busy, wall = _busy_seconds() - busy, time.perf_counter() - started
    out, _ = child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"benchmark case {case} failed ({child.returncode})")
    timing = json.loads(out.strip().splitlines()[-1])
    return {
        "seconds": timing["seconds"],
        "startup": timing["startup"],
        "pss_mb": peak_pss / 2**20,
        "rss_mb": peak_rss / 2**20,
        # cores kept busy by everything else on the machine while the case ran
        "others": max(busy - sum(ours.values()), 0.0) / wall,
    }


def main() -> None:
    """Time every case and print the table (run counts / 10 with BENCH_QUICK=1)."""
    scale = 10 if os.environ.get("BENCH_QUICK") else 1
    n, big, small = 2000 // scale, 10000 // scale, 1000 // scale
    cases = {
        "sweep": (f"sweep, {n} runs, 2 workers", ("sweep", n)),
        "batch_run": (f"mesa.batch_run, {n} runs, 2 processes", ("batch_run", n)),
        "sweep_shipped": (f"sweep, {n} runs as shipped, 2 workers", ("sweep", n, 0, 2, 0)),
        "batch_shipped": (
            f"mesa.batch_run, {n} runs as shipped, 2 processes",
            ("batch_run", n, 0, 2, 0),
        ),
        "one": (f"sweep, {n} runs, --workers 1 (in-process)", ("sweep", n, 20, 1)),
        "pool1": (f"sweep, {n} runs, pool of 1 worker", ("pool", n, 20, 1)),
        "dask": (f"sweep on Dask LocalCluster, {n} runs, 2 workers", ("dask", n)),
        "big": (f"sweep, {big} runs of 8 quarters, 2 workers", ("sweep", big, 8)),
        "small": (f"sweep, {small} runs of 8 quarters, 2 workers", ("sweep", small, 8)),
    }
    repeats = int(os.environ.get("BENCH_REPEATS", "2"))
    print(f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores")
    print(f"each case {repeats}x, round robin: fastest time, highest peak memory")
    header = f"{'case':<52} {'wall s':>8} {'peak PSS MB':>12} {'peak RSS MB':>12} {'others':>7}"
    print(header + "  (others: cores busy with other work meanwhile)", flush=True)
    r: dict[str, dict] = {}
    for repeat in range(repeats):
        for key, (name, args) in cases.items():
            m = measure(*args)
            print(
                f"{name:<52} {m['seconds']:>8.1f} {m['pss_mb']:>12.0f} {m['rss_mb']:>12.0f}"
                f" {m['others']:>7.2f}   (repeat {repeat + 1})",
                flush=True,
            )
            best = r.setdefault(key, m)
            if m["seconds"] < best["seconds"]:
                best.update(others=m["others"], startup=m["startup"])
            best.update(
                seconds=min(best["seconds"], m["seconds"]),
                pss_mb=max(best["pss_mb"], m["pss_mb"]),
                rss_mb=max(best["rss_mb"], m["rss_mb"]),
            )
    print("summary:")
    for key, (name, _) in cases.items():
        print(
            f"{name:<52} {r[key]['seconds']:>8.1f} {r[key]['pss_mb']:>12.0f} "
            f"{r[key]['rss_mb']:>12.0f} {r[key]['others']:>7.2f}"
        )
    for label, ours, theirs in (
        ("short runs", "sweep", "batch_run"),
        ("as shipped", "sweep_shipped", "batch_shipped"),
    ):
        sweep, batch = r[ours], r[theirs]
        print(
            f"sweep / batch_run, {label}: time {sweep['seconds'] / batch['seconds']:.2f}x, "
            f"peak memory {sweep['pss_mb'] / batch['pss_mb']:.2f}x (PSS), "
            f"{sweep['rss_mb'] / batch['rss_mb']:.2f}x (RSS)"
        )
    sweep = r["sweep"]
    for key, label in (("one", "--workers 1"), ("pool1", "a 1-worker pool")):
        efficiency = r[key]["seconds"] / (2 * sweep["seconds"])
        print(f"parallel efficiency on 2 workers against {label}: {efficiency:.2f}")
    dask = r["dask"]
    print(
        f"Dask LocalCluster / local pool: {dask['seconds'] / sweep['seconds']:.2f}x; "
        f"without the cluster's start-up ({dask['startup']:.1f} s): "
        f"{(dask['seconds'] - dask['startup']) / sweep['seconds']:.2f}x"
    )
    print(
        f"peak memory at {big} runs / at {small} runs: "
        f"{r['big']['pss_mb'] / r['small']['pss_mb']:.2f}x (PSS)"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["sweep", "pool", "batch_run", "dask"])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--quarters", type=int, default=20, help="0: the scenario's own")
    parser.add_argument("--councils", type=int, default=20, help="0: the scenario's own")
    parser.add_argument("--workers", type=int, default=WORKERS)
    args = parser.parse_args()
    if args.case:
        _child(args.case, args.runs, args.quarters, args.councils, args.workers)
    else:
        main()
