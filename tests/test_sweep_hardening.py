"""Sweeps against what users and machines do: two sweeps into one folder, kills at any moment,
damaged part files, signals, full and read-only disks, unreachable schedulers.

The promise tested throughout: a sweep ends with the data of an uninterrupted sweep (every
run once, every (run, quarter) once) or with one line on stderr and the data already written
left whole.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from sim.cli import main
from sim.experiments.executors import InProcessExecutor
from sim.experiments.experiment import load_experiment
from sim.experiments.store import read_timeseries
from sim.experiments.sweep import run_sweep
from sim.scenario import InputError
from tests.sweep_support import REPO, commsim, experiment_file

# Every test here runs commsim or a script in a fresh interpreter: `make test` runs them.
pytestmark = pytest.mark.subprocess

GRID = '"commissioning.social_value_weight" = [0.0, 0.2]\n"mutuals.count" = [8, 16]'
#: 16 runs of 12 quarters: the small sweep most tests break and repair
REPLICATIONS = 4
RUNS = 16
#: 48 runs of 24 quarters: long enough (a few seconds) to be caught while it runs
LONG_FIXED = '[fixed]\n"network.councils" = 20\n"scenario.quarters" = 24\n'


def sweep_data(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """runs.parquet and every time series, in a fixed order, checked for duplicates (less the
    sweep id, one per folder, which differs between an interrupted sweep and its reference)."""
    runs = pd.read_parquet(out / "runs.parquet").sort_values("run_id").reset_index(drop=True)
    ts = pd.read_parquet(out / "timeseries").sort_values(["run_id", "quarter"])
    assert runs.pop("sweep_id").nunique() == 1
    assert not runs["run_id"].duplicated().any()
    assert not ts.duplicated(["run_id", "quarter"]).any()
    return runs, ts.reset_index(drop=True)


def assert_same_data(out: Path, reference: Path) -> None:
    """``out`` holds exactly the rows of the uninterrupted sweep in ``reference``."""
    runs, ts = sweep_data(out)
    ref_runs, ref_ts = sweep_data(reference)
    pd.testing.assert_frame_equal(runs, ref_runs)
    pd.testing.assert_frame_equal(ts, ref_ts)


def one_line(stderr: str) -> str:
    """The single line a failure prints (and no traceback)."""
    assert stderr.count("\n") == 1, stderr
    assert "Traceback" not in stderr
    return stderr.strip()


def cli(capsys, *args: object) -> tuple[int, str, str]:
    """``commsim ARGS`` in this process (fast: the model is imported once for the module)."""
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def popen_sweep(exp: Path, out: Path, *extra: str) -> subprocess.Popen:
    """``commsim sweep`` in its own process group (so a signal can reach all of it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "sim", "sweep", str(exp), "--out", str(out), *extra],
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc.poll() is None, "the sweep ended before the moment the test waits for"
        assert time.monotonic() < deadline
        time.sleep(0.002)


@pytest.fixture(scope="module")
def small_exp(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("small")
    return experiment_file(folder, GRID, replications=REPLICATIONS)


@pytest.fixture(scope="module")
def reference(small_exp) -> Path:
    """The small experiment swept once, uninterrupted."""
    out = small_exp.parent / "reference"
    done = commsim("sweep", small_exp, "--out", out, "--workers", "1")
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def long_exp(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("long")
    return experiment_file(folder, GRID, replications=12, fixed=LONG_FIXED)


@pytest.fixture(scope="module")
def two_at_once(long_exp) -> tuple[Path, list[subprocess.CompletedProcess]]:
    """Two sweeps of the long experiment started together into one --out."""
    out = long_exp.parent / "shared"
    procs = [popen_sweep(long_exp, out, "--workers", "1") for _ in range(2)]
    done = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
    return out, done


def partial_sweep(exp: Path, out: Path, batches: int) -> None:
    """Leave ``out`` as a sweep stopped after ``batches`` written parts."""

    class StopAfter(InProcessExecutor):
        def results(self, fn, tasks):
            for n, batch in enumerate(super().results(fn, tasks), 1):
                yield batch
                if n == batches:
                    raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(load_experiment(exp), out, StopAfter(), progress=False)


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


# ----------------------------------------------------------------------------- the lock


def test_two_sweeps_into_one_folder_one_proceeds(two_at_once):
    out, (first, second) = two_at_once
    codes = sorted([first.returncode, second.returncode])
    assert codes == [0, 2], (first.stderr, second.stderr)
    refused = first if first.returncode == 2 else second
    line = one_line(refused.stderr)
    assert "in use by another sweep (pid " in line and socket.gethostname() in line
    runs, ts = sweep_data(out)  # no duplicate run, no duplicate (run, quarter)
    assert sorted(runs["run_id"]) == list(range(48))
    assert ts.groupby("run_id").size().to_dict() == dict.fromkeys(range(48), 24)
    assert not (out / ".lock").exists()


def test_a_live_sweep_refuses_resume_and_fresh_alike(small_exp, tmp_path, capsys):
    out = tmp_path / "out"
    code = f"from sim.experiments.store import sweep_lock\nwith sweep_lock({str(out)!r}):\n    input()\n"
    owner = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdin=subprocess.PIPE, text=True
    )
    try:
        wait_for(lambda: (out / ".lock").exists() and (out / ".lock").stat().st_size, owner)
        for extra in ([], ["--resume"]):
            status, _, err = cli(capsys, "sweep", small_exp, "--out", out, "--workers", "1", *extra)
            assert status == 2
            assert f"in use by another sweep (pid {owner.pid} on host" in one_line(err)
        assert [p.name for p in out.iterdir()] == [".lock"]  # nothing else written
    finally:
        owner.communicate("\n", timeout=30)
    assert owner.returncode == 0 and not any(out.iterdir())  # the owner let go and tidied up


# ----------------------------------------------------------------------------- kills


def test_killed_before_the_manifest_the_folder_counts_as_new(
    small_exp, reference, tmp_path, capsys
):
    """What a kill between the folder's creation and the manifest leaves: empty sub-folders
    (an older version), a lock file of a dead process, a half-written manifest."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    for resume in ([], ["--resume"]):
        out = tmp_path / f"out{len(resume)}"
        (out / "parts").mkdir(parents=True)
        (out / "timeseries").mkdir()
        (out / ".lock").write_text(f"{dead.pid} {socket.gethostname()}\n")
        (out / ".manifest.json.tmp").write_text('{"experi')
        code, stdout, err = cli(capsys, "sweep", small_exp, "--out", out, "--workers", "1", *resume)
        assert code == 0, err
        assert f"taking over the lock left by pid {dead.pid}" in one_line(err)
        assert f"{RUNS} run now" in stdout
        assert_same_data(out, reference)


@pytest.mark.parametrize("moment", ["folder", "manifest", "parts"])
def test_sigkill_at_any_moment_then_resume_equals_an_uninterrupted_sweep(
    moment, small_exp, reference, tmp_path, capsys
):
    out = tmp_path / "out"
    seen = {
        "folder": lambda: out.exists(),  # as early as can be seen: often before the manifest
        "manifest": lambda: (out / "manifest.json").exists(),
        "parts": lambda: len(list((out / "parts").glob("runs-*.parquet"))) >= 3,
    }[moment]
    proc = popen_sweep(small_exp, out, "--workers", "1")
    wait_for(seen, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    # a manifest means the killed sweep had written its pid into the lock (the resume writes
    # a manifest too, so look before it; killed earlier, the lock may name nobody)
    had_manifest = (out / "manifest.json").exists()
    code, _, err = cli(capsys, "sweep", small_exp, "--out", out, "--workers", "1", "--resume")
    assert code == 0, err
    if had_manifest:
        assert f"taking over the lock left by pid {proc.pid} on host" in one_line(err)
    assert_same_data(out, reference)


# ----------------------------------------------------------------------------- damaged parts


def test_damaged_parts_are_quarantined_and_their_runs_run_again(
    small_exp, reference, tmp_path, capsys
):
    out = tmp_path / "out"
    partial_sweep(small_exp, out, batches=6)
    capsys.readouterr()
    runs_parts = sorted((out / "parts").glob("runs-*.parquet"))
    ts_parts = sorted((out / "timeseries").glob("ts-*.parquet"))
    assert len(runs_parts) == len(ts_parts) == 6
    truncate(runs_parts[0])  # a truncated runs part
    truncate(ts_parts[1])  # a truncated time-series part whose runs part is whole
    data = bytearray(ts_parts[2].read_bytes())  # bytes flipped inside a data page
    middle = len(data) // 3
    data[middle : middle + 8] = bytes(255 - b for b in data[middle : middle + 8])
    ts_parts[2].write_bytes(bytes(data))
    ts_parts[3].unlink()  # a time-series part gone missing

    code, stdout, err = cli(capsys, "sweep", small_exp, "--out", out, "--workers", "1", "--resume")
    assert code == 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 3 and all("unreadable" in line and "run again" in line for line in lines)
    assert "Traceback" not in err
    assert f"{RUNS - 6 + 4} run now" in stdout  # 10 never run, 4 whose data were damaged
    quarantined = sorted(p.name for p in (out / "quarantine").iterdir())
    assert quarantined == sorted(
        [runs_parts[0].name, ts_parts[0].name, ts_parts[1].name, ts_parts[2].name]
    )
    assert_same_data(out, reference)


def test_time_series_written_twice_are_kept_once(small_exp, reference, tmp_path, capsys):
    """What two sweeps at once left before the lock: the same runs' parts twice."""
    out = tmp_path / "out"
    partial_sweep(small_exp, out, batches=3)
    capsys.readouterr()
    for kind, folder in (("runs", "parts"), ("ts", "timeseries")):
        first = sorted((out / folder).glob(f"{kind}-*.parquet"))[0]
        shutil.copy(first, out / folder / f"{kind}-ffffffffffffffff-1-000000.parquet")
    code, stdout, err = cli(capsys, "sweep", small_exp, "--out", out, "--workers", "1", "--resume")
    assert code == 0
    assert "repeats time series already on disk" in one_line(err)
    assert f"{RUNS - 3} run now" in stdout
    assert_same_data(out, reference)  # each (run, quarter) once


def test_a_damaged_gathered_sweep_is_repaired_by_resume(reference, small_exp, tmp_path, capsys):
    """After the sweep: a truncated time series (one compacted file), then a truncated
    runs.parquet."""
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    (compacted,) = (out / "timeseries").glob("ts-*.parquet")
    truncate(compacted)
    with pytest.raises(InputError, match=r"unreadable.*--resume"):
        read_timeseries(out)  # analyze says what to do instead of an Arrow traceback
    code, stdout, err = cli(capsys, "sweep", small_exp, "--out", out, "--workers", "1", "--resume")
    assert code == 0 and "unreadable" in one_line(err)
    assert f"0 already done, {RUNS} run now" in stdout  # every run's series was in that file
    assert_same_data(out, reference)

    truncate(out / "runs.parquet")
    code, stdout, err = cli(capsys, "sweep", small_exp, "--out", out, "--workers", "1", "--resume")
    assert code == 0
    assert "runs.parquet: unreadable" in one_line(err) and "time-series part" in err
    assert f"{RUNS} run now" in stdout
    assert_same_data(out, reference)


# ----------------------------------------------------------------------------- signals


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_workers_and_says_how_to_resume(
    signum, code, long_exp, two_at_once, tmp_path, capsys
):
    out = tmp_path / "out"
    proc = popen_sweep(long_exp, out, "--workers", "2")
    wait_for(lambda: any((out / "parts").glob("runs-*.parquet")), proc)
    os.killpg(proc.pid, signum)  # the whole group, as Ctrl-C in a terminal or a batch system
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code
    line = one_line(stderr)  # no traceback per worker, no leaked-semaphore warning
    assert line.endswith(f"continue with: commsim sweep {long_exp} --out {out} --resume")
    assert signal.Signals(signum).name in line
    assert not (out / "runs.parquet").exists(), "the sweep finished before the signal"
    assert any((out / "parts").glob("runs-*.parquet"))  # what finished is kept
    if signum == signal.SIGTERM:
        status, _, err = cli(capsys, "sweep", long_exp, "--out", out, "--workers", "1", "--resume")
        assert status == 0, err
        assert_same_data(out, two_at_once[0])


# ----------------------------------------------------------------------------- disks


def test_a_full_disk_mid_sweep_is_one_line_and_keeps_what_was_written(
    small_exp, reference, tmp_path, capsys, monkeypatch
):
    """ENOSPC simulated in this process: the fifth Parquet write fails (tmpfs: next test)."""
    out = tmp_path / "out"
    real = pq.write_table
    calls = iter(range(100))

    def write_table(table, where, **kwargs):
        if next(calls) == 4:
            Path(where).write_bytes(b"PAR1 half")  # a part-written temporary file
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(table, where, **kwargs)

    monkeypatch.setattr(pq, "write_table", write_table)
    code, _, err = cli(capsys, "sweep", small_exp, "--out", out, "--workers", "1")
    assert code == 1
    line = one_line(err)
    assert "No space left on device" in line and line.endswith("--resume")
    parts = sorted((out / "parts").glob("*")) + sorted((out / "timeseries").glob("*"))
    assert len(parts) == 4 and not [p for p in parts if p.name.endswith(".tmp")]
    for part in parts:
        pq.read_table(part)  # whole
    monkeypatch.setattr(pq, "write_table", real)
    code, _, err = cli(capsys, "sweep", small_exp, "--out", out, "--workers", "1", "--resume")
    assert code == 0, err
    assert_same_data(out, reference)


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB tmpfs (root only; skipped where mounting is not allowed)."""
    point = tmp_path / "disk"
    point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(point)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root); ENOSPC is simulated above")
    yield point
    subprocess.run(["umount", "-l", str(point)], check=True)


def test_a_real_full_disk_then_read_only(small_disk, small_exp, reference, capsys):
    out = small_disk / "out"
    (small_disk / "filler").write_bytes(b"\0" * 940_000)  # leave room for a few parts only
    code, _, err = cli(capsys, "sweep", small_exp, "--out", out, "--workers", "1")
    assert code == 1 and "No space left on device" in one_line(err)
    written = sorted((out / "parts").glob("runs-*.parquet"))
    assert written and not list(out.rglob(".*.tmp"))
    for part in written:
        pq.read_table(part)

    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    before = sorted(p.name for p in out.rglob("*"))
    code, _, err = cli(capsys, "sweep", small_exp, "--out", out, "--workers", "1", "--resume")
    assert code == 2 and "Read-only file system" in one_line(err)
    code, _, err = cli(capsys, "sweep", small_exp, "--out", small_disk / "new", "--workers", "1")
    assert code == 2 and "Read-only file system" in one_line(err)
    assert sorted(p.name for p in out.rglob("*")) == before

    subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    (small_disk / "filler").unlink()
    code, _, err = cli(capsys, "sweep", small_exp, "--out", out, "--workers", "1", "--resume")
    assert code == 0, err
    assert_same_data(out, reference)


@pytest.mark.parametrize("where", ["/proc/commsim-out", "a-file/out"])
def test_an_out_that_cannot_be_made_is_one_line(where, small_exp, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("a-file").write_text("not a folder")
    code, _, err = cli(capsys, "sweep", small_exp, "--out", where, "--workers", "1")
    assert code == 2 and where in one_line(err)


# ----------------------------------------------------------------------------- schedulers


@pytest.mark.parametrize("address", ["tls://127.0.0.1:1", "tcp://127.0.0.1:1", "nonsense"])
def test_an_unreachable_scheduler_is_one_line(address, small_exp, tmp_path, capsys, monkeypatch):
    import dask

    out = tmp_path / "out"
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code, _, err = cli(capsys, "sweep", small_exp, "--out", out, "--scheduler", address)
    assert code == 2
    # refused before connecting (not tcp://HOST:PORT) or after trying: one line either way
    line = one_line(err)
    assert f"--scheduler {address}:" in line
    assert "cannot connect" in line or "tcp://" in line
    assert not out.exists()
