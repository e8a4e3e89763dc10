"""docs/validation.md's generators: what the record is compared with (every independent
provider, local firms included), plain verdicts, and the one command that reruns them all."""

from __future__ import annotations

import argparse
import re

import pandas as pd
import pytest

from scripts import patterns, regenerate, validation
from scripts.calibrate import command_line, private_share
from tests.helpers import ROOT


def test_the_private_share_counts_every_provider_but_in_house():
    ts = pd.DataFrame(
        {
            "share_outsourcer": [0.5],
            "share_mutual": [0.1],
            "share_local_firm": [0.2],
            "share_inhouse": [0.2],
            "local_share": [0.9],
        }
    )
    assert private_share(ts)[0] == pytest.approx(0.8)  # not 0.5: local firms are private too


def test_the_calibration_section_names_the_flags_that_shrank_the_run():
    args = argparse.Namespace(size="full", population=150, generations=6, draws=300)
    assert command_line(args) == "-m scripts.calibrate --population 150 --generations 6"
    args = argparse.Namespace(size="quick", population=60, generations=4, draws=60)
    assert command_line(args) == "-m scripts.calibrate --quick"


def test_a_directional_check_that_fails_says_so_plainly():
    assert validation.verdict(True) == "as claimed"
    assert validation.verdict(False, note="the premise fails").startswith("**not as claimed**")
    assert "the premise fails" in validation.verdict(False, note="the premise fails")


def test_a_shock_that_spares_a_provider_type_is_named(tmp_path):
    every = tmp_path / "every.toml"
    every.write_text('[[shocks]]\nkind = "cost_shock"\nquarter = 2\n')
    assert validation.spared_by(every) == ""
    some = tmp_path / "some.toml"
    some.write_text(
        '[[shocks]]\nkind = "cost_shock"\nquarter = 2\nprovider_types = ["outsourcer", "mutual", "inhouse"]\n'
    )
    assert validation.spared_by(some) == "local firms"


def test_a_pattern_that_is_not_independent_says_so_in_its_verdict():
    top5 = next(p for p in patterns.PATTERNS if p.key == "top5_share")
    table = pd.DataFrame(
        [
            {
                "pattern": "top5_share",
                "arm": "baseline",
                "record": 0.6,
                "median": 0.6,
                "p5": 0.5,
                "p95": 0.7,
                "band_from": "defaults, 2 seeds",
                "inside": True,
            }
        ]
    )
    args = type("Args", (), {"draws": 2, "seeds": 2, "seed": 1})()
    row = next(line for line in patterns.doc_block(table, args).splitlines() if top5.what in line)
    assert "| inside; not independent" in row


def test_the_one_command_runs_every_script_the_doc_names_calibration_before_patterns():
    named = set(re.findall(r"python -m (scripts\.\w+)", (ROOT / "docs/validation.md").read_text()))
    modules = [s.module for s in regenerate.STEPS]
    # outsourcer_failures and budgets_and_shocks run inside scripts.validation
    assert named - {"scripts.outsourcer_failures", "scripts.budgets_and_shocks"} <= set(modules)
    assert modules.index("scripts.calibrate") < modules.index("scripts.patterns")
    assert "scripts.validation" in modules and "--all" not in " ".join(
        " ".join(s.flags) for s in regenerate.STEPS
    )


@pytest.mark.subprocess
def test_the_one_command_stops_at_a_failing_step_and_records_the_steps_it_ran(tmp_path):
    doc = tmp_path / "validation.md"
    doc.write_text("# Validation\n")
    ok = regenerate.Step("this", (), "the Zen")  # a module every Python can run
    bad = regenerate.Step("json.tool", (str(tmp_path / "missing.json"),), "nothing")
    assert regenerate.run_all([ok, bad, ok], doc=doc) != 0
    assert "How this file is made" not in doc.read_text()  # a failed run records nothing
    assert regenerate.run_all([ok], doc=doc) == 0
    text = doc.read_text()
    assert "| 1 | `.venv/bin/python -m this` | the Zen |" in text and " min |" in text
