"""Shared fixtures: small, fast scenarios and a way to run the CLI as a user does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def small(**overrides):
    """Overrides for a small, fast model (20 councils, 16 quarters) plus any given."""
    base = {"network.councils": 20, "scenario.quarters": 16, "mutuals.count": 8}
    base.update(overrides)
    return base


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker of the tests that need a model's fresh seed."""
    config.addinivalue_line(
        "markers", "fresh_entropy: a model built without rng draws a fresh seed, as in Mesa"
    )


@pytest.fixture(autouse=True)
def _seeded_by_default(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model built without ``rng`` draws a fresh seed (Mesa's convention); in tests it gets
    seed 1 instead, so that every test repeats exactly. A test of the fresh draw itself is
    marked ``fresh_entropy``."""
    if "fresh_entropy" not in request.keywords:
        monkeypatch.setattr("sim.core.engine.fresh_seed", lambda: 1)


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m sim ARGS`` in a fresh interpreter, as a user's shell would."""
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=300,
    )


@pytest.fixture
def root() -> Path:
    """The repository root."""
    return ROOT
