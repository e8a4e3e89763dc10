"""Spin-outs and growth: council in-house services spin out as mutuals, and busy providers grow.

A spin-out takes its service with it: the new mutual holds the contract at its own cost plus
mark-up for ``spin_out_contract_years``. A support programme multiplies the rate and gives
each new mutual a start-up grant.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sim.core.jit import kernel
from sim.core.numeric import INHOUSE, used_capacity
from sim.core.state import (
    QUARTERS_PER_YEAR,
    Market,
    Params,
    ProviderKind,
    ProviderTable,
    provider_values,
)
from sim.core.workforce import pay_wage_floor

__all__ = ["grow_providers", "new_mutual", "new_mutuals", "spin_outs"]


def new_mutual(
    providers: ProviderTable,
    home: int,
    capacity: float,
    name: str,
    section: Params,
    rng: np.random.Generator,
    grant: float = 0.0,
) -> int:
    """Add a mutual based in council ``home``, its values from ``section`` (the scenario's
    ``[mutuals]``), with ``grant`` pounds of start-up cash on top of its reserves. Returns its
    row."""
    rows = new_mutuals(providers, [home], [capacity], [name], section, rng, grant)
    return int(rows[0])


def new_mutuals(
    providers: ProviderTable,
    homes: Sequence[int] | np.ndarray,
    capacities: Sequence[float] | np.ndarray,
    names: Sequence[str] | np.ndarray,
    section: Params,
    rng: np.random.Generator,
    grant: float = 0.0,
) -> np.ndarray:
    """Add mutuals at once, one per element of ``homes`` (their councils), ``capacities`` and
    ``names``, drawing from ``rng`` as :func:`new_mutual` one after another would. Returns
    their rows."""
    values = provider_values(section, np.asarray(capacities, dtype=float), rng)
    values["cash"] = values["cash"] + grant
    return providers.extend(len(homes), kind=ProviderKind.MUTUAL, name=names, home=homes, **values)


def spin_outs(
    market: Market,
    section: Params,
    rng: np.random.Generator,
    labour_share: float = 0.0,
) -> list[int]:
    """In-house services (not emergencies) spin out as mutuals at the yearly rate, higher
    under a support programme (``section``: the scenario's ``[mutuals]``), their pay lifted
    to the market's wage floor (raising ``labour_share`` of their cost with it) before their
    first price. Returns the new mutuals' rows."""
    rate = section.spin_out_rate * (
        section.support_multiplier if section.support_programme else 1.0
    )
    if rate <= 0:
        return []
    ct, p = market.contracts, market.providers
    quarterly = 1.0 - (1.0 - min(rate, 1.0)) ** (1 / QUARTERS_PER_YEAR)
    inhouse = _spin_out_candidates(ct.view("holder"), ct.view("emergency"), p.view("kind"))
    chosen = inhouse[rng.random(inhouse.size) < quarterly]
    grant = section.start_up_grant * 1e6 if section.support_programme else 0.0
    if chosen.size == 0:
        return []
    # All of the quarter's spin-outs at once, drawing and numbering as one after another would.
    councils = ct.council[chosen]
    names = [
        f"{market.councils.name[c]} Mutual {p.n + 1 + i}" for i, c in enumerate(councils.tolist())
    ]
    rows = new_mutuals(p, councils, 1.25 * ct.reference[chosen], names, section, rng, grant)
    new = slice(int(rows[0]), int(rows[-1]) + 1)
    pay_wage_floor(p, new, market.wage_floor, labour_share)
    # Each first contract at its known cost plus mark-up (bid_prices without an estimate error).
    unit_cost = p.unit_cost(rows, market.cost_level)
    price = ct.reference[chosen] * unit_cost * (1.0 + p.markup[rows])
    t = market.quarter
    end = t + QUARTERS_PER_YEAR * section.spin_out_contract_years
    ct.place(chosen, rows, price=price, start=t, end=end, emergency=False, unit_cost=unit_cost)
    market.ledger.spin_outs += int(chosen.size)
    return rows.tolist()


def grow_providers(market: Market) -> None:
    """A trading provider using more than 80% of its capacity grows it by its own
    ``growth_rate`` (an attribute of its section; none for a firm that does not grow)."""
    p, ct = market.providers, market.contracts
    _grow_providers(
        ct.view("holder"),
        ct.view("reference"),
        p.view("alive"),
        p.view("capacity"),
        p.view("growth_rate"),
    )


@kernel
def _spin_out_candidates(holder, emergency, kind):
    """The slots :func:`spin_outs` draws for: held in-house, not emergencies."""
    out = np.empty(holder.size, np.int64)
    n = 0
    for i in range(holder.size):
        h = holder[i]
        if h >= 0 and kind[h] == INHOUSE and not emergency[i]:
            out[n] = i
            n += 1
    return out[:n].copy()


@kernel
def _grow_providers(holder, reference, alive, capacity, growth_rate):
    """The arithmetic of :func:`grow_providers`: writes ``capacity`` in place."""
    used = used_capacity(holder, reference, capacity.size)
    for q in range(capacity.size):
        if growth_rate[q] > 0 and alive[q] and used[q] > 0.8 * capacity[q]:
            capacity[q] *= 1.0 + growth_rate[q]
