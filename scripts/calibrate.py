"""Calibrate the home-care path by approximate Bayesian computation (ABC-SMC, pyabc).

    .venv/bin/python -m scripts.calibrate --quick     # ~700 runs, a few minutes on 2 cores
    .venv/bin/python -m scripts.calibrate             # the full run (size in docs/validation.md)
    .venv/bin/python -m scripts.calibrate --prior councils.inhouse_cost=0.9:1.3   # add a prior

Fits the parameters that the private share of home care after the 1993 reforms depends on
(scenarios/home_care_1993.toml) to the record: 2% in 1992, 64% in 2002, 81% in 2008
(Community Care 2011; ONS Social Trends; HSJ / Laing & Buisson). The distance is the
Euclidean distance between the simulated and recorded private shares at those three years;
pyabc's ABC-SMC lowers its tolerance each generation (median of the last one's distances).
Then it draws parameter sets from the posterior, runs each with a fresh seed over the whole
horizon and reports the 90% posterior-predictive band.

Writes ``--out`` (default results/calibration): posterior.csv (particles and weights),
predictive.csv (band per quarter), calibration.json (settings, tolerances, evaluations,
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
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pyabc
from pyabc.sampler import MappingSampler

ROOT = Path(__file__).resolve().parents[1]
from scripts.scriptkit import OneLineParser, write_block  # noqa: E402

SCENARIO = ROOT / "scenarios" / "home_care_1993.toml"
#: quarter -> private share of home care (1992, 2002, 2008): the record fitted.
RECORD = {0: 0.02, 40: 0.64, 64: 0.81}
RECORD_SOURCE = "Community Care 2011; ONS Social Trends; HSJ / Laing & Buisson"


def private_share(timeseries: pd.DataFrame) -> np.ndarray:
    """The record's "independent" share each quarter: the share of every provider type but
    the councils' own in-house units (outsourcers, local private firms and mutuals alike)."""
    from sim.core.state import KIND_NAMES, ProviderKind

    kinds = [f"share_{n}" for k, n in KIND_NAMES.items() if k != ProviderKind.INHOUSE]
    return timeseries[kinds].sum(axis=1).to_numpy()


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
        """The private share of home care each quarter, for one parameter set and seed."""
        from sim import CommissioningModel, load_scenario

        overrides = {**self.overrides, **calibrated_overrides(values)}
        scenario = load_scenario(SCENARIO, {**overrides, "scenario.quarters": self.quarters})
        model = CommissioningModel(scenario, rng=seed).run()
        return private_share(model.timeseries())

    def __call__(self, parameter: dict[str, float]) -> dict[str, float]:
        # pyabc seeds numpy in each task (SeededMappingSampler): the run's seed comes from it.
        seed = int(np.random.randint(0, 2**31 - 1))
        share = self.path({_name(k): v for k, v in parameter.items()}, seed)
        return {f"q{q}": float(share[q]) for q in RECORD}


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
        pyabc.PNormDistance(p=2),
        population_size=args.population,
        sampler=SeededMappingSampler(args.seed, pool_map),
        eps=pyabc.MedianEpsilon(),
    )
    db = args.out / "abc.db"
    db.unlink(missing_ok=True)
    abc.new(f"sqlite:///{db}", {f"q{q}": v for q, v in RECORD.items()})
    start = time.perf_counter()
    history = abc.run(max_nr_populations=args.generations, min_acceptance_rate=0.01)
    seconds = time.perf_counter() - start
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    posterior = frame.rename(columns=_name).reset_index(drop=True)
    posterior["weight"] = np.asarray(weights) / np.sum(weights)
    populations = history.get_all_populations()
    return {
        "posterior": posterior[[*priors, "weight"]],
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
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3), constrained_layout=True)
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        low, high, _ = priors[name]
        ax.hist(posterior[name], bins=20, range=(low, high), weights=posterior["weight"],
                density=True, color="tab:blue", alpha=0.7, label="posterior")  # fmt: skip
        ax.hlines(1 / (high - low), low, high, color="black", linestyle="--", label="prior")
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=7)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.suptitle("Home-care calibration: posterior marginals (ABC-SMC) against uniform priors")
    first = img / "calibration_posterior.png"
    fig.savefig(first, dpi=90)
    plt.close(fig)

    years = 1992 + np.arange(paths.shape[1]) / 4
    lo, mid, hi = np.percentile(paths, [5, 50, 95], axis=0)
    fig, ax = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
    ax.fill_between(years, 100 * lo, 100 * hi, alpha=0.3, label="posterior predictive, 90%")
    ax.plot(years, 100 * mid, label=f"median of {len(paths)} draws")
    ax.scatter([1992 + q / 4 for q in RECORD], [100 * v for v in RECORD.values()],
               color="black", zorder=3, label=f"record ({RECORD_SOURCE})")  # fmt: skip
    ax.set(xlabel="year", ylabel="private share of home care, % of contract value", ylim=(0, 100),
           title="Home care after the 1993 reforms: calibrated model against the record")  # fmt: skip
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
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


def doc_block(table: pd.DataFrame, band: pd.DataFrame, run: dict, args: argparse.Namespace) -> str:
    """The calibration section of docs/validation.md."""
    command = command_line(args)
    rows = "\n".join(
        f"| `{r.parameter}` | {r.prior_low:g} to {r.prior_high:g} | {r.posterior_median:.3g} | "
        f"{r.posterior_p5:.3g} to {r.posterior_p95:.3g} | {r.width_ratio:.2f} | {r.prior_note} |"
        for r in table.itertuples()
    )
    record = "\n".join(
        f"| {1992 + q // 4} | {v:.0%} | {band.loc[q, 'p50']:.1%} | "
        f"{band.loc[q, 'p5']:.1%} to {band.loc[q, 'p95']:.1%} | "
        f"{'inside' if band.loc[q, 'p5'] <= v <= band.loc[q, 'p95'] else 'outside'} |"
        for q, v in RECORD.items()
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
    return f"""\
## Calibration with uncertainty: home care 1992-2012 (ABC-SMC)

Generated by `.venv/bin/python {command}` (seed {args.seed}); rerun it to reproduce
this section and `docs/img/calibration_*.png`. Method: approximate Bayesian computation by
sequential Monte Carlo (pyabc {run["pyabc"]}), uniform priors; the distance is the Euclidean
distance between the simulated and recorded private shares of home care at 1992, 2002 and
2008 ({RECORD_SOURCE}); each generation's tolerance is the previous one's median distance.
Scenario `scenarios/home_care_1993.toml`, with the parameters below drawn from their priors
(price and quality weights sum to 1; contract lengths in whole years).

Size of this run: {args.population} particles x {run["generations"]} generations,
{run["evaluations"]} simulations, {run["seconds"]:.0f} s on {args.workers} worker(s);
tolerances {eps}. The full run (`scripts/calibrate.py`, no flag) is
{SIZES["full"]["population"]} particles x up to {SIZES["full"]["generations"]} generations;
`--quick` is {SIZES["quick"]["population"]} x {SIZES["quick"]["generations"]}. {scale}

| parameter | prior (uniform) | posterior median | posterior 90% interval | width / prior's | why this prior |
| --- | --- | --- | --- | --- | --- |
{rows}

A width ratio near 1 means the record says little about that parameter: it stays an
assumption, and any result that depends on it must be shown across its prior.

![posterior](img/calibration_posterior.png)

Posterior predictive ({args.draws} parameter sets drawn from the posterior, each run once with a
fresh seed; the band holds both parameter and run-to-run uncertainty):

| year | record | median | 90% band | record in the band? |
| --- | --- | --- | --- | --- |
{record}

Between and after the fitted years (not fitted, no record used):

| year | median | 90% band |
| --- | --- | --- |
{later}

![posterior predictive](img/calibration_predictive.png)
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
    table = posterior_table(posterior, priors)
    lo, mid, hi = np.percentile(paths, [5, 50, 95], axis=0)
    band = pd.DataFrame({"quarter": np.arange(len(mid)), "p5": lo, "p50": mid, "p95": hi})
    band = band.set_index("quarter")
    posterior.to_csv(args.out / "posterior.csv", index=False, float_format="%.8g")
    band.to_csv(args.out / "predictive.csv", float_format="%.6g")
    table.to_csv(args.out / "posterior_summary.csv", index=False, float_format="%.6g")
    settings = {k: getattr(args, k) for k in ("size", "population", "generations", "draws",
                                               "workers", "seed")}  # fmt: skip
    (args.out / "calibration.json").write_text(
        json.dumps({**settings, **run, "priors": priors}, indent=2) + "\n"
    )
    figures(posterior, priors, paths, args.docs / "img")
    write_block(args.docs / "validation.md", "calibration", doc_block(table, band, run, args))
    print(table[["parameter", "posterior_median", "posterior_p5", "posterior_p95", "width_ratio"]]
          .to_string(index=False))  # fmt: skip
    print(
        f"{run['evaluations']} simulations in {run['seconds']:.0f} s; "
        f"wrote {args.out}/posterior.csv and the calibration block of {args.docs}/validation.md"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
