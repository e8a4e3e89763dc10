"""Money: a quarter's payments, where each pound goes, provider accounts, insolvency.

Every pound a council pays goes to one provider leg (the holder, or a subcontractor for its
share). A leg's revenue is split into its costs and its surplus; costs are spent locally in
``local_cost_share`` and leak otherwise; a mutual's or in-house unit's surplus stays local, an
outsourcer's leaves the area (dividends to shareholders, or retained at head office). So, by
construction and checked in the tests: paid = local + leaked, and revenue = costs + surplus.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.agents import ProviderKind

__all__ = ["Flows", "local_multiplier", "quarter_flows", "settle_accounts"]


@dataclass(frozen=True)
class Flows:
    """One quarter's money, per leg (one row per provider delivering part of a contract).

    All amounts are pounds in the quarter.
    """

    slot: np.ndarray
    provider: np.ndarray
    council: np.ndarray
    revenue: np.ndarray
    cost: np.ndarray
    local: np.ndarray
    leaked: np.ndarray


def quarter_flows(
    slot: np.ndarray,
    provider: np.ndarray,
    council: np.ndarray,
    revenue: np.ndarray,
    cost: np.ndarray,
    kind: np.ndarray,
    local_cost_share: np.ndarray,
) -> Flows:
    """Split each leg's revenue into local and leaked money.

    Args:
        slot, provider, council: (n_legs,) which contract, provider and paying council.
        revenue: (n_legs,) pounds paid to the leg this quarter.
        cost: (n_legs,) pounds the provider spends delivering it.
        kind: (n_providers,) ProviderKind of each provider.
        local_cost_share: (n_providers,) share of costs spent in the area.
    """
    share = local_cost_share[provider]
    surplus = revenue - cost
    surplus_local = kind[provider] != ProviderKind.OUTSOURCER
    local = share * cost + np.where(surplus_local, surplus, 0.0)
    leaked = (1.0 - share) * cost + np.where(surplus_local, 0.0, surplus)
    return Flows(slot, provider, council, revenue, cost, local, leaked)


def settle_accounts(
    flows: Flows,
    cash: np.ndarray,
    extraction: np.ndarray,
    interest_rate: np.ndarray,
    kind: np.ndarray,
) -> dict[str, np.ndarray]:
    """Book a quarter into each provider's cash; return its profit-and-loss lines.

    The surplus is paid out as dividends in ``extraction`` (when positive); borrowing costs
    interest. In-house units hold no cash of their own: the council stands behind them.
    ``cash`` is updated in place.
    """
    n = cash.shape[0]
    revenue = np.bincount(flows.provider, flows.revenue, minlength=n)
    cost = np.bincount(flows.provider, flows.cost, minlength=n)
    surplus = revenue - cost
    dividends = extraction * np.maximum(surplus, 0.0)
    interest = interest_rate * np.maximum(-cash, 0.0)
    external = kind != ProviderKind.INHOUSE
    cash += np.where(external, surplus - dividends - interest, 0.0)
    return {
        "revenue": revenue,
        "cost": cost,
        "surplus": surplus,
        "dividends": dividends,
        "interest": interest,
    }


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
