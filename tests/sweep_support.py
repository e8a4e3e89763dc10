"""Helpers shared by the experiment and sweep tests: small experiment files and the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASELINE = REPO / "scenarios" / "baseline.toml"

#: Small runs: 20 councils, 12 quarters (a few milliseconds each).
SMALL = """
[fixed]
"network.councils" = 20
"scenario.quarters" = 12
"""


def experiment_file(
    folder: Path,
    parameters: str,
    *,
    design: str = "grid",
    replications: int = 2,
    extra: str = "",
    fixed: str = SMALL,
    name: str = "exp.toml",
) -> Path:
    """Write an experiment file on the repository's baseline scenario and return its path."""
    path = folder / name
    path.write_text(
        f'[experiment]\nname = "t"\nscenario = "{BASELINE}"\nreplications = {replications}\n'
        f'seed = 5\ndesign = "{design}"\n{extra}\n{fixed}\n[parameters]\n{parameters}\n'
    )
    return path


def commsim(*args: object, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m sim ARGS`` and capture its output (a hang fails after ``timeout`` s)."""
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
