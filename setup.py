"""Build hooks (the project's metadata is in pyproject.toml).

The top-level scenarios/, experiments/ and data/ stay the one source of the ready files: repo
users and the tests read them there. A wheel gets copies of the three folders under
sim/_examples/ (read by sim.examples through importlib.resources), the licence, citation and
changelog under sim/_meta/, and sim/_build_info.py with the version and the git commit it was
built from (read by sim.version). An sdist carries the _build_info.py of the checkout it was
made from, so a wheel built from it (as `python -m build` does) keeps that commit.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
EXAMPLES = ("scenarios", "experiments", "data")
META = ("LICENSE", "CITATION.cff", "CHANGELOG.md")
BUILD_INFO = Path("sim", "_build_info.py")


def git_head() -> str | None:
    """The commit of the checkout this file is the top of, ``-dirty`` after it if tracked
    files differ from it; None elsewhere (an unpacked sdist). Read by sim/version.py's own
    function, loaded from its file (the package itself is not importable at build time)."""
    spec = importlib.util.spec_from_file_location("_commsim_version", ROOT / "sim" / "version.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.checkout_commit(ROOT)


def write_build_info(target: Path, version: str) -> None:
    """Write the version and commit; outside a checkout, keep the sdist's own file."""
    commit = git_head()
    if commit is None and (ROOT / BUILD_INFO).is_file():
        if (ROOT / BUILD_INFO).resolve() != target.resolve():
            shutil.copyfile(ROOT / BUILD_INFO, target)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        "# Written by setup.py at build time; not in version control.\n"
        f"VERSION = {version!r}\nCOMMIT = {commit!r}\n"
    )


class BuildPy(build_py):
    """build_py, plus the ready files, the meta files and the build info in the wheel."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the checkout itself
            return
        package = Path(self.build_lib, "sim")
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
        for folder in EXAMPLES:
            target = package / "_examples" / folder
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(ROOT / folder, target, ignore=ignore)
        (package / "_meta").mkdir(exist_ok=True)
        for name in META:
            shutil.copyfile(ROOT / name, package / "_meta" / name)
        write_build_info(package / "_build_info.py", self.distribution.get_version())


class Sdist(sdist):
    """sdist, carrying the commit it was made from."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        target = Path(base_dir, BUILD_INFO)
        if target.exists():
            target.unlink()  # a hard link to the source tree's copy: never write through it
        write_build_info(target, self.distribution.get_version())


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
