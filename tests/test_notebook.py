"""docs/tutorial.ipynb runs from top to bottom (a policy question from scenario to figure),
shows its figures inline, and the package's public names are visible to a notebook user."""

from __future__ import annotations

import os
import time

import pytest

import sim


def test_dir_of_the_package_shows_its_public_names_before_they_load():
    assert {"CommissioningModel", "Simulation", "load_scenario", "InputError"} <= set(dir(sim))
    for name in sim.__all__:
        assert getattr(sim, name) is not None


@pytest.mark.slow
def test_the_tutorial_notebook_executes_and_shows_its_figures(root):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(root / "docs" / "tutorial.ipynb", as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), (
        "the tutorial is kept without outputs: clear them before committing"
    )
    start = time.monotonic()
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3")
    # the kernel imports this checkout's sim, as the test does
    client.execute(cwd=str(root), env={**os.environ, "PYTHONPATH": str(root)})
    assert time.monotonic() - start < 180, "the tutorial should run in about a minute"
    images = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]
    assert len(images) == 2, "the run's overview and the sweep's figure are shown inline"
