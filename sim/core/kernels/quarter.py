"""Compiled kernels of the quarter outside the tender round: delivery and payment, failures'
decisions, spin-outs, trust and the quarter's outcomes.

Each kernel mirrors one NumPy reference, which stays the readable definition of the mechanism
(its docstring says what the mechanism does); a kernel only does the same arithmetic in one
pass, in the same order, so both give the same numbers:

- :func:`deliver_and_pay`: :func:`sim.core.delivery.deliver_and_pay` with its legs
  (:func:`sim.core.delivery.quarter_flows`, :func:`sim.core.delivery.settle_accounts`,
  :func:`sim.core.delivery.administered_legs`, :func:`sim.core.delivery.transition_flows`,
  :func:`sim.core.delivery.handback_tolerance`) and :mod:`sim.core.budgets`.
- :func:`headroom`: :func:`sim.core.delivery.headroom`.
- :func:`refresh_inhouse_prices`, :func:`update_inhouse_capacity`: their namesakes in
  :mod:`sim.core.delivery`.
- :func:`handbacks_due`: the decision in :func:`sim.core.failure.handbacks` (with
  :func:`sim.core.failure.handback_patience`); :func:`insolvent`: :func:`sim.core.failure.insolvencies`;
  :func:`administration_left`: :func:`sim.core.failure.end_administration`.
- :func:`at_risk`: who :func:`sim.core.shocks.random_failures` draws for.
- :func:`spin_out_candidates`: which contracts :func:`sim.core.spinouts.spin_outs` draws for;
  :func:`grow_mutuals`: :func:`sim.core.spinouts.grow_mutuals`.
- :func:`trust_target`, :func:`update_trust`: :mod:`sim.core.trust`;
  :func:`value_by_council_and_kind`: :class:`sim.core.state.ContractBook`.
- :func:`quarter_metrics`: :func:`sim.core.outcomes.quarter_metrics`.

No kernel takes the model's ``numpy.random.Generator``: numba accepts one (and draws its
stream) but checks its type at every call (about 20 microseconds, more than these mechanisms
cost), so a kernel picks the rows and the mechanism draws for them as the reference does.
Totals the reference takes with ``ndarray.sum`` use :func:`pairwise_sum`, NumPy's own
summation order, and per-group totals (``np.bincount``) add in row order as NumPy does, so the
results are equal to the last bit. Python's bookkeeping (events, logs, the failures that
follow a decision) stays in the mechanisms, for the rows a kernel returns.
"""

from __future__ import annotations

import numpy as np

from sim.core.jit import kernel

INHOUSE = 2  # sim.core.state.ProviderKind.INHOUSE (an IntEnum is not a numba constant)
OUTSOURCER = 0
MUTUAL = 1
_BLOCK = 128  # NumPy's pairwise summation block


@kernel
def _block(a, lo, n):
    # One leaf of NumPy's pairwise_sum (numpy/_core/src/umath/loops_utils.h.src), term for
    # term: a plain loop under 8 terms, else 8 running sums over at most _BLOCK terms.
    if n < 8:
        res = -0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    stop = n - n % 8
    while i < stop:
        k = lo + i
        r0 += a[k]
        r1 += a[k + 1]
        r2 += a[k + 2]
        r3 += a[k + 3]
        r4 += a[k + 4]
        r5 += a[k + 5]
        r6 += a[k + 6]
        r7 += a[k + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@kernel
def pairwise_sum(a):
    """``a.sum()`` for a 1-D float64 array, in NumPy's order (so to the same last bit).

    NumPy halves a range longer than a block (rounding the half down to a multiple of 8) and
    adds the halves' sums; this walks the same tree with an explicit stack (numba's cache
    does not keep recursive functions)."""
    if a.size <= _BLOCK:
        return 0.0 + _block(a, 0, a.size)
    lo = np.empty(64, np.int64)
    size = np.empty(64, np.int64)
    phase = np.zeros(64, np.int64)
    sums = np.empty(64)
    top = 0  # frames on the stack
    done = 0  # sums on the stack
    lo[0], size[0], phase[0] = 0, a.size, 0
    top = 1
    while top > 0:
        f = top - 1
        n = size[f]
        if n <= _BLOCK:
            sums[done] = _block(a, lo[f], n)
            done += 1
            top -= 1
            continue
        half = n // 2
        half -= half % 8
        if phase[f] == 0:  # the left half first
            phase[f] = 1
            lo[top], size[top], phase[top] = lo[f], half, 0
            top += 1
        elif phase[f] == 1:  # then the right
            phase[f] = 2
            lo[top], size[top], phase[top] = lo[f] + half, n - half, 0
            top += 1
        else:  # then left + right
            sums[done - 2] = sums[done - 2] + sums[done - 1]
            done -= 1
            top -= 1
    return 0.0 + sums[0]


@kernel
def _headroom(revenue_last, capacity, cash, credit_limit):
    out = np.empty(cash.size)
    for i in range(cash.size):
        year = max(revenue_last[i], capacity[i] * 0.25) * 4
        out[i] = (cash[i] + credit_limit[i]) / max(year, 1.0)
    return out


@kernel
def headroom(revenue_last, capacity, cash, credit_limit):
    """:func:`sim.core.delivery.headroom` over the provider table's columns."""
    return _headroom(revenue_last, capacity, cash, credit_limit)


@kernel
def _clipped_ratio(room, scale, lo, hi):
    # np.clip(room / scale, lo, hi), NaN kept as NaN.
    out = np.empty(room.size)
    for q in range(room.size):
        x = room[q] / scale
        if x < lo:
            x = lo
        elif x > hi:
            x = hi
        out[q] = x
    return out


@kernel
def value_by_council_and_kind(holder, council, price, kind, n_councils):
    """:meth:`sim.core.state.ContractBook.value_by_council_and_kind`: (n_councils, 3), added in
    row order as ``np.bincount`` does."""
    out = np.zeros((n_councils, 3))
    for i in range(holder.size):
        if holder[i] >= 0:
            out[council[i], kind[holder[i]]] += price[i]
    return out


@kernel
def _used_capacity(holder, reference, n_providers):
    used = np.zeros(n_providers)
    for i in range(holder.size):
        if holder[i] >= 0:
            used[holder[i]] += reference[i]
    return used


@kernel
def deliver_and_pay(
    holder,
    reference,
    start,
    disrupted_at,
    council,
    price,
    subcontractor,
    subcontract_price,
    emergency,
    loss_streak,
    administered_until,
    administered_by,
    administered_price,
    kind,
    cost_factor,
    alive,
    cash,
    extraction,
    interest_rate,
    revenue_last,
    cost_last,
    capacity,
    credit_limit,
    local_cost_share,
    inhouse_unit,
    inhouse_capacity,
    total,
    budget_factor,
    disrupted_value,
    cost_level,
    t,
    demand,
    service_loss,
    emergency_premium,
    administration_cost,
    budget_headroom,
    subcontract_share,
    handback_loss,
    handback_headroom,
    transition_local_share,
    transition_cost,
):
    """:func:`sim.core.delivery.deliver_and_pay`: writes ``loss_streak``, ``cash``,
    ``revenue_last`` and ``cost_last`` in place and returns the flows' legs (rows slot,
    provider, council) and money (rows revenue, cost, local, leaked), the accounts (rows
    revenue, cost, surplus, dividends, interest), the councils' money (rows required,
    delivered, paid, local, leaked, transition, bought) and the emergency cost."""
    n_ct, n_p, n_c = holder.size, kind.size, inhouse_unit.size
    fraction = np.zeros(n_ct)
    for i in range(n_ct):
        if holder[i] >= 0 and start[i] <= t:
            fraction[i] = 1.0 - service_loss if disrupted_at[i] == t else 1.0

    extra = np.zeros(n_c)
    if demand > 1.0:
        want = np.zeros(n_c)
        for i in range(n_ct):
            want[council[i]] += reference[i] * (demand - 1.0)
        used = _used_capacity(holder, reference, n_p)
        for c in range(n_c):
            spare = max(inhouse_capacity[c] - used[inhouse_unit[c]], 0.0)
            extra[c] = min(want[c], spare)
    spot_price = np.empty(n_c)
    for c in range(n_c):
        u = inhouse_unit[c]
        spot_price[c] = cost_factor[u] * cost_level[kind[u]] * (1 + emergency_premium)

    # administered_legs
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

    # sim.core.budgets: spending_limit and rationing
    commissioned = np.zeros(n_c)
    for i in range(n_ct):
        commissioned[council[i]] += price[i] * fraction[i]
    admin_commissioned = np.zeros(n_c)
    for k in range(n_admin):
        admin_commissioned[council[admin[k]]] += admin_paid[k]
    bought = np.ones(n_c)
    for c in range(n_c):
        limit = total[c] * (1.0 + budget_headroom) * budget_factor[c]
        asked = (commissioned[c] + admin_commissioned[c]) + extra[c] * spot_price[c]
        if asked > limit:
            bought[c] = max(limit, 0.0) / asked
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

    # The holders' legs, then the subcontractors', the spot purchases', the administrators'.
    m = 0
    n_sub = 0
    for i in range(n_ct):
        if fraction[i] > 0:
            m += 1
            if subcontractor[i] >= 0:
                n_sub += 1
    n_legs = m + n_sub + n_spot + n_admin
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
        s = subcontract_share if sub >= 0 else 0.0
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

    # quarter_flows
    local = np.empty(n_legs)
    leaked = np.empty(n_legs)
    for g in range(n_legs):
        pr = leg_provider[g]
        share = local_cost_share[pr]
        funded = min(cost[g], revenue[g])
        kept = revenue[g] - funded
        if kind[pr] != OUTSOURCER:
            local[g] = share * funded + kept
            leaked[g] = (1.0 - share) * funded + 0.0
        else:
            local[g] = share * funded + 0.0
            leaked[g] = (1.0 - share) * funded + kept

    # Each provider's loss tolerance from its books before this quarter's (handback_tolerance).
    tolerance = np.full(n_p, handback_loss)
    if handback_headroom > 0:
        room = _headroom(revenue_last, capacity, cash, credit_limit)
        tolerance = handback_loss * _clipped_ratio(room, handback_headroom, 0.0, 2.0)

    # settle_accounts
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
    councils = np.empty((7, n_c))
    councils[0], councils[1], councils[2], councils[3] = required, delivered, paid_c, local_c
    councils[4], councils[5], councils[6] = leaked_c, transition, bought
    return legs, money, accounts, councils, emergency_cost


@kernel
def refresh_inhouse_prices(holder, reference, emergency, price, kind, cost_factor, cost_level, ep):
    """:func:`sim.core.delivery.refresh_inhouse_prices`: writes ``price`` in place."""
    for i in range(holder.size):
        h = holder[i]
        if h >= 0 and kind[h] == INHOUSE:
            premium = 1.0 + ep if emergency[i] else 1.0
            price[i] = reference[i] * (cost_factor[h] * cost_level[kind[h]]) * premium


@kernel
def update_inhouse_capacity(holder, reference, inhouse_unit, total, capacity, retained_share):
    """:func:`sim.core.delivery.update_inhouse_capacity`: writes the units' rows of ``capacity``
    in place and returns the councils' in-house capacity."""
    used = _used_capacity(holder, reference, capacity.size)
    out = np.empty(inhouse_unit.size)
    for c in range(inhouse_unit.size):
        out[c] = max(used[inhouse_unit[c]], retained_share * total[c])
        capacity[inhouse_unit[c]] = out[c]
    return out


@kernel
def handbacks_due(
    holder,
    loss_streak,
    revenue_last,
    capacity,
    cash,
    credit_limit,
    handback_quarters,
    handback_headroom,
):
    """The slots :func:`sim.core.failure.handbacks` hands back now (holders' patience from
    :func:`sim.core.failure.handback_patience` on their headroom)."""
    patience = np.full(cash.size, handback_quarters, np.int64)
    if handback_headroom > 0:
        room = _headroom(revenue_last, capacity, cash, credit_limit)
        scale = _clipped_ratio(room, handback_headroom, 0.5, 1.5)
        for q in range(cash.size):
            patience[q] = max(np.rint(handback_quarters * scale[q]), 1.0)
    n = 0
    for i in range(holder.size):
        if holder[i] >= 0 and loss_streak[i] >= patience[holder[i]]:
            n += 1
    back = np.empty(n, np.int64)
    k = 0
    for i in range(holder.size):
        if holder[i] >= 0 and loss_streak[i] >= patience[holder[i]]:
            back[k] = i
            k += 1
    return back


@kernel
def insolvent(alive, kind, cash, credit_limit):
    """The trading providers :func:`sim.core.failure.insolvencies` fails (cash below credit)."""
    out = np.empty(alive.size, np.int64)
    n = 0
    for q in range(alive.size):
        if alive[q] and kind[q] != INHOUSE and cash[q] < -credit_limit[q]:
            out[n] = q
            n += 1
    return out[:n].copy()


@kernel
def administration_left(administered_until, holder, t):
    """The slots :func:`sim.core.failure.end_administration` disrupts (administration ends now,
    no new holder)."""
    out = np.empty(holder.size, np.int64)
    n = 0
    for i in range(holder.size):
        if administered_until[i] == t and holder[i] < 0:
            out[n] = i
            n += 1
    return out[:n].copy()


@kernel
def at_risk(alive, hazard):
    """The providers :func:`sim.core.shocks.random_failures` draws for (live, with a hazard)."""
    out = np.empty(alive.size, np.int64)
    n = 0
    for q in range(alive.size):
        if alive[q] and hazard[q] > 0:
            out[n] = q
            n += 1
    return out[:n].copy()


@kernel
def spin_out_candidates(holder, emergency, kind):
    """The slots :func:`sim.core.spinouts.spin_outs` draws for (in-house, not emergencies)."""
    out = np.empty(holder.size, np.int64)
    n = 0
    for i in range(holder.size):
        h = holder[i]
        if h >= 0 and kind[h] == INHOUSE and not emergency[i]:
            out[n] = i
            n += 1
    return out[:n].copy()


@kernel
def grow_mutuals(holder, reference, kind, alive, capacity, growth_rate):
    """:func:`sim.core.spinouts.grow_mutuals`: writes ``capacity`` in place."""
    used = _used_capacity(holder, reference, capacity.size)
    for q in range(capacity.size):
        if kind[q] == MUTUAL and alive[q] and used[q] > 0.8 * capacity[q]:
            capacity[q] *= 1.0 + growth_rate


@kernel
def trust_target(required, delivered, paid, local, value_by_kind, wc, wl, wo):
    """:func:`sim.core.trust.trust_target` from the money's columns."""
    n = required.size
    out = np.empty(n)
    w = wc + wl + wo
    for c in range(n):
        continuity = delivered[c] / required[c] if required[c] > 0 else 1.0
        share = local[c] / paid[c] if paid[c] > 0 else 0.0
        total = value_by_kind[c, 0] + value_by_kind[c, 1] + value_by_kind[c, 2]
        owned = value_by_kind[c, MUTUAL] + value_by_kind[c, INHOUSE]
        ownership = owned / total if total > 0 else 0.0
        out[c] = (wc * continuity + wl * share + wo * ownership) / w
    return out


@kernel
def update_trust(trust, target, disrupted_value, council_total, adjustment, penalty):
    """:func:`sim.core.trust.update_trust`."""
    out = np.empty(trust.size)
    for c in range(trust.size):
        hit = disrupted_value[c] / council_total[c] if council_total[c] != 0 else np.nan
        if council_total[c] == 0 and disrupted_value[c] != 0:
            hit = np.inf if disrupted_value[c] > 0 else -np.inf
        moved = trust[c] + adjustment * (target[c] - trust[c]) - penalty * hit
        if moved < 0.0:
            moved = 0.0
        elif moved > 1.0:
            moved = 1.0
        out[c] = moved
    return out


@kernel
def quarter_metrics(
    holder,
    price,
    kind,
    social_value_score,
    alive,
    markup,
    failed_at,
    required,
    delivered,
    paid,
    local,
    leaked,
    trust,
    quarter,
):
    """The arithmetic of :func:`sim.core.outcomes.quarter_metrics`: value by provider type, HHI,
    social value, live providers, money totals, mean trust and outsourcer mark-up, failures
    by type."""
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
