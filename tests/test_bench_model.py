"""The model benchmark's measuring program runs against a checkout and refuses a folder that
is not one (timings themselves are never asserted)."""

from __future__ import annotations

import math

import pytest

from benchmarks import bench_model
from tests.helpers import ROOT

# Each sample runs the model in a fresh interpreter, as the benchmark does.
pytestmark = pytest.mark.subprocess


def test_a_sample_measures_the_version_in_its_folder():
    sample = bench_model._model_sample(
        ROOT, {"network.councils": 20, "scenario.quarters": 4}, runs=2, engine=False
    )
    # What a sample reports, in its units; the sizes themselves are noise on a shared machine
    # (growth can even read below zero when the kernel trims pages), so only their kind is
    # checked: NumPy, numba and Mesa alone take more than 50 MB.
    assert set(sample) == {"cpu", "peak_rss_mb", "growth_mb"}
    assert sample["cpu"] > 0 and sample["peak_rss_mb"] > 50
    assert math.isfinite(sample["growth_mb"])


def test_a_base_without_the_package_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="no sim package"):
        bench_model.main(["--base", str(tmp_path)])
