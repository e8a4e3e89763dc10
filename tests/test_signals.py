"""Ctrl-C and SIGTERM while compiled code runs (issue 25): on 29a908f a signal landing inside a
numba kernel became a ``SystemError``: ``sweep --workers 1`` recorded it as a failed run and
went on to exit 0 (9 of 13 tries), ``run`` showed a traceback, ``compare --workers 1`` said a
run failed, and SIGTERM to ``run`` left its hidden ``.o.XXXXXXXX`` folder behind.

Now the signal is only noted, and acted on between quarters: each try below stops with the
shell's status (130 or 143), one line, nothing recorded as failed, nothing left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.sweep_support import REPO, commsim, experiment_file

pytestmark = pytest.mark.slow

#: Runs long enough (compiled kernels, ~0.1-0.5 s each) that a signal lands inside one.
BIG = '[fixed]\n"network.councils" = 400\n"scenario.quarters" = 120\n"councils.lots" = 4\n'
TRIES = 4


def start(*args: object) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sim", *map(str, args)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop_after(proc: subprocess.Popen, seconds: float, signum: int) -> tuple[int, str]:
    time.sleep(seconds)
    assert proc.poll() is None, "it ended before the signal"
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=120)
    return proc.returncode, stderr


def one_clean_line(stderr: str) -> str:
    assert "Traceback" not in stderr and "SystemError" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def failed_runs(out: Path) -> int:
    files = [out / "runs.parquet"] if (out / "runs.parquet").exists() else []
    files += sorted((out / "parts").glob("runs-*.parquet"))
    errors = [pq.read_table(f, columns=["error"]).column("error") for f in files]
    return sum(len(e) - e.null_count for e in errors)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stopped_sweep_records_no_failure_and_resumes_every_run(tmp_path, signum, code):
    exp = experiment_file(tmp_path, '"mutuals.count" = [8, 16]', replications=150, fixed=BIG)
    out = tmp_path / "out"
    for n in range(TRIES):  # each try stops it at another moment of another run
        proc = start(
            "sweep", exp, "--out", out, "--workers", "1", "--quiet", *["--resume"] * (n > 0)
        )
        status, stderr = stop_after(proc, 4 + 0.7 * n, signum)
        assert status == code, stderr
        assert "continue with:" in one_clean_line(stderr)
        assert failed_runs(out) == 0
    done = commsim("sweep", exp, "--out", out, "--workers", "1", "--resume")
    assert done.returncode == 0, done.stderr
    assert "0 failed" in done.stdout
    assert pq.read_table(out / "runs.parquet").num_rows == 300


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stopped_run_exits_cleanly_and_leaves_nothing(tmp_path, signum, code):
    out = tmp_path / "o"
    big = ["--set", "network.councils=3000", "--set", "councils.lots=10"]
    for n in range(TRIES):
        proc = start("run", "baseline", *big, "--set", "scenario.quarters=400", "--out", out)
        status, stderr = stop_after(proc, 3 + 0.5 * n, signum)
        assert status == code, stderr
        assert "stopped by" in one_clean_line(stderr)
        assert os.listdir(tmp_path) == []  # no --out, no hidden .o.XXXXXXXX folder


def test_a_stopped_compare_exits_cleanly(tmp_path):
    out = tmp_path / "c"
    proc = start(
        "compare", "baseline", "--set", "network.councils=400", "--set", "councils.lots=4",
        "--set-b", "mutuals.count=20", "--replications", "200", "--workers", "1", "--out", out,
    )  # fmt: skip
    status, stderr = stop_after(proc, 5, signal.SIGINT)
    assert status == 130, stderr
    assert "stopped by SIGINT" in one_clean_line(stderr)
    assert os.listdir(tmp_path) == []
