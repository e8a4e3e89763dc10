"""Shocks: scheduled collapses, cost, demand and budget shocks, and random failures.

Each function acts on a running model in the current quarter; the model calls
:func:`apply_scheduled` at the start of every quarter, and the dashboard's shock buttons call
the same functions, so a button and a scenario file do exactly the same thing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.agents import KIND_NAMES, ProviderKind
from sim.scenario import Shock

if TYPE_CHECKING:
    from sim.model import CommissioningModel

__all__ = [
    "apply_scheduled",
    "apply_shock",
    "collapse_provider",
    "cost_shock",
    "random_failures",
    "resolve_target",
]


def resolve_target(model: CommissioningModel, target: str) -> int | None:
    """The provider a collapse hits: the largest outsourcer or mutual by contract value now,
    one at random, or one by name. None if there is no such provider alive."""
    p = model.providers
    alive = p.view("alive") & (p.view("kind") != ProviderKind.INHOUSE)
    if target in ("largest_outsourcer", "largest_mutual"):
        kind = ProviderKind.OUTSOURCER if target == "largest_outsourcer" else ProviderKind.MUTUAL
        candidates = np.flatnonzero(alive & (p.view("kind") == kind))
        if candidates.size == 0:
            return None
        value = model.provider_contract_value()
        return int(candidates[np.argmax(value[candidates])])
    if target == "random":
        candidates = np.flatnonzero(alive)
        return int(model.rng.choice(candidates)) if candidates.size else None
    index = model.provider_index_by_name().get(target)
    return index if index is not None and alive[index] else None


def collapse_provider(model: CommissioningModel, target: str = "largest_outsourcer") -> int | None:
    """Collapse a provider now: all its contracts fail this quarter. Returns its index."""
    index = resolve_target(model, target)
    if index is not None:
        model.fail_provider(index, cause="collapse")
    return index


def cost_shock(
    model: CommissioningModel, magnitude: float, provider_types: list[str] | None = None
) -> None:
    """Raise delivery costs by ``magnitude`` (0.1 = 10%) for some provider types, from now on.

    Fixed-price contracts cannot pass it on: their holders bear it until re-tender.
    """
    names = provider_types or list(KIND_NAMES.values())
    for kind, name in KIND_NAMES.items():
        if name in names:
            model.cost_level[kind] *= 1.0 + magnitude


def apply_shock(model: CommissioningModel, shock: Shock) -> None:
    """Apply one scheduled shock in the current quarter."""
    match shock.kind:
        case "provider_collapse":
            collapse_provider(model, shock.target)
        case "cost_shock":
            cost_shock(model, shock.magnitude, shock.provider_types)
        case "demand_shock":
            q = model.quarter
            model.demand_factor[q : q + shock.duration] *= 1.0 + shock.magnitude
        case "budget_cut":
            model.budget_factor *= 1.0 - shock.magnitude
    model.shock_log.append((model.quarter, shock.kind))


def apply_scheduled(model: CommissioningModel) -> None:
    """Apply every shock scheduled for the current quarter, in file order."""
    for shock in model.params.shocks:
        if shock.quarter == model.quarter:
            apply_shock(model, shock)


def random_failures(model: CommissioningModel) -> None:
    """Fail each trading provider with its quarterly hazard (failures beyond insolvency)."""
    p = model.providers
    hazard = p.view("hazard")
    at_risk = np.flatnonzero(p.view("alive") & (hazard > 0))
    if at_risk.size:
        hit = at_risk[model.rng.random(at_risk.size) < hazard[at_risk]]
        for index in hit:
            model.fail_provider(int(index), cause="random")
