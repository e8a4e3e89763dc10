"""The workforce: each area's care workers, hired by the providers that pay most.

Home care's binding constraint is staff. Each council area has a pool of care workers,
``pool_ratio`` x the work its contracts need (in capacity units: a unit of work needs a unit
of staff). A contract's posts are filled but for its ``vacant`` ones; its workers stay with the
work when it changes hands (TUPE) and leave it in a gap. Each quarter ``turnover`` of them leave (a leaver can be
hired again only the next quarter); then each area's free workers fill the vacancies of its
contracts, the best-paying holder first (equal pay shares pro rata). A contract delivers at
most its staffed share (:mod:`sim.core.delivery`): vacancies are unmet need, apart from
failure's. A provider's pay relative to the going wage is its cost factor (pay is most of a
home-care cost), lifted to ``wage_floor``, which raises its unit cost by its labour share of
the rise (:func:`pay_wage_floor`).
"""

from __future__ import annotations

import numpy as np

from sim.core.jit import kernel
from sim.core.state import QUARTERS_PER_YEAR, Market, Params, ProviderTable

__all__ = ["hire", "hire_staff", "pay_wage_floor", "vacancy_rate"]


def pay_wage_floor(
    providers: ProviderTable, rows: slice, floor: float, labour_share: float
) -> None:
    """New provider rows set their pay (their cost factor, unless set) and are lifted to the
    wage floor: a provider paying ``w`` < ``floor`` then pays ``floor`` and its cost factor
    rises by ``labour_share x (floor / w - 1)``."""
    p = providers
    wage, cost = p.wage[rows], p.cost_factor[rows]
    wage = np.where(wage > 0, wage, cost)
    below = wage < floor
    p.cost_factor[rows] = np.where(
        below, cost * (1.0 + labour_share * (floor / np.maximum(wage, 1e-12) - 1.0)), cost
    )
    p.wage[rows] = np.where(below, floor, wage)


def hire_staff(market: Market, workforce: Params) -> None:
    """This quarter's turnover and hiring (:func:`hire`) on every contract; writes
    ``vacant`` in place."""
    ct, cn, p = market.contracts, market.councils, market.providers
    holder = ct.view("holder")
    council = ct.view("council")
    pay = np.where(holder >= 0, p.wage[np.maximum(holder, 0)], 0.0)
    # each council's contracts, best pay first (a stable sort: ties in slot order)
    order = np.lexsort((-pay, council))
    quarterly = 1.0 - (1.0 - workforce.turnover) ** (1 / QUARTERS_PER_YEAR)
    ct.view("vacant")[:] = hire(
        order,
        council,
        ct.view("reference"),
        holder,
        ct.view("vacant"),
        pay,
        workforce.pool_ratio * cn.total,
        quarterly,
    )


@kernel
def hire(order, council, reference, holder, vacant, pay, pool, turnover):
    """Each contract's vacant posts after a quarter's turnover and hiring: a held contract
    keeps ``1 - turnover`` of its staff (``reference - vacant``), a gap none; each council's
    free workers (its ``pool`` less those employed and this quarter's leavers) fill vacancies
    in ``order`` (by council, best ``pay`` first), a run of equal pay pro rata."""
    n, n_c = council.size, pool.size
    out = reference.copy()  # a gap's posts are all vacant: its staff have left it
    free = pool.copy()
    for i in range(n):
        if holder[i] >= 0:
            staff = max(reference[i] - vacant[i], 0.0)
            out[i] = reference[i] - staff * (1.0 - turnover)
            free[council[i]] -= staff  # those kept and the leavers, who are not free yet
    for c in range(n_c):
        free[c] = max(free[c], 0.0)
    a = 0
    while a < n:
        b = a + 1  # [a, b): one council's contracts at one pay
        while b < n and council[order[b]] == council[order[a]] and pay[order[b]] == pay[order[a]]:
            b += 1
        c = council[order[a]]
        wanted = 0.0
        for j in range(a, b):
            if holder[order[j]] >= 0:
                wanted += out[order[j]]
        if wanted > 0 and free[c] > 0:
            filled = min(free[c] / wanted, 1.0)
            for j in range(a, b):
                if holder[order[j]] >= 0:
                    out[order[j]] *= 1.0 - filled
            free[c] -= filled * wanted
        a = b
    return out


@kernel
def vacancy_rate(holder, reference, vacant):
    """Vacant posts as a share of the posts held contracts need."""
    need = 0.0
    unfilled = 0.0
    for i in range(holder.size):
        if holder[i] >= 0:
            need += reference[i]
            unfilled += min(vacant[i], reference[i])
    return unfilled / need if need > 0 else 0.0
