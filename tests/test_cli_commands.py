"""The CLI's commands as a user meets them: default folders that never collide, ``list``,
``params --format``, sweeps built with ``--vary``, ``-q``, and the notes a long wait gets."""

from __future__ import annotations

import csv
import io
import json
import threading
from pathlib import Path

import pytest

from sim.cli import build_parser, main
from sim.cli.common import first_compile, free_folder
from sim.cli.sweeps import resume_command, warn_without_workers
from sim.cli.vary import parse_vary
from sim.scenario.parameters import parameter_table
from tests.helpers import ROOT, run_cli

SMALL = ["--set", "network.councils=10", "--set", "scenario.quarters=6"]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in an empty folder, as a user does after ``make demo`` left results/ behind."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ----------------------------------------------------------------------------- run


def test_run_without_out_takes_the_next_free_folder_and_names_what_ran(in_tmp, capsys):
    assert main(["run", str(ROOT / "scenarios" / "baseline.toml"), *SMALL]) == 0
    first = capsys.readouterr().out
    assert main(["run", str(ROOT / "scenarios" / "baseline.toml"), *SMALL, "--seed", "7"]) == 0
    second = capsys.readouterr().out
    assert "report: results/baseline/report.html" in first
    assert "report: results/baseline-2/report.html" in second
    assert (in_tmp / "results" / "baseline-2" / "summary.json").is_file()
    assert second.startswith(
        "baseline with network.councils=10, scenario.quarters=6, scenario.seed=7:\n  Resilience"
    )
    assert first.startswith("baseline with network.councils=10, scenario.quarters=6:\n")


def test_free_folder_skips_taken_names_but_reuses_an_empty_one(tmp_path):
    base = tmp_path / "baseline"
    assert free_folder(base) == base
    base.mkdir()
    assert free_folder(base) == base  # empty: nothing to overwrite
    (base / "summary.json").write_text("{}")
    (tmp_path / "baseline-2").write_text("a file, not a folder")
    assert free_folder(base) == tmp_path / "baseline-3"


def test_quiet_run_prints_nothing(in_tmp, capsys):
    assert main(["run", str(ROOT / "scenarios" / "baseline.toml"), *SMALL, "-q"]) == 0
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")
    assert (in_tmp / "results" / "baseline" / "timeseries.csv").is_file()


# ----------------------------------------------------------------------------- list, params


def test_list_names_every_ready_scenario_and_experiment_with_its_description(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    scenarios = sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml"))
    experiments = sorted(p.stem for p in (ROOT / "experiments").glob("*.toml"))
    listed = [line.split()[:2] for line in lines if line.split()[0] in ("scenario", "experiment")]
    assert listed == [["scenario", n] for n in scenarios] + [["experiment", n] for n in experiments]
    [baseline] = [line for line in lines if line.split()[:2] == ["scenario", "baseline"]]
    assert baseline.endswith("today's mixed market, 10% social value, no shock")


@pytest.mark.parametrize("form", ["csv", "json"])
def test_params_as_csv_and_json_carry_the_whole_table(form, capsys):
    assert main(["params", "--format", form]) == 0
    text = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(text))) if form == "csv" else json.loads(text)
    expected = parameter_table()
    assert [r["name"] for r in rows] == [r["name"] for r in expected]
    weight = next(r for r in rows if r["name"] == "commissioning.social_value_weight")
    assert weight["range"] == "0 to 1" and weight["unit"]
    if form == "json":
        assert rows == json.loads(json.dumps(expected))  # defaults keep their types


def test_params_default_is_the_markdown_table(capsys):
    assert main(["params"]) == 0
    assert capsys.readouterr().out.startswith("| parameter | default | unit |")


# ----------------------------------------------------------------------------- --vary


def test_vary_gives_evenly_spaced_values_whole_where_it_can():
    assert parse_vary("outsourcers.count=2:8:4", "grid") == ("outsourcers.count", [2, 4, 6, 8])
    assert parse_vary("a.b=0:0.3:4", "grid") == ("a.b", [0.0, 0.1, 0.2, 0.3])
    assert parse_vary("a.b=0:1", "lhs") == ("a.b", {"min": 0.0, "max": 1.0})


@pytest.mark.parametrize(
    ("vary", "says"),
    [
        ("commissioning.social_value_weight", "expected KEY=LOW:HIGH:N"),
        ("commissioning.social_value_weight=0:0.3", "expected KEY=LOW:HIGH:N"),
        ("commissioning.social_value_weight=0.3:0:3", "LOW must be below HIGH"),
        ("commissioning.social_value_weight=0:x:3", "'x' is not a number"),
        ("commissioning.social_value_weight=0:nan:3", "not a finite number"),
        ("commissioning.social_value_weight=0:0.3:1", "N must be a whole number from 2"),
        ("nosuch.key=0:1:2", "'nosuch.key' names no parameter"),
        ("commissioning.social_value_weight=0:3:2", "commissioning.social_value_weight"),
    ],
)
def test_a_bad_vary_is_one_line_and_writes_nothing(vary, says, in_tmp, capsys):
    assert main(["sweep", "baseline", "--vary", vary, "--out", "results/v"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("commsim sweep: --vary") and says in err
    assert not any((in_tmp / "results").iterdir()) if (in_tmp / "results").exists() else True


@pytest.mark.parametrize("scenario", [str(ROOT / "scenarios" / "baseline.toml"), "baseline"])
def test_a_scenario_without_vary_is_told_how_to_sweep_it(scenario, capsys):
    assert main(["sweep", scenario]) == 2
    assert capsys.readouterr().err == (
        f"commsim sweep: {scenario}: is a scenario, not an experiment; give --vary "
        "KEY=LOW:HIGH:N to sweep it (commsim sweep --help)\n"
    )


def test_a_varied_sweep_is_saved_beside_its_results_and_replays_and_resumes(in_tmp, capsys):
    argv = ["sweep", "baseline", "--vary", "commissioning.social_value_weight=0:0.3:2"]
    argv += ["--vary", "outsourcers.count=2:4:2", "--replications", "2", "--workers", "1"]
    argv += SMALL
    assert main(argv) == 0
    out = in_tmp / "results" / "baseline_sweep"
    assert "baseline_sweep: 8 runs (0 already done, 8 run now, 0 failed)" in capsys.readouterr().out
    saved = in_tmp / "results" / "baseline_sweep.experiment.toml"
    text = saved.read_text()
    assert '"commissioning.social_value_weight" = [0.0, 0.3]' in text
    assert '"outsourcers.count" = [2, 4]' in text
    assert main(["validate", str(saved)]) == 0
    assert main(["replay", str(out), "7"]) == 0
    assert "run 7 matches" in capsys.readouterr().out
    # the same command again resumes it; the saved file answers the resume hint too
    assert main([*argv, "--resume"]) == 0
    assert "(8 already done, 0 run now" in capsys.readouterr().out
    more = ["sweep", str(saved), "--out", str(out), "--resume", "--workers", "1", *SMALL]
    assert main(more) == 0
    # another design into the same folder is refused, and the first file is kept
    other = ["sweep", "baseline", "--vary", "commissioning.social_value_weight=0:0.2:2"]
    assert main(other) == 2
    assert "describes another sweep" in capsys.readouterr().err
    assert saved.read_text() == text


@pytest.mark.subprocess
def test_a_bad_vary_from_the_shell_is_one_line_exit_2(tmp_path):
    done = run_cli("sweep", "baseline", "--vary", "nosuch.key=0:1:2", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "commsim sweep: --vary: [parameters] 'nosuch.key' names no parameter\n"
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())


# ----------------------------------------------------------------------------- sweeps


def test_a_sweep_into_a_used_folder_names_the_option(in_tmp, capsys):
    (in_tmp / "out").mkdir()
    (in_tmp / "out" / "notes.txt").write_text("mine")
    experiment = str(ROOT / "experiments" / "quick_look.toml")
    assert main(["sweep", experiment, "--out", "out", "--workers", "1"]) == 2
    assert capsys.readouterr().err == (
        "commsim sweep: --out out: directory is not empty; pass --resume to continue the sweep "
        "in it, or choose a new --out\n"
    )


def test_sweep_quiet_is_the_one_verbosity_option():
    args = build_parser().parse_args(["sweep", "x.toml", "-q", "--quiet"])
    assert args.quiet == 2


def test_the_resume_hint_keeps_the_scheduler_and_the_changes():
    args = build_parser().parse_args(
        [
            "sweep",
            "e x.toml",
            "--scheduler",
            "tcp://h:8786",
            "--set",
            "a.b=1",
            "--replications",
            "3",
        ]
    )
    hint = resume_command(args, args.experiment, Path("results/e"))
    assert hint == (
        "commsim sweep 'e x.toml' --out results/e --set a.b=1 --replications 3 "
        "--scheduler tcp://h:8786 --resume"
    )


def test_a_scheduler_without_workers_is_reported_with_how_to_add_one(monkeypatch):
    monkeypatch.setattr("sim.cli.sweeps.NO_WORKERS_AFTER_SECONDS", 0.01)
    said, heard = [], threading.Event()

    class Client:
        def nthreads(self) -> dict[str, int]:
            return {}

    class Executor:
        client = Client()

    def note(message: str) -> None:
        said.append(message)
        heard.set()

    warn_without_workers(Executor(), "tcp://h:8786", note)
    assert heard.wait(5)
    assert said == [
        "the scheduler tcp://h:8786 has no workers; the runs wait until one joins: "
        "start one with: dask worker tcp://h:8786"
    ]
    assert warn_without_workers(object(), None, note) is None


def test_the_first_compile_is_announced_only_without_a_cache(tmp_path, monkeypatch):
    import sim.core

    code = tmp_path / "core"
    (code / "kernels" / "__pycache__").mkdir(parents=True)
    monkeypatch.setattr(sim.core, "__file__", str(code / "__init__.py"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    assert first_compile()
    (code / "kernels" / "__pycache__" / "tender.deliver-1.py312.nbi").write_bytes(b"")
    assert not first_compile()
