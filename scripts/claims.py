"""The article's claims under their assumptions: docs/claims.md from a Sobol sweep.

    .venv/bin/python -m scripts.claims                                # run the sweep, then report
    .venv/bin/python -m scripts.claims --sweep results/headline_claims   # report an existing sweep

Reads (or first runs) experiments/headline_claims.toml: the levers a council holds and the
assumed numbers the claims rest on, varied together in a Sobol design. For each claim of the
article it reports:

- the effect: how much the outcome moves when the lever goes from the bottom to the top of
  its range, the other inputs averaged over theirs (least squares on every run, with its 95%
  CI), and the same effect in the lower and the upper half of each assumption's range;
- the share of the outcome's variance owed to each input (Sobol S1 and ST, SALib);
- whether the claim depends on one assumed number: an assumption across whose range the
  effect changes sign, or changes by as much as the effect itself. Such a claim says so first.

Writes docs/claims.md (whole) and docs/img/claims_<claim>.png.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
from scripts.scriptkit import OneLineParser  # noqa: E402

EXPERIMENT = ROOT / "experiments" / "headline_claims.toml"

SV_WEIGHT = "commissioning.social_value_weight"
LOCAL_PREFERENCE = "commissioning.local_preference"
INHOUSE_RETAINED = "councils.inhouse_capacity_retained"
#: What a council chooses; every other varied parameter is an assumption.
LEVERS = (SV_WEIGHT, LOCAL_PREFERENCE, INHOUSE_RETAINED)


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


# ----------------------------------------------------------------------------- statistics


def scaled(runs: pd.DataFrame, problem: dict) -> pd.DataFrame:
    """Each varied parameter mapped to [0, 1] over its range (0: its min, 1: its max)."""
    out = {}
    for name, (low, high) in zip(problem["names"], problem["bounds"], strict=True):
        out[name] = (pd.to_numeric(runs[name]) - low) / (high - low)
    return pd.DataFrame(out, index=runs.index)


def lever_effect(
    x: pd.DataFrame, y: pd.Series, lever: str, block: pd.Series
) -> tuple[float, float, float, int]:
    """Least-squares effect of ``lever`` over its whole range (its coefficient on [0, 1]
    inputs, with an intercept and every other input), with its 95% CI and the runs used.

    The CI is cluster-robust over ``block``: the runs of one Saltelli block (a base sample,
    its k one-column swaps and its partner, and their replications) share most inputs, so
    they are not independent; the blocks are (CR1 sandwich, t with blocks - 1 dof).
    """
    keep = y.notna().to_numpy()
    a = np.column_stack([np.ones(keep.sum()), x[keep].to_numpy(dtype=float)])
    b = y[keep].to_numpy(dtype=float)
    groups = block[keep].to_numpy()
    n, k = a.shape
    g = np.unique(groups).size
    if g <= k:
        return (np.nan, np.nan, np.nan, n)
    coef, *_ = np.linalg.lstsq(a, b, rcond=None)
    resid = b - a @ coef
    bread = np.linalg.pinv(a.T @ a)
    scores = np.zeros((g, k))
    np.add.at(scores, np.unique(groups, return_inverse=True)[1], a * resid[:, None])
    meat = scores.T @ scores * (g / (g - 1)) * ((n - 1) / (n - k))
    cov = bread @ meat @ bread
    i = 1 + list(x.columns).index(lever)
    half = stats.t.ppf(0.975, g - 1) * np.sqrt(max(cov[i, i], 0.0))
    return (float(coef[i]), float(coef[i] - half), float(coef[i] + half), n)


def conditional_effects(
    x: pd.DataFrame, y: pd.Series, lever: str, block: pd.Series
) -> pd.DataFrame:
    """The lever's effect in the lower and the upper half of each other input's range."""
    rows = []
    for other in x.columns:
        if other == lever:
            continue
        row: dict[str, Any] = {"parameter": other}
        for half, mask in (("low", x[other] < 0.5), ("high", x[other] >= 0.5)):
            e, lo, hi, _ = lever_effect(x[mask], y[mask], lever, block[mask])
            row.update({f"effect_{half}": e, f"ci_low_{half}": lo, f"ci_high_{half}": hi})
        rows.append(row)
    return pd.DataFrame(rows)


def depends_on(effect: float, conditional: pd.DataFrame, assumptions: list[str]) -> list[str]:
    """Assumptions across whose range the lever's effect changes beyond noise, either in sign
    (one half resolved) or by at least the size of the overall effect.

    Beyond noise: the two halves' effects differ by more than z standard errors of the
    difference, z two-sided at 5% Bonferroni-corrected for the number of assumptions tried
    (with ten of them, one would otherwise pass by chance in every other claim).
    """
    out = []
    z = stats.norm.ppf(1 - 0.025 / max(len(assumptions), 1))
    for row in conditional.itertuples():
        if row.parameter not in assumptions:
            continue
        se_low = (row.ci_high_low - row.ci_low_low) / (2 * z)
        se_high = (row.ci_high_high - row.ci_low_high) / (2 * z)
        shift = abs(row.effect_high - row.effect_low)
        if not shift > z * np.hypot(se_low, se_high):
            continue  # the halves differ no more than noise would make them
        resolved = (row.ci_low_low > 0 or row.ci_high_low < 0) or (
            row.ci_low_high > 0 or row.ci_high_high < 0
        )
        flips = np.sign(row.effect_low) != np.sign(row.effect_high) and resolved
        if flips or shift >= abs(effect):
            out.append(row.parameter)
    return out


# ----------------------------------------------------------------------------- running


def load_sweep(args: Any) -> tuple[pd.DataFrame, dict]:
    """The sweep's runs and manifest: ``--sweep`` as given, or the experiment run into
    ``--out`` first (resumed if it is there)."""
    from sim.experiments.executors import make_executor
    from sim.experiments.experiment import load_experiment
    from sim.experiments.store import read_manifest, read_runs
    from sim.experiments.sweep import run_sweep

    folder = args.sweep
    if folder is None:
        folder = args.out
        experiment = load_experiment(args.experiment)
        with make_executor(args.workers) as executor:
            run_sweep(experiment, folder, executor, resume=folder.exists(), progress=None)
    from sim.inputs import InputError

    manifest = read_manifest(folder) if folder.is_dir() else None
    if manifest is None:
        raise InputError(f"{folder}: holds no manifest.json: not a sweep directory")
    if manifest["experiment"]["design"] != "sobol":
        raise InputError(f"{folder}: not a Sobol design")
    return read_runs(folder), manifest


def analyse(runs: pd.DataFrame, manifest: dict) -> list[dict]:
    """Every claim's effect, conditional effects, Sobol indices and dependence."""
    from sim.experiments.analysis import sobol_indices

    problem = manifest["problem"]
    runs = runs[runs["error"].isna()]
    x = scaled(runs, problem)
    block = runs["point"] // (len(problem["names"]) + 2)  # SALib's Saltelli order
    assumptions = [n for n in problem["names"] if n not in LEVERS]
    sobol = sobol_indices(runs, problem, seed=manifest["experiment"]["seed"])
    out = []
    for claim in CLAIMS:
        y = pd.to_numeric(runs[claim.outcome], errors="coerce")
        effect = lever_effect(x, y, claim.lever, block)
        conditional = conditional_effects(x, y, claim.lever, block)
        indices = sobol[sobol["outcome"] == claim.outcome].pivot_table(
            index="parameter", columns="index", values=["value", "conf"]
        )
        out.append(
            {
                "claim": claim,
                "effect": effect,
                "conditional": conditional,
                "sobol": indices,
                "depends_on": depends_on(effect[0], conditional, assumptions),
                "assumptions": assumptions,
                "x": x,
                "y": y,
            }
        )
    return out


# ----------------------------------------------------------------------------- outputs


def _leaned_on(result: dict) -> str:
    """The assumption across whose halves the lever's effect moves most (the first assumption
    when no half has an estimate)."""
    cond = result["conditional"].set_index("parameter").loc[result["assumptions"]]
    shift = (cond["effect_high"] - cond["effect_low"]).abs()
    return str(shift.idxmax()) if shift.notna().any() else result["assumptions"][0]


def figure(result: dict, path: Path) -> Path:
    """Left: each input's share of the outcome's variance (Sobol ST, S1). Right: the outcome
    against the lever, in the lower and upper half of the assumption the effect leans on most."""
    claim, sobol, x, y = result["claim"], result["sobol"], result["x"], result["y"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2), constrained_layout=True)
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
    key = _leaned_on(result)
    bins = np.linspace(0, 1, 6)
    for half, mask, colour in (("lower", x[key] < 0.5, "tab:red"),
                               ("upper", x[key] >= 0.5, "tab:green")):  # fmt: skip
        which = np.digitize(x.loc[mask, claim.lever], bins[1:-1])
        means = y[mask].groupby(which).mean()
        right.scatter(x.loc[mask, claim.lever], y[mask], s=2, alpha=0.15, color=colour)
        right.plot((bins[:-1] + bins[1:])[means.index] / 2, means, "o-", color=colour,
                   label=f"{key} in its {half} half")  # fmt: skip
    right.set_xlabel(f"{claim.lever} (0: its minimum, 1: its maximum)", fontsize=8)
    right.set_ylabel(claim.outcome)
    right.set_title("outcome against the lever, binned means", fontsize=9)
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


def _ci(e: float, lo: float, hi: float) -> str:
    return f"{e:+.3g} (95% CI {lo:+.3g} to {hi:+.3g})"


def claim_section(i: int, result: dict) -> str:
    """One claim: dependence first, then the effect, the table and the figure."""
    claim = result["claim"]
    e, lo, hi, n = result["effect"]
    resolved = lo > 0 or hi < 0
    agrees = resolved and np.sign(e) == claim.sign
    if result["depends_on"]:
        names = ", ".join(f"`{a}`" for a in result["depends_on"])
        single = len(result["depends_on"]) == 1
        first = (
            f"**Depends on {'one assumed number' if single else 'assumed numbers'}: {names}.** "
            f"Across {'its range' if single else 'their ranges'} the lever's effect changes "
            "sign, or by as much as the effect itself (table: effect in each half)."
        )
    elif not resolved:
        first = (
            "**No effect resolved**: the CI straddles zero, and no assumption moves the effect "
            "beyond noise."
        )
    else:
        first = (
            "**Holds across the assumptions' ranges** (none flips the effect or moves it by "
            "its own size)."
        )
    if not np.isfinite(e):
        verdict = "not estimable: fewer Saltelli blocks than inputs (raise samples)"
    elif agrees:
        verdict = "as claimed"
    else:
        verdict = "the opposite of the claim" if resolved else "cannot be told from noise"
    sobol, cond = result["sobol"], result["conditional"].set_index("parameter")
    rows = []
    for name in result["x"].columns:
        role = "lever" if name in LEVERS else "assumption"
        if name in sobol.index:
            s = sobol.loc[name]
            idx = (f"{s[('value', 'S1')]:.2f} +/- {s[('conf', 'S1')]:.2f} | "
                   f"{s[('value', 'ST')]:.2f} +/- {s[('conf', 'ST')]:.2f}")  # fmt: skip
        else:
            idx = "n/a | n/a"
        if name == claim.lever:
            halves = "(the lever)"
        else:
            c = cond.loc[name]
            halves = f"{c.effect_low:+.3g} / {c.effect_high:+.3g}"
        rows.append(f"| `{name}` | {role} | {idx} | {halves} |")
    table = "\n".join(rows)
    return f"""\
### {i}. {claim.sentence}

{first}

The article: "{claim.quote}". Lever `{claim.lever}`, outcome `{claim.outcome}`.
Effect of the lever from the bottom to the top of its range, the other inputs averaged over
theirs: {_ci(e, lo, hi)}, over {n} runs: **{verdict}**.

| input | role | S1 (alone) | ST (total) | lever's effect with the input in its lower / upper half |
| --- | --- | --- | --- | --- |
{table}

![{claim.key}](img/claims_{claim.key}.png)
"""


def write_doc(results: list[dict], manifest: dict, args: Any, docs: Path) -> Path:
    """docs/claims.md and its figures."""
    (docs / "img").mkdir(parents=True, exist_ok=True)
    for result in results:
        figure(result, docs / "img" / f"claims_{result['claim'].key}.png")
    meta, counts = manifest["experiment"], manifest.get("counts", {})
    settings = tomllib.loads(meta["text"]).get("fixed", {})
    fixed = ", ".join(f"`{k}` = {_short(v)}" for k, v in settings.items())
    ranges = "\n".join(
        f"| `{n}` | {'lever' if n in LEVERS else 'assumption'} | {lo:g} to {hi:g} |"
        for n, (lo, hi) in zip(
            manifest["problem"]["names"], manifest["problem"]["bounds"], strict=True
        )
    )
    sections = "\n".join(claim_section(i + 1, r) for i, r in enumerate(results))
    depends = [r["claim"].key for r in results if r["depends_on"]]
    shipped = tomllib.loads(EXPERIMENT.read_text())["experiment"]
    reduced = ""
    if meta["name"] == shipped["name"] and meta["samples"] != shipped["samples"]:
        reduced = (
            f" **A reduced run**: `experiments/headline_claims.toml` asks "
            f"{shipped['samples']} samples; the numbers below are coarser than its."
        )
    path = docs / "claims.md"
    path.write_text(f"""\
# The article's claims under their assumptions

Generated by `.venv/bin/python -m scripts.claims` from the Sobol sweep `{meta["name"]}`
({meta["samples"]} samples, {meta["replications"]} replications, seed {meta["seed"]};
{counts.get("runs", len(results[0]["y"]))} runs; fixed: {fixed or "none"}).{reduced}
Rerun it to regenerate this page and `docs/img/claims_*.png`.
The claims come from "Bridging the trust gap" (Bates Wells, 2019), the article this model
starts from.

How to read each claim: the effect is what moving the lever across its whole range does to
the outcome, averaged over every assumption's range (least squares on all runs, 95% CI);
"cannot be told from noise" means that CI straddles zero. S1 is the share of the outcome's
variance an input explains alone, ST with its interactions (Saltelli scheme, SALib, on each
design point's mean; +/- is the 95% bootstrap confidence). The last column repeats the
effect with one assumption held in the lower, then the upper, half of its range: a claim
whose effect flips sign there, or moves by as much as the effect, **depends on that assumed
number**, and says so first. {len(depends)} of {len(results)} claims do.

Caveats: a reduced market (the fixed settings above) for speed; a linear summary of the
effect (the figures show the shape); the assumption ranges below are judgements, noted in
the experiment file, and a claim is only as robust as its widest honest range.

| input | role | range |
| --- | --- | --- |
{ranges}

## The claims

{sections}""")
    return path


def main(argv: list[str] | None = None) -> int:
    """Run (or read) the sweep and write docs/claims.md."""
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", type=Path, default=EXPERIMENT)
    parser.add_argument("--sweep", type=Path, help="report this finished sweep (no running)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "headline_claims")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--docs", type=Path, default=ROOT / "docs")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    from sim.inputs import InputError

    try:
        runs, manifest = load_sweep(args)
    except InputError as err:
        parser.error(str(err))
    missing = {c.lever for c in CLAIMS} - set(manifest["problem"]["names"])
    if missing:
        parser.error(f"the sweep does not vary {', '.join(sorted(missing))}")
    results = analyse(runs, manifest)
    path = write_doc(results, manifest, args, args.docs)
    for r in results:
        e, lo, hi, _ = r["effect"]
        print(f"{r['claim'].key}: effect {_ci(e, lo, hi)}; depends on {r['depends_on'] or '-'}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
