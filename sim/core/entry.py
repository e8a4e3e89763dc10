"""Entry and exit: firms close when they have no work, and new local firms enter where the
margins on a council's contracts, or its unmet need, attract them.

Closure is leaving the market, not failure: a firm that has held no contract or subcontract
for its ``closure_quarters`` closes with its books settled, disrupting nothing. Entry is
drawn council by council each quarter (docs/ODD.md, 7.8).
"""

from __future__ import annotations

import numpy as np

from sim.core.jit import kernel
from sim.core.numeric import INHOUSE
from sim.core.state import (
    QUARTERS_PER_YEAR,
    Market,
    Params,
    ProviderKind,
    firm_sizes,
    provider_values,
)

__all__ = ["closures", "entries", "entry_rates"]

#: Unmet need, as a share of a council's value, that draws ``entry_rate`` entrants a year.
UNMET_REFERENCE = 0.1


def closures(market: Market) -> np.ndarray:
    """Close every trading firm that has held no contract or subcontract for its
    ``closure_quarters``; returns their rows (the quarter's ``closures`` count them)."""
    p, ct = market.providers, market.contracts
    closed = _closures(
        market.quarter,
        ct.view("holder"),
        ct.view("subcontractor"),
        p.view("alive"),
        p.view("idle_since"),
        p.view("closure_quarters"),
        p.view("closed_at"),
    )
    market.ledger.closures += int(closed.size)  # counted each quarter, not logged one by one
    return closed


@kernel
def _closures(t, holder, subcontractor, alive, idle_since, closure_quarters, closed_at):
    """The arithmetic of :func:`closures`: writes ``alive``, ``idle_since`` and
    ``closed_at`` in place."""
    n_p = alive.size
    holds = np.zeros(n_p, np.int64)
    for i in range(holder.size):
        if holder[i] >= 0:
            holds[holder[i]] += 1
        if subcontractor[i] >= 0:
            holds[subcontractor[i]] += 1
    out = np.empty(n_p, np.int64)
    n = 0
    for q in range(n_p):
        if not alive[q] or closure_quarters[q] <= 0:
            continue
        if holds[q] > 0:
            idle_since[q] = -1
        elif idle_since[q] < 0:
            idle_since[q] = t
        elif t - idle_since[q] >= closure_quarters[q]:
            alive[q] = False
            closed_at[q] = t
            out[n] = q
            n += 1
    return out[:n].copy()


def entry_rates(market: Market, section: Params) -> np.ndarray:
    """New local firms a year each council draws (``section``: the scenario's
    ``[local_firms]``): ``entry_rate`` times the margin on its contracts above the local
    firms' ``target_margin`` (in units of that target) plus its unmet need (in units of
    :data:`UNMET_REFERENCE` of its value)."""
    ct, p, cn = market.contracts, market.providers, market.councils
    margin, unmet = _margins_and_unmet(
        ct.columns(), p.view("cost_factor"), p.view("kind"), market.cost_level, cn.n,
    )  # fmt: skip
    target = max(float(section.target_margin), 0.01)
    excess = np.maximum(margin - target, 0.0) / target
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(cn.total > 0, unmet / cn.total, 0.0)
    return section.entry_rate * (excess + share / UNMET_REFERENCE)


@kernel
def _margins_and_unmet(ct, cost_factor, kind, cost_level, n_c):
    """Each council's value-weighted margin on cost of the contracts firms hold (not its own
    unit's, which earns none, nor emergency awards), and the reference value of its contracts
    in a gap."""
    value = np.zeros(n_c)
    earned = np.zeros(n_c)
    unmet = np.zeros(n_c)
    for i in range(ct.holder.size):
        c, h = ct.council[i], ct.holder[i]
        if h < 0:
            unmet[c] += ct.reference[i]
        elif kind[h] != INHOUSE and not ct.emergency[i]:
            cost = ct.reference[i] * cost_factor[h] * cost_level[kind[h]]
            value[c] += cost
            earned[c] += ct.price[i] - cost
    margin = np.zeros(n_c)
    for c in range(n_c):
        if value[c] > 0:
            margin[c] = earned[c] / value[c]
    return margin, unmet


def entries(market: Market, section: Params, rng: np.random.Generator) -> np.ndarray:
    """Draw each council's entrants this quarter (at most one a council a quarter) and add
    them as local firms from ``section`` (the scenario's ``[local_firms]``), each starting in
    debt by its ``entry_cost``; returns their rows."""
    if section.entry_rate <= 0:
        return np.zeros(0, np.int64)
    cn, p = market.councils, market.providers
    chance = 1.0 - np.exp(-entry_rates(market, section) / QUARTERS_PER_YEAR)
    homes = np.flatnonzero(rng.random(cn.n) < chance)
    if homes.size == 0:
        return homes
    mean = section.capacity_share * cn.budget[homes] / QUARTERS_PER_YEAR
    capacity = firm_sizes(mean, homes.size, section.size_dispersion, rng)
    values = provider_values(section, capacity, rng)
    values["cash"] = values["cash"] - section.entry_cost * capacity * QUARTERS_PER_YEAR
    names = [f"{cn.name[c]} Care {p.n + 1 + i}" for i, c in enumerate(homes.tolist())]
    rows = p.extend(homes.size, kind=ProviderKind.LOCAL_FIRM, name=names, home=homes, **values)
    market.ledger.entries += int(rows.size)
    return rows
