"""Which commsim this is: the version and the git commit it was built from.

A wheel carries both in ``sim/_build_info.py``, written by setup.py when the wheel (or the
sdist it came from) was built; a commit ending ``-dirty`` was built from a tree with
uncommitted changes. A source checkout has no such file: the version is the
installed metadata's and the commit is the checkout's own HEAD. Neither is ever read from the
directory a user runs commsim in, which may be a git repository of their own.
"""

from __future__ import annotations

import subprocess
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

__all__ = ["__version__", "build_commit", "checkout_commit", "package_version"]


def _baked() -> tuple[str | None, str | None]:
    try:
        from sim._build_info import COMMIT, VERSION  # type: ignore[import-not-found]
    except ImportError:
        return None, None
    return VERSION, COMMIT


@cache
def package_version() -> str:
    """The version of this commsim (``0+unknown`` in an uninstalled source tree)."""
    baked, _ = _baked()
    if baked:
        return baked
    try:
        return version("commsim")
    except PackageNotFoundError:
        return "0+unknown"


def checkout_commit(root: Path) -> str | None:
    """HEAD of the git checkout whose top level is ``root``, with ``-dirty`` after it (as
    ``git describe --dirty`` marks it) if tracked files differ from HEAD: a build from such a
    tree is not that commit. None if ``root`` is not a checkout's top level. setup.py stamps
    a wheel with it."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=5, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        if done.returncode != 0:
            return None
        return done.stdout.strip() or None

    top = git("rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != root.resolve():
        return None  # a repository that merely contains the package (a user's own project)
    head = git("rev-parse", "HEAD")
    if head is not None and git("status", "--porcelain", "--untracked-files=no") is not None:
        return f"{head}-dirty"
    return head


@cache
def build_commit() -> str | None:
    """The git commit this commsim was built from: baked into a wheel at build time, or the
    HEAD of the source checkout it runs from; None if neither is known."""
    _, baked = _baked()
    if baked:
        return baked
    return checkout_commit(Path(__file__).resolve().parent.parent)


__version__ = package_version()
