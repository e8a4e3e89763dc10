"""What every ``commsim`` command shares: exit statuses, the output folder written all at once,
``--set`` overrides and the run-cost check."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
import tempfile
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sim.inputs import InputError, quote

EXIT_BAD_INPUT = 2
EXIT_WRITE_FAILED = 1


#: The extra that installs each optional top-level module (see pyproject.toml).
EXTRAS = {
    "solara": "dashboard",
    "solara_assets": "dashboard",
    "ipyvue": "dashboard",
    "ipyvuetify": "dashboard",
    "altair": "dashboard",
    "dask": "cluster",
    "distributed": "cluster",
    "dask_jobqueue": "cluster",
    "ema_workbench": "ema",
}


class OutputError(Exception):
    """The output could not be written (disk full, read-only, ...); nothing was left behind."""


@contextmanager
def staged_output(out: Path, force: bool = False) -> Iterator[Path]:
    """Write into a hidden temporary folder; move the files into ``out`` (creating it and
    its parents) only when the block succeeds, so a failure leaves nothing half-written.

    Raises:
        InputError: ``out`` is a file, is not empty (unless ``force``), or cannot be created.
        OutputError: writing failed (a full disk, say); nothing was moved into ``out``.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a directory")
    if not force and out.is_dir() and any(out.iterdir()):
        raise InputError(
            f"--out {out}: is not empty; give another --out, or --force to write into it "
            "(files of the same names are replaced)"
        )
    anchor = out.resolve().parent
    while not anchor.exists():  # the temporary folder must be on the same file system
        anchor = anchor.parent
    if not os.access(anchor, os.W_OK):
        raise InputError(f"--out {out}: {anchor} is not writable")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=anchor))
    except OSError as err:
        raise InputError(f"--out {out}: cannot be created ({err.strerror})") from None
    try:
        yield tmp
        out.mkdir(parents=True, exist_ok=True)
        for item in tmp.iterdir():
            os.replace(item, out / item.name)
    except OSError as err:
        name = Path(err.filename).name if err.filename else str(out)
        raise OutputError(
            f"--out {out}: cannot write {name} ({err.strerror}); nothing was written"
        ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def folder_name(name: str) -> str:
    """A scenario's name as one folder name that stays inside its parent: characters other
    than letters, digits, ``_``, ``.`` and ``-`` become ``_``, and no leading ``.`` or
    ``-`` (so ``..`` cannot climb out of ``results/``)."""
    safe = re.sub(r"[^\w.-]+", "_", name).lstrip(".-")
    return safe[:100] or "scenario"


def check_run_cost(scenario: Any, force: bool) -> None:
    """Print the estimated cost of a big run; refuse one above the ceiling unless forced."""
    from sim.scenario.cost import MAX_RUN_MEMORY_MB, WARN_RUN_MEMORY_MB, WARN_RUN_SECONDS, run_cost

    cost = run_cost(scenario)
    if cost.memory_mb > MAX_RUN_MEMORY_MB and not force:
        raise InputError(
            f"{quote(scenario.scenario.name, 40)}: {cost.describe()}; above the "
            f"{MAX_RUN_MEMORY_MB / 1000:g} GB ceiling: --force runs it anyway (docs/security.md)"
        )
    if cost.memory_mb > WARN_RUN_MEMORY_MB or cost.seconds > WARN_RUN_SECONDS:
        print(f"estimate: {cost.describe()}", file=sys.stderr, flush=True)


def parse_set_option(text: str) -> tuple[str, Any]:
    """Parse a ``--set key.path=value`` option; the value is read as TOML, else as a string."""
    if "=" not in text:
        raise InputError(f"--set {text}: expected key.path=value")
    key, raw = (s.strip() for s in text.split("=", 1))
    if not key:
        raise InputError(f"--set {text}: the key is empty")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def parse_set_options(items: Sequence[str] | None) -> dict[str, Any]:
    """The ``--set KEY=VALUE`` options given, as a mapping of key to value."""
    return dict(parse_set_option(text) for text in items or [])


def require_extra(extra: str) -> None:
    """Raise ModuleNotFoundError naming the first module of ``extra`` that is not installed,
    without importing any (a command that hands over to another process checks first)."""
    for module, needed_by in EXTRAS.items():
        if needed_by == extra and importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)
