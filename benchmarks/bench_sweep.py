"""Batch experiments: ``commsim sweep`` against ``mesa.batch_run``, parallel efficiency, per-run
overhead in the pool, and memory growth per run.

Every case runs in a fresh Python process (this file run as a script with ``--case``), so that
its memory and its imports are its own; the parent samples the proportional set size (PSS:
shared pages split between the processes sharing them, so forked workers are not counted twice)
of the case's whole process tree (``/proc/PID/smaps_rollup``) every 100 ms and keeps the peak
of the sum. Wall time is measured inside the case, from before the workers start to after the
results are on disk (imports excluded, worker start-up included); CPU time likewise, summed over
the case's process and every process it started (forkserver and workers).

Cases (a grid of 20 social value weights x replications; tiny runs: 20 councils, 20 quarters):

1. ``sweep`` against ``batch_run``: the same 2,000 runs (same parameters and seeds, 2
   processes) through the sweep (``runs.parquet`` and every quarter of every time series
   streamed to Parquet) and through ``mesa.batch_run`` collecting every quarter
   (``data_collection_period=1``), its result list then written to Parquet: throughput ratio.
2. ``pool1``: the same sweep on a pool of 1 worker: parallel efficiency T1 / (2 T2).
3. ``model``: the model alone in one process (construction, run, its columns and summary; no
   sweep), CPU per run, against the 2-worker sweep's CPU per run (every process): the share of
   the pool's CPU spent outside the model.
4. ``mem1k`` / ``mem20k``: peak PSS of sweeps of 1,000 and 20,000 runs of 8 quarters (2
   workers): memory growth per added run, (peak 20k - peak 1k) / 19,000 bytes.

``--base PATH`` also runs case 1's sweep with the checkout at PATH (on ``PYTHONPATH``, with this
file's driver) for an old / new throughput ratio. Each case runs ``BENCH_REPEATS`` times
(default 2), round robin; the table shows medians, with the 1-minute load average when each
case started. ``BENCH_QUICK=1`` divides every run count by 10 (a smoke test of the benchmark).
Results: ``results/bench_sweep.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = [round(0.02 * i, 2) for i in range(20)]
WORKERS = 2
RESULTS = REPO / "results" / "bench_sweep.json"


# ----------------------------------------------------------------------------- inside a case


def _experiment(folder: Path, runs: int, quarters: int, councils: int) -> Path:
    import sim

    scenario = Path(sim.__file__).resolve().parents[1] / "scenarios" / "baseline.toml"
    path = folder / "bench.toml"
    path.write_text(
        f'[experiment]\nname = "bench"\nscenario = "{scenario}"\n'
        f"replications = {runs // len(WEIGHTS)}\nseed = 1\n"
        f'[fixed]\n"network.councils" = {councils}\n"scenario.quarters" = {quarters}\n'
        f'[parameters]\n"commissioning.social_value_weight" = {WEIGHTS}\n'
    )
    return path


def _children_cpu() -> float:
    """CPU seconds of every live process this one started (forkserver, workers)."""
    import psutil

    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def _case_sweep(folder: Path, runs: int, quarters: int, councils: int, workers: int) -> dict:
    """Wall and CPU seconds of a sweep on a local pool of ``workers`` processes."""
    from sim.experiments.executors import PoolExecutor
    from sim.experiments.experiment import load_experiment
    from sim.experiments.sweep import run_sweep

    experiment = load_experiment(_experiment(folder, runs, quarters, councils))
    start, cpu = time.perf_counter(), time.process_time()
    with PoolExecutor(workers) as executor:
        run_sweep(experiment, folder / "out", executor, progress=False)
        children = _children_cpu()  # before the pool's workers exit
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "cpu": time.process_time() - cpu + children}


def _case_batch_run(folder: Path, runs: int, quarters: int, councils: int, workers: int) -> dict:
    import mesa
    import pandas as pd

    from sim import CommissioningModel
    from sim.experiments.experiment import replication_seeds

    seeds = replication_seeds(1, runs // len(WEIGHTS))
    start, cpu, reaped = time.perf_counter(), time.process_time(), _reaped_cpu()
    results = mesa.batch_run(
        CommissioningModel,
        parameters={
            "commissioning__social_value_weight": WEIGHTS,
            "network__councils": councils,
            "scenario__quarters": quarters,
        },
        rng=seeds,
        number_processes=workers,
        data_collection_period=1,
        max_steps=quarters,
        display_progress=False,
    )
    pd.DataFrame(results).to_parquet(folder / "batch_run.parquet")
    seconds = time.perf_counter() - start
    # batch_run's pool has ended: its workers' CPU is in this process's reaped children
    cpu = time.process_time() - cpu + _reaped_cpu() - reaped + _children_cpu()
    return {"seconds": seconds, "cpu": cpu}


def _reaped_cpu() -> float:
    """CPU seconds of this process's children that have ended and been waited for."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _case_model(folder: Path, runs: int, quarters: int, councils: int) -> dict:
    """CPU per run of the model alone, in this process, on the sweep's first ``runs`` runs
    (after a few untimed ones, so that first-call costs are not counted)."""
    from sim.experiments.experiment import iter_run_specs, load_experiment, scenario_at, simulate

    experiment = load_experiment(_experiment(folder, runs, quarters, councils))
    specs = list(iter_run_specs(experiment))
    for spec in specs[:5]:
        simulate(scenario_at(spec.scenario, spec.values, "p"), spec.seed)
    start, cpu = time.perf_counter(), time.process_time()
    for spec in specs:
        simulate(scenario_at(spec.scenario, spec.values, "p"), spec.seed)
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu}


def _child(case: str, runs: int, quarters: int, councils: int, workers: int) -> None:
    """Run one case in this process and print its measures as JSON."""
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        folder = Path(tmp)
        if case == "batch_run":
            out = _case_batch_run(folder, runs, quarters, councils, workers)
        elif case == "model":
            out = _case_model(folder, runs, quarters, councils)
        else:
            out = _case_sweep(folder, runs, quarters, councils, workers)
    print(json.dumps(out))


# ----------------------------------------------------------------------------- the driver


def _pss(pid: int) -> int:
    """PSS of a process in bytes, from /proc/PID/smaps_rollup (cheap to read)."""
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def _tree_pss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += _pss(pid)
        except OSError:  # gone, or not readable
            continue
    return total


def _tree(proc) -> list[int]:
    import psutil

    try:
        return [proc.pid, *(c.pid for c in proc.children(recursive=True))]
    except psutil.Error:
        return [proc.pid]


def measure(case: str, runs: int, quarters: int, workers: int, tree: Path = REPO) -> dict:
    """Run a case in a fresh process with ``tree``'s ``sim``; return its measures, its peak
    tree PSS (bytes) and the load average when it started."""
    import psutil

    command = [sys.executable, str(Path(__file__).resolve()), "--case", case]
    command += ["--runs", str(runs), "--quarters", str(quarters), "--workers", str(workers)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(tree)}
    load = os.getloadavg()[0]
    child = subprocess.Popen(command, cwd=tree, stdout=subprocess.PIPE, text=True, env=env)
    proc = psutil.Process(child.pid)
    peak = samples = 0
    pids = [child.pid]
    while child.poll() is None:
        if samples % 10 == 0:  # listing the tree scans /proc: once a second is enough
            pids = _tree(proc)
        samples += 1
        peak = max(peak, _tree_pss(pids))
        time.sleep(0.1)
    out, _ = child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"benchmark case {case} ({tree}) failed ({child.returncode})")
    return {**json.loads(out.strip().splitlines()[-1]), "pss": peak, "load": load, "runs": runs}


def _median(values: list[float]) -> float:
    return statistics.median(values)


def main(base: Path | None = None) -> None:
    """Time every case, print the table and the targets' ratios, write the JSON."""
    scale = 10 if os.environ.get("BENCH_QUICK") else 1
    n, small, big = 2000 // scale, 1000 // scale, 20000 // scale
    cases = {
        "sweep": (f"sweep, {n} runs, 2 workers", ("sweep", n, 20, WORKERS)),
        "batch_run": (f"mesa.batch_run, {n} runs, 2 processes", ("batch_run", n, 20, WORKERS)),
        "pool1": (f"sweep, {n} runs, pool of 1 worker", ("sweep", n, 20, 1)),
        "model": (f"model alone, {n // 10} runs, in-process", ("model", n // 10, 20, 1)),
        "mem1k": (f"sweep, {small} runs of 8 quarters, 2 workers", ("sweep", small, 8, WORKERS)),
        "mem20k": (f"sweep, {big} runs of 8 quarters, 2 workers", ("sweep", big, 8, WORKERS)),
    }
    trees = dict.fromkeys(cases, REPO)
    if base is not None:
        cases["base"] = (f"base checkout: sweep, {n} runs, 2 workers", ("sweep", n, 20, WORKERS))
        trees["base"] = base.resolve()
    repeats = int(os.environ.get("BENCH_REPEATS", "2"))
    print(f"{os.cpu_count()} cores; each case {repeats}x, round robin; medians")
    print(f"{'case':<46} {'wall s':>8} {'CPU s':>8} {'PSS MB':>8} {'load':>6}", flush=True)
    raw: dict[str, list[dict]] = {key: [] for key in cases}
    for repeat in range(repeats):
        for key, (name, args) in cases.items():
            m = measure(*args, tree=trees[key])
            raw[key].append(m)
            print(
                f"{name:<46} {m['seconds']:>8.2f} {m['cpu']:>8.2f} {m['pss'] / 2**20:>8.0f}"
                f" {m['load']:>6.2f}   (repeat {repeat + 1})",
                flush=True,
            )
    med = {
        key: {k: _median([m[k] for m in ms]) for k in ("seconds", "cpu", "pss", "load")}
        for key, ms in raw.items()
    }
    print("medians:")
    for key, (name, _) in cases.items():
        m = med[key]
        print(
            f"{name:<46} {m['seconds']:>8.2f} {m['cpu']:>8.2f} {m['pss'] / 2**20:>8.0f}"
            f" {m['load']:>6.2f}"
        )
    sweep, model = med["sweep"], med["model"]
    pool_cpu, model_cpu = sweep["cpu"] / n, model["cpu"] / (n // 10)

    def load_of(*keys: str) -> str:
        return "/".join(f"{med[k]['load']:.2f}" for k in keys)

    targets = {
        "throughput_vs_batch_run": {
            "value": med["batch_run"]["seconds"] / sweep["seconds"],
            "target": ">= 3",
            "load": load_of("sweep", "batch_run"),
        },
        "parallel_efficiency": {
            "value": med["pool1"]["seconds"] / (2 * sweep["seconds"]),
            "target": ">= 0.9 (quiet machine)",
            "load": load_of("pool1", "sweep"),
        },
        "overhead_outside_model": {
            "value": (pool_cpu - model_cpu) / pool_cpu,
            "target": "< 0.10",
            "load": load_of("sweep", "model"),
            "pool_cpu_ms_per_run": pool_cpu * 1e3,
            "model_cpu_ms_per_run": model_cpu * 1e3,
        },
        "memory_bytes_per_run": {
            "value": (med["mem20k"]["pss"] - med["mem1k"]["pss"]) / (big - small),
            "target": "<= 2048",
            "load": load_of("mem1k", "mem20k"),
        },
    }
    # CPU per run, every process counted: less sensitive to other load than wall time
    targets["cpu_per_run_vs_batch_run"] = {
        "value": med["batch_run"]["cpu"] / sweep["cpu"],
        "target": "(batch_run / sweep)",
        "load": load_of("sweep", "batch_run"),
    }
    if base is not None:
        targets["cpu_per_run_vs_base"] = {
            "value": med["base"]["cpu"] / sweep["cpu"],
            "target": "(old / new)",
            "load": load_of("base", "sweep"),
        }
        targets["throughput_vs_base"] = {
            "value": med["base"]["seconds"] / sweep["seconds"],
            "target": "(old / new)",
            "load": load_of("base", "sweep"),
        }
    print(f"{'target':<26} {'value':>10} {'goal':>24} {'load':>12}")
    for key, t in targets.items():
        print(f"{key:<26} {t['value']:>10.3f} {t['target']:>24} {t['load']:>12}")
    print(
        f"pool CPU per run {pool_cpu * 1e3:.2f} ms (every process), "
        f"model alone {model_cpu * 1e3:.2f} ms"
    )
    RESULTS.parent.mkdir(exist_ok=True)
    payload = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": bool(scale > 1),
        "repeats": repeats,
        "cases": {key: {"name": cases[key][0], "runs": raw[key]} for key in cases},
        "medians": med,
        "targets": targets,
        "base": str(base) if base else None,
    }
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"written: {RESULTS}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["sweep", "batch_run", "model"])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--quarters", type=int, default=20)
    parser.add_argument("--councils", type=int, default=20)
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--base", type=Path, help="an old checkout to compare the sweep with")
    args = parser.parse_args()
    if args.case:
        _child(args.case, args.runs, args.quarters, args.councils, args.workers)
    else:
        main(args.base)
