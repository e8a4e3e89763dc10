"""Fuzzing the shipped scenario and experiment files as an unlucky user edits them.

Each example mutates a few shipped files (a value of the wrong type, a huge number, a deep
nesting, a misspelt key, a duplicated line, bad UTF-8, a NUL byte, a cut-off file) and checks
them with one ``commsim validate``: every file is either ``ok`` or exactly one line on stderr
naming it, the exit status is 0 or 2, there is no traceback, and nothing hangs (a timeout).
A few files that validate are also run, tiny, and must run or be refused the same way.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sweep_support import commsim as run_commsim

# Every test here runs commsim or a script in a fresh interpreter: `make test` runs them.
pytestmark = pytest.mark.subprocess

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.toml"))
KEY_LINE = re.compile(r"^\s*([\w.\"-]+)\s*=\s*(.*)$")

#: Values a user might type where another type belongs, and the parser-breaking ones.
VALUES = [
    "true",
    '"1"',
    '"text"',
    "1",
    "1.5",
    "-1",
    "0",
    "1e999",
    "nan",
    "-inf",
    "9" * 5000,
    "9" * 4000,
    "[1, 2]",
    "[[1], [2]]",
    "[]",
    "{ a = 1 }",
    "{}",
    "1979-05-27",
    '""',
    '".."',
    '"/dev/zero"',
    '"/etc/passwd"',
    '"' + "x" * 2000 + '"',
    "[" * 3000 + "]" * 3000,
    "{ a = " * 3000 + "1" + " }" * 3000,
]


def _source(path: Path) -> str:
    text = path.read_text()
    # experiments name their scenario relative to experiments/: make it absolute
    return re.sub(
        r'^scenario\s*=\s*"([^"]+)"',
        lambda m: f'scenario = "{(path.parent / m.group(1)).resolve()}"',
        text,
        flags=re.M,
    )


@st.composite
def mutated_file(draw: st.DrawFn) -> bytes:
    """A shipped file with one or two edits, and now and then a bad byte."""
    path = draw(st.sampled_from(SCENARIOS + EXPERIMENTS))
    lines = _source(path).splitlines()
    for _ in range(draw(st.integers(1, 2))):
        keyed = [i for i, line in enumerate(lines) if KEY_LINE.match(line)]
        i = draw(st.sampled_from(keyed)) if keyed else 0
        edit = draw(st.sampled_from(["value", "key", "duplicate", "table", "cut"]))
        match = KEY_LINE.match(lines[i]) if lines else None
        if edit == "value" and match:
            lines[i] = f"{match.group(1)} = {draw(st.sampled_from(VALUES))}"
        elif edit == "key" and match:
            key = match.group(1)
            j = draw(st.integers(0, max(len(key) - 1, 0)))
            lines[i] = f"{key[:j]}{draw(st.sampled_from('xz_.'))}{key[j + 1 :]} = {match.group(2)}"
        elif edit == "duplicate" and lines:
            lines.insert(i, lines[i])
        elif edit == "table":
            lines.insert(i, draw(st.sampled_from(["[network]", "[[shocks]]", "[a.b.c]", "[]"])))
        elif edit == "cut":
            lines = lines[: draw(st.integers(0, len(lines)))]
    data = "\n".join(lines).encode()
    if draw(st.integers(0, 5)) == 0 and data:
        at = draw(st.integers(0, len(data)))
        data = (
            data[:at] + draw(st.sampled_from([b"\xff", b"\x00", b"\xc3", b"\xe2\x82"])) + data[at:]
        )
    return data


def commsim(*args: object) -> subprocess.CompletedProcess:
    """The CLI as a user runs it, failing (not hanging) after 60 s."""
    return run_commsim(*args, timeout=60)


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(files=st.lists(mutated_file(), min_size=6, max_size=10), run=st.integers(0, 2))
def test_every_mutated_file_validates_or_is_one_line(files: list[bytes], run: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for k, data in enumerate(files):
            path = Path(folder) / f"f{k}.toml"
            path.write_bytes(data)
            paths.append(path)
        done = commsim("validate", *paths)
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode in (0, 2), done.stderr
        ok = [line for line in done.stdout.splitlines() if line.endswith(")")]
        bad = done.stderr.splitlines()
        assert len(ok) + len(bad) == len(paths), (done.stdout, done.stderr)
        for line in bad:  # one line per bad file, naming it, never a flood
            assert re.match(rf"{re.escape(folder)}/f\d+\.toml: ", line), line
            assert len(line) < 600, line
        assert done.returncode == (2 if bad else 0)
        scenarios = [line.split(": ok")[0] for line in ok if line.endswith("(scenario)")]
        if run == 0 and scenarios:  # a tiny run of one that validates: it runs, or one line
            out = Path(folder) / "out"
            tiny = ("--set", "scenario.quarters=3", "--set", "network.councils=8")
            done = commsim("run", scenarios[0], *tiny, "--out", out)
            assert "Traceback" not in done.stderr, done.stderr
            if done.returncode:
                assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
                assert not out.exists()
            else:
                assert (out / "summary.json").exists()


# ----------------------------------------------------------------------------- sweep folders

#: What an edit may put into a manifest.json in place of any value.
JSON_VALUES = [None, True, -1, 0, 1e308, "", "x" * 300, "../../etc", [], {}, [1, "a"], {"a": 1}]


@st.composite
def damaged_sweep(draw: st.DrawFn) -> tuple[str, object]:
    """An edit to a finished sweep's folder: manifest.json or runs.parquet, as someone (or a
    crash, or a crafted download) leaves it."""
    target = draw(st.sampled_from(["manifest", "runs"]))
    if target == "manifest":
        edits = []
        for _ in range(draw(st.integers(1, 3))):
            depth = draw(st.integers(1, 2))
            edits.append((depth, draw(st.integers(0, 40)), draw(st.sampled_from(JSON_VALUES))))
        return target, edits
    return target, draw(st.sampled_from(["truncate", "flip", "schema", "types", "rows"]))


def _edit_manifest(manifest: dict, edits: list) -> None:
    for depth, pick, value in edits:
        holder = manifest
        for _ in range(depth - 1):  # into a table of the manifest
            tables = [k for k, v in holder.items() if isinstance(v, dict) and v]
            if not tables:
                break
            holder = holder[tables[pick % len(tables)]]
        keys = list(holder)
        if keys:
            key = keys[pick % len(keys)]
            if pick % 5 == 0:
                del holder[key]
            else:
                holder[key] = value


def _damage_runs(path: Path, how: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "flip":
        path.write_bytes(data[:100] + bytes(b ^ 0xFF for b in data[100:200]) + data[200:])
    elif how == "schema":
        pq.write_table(pa.table({"x": [1, 2, 3]}), path)
    elif how == "types":
        table = pq.read_table(path)
        pq.write_table(table.set_column(0, "run_id", pa.array(["a"] * len(table))), path)
    else:  # a few kilobytes that decode to millions of rows
        n = 3_000_000
        pq.write_table(pa.table({"run_id": pa.nulls(n, pa.int64()).fill_null(0)}), path)


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory) -> Path:
    from tests.sweep_support import experiment_file

    folder = tmp_path_factory.mktemp("fuzz_sweep")
    exp = experiment_file(folder, '"mutuals.count" = [8, 16]')
    done = run_commsim("sweep", exp, "--out", folder / "out", "--workers", "1", "--quiet")
    assert done.returncode == 0, done.stderr
    return folder / "out"


@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(damage=damaged_sweep(), command=st.sampled_from(["replay", "analyze", "export"]))
def test_every_damaged_sweep_folder_reads_or_is_one_line(finished_sweep, damage, command):
    import json
    import shutil

    target, how = damage
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "sweep"
        shutil.copytree(finished_sweep, out)
        if target == "manifest":
            manifest = json.loads((out / "manifest.json").read_text())
            _edit_manifest(manifest, how)
            (out / "manifest.json").write_text(json.dumps(manifest))
        else:
            _damage_runs(out / "runs.parquet", how)
        args = {"replay": [out, "1"], "analyze": [out], "export": [out]}[command]
        done = commsim(command, *args)
        assert "Traceback" not in done.stderr, done.stderr
        if done.returncode not in (0, 1):  # read it (replay: 1 if the run differs), or refused
            assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
