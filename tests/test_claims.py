"""scripts/claims_stats.py and scripts/claims.py's pure parts: a lever judged at the other
levers' defaults and across them, the assumptions a claim leans on, and the verdict's words
(a claim that holds only under an assumption says so first; one that fails says "Fails")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scripts import claims
from scripts.claims_stats import (
    Effect,
    conditional_effects,
    depends_on,
    lever_effect,
    num,
    price_sentence,
    scaled_defaults,
    sensitivity,
    short_verdict,
    verdict,
)

HOLDS = Effect(0.10, 0.05, 0.15, 1000)
NOISE = Effect(0.01, -0.03, 0.05, 1000)
OPPOSITE = Effect(-0.10, -0.15, -0.05, 1000)
BOUNDS = {"a": (0.0, 0.8), "b": (0.3, 1.0)}


def blocks_of(n_blocks: int, size: int) -> pd.Series:
    return pd.Series(np.repeat(np.arange(n_blocks), size))


def design(n: int, columns: list[str], seed: int) -> pd.DataFrame:
    return pd.DataFrame(np.random.default_rng(seed).uniform(0, 1, (n, len(columns))),
                        columns=columns)  # fmt: skip


def noise(n: int, seed: int, sd: float = 0.05) -> np.ndarray:
    return np.random.default_rng(seed + 100).normal(0, sd, n)


def leaning(rows: list[dict]) -> pd.DataFrame:
    """A sensitivity table as :func:`sensitivity` returns it, from a few rows."""
    base = {"effect_low": 0.1, "effect_high": 0.1, "status_low": "holds",
            "status_high": "holds", "shift": 0.0, "beyond_noise": False, "depends": False,
            "only_if": None}  # fmt: skip
    return pd.DataFrame([{**base, **r} for r in rows], columns=["parameter", *base])


# ----------------------------------------------------------------------------- effects


def test_lever_effect_recovers_a_known_slope_with_a_ci_that_covers_it():
    x = design(600, ["lever", "a", "b"], 0)
    y = pd.Series(0.3 * x["lever"] - 0.1 * x["a"] + noise(600, 0))
    effect = lever_effect(x, y, "lever", blocks_of(120, 5))
    assert effect.n == 600 and effect.low < 0.3 < effect.high and effect.high - effect.low < 0.05
    assert effect.effect == pytest.approx(0.3, abs=0.02)


def test_a_curved_response_is_measured_from_the_levers_bottom_to_its_top():
    # y rises by 1 across the lever's range, all of it in the upper half: a straight line
    # through the runs would miss the ends; the square term does not
    x = design(2000, ["lever", "a"], 1)
    y = pd.Series(x["lever"] ** 2 + noise(2000, 1))
    assert lever_effect(x, y, "lever", blocks_of(400, 5)).effect == pytest.approx(1.0, abs=0.03)


def test_at_the_other_levers_defaults_the_effect_is_not_diluted_by_averaging_over_them():
    # the lever works fully when the other lever sits at its default (0), not at all at its top
    x = design(4000, ["lever", "other", "assumed"], 2)
    y = pd.Series(0.2 * x["lever"] * (1 - x["other"]) + 0.05 * x["assumed"] + noise(4000, 2))
    block = blocks_of(800, 5)
    at_defaults = lever_effect(x, y, "lever", block, at={"other": 0.0})
    across = lever_effect(x, y, "lever", block)
    assert at_defaults.low < 0.2 < at_defaults.high
    assert across.low < 0.1 < across.high
    assert at_defaults.low > across.high  # the two are told apart
    # held at its top instead, the other lever leaves the lever nothing to do
    top = lever_effect(x, y, "lever", block, at={"other": 1.0})
    assert top.low < 0 < top.high


def test_too_few_blocks_for_the_inputs_is_not_estimable_and_says_so():
    x = design(40, ["lever", "a", "b"], 3)
    effect = lever_effect(x, pd.Series(x["lever"]), "lever", blocks_of(4, 10))
    assert np.isnan(effect.effect) and claims.status(effect, +1) == "undefined"
    assert verdict(+1, effect, HOLDS, leaning([]), BOUNDS).startswith("Not estimable")
    assert short_verdict(+1, HOLDS, effect, leaning([])) == "not estimable"


def test_scaled_defaults_place_each_lever_in_its_range():
    base = {"commissioning": {"local_preference": 0.0}, "councils": {"retained": 0.1}}
    problem = {"names": ["commissioning.local_preference", "councils.retained", "x.y"],
               "bounds": [[0.0, 0.2], [0.0, 0.5], [0, 1]]}  # fmt: skip
    got = scaled_defaults(base, problem, ["commissioning.local_preference", "councils.retained"])
    assert got == pytest.approx({"commissioning.local_preference": 0.0, "councils.retained": 0.2})


# ----------------------------------------------------------------------------- sensitivity


def test_depends_on_flags_an_assumption_that_flips_the_effect_and_not_an_idle_one():
    x = design(2000, ["lever", "flips", "idle"], 4)
    # the lever helps when the assumed number is high and hurts when it is low
    y = pd.Series((x["flips"] - 0.3) * x["lever"] + noise(2000, 4))
    block = blocks_of(400, 5)
    effect = lever_effect(x, y, "lever", block).effect
    table = conditional_effects(x, y, "lever", block, ["flips", "idle"])
    assert depends_on(effect, table, +1) == ["flips"]


def test_a_claim_that_holds_in_one_half_of_an_assumption_alone_is_marked_only_if_that_half():
    x = design(3000, ["lever", "other", "switch", "idle"], 5)
    y = pd.Series(0.2 * x["lever"] * (x["switch"] >= 0.5) + noise(3000, 5))
    block = blocks_of(600, 5)
    at = {"other": 0.0}
    effect = lever_effect(x, y, "lever", block, at).effect
    table = sensitivity(effect, conditional_effects(x, y, "lever", block, ["switch", "idle"], at),
                        +1)  # fmt: skip
    rows = table.set_index("parameter")
    assert rows.loc["switch", "only_if"] == "high" and rows.loc["switch", "depends"]
    assert pd.isna(rows.loc["idle", "only_if"]) and not rows.loc["idle", "beyond_noise"]
    assert table["parameter"].iloc[0] == "switch"  # the largest shift first


def test_halves_that_differ_only_by_noise_make_no_only_if():
    # an effect barely resolved overall: one half may miss significance by chance, which must
    # not read as "holds only if"
    table = pd.DataFrame([{"parameter": "a", "effect_low": 0.04, "ci_low_low": -0.01,
                           "ci_high_low": 0.09, "effect_high": 0.06, "ci_low_high": 0.01,
                           "ci_high_high": 0.11}])  # fmt: skip
    row = sensitivity(0.05, table, +1).iloc[0]
    assert row["status_low"] == "noise" and row["status_high"] == "holds"
    assert not row["beyond_noise"] and pd.isna(row["only_if"]) and not row["depends"]


# ----------------------------------------------------------------------------- verdicts


def test_a_claim_that_holds_everywhere_says_so_with_both_effects():
    text = verdict(+1, HOLDS, HOLDS, leaning([{"parameter": "a"}]), BOUNDS)
    assert text.startswith("Holds at the other levers' defaults, +0.1 (95% CI +0.05 to +0.15)")
    assert "over every assumption's range" in text and "Fails" not in text


def test_a_claim_that_fails_says_fails_first():
    for d, a in ((NOISE, NOISE), (OPPOSITE, NOISE), (NOISE, OPPOSITE)):
        text = verdict(+1, d, a, leaning([{"parameter": "a"}]), BOUNDS)
        assert text.startswith("Fails: at the other levers' defaults")
    assert "cannot be told from noise" in verdict(+1, NOISE, NOISE, leaning([]), BOUNDS)
    assert "the opposite of the claim" in verdict(+1, OPPOSITE, NOISE, leaning([]), BOUNDS)
    # the sign matters: a fall claimed is a fall that holds
    assert verdict(-1, OPPOSITE, OPPOSITE, leaning([]), BOUNDS).startswith("Holds")


def test_holding_only_under_an_assumption_is_said_first_naming_the_half():
    only = leaning([{"parameter": "a", "only_if": "low", "effect_high": -0.01,
                     "status_high": "noise", "depends": True, "beyond_noise": True}])  # fmt: skip
    text = verdict(+1, HOLDS, HOLDS, only, BOUNDS)
    assert text.startswith("Holds only if `a` is in the lower half of its range (0 to 0.4)")
    assert "in the other half: -0.01, cannot be told from noise" in text
    assert "over every assumption's range" not in text
    # a failing claim that holds in one half of an assumption says the half first, then fails
    failing = verdict(+1, NOISE, NOISE, only, BOUNDS)
    assert failing.startswith("Holds only if `a`") and "Fails: at the other" in failing


def test_two_only_ifs_are_each_said_on_their_own():
    rows = leaning([
        {"parameter": "a", "only_if": "low", "depends": True, "beyond_noise": True},
        {"parameter": "b", "only_if": "high", "depends": True, "beyond_noise": True},
    ])  # fmt: skip
    text = verdict(+1, NOISE, NOISE, rows, BOUNDS)
    assert text.startswith("Holds only under assumed numbers, each on its own: if `a` is in the "
                           "lower half")  # fmt: skip
    assert "if `b` is in the upper half of its range (0.65 to 1)" in text


def test_holding_at_the_defaults_but_not_across_says_both():
    text = verdict(+1, HOLDS, NOISE, leaning([]), BOUNDS)
    assert text.startswith("Holds at the other levers' defaults")
    assert "but fails across their ranges: +0.01" in text
    text = verdict(+1, NOISE, HOLDS, leaning([]), BOUNDS)
    assert text.startswith("Fails at the other levers' defaults")
    assert "holds only across their ranges" in text


def test_an_assumption_that_moves_the_size_but_not_the_verdict_is_named_after_it():
    rows = leaning([{"parameter": "b", "effect_low": 0.02, "effect_high": 0.2, "shift": 0.18,
                     "depends": True, "beyond_noise": True}])  # fmt: skip
    text = verdict(+1, HOLDS, HOLDS, rows, BOUNDS)
    assert text.startswith("Holds at")
    assert text.endswith("Its size leans on `b` (+0.02 in its lower half, +0.2 in its upper).")


def test_short_verdict():
    assert short_verdict(+1, HOLDS, HOLDS, leaning([])) == "holds"
    assert short_verdict(+1, NOISE, OPPOSITE, leaning([])) == "fails"
    assert short_verdict(+1, HOLDS, NOISE, leaning([])) == "holds at the defaults, fails across"
    only = leaning([{"parameter": "a", "only_if": "high"}])
    assert short_verdict(+1, NOISE, NOISE, only) == (
        "holds only if `a` high; over the whole ranges it fails"
    )


# ----------------------------------------------------------------------------- sizing


def test_pilot_text_swaps_samples_replications_name_and_scenario(tmp_path):
    text = claims.EXPERIMENT.read_text()
    pilot = claims.pilot_text(text, claims.EXPERIMENT, samples=4, replications=10)
    import tomllib

    meta = tomllib.loads(pilot)["experiment"]
    assert meta["samples"] == 4 and meta["replications"] == 10
    assert meta["name"] == "headline_claims_pilot"
    assert meta["scenario"] == str((claims.ROOT / "scenarios" / "baseline.toml").resolve())
    assert tomllib.loads(pilot)["parameters"] == tomllib.loads(text)["parameters"]
    with pytest.raises(ValueError, match="samples"):
        claims.pilot_text(text.replace("samples =", "samplez ="), claims.EXPERIMENT, 4, 10)


def test_replications_advice_reads_analyze_precisions_table():
    table = pd.DataFrame({
        "outcome": ["a"] * 10 + ["b"] * 2,
        "replications_needed": [*range(1, 11), np.nan, 7],
        "target": [0.02] * 12,
    })  # fmt: skip
    advice = claims.replications_advice(table, ["a", "b"]).set_index("outcome")
    assert advice.loc["a", "median"] == 5.5 and advice.loc["a", "p90"] == pytest.approx(9.1)
    assert advice.loc["b", "points"] == 1 and advice.loc["a", "target"] == 0.02


def test_spend_is_printed_whole_with_separators_and_its_share_of_the_mean():
    assert num(18912.4) == "+18,912" and num(-0.0123) == "-0.0123" and num(0.5) == "+0.5"
    text = price_sentence(Effect(18900.0, 11000.0, 26700.0, 10), HOLDS, 450000.0)
    assert text.startswith("total spend +18,900 GBP m (95% CI +11,000 to +26,700; +4.2% of")


def test_the_directional_check_names_its_density_of_mutuals_against_the_baselines():
    # docs/validation.md's "3.7% -> 39.4%" came from a small market with the default count
    # of mutuals: the row must say how many per council that is, against the baseline
    from types import SimpleNamespace

    from scripts.validation import mutual_density

    params = SimpleNamespace(mutuals=SimpleNamespace(count=60),
                             network=SimpleNamespace(councils=40))  # fmt: skip
    text = mutual_density(params)
    assert text.startswith("60 mutuals for 40 councils: 1.5 a council")
    assert text.endswith("3.75x the baseline's 0.4")


# ----------------------------------------------------------------------------- on England


def _pairs(values: list[float], outcome: str = "final_share_mutual") -> pd.DataFrame:
    from scripts.england_claims import OUTCOMES

    frame = pd.DataFrame(0.0, index=range(len(values)), columns=OUTCOMES)
    frame[outcome] = values
    return frame


def test_on_england_a_claim_holds_fails_or_is_not_resolved_by_its_paired_ci():
    from scripts.claims import CLAIMS
    from scripts.england_claims import judge

    grow = next(c for c in CLAIMS if c.key == "mutuals_grow")  # claims a rise
    assert judge(grow, _pairs([0.10, 0.12, 0.11, 0.09]))["verdict"] == "holds"
    assert "fails" in judge(grow, _pairs([-0.10, -0.12, -0.11, -0.09]))["verdict"]
    assert "not resolved" in judge(grow, _pairs([0.10, -0.12, 0.11, -0.09]))["verdict"]
    assert judge(grow, _pairs([0.10, 0.12]))["n"] == 2


def test_on_england_each_seed_is_paired_with_itself_and_pairs_are_sized_by_precision():
    from scripts.claims import CLAIMS
    from scripts.england_claims import OUTCOMES, paired_differences, seeds_needed

    lever = "commissioning.social_value_weight"
    rows = []
    for seed, base in ((5, 0.2), (7, 0.4), (9, 0.6)):  # seed 9 ran only the bottom arm
        for value, lift in ((0.0, 0.0), (0.3, 0.1)):
            if not (seed == 9 and value == 0.3):
                rows.append({"lever": lever, "value": value, "seed": seed,
                             **dict.fromkeys(OUTCOMES, base + lift)})  # fmt: skip
    diffs = paired_differences(pd.DataFrame(rows), lever, 0.0, 0.3)
    assert list(diffs.index) == [5, 7]
    assert np.allclose(diffs.to_numpy(), 0.1)
    claims = [c for c in CLAIMS if c.lever == lever]
    noisy = _pairs(list(np.random.default_rng(0).normal(0.1, 0.05, 10)))
    loose, tight = (seeds_needed(noisy, claims, p, cap=1000) for p in (0.05, 0.01))
    assert 2 <= loose < tight  # a finer precision needs more pairs
    assert seeds_needed(noisy, claims, 0.001, cap=30) == 30  # at most the cap


@pytest.mark.slow
def test_the_england_claims_write_their_section_and_claims_md_keeps_it(tmp_path):
    from scripts import claims, england_claims

    docs = tmp_path / "docs"
    assert england_claims.main(["--pilot-seeds", "2", "--max-seeds", "2", "--workers", "1",
                                "--docs", str(docs)]) == 0  # fmt: skip
    text = (docs / "claims.md").read_text()
    block = text[text.index("<!-- england:begin -->") : text.index("<!-- england:end -->")]
    for claim in claims.CLAIMS:
        assert claim.sentence in block
    assert (docs / "img" / "claims_england.png").stat().st_size > 5_000
    # the headline page is written whole, but another script's block stays
    (docs / "claims.md").write_text("# old page\n\n" + text[text.index("<!-- england:begin") :])
    kept = claims.keep_blocks((docs / "claims.md").read_text(), "# new page\n\n## A\n")
    assert "<!-- england:begin -->" in kept and kept.startswith("# new page")
