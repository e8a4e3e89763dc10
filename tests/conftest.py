"""Shared fixtures; the shared helpers (small scenarios, running the CLI) are in
:mod:`tests.helpers`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import ROOT


@pytest.fixture(autouse=True)
def _seeded_by_default(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model built without ``rng`` draws a fresh seed (Mesa's convention); in tests it gets
    seed 1 instead, so that every test repeats exactly. A test of the fresh draw itself is
    marked ``fresh_entropy``."""
    if "fresh_entropy" not in request.keywords:
        monkeypatch.setattr("sim.core.engine.fresh_seed", lambda: 1)


@pytest.fixture
def root() -> Path:
    """The repository root."""
    return ROOT
