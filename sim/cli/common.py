"""What every ``commsim`` command shares: exit statuses, the output folder written all at once,
``--set`` overrides and the run-cost check."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
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

    With ``force``, files of the same names in ``out`` are replaced all or nothing: each old
    file is moved aside before its new one moves in, and if any move fails the new files are
    taken out and the old ones put back.

    Raises:
        InputError: ``out`` is a file, is not empty (unless ``force``), or cannot be created.
        OutputError: writing failed (a full disk, say); ``out`` is as it was.
    """
    out = Path(out)
    if out.is_symlink() and not out.exists():
        raise InputError(f"--out {out}: is a symbolic link that leads nowhere (a loop?)")
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
    # a short prefix: --out's own name may be as long as a file name can be
    prefix = f".{folder_name(out.name)[:40]}."
    try:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=anchor))
    except OSError as err:
        raise InputError(f"--out {out}: cannot be created ({err.strerror})") from None
    try:
        yield tmp
        _move_all_or_nothing(tmp, out, Path(tempfile.mkdtemp(prefix=prefix, dir=anchor)))
    except OSError as err:
        name = Path(err.filename).name if err.filename else str(out)
        raise OutputError(
            f"--out {out}: cannot write {name} ({err.strerror}); nothing was written"
        ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _move_all_or_nothing(new: Path, out: Path, old: Path) -> None:
    """Move every file of ``new`` into ``out``, those it replaces into ``old`` first; on any
    failure undo every move (``out`` ends as it began) and re-raise. ``old`` is removed."""
    created = not out.exists()
    moved_in: list[str] = []
    moved_aside: list[str] = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for item in sorted(new.iterdir()):
            target = out / item.name
            if target.exists() or target.is_symlink():
                os.replace(target, old / item.name)
                moved_aside.append(item.name)
            os.replace(item, target)
            moved_in.append(item.name)
    except OSError:
        for name in moved_in:
            with suppress(OSError):
                os.replace(out / name, new / name)
        for name in moved_aside:
            with suppress(OSError):
                os.replace(old / name, out / name)
        if created:
            with suppress(OSError):
                out.rmdir()
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


#: Longest folder name made from a scenario's name, in bytes: a file system allows 255 a
#: name, and the hidden temporary folder beside it adds a few (86 CJK characters are 258).
MAX_FOLDER_NAME_BYTES = 200


def folder_name(name: str) -> str:
    """A scenario's name as one folder name that stays inside its parent: characters other
    than letters, digits, ``_``, ``.`` and ``-`` become ``_``, no leading ``.`` or ``-`` (so
    ``..`` cannot climb out of ``results/``), at most 100 characters and
    :data:`MAX_FOLDER_NAME_BYTES` bytes of UTF-8."""
    safe = re.sub(r"[^\w.-]+", "_", name).lstrip(".-")[:100]
    safe = safe.encode()[:MAX_FOLDER_NAME_BYTES].decode(errors="ignore")
    return safe or "scenario"


#: Most worker processes a command may start (``--workers``): far more than any machine
#: this runs on has cores, far fewer than would exhaust its process table.
MAX_WORKERS = 512


def check_run_cost(scenario: Any, force: bool) -> None:
    """Print the estimated cost of a big run; refuse one that does not fit in the memory
    available unless forced (:func:`sim.scenario.cost.check_cost`)."""
    from sim.scenario.cost import check_cost, run_cost

    check_cost(run_cost(scenario), force=force, what=quote(scenario.scenario.name, 40))


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


def first_compile() -> bool:
    """Whether the compiled model has no cache on disk yet, so that this run compiles it
    first (about 20 s, once): no numba cache index beside the model's code, in
    ``NUMBA_CACHE_DIR``, or in numba's per-user cache (used where the install is read-only)."""
    import sim.core

    if not sim.core.compiled_by_environment():
        return False

    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    roots = [Path(sim.core.__file__).parent, Path(cache_home) / "numba"]
    if os.environ.get("NUMBA_CACHE_DIR"):
        roots.append(Path(os.environ["NUMBA_CACHE_DIR"]))
    return not any(next(root.rglob("*.nbi"), None) for root in roots if root.is_dir())


def free_folder(folder: Path) -> Path:
    """``folder`` if it is absent or empty, else the first of ``folder-2``, ``folder-3``, ...
    that is: a default output folder never overwrites an earlier run's."""
    candidate, n = folder, 1
    while candidate.exists() and (not candidate.is_dir() or any(candidate.iterdir())):
        n += 1
        candidate = folder.with_name(f"{folder.name}-{n}")
    return candidate
