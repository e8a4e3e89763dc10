"""Compiled tender round: the kernels behind :func:`sim.tendering.tender` and
:func:`sim.tendering.tender_due` (see :mod:`sim.jit`).

The NumPy functions of :mod:`sim.tendering` are the reference; the kernels here give the same
numbers. They draw from the model's ``numpy.random.Generator`` in the reference's order:

- :func:`_due_draws` mirrors the top of :func:`sim.tendering.tender_due` (the market-test
  draws and the renewed in-house terms);
- :func:`_bids` mirrors :func:`sim.tendering.passes_financial_check`,
  :func:`sim.tendering.bidders` and the estimate-error draws of :func:`sim.tendering.tender`;
- :func:`_finish` mirrors the rest of :func:`sim.tendering.tender`:
  :func:`~sim.tendering.bid_prices`, the price cap and handback bar,
  :func:`~sim.tendering.score_bids` (with the in-house column), :func:`~sim.tendering.award`,
  :func:`~sim.tendering.contract_terms`, the placement of winners, extension of incumbents and
  gaps, :func:`~sim.tendering.choose_subcontractors` and :func:`~sim.tendering.adapt_markups`.

A round is two kernel calls with ``numpy.exp`` of the estimate errors between them: numba's
``exp`` (the C library's) differs from NumPy's vectorised one in the last bit for some inputs,
and the prices must be the same to the bit.

Bids are stored by cell: row ``i`` (a contract on offer) has cells ``ptr[i]:ptr[i + 1]``, one
per outside provider that may bid (``prov``), in provider order; each row also has its own
council's in-house unit, a column after the cells when in-house units bid.
"""

from __future__ import annotations

import numpy as np

from sim import jit
from sim.state import QUARTERS_PER_YEAR, Market, Params, ProviderKind

_OUTSOURCER = int(ProviderKind.OUTSOURCER)
_MUTUAL = int(ProviderKind.MUTUAL)
_INHOUSE = int(ProviderKind.INHOUSE)


@jit.kernel
def _near(indptr, indices, a, b):
    """Whether area ``a`` is near area ``b`` (binary search in ``a``'s sorted row)."""
    lo, hi = indptr[a], indptr[a + 1]
    while lo < hi:
        mid = (lo + hi) // 2
        v = indices[mid]
        if v < b:
            lo = mid + 1
        elif v > b:
            hi = mid
        else:
            return True
    return False


@jit.kernel
def _due_draws(
    rng,
    t,
    ct_n,
    end,
    holder,
    emergency,
    start,
    administered_until,
    kind,
    rate,
    years_min,
    years_max,
    mobilisation,
):
    """Top of ``tender_due``: renew in-house services not market-tested, return the slots
    offered and how long each waits (mobilisation under an administrator)."""
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
        inhouse = holder[s] >= 0 and kind[holder[s]] == _INHOUSE
        draw = rng.random()  # drawn for every due slot, as the reference
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


@jit.kernel
def _bids(rng, slots, council, p_n, kind, home, alive, seen, threshold, bid_error, indptr, indices):
    """Who bids for what and each bid's estimate error: (ptr, prov, error, excluded)."""
    passed = np.ones(p_n, np.bool_)
    excluded = 0
    n_cols = 0
    for k in range(p_n):
        if k < seen.size:
            passed[k] = seen[k] >= threshold
        if alive[k] and kind[k] != _INHOUSE:
            if passed[k]:
                n_cols += 1
            else:
                excluded += 1
    cols = np.empty(n_cols, np.int64)
    j = 0
    for k in range(p_n):
        if alive[k] and kind[k] != _INHOUSE and passed[k]:
            cols[j] = k
            j += 1
    n = slots.size
    ptr = np.arange(n + 1) * n_cols
    prov = np.empty(n * n_cols, np.int64)
    error = np.empty(n * n_cols)
    for i in range(n):
        for j in range(n_cols):
            prov[i * n_cols + j] = cols[j]
            error[i * n_cols + j] = rng.normal(0.0, bid_error)
    return ptr, prov, error, excluded


@jit.kernel
def _finish(
    rng,
    slots,
    begin,
    t,
    growth,
    ptr,
    prov,
    ct_n,
    council,
    reference,
    holder,
    price,
    start,
    end,
    emergency,
    loss_streak,
    subcontractor,
    subcontract_price,
    barred,
    barred_until,
    p_n,
    kind,
    home,
    alive,
    capacity,
    cost_factor,
    markup,
    markup_min,
    markup_max,
    markup_step,
    quality,
    sv_score,
    revenue_last,
    cost_last,
    cost_level,
    indptr,
    indices,
    inhouse_unit,
    budget_factor,
    inhouse_bids,
    price_cap,
    w_price,
    w_quality,
    w_sv,
    w_local,
    years_min,
    years_max,
    share,
):
    """Price, score and award the round, place the winners, choose subcontractors and adapt
    mark-ups; returns the gaps. ``growth`` is ``exp`` of each cell's estimate error."""
    n = slots.size
    n_cells = prov.size
    # Spare capacity, with the contracts on offer freed (summed in the reference's order).
    spare = np.zeros(p_n)
    for s in range(ct_n):
        if holder[s] >= 0:
            spare[holder[s]] += reference[s]
    for k in range(p_n):
        spare[k] = capacity[k] - spare[k]
    incumbent = np.empty(n, np.int64)
    for i in range(n):
        incumbent[i] = holder[slots[i]]
        if incumbent[i] >= 0:
            spare[incumbent[i]] += reference[slots[i]]
    ih_quality = quality[inhouse_unit[council[slots[0]]]]
    ih_sv = sv_score[inhouse_unit[council[slots[0]]]]

    bid = np.empty(n_cells)
    ok = np.zeros(n_cells, np.bool_)
    score = np.full(n_cells, -np.inf)
    ih_bid = np.empty(n)
    ih_ok = np.zeros(n, np.bool_)
    ih_score = np.full(n, -np.inf)
    for i in range(n):
        s = slots[i]
        c = council[s]
        size = reference[s]
        cap = price_cap * size * budget_factor[c]
        bar = barred[s] if barred_until[s] > t else -2
        lowest = np.inf
        for q in range(ptr[i], ptr[i + 1]):
            k = prov[q]
            national = home[k] < 0
            reach = national or _near(indptr, indices, c, home[k])
            uc = cost_factor[k] * cost_level[kind[k]]
            bid[q] = size * uc * growth[q] * (1.0 + markup[k])
            ok[q] = reach and bid[q] <= cap and k != bar
            if ok[q] and bid[q] < lowest:
                lowest = bid[q]
        if inhouse_bids:
            u = inhouse_unit[c]
            ih_bid[i] = size * (cost_factor[u] * cost_level[kind[u]])
            ih_ok[i] = ih_bid[i] <= cap
            if ih_ok[i] and ih_bid[i] < lowest:
                lowest = ih_bid[i]
            if ih_ok[i]:
                ih_score[i] = (
                    w_price * (lowest / ih_bid[i]) + w_quality * ih_quality + w_sv * ih_sv
                ) + w_local * 1.0
        for q in range(ptr[i], ptr[i + 1]):
            if ok[q]:
                k = prov[q]
                local = 1.0 if home[k] >= 0 and _near(indptr, indices, c, home[k]) else 0.0
                score[q] = (
                    w_price * (lowest / bid[q]) + w_quality * quality[k] + w_sv * sv_score[k]
                ) + w_local * local

    # Award in a seeded order: the best score with room (ties to the earlier column).
    win = np.full(n, -1, np.int64)  # provider
    win_price = np.zeros(n)
    won_cell = np.full(n, -1, np.int64)
    order = rng.permutation(n)
    for i in order:
        size = reference[slots[i]]
        best = -np.inf
        pick = -1
        for q in range(ptr[i], ptr[i + 1]):
            if ok[q] and score[q] > best and spare[prov[q]] >= size:
                best = score[q]
                pick = q
        u = inhouse_unit[council[slots[i]]]
        if inhouse_bids and ih_ok[i] and ih_score[i] > best and spare[u] >= size:
            spare[u] -= size
            win[i] = u
            win_price[i] = ih_bid[i]
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
            holder[s] = win[i]
            price[s] = win_price[i]
            start[s] = begin[i]
            end[s] = begin[i] + term[i]
            emergency[s] = False
            loss_streak[s] = 0
            subcontractor[s] = -1
            subcontract_price[s] = 0.0
        elif incumbent[i] >= 0 and alive[incumbent[i]]:
            end[s] = t + QUARTERS_PER_YEAR
        else:
            gaps[n_gaps] = s
            n_gaps += 1

    # choose_subcontractors: a random near live mutual for each new outsourcer contract.
    if share > 0:
        n_sub = 0
        for i in range(n):
            if win[i] >= 0 and kind[win[i]] == _OUTSOURCER:
                n_sub += 1
        n_mut = 0
        for k in range(p_n):
            if alive[k] and kind[k] == _MUTUAL:
                n_mut += 1
        if n_sub > 0 and n_mut > 0:
            mutuals = np.empty(n_mut, np.int64)
            j = 0
            for k in range(p_n):
                if alive[k] and kind[k] == _MUTUAL:
                    mutuals[j] = k
                    j += 1
            for i in range(n):
                if win[i] < 0 or kind[win[i]] != _OUTSOURCER:
                    continue
                s = slots[i]
                best = -1.0
                pick = -1
                for j in range(n_mut):
                    r = rng.random()
                    if _near(indptr, indices, council[s], home[mutuals[j]]) and r > best:
                        best = r
                        pick = mutuals[j]
                if pick >= 0:
                    own = cost_factor[pick] * cost_level[kind[pick]] * (1.0 + markup[pick])
                    subcontractor[s] = pick
                    subcontract_price[s] = reference[s] * share * own

    # adapt_markups: net wins over the round's bids, a step per net tender.
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
            v = max(v, markup_min[k])
            markup[k] = min(v, markup_max[k])
    return gaps[:n_gaps].copy()


def tender_due(market: Market, params: Params, rng: np.random.Generator) -> np.ndarray:
    """Compiled :func:`sim.tendering.tender_due` (same arguments, same result)."""
    ct, p, c = market.contracts, market.providers, params.councils
    t = market.quarter
    offered, wait = _due_draws(
        rng, t, ct.n, ct.end, ct.holder, ct.emergency, ct.start, ct.administered_until,
        p.kind, c.market_test_rate, c.contract_years_min, c.contract_years_max,
        params.commissioning.mobilisation_quarters,
    )  # fmt: skip
    if offered.size == 0:
        return offered
    return tender_round(market, offered, params, rng, True, t + wait)


def tender_round(
    market: Market,
    slots: np.ndarray,
    params: Params,
    rng: np.random.Generator,
    allow_inhouse: bool,
    begin: np.ndarray,
) -> np.ndarray:
    """Compiled :func:`sim.tendering.tender` over ``slots`` (non-empty), winners starting in
    ``begin`` (one quarter per slot); returns the gaps."""
    slots = np.asarray(slots, dtype=np.int64)
    begin = np.asarray(begin, dtype=np.int64)
    ct, p, cn = market.contracts, market.providers, market.councils
    c = params.councils
    near = cn.near
    log = market.health_log
    seen = np.asarray(log[max(len(log) - 1 - c.report_lag_quarters, 0)], dtype=float)
    ptr, prov, error, excluded = _bids(
        rng, slots, ct.council, p.n, p.kind, p.home, p.alive, seen,
        float(c.due_diligence_threshold), float(params.commissioning.bid_error),
        near.indptr, near.indices,
    )  # fmt: skip
    market.ledger.bidders_excluded += int(excluded)
    from sim.tendering import effective_weights

    w = effective_weights(params.commissioning)
    return _finish(
        rng, slots, begin, market.quarter, np.exp(error), ptr, prov,
        ct.n, ct.council, ct.reference, ct.holder, ct.price, ct.start, ct.end, ct.emergency,
        ct.loss_streak, ct.subcontractor, ct.subcontract_price, ct.barred, ct.barred_until,
        p.n, p.kind, p.home, p.alive, p.capacity, p.cost_factor, p.markup, p.markup_min,
        p.markup_max, p.markup_step, p.quality, p.social_value_score, p.revenue_last,
        p.cost_last, market.cost_level, near.indptr, near.indices, cn.inhouse_unit,
        cn.budget_factor, bool(allow_inhouse and c.inhouse_bids), float(c.price_cap),
        float(w["price"]), float(w["quality"]), float(w["social_value"]), float(w["local"]),
        int(c.contract_years_min), int(c.contract_years_max),
        float(params.outsourcers.subcontract_share),
    )  # fmt: skip
