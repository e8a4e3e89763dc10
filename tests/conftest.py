"""Shared fixtures: small, fast scenarios and a way to run the CLI as a user does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def small(**overrides):
    """Keyword arguments for a small, fast, seeded model (20 councils, 16 quarters, rng 1)
    plus any given (``rng=...`` too)."""
    base = {"network.councils": 20, "scenario.quarters": 16, "mutuals.count": 8, "rng": 1}
    base.update(overrides)
    return base


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
