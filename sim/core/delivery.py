"""Delivery and payment: every contract is delivered and paid, each pound is followed to where
it is spent, and each provider books its quarter.

Every pound a council pays goes to one provider leg (the holder, a subcontractor for its
share, or the in-house unit covering extra demand). A leg's revenue is split into its costs and
its surplus; costs are spent locally in ``local_cost_share`` and leak otherwise; a mutual's or
in-house unit's surplus stays local, an outsourcer's leaves the area (dividends to
shareholders, or retained at head office): :func:`local_and_leaked` is where money leaves the area. So, by construction and checked in the tests: paid = local + leaked, and
revenue = costs + surplus.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core.budgets import limits, rationing
from sim.core.jit import kernel
from sim.core.numeric import (
    INHOUSE,
    clipped_ratio,
    kept_where_based,
    pairwise_sum,
    used_capacity,
)
from sim.core.run_params import run_params
from sim.core.state import Market, Params, ProviderTable

__all__ = [
    "Flows",
    "deliver_and_pay",
    "handback_tolerance",
    "headroom",
    "local_and_leaked",
]


@dataclass(frozen=True)
class Flows:
    """One quarter's money, per leg (one row per provider delivering part of a contract).

    All amounts are pounds in the quarter; ``slot`` is -1 for extra demand bought spot.
    """

    slot: np.ndarray
    provider: np.ndarray
    council: np.ndarray
    revenue: np.ndarray
    cost: np.ndarray
    local: np.ndarray
    leaked: np.ndarray


@kernel
def local_and_leaked(provider, council, revenue, cost, home, extraction, owners, local_cost_share):
    """Each leg's local and leaked money, followed to where it lands: legs (``provider``,
    paying ``council``, ``revenue``, ``cost``) and the providers' attributes (``home``,
    ``extraction``, ``owners`` [their ``owners_local_share``], ``local_cost_share``).

    Costs are spent where the service is delivered at the provider's ``local_cost_share``
    (care staff live near the people they visit; local suppliers) and leak otherwise. The
    surplus lands where the provider is based: the part it keeps there
    (:func:`sim.core.numeric.kept_where_based`: retained, or paid to owners living there)
    is local to the paying council only if the provider is based in that council; the rest
    leaves. Only the council's pounds are split: a leg that costs more than it earns spends
    the provider's own cash beyond its revenue, and that is not council money kept local."""
    n = provider.size
    local = np.empty(n)
    leaked = np.empty(n)
    for g in range(n):
        pr = provider[g]
        share = local_cost_share[pr]
        funded = min(cost[g], revenue[g])
        kept = revenue[g] - funded  # the surplus, or 0 on a loss
        stays = kept_where_based(extraction[pr], owners[pr]) if home[pr] == council[g] else 0.0
        local[g] = share * funded + kept * stays
        leaked[g] = (1.0 - share) * funded + kept * (1.0 - stays)
    return local, leaked


def headroom(providers: ProviderTable) -> np.ndarray:
    """Financial headroom of each provider, as its accounts show it: (cash + credit) in years
    of revenue (at least a quarter of capacity, so a new firm is not infinitely healthy)."""
    p = providers
    return _headroom(
        p.view("revenue_last"), p.view("capacity"), p.view("cash"), p.view("credit_limit")
    )


@kernel
def _headroom(revenue_last, capacity, cash, credit_limit):
    """:func:`headroom` over the provider table's columns."""
    out = np.empty(cash.size)
    for i in range(cash.size):
        year = max(revenue_last[i], capacity[i] * 0.25) * 4
        out[i] = (cash[i] + credit_limit[i]) / max(year, 1.0)
    return out


@kernel
def handback_tolerance(headroom, handback_loss, handback_headroom):
    """The loss (share of price) each provider bears on a contract before counting it
    loss-making: ``handback_loss`` at ``handback_headroom`` years of headroom, in proportion
    to headroom between none (at its credit limit) and twice that. So providers differ, and
    a firm running out of money hands contracts back sooner (no single cliff)."""
    if handback_headroom <= 0:
        return np.full(headroom.size, handback_loss)
    return handback_loss * clipped_ratio(headroom, handback_headroom, 0.0, 2.0)


def deliver_and_pay(market: Market, params: Params) -> None:
    """Deliver every contract and pay for it, and write the quarter's money into the ledger.

    The quarter's legs: each delivering contract's holder and subcontractor, extra demand
    the in-house unit covers at the emergency premium, and contracts an administrator
    delivers (at their price plus ``administration_cost``; the administrator spends what it
    is paid, so the failed provider's closed books do not move). A council over its spending
    limit buys less of every leg (:mod:`sim.core.budgets`). Each leg's money is followed to
    where it is spent (:func:`local_and_leaked`) and booked into its provider's cash, less
    dividends (``extraction`` of a surplus) and interest on borrowing (none after failure;
    in-house units hold no cash); a contract losing more than its holder's
    :func:`handback_tolerance` counts a quarter towards a handback."""
    ct, p, cn, ledger = market.contracts, market.providers, market.councils, market.ledger
    out = _deliver_and_pay(
        ct.columns(),
        p.columns(),
        cn.columns(),
        ledger.disrupted_value,
        market.cost_level,
        market.quarter,
        float(market.demand_factor[market.quarter]),
        float(ledger.transition_cost),
        run_params(params),
    )
    legs, amounts, accounts, money, emergency_cost = out
    ledger.flows = Flows(*legs, *amounts)
    ledger.accounts = dict(zip(_ACCOUNTS, accounts, strict=True))
    ledger.money = dict(zip(_MONEY, money, strict=True))
    ledger.money["emergency_cost"] = emergency_cost


_ACCOUNTS = ("revenue", "cost", "surplus", "dividends", "interest")
_MONEY = (
    "required",
    "delivered",
    "paid",
    "local",
    "leaked",
    "transition",
    "bought",
    "idle",
    "unstaffed",
)


@kernel
def _deliver_and_pay(ct, p, cn, disrupted_value, cost_level, t, demand, transition_cost, run):
    """The arithmetic of :func:`deliver_and_pay`: writes ``loss_streak``, ``cash``,
    ``revenue_last`` and ``cost_last`` in place and returns the flows' legs (rows slot,
    provider, council) and money (rows revenue, cost, local, leaked), the accounts (rows
    revenue, cost, surplus, dividends, interest), the councils' money (rows required,
    delivered, paid, local, leaked, transition, bought, idle, unstaffed) and the emergency
    cost."""
    holder, reference, start, council = ct.holder, ct.reference, ct.start, ct.council
    price, disrupted_at, emergency, loss_streak = (
        ct.price,
        ct.disrupted_at,
        ct.emergency,
        ct.loss_streak,
    )
    subcontractor, subcontract_price = ct.subcontractor, ct.subcontract_price
    administered_until, administered_by = ct.administered_until, ct.administered_by
    administered_price = ct.administered_price
    kind, cost_factor, alive, cash, capacity = p.kind, p.cost_factor, p.alive, p.cash, p.capacity
    extraction, interest_rate, credit_limit = p.extraction, p.interest_rate, p.credit_limit
    revenue_last, cost_last, local_cost_share = p.revenue_last, p.cost_last, p.local_cost_share
    inhouse_unit, inhouse_capacity = cn.inhouse_unit, cn.inhouse_capacity
    total, budget_factor = cn.total, cn.budget_factor
    service_loss, emergency_premium = run.transition_service_loss, run.emergency_premium
    administration_cost, budget_headroom = run.administration_cost, run.budget_headroom
    subcontract_share, transition_local_share = p.subcontract_share, run.transition_local_share
    home, owners_local_share = p.home, p.owners_local_share
    handback_loss, handback_headroom = run.handback_loss, run.handback_headroom
    n_ct, n_p, n_c = holder.size, kind.size, inhouse_unit.size
    fraction = np.zeros(n_ct)
    # A contract delivers at most its staffed share (sim.core.workforce): the rest is unmet.
    unstaffed = np.zeros(n_c)
    for i in range(n_ct):
        if holder[i] >= 0 and start[i] <= t:
            fraction[i] = 1.0 - service_loss if disrupted_at[i] == t else 1.0
            if ct.vacant[i] > 0:
                short = fraction[i] * min(ct.vacant[i] / reference[i], 1.0)
                fraction[i] -= short
                unstaffed[council[i]] += reference[i] * short

    extra = np.zeros(n_c)
    used = used_capacity(holder, reference, n_p)
    if demand > 1.0:
        want = np.zeros(n_c)
        for i in range(n_ct):
            want[council[i]] += reference[i] * (demand - 1.0)
        for c in range(n_c):
            spare = max(inhouse_capacity[c] - used[inhouse_unit[c]], 0.0)
            extra[c] = min(want[c], spare)
    spot_price = np.empty(n_c)
    for c in range(n_c):
        u = inhouse_unit[c]
        spot_price[c] = cost_factor[u] * cost_level[kind[u]] * (1 + emergency_premium)

    # Contracts an administrator delivers (failure_regime "administration").
    n_admin = 0
    for i in range(n_ct):
        if administered_until[i] > t and not (holder[i] >= 0 and start[i] <= t):
            n_admin += 1
    admin = np.empty(n_admin, np.int64)
    k = 0
    for i in range(n_ct):
        if administered_until[i] > t and not (holder[i] >= 0 and start[i] <= t):
            admin[k] = i
            k += 1
    admin_by = np.empty(n_admin, np.int64)
    admin_paid = np.empty(n_admin)
    for k in range(n_admin):
        admin_by[k] = administered_by[admin[k]]
        admin_paid[k] = administered_price[admin[k]] * (1.0 + administration_cost)

    # Budgets bind (sim.core.budgets): a council over its limit buys less of everything.
    asked = np.zeros(n_c)
    for i in range(n_ct):
        asked[council[i]] += price[i] * fraction[i]
    admin_commissioned = np.zeros(n_c)
    for k in range(n_admin):
        admin_commissioned[council[admin[k]]] += admin_paid[k]
    for c in range(n_c):
        asked[c] = (asked[c] + admin_commissioned[c]) + extra[c] * spot_price[c]
    bought = rationing(asked, limits(total, budget_headroom, budget_factor))
    for i in range(n_ct):
        fraction[i] *= bought[council[i]]
    for c in range(n_c):
        extra[c] *= bought[c]
    admin_bought = np.empty(n_admin)
    for k in range(n_admin):
        admin_bought[k] = bought[council[admin[k]]]
        admin_paid[k] = admin_paid[k] * admin_bought[k]
    n_spot = 0
    for c in range(n_c):
        if extra[c] > 0:
            n_spot += 1
    spot = np.empty(n_spot, np.int64)
    spot_paid = np.empty(n_spot)
    k = 0
    for c in range(n_c):
        if extra[c] > 0:
            spot[k] = c
            spot_paid[k] = extra[c] * spot_price[c]
            k += 1

    # Idle retained in-house capacity still costs (staff kept on, not redeployed): each
    # council pays its share of the idle part's cost, whatever its budget (a standing cost).
    idle_paid = np.zeros(n_c)
    n_idle = 0
    for c in range(n_c):
        u = inhouse_unit[c]
        idle = inhouse_capacity[c] - used[u] - extra[c]
        if idle > 0:
            idle_paid[c] = idle * run.idle_capacity_cost * cost_factor[u] * cost_level[kind[u]]
        if idle_paid[c] > 0:  # counted as written: a tiny cost can round to 0
            n_idle += 1

    # The holders' legs, then the subcontractors', the spot purchases', the administrators',
    # the idle capacity's.
    m = 0
    n_sub = 0
    for i in range(n_ct):
        if fraction[i] > 0:
            m += 1
            if subcontractor[i] >= 0:
                n_sub += 1
    n_legs = m + n_sub + n_spot + n_admin + n_idle
    leg_slot = np.empty(n_legs, np.int64)
    leg_provider = np.empty(n_legs, np.int64)
    leg_council = np.empty(n_legs, np.int64)
    revenue = np.empty(n_legs)
    cost = np.empty(n_legs)
    paid = np.empty(m)
    net = np.empty(m)
    holder_cost = np.empty(m)
    slots = np.empty(m, np.int64)
    j = 0
    b = m  # next subcontractor leg
    for i in range(n_ct):
        if fraction[i] <= 0:
            continue
        h = holder[i]
        sub = subcontractor[i]
        s = subcontract_share[h] if sub >= 0 else 0.0
        pd = price[i] * fraction[i]
        work = reference[i] * fraction[i]
        unit_cost = cost_factor[h] * cost_level[kind[h]]
        hc = pd if kind[h] == INHOUSE else work * (1 - s) * unit_cost
        sub_pay = 0.0
        if sub >= 0:
            sub_pay = subcontract_price[i] * fraction[i]
            leg_slot[b] = i
            leg_provider[b] = sub
            leg_council[b] = council[i]
            revenue[b] = sub_pay
            cost[b] = work * s * (cost_factor[sub] * cost_level[kind[sub]])
            b += 1
        slots[j] = i
        paid[j] = pd
        net[j] = pd - sub_pay
        holder_cost[j] = hc
        leg_slot[j] = i
        leg_provider[j] = h
        leg_council[j] = council[i]
        revenue[j] = pd - sub_pay
        cost[j] = hc
        j += 1
    for k in range(n_spot):
        leg_slot[b] = -1
        leg_provider[b] = inhouse_unit[spot[k]]
        leg_council[b] = spot[k]
        revenue[b] = spot_paid[k]
        cost[b] = spot_paid[k]
        b += 1
    for k in range(n_admin):
        leg_slot[b] = admin[k]
        leg_provider[b] = admin_by[k]
        leg_council[b] = council[admin[k]]
        revenue[b] = admin_paid[k]
        cost[b] = admin_paid[k]
        b += 1

    for c in range(n_c):
        if idle_paid[c] > 0:
            leg_slot[b] = -1
            leg_provider[b] = inhouse_unit[c]
            leg_council[b] = c
            revenue[b] = idle_paid[c]
            cost[b] = idle_paid[c]
            b += 1

    local, leaked = local_and_leaked(
        leg_provider,
        leg_council,
        revenue,
        cost,
        home,
        extraction,
        owners_local_share,
        local_cost_share,
    )

    # Each provider's loss tolerance from its books before this quarter's (handback_tolerance).
    room = _headroom(revenue_last, capacity, cash, credit_limit)
    tolerance = handback_tolerance(room, handback_loss, handback_headroom)

    # The providers' books.
    acc_revenue = np.zeros(n_p)
    acc_cost = np.zeros(n_p)
    for g in range(n_legs):
        acc_revenue[leg_provider[g]] += revenue[g]
        acc_cost[leg_provider[g]] += cost[g]
    surplus = np.empty(n_p)
    dividends = np.empty(n_p)
    interest = np.empty(n_p)
    for q in range(n_p):
        surplus[q] = acc_revenue[q] - acc_cost[q]
        dividends[q] = extraction[q] * max(surplus[q], 0.0)
        rate = interest_rate[q] if alive[q] else 0.0
        interest[q] = rate * max(-cash[q], 0.0)
        if kind[q] != INHOUSE:
            cash[q] += surplus[q] - dividends[q] - interest[q]
        revenue_last[q] = acc_revenue[q]
        cost_last[q] = acc_cost[q]

    # Loss-making contracts build up towards a handback.
    emergency_paid = np.empty(m)
    for j in range(m):
        i = slots[j]
        h = holder[i]
        loss = (net[j] - holder_cost[j]) < -tolerance[h] * net[j]
        loss_streak[i] = loss_streak[i] + 1 if loss and kind[h] != INHOUSE else 0
        emergency_paid[j] = paid[j] * (1.0 if emergency[i] else 0.0)

    required = np.zeros(n_c)
    delivered = np.zeros(n_c)
    for i in range(n_ct):
        required[council[i]] += reference[i] * demand
        delivered[council[i]] += reference[i] * fraction[i]
    admin_delivered = np.zeros(n_c)
    for k in range(n_admin):
        admin_delivered[council[admin[k]]] += reference[admin[k]] * admin_bought[k]
    hit = pairwise_sum(disrupted_value)
    transition = np.zeros(n_c)
    if hit > 0:
        for c in range(n_c):
            transition[c] = transition_cost * disrupted_value[c] / hit
    paid_c = np.zeros(n_c)
    local_c = np.zeros(n_c)
    leaked_c = np.zeros(n_c)
    for g in range(n_legs):
        paid_c[leg_council[g]] += revenue[g]
        local_c[leg_council[g]] += local[g]
        leaked_c[leg_council[g]] += leaked[g]
    for c in range(n_c):
        delivered[c] = delivered[c] + extra[c] + admin_delivered[c]
        t_local = transition[c] * transition_local_share
        paid_c[c] += transition[c]
        local_c[c] += t_local
        leaked_c[c] += transition[c] - t_local
    premium = emergency_premium / (1 + emergency_premium)
    admin_share = administration_cost / (1 + administration_cost)
    emergency_cost = (
        pairwise_sum(emergency_paid) * premium
        + pairwise_sum(spot_paid) * premium
        + pairwise_sum(admin_paid) * admin_share
        + transition_cost
    )
    # Few, packed outputs: numba boxes each returned array at a cost (about a microsecond).
    legs = np.empty((3, n_legs), np.int64)
    legs[0], legs[1], legs[2] = leg_slot, leg_provider, leg_council
    money = np.empty((4, n_legs))
    money[0], money[1], money[2], money[3] = revenue, cost, local, leaked
    accounts = np.empty((5, n_p))
    accounts[0], accounts[1], accounts[2] = acc_revenue, acc_cost, surplus
    accounts[3], accounts[4] = dividends, interest
    councils = np.empty((9, n_c))
    councils[0], councils[1], councils[2], councils[3] = required, delivered, paid_c, local_c
    councils[4], councils[5], councils[6], councils[7] = leaked_c, transition, bought, idle_paid
    councils[8] = unstaffed
    return legs, money, accounts, councils, emergency_cost
