"""One implementation, two ways to run it: compiled by numba, or as plain Python with the JIT
off (``COMMSIM_COMPILED=0``), give the same numbers to the last bit; and compiled code that
cannot use its disk cache falls back with one warning, the run completing with the same
numbers."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.core.numeric import pairwise_sum

ROOT = Path(__file__).resolve().parents[1]

#: Whole runs on short horizons that still include each scenario's shock (and its
#: administration, handbacks, budget cuts): every mechanism takes its decisions.
RUNS = [
    ("baseline", 1, {"scenario.quarters": 12}),
    ("carillion_collapse", 2, {"scenario.quarters": 46, "network.councils": 40}),
    ("carillion_no_administrator", 1, {"scenario.quarters": 44, "network.councils": 40}),
    ("budget_cuts", 2, {"scenario.quarters": 18, "network.councils": 60}),
    ("living_wage_shock", 1, {"scenario.quarters": 26, "network.councils": 60}),
]

_RUN = """
import pickle, sys
from sim import CommissioningModel, load_scenario
from sim.core import jit
out = {"compiled": jit.compiled(), "runs": []}
for name, seed, overrides in pickle.loads(bytes.fromhex(sys.argv[1])):
    scenario = load_scenario(f"scenarios/{name}.toml", {"scenario.seed": seed, **overrides})
    model = CommissioningModel(scenario, rng=seed).run()
    out["runs"].append((model.series(), model.summary(), model.events,
                        model.rng.bit_generator.state))
sys.stdout.buffer.write(pickle.dumps(out))
"""


def _runs(compiled: bool) -> dict:
    """Every run of :data:`RUNS` in a fresh interpreter, compiled or with the JIT off."""
    env = {**os.environ, "COMMSIM_COMPILED": "1" if compiled else "0"}
    env.pop("NUMBA_DISABLE_JIT", None)
    done = subprocess.run(
        [sys.executable, "-c", _RUN, pickle.dumps(RUNS).hex()],
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=900,
        check=True,
    )
    return pickle.loads(done.stdout)


def _same(a: object, b: object) -> bool:
    """Equal to the bit, NaN equal to NaN."""
    return pickle.dumps(json.loads(json.dumps(a))) == pickle.dumps(json.loads(json.dumps(b)))


@pytest.mark.parametrize("n", [*range(0, 300, 7), 1000, 8193, 70001])
def test_pairwise_sum_is_numpys(n):
    rng = np.random.default_rng(n)
    a = rng.lognormal(0, 3, n) * rng.choice([-1.0, 1.0], n)
    assert pairwise_sum(a) == a.sum()


def test_whole_runs_are_the_same_compiled_and_with_the_jit_off():
    compiled, plain = _runs(True), _runs(False)
    assert compiled["compiled"] and not plain["compiled"]
    for (name, _, _), fast, slow in zip(RUNS, compiled["runs"], plain["runs"], strict=True):
        series_fast, summary_fast, events_fast, state_fast = fast
        series_slow, summary_slow, events_slow, state_slow = slow
        assert list(series_fast) == list(series_slow)
        for column, values in series_fast.items():
            assert values.dtype == series_slow[column].dtype, (name, column)
            assert np.array_equal(values, series_slow[column], equal_nan=True), (name, column)
        assert _same(summary_fast, summary_slow), name
        assert events_fast == events_slow, name
        assert state_fast == state_slow, name


# ----------------------------------------------------------------------------- the disk cache

SMALL_RUN = ("run", "baseline", "--set", "network.councils=20", "--set", "scenario.quarters=6",
             "--seed", "4", "--quiet")  # fmt: skip
WARNING = "commsim: warning: compiled code not cached"


def _sim_run(out: Path, **env: str) -> subprocess.CompletedProcess:
    """``python -m sim run`` of a small model into ``out``, with ``env`` added."""
    full = {**os.environ, **env}
    for name in ("COMMSIM_COMPILED", "NUMBA_DISABLE_JIT"):
        full.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "sim", *SMALL_RUN, "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=full,
        timeout=900,
    )


def _outputs(out: Path) -> tuple[str, dict]:
    return (out / "timeseries.csv").read_text(), json.loads((out / "summary.json").read_text())


@pytest.fixture(scope="module")
def cached_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    """The small run with numba's ordinary cache (written next to the modules)."""
    out = tmp_path_factory.mktemp("cached") / "o"
    done = _sim_run(out)
    assert done.returncode == 0, done.stderr
    assert WARNING not in done.stderr
    return _outputs(out)


def _corrupt_cache(folder: Path) -> dict[str, str]:
    """A cache folder (``NUMBA_CACHE_DIR``) in which every index file numba looks for is
    random bytes: the names of the ordinary cache's files, in the subfolder numba gives the
    modules' folder (its name and the SHA-1 of its path)."""
    source = ROOT / "sim" / "core"
    target = folder / f"core_{hashlib.sha1(str(source).encode()).hexdigest()}"
    target.mkdir(parents=True)
    rng = np.random.default_rng(0)
    indexes = sorted((source / "__pycache__").glob("*.nbi"))
    assert indexes, "the cached run left no cache to copy"
    for index in indexes:
        (target / index.name).write_bytes(rng.bytes(256))
    return {"NUMBA_CACHE_DIR": str(folder)}


@pytest.mark.slow
@pytest.mark.parametrize("case", ["no locator", "corrupt cache"])
def test_compiled_code_that_cannot_use_its_cache_runs_with_one_warning(case, cached_run, tmp_path):
    """No place to cache (numba's "no locator available", as for a user without a writable
    home or source folder) or random bytes in the cache files: the run compiles afresh, warns
    once, and gives the numbers of a cached run."""
    if case == "no locator":  # the one locator left finds nothing outside IPython
        env = {"NUMBA_CACHE_LOCATOR_CLASSES": "_IPythonCacheLocator"}
    else:
        env = _corrupt_cache(tmp_path / "cache")
    done = _sim_run(tmp_path / "o", **env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert [line for line in done.stderr.splitlines() if line.strip()] == [
        line for line in done.stderr.splitlines() if line.startswith(WARNING)
    ]
    assert done.stderr.count(WARNING) == 1
    assert _outputs(tmp_path / "o") == cached_run
