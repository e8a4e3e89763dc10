"""The evidence scripts: calibrate.py (ABC-SMC of the home-care path), patterns.py, spread.py,
claims.py, and the generated blocks they write into docs."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from scripts import claims, patterns
from scripts.scriptkit import keep_blocks, write_block
from sim import CommissioningModel
from sim.core.outcomes import SUMMARY_FIELDS
from tests.helpers import ROOT, small

# Every test here runs commsim or a script in a fresh interpreter: `make test` runs them.
pytestmark = pytest.mark.subprocess


def script(module: str, *args: str) -> subprocess.CompletedProcess:
    """Run a script of scripts/ as a user does (``python -m scripts.NAME``)."""
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
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
    done = script("scripts.calibrate", "--tiny", "--workers", "1", "--out", out, "--docs", docs)
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
    done = script("scripts.calibrate", "--tiny", "--prior", prior, "--out", tmp_path / "c")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], done.stderr
    assert not (tmp_path / "c").exists()


# ----------------------------------------------------------------------------- patterns, spread


def test_handbacks_found_are_the_handbacks_the_model_counts():
    shock = {"kind": "cost_shock", "quarter": 4, "magnitude": 0.1,
             "provider_types": ["outsourcer", "mutual", "inhouse"]}  # fmt: skip
    model = CommissioningModel(None, rng=3, **small(shocks=[shock]))
    found = [patterns.step_and_find_handbacks(model) for _ in range(16)]
    counted = model.timeseries()["handbacks"].to_numpy()
    assert counted.sum() > 0  # the shock makes contracts lose money: some are handed back
    assert [len(f) for f in found] == list(counted[-16:])


def test_an_award_is_a_new_holder_or_a_new_term_and_nothing_else():
    from scripts.after_collapse import new_awards
    from tests.test_mechanisms import MUTUAL, OUTSOURCER, hand_built_market

    ct = hand_built_market().contracts
    ct.place(0, OUTSOURCER, price=99.0, start=0, end=8, emergency=False)
    ct.place(1, MUTUAL, price=99.0, start=0, end=8, emergency=False)
    before = {"holder": ct.view("holder").copy(), "start": ct.view("start").copy()}
    assert new_awards(before, ct).size == 0  # nothing changed hands
    ct.place(0, OUTSOURCER, price=99.0, start=8, end=16, emergency=False)  # a new term
    ct.place(1, OUTSOURCER, price=98.0, start=0, end=8, emergency=False)  # a new holder
    ct.holder[2] = -1  # a gap is no award
    assert new_awards(before, ct).tolist() == [0, 1]


@pytest.mark.slow
def test_patterns_and_spread_write_their_tables(tmp_path):
    docs = tmp_path / "docs"
    done = script("scripts.patterns", "--draws", "2", "--seeds", "2", "--collapse-seeds", "2",
                  "--workers", "1", "--posterior", tmp_path / "none.csv", "--docs", docs)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    text = (docs / "validation.md").read_text()
    block = text[text.index("<!-- patterns:begin -->") : text.index("<!-- patterns:end -->")]
    for pattern in patterns.PATTERNS:
        assert pattern.source in block
    verdicts = [line for line in block.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(verdicts) == 1 + 2 * 3 + 4  # header, three home-care patterns x 2 arms, 4 more
    assert all(("inside" in v) or ("**miss, model " in v) for v in verdicts[1:])
    assert "scenario values, 2 seeds (no posterior)" in block  # says where the band comes from
    assert (docs / "img" / "patterns.png").stat().st_size > 10_000

    done = script("scripts.spread", "--seeds", "3", "--workers", "1",
                  "--out", tmp_path / "spread", "--docs", docs)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    text = (docs / "validation.md").read_text()
    assert "<!-- patterns:begin -->" in text  # the other block is kept
    block = text[text.index("<!-- spread:begin -->") :]
    for name in SUMMARY_FIELDS:
        assert f"| `{name}` |" in block
    runs = pd.read_csv(tmp_path / "spread" / "runs.csv")
    assert len(runs) == 3 and runs["seed"].nunique() == 3


# ----------------------------------------------------------------------------- claims


@pytest.mark.slow
def test_claims_on_a_tiny_sweep(tmp_path):
    text = (ROOT / "experiments" / "headline_claims.toml").read_text()
    head, _ = text.split("[parameters]")
    levers = "\n".join(line for line in text.split("[parameters]")[1].splitlines()
                       if line.startswith(('"commissioning.social_value_weight"',
                                           '"commissioning.local_preference"',
                                           '"councils.inhouse_capacity_retained"',
                                           '"mutuals.social_commitments"')))  # fmt: skip
    tiny = (
        head.replace("samples = 256", "samples = 16")
        .replace("replications = 2", "replications = 1")
        .replace("quarter = 40,", "quarter = 12,")
        .replace("../scenarios/baseline.toml", str(ROOT / "scenarios" / "baseline.toml"))
        + '"network.councils" = 20\n"scenario.quarters" = 24\n"mutuals.count" = 8\n'
    )
    experiment = tmp_path / "tiny.toml"
    experiment.write_text(f"{tiny}[parameters]\n{levers}\n")
    docs = tmp_path / "docs"
    done = script("scripts.claims", "--experiment", experiment, "--out", tmp_path / "sweep",
                  "--workers", "1", "--docs", docs, "--pilot-dir", tmp_path / "none")  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    page = (docs / "claims.md").read_text()
    assert "16 samples x (4 inputs + 2) = 96 design points" in page and "96 runs took" in page
    assert "**a reduced market** (the baseline has 150 councils and 80 quarters)" in page
    assert "No pilot sweep was found" in page
    for claim in claims.CLAIMS:
        section = page[page.index(f"### {claims.CLAIMS.index(claim) + 1}. {claim.sentence}") :]
        first = section.split("\n\n")[1]  # the verdict comes first: holds, only if, or fails
        assert first.startswith(("**Holds", "**Fails"))
        head = section.split("| input |")[0]
        assert "at the other levers' defaults" in head and "across the other levers' ranges" in head
        assert "price: `total_spend`, GBP m" in head and "95% CI" in head
        assert (docs / "img" / f"claims_{claim.key}.png").stat().st_size > 10_000
    # reading the finished sweep again gives the same page
    again = tmp_path / "again"
    done = script("scripts.claims", "--sweep", tmp_path / "sweep", "--docs", again,
                  "--pilot-dir", tmp_path / "none")  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert (again / "claims.md").read_text() == page
