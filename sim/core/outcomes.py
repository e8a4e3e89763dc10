"""Outcomes: what the model records each quarter, the run's summary and its report.

The names of the quarterly reporters and run outcomes, with their units, are the project's
fixed interface (DESIGN.md section 3). This module loads neither Mesa nor pandas, so a process
that only handles results (the sweep's writer, the analysis) can import it cheaply.
Money is reported in GBP m per quarter; shares and indices are 0-1.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.core.jit import kernel
from sim.core.numeric import INHOUSE, MUTUAL, OUTSOURCER, pairwise_sum
from sim.core.state import Market, ProviderKind
from sim.core.tendering import effective_weights
from sim.version import package_version

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FAILURE_CAUSES",
    "REPORTERS",
    "SUMMARY_FIELDS",
    "SUMMARY_UNITS",
    "local_multiplier",
    "model_reporters",
    "quarter_metrics",
    "recovery_quarters",
    "run_report",
    "run_summary",
]

MILLION = 1e6

#: Every quarterly reporter: name -> (unit, meaning).
REPORTERS: dict[str, tuple[str, str]] = {
    "share_outsourcer": ("share", "Share of contract value held by private outsourcers"),
    "share_mutual": ("share", "Share of contract value held by mutuals"),
    "share_inhouse": ("share", "Share of contract value delivered in-house"),
    "hhi": ("index 0-1", "Herfindahl-Hirschman index of providers' shares of contract value"),
    "providers_active": ("providers", "Outsourcers and mutuals trading"),
    "failures": ("providers", "Providers that failed this quarter"),
    "contracts_disrupted": (
        "contracts",
        "Contracts disrupted by failures and handbacks this quarter",
    ),
    "handbacks": ("contracts", "Contracts handed back this quarter"),
    "service_delivered": ("share", "Required service delivered (0-1)"),
    "unmet_need": ("GBP m / quarter", "Required service not delivered, at reference cost"),
    "emergency_cost": ("GBP m / quarter", "Emergency premiums and transition costs of failure"),
    "spend": (
        "GBP m / quarter",
        "Paid by councils: to providers (in-house units included) and transition costs",
    ),
    "local_reinvestment": ("GBP m / quarter", "Spend re-spent in the paying council's area"),
    "leaked": ("GBP m / quarter", "Spend that leaves the paying council's area"),
    "local_share": ("share", "local_reinvestment / spend"),
    "lm3": ("ratio 1-3", "Local multiplier LM3 (NEF 2002)"),
    "social_value": ("score 0-1", "Contract-value-weighted social value score of providers"),
    "trust": ("index 0-1", "Mean public trust in councils' commissioning"),
    "spin_outs": ("providers", "In-house services that spun out as mutuals this quarter"),
    "mean_markup_outsourcer": ("share of cost", "Mean bid mark-up of trading outsourcers"),
    "contagion_loss": (
        "GBP m",
        "What subcontractors lost to primes that failed this quarter: the unpaid quarter's "
        "invoice and the subcontract's price for each quarter left (lost volume)",
    ),
    "failures_outsourcer": ("providers", "Outsourcers that failed this quarter"),
    "failures_mutual": ("providers", "Mutuals that failed this quarter"),
}

#: Causes of a provider's failure, as the events name them, and the run outcome counting each.
FAILURE_CAUSES = {
    "insolvency": "insolvency_failures_total",
    "collapse": "collapse_failures_total",
    "random": "random_failures_total",
}

#: Every run outcome in summary.json: name -> meaning. "Over the run" means the quarters
#: after the warm-up (``scenario.warm_up_quarters``); the first shock's outcomes and the
#: final ones read the whole run.
SUMMARY_FIELDS: dict[str, str] = {
    "resilience": "mean service_delivered over the run (after the warm-up)",
    "min_service_delivered": "lowest quarterly service_delivered after the warm-up",
    "recovery_quarters": "quarters after the first shock (warm-up included) until "
    "service_delivered is back within 0.01 of its level the quarter before (null: no shock, "
    "or never)",
    "total_emergency_cost": "GBP m, sum of emergency_cost after the warm-up",
    "cumulative_local_reinvestment": "GBP m, sum of local_reinvestment after the warm-up",
    "mean_local_share": "mean of local_share after the warm-up",
    "failures_total": "providers that failed after the warm-up",
    "handbacks_total": "contracts handed back after the warm-up",
    "spin_outs_total": "mutuals spun out after the warm-up",
    "service_quarters_lost": "sum of 1 - service_delivered after the warm-up (quarters of the "
    "whole market's service lost)",
    "unmet_need_total": "GBP m, sum of unmet_need after the warm-up",
    "outsourcer_failures_total": "outsourcers that failed after the warm-up",
    "mutual_failures_total": "mutuals that failed after the warm-up",
    "insolvency_failures_total": "providers that failed insolvent after the warm-up",
    "collapse_failures_total": "providers that failed in a scheduled collapse after the warm-up",
    "random_failures_total": "providers that failed at random (failure_hazard) after the warm-up",
    "final_share_outsourcer": "share_outsourcer in the last quarter",
    "final_share_mutual": "share_mutual in the last quarter",
    "final_share_inhouse": "share_inhouse in the last quarter",
    "final_hhi": "hhi in the last quarter",
    "final_trust": "trust in the last quarter",
    "first_shock_quarter": "quarter of the first scheduled shock (null if none)",
    "shock_contracts_disrupted": "contracts disrupted in the first shock's quarter",
    "shock_councils_touched": "councils with a contract disrupted in the first shock's quarter",
}

#: The unit of every run outcome (a count's unit makes it an integer column in the outputs).
SUMMARY_UNITS: dict[str, str] = {
    "resilience": "share",
    "min_service_delivered": "share",
    "recovery_quarters": "quarters",
    "total_emergency_cost": "GBP m",
    "cumulative_local_reinvestment": "GBP m",
    "mean_local_share": "share",
    "failures_total": "providers",
    "handbacks_total": "contracts",
    "spin_outs_total": "providers",
    "final_share_outsourcer": "share",
    "final_share_mutual": "share",
    "final_share_inhouse": "share",
    "final_hhi": "index 0-1",
    "final_trust": "index 0-1",
    "first_shock_quarter": "quarter",
    "shock_contracts_disrupted": "contracts",
    "shock_councils_touched": "councils",
    "service_quarters_lost": "quarters",
    "unmet_need_total": "GBP m",
    "outsourcer_failures_total": "providers",
    "mutual_failures_total": "providers",
    "insolvency_failures_total": "providers",
    "collapse_failures_total": "providers",
    "random_failures_total": "providers",
}


def _read_metric(name: str, model: Any) -> float:
    return model.metrics[name]


def model_reporters() -> dict[str, partial]:
    """Reporters for ``mesa.DataCollector``, one per name in :data:`REPORTERS` (picklable)."""
    return {name: partial(_read_metric, name) for name in REPORTERS}


def local_multiplier(
    spend: float | np.ndarray, local: float | np.ndarray, respend: float
) -> float | np.ndarray:
    """LM3 (NEF, *The Money Trail*, 2002): (round 1 + round 2 + round 3) / round 1.

    Round 1 is the council's spend, round 2 the part of it spent in the area, round 3 the part
    of round 2 that local recipients spend locally again (``respend``).
    """
    spend = np.asarray(spend, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(spend > 0, np.asarray(local) / spend, 0.0)
    out = 1.0 + share * (1.0 + respend)
    return float(out) if out.ndim == 0 else out


def quarter_metrics(market: Market, local_respend: float) -> dict[str, Any]:
    """The quarter's outcomes (:data:`REPORTERS`), computed once from the market's tables."""
    ct, p, ledger = market.contracts, market.providers, market.ledger
    money = ledger.money
    (
        value,
        total,
        hhi,
        social,
        active,
        required,
        delivered,
        spend,
        local,
        leaked,
        trust,
        markup,
        failed_outsourcer,
        failed_mutual,
    ) = _quarter_tallies(
        ct.columns(),
        p.columns(),
        money["required"],
        money["delivered"],
        money["paid"],
        money["local"],
        money["leaked"],
        market.councils.trust,
        market.quarter,
    )
    shares = value / total if total > 0 else np.zeros(3)
    share = local / spend if spend > 0 else 0.0
    return {
        "share_outsourcer": float(shares[ProviderKind.OUTSOURCER]),
        "share_mutual": float(shares[ProviderKind.MUTUAL]),
        "share_inhouse": float(shares[ProviderKind.INHOUSE]),
        "hhi": hhi,
        "providers_active": active,
        "failures": ledger.failures,
        "contracts_disrupted": ledger.contracts_disrupted,
        "handbacks": ledger.handbacks,
        "service_delivered": min(delivered / required, 1.0) if required > 0 else 1.0,
        "unmet_need": max(required - delivered, 0.0) / MILLION,
        "emergency_cost": float(money["emergency_cost"]) / MILLION,
        "spend": spend / MILLION,
        "local_reinvestment": local / MILLION,
        "leaked": leaked / MILLION,
        "local_share": share,
        "lm3": float(local_multiplier(spend, local, local_respend)),
        "social_value": social,
        "trust": trust,
        "spin_outs": ledger.spin_outs,
        "mean_markup_outsourcer": markup,
        "contagion_loss": ledger.contagion_loss / MILLION,
        "failures_outsourcer": failed_outsourcer,
        "failures_mutual": failed_mutual,
    }


def recovery_quarters(
    service: np.ndarray, shock_quarter: int | None, tolerance: float = 0.01
) -> int | None:
    """Quarters after ``shock_quarter`` until ``service`` is back within ``tolerance`` of its
    level the quarter before; 0 if it never fell; None if there is no shock or no recovery."""
    if shock_quarter is None or shock_quarter >= len(service):
        return None
    before = service[shock_quarter - 1] if shock_quarter > 0 else service[shock_quarter]
    after = service[shock_quarter:]
    back = np.flatnonzero(after >= before - tolerance)
    return int(back[0]) if back.size else None


def run_summary(
    ts: Mapping[str, Any] | pd.DataFrame,
    shock_log: list[tuple[int, str]],
    shock_councils_touched: int = 0,
    *,
    warm_up: int = 0,
    events: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run outcomes from the time series (names and meanings in :data:`SUMMARY_FIELDS`).

    ``ts``: one value per quarter of every reporter, as a mapping of columns
    (:meth:`sim.core.engine.Simulation.series`) or a DataFrame (``timeseries()``); NaNs are left
    out of sums and means, as pandas does. ``shock_councils_touched``: councils with a
    contract disrupted in the first shock's quarter (counted by the model as it runs; the time
    series does not hold it). ``warm_up``: the first quarters left out of the outcomes over the
    run (a run no longer than it is summarised over its last quarter); the first shock's
    outcomes (recovery included) and the final ones read the whole run. ``events``: the run's
    failures and handbacks, for the failures by cause.
    """

    def column(name: str) -> np.ndarray:
        return np.asarray(ts[name])

    service_all = column("service_delivered")
    start = min(max(warm_up, 0), len(service_all) - 1)
    service = service_all[start:]

    def total(name: str) -> Any:
        after = column(name)[start:]
        value = after.sum()
        return np.nansum(after) if np.isnan(value) else value  # nansum only when needed

    def mean(name: str) -> float:
        after = column(name)[start:]
        value = after.mean()
        if np.isnan(value):
            with np.errstate(invalid="ignore"):  # all NaN: NaN, as pandas gives
                value = np.nansum(after) / np.count_nonzero(~np.isnan(after))
        return float(value)

    def final(name: str) -> float:
        return float(column(name)[-1])

    first = min((q for q, _ in shock_log), default=None)
    causes = dict.fromkeys(FAILURE_CAUSES.values(), 0)
    for event in events or []:
        if event["event"] == "failure" and event["quarter"] >= start:
            field = FAILURE_CAUSES.get(event.get("cause", ""))
            if field is not None:
                causes[field] += 1
    return {
        "resilience": float(service.mean()),
        "min_service_delivered": float(service.min()),
        "recovery_quarters": recovery_quarters(service_all, first),
        "total_emergency_cost": float(total("emergency_cost")),
        "cumulative_local_reinvestment": float(total("local_reinvestment")),
        "mean_local_share": mean("local_share"),
        "failures_total": int(total("failures")),
        "handbacks_total": int(total("handbacks")),
        "spin_outs_total": int(total("spin_outs")),
        "service_quarters_lost": float((1.0 - service).sum()),
        "unmet_need_total": float(total("unmet_need")),
        "outsourcer_failures_total": int(total("failures_outsourcer")),
        "mutual_failures_total": int(total("failures_mutual")),
        **causes,
        "final_share_outsourcer": final("share_outsourcer"),
        "final_share_mutual": final("share_mutual"),
        "final_share_inhouse": final("share_inhouse"),
        "final_hhi": final("hhi"),
        "final_trust": final("trust"),
        "first_shock_quarter": first,
        "shock_contracts_disrupted": int(column("contracts_disrupted")[first])
        if first is not None
        else 0,
        "shock_councils_touched": int(shock_councils_touched) if first is not None else 0,
    }


def run_report(model: Any, seed: int | None = None) -> dict[str, Any]:
    """A finished run's report (a :class:`sim.core.engine.Simulation`'s or a
    ``CommissioningModel``'s), as written to summary.json: its outcomes, the resolved
    scenario, the effective score weights, the seed (``seed``, or the one the model used), the
    package version and the events (failures, handbacks)."""
    params = model.params
    return {
        "outcomes": model.summary(),
        "scenario": params.model_dump(mode="json"),
        "effective_weights": effective_weights(params.commissioning),
        "seed": model.seed if seed is None else seed,
        "package_version": package_version(),
        "events": model.events,
    }


@kernel
def _quarter_tallies(ct, p, required, delivered, paid, local, leaked, trust, quarter):
    """The arithmetic of :func:`quarter_metrics`: value by provider type, HHI,
    social value, live providers, money totals, mean trust and outsourcer mark-up, failures
    by type."""
    holder, price = ct.holder, ct.price
    kind, social_value_score, alive = p.kind, p.social_value_score, p.alive
    markup, failed_at = p.markup, p.failed_at
    n_p = kind.size
    value = np.zeros(3)
    by_provider = np.zeros(n_p)
    n_held = 0
    for i in range(holder.size):
        if holder[i] >= 0:
            value[kind[holder[i]]] += price[i]
            by_provider[holder[i]] += price[i]
            n_held += 1
    total = pairwise_sum(value)
    hhi = 0.0
    social = 0.0
    if total > 0:
        sq = np.empty(n_p)
        for q in range(n_p):
            x = by_provider[q] / total
            sq[q] = x * x
        hhi = pairwise_sum(sq)
        weighted = np.empty(n_held)
        k = 0
        for i in range(holder.size):
            if holder[i] >= 0:
                weighted[k] = social_value_score[holder[i]] * price[i]
                k += 1
        social = pairwise_sum(weighted) / total
    active = 0
    n_out = 0
    markups = np.empty(n_p)
    failed_outsourcer = 0
    failed_mutual = 0
    for q in range(n_p):
        if alive[q] and kind[q] != INHOUSE:
            active += 1
            if kind[q] == OUTSOURCER:
                markups[n_out] = markup[q]
                n_out += 1
        if failed_at[q] == quarter:
            if kind[q] == OUTSOURCER:
                failed_outsourcer += 1
            elif kind[q] == MUTUAL:
                failed_mutual += 1
    mean_markup = pairwise_sum(markups[:n_out]) / n_out if n_out > 0 else 0.0
    return (
        value,
        total,
        hhi,
        social,
        active,
        pairwise_sum(required),
        pairwise_sum(delivered),
        pairwise_sum(paid),
        pairwise_sum(local),
        pairwise_sum(leaked),
        pairwise_sum(trust) / trust.size,
        mean_markup,
        failed_outsourcer,
        failed_mutual,
    )
