"""Do runs still come from the same distribution after a change of random streams?

    .venv/bin/python -m scripts.equivalence record scripts/data/reference_outcomes_5319409.csv  # code before
    .venv/bin/python -m scripts.equivalence compare scripts/data/reference_outcomes_5319409.csv # this code

A change that keeps every rule but draws its random numbers differently (issue 13: contracts
and providers built in bulk; one cost-estimate error per contract and *candidate* bidder
rather than per contract and live provider) gives a different run for the same seed, so the
saved outputs cannot check it. What must hold instead is that the runs come from the same
distribution. ``record`` runs the scenarios below at seeds 1..N on the code it finds and writes
every run outcome to a CSV; ``compare`` runs the same scenarios and seeds on this code and,
for each scenario and outcome, compares the two samples: the difference in means with its 95%
confidence interval (Welch), in units of the reference's standard deviation, and a two-sample
Kolmogorov-Smirnov test. With ~150 comparisons a few p-values under 0.05 are expected by
chance; the verdict uses Holm's correction at 0.05 over all of them.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ["baseline", "carillion_collapse", "thin_margins", "living_wage_fixed_prices"]


def run_outcomes(seeds: int) -> list[dict[str, object]]:
    """Every run outcome of each scenario at seeds 1..``seeds`` (numbers only)."""
    from sim import CommissioningModel, load_scenario

    rows = []
    for name in SCENARIOS:
        scenario = load_scenario(ROOT / "scenarios" / f"{name}.toml")
        for seed in range(1, seeds + 1):
            summary = CommissioningModel(scenario, rng=seed).run().summary()
            row: dict[str, object] = {"scenario": name, "seed": seed}
            for key, value in summary.items():
                if isinstance(value, bool | int | float) or value is None:
                    row[key] = math.nan if value is None else float(value)
            rows.append(row)
        print(f"{name}: {seeds} runs", file=sys.stderr)
    return rows


def read(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV written by ``record``."""
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def holm(pvalues: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """Which hypotheses Holm's step-down procedure rejects at family-wise level ``alpha``."""
    order = np.argsort(pvalues)
    reject = np.zeros(pvalues.size, dtype=bool)
    for rank, i in enumerate(order):
        if pvalues[i] > alpha / (pvalues.size - rank):
            break
        reject[i] = True
    return reject


def compare(old: list[dict[str, str]], new: list[dict[str, object]]) -> tuple[str, int]:
    """A markdown table of every (scenario, outcome) comparison and the number Holm rejects."""
    from scipy import stats

    lines = [
        "| scenario | outcome | mean before | mean after | difference / sd (95% CI) | KS p |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    cells, pvalues = [], []
    for name in SCENARIOS:
        before = [r for r in old if r["scenario"] == name]
        after = [r for r in new if r["scenario"] == name]
        for key in before[0]:
            if key in ("scenario", "seed") or key not in after[0]:
                continue
            a = np.array([float(r[key]) for r in before])
            b = np.array([float(r[key]) for r in after])  # type: ignore[arg-type]
            a, b = a[np.isfinite(a)], b[np.isfinite(b)]
            if a.size < 2 or b.size < 2:
                continue
            sd = a.std(ddof=1)
            if sd == 0 and b.std(ddof=1) == 0:
                p = 1.0 if a[0] == b[0] else 0.0
                low = high = 0.0 if a[0] == b[0] else math.inf
            else:
                p = float(stats.ks_2samp(a, b).pvalue)
                se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
                scale = sd if sd > 0 else b.std(ddof=1)
                diff = b.mean() - a.mean()
                low, high = (diff - 1.96 * se) / scale, (diff + 1.96 * se) / scale
            cells.append((name, key, a.mean(), b.mean(), low, high))
            pvalues.append(p)
    reject = holm(np.array(pvalues))
    for (name, key, ma, mb, low, high), p, r in zip(cells, pvalues, reject, strict=True):
        flag = " (differs)" if r else ""
        lines.append(
            f"| {name} | {key} | {ma:.4g} | {mb:.4g} | {low:+.2f} to {high:+.2f} | {p:.3f}{flag} |"
        )
    return "\n".join(lines), int(reject.sum())


def main(argv: list[str] | None = None) -> int:
    """``record`` a reference sample, or ``compare`` this code with one."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["record", "compare"])
    parser.add_argument("csv", type=Path, help="the reference sample (written by record)")
    parser.add_argument("--seeds", type=int, default=100, help="seeds per scenario (100)")
    args = parser.parse_args(argv)
    rows = run_outcomes(args.seeds)
    if args.action == "record":
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with args.csv.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return 0
    table, rejected = compare(read(args.csv), rows)
    print(table)
    print(f"\n{rejected} of the comparisons differ after Holm's correction at 0.05.")
    return 1 if rejected else 0


if __name__ == "__main__":
    sys.exit(main())
