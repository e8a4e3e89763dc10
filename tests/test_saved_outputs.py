"""Every shipped scenario at seeds 1-3 reproduces its saved outputs exactly, from the Mesa
model and from the Mesa-free engine alike."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from tests.saved_outputs import SEEDS, run_outputs, saved_paths, scenario_files

CASES = [(path, seed) for path in scenario_files() for seed in SEEDS]


@pytest.mark.parametrize("engine", ["mesa", "simulation"])
@pytest.mark.parametrize("path,seed", CASES, ids=[f"{p.stem}-{s}" for p, s in CASES])
def test_saved_outputs_are_reproduced(path, seed, engine):
    csv_path, json_path = saved_paths(path, seed)
    ts, outcomes = run_outputs(path, seed, engine)
    saved_ts = pd.read_csv(csv_path)  # pandas 3 parses floats exactly
    assert list(ts.columns) == list(saved_ts.columns)
    for column in saved_ts.columns:
        got, want = ts[column].to_numpy(dtype=float), saved_ts[column].to_numpy(dtype=float)
        assert (got == want).all(), f"{column}: max |diff| {abs(got - want).max()!r}"
    saved = json.loads(json_path.read_text())
    assert sorted(outcomes) == sorted(saved)
    for name, want in saved.items():
        got = outcomes[name]
        if want is None or (isinstance(want, float) and math.isnan(want)):
            assert got is None or (isinstance(got, float) and math.isnan(got)), name
        else:
            assert got == want, f"{name}: {got!r} != {want!r}"
