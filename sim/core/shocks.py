"""Shocks: scheduled collapses, cost, demand and budget shocks, and random failures.

Each function acts on the market's state in the current quarter. The model applies the shocks
scheduled for a quarter at its start (:func:`scheduled`, :func:`apply_shock`), and the
dashboard's shock buttons call the same :func:`apply_shock` (through
``CommissioningModel.apply_shock``), so a button and a scenario file do exactly the same thing.
"""

from __future__ import annotations

import numpy as np

from sim.core.failure import fail_provider
from sim.core.jit import kernel
from sim.core.state import KIND_NAMES, Market, Params, ProviderKind
from sim.core.workforce import pay_wage_floor

__all__ = [
    "apply_shock",
    "budget_cut",
    "collapse_provider",
    "cost_shock",
    "demand_shock",
    "fee_uplift",
    "raise_wage_floor",
    "random_failures",
    "resolve_target",
    "scheduled",
]


def resolve_target(market: Market, target: str, rng: np.random.Generator) -> int | None:
    """The provider a collapse hits: the largest outsourcer or mutual by contract value now,
    one at random, or one by name. None if there is no such provider trading."""
    p = market.providers
    alive = p.external()
    if target in ("largest_outsourcer", "largest_mutual"):
        kind = ProviderKind.OUTSOURCER if target == "largest_outsourcer" else ProviderKind.MUTUAL
        candidates = np.flatnonzero(alive & (p.view("kind") == kind))
        if candidates.size == 0:
            return None
        value = market.contracts.value_by_provider(p.n)
        return int(candidates[np.argmax(value[candidates])])
    if target == "random":
        candidates = np.flatnonzero(alive)
        return int(rng.choice(candidates)) if candidates.size else None
    index = p.index_of(target)
    return index if index is not None and alive[index] else None


def collapse_provider(
    market: Market, target: str, params: Params, rng: np.random.Generator
) -> int | None:
    """Collapse a provider now: all its contracts fail this quarter. Returns its row."""
    index = resolve_target(market, target, rng)
    if index is not None:
        fail_provider(market, index, "collapse", params, rng)
    return index


def cost_shock(
    cost_level: np.ndarray, magnitude: float, provider_types: list[str] | None = None
) -> None:
    """Raise delivery costs by ``magnitude`` (0.1 = 10%) for some provider types, from now on.

    Running contracts' prices rise by the council's fee uplift (:func:`fee_uplift`) now and
    by their yearly price reviews (:mod:`sim.core.price_review`); their holders bear the rest
    until then, or until re-tender.
    """
    names = provider_types or list(KIND_NAMES.values())
    for kind, name in KIND_NAMES.items():
        if name in names:
            cost_level[kind] *= 1.0 + magnitude


def fee_uplift(price: np.ndarray, holder: np.ndarray, rise: np.ndarray, share: float) -> np.ndarray:
    """Prices of running contracts after a fee uplift: each rises by ``share`` of its holder's
    cost rise (``rise``: each provider's relative rise, 0.075 for 7.5%). ``holder``: each
    contract's holder, -1 for no holder (a gap)."""
    uplift = np.where(holder >= 0, rise[np.maximum(holder, 0)], 0.0)
    return price * (1.0 + share * uplift)


def raise_wage_floor(market: Market, floor: float, labour_share: float) -> np.ndarray:
    """Raise the wage floor to ``floor`` (x the going wage; a lower one changes nothing): every
    provider paying less is lifted to it, its cost factor rising by ``labour_share`` of the
    rise (:func:`sim.core.workforce.pay_wage_floor`). Returns each provider's relative cost
    rise."""
    p = market.providers
    before = p.view("cost_factor").copy()
    market.wage_floor = max(market.wage_floor, floor)
    pay_wage_floor(p, slice(0, p.n), market.wage_floor, labour_share)
    return p.view("cost_factor") / before - 1.0


def demand_shock(demand_factor: np.ndarray, quarter: int, magnitude: float, duration: int) -> None:
    """Raise need by ``magnitude`` above contracted levels for ``duration`` quarters from now."""
    demand_factor[quarter : quarter + duration] *= 1.0 + magnitude


def budget_cut(budget_factor: np.ndarray, magnitude: float) -> None:
    """Cut every council's budget by ``magnitude``: the price it accepts falls with it."""
    budget_factor *= 1.0 - magnitude


def apply_shock(market: Market, shock: Params, params: Params, rng: np.random.Generator) -> None:
    """Apply one shock (a scenario's ``[[shocks]]`` entry) in the current quarter; log it."""
    ct, p = market.contracts, market.providers
    match shock.kind:
        case "provider_collapse":
            collapse_provider(market, shock.target, params, rng)
        case "cost_shock" | "wage_floor":
            if shock.kind == "cost_shock":
                before = market.cost_level.copy()
                cost_shock(market.cost_level, shock.magnitude, shock.provider_types)
                rise = (market.cost_level / before - 1.0)[p.view("kind")]
            else:
                rise = raise_wage_floor(market, shock.magnitude, params.workforce.labour_share)
            # Councils pass a share of the rise into running contracts' fees. An in-house
            # unit's price is its cost, reset before delivery this quarter
            # (sim.core.inhouse.refresh_inhouse_prices): its uplift does not last.
            ct.view("price")[:] = fee_uplift(
                ct.view("price"), ct.view("holder"), rise, params.commissioning.fee_uplift
            )
        case "demand_shock":
            demand_shock(market.demand_factor, market.quarter, shock.magnitude, shock.duration)
        case "budget_cut":
            budget_cut(market.councils.budget_factor, shock.magnitude)
    market.shock_log.append((market.quarter, shock.kind))


def scheduled(shocks: list[Params], quarter: int) -> list[Params]:
    """The shocks scheduled for ``quarter``, in file order."""
    return [shock for shock in shocks if shock.quarter == quarter]


def random_failures(market: Market, params: Params, rng: np.random.Generator) -> None:
    """Fail each trading provider with its quarterly hazard (failures beyond insolvency)."""
    p = market.providers
    hazard = p.view("hazard")
    at_risk = _at_risk(p.view("alive"), hazard)
    if at_risk.size:
        hit = at_risk[rng.random(at_risk.size) < hazard[at_risk]]
        for index in hit:
            fail_provider(market, int(index), "random", params, rng)


@kernel
def _at_risk(alive, hazard):
    """The providers :func:`random_failures` draws for: live, with a hazard."""
    out = np.empty(alive.size, np.int64)
    n = 0
    for q in range(alive.size):
        if alive[q] and hazard[q] > 0:
            out[n] = q
            n += 1
    return out[:n].copy()
