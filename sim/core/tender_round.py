"""The tender round: who bids, what they bid, scores, awards, terms and what bidders learn.

A round takes every contract being tendered this quarter (rows) and the providers that may bid
for each (:mod:`sim.core.bidders`); bids are priced and scored (:mod:`sim.core.tendering`),
then awarded one contract at a time in a seeded order because each award uses up the winner's
capacity. The arithmetic is compiled (:mod:`sim.core.jit`).

The round draws from the model's generator in a fixed order: the market-test draws, one
estimate error per bid (row by row, in provider order), the award order, the contract terms,
then one draw per subcontracted contract. ``numpy.exp`` of the estimate errors is taken
between two kernel calls: numba's ``exp`` (the C library's) differs from NumPy's in the last
bit for some inputs.
"""

from __future__ import annotations

import numpy as np
from numba.np.random.random_methods import random_interval

from sim.core.bidders import (
    accounts_seen,
    bids,
    by_home,
    near_count,
    near_fill,
    sort_range,
    spare_capacity,
)
from sim.core.jit import kernel
from sim.core.learning import weighed_price
from sim.core.numeric import INHOUSE
from sim.core.run_params import run_params
from sim.core.state import QUARTERS_PER_YEAR, Market, Params

__all__ = ["place", "tender", "tender_due"]


def tender(
    market: Market,
    slots: np.ndarray,
    params: Params,
    rng: np.random.Generator,
    *,
    allow_inhouse: bool,
    start_after: int | np.ndarray = 0,
) -> np.ndarray:
    """Run one tender round over contract ``slots``: bid, score, award, choose
    subcontractors, adapt mark-ups. Returns the slots no one took and no incumbent holds on
    (gaps, for :func:`sim.core.failure.leave_gaps`). Winners start delivering ``start_after``
    quarters from now (per slot or one for all; 0: at once; a contract an administrator
    delivers is let to start after mobilisation).

    The columns are the trading firms that may bid, plus (when councils let their own units
    bid) one column for each council's own in-house unit, which bids at cost (plus
    ``inhouse_rebuild_cost`` when it has no room and must rebuild) and is always local. A
    council weighs a firm's price with the failure risk it remembers
    (:mod:`sim.core.learning`); a bid above the council's price cap is not eligible. A
    contract handed back with notice is not extended to its holder: no winner is a gap.
    """
    if slots.size == 0:
        return slots
    begin = market.quarter + np.broadcast_to(start_after, slots.shape)
    return _round(market, slots, params, rng, allow_inhouse, begin)


def tender_due(market: Market, params: Params, rng: np.random.Generator) -> np.ndarray:
    """Tender every contract that ends now; an in-house service is renewed without tender
    unless it is market-tested (or was an emergency). Returns the slots left in a gap."""
    t = market.quarter
    ct, p, cn = market.contracts.columns(), market.providers.columns(), market.councils.columns()
    seen = accounts_seen(market.health_log, params.councils.report_lag_quarters)
    offered, wait, *bids_made = _due_then_bids(rng, t, ct, p, cn, seen, run_params(params))
    if offered.size == 0:
        return offered
    return _round(market, offered, params, rng, True, t + wait, tuple(bids_made))


def _round(
    market: Market,
    slots: np.ndarray,
    params: Params,
    rng: np.random.Generator,
    allow_inhouse: bool,
    begin: np.ndarray,
    bids_made: tuple | None = None,
) -> np.ndarray:
    """:func:`tender` over ``slots`` (non-empty), winners starting in
    ``begin`` (one quarter per slot); returns the gaps. ``bids_made`` is what
    :func:`sim.core.bidders.bids` gave for these slots, if it ran already."""
    slots = np.asarray(slots, dtype=np.int64)
    ct, p, cn = market.contracts.columns(), market.providers.columns(), market.councils.columns()
    run = run_params(params)
    if bids_made is None:
        seen = accounts_seen(market.health_log, params.councils.report_lag_quarters)
        bids_made = bids(rng, slots, ct, p, cn, seen, run)
    ptr, prov, error, excluded = bids_made
    market.ledger.bidders_excluded += int(excluded)
    # NumPy's exp, not numba's: they differ in the last bit for some inputs.
    cells = (ptr, prov, np.exp(error))
    inhouse_bids = bool(allow_inhouse and params.councils.inhouse_bids)
    begin = np.asarray(begin, dtype=np.int64)
    at = (market.quarter, market.cost_level)
    return _finish(rng, slots, begin, cells, at, ct, p, cn, inhouse_bids, run)


@kernel
def _due_draws(rng, t, ct, p, run):
    """Top of ``tender_due``: renew in-house services not market-tested, return the slots
    offered and how long each waits (mobilisation under an administrator)."""
    end, holder, emergency, start = ct.end, ct.holder, ct.emergency, ct.start
    administered_until, kind, ct_n = ct.administered_until, p.kind, ct.holder.size
    rate, mobilisation = run.market_test_rate, run.mobilisation_quarters
    years_min, years_max = run.contract_years_min, run.contract_years_max
    n_due = 0
    for s in range(ct_n):
        if end[s] <= t:
            n_due += 1
    due = np.empty(n_due, np.int64)
    k = 0
    for s in range(ct_n):
        if end[s] <= t:
            due[k] = s
            k += 1
    if n_due == 0:
        return due, due
    keep = np.zeros(n_due, np.bool_)
    for k in range(n_due):
        s = due[k]
        inhouse = holder[s] >= 0 and kind[holder[s]] == INHOUSE
        draw = rng.random()  # drawn for every due slot, kept or not
        keep[k] = inhouse and not emergency[s] and draw >= rate
    for k in range(n_due):
        if keep[k]:
            end[due[k]] = t + QUARTERS_PER_YEAR * rng.integers(years_min, years_max + 1)
    offered = due[~keep]
    wait = np.zeros(offered.size, np.int64)
    for k in range(offered.size):
        s = offered[k]
        taken = holder[s] >= 0 and start[s] <= t
        if administered_until[s] > t and not taken:
            wait[k] = mobilisation
    return offered, wait


@kernel
def _due_then_bids(rng, t, ct, p, cn, seen, run):
    """:func:`_due_draws` then, if any slot is offered, :func:`sim.core.bidders.bids` for them:
    one call, as passing the generator to a kernel costs more than the rest of the call."""
    offered, wait = _due_draws(rng, t, ct, p, run)
    if offered.size == 0:
        return offered, wait, np.zeros(1, np.int64), offered, np.zeros(0), 0
    ptr, prov, error, excluded = bids(rng, offered, ct, p, cn, seen, run)
    return offered, wait, ptr, prov, error, excluded


@kernel
def _permutation(rng, n):
    """The same draws and result as ``rng.permutation(n)``: NumPy's Fisher-Yates shuffle of
    ``arange(n)``, written out because numba's own (for arrays of any shape) takes seconds to
    compile."""
    out = np.arange(n)
    for i in range(n - 1, 0, -1):
        j = np.int64(random_interval(rng.bit_generator, i))  # exact: j <= i < 2**53
        out[i], out[j] = out[j], out[i]
    return out


@kernel
def _finish(rng, slots, begin, cells, at, ct, p, cn, inhouse_bids, run):
    """Price, score and award the round, place the winners, choose subcontractors and adapt
    mark-ups; returns the gaps. ``cells``: each row's bidders (ptr, prov) and ``exp`` of each
    cell's estimate error; ``at``: (quarter, cost level of each provider type); ``ct``, ``p``,
    ``cn``: the contracts', providers' and councils' columns; ``run``: the run's parameters."""
    ptr, prov, growth = cells
    t, cost_level = at
    ct_n, p_n = ct.holder.size, p.kind.size
    council, reference, holder, price = ct.council, ct.reference, ct.holder, ct.price
    end, subcontractor, subcontract_price = ct.end, ct.subcontractor, ct.subcontract_price
    barred, barred_until = ct.barred, ct.barred_until
    kind, home, alive, capacity, cost_factor = p.kind, p.home, p.alive, p.capacity, p.cost_factor
    markup, markup_min, markup_max = p.markup, p.markup_min, p.markup_max
    markup_step, quality, sv_score = p.markup_step, p.quality, p.social_value_score
    revenue_last, cost_last = p.revenue_last, p.cost_last
    indptr, indices = cn.near_indptr, cn.near_indices
    inhouse_unit, budget_factor, failure_risk = cn.inhouse_unit, cn.budget_factor, cn.failure_risk
    total = cn.total
    target_margin, margin_gap = p.target_margin, p.margin_gap
    price_cap, subcontract_share, takes = run.price_cap, p.subcontract_share, p.takes_subcontracts
    years_min, years_max = run.contract_years_min, run.contract_years_max
    w_price, w_quality = run.weight_price, run.weight_quality
    w_sv, w_local = run.weight_social_value, run.weight_local
    n = slots.size
    n_cells = prov.size
    # Spare capacity, with the contracts on offer freed.
    spare = spare_capacity(ct_n, holder, reference, p_n, capacity)
    incumbent = np.empty(n, np.int64)
    for i in range(n):
        incumbent[i] = holder[slots[i]]
        if incumbent[i] >= 0:
            spare[incumbent[i]] += reference[slots[i]]
    # What each bidder already holds at the council, for a council that weighs exposure.
    aversion, concentration = run.failure_aversion, run.concentration_aversion
    # (by_home groups any rows by an area column: here contracts by council)
    by_council, council_start = by_home(ct_n, council, np.ones(ct_n, np.bool_), total.size)
    on_offer = np.zeros(ct_n, np.bool_)
    for i in range(n):
        on_offer[slots[i]] = True
    held = np.zeros(p_n)
    ih_quality = quality[inhouse_unit[council[slots[0]]]]
    ih_sv = sv_score[inhouse_unit[council[slots[0]]]]

    bid = np.empty(n_cells)
    weighed = np.empty(n_cells)
    ok = np.zeros(n_cells, np.bool_)
    score = np.full(n_cells, -np.inf)
    ih_bid = np.empty(n)
    ih_ok = np.zeros(n, np.bool_)
    ih_score = np.full(n, -np.inf)
    cheapest = np.full(n, np.inf)
    rebuilt = np.zeros(n, np.bool_)
    for i in range(n):
        s = slots[i]
        c = council[s]
        size = reference[s]
        cap = price_cap * size * budget_factor[c]
        bar = barred[s] if barred_until[s] > t else -2
        exposed = aversion * failure_risk[c] * concentration > 0 and total[c] > 0
        if exposed:
            for j in by_council[council_start[c] : council_start[c + 1]]:
                if holder[j] >= 0 and not on_offer[j]:
                    held[holder[j]] += reference[j]
        lowest = np.inf
        for q in range(ptr[i], ptr[i + 1]):
            k = prov[q]
            uc = cost_factor[k] * cost_level[kind[k]]
            bid[q] = size * uc * growth[q] * (1.0 + markup[k])
            ok[q] = bid[q] <= cap and k != bar
            # The firm's price as the council weighs it: the failure risk it remembers on top.
            share = (held[k] + size) / total[c] if exposed else 0.0
            weighed[q] = weighed_price(bid[q], aversion, failure_risk[c], concentration, share)
            if ok[q]:
                cheapest[i] = min(cheapest[i], bid[q])
                lowest = min(lowest, weighed[q])
        if exposed:
            for j in by_council[council_start[c] : council_start[c + 1]]:
                if holder[j] >= 0:
                    held[holder[j]] = 0.0
        if inhouse_bids:
            u = inhouse_unit[c]
            ih_bid[i] = size * (cost_factor[u] * cost_level[kind[u]])
            rebuilt[i] = spare[u] < size  # no room: the unit must rebuild to take it
            if rebuilt[i]:
                ih_bid[i] *= 1.0 + run.inhouse_rebuild_cost
            ih_ok[i] = ih_bid[i] <= cap
            if ih_ok[i]:
                cheapest[i] = min(cheapest[i], ih_bid[i])
                lowest = min(lowest, ih_bid[i])
                ih_score[i] = (
                    w_price * (lowest / ih_bid[i]) + w_quality * ih_quality + w_sv * ih_sv
                ) + w_local * 1.0
        for q in range(ptr[i], ptr[i + 1]):
            if ok[q]:
                k = prov[q]
                local = 1.0 if home[k] >= 0 else 0.0  # a cell based somewhere is near
                score[q] = (
                    w_price * (lowest / weighed[q]) + w_quality * quality[k] + w_sv * sv_score[k]
                ) + w_local * local

    # Award in a seeded order: the best score with room (ties to the earlier column).
    win = np.full(n, -1, np.int64)  # provider
    win_price = np.zeros(n)
    won_cell = np.full(n, -1, np.int64)
    order = _permutation(rng, n)
    for i in order:
        size = reference[slots[i]]
        best = -np.inf
        pick = -1
        for q in range(ptr[i], ptr[i + 1]):
            if ok[q] and score[q] > best and spare[prov[q]] >= size:
                best = score[q]
                pick = q
        u = inhouse_unit[council[slots[i]]]
        if inhouse_bids and ih_ok[i] and ih_score[i] > best:  # room, or it rebuilds
            win[i] = u
            win_price[i] = ih_bid[i]
            if spare[u] < size and not rebuilt[i]:  # its room went to an earlier award
                win_price[i] *= 1.0 + run.inhouse_rebuild_cost
            spare[u] -= size
        elif pick >= 0:
            spare[prov[pick]] -= size
            win[i] = prov[pick]
            win_price[i] = bid[pick]
            won_cell[i] = pick

    gaps = np.empty(n, np.int64)
    n_gaps = 0
    term = np.empty(n, np.int64)
    for i in range(n):
        term[i] = QUARTERS_PER_YEAR * rng.integers(years_min, years_max + 1)
    for i in range(n):
        s = slots[i]
        if win[i] >= 0:
            w = win[i]
            uc = cost_factor[w] * cost_level[kind[w]]
            place(s, w, win_price[i], uc, begin[i], begin[i] + term[i], False, ct)
            ct.premium[s] = max(win_price[i] - cheapest[i], 0.0)
        elif incumbent[i] >= 0 and alive[incumbent[i]] and not ct.notice[s]:
            end[s] = t + QUARTERS_PER_YEAR
        else:
            gaps[n_gaps] = s
            n_gaps += 1

    # choose_subcontractors: a winner that subcontracts part of its contracts (its
    # subcontract_share) gives it to a live provider based in or next to the council that
    # takes subcontracts: one draw picks among them evenly, in provider order.
    n_sub = 0
    for i in range(n):
        if win[i] >= 0 and subcontract_share[win[i]] > 0:
            n_sub += 1
    if n_sub > 0:
        live = np.zeros(p_n, np.bool_)
        for k in range(p_n):
            live[k] = alive[k] and takes[k]
        rows, start = by_home(p_n, home, live, indptr.size - 1)
        buf = np.empty(rows.size, np.int64)
        for i in range(n):
            if win[i] < 0 or subcontract_share[win[i]] <= 0:
                continue
            s = slots[i]
            count = near_count(council[s], indptr, indices, start)
            if count == 0:
                continue
            k = min(np.floor(rng.random() * count), count - 1)
            near_fill(council[s], indptr, indices, rows, start, buf, 0)
            sort_range(buf, 0, count)
            pick = buf[int(k)]
            if pick == win[i]:
                continue  # a firm does not subcontract to itself
            own = cost_factor[pick] * cost_level[kind[pick]] * (1.0 + markup[pick])
            subcontractor[s] = pick
            subcontract_price[s] = min(reference[s] * subcontract_share[win[i]] * own, price[s])

    # adapt_markups: net wins over the round's bids, a step per net tender; never below the
    # margin the firm needs plus what its books show bidding loses (sim.core.learning).
    bids = np.zeros(p_n, np.int64)
    wins = np.zeros(p_n, np.int64)
    for q in range(n_cells):
        if ok[q]:
            bids[prov[q]] += 1
    for i in range(n):
        if won_cell[i] >= 0:
            wins[prov[won_cell[i]]] += 1
    for k in range(p_n):
        if bids[k] > 0:
            net = (2 * wins[k] - bids[k]) / bids[k]
            if revenue_last[k] < cost_last[k]:
                net += 1.0
            v = markup[k] + net * markup_step[k]
            v = max(v, markup_min[k], target_margin[k] + max(margin_gap[k], 0.0))
            markup[k] = min(v, markup_max[k])
    return gaps[:n_gaps].copy()


@kernel(inline=True)
def place(s, provider, at_price, unit_cost, begin, until, is_emergency, ct):
    """Give contract ``s`` to ``provider`` on these terms (:meth:`sim.core.state.ContractBook.place`
    on the book's columns, for the kernels)."""
    ct.holder[s] = provider
    ct.price[s] = at_price
    ct.award_price[s] = at_price
    ct.award_cost[s] = unit_cost
    ct.start[s] = begin
    ct.end[s] = until
    ct.emergency[s] = is_emergency
    ct.loss_streak[s] = 0
    ct.subcontractor[s] = -1
    ct.subcontract_price[s] = 0.0
    ct.premium[s] = 0.0
    ct.notice[s] = False
