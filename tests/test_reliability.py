"""Nothing lost, round two (issue 25): each case a second reliability audit found on 29a908f,
driven through the command line. Before the fix each one gave a traceback, a silent wrong
answer or lost data; now each is correct, or one line on stderr with exit status 2.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.cli import main
from sim.experiments import experiment as experiment_module
from sim.experiments.executors import InProcessExecutor
from sim.experiments.experiment import load_experiment
from sim.experiments.sweep import run_sweep
from tests.sweep_support import BASELINE, experiment_file

GRID = '"mutuals.count" = [8, 16]'


def cli(capsys, *args: object) -> tuple[int, str, str]:
    """``commsim ARGS`` in this process."""
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def refused(capsys, *args: object) -> str:
    """The one line ``commsim ARGS`` prints as it refuses with status 2 (no traceback)."""
    code, _, err = cli(capsys, *args)
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


# ----------------------------------------------------------------------------- one spelling


@pytest.mark.parametrize(
    ("parameters", "fixed", "expected"),
    [
        # one parameter varied under both spellings: two columns for one value run
        ('"mutuals.count" = [8, 16]\nmutuals__count = [4, 12]', "", "the same parameter"),
        # fixed and varied at once: the fixed column records a value never run
        (GRID, '"mutuals.count" = 10', "the same parameter"),
        (GRID, "mutuals__count = 10", "the same parameter"),
        # the scenario's seed never reaches a run (each run's comes from experiment.seed)
        ('"scenario.seed" = [1, 2]', "", "experiment.seed"),
        (GRID, '"scenario.seed" = 3', "experiment.seed"),
    ],
)
def test_a_parameter_has_one_spelling(tmp_path, capsys, parameters, fixed, expected):
    fixed_table = f'[fixed]\n"network.councils" = 20\n{fixed}\n'
    exp = experiment_file(tmp_path, parameters, fixed=fixed_table)
    assert expected in refused(capsys, "validate", exp)
    assert expected in refused(capsys, "sweep", exp, "--out", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "setting", ["mutuals__count=10", "mutuals.count=10", "scenario.seed=4", "scenario__seed=4"]
)
def test_set_cannot_change_a_varied_parameter_or_the_seed(tmp_path, capsys, setting):
    exp = experiment_file(tmp_path, GRID)
    line = refused(capsys, "sweep", exp, "--out", tmp_path / "out", "--set", setting)
    assert "--set" in line


def test_set_replaces_a_fixed_value_spelt_the_other_way(tmp_path, capsys):
    fixed = '[fixed]\n"network.councils" = 20\n"scenario.quarters" = 12\n'
    exp = experiment_file(tmp_path, GRID, replications=1, fixed=fixed)
    experiment = load_experiment(exp, overrides={"scenario__quarters": 8})
    assert experiment.fixed == {"network.councils": 20, "scenario__quarters": 8}
    assert experiment.base["scenario"]["quarters"] == 8


# ----------------------------------------------------------------------------- resume


@pytest.fixture
def own_inputs(tmp_path) -> tuple[Path, Path, Path]:
    """An experiment on its own copy of the baseline scenario and of a councils CSV."""
    scenario = tmp_path / "base.toml"
    councils = tmp_path / "councils.csv"
    rows = [f"C{i},{100 + i},{2 + i % 3}" for i in range(20)]
    councils.write_text("name,budget,population\n" + "\n".join(rows) + "\n")
    shutil.copy(BASELINE, scenario)
    fixed = '[fixed]\n"scenario.quarters" = 8\n"network.councils_file" = "councils.csv"\n'
    exp = experiment_file(tmp_path, GRID, replications=1, fixed=fixed)
    exp.write_text(exp.read_text().replace(str(BASELINE), "base.toml"))
    return exp, scenario, councils


@pytest.mark.parametrize("edited", ["scenario", "councils"])
def test_resume_refuses_a_changed_base_scenario_or_data_file(own_inputs, capsys, edited):
    exp, scenario, councils = own_inputs
    out = exp.parent / "out"
    code, _, err = cli(capsys, "sweep", exp, "--out", out, "--workers", "1", "--quiet")
    assert code == 0, err
    recorded = json.loads((out / "manifest.json").read_text())["inputs"]
    assert {str(p.resolve()) for p in (exp, scenario, councils)} <= set(recorded)
    path = {"scenario": scenario, "councils": councils}[edited]
    path.write_text(path.read_text().replace("10", "11", 1))
    line = refused(capsys, "sweep", exp, "--out", out, "--workers", "1", "--resume")
    assert f"{path.resolve()} has changed" in line
    path.write_text(path.read_text().replace("11", "10", 1))  # put back: resume goes on
    code, out_text, err = cli(capsys, "sweep", exp, "--out", out, "--workers", "1", "--resume")
    assert code == 0, err
    assert "2 already done" in out_text


def test_resume_retry_failed_runs_the_failed_runs_again(tmp_path, monkeypatch):
    exp = experiment_file(tmp_path, GRID, replications=2)
    out = tmp_path / "out"
    real = experiment_module.simulate

    def flaky(scenario, seed, councils=False):
        if scenario["mutuals"]["count"] == 16:
            raise RuntimeError("the disk hiccupped")
        return real(scenario, seed, councils)

    monkeypatch.setattr(experiment_module, "simulate", flaky)
    first = run_sweep(load_experiment(exp), out, InProcessExecutor(), progress=False)
    assert first.failed == 2
    monkeypatch.setattr(experiment_module, "simulate", real)
    again = run_sweep(load_experiment(exp), out, InProcessExecutor(), resume=True, progress=False)
    assert (again.ran, again.failed) == (0, 2)  # without asking, failed runs stay failed
    retried = run_sweep(
        load_experiment(exp),
        out,
        InProcessExecutor(),
        resume=True,
        retry_failed=True,
        progress=False,
    )
    assert (retried.ran, retried.failed) == (2, 0)
    runs = pq.read_table(out / "runs.parquet").to_pandas()
    assert len(runs) == 4 and runs["error"].isna().all()


# ----------------------------------------------------------------------------- reading a folder


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> Path:
    """A finished small sweep, copied by each test that spoils it."""
    folder = tmp_path_factory.mktemp("swept")
    exp = experiment_file(folder, GRID, replications=2)
    out = folder / "out"
    run_sweep(load_experiment(exp), out, InProcessExecutor(), progress=False)
    return out


@pytest.fixture
def sweep_copy(swept, tmp_path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(swept, out)
    return out


@pytest.mark.parametrize("command", ["replay", "analyze", "export"])
def test_a_crafted_runs_file_is_refused_before_it_is_loaded(sweep_copy, capsys, command):
    # 3 million rows of one repeated value: a few kilobytes on disk, gigabytes in pandas
    n = 3_000_000
    table = pa.table({"run_id": pa.array([0], pa.int64()).take(pa.array([0] * 1, pa.int32()))})
    zeros = pa.nulls(n, pa.int64()).fill_null(0)
    table = pa.table({"run_id": zeros, "error": pa.nulls(n, pa.string())})
    pq.write_table(table, sweep_copy / "runs.parquet")
    assert (sweep_copy / "runs.parquet").stat().st_size < 1_000_000
    args = {"replay": ["0"], "analyze": [], "export": []}[command]
    line = refused(capsys, command, sweep_copy, *args)
    assert "rows" in line and "runs.parquet" in line


@pytest.mark.parametrize("command", ["replay", "analyze"])
def test_a_runs_file_of_another_schema_is_one_line(sweep_copy, capsys, command):
    pq.write_table(pa.table({"x": [1, 2]}), sweep_copy / "runs.parquet")
    args = ["0"] if command == "replay" else []
    assert "has no run_id column" in refused(capsys, command, sweep_copy, *args)


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m.pop("parameters"),
        lambda m: m.update(experiment=[]),
        lambda m: m["experiment"].update(design="spiral"),
        lambda m: m["parameter_kinds"].clear(),
        lambda m: m["parameters"].update({"trust.initial": [0.5]}),
    ],
)
@pytest.mark.parametrize("command", ["replay", "analyze"])
def test_an_edited_manifest_is_one_line(sweep_copy, capsys, command, edit):
    manifest = json.loads((sweep_copy / "manifest.json").read_text())
    edit(manifest)
    (sweep_copy / "manifest.json").write_text(json.dumps(manifest))
    args = ["3"] if command == "replay" else []
    assert "manifest.json" in refused(capsys, command, sweep_copy, *args)


def test_replay_of_a_run_an_edited_manifest_no_longer_has_is_one_line(sweep_copy, capsys):
    manifest = json.loads((sweep_copy / "manifest.json").read_text())
    manifest["parameters"]["mutuals.count"] = [8]  # point 1 (runs 2 and 3) gone
    (sweep_copy / "manifest.json").write_text(json.dumps(manifest))
    assert "manifest.json" in refused(capsys, "replay", sweep_copy, "3")


# ----------------------------------------------------------------------------- silent inputs


def scenario_file(folder: Path, text: str) -> Path:
    path = folder / "s.toml"
    path.write_text(f'[scenario]\nname = "s"\nquarters = 12\n{text}')
    return path


def councils_csv(folder: Path, header: str = "name,budget,population") -> Path:
    path = folder / "councils.csv"
    rows = "".join(f"C{i},{100 + i},{1000 + i}\n" for i in range(5))
    path.write_text(f"{header}\n{rows}")
    return path


@pytest.mark.parametrize(
    ("shocks", "expected"),
    [
        # an empty list once meant every provider type
        ('[[shocks]]\nkind = "cost_shock"\nquarter = 2\nprovider_types = []\n', "provider_types"),
        # each shock compounds: 400 of them overflowed to NaN outcomes, without a word
        (
            "".join(
                f'[[shocks]]\nkind = "cost_shock"\nquarter = {q % 12}\nmagnitude = 5\n'
                for q in range(400)
            ),
            "cost_shocks together multiply",
        ),
        (
            "".join(
                f'[[shocks]]\nkind = "budget_cut"\nquarter = {q}\nmagnitude = 0.5\n'
                for q in range(11)
            ),
            "budget_cuts together leave",
        ),
    ],
)
def test_shocks_that_hit_nothing_or_overflow_are_refused(tmp_path, capsys, shocks, expected):
    path = scenario_file(tmp_path, "[network]\ncouncils = 20\n" + shocks)
    assert expected in refused(capsys, "validate", path)
    assert expected in refused(capsys, "run", path, "--out", tmp_path / "out")


def test_a_councils_csv_with_two_name_columns_is_refused(tmp_path, capsys):
    csv = councils_csv(tmp_path, "name,budget,Name,population")
    path = scenario_file(tmp_path, f'[network]\ncouncils_file = "{csv}"\n')
    assert "'name' column appears twice" in refused(capsys, "validate", path)


def test_a_graphml_with_two_graphs_is_refused(tmp_path, capsys):
    csv = councils_csv(tmp_path)
    graph = '<graph edgedefault="undirected"><node id="C{0}"/><node id="C{1}"/><edge source="C{0}" target="C{1}"/></graph>'
    graphml = tmp_path / "g.graphml"
    graphml.write_text(
        '<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
        f"{graph.format(0, 1)}{graph.format(2, 3)}</graphml>"
    )
    path = scenario_file(
        tmp_path, f'[network]\ncouncils_file = "{csv}"\ngraph_file = "{graphml}"\n'
    )
    assert "holds 2 <graph> elements" in refused(capsys, "validate", path)


def test_morris_odd_levels_are_refused_not_warned_about(tmp_path, capsys):
    sampled = '"mutuals.count" = { min = 2, max = 20 }\n"trust.initial" = { min = 0.2, max = 0.8 }'
    exp = experiment_file(tmp_path, sampled, design="morris", extra="samples = 2\nlevels = 3")
    assert "even number of levels" in refused(capsys, "validate", exp)


# ----------------------------------------------------------------------------- examples


def test_examples_force_never_writes_through_a_planted_link(tmp_path, capsys):
    dest = tmp_path / "mine"
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    (dest / "scenarios").mkdir(parents=True)
    (dest / "scenarios" / "baseline.toml").symlink_to(outside)
    code, _, err = cli(capsys, "examples", dest, "--force")
    assert code == 0, err
    assert outside.read_text() == "precious\n"
    assert not (dest / "scenarios" / "baseline.toml").is_symlink()
    assert "[scenario]" in (dest / "scenarios" / "baseline.toml").read_text()


def test_examples_refuses_a_linked_folder(tmp_path, capsys):
    dest = tmp_path / "mine"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    dest.mkdir()
    (dest / "data").symlink_to(elsewhere)
    assert "symbolic link" in refused(capsys, "examples", dest, "--force")
    assert not any(elsewhere.iterdir())


def test_examples_into_bad_places_is_one_line(tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert "not a directory" in refused(capsys, "examples", a_file / "sub").lower()
    dest = tmp_path / "mine"
    (dest / "scenarios" / "baseline.toml").mkdir(parents=True)  # a folder where a file goes
    assert "is a folder" in refused(capsys, "examples", dest, "--force")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: a read-only folder is writable")
        assert "cannot write" in refused(capsys, "examples", locked / "x")
    finally:
        locked.chmod(0o700)


# ----------------------------------------------------------------------------- counts


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        (("--seed", "-5"), "--seed -5: must be 0 to"),
        (("--replications", "100000000000"), "--replications 100000000000: must be 2 to 10,000"),
    ],
)
def test_compare_bounds_what_a_user_types(tmp_path, capsys, option, expected):
    out = tmp_path / "cmp"
    args = ("compare", "baseline", "--set-b", "mutuals.count=20", "--out", out, *option)
    assert expected in refused(capsys, *args)
    assert not out.exists() and list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- the CLI's edges


def small_scenario(folder: Path, name: str = "s") -> Path:
    path = folder / "s.toml"
    path.write_text(
        f'[scenario]\nname = "{name}"\nquarters = 4\n[network]\ncouncils = 20\n', encoding="utf-8"
    )
    return path


def test_an_86_character_cjk_name_makes_a_folder_a_file_system_takes(tmp_path, capsys, monkeypatch):
    name = "市" * 86  # 258 bytes of UTF-8: over the 255 a file name may have
    path = small_scenario(tmp_path, name)
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "run", path, "--quiet")
    assert code == 0, err
    (folder,) = (tmp_path / "results").iterdir()
    assert len(folder.name.encode()) <= 255 and (folder / "summary.json").exists()


@pytest.mark.parametrize(
    "command",
    [
        ("run", "{scenario}", "--out", "{long}"),
        ("compare", "{scenario}", "--set-b", "mutuals.count=20", "--out", "{long}"),
        ("sweep", "{experiment}", "--out", "{long}"),
        ("validate", "{long}"),
        ("analyze", "{long}"),
        ("replay", "{long}", "0"),
        ("export", "{long}"),
        ("examples", "{long}"),
    ],
)
def test_a_path_component_over_255_bytes_is_one_line(tmp_path, capsys, command):
    places = {
        "scenario": small_scenario(tmp_path),
        "experiment": experiment_file(tmp_path, GRID),
        "long": tmp_path / ("x" * 300),
    }
    refused(capsys, *(part.format(**places) for part in command))


def test_an_out_that_is_a_loop_of_links_is_one_line(tmp_path, capsys):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    assert "leads nowhere" in refused(capsys, "run", small_scenario(tmp_path), "--out", loop)
    exp = experiment_file(tmp_path, GRID)
    assert "leads nowhere" in refused(capsys, "sweep", exp, "--out", loop)


@pytest.mark.parametrize("bad", ["\x1b[2J\x1b[H", "\x1b]0;pwned\x07", "\u202egnp.exe"])
def test_escape_codes_in_a_scenario_name_are_refused(tmp_path, capsys, bad):
    path = tmp_path / "s.toml"
    escaped = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in bad)  # TOML's
    path.write_text(f'[scenario]\nname = "{escaped}"\n')
    line = refused(capsys, "validate", path)
    assert "control character" in line and "\x1b" not in line and "\u202e" not in line


def test_run_force_replaces_all_files_or_none(tmp_path, capsys, monkeypatch):
    from sim.cli import common

    scenario = small_scenario(tmp_path)
    out = tmp_path / "out"
    code, _, err = cli(capsys, "run", scenario, "--out", out, "--quiet")
    assert code == 0, err
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    scenario.write_text(scenario.read_text().replace("quarters = 4", "quarters = 6"))
    real = os.replace
    calls = []

    def second_move_fails(src, dst):
        calls.append(dst)
        if len(calls) == 3:  # the old overview aside, the new one in, then the disk fills
            raise OSError(28, "No space left on device", str(dst))
        return real(src, dst)

    monkeypatch.setattr(common.os, "replace", second_move_fails)
    code, _, err = cli(capsys, "run", scenario, "--out", out, "--force", "--quiet")
    assert code == 1 and "nothing was written" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "s.toml"]  # no hidden folder


def test_every_command_refuses_what_does_not_fit(tmp_path, capsys, monkeypatch):
    from sim.scenario import cost

    monkeypatch.setattr(cost, "available_memory_mb", lambda: 100.0)
    scenario = small_scenario(tmp_path)
    exp = experiment_file(tmp_path, GRID)
    for args in (
        ("run", scenario, "--out", tmp_path / "a"),
        ("compare", scenario, "--set-b", "mutuals.count=20", "--out", tmp_path / "b"),
        ("sweep", exp, "--out", tmp_path / "c", "--workers", "2"),
        ("validate", scenario),
        ("validate", exp),
    ):
        assert "available: --force runs it anyway" in refused(capsys, *args)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.toml", "s.toml"]


def test_the_estimate_counts_every_worker_and_run(tmp_path):
    from sim.experiments.experiment import experiment_cost
    from sim.scenario.cost import BASE_MB

    grid = '"network.councils" = [20, 2000]'
    exp = load_experiment(
        experiment_file(tmp_path, grid, fixed='[fixed]\n"scenario.quarters" = 12')
    )
    one, four = experiment_cost(exp, 1), experiment_cost(exp, 4)
    assert one.runs == four.runs == 4 and one.contracts == 2000 * 4  # the biggest point's
    assert four.memory_mb == pytest.approx(4 * one.memory_mb + BASE_MB)


@pytest.mark.parametrize(
    "args",
    [
        ("sweep", "{experiment}", "--workers", "100000"),
        ("compare", "{scenario}", "--set-b", "mutuals.count=20", "--workers", "100000"),
        ("sweep", "{experiment}", "--retry-failed"),
    ],
)
def test_counts_a_user_types_are_bounded(tmp_path, capsys, args):
    places = {"scenario": small_scenario(tmp_path), "experiment": experiment_file(tmp_path, GRID)}
    refused(capsys, *(a.format(**places) for a in args), "--out", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_export_refuses_a_folder_a_sweep_is_writing(swept, tmp_path, capsys):
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom sim.experiments.store import sweep_lock\n"
            f"with sweep_lock({str(swept)!r}):\n    print('held', flush=True)\n    time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        line = refused(capsys, "export", swept, "--out", tmp_path / "csv")
        assert "a sweep is still writing it" in line
    finally:
        holder.kill()
        holder.wait()
