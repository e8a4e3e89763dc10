"""The README's quick starts run verbatim on a fresh clone after ``make demo``.

Every shell block under a "Quick start" heading runs, line by line, as written, in a copy of
the clone's scenarios/, experiments/ and data/ where ``make demo`` has already run; the TOML
block whose first line names its file is saved there first, as the reader is told to.
``.venv/bin/commsim`` is a two-line shim that runs this checkout's ``python -m sim``.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

#: A line naming a machine the reader supplies (a Dask scheduler) cannot run here.
PLACEHOLDER = re.compile(r"\bHOST\b")


def quick_start_blocks(readme: str) -> list[tuple[str, str]]:
    """(language, text) of every fenced block under a ``## Quick start`` heading."""
    blocks = []
    for section in re.split(r"^## ", readme, flags=re.MULTILINE):
        if section.startswith("Quick start"):
            blocks += re.findall(r"^```(\w*)\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)
    return blocks


def demo_command() -> str:
    """What ``make demo`` runs once the venv is installed (from the Makefile)."""
    makefile = (ROOT / "Makefile").read_text()
    [line] = re.findall(r"^demo:.*\n\t(.+)$", makefile, flags=re.MULTILINE)
    return line.replace("$(BIN)/", ".venv/bin/")


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A fresh clone's inputs, a ``.venv/bin/commsim`` that runs this checkout, and the demo."""
    for folder in ("scenarios", "experiments", "data"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shim = tmp_path / ".venv" / "bin" / "commsim"
    shim.parent.mkdir(parents=True)
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m sim "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    run_line(demo_command(), tmp_path)
    return tmp_path


def run_line(line: str, cwd: Path) -> None:
    env = dict(os.environ)
    env["PATH"] = f"{cwd / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
    env.setdefault("PYTHONPATH", str(ROOT))  # the shim runs this checkout, installed or not
    done = subprocess.run(
        ["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"


def test_the_readme_names_its_blocks() -> None:
    blocks = quick_start_blocks((ROOT / "README.md").read_text())
    kinds = [kind for kind, _ in blocks]
    assert kinds.count("sh") >= 2 and "toml" in kinds
    assert demo_command().startswith(".venv/bin/commsim run ")


@pytest.mark.slow
def test_the_quick_starts_run_verbatim_after_make_demo(clone: Path) -> None:
    ran = 0
    for kind, text in quick_start_blocks((ROOT / "README.md").read_text()):
        if kind == "toml":
            name = re.match(r"# (\S+\.toml):", text)
            assert name, "a TOML quick start opens with the file it is saved as"
            (clone / name.group(1)).write_text(text)
        if kind != "sh":
            continue
        for line in text.splitlines():
            if line.strip() and not PLACEHOLDER.search(line):
                run_line(line, clone)
                ran += 1
    assert ran >= 10
    assert (clone / "results" / "baseline-2" / "summary.json").is_file()  # the --seed 7 run
