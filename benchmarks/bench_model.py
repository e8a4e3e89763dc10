"""Model speed, as ratios against another checkout of commsim (the code before a change).

Every sample runs in a fresh Python process per code version (``PYTHONPATH`` = that version's
folder), so imports, caches and memory are each version's own; the versions alternate, sample
by sample, and the cases take turns, so load on a shared machine falls on all alike (the table
is printed when every sample is in). Before timing, each version runs a
small model once (numba's on-disk kernel cache warm). Cases:

- ``baseline``: CPU time (``time.process_time`` inside the process) of building and running
  ``scenarios/baseline.toml`` (150 councils, 80 quarters), the mean of a few runs;
- ``small``: the same for 20 councils and 20 quarters (construction included), the mean of
  many runs in one process;
- ``commsim run``: wall time of the whole command ``commsim run scenarios/baseline.toml``
  (interpreter start-up, imports, the run, the three files);
- ``scaling``: 2,400 and 9,600 councils, 20 quarters: CPU time and peak resident memory (and
  its growth over the process before the model was built); the ratio 9,600 / 2,400.

Only ``CommissioningModel(scenario, rng=seed).run()`` and ``load_scenario`` are used, which
every version has. A version that also has ``sim.core.engine.Simulation`` is timed with it too
(``baseline (engine)``, ``small (engine)``), against the other version's ``CommissioningModel``.

Usage: ``python -m benchmarks model --base PATH`` (or ``BENCH_BASE=PATH``), PATH a checkout of
the older code; without one, only this checkout is timed. ``BENCH_REPEATS`` (default 5):
samples per case and version (the median is reported); ``BENCH_QUICK=1``: small sizes and one
sample (a smoke test of the benchmark). Prints a table and writes
``results/bench_model.json`` with every sample and the load average beside each case.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results" / "bench_model.json"

#: The program each sample runs, in a fresh interpreter whose ``PYTHONPATH`` is one version's
#: folder: it builds and runs models and prints one JSON line of measurements.
CHILD = r"""
import json, os, resource, sys, time

spec = json.loads(sys.argv[1])
root = os.path.realpath(spec["root"])
import sim

here = os.path.realpath(sim.__file__)
assert here.startswith(root + os.sep), f"imported {here}, not the version in {root}"
from sim import CommissioningModel, load_scenario

if spec["engine"]:
    from sim.core.engine import Simulation as Model
else:
    Model = CommissioningModel


def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


path = os.path.join(root, "scenarios", "baseline.toml")
warm = load_scenario(path, {"network.councils": 20, "scenario.quarters": 4})
Model(warm, rng=1).run()  # imports done, compiled kernels loaded from the cache
scenario = load_scenario(path, spec["overrides"])
before = rss_mb()
start = time.process_time()
for i in range(spec["runs"]):
    Model(scenario, rng=spec["seed"] + i).run()
cpu = (time.process_time() - start) / spec["runs"]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"cpu": cpu, "peak_rss_mb": peak, "growth_mb": peak - before}))
"""


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _model_sample(root: Path, overrides: dict[str, int], runs: int, engine: bool) -> dict:
    spec = {"root": str(root), "overrides": overrides, "runs": runs, "seed": 1, "engine": engine}
    result = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(spec)],
        capture_output=True,
        text=True,
        cwd=root,
        env=dict(os.environ, PYTHONPATH=str(root)),
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{root}: the benchmark's process failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _command_sample(root: Path) -> dict:
    """Wall (and CPU) time of ``commsim run scenarios/baseline.toml`` as a user types it."""
    with tempfile.TemporaryDirectory(prefix="bench_model_") as out:
        argv = [sys.executable, "-m", "sim.cli", "run", str(root / "scenarios" / "baseline.toml")]
        argv += ["--out", out, "--force", "--quiet"]
        before = os.times()
        start = time.perf_counter()
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            cwd=root,
            env=dict(os.environ, PYTHONPATH=str(root)),
        )
        wall = time.perf_counter() - start
        after = os.times()
    if result.returncode != 0:
        raise RuntimeError(f"{root}: commsim run failed:\n{result.stderr[-2000:]}")
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return {"wall": wall, "cpu": cpu}


def _has_engine(root: Path) -> bool:
    return (root / "sim" / "engine.py").is_file()


def _commit(root: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def _cases(quick: bool) -> list[dict[str, Any]]:
    """Each case: name, what a sample measures, and per version a function taking the
    version's folder (and whether it is the new one) that returns one sample."""
    councils, quarters = (600, 10) if quick else (2400, 20)

    def model(overrides: dict[str, int], runs: int, engine: bool = False) -> Any:
        return lambda root, new: _model_sample(root, overrides, runs, engine and new)

    small = {"network.councils": 20, "scenario.quarters": 20}
    cases = [
        {"name": "baseline", "metric": "cpu", "unit": "s CPU per run",
         "sample": model({}, 1 if quick else 3)},
        {"name": "small", "metric": "cpu", "unit": "s CPU per run",
         "sample": model(small, 5 if quick else 40)},
        {"name": "commsim run", "metric": "wall", "unit": "s wall",
         "sample": lambda root, new: _command_sample(root)},
    ]  # fmt: skip
    for size in (councils, 4 * councils):
        over = {"network.councils": size, "scenario.quarters": quarters}
        cases.append(
            {"name": f"{size} councils", "metric": "cpu", "unit": "s CPU per run",
             "sample": model(over, 1), "memory": True}
        )  # fmt: skip
    return cases


def _engine_cases(quick: bool) -> list[dict[str, Any]]:
    """The new version's ``Simulation`` against the old version's ``CommissioningModel``."""
    small = {"network.councils": 20, "scenario.quarters": 20}
    return [
        {"name": "baseline (engine)", "metric": "cpu", "unit": "s CPU per run",
         "sample": lambda root, new: _model_sample(root, {}, 1 if quick else 3, new)},
        {"name": "small (engine)", "metric": "cpu", "unit": "s CPU per run",
         "sample": lambda root, new: _model_sample(root, small, 5 if quick else 40, new)},
    ]  # fmt: skip


def _median(samples: list[dict], key: str) -> float:
    return statistics.median(s[key] for s in samples)


def run_benchmarks(base: Path | None, repeats: int, quick: bool) -> dict[str, Any]:
    """Time every case ``repeats`` times per version, alternating the versions; returns the
    report written to ``results/bench_model.json``."""
    versions = {"new": REPO} | ({"old": base} if base else {})
    for root in versions.values():  # warm numba's cache (and the file system's) once
        _model_sample(root, {"network.councils": 20, "scenario.quarters": 4}, 1, False)
        if _has_engine(root):
            _model_sample(root, {"network.councils": 20, "scenario.quarters": 4}, 1, True)
    cases = _cases(quick) + (_engine_cases(quick) if _has_engine(REPO) else [])
    report: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "versions": {k: {"path": str(v), "commit": _commit(v)} for k, v in versions.items()},
        "repeats": repeats,
        "cases": [],
    }
    # Round robin over the cases as well as the versions: a spell of load on the shared
    # machine then touches every case a little rather than one case a lot.
    samples = [{k: [] for k in versions} for _ in cases]
    loads: list[list[float]] = [[] for _ in cases]
    for i in range(repeats):
        order = list(versions) if i % 2 == 0 else list(reversed(versions))
        for case, got, load in zip(cases, samples, loads, strict=True):
            load.append(_load())
            for name in order:
                got[name].append(case["sample"](versions[name], name == "new"))
            load.append(_load())
    for case, got, load in zip(cases, samples, loads, strict=True):
        entry = {
            "case": case["name"],
            "unit": case["unit"],
            "load_1min": {"min": min(load), "max": max(load), "mean": statistics.mean(load)},
            "samples": got,
        }
        for name in versions:
            entry[name] = _median(got[name], case["metric"])
            if case.get("memory"):
                entry[f"{name}_peak_rss_mb"] = _median(got[name], "peak_rss_mb")
                entry[f"{name}_growth_mb"] = _median(got[name], "growth_mb")
        if base:
            entry["speedup"] = entry["old"] / entry["new"]  # old / new: above 1 is faster
        report["cases"].append(entry)
        print(_row(entry), flush=True)
    report["scaling"] = _scaling(report["cases"], versions)
    for line in _scaling_lines(report["scaling"]):
        print(line)
    return report


def _row(entry: dict[str, Any]) -> str:
    old = f"{entry['old']:>10.4f}" if "old" in entry else f"{'':>10}"
    speedup = f"{entry['speedup']:>8.2f}x" if "speedup" in entry else f"{'':>9}"
    load = entry["load_1min"]
    return (
        f"{entry['case']:<20}{entry['unit']:<15}{old}{entry['new']:>10.4f}{speedup}"
        f"   load {load['min']:.1f}-{load['max']:.1f}"
    )


def _scaling(cases: list[dict[str, Any]], versions: dict[str, Path]) -> dict[str, Any]:
    """Time and memory of the larger scaling case over the smaller, per version."""
    sized = [c for c in cases if c["case"].endswith(" councils")]
    small, large = sized[0], sized[-1]
    out: dict[str, Any] = {"cases": [small["case"], large["case"]]}
    for name in versions:
        out[name] = {
            "time_ratio": large[name] / small[name],
            "peak_rss_ratio": large[f"{name}_peak_rss_mb"] / small[f"{name}_peak_rss_mb"],
            "growth_ratio": large[f"{name}_growth_mb"] / max(small[f"{name}_growth_mb"], 1e-9),
        }
    return out


def _scaling_lines(scaling: dict[str, Any]) -> list[str]:
    small, large = scaling["cases"]
    lines = [f"scaling {large} / {small} (4x the councils; time target at most 4.5x):"]
    for name in ("old", "new"):
        if name in scaling:
            s = scaling[name]
            lines.append(
                f"  {name}: time {s['time_ratio']:.2f}x, peak memory {s['peak_rss_ratio']:.2f}x, "
                f"memory growth while running {s['growth_ratio']:.2f}x"
            )
    return lines


def main(argv: list[str] | None = None) -> None:
    """Time the cases, print the table and write ``results/bench_model.json``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_model")
    parser.add_argument(
        "--base", default=os.environ.get("BENCH_BASE"), help="a checkout of the older code"
    )
    args = parser.parse_args([] if argv is None else argv)
    base = Path(args.base).resolve() if args.base else None
    if base is not None and not (base / "sim" / "__init__.py").is_file():
        raise SystemExit(f"--base {base}: no sim package there (a commsim checkout?)")
    quick = bool(os.environ.get("BENCH_QUICK"))
    repeats = 1 if quick else int(os.environ.get("BENCH_REPEATS", "5"))
    print(f"{'case':<20}{'unit':<15}{'old':>10}{'new':>10}{'old/new':>9}")
    report = run_benchmarks(base, repeats, quick)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written: {RESULTS}")
    if base is None:
        print("(no --base / BENCH_BASE: this checkout only, no ratios)")


if __name__ == "__main__":
    main(sys.argv[1:])
