"""The article's claims on England's real councils: the England section of docs/claims.md.

    .venv/bin/python -m scripts.england_claims                   # pilot, top-up, report
    .venv/bin/python -m scripts.england_claims --pilot-seeds 3 --max-seeds 4   # a quick look

The headline design (scripts/claims.py) varies the levers with every assumption in a Sobol
sweep of 150 synthetic councils: over 13,000 runs. On England's 149 councils
(`scenarios/england_today.toml`: their map, their 2014-15 budgets and in-house shares, today's
mixed market, the largest outsourcer collapsing half way) a run takes several seconds, so this
is the largest part of that design the machine allows in minutes: each claim's lever from the
bottom to the top of its range in experiments/headline_claims.toml, every other lever and
every assumption at its default, on common random numbers (the same seeds in both arms).

Replications are sized as ``commsim analyze --precision`` sizes them
(:func:`sim.experiments.stats.replications_needed`): a pilot of ``--pilot-seeds`` paired runs
gives the standard deviation of each claim's paired difference; each lever then runs the
pairs its claims need for a 95% CI of half-width ``--precision`` (absolute, in the outcome's
unit), at most ``--max-seeds``. The table says where the cap bound.

Writes the block ``england`` of docs/claims.md and docs/img/claims_england.png.
"""

from __future__ import annotations

import functools
import multiprocessing
import tomllib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
from scripts.claims import CLAIMS, EXPERIMENT, SPEND, Claim, ci_text  # noqa: E402
from scripts.claims_stats import Effect, num, status  # noqa: E402
from scripts.scriptkit import OneLineParser, write_block  # noqa: E402

ENGLAND = ROOT / "scenarios" / "england_today.toml"
#: What each run keeps: the claims' outcomes and the levers' price.
OUTCOMES = sorted({c.outcome for c in CLAIMS} | {SPEND})


def lever_ranges(experiment: Path = EXPERIMENT) -> dict[str, tuple[float, float]]:
    """Each claim's lever and its range, as the headline design varies it."""
    parameters = tomllib.loads(experiment.read_text())["parameters"]
    return {c.lever: (parameters[c.lever]["min"], parameters[c.lever]["max"]) for c in CLAIMS}


def run_arm(task: tuple[str, float, int]) -> dict[str, Any]:
    """One run of the England scenario with ``lever`` at ``value`` (seed ``seed``)."""
    from sim.core.engine import Simulation

    lever, value, seed = task
    summary = Simulation(ENGLAND, rng=seed, **{lever: value}).run().summary()
    return {"lever": lever, "value": value, "seed": seed, **{k: summary[k] for k in OUTCOMES}}


def paired_differences(runs: pd.DataFrame, lever: str, low: float, high: float) -> pd.DataFrame:
    """Per seed run in both arms of ``lever``: the top arm's outcomes less the bottom's."""
    mine = runs[runs["lever"] == lever]
    top = mine[mine["value"] == high].set_index("seed")[OUTCOMES]
    bottom = mine[mine["value"] == low].set_index("seed")[OUTCOMES]
    both = top.index.intersection(bottom.index)
    return (top.loc[both] - bottom.loc[both]).sort_index()


def seeds_needed(diffs: pd.DataFrame, claims: list[Claim], precision: float, cap: int) -> int:
    """Pairs the lever's claims need for a 95% CI of half-width ``precision`` (each claim's
    outcome; the most any claim needs), at most ``cap``."""
    from sim.experiments.stats import replications_needed, sample_sd

    needs = [replications_needed(sample_sd(diffs[c.outcome]), precision) for c in claims]
    finite = [n for n in needs if np.isfinite(n)]
    return int(min(cap, max(finite, default=2)))


#: A claim's verdict on England, by its effect's status (:func:`scripts.claims_stats.status`).
VERDICTS = {
    "holds": "holds",
    "opposite": "**fails**: the lever moves the outcome the other way",
    "noise": "not resolved: the 95% CI holds zero",
    "undefined": "not resolved: too few pairs to tell",
}


def judge(claim: Claim, diffs: pd.DataFrame) -> dict[str, Any]:
    """The claim's effect (mean paired difference, 95% CI), its price (the paired difference
    in total spend) and its verdict (:data:`VERDICTS`), as the headline design judges an
    effect (:func:`scripts.claims_stats.status`)."""
    from sim.experiments.stats import mean_ci

    effect = Effect(*mean_ci(diffs[claim.outcome]))
    return {"claim": claim, "effect": effect, "n": effect.n,
            "verdict": VERDICTS[status(effect, claim.sign)],
            "spend": Effect(*mean_ci(diffs[SPEND]))}  # fmt: skip


def evaluate(args: Any, pool_map: Callable) -> tuple[list[dict], pd.DataFrame]:
    """Pilot, top-up and judgement of every claim."""
    ranges = lever_ranges(args.experiment)
    seeds = [
        int(s) for s in np.random.default_rng(args.seed).integers(0, 2**31 - 1, args.max_seeds)
    ]

    def tasks(lever: str, chosen: list[int]) -> list[tuple[str, float, int]]:
        low, high = ranges[lever]
        return [(lever, v, s) for s in chosen for v in (low, high)]

    pilot = [t for lever in ranges for t in tasks(lever, seeds[: args.pilot_seeds])]
    runs = pd.DataFrame(list(pool_map(run_arm, pilot)))
    sizing = []
    more = []
    for lever, (low, high) in ranges.items():
        claims = [c for c in CLAIMS if c.lever == lever]
        need = seeds_needed(paired_differences(runs, lever, low, high), claims,
                            args.precision, args.max_seeds)  # fmt: skip
        sizing.append({"lever": lever, "pairs": max(need, args.pilot_seeds)})
        more += tasks(lever, seeds[args.pilot_seeds : need])
    if more:
        runs = pd.concat([runs, pd.DataFrame(list(pool_map(run_arm, more)))], ignore_index=True)
    results = []
    for claim in CLAIMS:
        low, high = ranges[claim.lever]
        results.append(judge(claim, paired_differences(runs, claim.lever, low, high)))
    return results, pd.DataFrame(sizing)


# ----------------------------------------------------------------------------- outputs


def figure(results: list[dict], path: Path) -> Path:
    """Each claim's effect on England with its 95% CI, one panel each (their units differ)."""
    fig, axes = plt.subplots(len(results), 1, figsize=(8, 1.1 * len(results) + 1),
                             constrained_layout=True)  # fmt: skip
    for ax, r in zip(np.atleast_1d(axes), results, strict=True):
        mean, lo, hi, _ = r["effect"]
        colour = (
            "tab:green"
            if r["verdict"] == "holds"
            else "tab:red"
            if "fails" in r["verdict"]
            else "tab:grey"
        )
        ax.errorbar([mean], [0], xerr=[[mean - lo], [hi - mean]], fmt="o", color=colour, capsize=4)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks([])
        ax.set_title(f"{r['claim'].key}: {r['claim'].outcome}", fontsize=8, loc="left")
        span = max(abs(lo), abs(hi), 1e-9) * 1.3
        ax.set_xlim(-span, span)
    fig.suptitle("The claims on England: effect of each lever, bottom to top of its range (95% CI)",
                 fontsize=9)  # fmt: skip
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def doc_block(results: list[dict], sizing: pd.DataFrame, args: Any, minutes: float) -> str:
    """The England section of docs/claims.md."""
    ranges = lever_ranges(args.experiment)
    rows = []
    for r in results:
        c = r["claim"]
        low, high = ranges[c.lever]
        rows.append(
            f"| {c.sentence} | `{c.lever}` {num(low)} to {num(high)} | `{c.outcome}` "
            f"{ci_text(r['effect'])} | {r['n']} | {ci_text(r['spend'])} | {r['verdict']} |"
        )
    capped = [s.lever for s in sizing.itertuples() if s.pairs >= args.max_seeds]
    cap_note = (
        f" The cap bound for `{'`, `'.join(capped)}`: the precision asked was not reached there, "
        "so a claim 'not resolved' on that lever may hold or fail at a finer precision."
        if capped
        else ""
    )
    flags = f"--pilot-seeds {args.pilot_seeds} --max-seeds {args.max_seeds} --precision {args.precision}"
    return f"""\
## The claims on England's councils

Generated by `.venv/bin/python -m scripts.england_claims {flags}` (seed {args.seed};
{minutes:.1f} min on 2 workers). The market is `scenarios/england_today.toml`: England's 149
councils with social services duties on their real map, each with its own 2014-15 budget and
in-house share of home care (data/england/, SOURCES.md there), the baseline's mixed market
(8 national outsourcers, 60 mutuals, 300 local private firms), ten years with the largest
outsourcer collapsing in quarter 20. **This is a part of the headline design, not all of
it**: the Sobol sweep above takes over 13,000 runs of 150 synthetic councils; here each
lever runs from the bottom to the top of its range with every other lever and every
assumption at its default (the "effect at the other levers' defaults" above, without the
assumptions varied), on paired seeds. What leans on an assumption is shown only above.

Pairs per lever were sized by `commsim analyze --precision`'s rule on a pilot of
{args.pilot_seeds} pairs: a 95% CI of half-width {args.precision} in each claim's outcome, at
most {args.max_seeds} pairs.{cap_note}

| claim | lever (bottom to top) | effect on England, 95% CI | pairs | price: total spend, GBP m | verdict |
| --- | --- | --- | --- | --- | --- |
{chr(10).join(rows)}

A claim that holds on the synthetic market above and is not resolved or fails here is a
claim that depends on the market it is tested in: England's councils differ in size far more
than the synthetic ones, and in 2014-15 most bought nearly all their home care outside, so
there is less in-house capacity to keep and less work left to move.

![the claims on England](img/claims_england.png)
"""


def main(argv: list[str] | None = None) -> int:
    """Run the claims on England and write their block of docs/claims.md and the figure."""
    import time

    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilot-seeds", type=int, default=10, help="paired pilot runs per lever")
    parser.add_argument("--max-seeds", type=int, default=100, help="most pairs per lever")
    parser.add_argument("--precision", type=float, default=0.02,
                        help="95%% CI half-width asked of each claim's effect (outcome units)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--experiment", type=Path, default=EXPERIMENT)
    parser.add_argument("--docs", type=Path, default=ROOT / "docs")
    args = parser.parse_args(argv)
    if args.pilot_seeds < 2 or args.max_seeds < args.pilot_seeds:
        parser.error("--pilot-seeds must be at least 2 and --max-seeds at least --pilot-seeds")
    if not args.precision > 0:
        parser.error("--precision must be above 0")
    start = time.monotonic()
    if args.workers == 1:
        results, sizing = evaluate(args, map)
    else:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["sim.core.engine"])
        with ProcessPoolExecutor(args.workers, mp_context=context) as pool:
            results, sizing = evaluate(args, functools.partial(pool.map, chunksize=1))
    minutes = (time.monotonic() - start) / 60
    (args.docs / "img").mkdir(parents=True, exist_ok=True)
    figure(results, args.docs / "img" / "claims_england.png")
    write_block(args.docs / "claims.md", "england", doc_block(results, sizing, args, minutes))
    for r in results:
        print(f"{r['claim'].key}: {ci_text(r['effect'])} over {r['n']} pairs: {r['verdict']}")
    print(f"wrote the england block of {args.docs}/claims.md ({minutes:.1f} min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
