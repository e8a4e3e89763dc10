"""Check that budgets bind and that a fee uplift answers a cost shock, over several seeds.

    .venv/bin/python -m scripts.budgets_and_shocks             # 10 seeds, 40 councils
    .venv/bin/python -m scripts.budgets_and_shocks --seeds 20

Budget cuts of 0, 20 and 40% (quarter 12, as scenarios/budget_cuts.toml): spend after the cut
should fall with the cut, and unmet need or failures rise. A 7.5% cost shock for every
provider (quarter 20, as scenarios/living_wage_shock.toml) with no fee uplift and with the
default: handbacks, failures and the service delivered after it. The figures in
docs/validation.md come from this script; every run is paired on the same seeds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sim import CommissioningModel, load_scenario

ROOT = Path(__file__).resolve().parents[1]
MARKET = {"network.councils": 40}


def arm(path: Path, seeds: int, measure, **overrides: object) -> dict[str, float]:
    """Mean over seeds of ``measure(time series, first shock's quarter)`` (a dict of figures)
    for scenario ``path`` with ``overrides``."""
    scenario = load_scenario(path)
    q = scenario.shocks[0].quarter
    per_seed = [
        measure(CommissioningModel(scenario, rng=s, **MARKET, **overrides).run().timeseries(), q)
        for s in range(seeds)
    ]
    return {k: float(np.mean([m[k] for m in per_seed])) for k in per_seed[0]}


def after_cut(ts, q: int) -> dict[str, float]:
    """Means from a year after the cut; failures and handbacks from the cut on."""
    later = ts.iloc[q + 4 :]
    return {
        "spend": later["spend"].mean(),
        "unmet_need": later["unmet_need"].mean(),
        "service": later["service_delivered"].mean(),
        "failures": ts["failures"].iloc[q:].sum(),
        "handbacks": ts["handbacks"].iloc[q:].sum(),
    }


def after_shock(ts, q: int) -> dict[str, float]:
    """The three years from the cost shock: sums of handbacks and failures, service, spend."""
    window = ts.iloc[q : q + 12]
    return {
        "handbacks": window["handbacks"].sum(),
        "failures": window["failures"].sum(),
        "min_service": window["service_delivered"].min(),
        "service": window["service_delivered"].mean(),
        "spend": window["spend"].mean(),
    }


def budget_cuts(seeds: int) -> list[dict]:
    """Spend, unmet need, service and failures after budget cuts of 0, 20 and 40%."""
    path = ROOT / "scenarios/budget_cuts.toml"
    q = load_scenario(path).shocks[0].quarter
    return [
        {"cut": cut, **arm(path, seeds, after_cut, shocks=[
            {"kind": "budget_cut", "quarter": q, "magnitude": cut}
        ])}
        for cut in (0.0, 0.2, 0.4)
    ]  # fmt: skip


def fee_uplift(seeds: int) -> list[dict]:
    """Handbacks, failures and service after a 7.5% cost shock, with and without fee uplift."""
    path = ROOT / "scenarios/living_wage_shock.toml"
    return [
        {"fee_uplift": u, **arm(path, seeds, after_shock, **{"commissioning.fee_uplift": u})}
        for u in (0.0, 0.5, 1.0)
    ]


def table(rows: list[dict]) -> str:
    """A markdown table of ``rows`` (numbers to 3 significant figures)."""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys)]
    for r in rows:
        lines.append("| " + " | ".join(f"{r[k]:.3g}" for k in keys) + " |")
    return "\n".join(lines)


def main() -> None:
    """Print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    seeds = parser.parse_args().seeds
    print(f"Budget cuts at quarter 12, 40 councils, {seeds} seeds (means; spend, unmet need in")
    print("GBP m a quarter from a year after the cut; failures and handbacks from the cut on):\n")
    print(table(budget_cuts(seeds)))
    print(
        f"\n7.5% cost shock at quarter 20, 40 councils, {seeds} seeds (means over the 12 quarters"
    )
    print("from the shock; handbacks and failures summed over them):\n")
    print(table(fee_uplift(seeds)))


if __name__ == "__main__":
    main()
