"""The ready scenarios, experiments and example data, wherever commsim is installed.

A source checkout keeps them in its top-level ``scenarios/``, ``experiments/`` and ``data/``
folders (the files users edit and tests read). A wheel carries copies of the same three
folders as package data under ``sim/_examples/`` (setup.py puts them there at build time),
read here through :mod:`importlib.resources`. Both keep the three folders side by side, so an
experiment's ``scenario = "../scenarios/x.toml"`` and a scenario's ``../data/...`` paths resolve
in either place, and again after :func:`copy_examples` copies them out.

    from sim.examples import scenario_path
    CommissioningModel(scenario_path("baseline")).run()
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from sim.inputs import InputError

__all__ = [
    "FOLDERS",
    "copy_examples",
    "examples_root",
    "experiment_names",
    "resolve_scenario_arg",
    "scenario_names",
    "scenario_path",
]

#: The folders of ready files, in the order they are copied.
FOLDERS = ("scenarios", "experiments", "data")

log = logging.getLogger(__name__)


def examples_root() -> Path:
    """The folder holding ``scenarios/``, ``experiments/`` and ``data/``: the wheel's package
    data if installed, else the source checkout's top level."""
    packaged = resources.files("sim") / "_examples"
    if packaged.is_dir():
        # Wheels install unpacked, so the package data is a real folder: models, the dashboard
        # and `commsim examples` need paths, not streams.
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent


def _names(folder: str) -> list[str]:
    return sorted(p.stem for p in (examples_root() / folder).glob("*.toml"))


def scenario_names() -> list[str]:
    """The ready scenarios' names (file names without ``.toml``)."""
    return _names("scenarios")


def experiment_names() -> list[str]:
    """The ready experiments' names (file names without ``.toml``)."""
    return _names("experiments")


def scenario_path(name: str) -> Path:
    """The file of the ready scenario ``name``; a :class:`InputError` listing the names if
    there is none."""
    path = examples_root() / "scenarios" / f"{name}.toml"
    if not path.is_file():
        raise InputError(
            f"{name}: no such file, and no ready scenario of that name "
            f"(ready: {', '.join(scenario_names())})"
        )
    return path


def resolve_scenario_arg(arg: str) -> str:
    """A scenario argument as the CLI takes it: an existing file, or a path ending in ``.toml``,
    is itself; any other word names a ready scenario (``commsim run baseline``)."""
    if arg.endswith(".toml") or Path(arg).exists():
        return arg
    path = scenario_path(arg)
    log.info("%s: the ready scenario %s", arg, path)
    return str(path)


def copy_examples(dest: str | Path, *, force: bool = False) -> list[Path]:
    """Copy ``scenarios/``, ``experiments/`` and ``data/`` into ``dest`` to edit; returns the
    folders written.

    Refuses (a :class:`InputError` naming the first clash) to overwrite any existing file
    unless ``force``; nothing is written then. Never writes outside ``dest``: a symbolic link
    planted where a file goes is replaced by the file (its target is left alone), and a
    linked folder inside ``dest`` is refused. Every failure is one line.
    """
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise InputError(f"{dest}: exists and is not a directory")
    root = examples_root()
    pairs = [
        (src, dest / src.relative_to(root))
        for folder in FOLDERS
        for src in sorted((root / folder).rglob("*"))
        if src.is_file() and "__pycache__" not in src.parts
    ]
    for _, target in pairs:
        _check_inside(dest, target)
    clashes = [target for _, target in pairs if target.is_symlink() or target.exists()]
    if clashes and not force:
        raise InputError(
            f"{clashes[0]}: already exists ({len(clashes)} file(s) would be overwritten); "
            "give another folder, or --force to overwrite"
        )
    for src, target in pairs:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            _replace_file(src, target)
        except OSError as err:
            raise InputError(f"{dest}: cannot write {target} ({err.strerror})") from None
        log.debug("copied %s", target)
    return [dest / folder for folder in FOLDERS]


def _replace_file(src: Path, target: Path) -> None:
    """Copy ``src`` to a new file beside ``target`` (made with O_EXCL, so no planted link is
    followed) and move it over ``target``: a link there is replaced, not written through."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as data:
            shutil.copyfileobj(data, out)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; an example is an ordinary file
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _check_inside(dest: Path, target: Path) -> None:
    """Refuse a target that is a folder, or whose folders below ``dest`` are links or files."""
    if target.is_dir() and not target.is_symlink():
        raise InputError(f"{target}: is a folder where commsim writes a file")
    here = dest
    for part in target.relative_to(dest).parts[:-1]:
        here = here / part
        if here.is_symlink():
            raise InputError(
                f"{here}: is a symbolic link; commsim examples writes only into real folders"
            )
        if here.exists() and not here.is_dir():
            raise InputError(f"{here}: exists and is not a directory")
