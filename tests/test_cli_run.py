"""``commsim run`` as a quick command: what each command loads, the files it writes (the same
bytes as before it stopped using pandas) and an overview whose labels stay on the page."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim import load_scenario
from sim.abm.model import CommissioningModel
from sim.cli import write_series_csv
from sim.core.outcomes import REPORTERS
from sim.report.plots import _draw_overview, _labels_fit, overview_figure
from tests.helpers import ROOT, run_cli

BASELINE = ROOT / "scenarios" / "baseline.toml"
#: Libraries a command loads only if it needs them.
HEAVY = ("numpy", "pydantic", "matplotlib", "pandas", "mesa", "scipy", "networkx", "numba", "tqdm")


def loaded_by(*args: str) -> set[str]:
    """The modules a fresh interpreter has loaded after ``commsim ARGS`` (as ``main`` runs it)."""
    code = (
        "import json, sys\n"
        "from sim.cli import main\n"
        "try:\n"
        f"    status = main({list(args)!r})\n"
        "except SystemExit as stop:\n"
        "    status = stop.code\n"
        "assert status == 0, status\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def libraries(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules} & set(HEAVY)


@pytest.mark.subprocess
def test_help_and_examples_load_no_library(tmp_path):
    assert libraries(loaded_by("--help")) == set()
    assert libraries(loaded_by("examples", str(tmp_path / "ex"))) == set()


@pytest.mark.subprocess
@pytest.mark.parametrize(
    "args", [("params",), ("validate", "scenarios/baseline.toml", "experiments/quick_look.toml")]
)
def test_validate_and_params_load_the_schema_only(args):
    assert libraries(loaded_by(*args)) <= {"numpy", "pydantic"}


def small_run(tmp_path) -> tuple[str, ...]:
    return ("run", "baseline", "--set", "network.councils=20", "--set", "scenario.quarters=6",
            "--out", str(tmp_path / "o"), "--quiet")  # fmt: skip


@pytest.mark.subprocess
def test_run_draws_without_pyplot(tmp_path):
    loaded = loaded_by(*small_run(tmp_path))
    assert "matplotlib.figure" in loaded  # the overview was drawn...
    assert "matplotlib.pyplot" not in loaded  # ...without pyplot


@pytest.mark.subprocess
def test_run_loads_no_mesa_pandas_networkx_or_progress_bar(tmp_path):
    # (numba, which runs the model, imports scipy.linalg itself: scipy is not on the list.)
    loaded = libraries(loaded_by(*small_run(tmp_path)))
    assert not loaded & {"mesa", "pandas", "networkx", "tqdm"}  # --quiet: no bar


@pytest.mark.subprocess
def test_timeseries_csv_has_the_bytes_pandas_wrote(tmp_path):
    """timeseries.csv is written without pandas, byte for byte as ``DataFrame.to_csv`` with
    ``float_format="%.10g"`` wrote it (integers as integers)."""
    overrides = {"network.councils": 30, "scenario.quarters": 12}
    result = run_cli("run", str(BASELINE), "--out", str(tmp_path), "--seed", "3",
                     "--set", "network.councils=30", "--set", "scenario.quarters=12")  # fmt: skip
    assert result.returncode == 0, result.stderr
    model = CommissioningModel(load_scenario(BASELINE, overrides), rng=3).run()
    expected = model.timeseries().to_csv(index=False, float_format="%.10g")
    assert (tmp_path / "timeseries.csv").read_text() == expected


def test_series_csv_formats_like_pandas(tmp_path):
    rng = np.random.default_rng(5)
    series = {"quarter": np.arange(6)}
    for i, name in enumerate(REPORTERS):
        if i % 3 == 0:
            series[name] = rng.integers(-5, 10**7, 6)
        else:
            series[name] = rng.lognormal(0, 6, 6) * rng.choice([-1, 1], 6)
    floats = [name for name in REPORTERS if series[name].dtype.kind == "f"]
    series[floats[0]][2] = np.nan
    series[floats[1]][1] = np.inf
    series[floats[2]][0] = 1.0
    series[floats[3]][3] = 1e-17
    write_series_csv(series, tmp_path / "t.csv")
    expected = pd.DataFrame(series).to_csv(index=False, float_format="%.10g")
    assert (tmp_path / "t.csv").read_text() == expected


@pytest.fixture(scope="module")
def series() -> dict[str, np.ndarray]:
    ts = CommissioningModel(load_scenario(BASELINE, {"scenario.quarters": 24}), rng=1).run()
    frame = ts.timeseries()
    return {name: frame[name].to_numpy() for name in frame.columns}


def scaled(series: dict[str, np.ndarray], factor: float) -> dict[str, np.ndarray]:
    """The series with every money and count column ``factor`` times larger."""
    out = dict(series)
    for name in ("spend", "local_reinvestment", "leaked", "emergency_cost", "contracts_disrupted",
                 "providers_active"):  # fmt: skip
        out[name] = series[name] * factor
    return out


def test_overview_labels_fit_the_fixed_layout(series):
    fig = _draw_overview(series, "baseline", [(10, "provider_collapse")], fixed=True)
    assert _labels_fit(fig)


@pytest.mark.slow
def test_overview_of_very_large_numbers_is_laid_out_to_fit(series, tmp_path):
    big = scaled(series, 100)  # six-digit tick labels: wider than the fixed margins allow
    assert not _labels_fit(_draw_overview(big, "big", [], fixed=True))
    assert _labels_fit(_draw_overview(big, "big", [], fixed=False))
    path = tmp_path / "o.png"
    overview_figure(big, "big", [], path)
    from PIL import Image

    with Image.open(path) as image:
        assert image.size == (1320, 1100)


def test_overview_takes_a_dataframe_too(series, tmp_path):
    path = tmp_path / "o.png"
    overview_figure(pd.DataFrame(series), "frame", [], path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
