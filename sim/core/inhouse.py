"""In-house units: what their services cost and how much they can deliver.

An in-house service costs what the unit spends (no margin, no fixed price), plus the emergency
premium while the unit covers an emergency; a unit's capacity follows the work it holds, as
staff transfer with the work they lose (TUPE), down to a retained core.
"""

from __future__ import annotations

import numpy as np

from sim.core.jit import kernel
from sim.core.numeric import INHOUSE, used_capacity
from sim.core.state import Market

__all__ = ["refresh_inhouse_prices", "update_inhouse_capacity"]


def kept_to_share(
    council: np.ndarray, reference: np.ndarray, order: np.ndarray, share: np.ndarray
) -> np.ndarray:
    """Which contracts each council keeps in-house so that their value comes close to
    ``share`` of its contracts' value: its first contracts in the random ``order`` (one draw
    a contract), each kept while the value kept up to its middle is below the target, so
    the kept value is within half a contract of it (with equal lots, the nearest whole
    number of lots). Used where a council's own record gives its share, which a draw per
    contract would miss by chance (a council of 4 contracts starts up to 25 points off)."""
    rank = np.lexsort((order, council))
    value = reference[rank]
    cumulative = np.cumsum(value)
    start = np.searchsorted(council[rank], np.arange(share.size))
    before = np.concatenate(([0.0], cumulative))[start][council[rank]]
    within = cumulative - before  # in-house value up to and with this contract
    total = np.bincount(council, reference, minlength=share.size)
    kept = np.empty(council.size, dtype=bool)
    kept[rank] = within - value / 2 < share[council[rank]] * total[council[rank]]
    return kept


def refresh_inhouse_prices(market: Market, emergency_premium: float) -> None:
    """In-house services cost what the unit spends (no margin, no fixed price), plus the
    premium while the unit covers an emergency."""
    ct, p = market.contracts, market.providers
    _refresh_inhouse_prices(
        ct.view("holder"),
        ct.view("reference"),
        ct.view("emergency"),
        ct.view("price"),
        p.view("kind"),
        p.view("cost_factor"),
        market.cost_level,
        float(emergency_premium),
    )


@kernel
def _refresh_inhouse_prices(holder, reference, emergency, price, kind, cost_factor, cost_level, ep):
    """The arithmetic of :func:`refresh_inhouse_prices`: writes ``price`` in place."""
    for i in range(holder.size):
        h = holder[i]
        if h >= 0 and kind[h] == INHOUSE:
            premium = 1.0 + ep if emergency[i] else 1.0
            price[i] = reference[i] * (cost_factor[h] * cost_level[kind[h]]) * premium


def update_inhouse_capacity(market: Market, retained_share: float) -> None:
    """Staff transfer with the work they lose (TUPE); a retained core stays."""
    cn, p, ct = market.councils, market.providers, market.contracts
    cn.inhouse_capacity = _update_inhouse_capacity(
        ct.view("holder"),
        ct.view("reference"),
        cn.inhouse_unit,
        cn.total,
        p.view("capacity"),
        float(retained_share),
    )


@kernel
def _update_inhouse_capacity(holder, reference, inhouse_unit, total, capacity, retained_share):
    """The arithmetic of :func:`update_inhouse_capacity`: writes the units' rows of ``capacity``
    in place and returns the councils' in-house capacity."""
    used = used_capacity(holder, reference, capacity.size)
    out = np.empty(inhouse_unit.size)
    for c in range(inhouse_unit.size):
        out[c] = max(used[inhouse_unit[c]], retained_share * total[c])
        capacity[inhouse_unit[c]] = out[c]
    return out
