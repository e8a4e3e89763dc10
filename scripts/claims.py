"""The article's claims, judged so that they could fail: docs/claims.md from a Sobol sweep.

    .venv/bin/python -m scripts.claims --pilot                           # size the replications
    .venv/bin/python -m scripts.claims                                   # run the sweep, report
    .venv/bin/python -m scripts.claims --sweep results/headline_claims   # report a finished sweep

Reads (or first runs) experiments/headline_claims.toml: the levers a council holds and every
assumed number that could build a claim in, varied together in a Sobol design. For each claim
of the article it reports (statistics in scripts/claims_stats.py):

- the effect of the lever from the bottom to the top of its range, with its 95% CI, twice: at
  the other levers' defaults (the claim as the article makes it, at today's settings) and
  across the other levers' ranges (averaged over them);
- its price: the same lever's effect on total spend and on cost per unit of service;
- its sensitivity: the effect with each assumption in the lower, then the upper, half of its
  range; the assumptions it leans on beyond noise;
- a verdict: a claim that holds only under an assumption says so first; a claim that fails
  says "Fails";
- the Sobol indices (SALib) of the outcome.

``--pilot`` runs the experiment with few samples and many replications, then ``commsim
analyze --precision`` on it (its replications.csv): the replications a design point needs for
each claim outcome. docs/claims.md reports that sizing when the pilot folder is there.

Writes docs/claims.md (whole, but for the blocks other scripts write there: the England
section of scripts/england_claims.py) and docs/img/claims_<claim>.png.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
from scripts.claims_stats import (  # noqa: E402
    Effect,
    conditional_effects,
    lever_effect,
    num,
    price_sentence,
    scaled,
    scaled_defaults,
    sensitivity,
    short_verdict,
    status,
    verdict,
)
from scripts.scriptkit import OneLineParser, keep_blocks  # noqa: E402

EXPERIMENT = ROOT / "experiments" / "headline_claims.toml"
BASELINE = ROOT / "scenarios" / "baseline.toml"

SV_WEIGHT = "commissioning.social_value_weight"
LOCAL_PREFERENCE = "commissioning.local_preference"
INHOUSE_RETAINED = "councils.inhouse_capacity_retained"
#: What a council chooses; every other varied parameter is an assumption.
LEVERS = (SV_WEIGHT, LOCAL_PREFERENCE, INHOUSE_RETAINED)
#: A lever's price: its effect on these (value-for-money outcomes, sim.core.outcome_table).
SPEND, PER_SERVICE = "total_spend", "mean_cost_per_service"


@dataclass(frozen=True)
class Claim:
    """One claim of the article, as a lever that should move an outcome one way."""

    key: str
    sentence: str  # the claim, in one sentence
    quote: str  # where the article makes it
    lever: str
    outcome: str
    sign: int  # +1: the claim says the outcome rises with the lever


CLAIMS = [
    Claim(
        "mutuals_grow",
        "Weighting social value in tenders opens the door to public service mutuals.",
        "prioritising social value ... should open the door to greater engagement of mutuals",
        SV_WEIGHT,
        "final_share_mutual",
        +1,
    ),
    Claim(
        "money_local",
        "Weighting social value keeps more of each pound councils spend in the local economy.",
        "mutuals combine their social purpose with localism ... re-invest in local economies",
        SV_WEIGHT,
        "mean_local_share",
        +1,
    ),
    Claim(
        "keep_it_local",
        "Preferring local bidders ('Keeping it Local') keeps more money in the local economy.",
        "campaigns such as 'Keeping it Local' urge commissioners to ... re-invest in local economies",
        LOCAL_PREFERENCE,
        "mean_local_share",
        +1,
    ),
    Claim(
        "mutuals_resilient",
        "A market with more mutuals, grown by social value weighting, loses less service when a "
        "large outsourcer fails.",
        "public services are dependent on the financial status of private companies; "
        "'too big to fail'",
        SV_WEIGHT,
        "min_service_delivered",
        +1,
    ),
    Claim(
        "inhouse_resilient",
        "Councils that keep in-house capacity ride out an outsourcer's collapse with less lost "
        "service.",
        "Carillion's collapse; councils took services back in-house (DOMAIN: Oxfordshire, Croydon)",
        INHOUSE_RETAINED,
        "min_service_delivered",
        +1,
    ),
    Claim(
        "trust",
        "Commissioning from mutuals, through social value weighting, closes the trust gap.",
        "mutuals can play a pivotal role in closing the 'trust gap'",
        SV_WEIGHT,
        "final_trust",
        +1,
    ),
]


# ----------------------------------------------------------------------------- running


def load_sweep(args: Any) -> tuple[pd.DataFrame, dict]:
    """The sweep's runs and manifest: ``--sweep`` as given, or the experiment run into
    ``--out`` first (resumed if it is there)."""
    folder = args.sweep
    if folder is None:
        folder = args.out
        _run(args.experiment, folder, args.workers)
    from sim.experiments.store import read_manifest, read_runs
    from sim.inputs import InputError

    manifest = read_manifest(folder) if folder.is_dir() else None
    if manifest is None:
        raise InputError(f"{folder}: holds no manifest.json: not a sweep directory")
    if manifest["experiment"]["design"] != "sobol":
        raise InputError(f"{folder}: not a Sobol design")
    return read_runs(folder), manifest


def _run(experiment_file: Path, folder: Path, workers: int) -> None:
    from sim.experiments.executors import make_executor
    from sim.experiments.experiment import load_experiment
    from sim.experiments.sweep import run_sweep

    experiment = load_experiment(experiment_file)
    with make_executor(workers) as executor:
        run_sweep(experiment, folder, executor, resume=folder.exists(), progress=None)


def pilot_text(text: str, experiment_file: Path, samples: int, replications: int) -> str:
    """The experiment file's text for a pilot: ``samples`` and ``replications`` replaced, its
    name suffixed ``_pilot`` and its scenario path made absolute (the pilot file lives
    elsewhere).

    Raises:
        ValueError: the text has no such key in its [experiment] table.
    """
    scenario = tomllib.loads(text)["experiment"]["scenario"]
    absolute = (experiment_file.parent / scenario).resolve()
    swaps = {
        "samples": str(samples),
        "replications": str(replications),
        "name": f'"{tomllib.loads(text)["experiment"]["name"]}_pilot"',
        "scenario": f'"{absolute}"',
    }
    for key, value in swaps.items():
        text, found = re.subn(rf"(?m)^{key}\s*=.*$", f"{key} = {value}", text, count=1)
        if not found:
            raise ValueError(f"{experiment_file}: no '{key} =' line in [experiment]")
    return text


def run_pilot(args: Any) -> Path:
    """The pilot sweep and ``commsim analyze --precision`` on it; returns replications.csv."""
    from sim.experiments.analysis import analyze_sweep
    from sim.experiments.stats import parse_precision

    folder: Path = args.pilot_dir
    folder.mkdir(parents=True, exist_ok=True)
    pilot = folder.parent / f"{folder.name}.toml"
    pilot.write_text(pilot_text(args.experiment.read_text(), args.experiment.resolve(),
                                args.pilot_samples, args.pilot_replications))  # fmt: skip
    _run(pilot, folder, args.workers)
    analyze_sweep(folder, parse_precision(args.precision))
    return folder / "replications.csv"


def replications_advice(table: pd.DataFrame, outcomes: list[str]) -> pd.DataFrame:
    """Per outcome of ``outcomes``: the replications a design point needs for the precision the
    table was made with (``commsim analyze --precision``'s replications.csv), as the median and
    the 90th percentile over the pilot's design points, and that target half-width."""
    rows = []
    for name in outcomes:
        need = table.loc[table["outcome"] == name, "replications_needed"].dropna()
        target = table.loc[table["outcome"] == name, "target"].dropna()
        rows.append(
            {
                "outcome": name,
                "target": float(target.median()) if len(target) else np.nan,
                "median": float(need.median()) if len(need) else np.nan,
                "p90": float(need.quantile(0.9)) if len(need) else np.nan,
                "points": int(need.size),
            }
        )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- analysis


def analyse(runs: pd.DataFrame, manifest: dict) -> list[dict]:
    """Every claim: its effect at the other levers' defaults and across them, its price,
    the effect in each half of each assumption, its verdict, and the Sobol indices."""
    from sim.experiments.analysis import sobol_indices

    problem = manifest["problem"]
    runs = runs[runs["error"].isna()]
    x = scaled(runs, problem)
    block = runs["point"] // (len(problem["names"]) + 2)  # SALib's Saltelli order
    assumptions = [n for n in problem["names"] if n not in LEVERS]
    levers = [n for n in problem["names"] if n in LEVERS]
    defaults = scaled_defaults(manifest["base_scenario"], problem, levers)
    bounds = {n: tuple(b) for n, b in zip(problem["names"], problem["bounds"], strict=True)}
    sobol = sobol_indices(runs, problem, seed=manifest["experiment"]["seed"])
    mean_spend = float(pd.to_numeric(runs[SPEND], errors="coerce").mean())
    prices: dict[str, dict[str, Effect]] = {}
    out = []
    for claim in CLAIMS:
        at = {k: v for k, v in defaults.items() if k != claim.lever}
        if claim.lever not in prices:
            prices[claim.lever] = {
                f"{cost}_{mode}": lever_effect(
                    x, pd.to_numeric(runs[cost], errors="coerce"), claim.lever, block, where
                )
                for cost in (SPEND, PER_SERVICE)
                for mode, where in (("defaults", at), ("across", None))
            }
        y = pd.to_numeric(runs[claim.outcome], errors="coerce")
        at_defaults = lever_effect(x, y, claim.lever, block, at)
        across = lever_effect(x, y, claim.lever, block)
        conditional = conditional_effects(x, y, claim.lever, block, assumptions, at)
        leaning = sensitivity(at_defaults.effect, conditional, claim.sign)
        indices = sobol[sobol["outcome"] == claim.outcome].pivot_table(
            index="parameter", columns="index", values=["value", "conf"]
        )
        out.append(
            {
                "claim": claim,
                "at_defaults": at_defaults,
                "across": across,
                "defaults": at,
                "price": prices[claim.lever],
                "mean_spend": mean_spend,
                "leaning": leaning,
                "verdict": verdict(claim.sign, at_defaults, across, leaning, bounds),
                "short": short_verdict(claim.sign, at_defaults, across, leaning),
                "sobol": indices,
                "assumptions": assumptions,
                "x": x,
                "y": y,
            }
        )
    return out


# ----------------------------------------------------------------------------- outputs


def figure(result: dict, path: Path) -> Path:
    """Left: each input's share of the outcome's variance (Sobol ST, S1). Right: the outcome
    against the lever, in the lower and upper half of the assumption the effect leans on most."""
    claim, sobol, x, y = result["claim"], result["sobol"], result["x"], result["y"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5.5), constrained_layout=True)
    names = list(x.columns)
    st = [sobol.loc[n, ("value", "ST")] if n in sobol.index else np.nan for n in names]
    s1 = [sobol.loc[n, ("value", "S1")] if n in sobol.index else np.nan for n in names]
    conf = [sobol.loc[n, ("conf", "ST")] if n in sobol.index else np.nan for n in names]
    pos = np.arange(len(names))
    colours = ["tab:orange" if n in LEVERS else "tab:blue" for n in names]
    left.barh(pos, st, xerr=conf, color=colours, alpha=0.8, label="ST (total)")
    left.scatter(s1, pos, color="black", marker="D", s=18, zorder=3, label="S1 (alone)")
    left.set_yticks(pos, names, fontsize=7)
    left.invert_yaxis()
    left.set_xlabel(f"share of the variance of {claim.outcome}")
    left.set_title("Sobol indices (orange: levers; blue: assumptions)", fontsize=9)
    left.legend(fontsize=7)
    key = str(result["leaning"]["parameter"].iloc[0])  # the largest shift
    bins = np.linspace(0, 1, 6)
    for half, mask, colour in (("lower", x[key] < 0.5, "tab:red"),
                               ("upper", x[key] >= 0.5, "tab:green")):  # fmt: skip
        which = np.digitize(x.loc[mask, claim.lever], bins[1:-1])
        means = y[mask].groupby(which).mean()
        right.scatter(x.loc[mask, claim.lever], y[mask], s=2, alpha=0.1, color=colour)
        right.plot((bins[:-1] + bins[1:])[means.index] / 2, means, "o-", color=colour,
                   label=f"{key} in its {half} half")  # fmt: skip
    right.set_xlabel(f"{claim.lever} (0: its minimum, 1: its maximum)", fontsize=8)
    right.set_ylabel(claim.outcome)
    right.set_title("outcome against the lever, binned means (every run)", fontsize=9)
    right.legend(fontsize=7)
    fig.suptitle(claim.sentence, fontsize=10)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _short(value: Any) -> str:
    """A fixed setting as the page shows it (shock tables as kind@quarter)."""
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return "[" + ", ".join(f"{v.get('kind')}@{v.get('quarter')}" for v in value) + "]"
    return str(value)


def ci_text(e: Effect) -> str:
    """An effect and its 95% CI as the page prints them: ``+0.1 (+0.05 to +0.15)``."""
    return f"{num(e.effect)} ({num(e.low)} to {num(e.high)})"


def claim_section(i: int, result: dict) -> str:
    """One claim: its verdict first, then the effects, the price, the table and the figure."""
    claim = result["claim"]
    d, a, p = result["at_defaults"], result["across"], result["price"]
    defaults = ", ".join(f"`{k}` at {v:.2f} of its range" for k, v in result["defaults"].items())
    sobol = result["sobol"]
    lean = result["leaning"].set_index("parameter")
    rows = []
    for name in result["x"].columns:
        role = "lever" if name in LEVERS else "assumption"
        if name in sobol.index:
            s = sobol.loc[name]
            idx = (f"{s[('value', 'S1')]:.2f} +/- {s[('conf', 'S1')]:.2f} | "
                   f"{s[('value', 'ST')]:.2f} +/- {s[('conf', 'ST')]:.2f}")  # fmt: skip
        else:
            idx = "n/a | n/a"
        if name in lean.index:
            r = lean.loc[name]
            mark = (" **only if**" if pd.notna(r["only_if"]) else " **leans**" if r["depends"]
                    else " beyond noise" if r["beyond_noise"] else "")  # fmt: skip
            halves = f"{r['effect_low']:+.3g} / {r['effect_high']:+.3g}{mark}"
        else:
            halves = "(the lever)" if name == claim.lever else "(held at its default)"
        rows.append(f"| `{name}` | {role} | {idx} | {halves} |")
    table = "\n".join(rows)
    return f"""\
### {i}. {claim.sentence}

**{result["verdict"]}**

The article: "{claim.quote}". Lever `{claim.lever}`, outcome `{claim.outcome}`; the effect is
the change from the lever's minimum to its maximum, 95% CI, over {d.n} runs.

| | at the other levers' defaults | across the other levers' ranges |
| --- | --- | --- |
| effect on `{claim.outcome}` | {ci_text(d)}: {status(d, claim.sign)} | {ci_text(a)}: {status(a, claim.sign)} |
| price: `{SPEND}`, GBP m | {ci_text(p[f"{SPEND}_defaults"])} | {ci_text(p[f"{SPEND}_across"])} |
| price: `{PER_SERVICE}` | {ci_text(p[f"{PER_SERVICE}_defaults"])} | {ci_text(p[f"{PER_SERVICE}_across"])} |

Price at the other levers' defaults, in words: {price_sentence(p[f"{SPEND}_defaults"], p[f"{PER_SERVICE}_defaults"], result["mean_spend"])}.
The other levers' defaults: {defaults}.

| input | role | S1 (alone) | ST (total) | effect at the defaults with the input in its lower / upper half |
| --- | --- | --- | --- | --- |
{table}

![{claim.key}](img/claims_{claim.key}.png)
"""


def _minutes(manifest: dict) -> float:
    started, finished = manifest.get("started"), manifest.get("finished")
    if not started or not finished:
        return float("nan")
    span = datetime.fromisoformat(finished) - datetime.fromisoformat(started)
    return span.total_seconds() / 60


def market_section(manifest: dict) -> str:
    """What market the sweep ran, against the full baseline, and what it cost in time."""
    from sim.scenario import load_scenario

    base = manifest["base_scenario"]
    full = load_scenario(BASELINE).model_dump()
    sections = [k for k, v in base.items() if isinstance(v, dict) and "count" in v]
    counts = ", ".join(f"{base[s]['count']} {s.replace('_', ' ')}" for s in sections)
    same = all(base[s]["count"] == full[s]["count"] for s in sections) and all(
        base[s][f] == full[s][f] for s, f in (("network", "councils"), ("scenario", "quarters"))
    )
    what = (
        "the full baseline market"
        if same
        else f"**a reduced market** (the baseline has {full['network']['councils']} councils "
        f"and {full['scenario']['quarters']} quarters): the full market's design did not fit "
        "the time budget of about 25 minutes on the shared 2-core machine"
    )
    runs = manifest.get("counts", {}).get("runs", 0)
    minutes = _minutes(manifest)
    per_run = 60 * minutes / runs if runs else float("nan")
    return (
        f"The sweep ran {what}: {base['network']['councils']} councils, "
        f"{base['scenario']['quarters']} quarters, {counts} at the start; fixed: "
        f"{', '.join(f'`{k}` = {_short(v)}' for k, v in manifest.get('fixed', {}).items()) or 'none'}. "
        f"{runs} runs took {minutes:.1f} minutes of wall time ({per_run:.3f} s a run, "
        f"{manifest.get('executor', 'local')})."
    )


def replications_section(pilot: Path | None, manifest: dict) -> str:
    """How the replications were sized, from the pilot's replications.csv (or that no pilot
    was found)."""
    reps = manifest["experiment"]["replications"]
    table_file = pilot / "replications.csv" if pilot else None
    if table_file is None or not table_file.exists():
        return (
            f"Each design point runs {reps} replications. No pilot sweep was found, so this "
            "number was not sized here: run `.venv/bin/python -m scripts.claims --pilot`."
        )
    from sim.experiments.store import read_manifest

    pm = read_manifest(pilot) or {"experiment": {}, "counts": {}}
    if pm.get("problem") != manifest["problem"]:
        return (
            f"Each design point runs {reps} replications. The pilot sweep found ({pilot.name}) "
            "varies other inputs or ranges than this design, so it does not size it: rerun "
            "`.venv/bin/python -m scripts.claims --pilot`."
        )
    advice = replications_advice(pd.read_csv(table_file), [c.outcome for c in CLAIMS])
    advice = advice.drop_duplicates("outcome")
    rows = "\n".join(
        f"| `{r.outcome}` | +/- {r.target:g} | {r.median:.0f} | {r.p90:.0f} | {r.points} |"
        for r in advice.itertuples()
    )
    worst = advice["median"].max()
    targets = advice["target"].dropna().unique()
    precision = f"{targets[0]:g}" if len(targets) == 1 else "(several)"
    shown = pilot.resolve().relative_to(ROOT) if pilot.resolve().is_relative_to(ROOT) else pilot
    short = advice.loc[advice["median"] > reps, "outcome"].tolist()
    gap = (
        f" That is fewer than the median need of {', '.join(f'`{o}`' for o in short)}: the"
        " time budget went to samples (design points) rather than replications, since the"
        " effects pool every run; the Sobol indices of those outcomes carry the point"
        " means' extra noise (their +/- below)."
        if short
        else ""
    )
    return f"""\
Sized with `commsim analyze --precision` on a pilot sweep of the same design:
`.venv/bin/python -m scripts.claims --pilot` runs it ({pm["experiment"].get("samples")} samples,
{pm["experiment"].get("replications")} replications each, {pm["counts"].get("runs")} runs) into `{shown}/`, then
what `commsim analyze --precision {precision} {shown}` runs, and reads its replications.csv:
the replications a design point needs for a 95% CI of the stated half-width on its mean, over
the pilot's design points. The design runs **{reps}** replications a point; the largest median
need is {worst:.0f}.{gap} The claims' effects are fitted on every run, not on a point's mean, so
their CIs (below) shrink with all runs together; the replications bound the noise in the
Sobol indices, which use each point's mean.

| outcome | target half-width | replications needed, median | 90th percentile | design points |
| --- | --- | --- | --- | --- |
{rows}"""


def write_doc(results: list[dict], manifest: dict, pilot: Path | None, docs: Path) -> Path:
    """docs/claims.md and its figures."""
    (docs / "img").mkdir(parents=True, exist_ok=True)
    for result in results:
        figure(result, docs / "img" / f"claims_{result['claim'].key}.png")
    meta = manifest["experiment"]
    ranges = "\n".join(
        f"| `{n}` | {'lever' if n in LEVERS else 'assumption'} | {lo:g} to {hi:g} |"
        for n, (lo, hi) in zip(
            manifest["problem"]["names"], manifest["problem"]["bounds"], strict=True
        )
    )
    summary = "\n".join(
        f"| {i + 1}. {r['claim'].sentence} | {ci_text(r['at_defaults'])} | {ci_text(r['across'])} | "
        f"{ci_text(r['price'][f'{SPEND}_defaults'])} | {r['short']} |"
        for i, r in enumerate(results)
    )
    sections = "\n".join(claim_section(i + 1, r) for i, r in enumerate(results))
    shipped = tomllib.loads(EXPERIMENT.read_text())["experiment"]
    reduced = ""
    if meta["name"] == shipped["name"] and meta["samples"] != shipped["samples"]:
        reduced = (
            f" **A reduced run**: `experiments/headline_claims.toml` asks "
            f"{shipped['samples']} samples; the numbers below are coarser than its."
        )
    k = len(manifest["problem"]["names"])
    path = docs / "claims.md"
    old = path.read_text() if path.exists() else ""
    text = f"""\
# The article's claims, judged so that they could fail

Generated by `.venv/bin/python -m scripts.claims` from the Sobol sweep `{meta["name"]}`
({meta["samples"]} samples x ({k} inputs + 2) = {meta["samples"] * (k + 2)} design points,
{meta["replications"]} replications, seed {meta["seed"]}).{reduced}
Rerun it to regenerate this page and `docs/img/claims_*.png`. The claims come from
"Bridging the trust gap" (Bates Wells, 2019), the article this model starts from.

## How to read it

Each claim is a lever that should move an outcome one way. The design varies the three levers
and every assumed number that could build a claim in: what ownership makes a provider do with
its surplus (`profit_extraction`, `owners_local_share`), local cost shares by reach, in-house
and idle-capacity costs, trust's weights, firm-size spread, cost factors, social commitments
and bid error (ranges and sources: `experiments/headline_claims.toml`). No provider is scored,
counted local or trusted by its label.

- **Effect**: the change in the outcome from the lever's minimum to its maximum, with its 95%
  CI (least squares on every run with the lever's square, CI cluster-robust over Saltelli
  blocks), twice: **at the other levers' defaults** (a fit with the lever's interaction with
  each other lever, evaluated at their defaults: the claim at today's settings) and **across
  the other levers' ranges** (averaged over them). Averaging over a lever the effect depends
  on would dilute the claim; judging it at the defaults does not. Every assumption is averaged
  over its range in both.
- **Price**: the same lever's effect on `{SPEND}` (GBP m over the run) and on
  `{PER_SERVICE}` (GBP paid per GBP of reference-cost service delivered).
- **Sensitivity**: the effect at the defaults with each assumption held in the lower, then
  the upper, half of its range. "beyond noise": the halves differ by more than noise would
  make them (5%, Bonferroni over the assumptions); "**leans**": beyond noise and by at least
  the effect's own size; "**only if**": the claim holds in one half and not in the other.
  An input with ST 0.00 does not move the outcome at all: its halves differ by noise alone,
  which shows how far noise moves them.
- **Verdict**: a claim that holds only under an assumption says so first; a claim that fails
  says "Fails". "Holds" means the 95% CI excludes zero on the claimed side.
- S1 / ST: the share of the outcome's variance an input explains alone / with its
  interactions (SALib, on each design point's mean; +/- its 95% bootstrap confidence).

Caveats: a linear-plus-square summary of each effect (the figures show the shape); the
assumption ranges are judgements, each noted in the experiment file, and a claim is only as
robust as its widest honest range.

## Market and budget

{market_section(manifest)}

## Replications

{replications_section(pilot, manifest)}

## The claims at a glance

| claim | effect at the other levers' defaults | across their ranges | price: total spend, GBP m (at the defaults) | verdict |
| --- | --- | --- | --- | --- |
{summary}

## Inputs

| input | role | range |
| --- | --- | --- |
{ranges}

## The claims

{sections}"""
    # the England section (scripts/england_claims.py) is another script's block: kept
    path.write_text(keep_blocks(old, text))
    return path


def main(argv: list[str] | None = None) -> int:
    """Run (or read) the sweep and write docs/claims.md; or, with ``--pilot``, size the
    replications."""
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", type=Path, default=EXPERIMENT)
    parser.add_argument("--sweep", type=Path, help="report this finished sweep (no running)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "headline_claims")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--docs", type=Path, default=ROOT / "docs")
    parser.add_argument("--pilot", action="store_true",
                        help="run the pilot sweep and size the replications (no page)")  # fmt: skip
    parser.add_argument("--pilot-dir", type=Path,
                        default=ROOT / "results" / "headline_claims_pilot")  # fmt: skip
    parser.add_argument("--pilot-samples", type=int, default=4)
    parser.add_argument("--pilot-replications", type=int, default=10)
    parser.add_argument("--precision", default="0.02",
                        help="the pilot's target 95%% CI half-width (commsim analyze --precision)")  # fmt: skip
    args = parser.parse_args(argv)
    for name in ("workers", "pilot_samples", "pilot_replications"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    from sim.experiments.stats import parse_precision
    from sim.inputs import InputError

    try:
        parse_precision(args.precision)
    except ValueError as err:
        parser.error(f"--precision: {err}")
    if args.pilot:
        try:
            table = run_pilot(args)
        except (InputError, ValueError) as err:
            parser.error(str(err))
        advice = replications_advice(pd.read_csv(table), sorted({c.outcome for c in CLAIMS}))
        print(advice.to_string(index=False))
        print(f"wrote {table}")
        return 0
    try:
        runs, manifest = load_sweep(args)
    except InputError as err:
        parser.error(str(err))
    missing = {c.lever for c in CLAIMS} - set(manifest["problem"]["names"])
    if missing:
        parser.error(f"the sweep does not vary {', '.join(sorted(missing))}")
    absent = {SPEND, PER_SERVICE} - set(runs.columns)
    if absent:
        parser.error(f"the sweep's runs have no {', '.join(sorted(absent))} (an older model?)")
    results = analyse(runs, manifest)
    pilot = args.pilot_dir if args.pilot_dir.is_dir() else None
    path = write_doc(results, manifest, pilot, args.docs)
    for r in results:
        print(f"{r['claim'].key}: {r['verdict']}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
