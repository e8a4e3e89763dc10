"""Every ready scenario and experiment file validates, says what it asks, and runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim import CommissioningModel, load_scenario
from tests.helpers import ROOT, run_cli

SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.toml"))
LIBRARY = [
    "baseline", "carillion_collapse", "living_wage_shock", "budget_cuts", "social_value_20",
    "keep_it_local", "mutual_support_programme", "home_care_1993",
]  # fmt: skip


def test_the_library_is_complete():
    assert set(LIBRARY) <= {p.stem for p in SCENARIOS}


@pytest.mark.subprocess
def test_every_file_validates():
    result = run_cli("validate", *map(str, SCENARIOS + EXPERIMENTS))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok") == len(SCENARIOS) + len(EXPERIMENTS)


@pytest.mark.parametrize("path", SCENARIOS + EXPERIMENTS, ids=lambda p: p.name)
def test_every_file_opens_with_its_question(path: Path):
    header = path.read_text().split("\n\n", 1)[0]
    assert header.startswith("#") and len(header.splitlines()) >= 3, (
        f"{path.name} needs a header comment"
    )


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_runs(path: Path):
    scenario = load_scenario(path)
    model = CommissioningModel(scenario).run()
    summary = model.summary()
    assert 0 < summary["resilience"] <= 1
    if scenario.shocks:
        assert summary["first_shock_quarter"] == min(s.quarter for s in scenario.shocks)
