"""commsim as a user installs it: ready files by name, copied out to edit, the version, extras.

The slow tests build the wheel (as ``python -m build`` does: an sdist, then a wheel from it),
install it into a new virtual environment and drive it from an empty folder. The new
environment borrows this one's dependencies (a .pth file) and installs the wheel without
them, so the test needs no network and checks the wheel, not the resolver.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from sim.cli import main
from sim.examples import copy_examples, resolve_scenario_arg, scenario_names
from sim.experiments.experiment import load_experiment
from sim.scenario import InputError, load_scenario
from sim.version import build_commit
from tests.helpers import ROOT, run_cli

# Every test here runs commsim or a script in a fresh interpreter: `make test` runs them.
pytestmark = pytest.mark.subprocess

# ----------------------------------------------------------------------------- from the checkout


def test_a_ready_scenario_runs_by_name_from_any_folder(tmp_path):
    done = run_cli(
        "run", "budget_cuts", "--out", "out", "--set", "scenario.quarters=16", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["scenario"]["scenario"]["name"] == "budget_cuts"


def test_an_unknown_name_lists_the_ready_ones(tmp_path):
    done = run_cli("run", "basline", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("commsim run: basline: no such file")
    assert all(name in line for name in scenario_names())
    assert not (tmp_path / "results").exists()


def test_a_path_is_never_taken_for_a_name(tmp_path):
    assert resolve_scenario_arg("mine.toml") == "mine.toml"  # missing: load_scenario says so
    (tmp_path / "baseline").mkdir()
    assert resolve_scenario_arg(str(tmp_path / "baseline")) == str(tmp_path / "baseline")
    assert resolve_scenario_arg("baseline") == str(ROOT / "scenarios" / "baseline.toml")


def test_copied_examples_resolve_their_relative_paths(tmp_path):
    copy_examples(tmp_path / "ex")
    for folder in ("scenarios", "experiments", "data"):
        src = sorted(p.name for p in (ROOT / folder).iterdir())
        assert sorted(p.name for p in (tmp_path / "ex" / folder).iterdir()) == src
    experiment = load_experiment(tmp_path / "ex" / "experiments" / "quick_look.toml")
    assert experiment.base["network"]["councils"] == 20
    own = load_scenario(tmp_path / "ex" / "scenarios" / "my_councils_example.toml")
    assert own.network.councils_file == str(tmp_path / "ex" / "data" / "example_councils.csv")


def test_examples_never_overwrite_without_force(tmp_path):
    copy_examples(tmp_path)
    edited = tmp_path / "scenarios" / "baseline.toml"
    edited.write_text("# mine\n")
    with pytest.raises(InputError, match="already exists"):
        copy_examples(tmp_path)
    assert edited.read_text() == "# mine\n"
    done = run_cli("examples", str(tmp_path))
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1
    assert edited.read_text() == "# mine\n"
    assert run_cli("examples", str(tmp_path), "--force").returncode == 0
    assert edited.read_text() == (ROOT / "scenarios" / "baseline.toml").read_text()


def test_version_names_the_checkout_commit(tmp_path):
    done = run_cli("--version", cwd=tmp_path)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert done.returncode == 0 and done.stdout.startswith("commsim ")
    assert build_commit().removesuffix("-dirty") == head and head in done.stdout


def test_the_commit_is_not_read_from_a_repository_around_the_package(tmp_path):
    from sim.version import checkout_commit

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "pkg").mkdir()
    assert checkout_commit(tmp_path / "pkg") is None


def test_a_tree_with_uncommitted_changes_is_marked_dirty(tmp_path):
    """make dist from such a tree must not stamp the wheel with the clean commit."""
    from sim.version import checkout_commit

    def git(*args: str) -> str:
        env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
               "GIT_COMMITTER_EMAIL": "t@t", "PATH": os.environ["PATH"]}  # fmt: skip
        return subprocess.run(
            ["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True, env=env
        ).stdout.strip()

    git("init", "-q")
    (tmp_path / "a.txt").write_text("one\n")
    git("add", "a.txt")
    git("commit", "-qm", "one")
    head = git("rev-parse", "HEAD")
    (tmp_path / "untracked.txt").write_text("not part of the build's commit either way\n")
    assert checkout_commit(tmp_path) == head
    (tmp_path / "a.txt").write_text("two\n")
    assert checkout_commit(tmp_path) == f"{head}-dirty"


@pytest.mark.parametrize("command", ["run", "validate", "params", "examples", "sweep", "compare"])
def test_every_subcommand_takes_verbose_and_quiet(command):
    done = run_cli(command, "--help")
    assert "--verbose" in done.stdout and "--quiet" in done.stdout


def test_verbose_logs_what_a_name_resolved_to(tmp_path):
    done = run_cli("validate", "-v", "baseline", cwd=tmp_path)
    assert done.returncode == 0
    assert "baseline.toml" in done.stderr and "INFO" in done.stderr
    quiet = run_cli("validate", "-q", "baseline", cwd=tmp_path)
    assert quiet.stderr == ""


def test_a_missing_extra_is_named(monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "sim.dashboard.app", raising=False)
    monkeypatch.setitem(sys.modules, "solara", None)  # import solara -> ModuleNotFoundError
    assert main(["dashboard"]) == 2
    assert capsys.readouterr().err == (
        "commsim dashboard: needs solara, which is not installed: pip install 'commsim[dashboard]'\n"
    )
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    experiment = str(ROOT / "experiments" / "quick_look.toml")
    assert main(["sweep", experiment, "--scheduler", "tcp://127.0.0.1:1", "--out", "x"]) == 2
    assert "pip install 'commsim[cluster]'" in capsys.readouterr().err


# ----------------------------------------------------------------------------- from a wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built as ``python -m build`` builds it (an sdist, then a wheel from it)."""
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [built] = dist.glob("commsim-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A new virtual environment with the wheel installed; returns its bin/."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=False)
    [site] = env_dir.glob("lib/python*/site-packages")
    deps = [p for p in sys.path if p.endswith("site-packages")]
    (site / "borrowed.pth").write_text("\n".join(deps) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"),
         "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return env_dir / "bin"


def _in(folder: Path, *argv: str | Path) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(folder)}  # no PYTHONPATH: only the install
    return subprocess.run(
        [str(a) for a in argv], cwd=folder, capture_output=True, text=True, env=env, timeout=300
    )


@pytest.mark.slow
def test_the_wheel_ships_its_files_and_its_commit(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        info = z.read("sim/_build_info.py").decode()
    meta = {f"sim/_meta/{n}" for n in ("LICENSE", "CITATION.cff", "CHANGELOG.md")}
    assert {"sim/py.typed", *meta} <= names
    for folder in ("scenarios", "experiments", "data"):
        for path in (ROOT / folder).rglob("*"):  # data/england/ is a folder of its own
            if path.is_file() and not path.name.startswith("."):
                assert f"sim/_examples/{path.relative_to(ROOT).as_posix()}" in names
    # The dashboard's page files (CSS, HTML, Vue templates) are package data.
    for path in (ROOT / "sim" / "dashboard" / "assets").iterdir():
        assert f"sim/dashboard/assets/{path.name}" in names
    assert f"COMMIT = {build_commit()!r}" in info  # carried through the sdist


@pytest.mark.slow
def test_the_installed_wheel_works_from_an_empty_folder(installed, tmp_path):
    commsim = installed / "commsim"
    version = _in(tmp_path, commsim, "--version")
    assert version.returncode == 0 and (build_commit() or "") in version.stdout

    run = _in(tmp_path, commsim, "run", "baseline", "--set", "scenario.quarters=12")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "results" / "baseline" / "summary.json").exists()
    # England's councils, map and record ship beside their scenario
    england = _in(tmp_path, commsim, "run", "england_home_care", "--set", "scenario.quarters=2")
    assert england.returncode == 0, england.stderr

    assert _in(tmp_path, commsim, "examples", "ex").returncode == 0
    assert _in(tmp_path, commsim, "examples", "ex").returncode == 2
    sweep = _in(
        tmp_path, commsim, "sweep", "ex/experiments/quick_look.toml", "--out", "s", "--workers", "1"
    )
    assert sweep.returncode == 0, sweep.stderr
    assert (tmp_path / "s" / "runs.parquet").exists()

    python = installed / "python"
    shipped = _in(
        tmp_path,
        python,
        "-c",
        "import sim, sim.dashboard.levers as a; from importlib.resources import files; "
        "m = files('sim') / '_meta'; "
        "print(sim.__file__); print(sorted(a.scenario_files())); "
        "print(all((m / n).is_file() for n in ('LICENSE', 'CITATION.cff', 'CHANGELOG.md')))",
    )
    where, picker, meta = shipped.stdout.splitlines()
    assert "site-packages" in where and not where.startswith(str(ROOT))
    assert "baseline.toml" in picker and "carillion_collapse.toml" in picker
    assert meta == "True"


@pytest.mark.slow
def test_mypy_sees_the_installed_types(installed, tmp_path):
    (tmp_path / "use.py").write_text(
        "from sim import load_scenario\n"
        "from sim.examples import scenario_names\n"
        "names: list[int] = scenario_names()\n"
    )
    done = _in(tmp_path, installed / "python", "-m", "mypy", "--no-incremental", "use.py")
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'has type "list[str]", variable has type "list[int]"' in done.stdout
