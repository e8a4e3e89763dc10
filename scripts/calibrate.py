"""Calibrate the home-care path by approximate Bayesian computation (ABC-SMC, pyabc).

    .venv/bin/python -m scripts.calibrate --quick     # ~700 runs, a few minutes on 2 cores
    .venv/bin/python -m scripts.calibrate             # the full run (size in docs/validation.md)
    .venv/bin/python -m scripts.calibrate --prior councils.inhouse_cost=0.9:1.3   # add a prior

Fits the parameters of home care after the 1993 reforms (scenarios/home_care_1993.toml) to a
named set of records at once, :data:`CALIBRATION_SET`: the private share of home care, 2% in
1992, 64% in 2002, 81% in 2008 (Community Care 2011; ONS Social Trends; HSJ / Laing &
Buisson), and the median firm's margin, against the 4.8% mean surplus home-care providers
report (Hounslow fair cost of care; 3-5% in the LGA's fee setting). The distance is the
Euclidean distance between simulated and recorded values, each difference divided by its
record's scale (half its band), so a miss of one half-band costs the same in every record;
pyabc's ABC-SMC lowers its tolerance each generation (median of the last one's distances).
Then it draws parameter sets from the posterior, runs each with a fresh seed over the whole
horizon and reports the 90% posterior-predictive band of every record, with a verdict.

Identification: beside each parameter's posterior width over its prior's, the first
generation's runs (drawn near the prior) give each parameter's rank correlation with each
record's simulated value (:func:`identification`): the record a parameter moves most is the
one that identifies it; a parameter that moves no record, and whose posterior is as wide as
its prior, is not identified, and the block says so.

Writes ``--out`` (default results/calibration): posterior.csv (particles and weights),
predictive.csv (band per quarter), records.csv (each record's band and verdict),
identification.csv (rank correlations, parameter x record), calibration.json (settings, tolerances, evaluations,
seconds) and abc.db (pyabc's history); into ``--docs`` (default docs/): the block
``calibration`` of validation.md and img/calibration_posterior.png,
img/calibration_predictive.png.

Why pyabc: ABC-SMC with adaptive tolerances and transition kernels, a history database, and
samplers from one process to Dask (ELFI's strength, BOLFI, suits expensive simulators; this
one takes 0.2 s a run). pyabc's parallel samplers seed their workers from the operating
system, so :class:`SeededMappingSampler` hands each task a seed from ``--seed``: the same
seed gives the same posterior, whatever ``--workers``.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import multiprocessing
import random
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pyabc
from matplotlib.ticker import MaxNLocator
from pyabc.sampler import MappingSampler
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[1]
from scripts.scriptkit import OneLineParser, write_block  # noqa: E402

SCENARIO = ROOT / "scenarios" / "home_care_1993.toml"
#: quarter -> private share of home care (1992, 2002, 2008): the record fitted.
RECORD = {0: 0.02, 40: 0.64, 64: 0.81}
RECORD_SOURCE = "Community Care 2011; ONS Social Trends; HSJ / Laing & Buisson"
MARGIN_SOURCE = "Hounslow fair cost of care (mean 4.8%, range 0-10%); LGA fee setting (3-5%)"
#: The quarters whose median margin is averaged (2006 to 2008: the last the calibration runs).
MARGIN_QUARTERS = range(56, 65)


def share_key(quarter: int) -> str:
    """The name of the private-share record at ``quarter``: ``share_YEAR``."""
    return f"share_{1992 + quarter // 4}"


@dataclass(frozen=True)
class Record:
    """One record the calibration fits: its value, its band (what counts as a match) and
    why the model may miss it on either side."""

    key: str
    what: str
    value: float
    band: tuple[float, float]
    source: str
    if_low: str = ""
    if_high: str = ""

    @property
    def scale(self) -> float:
        """Half the band: a difference of one scale costs the same in every record."""
        return (self.band[1] - self.band[0]) / 2


SHARE_BANDS = {0: (0.0, 0.05), 40: (0.50, 0.75), 64: (0.70, 0.90)}
#: The calibration set: every record the distance uses, in its order.
CALIBRATION_SET = [
    Record(
        "share_1992",
        "private share of home care, 1992 (the start)",
        RECORD[0],
        SHARE_BANDS[0],
        RECORD_SOURCE,
        "the start is an input (`councils.initial_inhouse_share` 0.98 of service); the model's "
        "share is of contract value, which the dearer in-house units (`inhouse_cost`) hold more "
        "of than of service",
        "the start is an input; the first quarter's tenders already move work out",
    ),
    *(
        Record(
            share_key(q),
            f"private share of home care, {1992 + q // 4}",
            v,
            SHARE_BANDS[q],
            RECORD_SOURCE,
            "tendering moves in-house work out more slowly than the reforms did",
            "tendering moves in-house work out faster than the reforms did",
        )
        for q, v in RECORD.items()
        if q
    ),
    Record(
        "margin",
        "median firm's margin on cost, mean of 2006-2008",
        0.048,
        (0.03, 0.05),
        MARGIN_SOURCE,
        "bids fall below the margin firms report: competition drives mark-ups to the "
        "learned floor (`target_margin` plus what the books lose)",
        "firms win with mark-ups above what they report: too little competition per lot",
    ),
]


def private_share(timeseries: pd.DataFrame) -> np.ndarray:
    """The record's "independent" share each quarter: the share of every provider type but
    the councils' own in-house units (outsourcers, local private firms and mutuals alike)."""
    from sim.core.state import KIND_NAMES, ProviderKind

    kinds = [f"share_{n}" for k, n in KIND_NAMES.items() if k != ProviderKind.INHOUSE]
    return timeseries[kinds].sum(axis=1).to_numpy()


def record_statistics(share: np.ndarray, margin: np.ndarray) -> dict[str, float]:
    """The calibration set's simulated values from one run's private share and median margin
    by quarter (the margin averaged over :data:`MARGIN_QUARTERS`, since one quarter's
    median jumps with the few firms that bid in it)."""
    stats = {share_key(q): float(share[q]) for q in RECORD}
    stats["margin"] = float(np.mean(margin[MARGIN_QUARTERS.start : MARGIN_QUARTERS.stop]))
    return stats


def band_verdict(value: float, low: float, high: float) -> str:
    """``inside`` when ``value`` (a record) lies in the model's band [low, high], else which
    side of the record the model misses on."""
    if low <= value <= high:
        return "inside"
    return "miss: model above the record" if low > value else "miss: model below the record"


#: The priors: uniform on [low, high], with why. Integer parameters are rounded in the model.
PRIORS: dict[str, tuple[float, float, str]] = {
    "councils.market_test_rate": (
        0.0,
        1.0,
        "chance an in-house service is tendered at its review; no record: all of [0, 1]",
    ),
    "councils.contract_years_max": (
        3.0,
        10.0,
        "longest contract, whole years (shortest stays 2); notices show 2+1+1 to 7, some 10",
    ),
    "commissioning.bid_error": (
        0.0,
        0.15,
        "log-sd of bidders' cost estimates; assumption: up to 15%",
    ),
    "commissioning.price_weight": (
        0.4,
        1.0,
        "price's share of price + quality (quality gets the rest): 1990s tenders were price-led",
    ),
    "councils.inhouse_cost": (
        0.9,
        1.4,
        "in-house unit cost over the reference; unsourced (default 1.10): in-house home care "
        "was reported dearer per hour, by how much is not on record",
    ),
    "outsourcers.target_margin": (
        0.0,
        0.10,
        "margin a firm needs; the reported surplus range 0-10% (Hounslow)",
    ),
    "local_firms.target_margin": (
        0.0,
        0.10,
        "as for outsourcers",
    ),
}
PRICE_WEIGHT = "commissioning.price_weight"


def _integer_parameters() -> set[str]:
    """Parameters whose values are whole numbers (their default is an int): rounded in runs."""
    from sim.scenario import parameter_table

    return {
        r["name"]
        for r in parameter_table()
        if isinstance(r["default"], int) and not isinstance(r["default"], bool)
    }


INTEGER = _integer_parameters()

#: --quick, the test's --tiny, and the full run.
SIZES = {
    "tiny": {"population": 10, "generations": 2, "draws": 6},
    "quick": {"population": 60, "generations": 4, "draws": 60},
    "full": {"population": 300, "generations": 8, "draws": 300},
}


# ----------------------------------------------------------------------------- the model


def _key(name: str) -> str:
    """pyabc parameter names: no dots (they travel through SQL and pandas columns)."""
    return name.replace(".", "__")


def _name(key: str) -> str:
    return key.replace("__", ".")


def calibrated_overrides(values: dict[str, float]) -> dict[str, Any]:
    """Parameter values as a run takes them: whole numbers rounded, and quality weighted with
    what price leaves (price and quality share the score)."""
    out: dict[str, Any] = {
        name: round(value) if name in INTEGER else float(value) for name, value in values.items()
    }
    if PRICE_WEIGHT in out:
        out["commissioning.quality_weight"] = 1.0 - out[PRICE_WEIGHT]
    return out


class HomeCare:
    """The simulator pyabc calls: parameters in, private share at the record's years out.

    Picklable (it holds only names and numbers), so worker processes can run it.
    """

    def __init__(self, quarters: int, overrides: dict[str, Any]):
        self.quarters = quarters
        self.overrides = overrides

    def path(self, values: dict[str, float], seed: int) -> np.ndarray:
        """(2, quarters): the private share of home care and the median firm's margin each
        quarter, for one parameter set and seed."""
        from sim import CommissioningModel, load_scenario

        overrides = {**self.overrides, **calibrated_overrides(values)}
        scenario = load_scenario(SCENARIO, {**overrides, "scenario.quarters": self.quarters})
        ts = CommissioningModel(scenario, rng=seed).run().timeseries()
        return np.array([private_share(ts), ts["median_margin"].to_numpy()])

    def __call__(self, parameter: dict[str, float]) -> dict[str, float]:
        # pyabc seeds numpy in each task (SeededMappingSampler): the run's seed comes from it.
        seed = int(np.random.randint(0, 2**31 - 1))
        share, margin = self.path({_name(k): v for k, v in parameter.items()}, seed)
        return record_statistics(share, margin)


class SeededMappingSampler(MappingSampler):
    """pyabc's MappingSampler, but each task takes its seed from one SeedSequence, in order
    (pyabc's own seeds each task from the operating system): the same ``seed``, the same
    posterior, with any number of workers."""

    def __init__(self, seed: int, map_: Callable = map) -> None:
        super().__init__(map_=map_)
        self.seeds = np.random.SeedSequence(seed)

    def map_function(self, simulate_one: Any, task_seed: int) -> tuple[Any, int]:
        """Simulate until one particle is accepted, from ``task_seed``."""
        simulate_one = self.unpickle(simulate_one)
        np.random.seed(task_seed)
        random.seed(task_seed)
        sample, evaluations = self._create_empty_sample(), 0
        while True:
            new = simulate_one()
            evaluations += 1
            sample.append(new)
            if new.accepted:
                return sample, evaluations

    def sample_until_n_accepted(self, n: int, simulate_one: Any, t: int, **_: Any) -> Any:
        """``n`` tasks, one accepted particle each, in the order of their seeds."""
        seeds = [int(s.generate_state(1)[0]) for s in self.seeds.spawn(n)]
        task = functools.partial(self.map_function, self.pickle(simulate_one))
        results = list(self.map_(task, seeds))
        self.nr_evaluations_ = sum(e for _, e in results)
        sample = self._create_empty_sample()
        for part, _ in results:
            sample += part
        return sample


def posterior_tasks(
    draws: int, seed: int, posterior: Path, extra: dict[str, Any] | None = None
) -> tuple[list[tuple[dict[str, Any], int]], str]:
    """(overrides, seed) for ``draws`` runs: parameter sets resampled by weight from the
    posterior written by this script, each with a fresh seed (the scenario's own values
    where no posterior exists), and a label saying which."""
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, 2**31 - 1, draws)
    extra = extra or {}
    if not posterior.exists():
        return [(extra, int(s)) for s in seeds], f"scenario values, {draws} seeds (no posterior)"
    frame = pd.read_csv(posterior)
    weights = frame.pop("weight").to_numpy()
    picks = rng.choice(len(frame), size=draws, p=weights / weights.sum())
    tasks = [
        ({**calibrated_overrides(frame.iloc[i].to_dict()), **extra}, int(s))
        for i, s in zip(picks, seeds, strict=True)
    ]
    return tasks, f"posterior predictive, {draws} draws"


# ----------------------------------------------------------------------------- statistics


def weighted_quantiles(x: np.ndarray, w: np.ndarray, qs: Iterable[float]) -> list[float]:
    """Quantiles of a weighted sample (inverse of its weighted CDF)."""
    order = np.argsort(x)
    cdf = np.cumsum(w[order]) / w.sum()
    return [float(x[order][min(np.searchsorted(cdf, q), len(x) - 1)]) for q in qs]


def posterior_table(posterior: pd.DataFrame, priors: dict) -> pd.DataFrame:
    """Per parameter: prior and posterior 90% intervals, posterior median, and the posterior
    interval's width as a share of the prior's (below 1: the record told us something)."""
    w = posterior["weight"].to_numpy()
    rows = []
    for name, (low, high, why) in priors.items():
        x = posterior[name].to_numpy()
        p5, p50, p95 = weighted_quantiles(x, w, (0.05, 0.5, 0.95))
        prior5, prior95 = low + 0.05 * (high - low), low + 0.95 * (high - low)
        rows.append(
            {
                "parameter": name,
                "prior_low": low,
                "prior_high": high,
                "prior_p5": prior5,
                "prior_p95": prior95,
                "posterior_p5": p5,
                "posterior_median": p50,
                "posterior_p95": p95,
                "width_ratio": (p95 - p5) / (prior95 - prior5),
                "prior_note": why,
            }
        )
    return pd.DataFrame(rows)


#: |rank correlation| from which a parameter is said to move a record.
MOVES = 0.3
#: Posterior width / prior width below which the records are said to have narrowed a parameter.
NARROWED = 0.8


def identification(first: pd.DataFrame, priors: dict, records: list[Record]) -> pd.DataFrame:
    """Spearman rank correlation of each parameter (rows) with each record's simulated value
    (columns) over runs drawn near the prior (the first generation): which record moves
    which parameter, whatever the others do."""
    out = pd.DataFrame(index=list(priors), columns=[r.key for r in records], dtype=float)
    for name in priors:
        for r in records:
            rho = spearmanr(first[name], first[r.key]).statistic
            out.loc[name, r.key] = 0.0 if not np.isfinite(rho) else float(rho)
    return out


def identified_by(rho: pd.DataFrame, width_ratio: pd.Series) -> pd.DataFrame:
    """Per parameter: the record that moves it most, how much, and a plain status:
    identified (the records narrow it and one moves it), weakly (only one of the two), or
    not identified."""
    rows = []
    for name in rho.index:
        key = rho.loc[name].abs().idxmax()
        strongest = float(rho.loc[name, key])
        moves, narrowed = abs(strongest) >= MOVES, width_ratio[name] < NARROWED
        status = (
            "identified"
            if moves and narrowed
            else "weakly identified"
            if moves or narrowed
            else "not identified"
        )
        others = [k for k in rho.columns if k != key and abs(rho.loc[name, k]) >= MOVES]
        rows.append({"parameter": name, "record": key, "rho": strongest, "also": others,
                     "width_ratio": float(width_ratio[name]), "status": status})  # fmt: skip
    return pd.DataFrame(rows)


def record_table(paths: np.ndarray, records: list[Record]) -> pd.DataFrame:
    """Each record against the posterior-predictive runs (draws, 2, quarters): median, 90%
    band and verdict."""
    stats = pd.DataFrame([record_statistics(share, margin) for share, margin in paths])
    rows = []
    for r in records:
        lo, mid, hi = np.percentile(stats[r.key], [5, 50, 95])
        rows.append({"record": r.key, "value": r.value, "p5": lo, "p50": mid, "p95": hi,
                     "verdict": band_verdict(r.value, lo, hi)})  # fmt: skip
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- running


def parse_prior(text: str) -> tuple[str, tuple[float, float, str]]:
    """``--prior NAME=LOW:HIGH`` (uniform); a bad one is an argparse error (one line, exit 2)."""
    try:
        name, bounds = text.split("=", 1)
        low, high = (float(v) for v in bounds.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=LOW:HIGH") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise argparse.ArgumentTypeError(f"{text!r}: LOW must be below HIGH")
    return name.strip(), (low, high, "set with --prior")


def check_priors(priors: dict, parser: argparse.ArgumentParser) -> None:
    """Every prior's bounds are valid values of its parameter: load the scenario at both ends
    (a bad name or bound is one line and exit 2 before anything runs)."""
    from sim.inputs import InputError
    from sim.scenario import load_scenario

    for name, (low, high, _) in priors.items():
        for value in (low, high):
            try:
                load_scenario(SCENARIO, calibrated_overrides({name: value}))
            except InputError as err:
                parser.error(f"--prior {name}: {err}")


def run_abc(args: argparse.Namespace, priors: dict, model: HomeCare, pool_map: Callable) -> dict:
    """ABC-SMC with pyabc; returns the last generation's particles and the run's record."""
    np.random.seed(args.seed)  # pyabc's own draws in this process (first tolerance, kernels)
    prior = pyabc.Distribution(
        **{_key(n): pyabc.RV("uniform", lo, hi - lo) for n, (lo, hi, _) in priors.items()}
    )
    abc = pyabc.ABCSMC(
        model,
        prior,
        pyabc.PNormDistance(p=2, fixed_weights={r.key: 1 / r.scale for r in CALIBRATION_SET}),
        population_size=args.population,
        sampler=SeededMappingSampler(args.seed, pool_map),
        eps=pyabc.MedianEpsilon(),
    )
    db = args.out / "abc.db"
    db.unlink(missing_ok=True)
    abc.new(f"sqlite:///{db}", {r.key: r.value for r in CALIBRATION_SET})
    start = time.perf_counter()
    history = abc.run(max_nr_populations=args.generations, min_acceptance_rate=0.01)
    seconds = time.perf_counter() - start
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    posterior = frame.rename(columns=_name).reset_index(drop=True)
    posterior["weight"] = np.asarray(weights) / np.sum(weights)
    populations = history.get_all_populations()
    first = history.get_population(t=0).particles
    return {
        "posterior": posterior[[*priors, "weight"]],
        "first": pd.DataFrame(
            [{**{_name(k): v for k, v in x.parameter.items()}, **x.sum_stat} for x in first]
        ),
        "seconds": seconds,
        "evaluations": int(populations["samples"].sum()),
        "epsilons": [float(e) for e in populations["epsilon"] if np.isfinite(e)],
        "generations": int(history.max_t) + 1,
    }


def predictive(
    posterior: pd.DataFrame, priors: dict, model: HomeCare, draws: int, seed: int, pool_map
) -> np.ndarray:
    """Paths (draws x quarters) from parameter sets resampled by weight, each a fresh seed."""
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(posterior), size=draws, p=posterior["weight"].to_numpy())
    tasks = [
        ({n: float(posterior[n].iloc[i]) for n in priors}, int(s))
        for i, s in zip(picks, rng.integers(0, 2**31 - 1, draws), strict=True)
    ]
    return np.array(list(pool_map(_path_task, [(model, v, s) for v, s in tasks])))


def _path_task(task: tuple[HomeCare, dict, int]) -> np.ndarray:
    model, values, seed = task
    return model.path(values, seed)


# ----------------------------------------------------------------------------- outputs


def figures(posterior: pd.DataFrame, priors: dict, paths: np.ndarray, img: Path) -> list[Path]:
    """The posterior marginals against their priors, and the predictive band against the
    record."""
    img.mkdir(parents=True, exist_ok=True)
    names = list(priors)
    cols = min(len(names), 4)
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), constrained_layout=True)
    axes = np.atleast_1d(axes).ravel()
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    for ax, name in zip(axes, names, strict=False):
        low, high, _ = priors[name]
        ax.hist(posterior[name], bins=20, range=(low, high), weights=posterior["weight"],
                density=True, color="tab:blue", alpha=0.7, label="posterior")  # fmt: skip
        ax.hlines(1 / (high - low), low, high, color="black", linestyle="--", label="prior")
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7)
    fig.suptitle("Home-care calibration: posterior marginals (ABC-SMC) against uniform priors")
    first = img / "calibration_posterior.png"
    fig.savefig(first, dpi=90)
    plt.close(fig)

    years = 1992 + np.arange(paths.shape[2]) / 4
    lo, mid, hi = np.percentile(paths[:, 0], [5, 50, 95], axis=0)
    fig, (ax, right) = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True,
                                    width_ratios=(3, 2))  # fmt: skip
    ax.fill_between(years, 100 * lo, 100 * hi, alpha=0.3, label="posterior predictive, 90%")
    ax.plot(years, 100 * mid, label=f"median of {len(paths)} draws")
    ax.scatter([1992 + q / 4 for q in RECORD], [100 * v for v in RECORD.values()],
               color="black", zorder=3, label=f"record ({RECORD_SOURCE})")  # fmt: skip
    ax.set(xlabel="year", ylabel="private share of home care, % of contract value", ylim=(0, 100),
           title="Home care after the 1993 reforms: calibrated model against the record")  # fmt: skip
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    # The margin panel starts after the first year: with nearly all work in-house, the few
    # firms trading then make a median that says nothing.
    m_lo, m_mid, m_hi = np.percentile(paths[:, 1, 4:], [5, 50, 95], axis=0)
    right.fill_between(years[4:], 100 * m_lo, 100 * m_hi, alpha=0.3, label="90% band")
    right.plot(years[4:], 100 * m_mid, label="median")
    margin = next(r for r in CALIBRATION_SET if r.key == "margin")
    span = [1992 + MARGIN_QUARTERS.start / 4, 1992 + MARGIN_QUARTERS.stop / 4]
    right.fill_between(span, 100 * margin.band[0], 100 * margin.band[1], color="black",
                       alpha=0.2, label="record's band (LGA 3-5%)")  # fmt: skip
    right.plot(span, [100 * margin.value] * 2, color="black", label="record (mean 4.8%)")
    right.set(xlabel="year", ylabel="median firm's margin on cost, %",
              title="Median margin (fitted over 2006-2008)")  # fmt: skip
    right.legend(fontsize=8)
    right.grid(alpha=0.3)
    for axis in (ax, right):  # whole years, few enough to read
        axis.xaxis.set_major_locator(MaxNLocator(6, integer=True))
    second = img / "calibration_predictive.png"
    fig.savefig(second, dpi=100)
    plt.close(fig)
    return [first, second]


def command_line(args: argparse.Namespace) -> str:
    """How this run was asked for: its size flag and any flag that changed the size."""
    command = "-m scripts.calibrate" + ("" if args.size == "full" else f" --{args.size}")
    for key, value in SIZES[args.size].items():
        if getattr(args, key) != value:
            command += f" --{key} {getattr(args, key)}"
    return command


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def record_rows(records: pd.DataFrame) -> str:
    """The calibration set's table rows: record, source, band, model, verdict (with why)."""
    by_key = {r.key: r for r in CALIBRATION_SET}
    rows = []
    for row in records.itertuples():
        r = by_key[row.record]
        verdict = row.verdict
        if verdict != "inside":
            verdict = f"**{verdict}**: {r.if_high if 'above' in verdict else r.if_low}"
        rows.append(
            f"| {r.what} | {_pct(r.value)} | {r.source} | {_pct(r.band[0])} to "
            f"{_pct(r.band[1])} | {_pct(row.p50)} ({_pct(row.p5)} to {_pct(row.p95)}) | "
            f"{verdict} |"
        )
    return "\n".join(rows)


def identification_rows(ident: pd.DataFrame, rho: pd.DataFrame) -> str:
    """The identification table's rows: each parameter's rank correlation with every record,
    the record that moves it most, its width ratio and its status."""
    rows = []
    for row in ident.itertuples():
        cells = " | ".join(f"{rho.loc[row.parameter, k]:+.2f}" for k in rho.columns)
        status = row.status if row.status == "identified" else f"**{row.status}**"
        rows.append(f"| `{row.parameter}` | {cells} | {row.record} | {row.width_ratio:.2f} | "
                    f"{status} |")  # fmt: skip
    return "\n".join(rows)


def doc_block(
    table: pd.DataFrame,
    band: pd.DataFrame,
    run: dict,
    args: argparse.Namespace,
    records: pd.DataFrame,
    ident: pd.DataFrame,
    rho: pd.DataFrame,
) -> str:
    """The calibration section of docs/validation.md."""
    command = command_line(args)
    rows = "\n".join(
        f"| `{r.parameter}` | {r.prior_low:g} to {r.prior_high:g} | {r.posterior_median:.3g} | "
        f"{r.posterior_p5:.3g} to {r.posterior_p95:.3g} | {r.width_ratio:.2f} | {r.prior_note} |"
        for r in table.itertuples()
    )
    later = "\n".join(
        f"| {1992 + q // 4} | {band.loc[q, 'p50']:.1%} | {band.loc[q, 'p5']:.1%} to "
        f"{band.loc[q, 'p95']:.1%} |"
        for q in band.index
        if q % 8 == 0 and q not in RECORD
    )
    eps = ", ".join(f"{e:.3f}" for e in run["epsilons"])
    full = SIZES["full"]
    if args.population == full["population"] and run["generations"] == full["generations"]:
        scale = "This is the full run."
    else:  # later generations accept less, so this is a lower bound
        ratio = (full["population"] / args.population) * (full["generations"] / run["generations"])
        scale = (
            f"Scaled from this run, the full run needs at least {ratio * run['evaluations']:,.0f} "
            f"simulations, {ratio * run['seconds'] / 60:.0f} minutes at this run's rate."
        )
    weights = ", ".join(f"{r.key} {r.scale:.3g}" for r in CALIBRATION_SET)
    header = " | ".join(rho.columns)
    what = {r.key: r.what for r in CALIBRATION_SET}
    unidentified = [f"`{r.parameter}`" for r in ident.itertuples() if r.status != "identified"]
    plain = (
        "Not identified, or only weakly, by this set: "
        + ", ".join(unidentified)
        + ". Their values stay assumptions: any result that turns on them must be shown "
        "across their prior (docs/claims.md does so for the scanned parameters)."
        if unidentified
        else "Every fitted parameter is identified by this set."
    )
    missed = [what[r.record] for r in records.itertuples() if r.verdict != "inside"]
    shared = [
        f"{' and '.join(f'`{p}`' for p in group.parameter)} are identified by one record, "
        f"{what[key]}, alone: it pins a combination of them, not each."
        for key, group in ident[ident.status == "identified"].groupby("record")
        if len(group) > 1
    ]
    if shared:
        plain += " " + " ".join(shared)
    tally = (
        f"{len(records) - len(missed)} of {len(records)} calibration records inside the band"
        + (f"; missed: {'; '.join(missed)}." if missed else ".")
    )
    return f"""\
## Calibration with uncertainty: home care 1992-2012 (ABC-SMC)

Generated by `.venv/bin/python {command}` (seed {args.seed}); rerun it to reproduce
this section and `docs/img/calibration_*.png`. Method: approximate Bayesian computation by
sequential Monte Carlo (pyabc {run["pyabc"]}), uniform priors, fitted to the **calibration
set** below, all records at once: the distance is the Euclidean distance between simulated
and recorded values, each difference divided by its record's scale, half its band
({weights}); each generation's tolerance is the previous one's median distance.
Scenario `scenarios/home_care_1993.toml`, with the parameters below drawn from their priors
(price and quality weights sum to 1; contract lengths in whole years). The **held-out set**,
records no parameter was fitted to, is reported as tests further down: 'Independent
patterns' and 'England, council by council' (the model against the null models there).

Size of this run: {args.population} particles x {run["generations"]} generations,
{run["evaluations"]} simulations, {run["seconds"]:.0f} s on {args.workers} worker(s);
tolerances {eps}. The full run (`scripts/calibrate.py`, no flag) is
{SIZES["full"]["population"]} particles x up to {SIZES["full"]["generations"]} generations;
`--quick` is {SIZES["quick"]["population"]} x {SIZES["quick"]["generations"]}. {scale}

### The calibration set: fitted records

Posterior predictive: {args.draws} parameter sets drawn from the posterior, each run once with
a fresh seed over 20 years (the band holds both parameter and run-to-run uncertainty). A
record inside the band is a calibration, not a test.

| record | value | source | band (distance scale) | model median (90% band) | verdict |
| --- | --- | --- | --- | --- | --- |
{record_rows(records)}

In short: {tally} The margin record is the mean surplus providers reported to Hounslow's fair
cost of care exercise (2022, on revenue) with the LGA's 3-5% fee-setting band; the model's
is the median firm's surplus on cost over 2006-2008, the last years the calibration runs: a
different year, statistic and base, so the band is the LGA's, not the record's 0-10% range.

### The posterior

| parameter | prior (uniform) | posterior median | posterior 90% interval | width / prior's | why this prior |
| --- | --- | --- | --- | --- | --- |
{rows}

![posterior](img/calibration_posterior.png)

### Identification: which record identifies which parameter

Rank correlation (Spearman) of each parameter with each record's simulated value over the
{run["first_runs"]} accepted runs of the first generation (drawn near the prior, so each
parameter varies over its range whatever the others do). A parameter *moves* a record when
|rho| >= {MOVES}; it is *identified* when it moves one and the records narrow it (width /
prior's below {NARROWED}); *weakly* when only one of the two holds.

| parameter | {header} | record that moves it most | width / prior's | status |
| --- |{" --- |" * len(rho.columns)} --- | --- | --- |
{identification_rows(ident, rho)}

{plain}

![posterior predictive](img/calibration_predictive.png)

Between and after the fitted years (private share; not fitted, no record used):

| year | median | 90% band |
| --- | --- | --- |
{later}
"""


def main(argv: list[str] | None = None) -> int:
    """Run the calibration and write its files and its block of docs/validation.md."""
    parser = OneLineParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="size", action="store_const", const="quick",
                      help="a small run (minutes)")  # fmt: skip
    size.add_argument("--tiny", dest="size", action="store_const", const="tiny",
                      help="smallest run, for the test (seconds)")  # fmt: skip
    parser.set_defaults(size="full")
    parser.add_argument("--population", type=int, help="particles per generation")
    parser.add_argument("--generations", type=int, help="most generations")
    parser.add_argument("--draws", type=int, help="posterior-predictive runs")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--prior", type=parse_prior, action="append", default=[],
                        metavar="NAME=LOW:HIGH", help="add or replace a uniform prior")  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "calibration")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs",
                        help="where validation.md and img/ are (default docs/)")  # fmt: skip
    args = parser.parse_args(argv)
    for key, value in SIZES[args.size].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    for key in ("population", "generations", "draws", "workers"):
        if getattr(args, key) < 1:
            parser.error(f"--{key} must be at least 1")
    priors = {**PRIORS, **dict(args.prior)}
    check_priors(priors, parser)
    args.out.mkdir(parents=True, exist_ok=True)
    model = HomeCare(max(RECORD) + 1, {})
    full = HomeCare(80, {})

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["sim.abm.model", "pyabc"])
    if args.workers == 1:
        run = run_abc(args, priors, model, map)
        paths = predictive(run["posterior"], priors, full, args.draws, args.seed, map)
    else:
        with ProcessPoolExecutor(args.workers, mp_context=context) as pool:
            pool_map = functools.partial(pool.map, chunksize=1)
            run = run_abc(args, priors, model, pool_map)
            paths = predictive(run["posterior"], priors, full, args.draws, args.seed, pool_map)
    run["pyabc"] = pyabc.__version__
    posterior = run.pop("posterior")
    first = run.pop("first")
    run["first_runs"] = len(first)
    table = posterior_table(posterior, priors)
    rho = identification(first, priors, CALIBRATION_SET)
    ident = identified_by(rho, table.set_index("parameter")["width_ratio"])
    records = record_table(paths, CALIBRATION_SET)
    lo, mid, hi = np.percentile(paths[:, 0], [5, 50, 95], axis=0)
    band = pd.DataFrame({"quarter": np.arange(len(mid)), "p5": lo, "p50": mid, "p95": hi})
    band = band.set_index("quarter")
    posterior.to_csv(args.out / "posterior.csv", index=False, float_format="%.8g")
    band.to_csv(args.out / "predictive.csv", float_format="%.6g")
    table.to_csv(args.out / "posterior_summary.csv", index=False, float_format="%.6g")
    records.to_csv(args.out / "records.csv", index=False, float_format="%.6g")
    rho.to_csv(args.out / "identification.csv", index_label="parameter", float_format="%.4g")
    settings = {k: getattr(args, k) for k in ("size", "population", "generations", "draws",
                                               "workers", "seed")}  # fmt: skip
    (args.out / "calibration.json").write_text(
        json.dumps({**settings, **run, "priors": priors}, indent=2) + "\n"
    )
    figures(posterior, priors, paths, args.docs / "img")
    write_block(
        args.docs / "validation.md",
        "calibration",
        doc_block(table, band, run, args, records, ident, rho),
    )
    print(table[["parameter", "posterior_median", "posterior_p5", "posterior_p95", "width_ratio"]]
          .to_string(index=False))  # fmt: skip
    print(ident[["parameter", "record", "rho", "status"]].to_string(index=False))
    print(records.to_string(index=False))
    print(
        f"{run['evaluations']} simulations in {run['seconds']:.0f} s; "
        f"wrote {args.out}/posterior.csv and the calibration block of {args.docs}/validation.md"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
