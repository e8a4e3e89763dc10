"""How often outsourcers fail on their own, and how recovery from a failure depends on the
failure regime and on capacity. docs/validation.md cites the figures this prints.

    .venv/bin/python -m scripts.outsourcer_failures             # 20 seeds (about two minutes)
    .venv/bin/python -m scripts.outsourcer_failures --seeds 40

Failures: a 40-council market over 11 years with a 10% cost shock in year two, at fixed
prices (no fee uplift), and no scheduled collapse, in a few variants; a seed counts when at least one outsourcer becomes
insolvent (cause "insolvency"; random failures are off by default).

Recovery: the same market over 8 years with the largest outsourcer collapsing in year four,
under each failure regime and with a little or all of the councils' in-house capacity
retained; recovery_quarters as in summary.json.

Contagion: that market with 0 or 30% of each outsourced contract subcontracted to local
mutuals, with and without the collapse: failures other than the collapse, and contagion_loss.
"""

from __future__ import annotations

import argparse

import numpy as np

from sim import CommissioningModel

BASE = {
    "scenario.quarters": 44,
    "network.councils": 40,
}
SHOCK = [{"kind": "cost_shock", "quarter": 4, "magnitude": 0.1}]
#: The failure variants. The cost shock hits fixed prices (no fee uplift, no yearly price
#: review): councils pass none of it into running contracts, so providers bear it until
#: re-tender; the last variant passes half of it on at the shock (the model's default
#: fee_uplift), still with no review, for comparison.
FIXED = {"commissioning.fee_uplift": 0.0, "commissioning.price_review": 0.0}
VARIANTS: dict[str, tuple[dict, list]] = {
    "cost shock": (FIXED, SHOCK),
    "no shock": (FIXED, []),
    "cost shock, no debt": ({**FIXED, "outsourcers.debt": 0.0}, SHOCK),
    "cost shock, no check": ({**FIXED, "councils.due_diligence_threshold": -1.0}, SHOCK),
    "cost shock, strict check": ({**FIXED, "councils.due_diligence_threshold": 0.1}, SHOCK),
    "cost shock, half passed into fees": ({**FIXED, "commissioning.fee_uplift": 0.5}, SHOCK),
}


def run(overrides: dict, shocks: list, seed: int) -> dict:
    """One run's outsourcer insolvencies, contracts disrupted and bidders excluded by the
    financial check (a provider turned away from one tender round counts once)."""
    model = CommissioningModel({"shocks": shocks}, rng=seed, **BASE, **overrides)
    excluded = 0
    while model.running:
        model.step()
        excluded += model.ledger.bidders_excluded
    insolvent = [
        e
        for e in model.events
        if e["event"] == "failure"
        and e["cause"] == "insolvency"
        and e["provider"].startswith("Outsourcer")
    ]
    ts = model.timeseries()
    return {
        "failed": len(insolvent),
        "disrupted": int(ts["contracts_disrupted"].sum()),
        "excluded": excluded,
    }


def collapse_run(seed: int, collapse: bool = True, **overrides: object) -> CommissioningModel:
    """A 40-council market run for 8 years, the largest outsourcer collapsing at quarter 12
    (or not)."""
    shocks = [{"kind": "provider_collapse", "quarter": 12, "target": "largest_outsourcer"}]
    settings = {"scenario.quarters": 32, "network.councils": 40, **overrides}
    model = CommissioningModel({"shocks": shocks if collapse else []}, rng=seed, **settings)
    return model.run()


def recovery(regime: str, retained: float, seed: int) -> int | None:
    """recovery_quarters after the largest outsourcer collapses at quarter 12."""
    model = collapse_run(
        seed,
        **{
            "commissioning.failure_regime": regime,
            "councils.inhouse_capacity_retained": retained,
        },
    )
    return model.summary()["recovery_quarters"]


def failure_table(seeds: int) -> list[tuple[str, float, float, float, float]]:
    """Per variant: share of seeds with an outsourcer insolvency, and per seed the insolvent
    outsourcers, contracts disrupted and bidders the financial check turned away."""
    rows = []
    for name, (overrides, shocks) in VARIANTS.items():
        runs = [run(overrides, shocks, s) for s in range(1, seeds + 1)]
        rows.append(
            (
                name,
                float(np.mean([r["failed"] > 0 for r in runs])),
                float(np.mean([r["failed"] for r in runs])),
                float(np.mean([r["disrupted"] for r in runs])),
                float(np.mean([r["excluded"] for r in runs])),
            )
        )
    return rows


def recovery_table(seeds: int) -> list[tuple[str, float, float, int, int, int]]:
    """Per failure regime and retained in-house capacity: mean, min and max recovery_quarters
    over the seeds that recovered, and how many never did."""
    rows = []
    for regime in ("none", "administration"):
        for retained in (0.1, 1.0):
            quarters = [recovery(regime, retained, s) for s in range(1, seeds + 1)]
            known = [q for q in quarters if q is not None] or [-1]
            never = sum(q is None for q in quarters)
            rows.append((regime, retained, float(np.mean(known)), min(known), max(known), never))
    return rows


def contagion(share: float, collapse: bool, seed: int) -> tuple[int, float]:
    """Failures other than the collapse, and contagion_loss (GBP m), over 8 years with
    ``share`` of each outsourced contract subcontracted, with or without the largest
    outsourcer collapsing at quarter 12."""
    model = collapse_run(seed, collapse, **{"outsourcers.subcontract_share": share})
    others = sum(e["event"] == "failure" and e["cause"] != "collapse" for e in model.events)
    return others, float(model.timeseries()["contagion_loss"].sum())


def contagion_table(seeds: int) -> list[tuple[str, float, float, float]]:
    """Per (collapse or not, subcontract share): mean other failures and contagion_loss."""
    rows = []
    for collapse in (False, True):
        for share in (0.0, 0.3):
            runs = np.array([contagion(share, collapse, s) for s in range(1, seeds + 1)])
            label = "collapse" if collapse else "no collapse"
            rows.append((label, share, float(runs[:, 0].mean()), float(runs[:, 1].mean())))
    return rows


def main() -> None:
    """Print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    print(
        f"{'variant':28s} {'seeds failing':>13s} {'failures':>9s} {'disrupted':>9s} {'excluded':>9s}"
    )
    for name, hit, per, dis, exc in failure_table(args.seeds):
        print(f"{name:28s} {hit:13.0%} {per:9.2f} {dis:9.1f} {exc:9.1f}")
    print(f"\n{'regime':16s} {'in-house retained':>17s}  recovery_quarters: mean (min-max), never")
    for regime, retained, mean, lo, hi, never in recovery_table(args.seeds):
        print(f"{regime:16s} {retained:17.1f}  {mean:.2f} ({lo}-{hi}), {never}")
    print(
        f"\n{'largest outsourcer':18s} {'subcontract share':>17s} {'other failures':>14s} {'contagion GBP m':>15s}"
    )
    for label, share, others, loss in contagion_table(args.seeds):
        print(f"{label:18s} {share:17.1f} {others:14.2f} {loss:15.1f}")


if __name__ == "__main__":
    main()
