"""Inputs an unlucky user gives: each ends in one line on stderr, exit 2, no traceback, no hang,
and a message that names the file and field without printing the file's contents."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.inputs import MAX_INPUT_BYTES, QUOTE_CHARS
from tests.helpers import commsim_in_process

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"


def commsim(
    *args: object, cwd: Path = ROOT, timeout: float | None = None
) -> subprocess.CompletedProcess:
    """``commsim ARGS``: in this interpreter, or, given a ``timeout``, as a user's shell runs
    it in a fresh one, where a hang (a FIFO, an entity bomb) fails the test instead of the
    suite."""
    if timeout is None:
        return commsim_in_process(*args, cwd=cwd)
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def refused(done: subprocess.CompletedProcess, *expected: str) -> str:
    """Assert the command failed as bad input does (one line, exit 2); return the line."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    for text in expected:
        assert text in done.stderr, done.stderr
    return done.stderr


def scenario(folder: Path, text: str, name: str = "s.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


# ----------------------------------------------------------------------------- files


@pytest.mark.subprocess
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "councils.csv"
    os.mkfifo(fifo)
    refused(commsim("validate", fifo, timeout=20), str(fifo), "not a regular file")
    s = scenario(tmp_path, f'[network]\ncouncils_file = "{fifo}"\n')
    refused(commsim("validate", s, timeout=20), "network.councils_file", "not a regular file")
    councils = tmp_path / "c.csv"
    councils.write_text("name,budget\nAsh,3\nBeech,3\n")
    graph = tmp_path / "g.graphml"
    os.mkfifo(graph)
    s = scenario(tmp_path, f'[network]\ncouncils_file = "{councils}"\ngraph_file = "{graph}"\n')
    refused(commsim("validate", s, timeout=20), "network.graph_file", "not a regular file")


@pytest.mark.subprocess
def test_dev_zero_and_a_directory_are_refused(tmp_path):
    refused(commsim("validate", "/dev/zero", timeout=20), "not a regular file")
    s = scenario(tmp_path, '[network]\ncouncils_file = "/dev/zero"\n')
    refused(commsim("validate", s, timeout=20), "network.councils_file", "not a regular file")
    refused(commsim("validate", tmp_path), "is a directory")


def test_a_file_over_the_size_cap_is_refused_unread(tmp_path):
    big = tmp_path / "big.toml"
    with big.open("wb") as f:
        f.truncate(MAX_INPUT_BYTES + 1)  # sparse: the test writes nothing
    refused(commsim("validate", big), str(big), "at most 20 MB")


def test_integers_beyond_python_s_4300_digits_are_one_line(tmp_path):
    s = scenario(tmp_path, f"[councils]\nlots = {'9' * 5000}\n")
    line = refused(commsim("validate", s), "line 2: lots: a number of more than 4300 digits")
    assert "9" * 30 not in line
    # one Python converts but no parameter allows: the field, the size, not the digits
    s = scenario(tmp_path, f"[councils]\nlots = {'9' * 4000}\n")
    line = refused(commsim("validate", s), "councils.lots", "an integer of about 4000 digits")
    assert "9" * 30 not in line


def test_deep_nesting_is_one_line(tmp_path):
    depth = 50_000
    s = scenario(tmp_path, "x = " + "[" * depth + "]" * depth + "\n")
    refused(commsim("validate", s), str(s), "nested too deeply")
    s = scenario(tmp_path, "x = " + "{a = " * depth + "1" + "}" * depth + "\n")
    refused(commsim("validate", s), str(s), "nested too deeply")


def test_not_utf8_names_the_line(tmp_path):
    s = tmp_path / "s.toml"
    s.write_bytes(b'[scenario]\nname = "a"\ndescription = "\xff"\n')
    refused(commsim("validate", s), "line 3: not a text file")


# ----------------------------------------------------------------------------- strict types


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[mutuals]\ncount = true\n", "mutuals.count: Input should be a valid integer"),
        ('[mutuals]\ncount = "1"\n', "mutuals.count: Input should be a valid integer"),
        ("[mutuals]\ncount = 1.0\n", "mutuals.count: Input should be a valid integer"),
        ("[scenario]\nname = 1\n", "scenario.name: Input should be a valid string"),
        ("[councils]\nbudget_mean = true\n", "councils.budget_mean: Input should be a valid"),
        ('[councils]\ninhouse_bids = "yes"\n', "councils.inhouse_bids: Input should be a valid"),
        ("[councils]\ninhouse_bids = 1\n", "councils.inhouse_bids: Input should be a valid"),
    ],
)
def test_wrong_types_are_refused(tmp_path, text, field):
    refused(commsim("validate", scenario(tmp_path, text)), field)


def test_an_integer_is_a_valid_decimal(tmp_path):
    s = scenario(tmp_path, "[councils]\nbudget_mean = 150\n[[shocks]]\nkind = 'cost_shock'\n"
                           "quarter = 10\nmagnitude = 1\n")  # fmt: skip
    done = commsim("validate", s)
    assert done.returncode == 0, done.stderr


def test_set_is_as_strict_as_the_file(tmp_path):
    refused(
        commsim("run", BASELINE, "--set", "mutuals.count=true", "--out", tmp_path / "o"),
        "mutuals.count",
    )
    assert not (tmp_path / "o").exists()


def test_a_long_description_is_refused_not_drawn(tmp_path):
    s = scenario(tmp_path, f'[scenario]\ndescription = "{"x" * 1_000_000}"\n')
    line = refused(commsim("validate", s), "scenario.description", "at most 500 characters")
    assert len(line) < 300


# ----------------------------------------------------------------------------- messages


def test_a_councils_file_s_contents_are_not_printed(tmp_path):
    """A private file named by mistake (a shadow-like header): a few characters at most."""
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$Zq9secretsalt$hashhashhashhashhash:19000:0:99999:7:::\n")
    s = scenario(tmp_path, f'[network]\ncouncils_file = "{secret}"\n')
    line = refused(commsim("validate", s), "network.councils_file", "no 'name' column")
    assert "secretsalt" not in line and "hashhash" not in line


def test_quoted_values_are_short(tmp_path):
    councils = tmp_path / "c.csv"
    councils.write_text(f"name,budget\nAsh,{'7' * 200}x\nBeech,3\n")
    s = scenario(tmp_path, f'[network]\ncouncils_file = "{councils}"\n')
    line = refused(commsim("validate", s), "line 2: budget")
    assert "7" * QUOTE_CHARS not in line
    key = "k" * 500
    s = scenario(tmp_path, f"[scenario]\n{key} = 1\n")
    line = refused(commsim("validate", s), "unknown key")
    assert key not in line


def test_a_csv_field_beyond_the_csv_module_s_limit_is_one_line(tmp_path):
    councils = tmp_path / "c.csv"
    councils.write_text('name,budget\n"' + "a" * 200_000 + '",3\nBeech,3\n')
    s = scenario(tmp_path, f'[network]\ncouncils_file = "{councils}"\n')
    refused(commsim("validate", s), "line 2: not valid CSV")


@pytest.mark.subprocess
def test_graphml_entity_expansion_is_refused(tmp_path):
    """A "billion laughs" GraphML: the XML parser's amplification limit stops it at once."""
    entities = ['<!ENTITY e0 "' + "lol" * 30 + '">']
    entities += [f'<!ENTITY e{k} "{f"&e{k - 1};" * 10}">' for k in range(1, 10)]
    graph = tmp_path / "g.graphml"
    graph.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE g [{"".join(entities)}]>\n'
        '<graphml><graph edgedefault="undirected"><node id="&e9;"/></graph></graphml>\n'
    )
    councils = tmp_path / "c.csv"
    councils.write_text("name,budget\nAsh,3\nBeech,3\n")
    s = scenario(tmp_path, f'[network]\ncouncils_file = "{councils}"\ngraph_file = "{graph}"\n')
    refused(commsim("validate", s, timeout=30), "network.graph_file", "not valid GraphML")


def test_graphml_that_does_not_parse_is_one_line(tmp_path):
    councils = tmp_path / "c.csv"
    councils.write_text("name,budget\nAsh,3\nBeech,3\n")
    graph = tmp_path / "g.graphml"
    graph.write_text("<graphml><graph><node id='" + "n" * 300 + "'></graph>")
    s = scenario(tmp_path, f'[network]\ncouncils_file = "{councils}"\ngraph_file = "{graph}"\n')
    line = refused(commsim("validate", s), "network.graph_file", "not valid GraphML")
    assert "n" * 40 not in line


# ----------------------------------------------------------------------------- experiments


def experiment(folder: Path, body: str, head: str = "replications = 2") -> Path:
    path = folder / "e.toml"
    path.write_text(f'[experiment]\nname = "t"\nscenario = "{BASELINE}"\n{head}\n{body}')
    return path


def test_fixed_data_files_are_checked_when_validating(tmp_path):
    e = experiment(
        tmp_path, '[fixed]\n"network.councils_file" = "/etc/passwd"\n'
        '[parameters]\n"mutuals.count" = [1, 2]\n',
    )  # fmt: skip
    line = refused(commsim("validate", e), "[fixed]: network.councils_file", "no 'name' column")
    assert "/bin/bash" not in line and "root:x:0:0:" not in line


def test_relative_data_files_are_relative_to_the_experiment(tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "c.csv").write_text("name,budget\nAsh,100\nBeech,120\nCedar,90\n")
    (folder / "g.csv").write_text("Ash,Beech\nBeech,Cedar\n")
    (folder / "g2.csv").write_text("Ash,Nowhere\n")
    body = (
        '[fixed]\n"network.councils_file" = "c.csv"\n"scenario.quarters" = 4\n'
        '[parameters]\n"network.graph_file" = ["g.csv", "g2.csv"]\n'
    )
    e = experiment(folder, body)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    line = refused(commsim("validate", e, cwd=elsewhere), "design point 1", "'Nowhere'")
    assert "is not a council" in line
    e = experiment(folder, body.replace(', "g2.csv"', ""))
    done = commsim("sweep", e, "--out", tmp_path / "out", "--workers", "1", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    import pandas as pd

    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert runs["error"].isna().all(), runs["error"].tolist()


FLOATS = [f"commissioning.{k}" for k in ("price_weight", "quality_weight", "social_value_weight",
          "local_preference", "bid_error", "emergency_premium", "transition_cost", "handback_loss")]  # fmt: skip


def grid(parameters: int, values: int) -> str:
    return "".join(f'"{k}" = {[i / values for i in range(values)]}\n' for k in FLOATS[:parameters])


@pytest.mark.parametrize(
    ("head", "parameters", "expected"),
    [
        ("", grid(7, 10), "the grid design has 10,000,000 points; at most 100,000"),
        ("", grid(8, 20), "the grid design has 25,600,000,000 points"),
        ('design = "morris"\nsamples = 1000000',
         '"mutuals.count" = { min = 1, max = 9 }\n"outsourcers.count" = { min = 1, max = 9 }\n',
         "the morris design has 3,000,000 points"),
        ("replications = 100000",
         '"mutuals.count" = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]\n',
         "1,100,000 runs; at most 1,000,000"),
    ],
)  # fmt: skip
@pytest.mark.subprocess
def test_design_size_is_checked_before_the_design_is_built(tmp_path, head, parameters, expected):
    e = experiment(tmp_path, f"[parameters]\n{parameters}", head)
    refused(commsim("validate", e, timeout=20), expected)


def test_grid_values_that_are_lists_are_one_line(tmp_path):
    e = experiment(tmp_path, '[parameters]\n"mutuals.count" = [[1, 2], [3]]\n')
    refused(commsim("validate", e), "'mutuals.count'[0]: each grid value must be one int value")


@pytest.mark.subprocess
def test_an_experiment_s_scenario_that_is_a_fifo_is_refused(tmp_path):
    fifo = tmp_path / "s.toml"
    os.mkfifo(fifo)
    e = tmp_path / "e.toml"
    e.write_text(
        '[experiment]\nname = "t"\nscenario = "s.toml"\n[parameters]\n"mutuals.count" = [1]\n'
    )
    refused(commsim("validate", e, timeout=20), "experiment.scenario", "not a regular file")


@pytest.mark.parametrize("name", ["..", ".hidden", "-x", "a/b", "x" * 101])
def test_experiment_names_cannot_leave_the_results_folder(tmp_path, name):
    e = experiment(tmp_path, '[parameters]\n"mutuals.count" = [1]\n')
    e.write_text(e.read_text().replace('name = "t"', f'name = "{name}"'))
    refused(commsim("validate", e), "experiment.name")


# ----------------------------------------------------------------------------- outputs


def small_scenario(folder: Path, name: str = "small") -> Path:
    return scenario(
        folder,
        f'[scenario]\nname = "{name}"\nquarters = 6\n[network]\ncouncils = 12\n',
        name="small.toml",
    )


def test_a_scenario_named_dot_dot_stays_inside_results(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "summary.json").write_text("mine")
    done = commsim("run", small_scenario(tmp_path, ".."), cwd=work)
    assert done.returncode == 0, done.stderr
    assert (work / "summary.json").read_text() == "mine"
    assert (work / "results" / "scenario" / "summary.json").exists()
    assert sorted(p.name for p in work.iterdir()) == ["results", "summary.json"]


def test_run_refuses_a_non_empty_out_unless_forced(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("mine")
    s = small_scenario(tmp_path)
    refused(commsim("run", s, "--out", out), f"--out {out}: is not empty", "--force")
    assert (out / "summary.json").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "small.toml"]  # no temp left
    done = commsim("run", s, "--out", out, "--force")
    assert done.returncode == 0, done.stderr
    assert (out / "summary.json").read_text() != "mine" and (out / "overview.png").exists()


@pytest.mark.parametrize("out", ["/proc/commsim-test/x", "/sys/commsim-test"])
def test_an_out_that_cannot_be_created_is_one_line(tmp_path, out):
    refused(commsim("run", small_scenario(tmp_path), "--out", out), f"--out {out}: cannot be")


def _limit_file_size() -> None:  # in the child: a "full disk" after 20 kB of any file
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


@pytest.mark.subprocess
def test_a_full_disk_during_run_leaves_nothing_half_written(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "sim", "run", small_scenario(tmp_path), "--out", out],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        preexec_fn=_limit_file_size,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert "nothing was written" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.toml"]


def test_a_read_only_parent_is_one_line(tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir()
    if os.geteuid() == 0:  # root ignores permissions: make the folder immutable instead
        if subprocess.run(["chattr", "+i", parent], capture_output=True).returncode:
            pytest.skip("running as root without chattr +i")
        undo = ["chattr", "-i", parent]
    else:
        parent.chmod(0o555)
        undo = ["chmod", "755", parent]
    try:
        done = commsim("run", small_scenario(tmp_path), "--out", parent / "x")
    finally:
        subprocess.run(undo, check=True)
    refused(done, f"--out {parent / 'x'}")
    assert list(parent.iterdir()) == []


def test_a_run_that_does_not_fit_needs_force(tmp_path, capsys, monkeypatch):
    from sim.cli import main
    from sim.scenario import cost

    monkeypatch.setattr(cost, "available_memory_mb", lambda: 400.0)
    big = ("--set", "network.councils=10000", "--set", "councils.lots=20")
    assert main(["run", str(BASELINE), *big, "--out", str(tmp_path / "o")]) == 2
    line = capsys.readouterr().err
    assert "800,000 contracts: about 571 MB of memory" in line
    assert "0.4 GB available: --force" in line and not (tmp_path / "o").exists()


def test_a_run_above_the_warning_level_prints_its_estimate_first(capsys):
    from sim.cli import check_run_cost
    from sim.scenario import Scenario

    s = Scenario.model_validate(
        {"network": {"councils": 10000}, "councils": {"lots": 20}, "scenario": {"quarters": 400}}
    )
    check_run_cost(s, force=False)  # 1 min: below the memory available, above the warning
    assert "estimate: 800,000 contracts: about 571 MB of memory and 1 min" in (
        capsys.readouterr().err
    )
    check_run_cost(Scenario(), force=False)  # the baseline: silent
    assert capsys.readouterr().err == ""


# ----------------------------------------------------------------------------- options


def test_a_tls_scheduler_is_one_line(tmp_path):
    e = experiment(tmp_path, '[parameters]\n"mutuals.count" = [1]\n')
    refused(
        commsim("sweep", e, "--scheduler", "tls://10.0.0.5:8786", "--out", tmp_path / "o"),
        "--scheduler tls://10.0.0.5:8786: only tcp://",
    )
    refused(
        commsim("sweep", e, "--scheduler", "tcp://nohost", "--out", tmp_path / "o"), "HOST:PORT"
    )
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("port", ["99999", "0", "-1", "http"])
def test_a_dashboard_port_out_of_range_is_one_line(port):
    refused(commsim("dashboard", "--port", port), "--port", "is not a port")
