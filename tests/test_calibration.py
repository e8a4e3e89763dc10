"""scripts/calibrate.py (ABC-SMC of the home-care path) and the generated blocks of docs."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
from scriptkit import keep_blocks, write_block


def script(*args: str) -> subprocess.CompletedProcess:
    """Run a script of scripts/ as a user does."""
    return subprocess.run(
        [sys.executable, *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=600
    )


def test_write_block_replaces_its_own_block_and_keeps_the_rest(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("# Title\n\nhand-written\n")
    write_block(doc, "one", "first")
    write_block(doc, "two", "second")
    write_block(doc, "one", "first, again")
    text = doc.read_text()
    assert text.startswith("# Title\n\nhand-written\n")
    assert text.count("<!-- one:begin -->") == 1 and "first, again" in text
    assert "first\n" not in text.replace("first, again", "")
    assert text.index("first, again") < text.index("second")


def test_a_regenerated_file_keeps_the_blocks_other_scripts_wrote():
    old = "# Old\n<!-- a:begin -->\nA\n<!-- a:end -->\ntext\n<!-- b:begin -->\nB\n<!-- b:end -->\n"
    new = "# New\n<!-- b:begin -->\nB2\n<!-- b:end -->\n"
    kept = keep_blocks(old, new)
    assert kept.startswith("# New\n") and "B2" in kept and "\nB\n" not in kept
    assert kept.rstrip().endswith("<!-- a:begin -->\nA\n<!-- a:end -->")


@pytest.mark.slow
def test_calibrate_tiny_narrows_the_market_test_rate(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "validation.md").write_text("# Validation\n\nkept\n")
    out = tmp_path / "cal"
    done = script("scripts/calibrate.py", "--tiny", "--workers", "1", "--out", out, "--docs", docs)
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ("posterior.csv", "predictive.csv", "posterior_summary.csv", "calibration.json"):
        assert (out / name).stat().st_size > 0
    for name in ("calibration_posterior.png", "calibration_predictive.png"):
        assert (docs / "img" / name).stat().st_size > 10_000
    text = (docs / "validation.md").read_text()
    assert text.startswith("# Validation\n\nkept\n")
    assert "<!-- calibration:begin -->" in text and "`councils.market_test_rate`" in text
    summary = pd.read_csv(out / "posterior_summary.csv").set_index("parameter")
    # the record pins the market-test rate: its posterior is narrower than its prior
    assert summary.loc["councils.market_test_rate", "width_ratio"] < 0.8
    posterior = pd.read_csv(out / "posterior.csv")
    assert posterior["weight"].sum() == pytest.approx(1.0)
    assert posterior["councils.market_test_rate"].between(0, 1).all()


@pytest.mark.parametrize(
    ("prior", "expected"),
    [
        ("councils.market_test_rate=0.5:0.2", "LOW must be below HIGH"),
        ("councils.market_test_rate", "NAME=LOW:HIGH"),
        ("councils.no_such=0:1", "councils.no_such"),
        ("councils.market_test_rate=0:2", "councils.market_test_rate"),
    ],
)
def test_a_bad_prior_is_one_line_and_exit_2(tmp_path, prior, expected):
    done = script("scripts/calibrate.py", "--tiny", "--prior", prior, "--out", tmp_path / "c")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], done.stderr
    assert not (tmp_path / "c").exists()
