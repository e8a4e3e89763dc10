"""What the tests share: the repository root, a small fast scenario and running the CLI as a
user does. Imported as ``from tests.helpers import ...`` (tests/ is a package)."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def small(**overrides):
    """Overrides for a small, fast model (20 councils, 16 quarters; mutuals and local firms
    at about the baseline's density) plus any given."""
    base = {
        "network.councils": 20,
        "scenario.quarters": 16,
        "mutuals.count": 8,
        "local_firms.count": 40,
    }
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


def commsim_in_process(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``commsim ARGS`` run in this interpreter, with what it prints and its exit status as
    :func:`run_cli` gives them: a tenth of a second instead of a fresh interpreter's two.

    Only for commands that end quickly (bad input, validation): a hang would hang the suite,
    and an exception the CLI lets through fails the test itself instead of printing a
    traceback. ``run_cli`` stays the smoke test that a real process behaves the same.
    """
    from sim.cli import main

    out, err = io.StringIO(), io.StringIO()
    argv = [str(a) for a in args]
    with (
        contextlib.chdir(cwd or ROOT),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            status = main(argv)
        except SystemExit as stop:  # argparse refuses its arguments this way
            status = 0 if stop.code is None else stop.code if isinstance(stop.code, int) else 1
    return subprocess.CompletedProcess(
        ["commsim", *argv], status, stdout=out.getvalue(), stderr=err.getvalue()
    )
