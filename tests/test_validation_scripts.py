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
    # the England comparison draws its runs' parameters from the calibration's posterior
    assert modules.index("scripts.calibrate") < modules.index("scripts.england_validation")
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


# ----------------------------------------------------------------------------- calibration set


def test_a_band_verdict_says_inside_or_which_side_the_model_misses_on():
    from scripts.calibrate import band_verdict

    assert band_verdict(0.05, 0.03, 0.07) == "inside"
    assert band_verdict(0.03, 0.03, 0.07) == "inside"  # the band's ends count as inside
    assert band_verdict(0.02, 0.03, 0.07) == "miss: model above the record"
    assert band_verdict(0.08, 0.03, 0.07) == "miss: model below the record"


def test_the_record_statistics_read_the_share_at_the_records_years_and_average_the_margin():
    import numpy as np

    from scripts.calibrate import CALIBRATION_SET, MARGIN_QUARTERS, record_statistics

    share = np.linspace(0.0, 0.79, 80)
    margin = np.zeros(80)
    margin[MARGIN_QUARTERS.start : MARGIN_QUARTERS.stop] = 0.04
    margin[MARGIN_QUARTERS.stop] = 9.0  # outside the window: ignored
    stats = record_statistics(share, margin)
    assert list(stats) == [r.key for r in CALIBRATION_SET]
    assert stats["share_2002"] == pytest.approx(share[40])
    assert stats["share_2008"] == pytest.approx(share[64])
    assert stats["margin"] == pytest.approx(0.04)


def test_identification_names_the_record_a_parameter_moves_and_flags_one_that_moves_none():
    import numpy as np

    from scripts.calibrate import Record, identification, identified_by

    rng = np.random.default_rng(0)
    a, b = rng.uniform(size=200), rng.uniform(size=200)
    runs = pd.DataFrame(
        {"a": a, "b": b, "x": a + rng.normal(0, 0.05, 200), "y": rng.normal(size=200)}
    )
    records = [Record("x", "x", 0.5, (0.4, 0.6), "s"), Record("y", "y", 0.0, (-1, 1), "s")]
    rho = identification(runs, {"a": (0, 1, ""), "b": (0, 1, "")}, records)
    assert rho.loc["a", "x"] > 0.9 and abs(rho.loc["b", "x"]) < 0.3
    table = identified_by(rho, pd.Series({"a": 0.3, "b": 0.95})).set_index("parameter")
    assert table.loc["a", "record"] == "x" and table.loc["a", "status"] == "identified"
    assert table.loc["b", "status"] == "not identified"
    # narrowed but moving no record (or moving one but not narrowed): weakly
    assert identified_by(rho, pd.Series({"a": 0.95, "b": 0.3})).status.tolist() == [
        "weakly identified",
        "weakly identified",
    ]


def test_the_provenance_table_reads_which_fitted_parameters_the_records_identify(tmp_path):
    from scripts import provenance
    from scripts.calibrate import PRIORS

    assert provenance.identification_status(tmp_path) == {}  # no calibration yet
    names = list(PRIORS)
    rho = pd.DataFrame({"share_2002": [0.9] + [0.0] * (len(names) - 1)}, index=names)
    rho.to_csv(tmp_path / "identification.csv", index_label="parameter")
    pd.DataFrame({"parameter": names, "width_ratio": [0.5] + [1.0] * (len(names) - 1)}).to_csv(
        tmp_path / "posterior_summary.csv", index=False
    )
    status = provenance.identification_status(tmp_path)
    assert status[names[0]] == "identified"
    assert {status[n] for n in names[1:]} == {"not identified"}
    block = provenance.block(tmp_path)
    assert f"| `{names[0]}` | calibrated |" in block
    assert "| fitted, not or weakly identified |" in block and f"`{names[1]}`" in block


def test_the_share_of_mutuals_in_profit_counts_only_those_that_traded():
    import numpy as np

    surplus = np.array([1.0, -1.0, 0.0, 5.0, 2.0])
    cost = np.array([10.0, 10.0, 0.0, 10.0, 10.0])  # the third had no costs: not trading
    keep = np.array([True, True, True, False, True])  # the fourth is not a mutual
    assert patterns.share_with_surplus(surplus, cost, keep) == pytest.approx(2 / 3)
    assert np.isnan(patterns.share_with_surplus(surplus, cost, np.zeros(5, dtype=bool)))
