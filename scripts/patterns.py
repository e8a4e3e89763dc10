"""Independent patterns: what the calibrated model predicts, against records it was not fitted to.

    .venv/bin/python -m scripts.patterns                 # posterior draws if calibrated, else defaults
    .venv/bin/python -m scripts.patterns --draws 20      # quicker, coarser

Each pattern is a number from the record (docs/validation.md names the source) that no
parameter was set to match. The home-care patterns run `scenarios/home_care_1993.toml` on
to 2018 with parameter sets drawn from the calibration's posterior (results/calibration/
posterior.csv, written by scripts/calibrate.py), each with a fresh seed: the band is the
posterior-predictive 90% band. Without a posterior the scenario's own values are run over
many seeds, and the table says so. The market-wide patterns run `scenarios/baseline.toml`
(today's mixed market, which the calibration does not touch) over many seeds.

Writes the block ``patterns`` of docs/validation.md and docs/img/patterns.png.

The largest provider's reach and the top five's share count every provider that is not a
council's own unit: national outsourcers, local private firms and mutuals alike.
"""

from __future__ import annotations

import functools
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
from scripts.after_collapse import (  # noqa: E402
    TUSSELL_2017,
    TUSSELL_2018,
    strategic_award_ratio,
)
from scripts.calibrate import posterior_tasks  # noqa: E402
from scripts.scriptkit import OneLineParser, write_block  # noqa: E402

HOME_CARE = ROOT / "scenarios" / "home_care_1993.toml"
BASELINE = ROOT / "scenarios" / "baseline.toml"
POSTERIOR = ROOT / "results" / "calibration" / "posterior.csv"
ENGLAND_COUNCILS = 152  # with adult social services duties (NHS Digital)
#: The 2016 National Living Wage (April 2016, quarter 97 from 1992): a 7.5% rise for workers on
#: the minimum; with labour about two thirds of home-care cost, about 5% on cost (assumption).
#: It hits every provider type (the shock's default), local private firms included.
NLW_2016 = {"kind": "cost_shock", "quarter": 97, "magnitude": 0.05}
YEAR_2017, YEAR_2018 = range(100, 104), range(104, 108)  # quarters of the calendar years


@dataclass(frozen=True)
class Pattern:
    """One record the model was not fitted to."""

    key: str
    what: str
    record: float
    shown: str  # the record as the source states it
    source: str
    market: str  # "home care", "baseline" or "carillion"
    if_low: str  # why the model may fall below the record: printed with such a miss
    if_high: str  # why it may rise above it
    caveat: str = ""  # what weakens the test whatever the verdict: printed with it


HANDBACKS_LOW = (
    "a provider hands a contract back only after `handback_quarters` of losses beyond "
    "`handback_loss`; firms price to the margins the calibration fitted, and yearly price "
    "reviews (`commissioning.price_review`, 0.5, an assumption) pass half of a cost rise into "
    "fees, so even after the 2016 shock few contracts lose money that long; the record's "
    "councils paid below what providers said care cost (DOMAIN.md: 1% of contracts met the "
    "providers' minimum price), which the model's reviews do not hold back"
)
HANDBACKS_HIGH = (
    "after the cost shock many contracts priced near their margin cross the handback line in "
    "the same quarters; real providers differ more and hand back one by one"
)
PATTERNS = [
    Pattern(
        "handback_councils_2017",
        "councils with a home-care contract handed back in 2017, share of councils",
        59 / ENGLAND_COUNCILS,
        "59 of 152 councils",
        "ADASS Budget Survey 2017",
        "home care",
        HANDBACKS_LOW,
        HANDBACKS_HIGH,
    ),
    Pattern(
        "handback_councils_2018",
        "councils with a home-care contract handed back in 2018, share of councils",
        44 / ENGLAND_COUNCILS,
        "44 of 152 councils (100 contracts)",
        "ADASS Budget Survey 2018",
        "home care",
        HANDBACKS_LOW,
        HANDBACKS_HIGH,
    ),
    Pattern(
        "largest_reach_2018",
        "councils served by the largest home-care provider in 2018, share of councils",
        84 / ENGLAND_COUNCILS,
        "84 councils had Allied Healthcare's contracts (CQC notice, Nov 2018)",
        "CQC market oversight, Nov 2018",
        "home care",
        "the scenario's 20 national outsourcers have skewed sizes (log-normal, "
        "`outsourcers.size_dispersion` 0.8, an estimate) beside 300 local firms (sigma 1.2), "
        "yet the largest holds work in fewer councils than Allied did: its capacity (each "
        "outsourcer's `capacity_share` of all councils' value, 0.1, times its size draw) caps "
        "the contracts it can hold, and the size distribution is an assumption, not a "
        "measurement",
        "the model's outsourcers are national firms that may bid anywhere, so the largest "
        "reaches every council its capacity lets it; most real home-care providers are local",
        "the largest firm's reach turns on its size draw from an assumed distribution "
        "(`outsourcers.size_dispersion`), so the band is wide and a record inside it is a weak "
        "test",
    ),
    Pattern(
        "top5_share",
        "top five providers' share of externally provided contract value, year 10",
        0.60,
        "nearly 60% of complex public services by value",
        "Public Accounts Committee, Strategic suppliers (2018)",
        "baseline",
        "the baseline's mutuals and in-house bids take more than real ones do (docs/validation.md, "
        "'Where the model does not match')",
        "the baseline has only 8 outsourcers (an assumption: `outsourcers.count`) with skewed "
        "sizes, so five of them hold most of the value that is not in-house, beside local "
        "firms and mutuals; the PAC figure is for central government's complex services, with "
        "more large suppliers",
        "not independent: `outsourcers.size_dispersion` (0.8) was chosen with this PAC figure "
        "in mind (its source in `commsim params`), so a match is partly by construction",
    ),
    Pattern(
        "strategic_award_ratio",
        "strategic suppliers' share of new contract value, the year after a collapse over the "
        "year before",
        TUSSELL_2018 / TUSSELL_2017,
        "10.3% of new public contract value in 2017, 5.8% in 2018",
        "Tussell, Strategic suppliers (2019)",
        "carillion",
        "councils that lived through the collapse weigh a firm by the share of their service it "
        "would hold (`councils.concentration_aversion`), yet that barely moves who wins",
        "in the year after the collapse councils re-let the failed firm's contracts, and the "
        "model's largest survivors have the room to take them; the record's buyers also "
        "followed central guidance (the Outsourcing Playbook, 2019) the model leaves out",
        "the model's strategic suppliers are its five largest national firms, the record's the "
        "34 with over GBP 100m a year of public revenue",
    ),
    Pattern(
        "mutual_turnover_bn",
        "mutuals' yearly contract value in year 2, GBP bn",
        1.6,
        "about 115 mutuals, GBP 1.6bn combined turnover (2018)",
        "DCMS / Social Enterprise UK, Public Service Mutuals: State of the Sector (2018)",
        "baseline",
        "the starting mutual share follows from `mutuals.count` and their capacity, both "
        "assumptions; the record's mutuals also sell to the NHS and others",
        "the starting mutual share follows from `mutuals.count` and their capacity, both "
        "assumptions; in the model they sell only to councils, so a match is partly set by "
        "those inputs and is a weak test",
    ),
    Pattern(
        "mutuals_in_profit",
        "mutuals with a surplus over year 10, share of trading mutuals",
        0.92,
        "92% of mutuals made a profit in the latest year (2018)",
        "DCMS / Social Enterprise UK, Public Service Mutuals: State of the Sector (2018)",
        "baseline",
        "mutuals' bids fall to their learned floor in price-weighted tenders, and a mutual whose "
        "work shrinks keeps costs it cannot cover; real mutuals that lose money for long close, "
        "so the survivors the record counts are the profitable ones",
        "the model's mutuals lose money only through the market's own moves (no shock in the "
        "baseline); real ones also carry costs the model leaves out (bid writing, capital, "
        "pensions)",
        "`mutuals.target_margin` (0.03, an assumption) names this record in its source, though "
        "nothing was fitted to it",
    ),
]


def share_with_surplus(surplus: np.ndarray, cost: np.ndarray, keep: np.ndarray) -> float:
    """Of the providers in ``keep`` that had costs, the share whose surplus was above 0
    (NaN when none had costs)."""
    trading = keep & (cost > 0)
    return float(np.mean(surplus[trading] > 0)) if trading.any() else float("nan")


# ----------------------------------------------------------------------------- measuring


def step_and_find_handbacks(model: Any) -> np.ndarray:
    """Step the model one quarter; return the contract slots handed back in it.

    Where the model bars a provider from a contract it handed back (``barred_until``), that
    mark is the handback. Otherwise a handback is a contract disrupted while its holder is
    still trading, either mid-term or, in the quarter its term ends, after the losing streak
    that makes a holder give it up (``commissioning.handback_quarters``); a contract that ends
    without a bidder is not one, nor is a failure. (tests/test_evidence.py checks this against
    the model's own count.)
    """
    from sim.core.state import ProviderKind

    ct, p = model.contracts, model.providers
    if "barred_until" in type(ct)._columns:  # a handback bars its provider: the exact mark
        barred = ct.view("barred_until").copy()
        model.step()
        return np.flatnonzero(ct.view("barred_until")[: len(barred)] != barred)
    holder, end = ct.view("holder").copy(), ct.view("end").copy()
    disrupted, streak = ct.view("disrupted_at").copy(), ct.view("loss_streak").copy()
    t = model.quarter
    model.step()
    n = len(holder)
    changed = ct.view("disrupted_at")[:n] != disrupted
    live = (holder >= 0) & p.view("alive")[np.maximum(holder, 0)]
    external = p.view("kind")[np.maximum(holder, 0)] != ProviderKind.INHOUSE
    losing = streak >= model.params.commissioning.handback_quarters
    return np.flatnonzero(changed & live & external & ((end > t) | losing))


def _largest_reach(model: Any) -> float:
    """Share of councils where the largest external provider (by contract value) holds work."""
    ct, p = model.contracts, model.providers
    value = ct.value_by_provider(p.n)
    value[~p.external()] = 0
    if value.max() <= 0:
        return 0.0
    largest = int(np.argmax(value))
    return np.unique(ct.view("council")[ct.view("holder") == largest]).size / model.n_councils


def measure_home_care(task: tuple[dict[str, Any], int]) -> dict[str, float]:
    """The home-care patterns of one run (parameters, seed), run on to 2018 (quarter 108)."""
    from sim import CommissioningModel, load_scenario

    overrides, seed = task
    scenario = load_scenario(HOME_CARE, {**overrides, "scenario.quarters": 108})
    model = CommissioningModel(scenario, rng=seed)
    touched: dict[int, set[int]] = {2017: set(), 2018: set()}
    reach = np.nan
    for q in range(scenario.scenario.quarters):
        councils = np.unique(model.contracts.council[step_and_find_handbacks(model)])
        year = 2017 if q in YEAR_2017 else 2018 if q in YEAR_2018 else None
        if year:
            touched[year].update(councils.tolist())
        if q == YEAR_2018[-1]:
            reach = _largest_reach(model)
    n = model.n_councils
    return {
        "handback_councils_2017": len(touched[2017]) / n,
        "handback_councils_2018": len(touched[2018]) / n,
        "largest_reach_2018": reach,
    }


def measure_baseline(seed: int) -> dict[str, float]:
    """The market-wide patterns of one baseline run."""
    from sim import CommissioningModel, load_scenario
    from sim.core.state import ProviderKind

    model = CommissioningModel(load_scenario(BASELINE, {"scenario.quarters": 41}), rng=seed)
    out: dict[str, float] = {}
    year = {"surplus": np.zeros(0), "cost": np.zeros(0)}  # each provider's, quarters 37-40
    for q in range(41):
        model.step()
        p, ct = model.providers, model.contracts
        value = ct.value_by_provider(p.n)
        if q >= 37:  # the year that ends at quarter 40: the mutuals' books
            for key, total in year.items():
                books = model.market.ledger.accounts[key]
                year[key] = np.pad(total, (0, books.size - total.size)) + books
        if q == 8:  # year 2: four quarters of the mutuals' contract value, GBP -> GBP bn
            mutual = p.view("kind") == ProviderKind.MUTUAL
            out["mutual_turnover_bn"] = 4 * value[mutual].sum() / 1e9
        if q == 40:
            external = np.sort(value[p.external()])[::-1]
            out["top5_share"] = external[:5].sum() / external.sum()
            n = year["cost"].size
            mutual = (p.view("kind")[:n] == ProviderKind.MUTUAL) & p.view("alive")[:n]
            out["mutuals_in_profit"] = share_with_surplus(year["surplus"], year["cost"], mutual)
    return out


def measure_carillion(seed: int) -> dict[str, float]:
    """The after-collapse pattern of one run of `scenarios/carillion_collapse.toml`."""
    return {"strategic_award_ratio": strategic_award_ratio({}, seed)["ratio"]}


# ----------------------------------------------------------------------------- running


def home_care_tasks(draws: int, seed: int, posterior: Path, shock: bool) -> tuple[list, str]:
    """(overrides, seed) per run, and a label saying where the parameters come from."""
    return posterior_tasks(draws, seed, posterior, {"shocks": [NLW_2016]} if shock else None)


def band(values: list[float]) -> tuple[float, float, float]:
    """Median and 90% band."""
    lo, mid, hi = np.nanpercentile(np.asarray(values, dtype=float), [5, 50, 95])
    return float(mid), float(lo), float(hi)


def evaluate(args: Any, pool_map: Callable) -> pd.DataFrame:
    """Every pattern's band and verdict, with and without the 2016 cost shock in home care."""
    results: dict[str, list[dict]] = {}
    labels = {}
    for shock in (False, True):
        tasks, label = home_care_tasks(args.draws, args.seed, args.posterior, shock)
        results[f"home care{' + 2016 NLW' if shock else ''}"] = list(
            pool_map(measure_home_care, tasks)
        )
        labels["home care"] = label
    seeds = np.random.default_rng(args.seed + 1).integers(0, 2**31 - 1, args.seeds)
    results["baseline"] = list(pool_map(measure_baseline, [int(s) for s in seeds]))
    labels["baseline"] = f"defaults, {args.seeds} seeds"
    seeds = np.random.default_rng(args.seed + 2).integers(0, 2**31 - 1, args.collapse_seeds)
    results["carillion"] = list(pool_map(measure_carillion, [int(s) for s in seeds]))
    labels["carillion"] = f"carillion_collapse.toml, {args.collapse_seeds} seeds"
    rows = []
    for pattern in PATTERNS:
        arms = (
            [pattern.market]
            if pattern.market != "home care"
            else ["home care + 2016 NLW", "home care"]
        )
        for arm in arms:
            mid, lo, hi = band([r[pattern.key] for r in results[arm]])
            inside = lo <= pattern.record <= hi
            rows.append({"pattern": pattern.key, "arm": arm, "record": pattern.record,
                         "median": mid, "p5": lo, "p95": hi,
                         "band_from": labels[pattern.market], "inside": inside})  # fmt: skip
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- outputs


def _fmt(pattern: Pattern, x: float) -> str:
    return f"{x:.2f}" if pattern.key.endswith(("_bn", "_ratio")) else f"{x:.0%}"


def figure(table: pd.DataFrame, path: Path) -> Path:
    """Each pattern's band (bar) and median (tick) against the record (black dot)."""
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(table) + 1.5), constrained_layout=True)
    labels = []
    for i, row in enumerate(table.itertuples()):
        scale = 1.0 if row.pattern.endswith(("_bn", "_ratio")) else 100.0
        colour = "tab:green" if row.inside else "tab:red"
        ax.hlines(i, scale * row.p5, scale * row.p95, color=colour, linewidth=6, alpha=0.5)
        ax.plot(scale * row.median, i, "|", color=colour, markersize=14)
        ax.plot(scale * row.record, i, "o", color="black")
        unit = "%" if scale != 1 else "ratio" if row.pattern.endswith("_ratio") else "GBP bn"
        labels.append(f"{row.pattern} ({row.arm}), {unit}")
    ax.set_yticks(range(len(table)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_title("Independent patterns: model 90% band (bar) and record (dot)", fontsize=10)
    ax.set_xlabel("value (share in %, turnover in GBP bn, ratio as is)")
    ax.grid(alpha=0.3, axis="x")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def doc_block(table: pd.DataFrame, args: Any) -> str:
    """The patterns section of docs/validation.md."""
    by_key = {p.key: p for p in PATTERNS}
    rows = []
    for row in table.itertuples():
        p = by_key[row.pattern]
        if row.inside:
            verdict = "inside"
        elif row.median < p.record:
            verdict = f"**miss, model below the record**: {p.if_low}"
        else:
            verdict = f"**miss, model above the record**: {p.if_high}"
        if p.caveat:
            verdict += f"; {p.caveat}"
        rows.append(
            f"| {p.what} ({row.arm}) | {p.shown} = {_fmt(p, p.record)} | {p.source} | "
            f"{_fmt(p, row.median)} ({_fmt(p, row.p5)} to {_fmt(p, row.p95)}); {row.band_from} "
            f"| {verdict} |"
        )
    table_rows = "\n".join(rows)
    missed = [f"{by_key[r.pattern].what} ({r.arm})" for r in table.itertuples() if not r.inside]
    tally = f"{len(table) - len(missed)} of {len(table)} rows inside the model's band" + (
        "; missed: " + "; ".join(missed) + "." if missed else "."
    )
    return f"""\
## Independent patterns (not fitted)

Generated by `.venv/bin/python -m scripts.patterns --draws {args.draws} --seeds {args.seeds}`
(seed {args.seed}). No parameter was fitted to these records (one was chosen with one
of them in mind: the verdict says which). Home care runs
`scenarios/home_care_1993.toml` (20 national outsourcers and 300 local private firms, both
with skewed sizes) on to 2018 with parameter sets from the calibration's
posterior (each a fresh seed), with and without the April 2016 National Living Wage as a 5%
cost shock (a 7.5% wage rise on about two thirds of cost: an assumption); the world had the
shock, so that arm is the test. Market-wide patterns run `scenarios/baseline.toml`; the
after-collapse pattern runs `scenarios/carillion_collapse.toml` (`scripts/after_collapse.py`
says how it counts awards). The band
is the model's 90% band; a record inside it is consistent with the model, a record outside
is a miss, explained.

| pattern | record | source | model median (90% band) | verdict |
| --- | --- | --- | --- | --- |
{table_rows}

In short: {tally}

![patterns](img/patterns.png)

A handback here is a contract its holder gives up while still trading (a contract left
without a bidder at its end, or lost in a failure, is not one). Shares of councils are of the
model's councils, the records' of England's 152. The mutuals' turnover is a weak test even
when inside: the starting mutual share follows from `mutuals.count` and their capacity, both
assumptions.
"""


def main(argv: list[str] | None = None) -> int:
    """Run the patterns and write their block of docs/validation.md and the figure."""
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=100, help="home-care runs per arm")
    parser.add_argument("--seeds", type=int, default=50, help="baseline runs")
    parser.add_argument(
        "--collapse-seeds", type=int, default=20, help="runs of the Carillion scenario"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--posterior", type=Path, default=POSTERIOR)
    parser.add_argument("--docs", type=Path, default=ROOT / "docs")
    args = parser.parse_args(argv)
    for key, least in (("draws", 2), ("seeds", 2), ("collapse_seeds", 2), ("workers", 1)):
        if getattr(args, key) < least:
            parser.error(f"--{key.replace('_', '-')} must be at least {least}")
    if args.workers == 1:
        table = evaluate(args, map)
    else:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["sim.abm.model"])
        with ProcessPoolExecutor(args.workers, mp_context=context) as pool:
            table = evaluate(args, functools.partial(pool.map, chunksize=2))
    (args.docs / "img").mkdir(parents=True, exist_ok=True)
    figure(table, args.docs / "img" / "patterns.png")
    write_block(args.docs / "validation.md", "patterns", doc_block(table, args))
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    print(f"wrote the patterns block of {args.docs}/validation.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
