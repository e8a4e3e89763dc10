"""Compiled tender round and emergency award: the kernels behind
:func:`sim.core.tendering.tender`, :func:`sim.core.tendering.tender_due` and
:func:`sim.core.failure.emergency_awards` (see :mod:`sim.core.jit`).

The NumPy functions are the reference; the kernels here give the same numbers. They draw
from the model's ``numpy.random.Generator`` in the reference's order:

- :func:`_due_draws` mirrors the top of :func:`sim.core.tendering.tender_due` (the market-test
  draws and the renewed in-house terms);
- :func:`_bids` mirrors :func:`sim.core.tendering.passes_financial_check`,
  :func:`sim.core.tendering.bidders` and the estimate-error draws of :func:`sim.core.tendering.tender`
  (one per contract and able bidder, row by row in provider order);
- :func:`_finish` mirrors the rest of :func:`sim.core.tendering.tender`:
  :func:`~sim.core.tendering.bid_prices`, the price cap and handback bar,
  :func:`~sim.core.tendering.score_bids` (with the in-house column), :func:`~sim.core.tendering.award`,
  :func:`~sim.core.tendering.contract_terms`, the placement of winners, extension of incumbents and
  gaps, :func:`~sim.core.tendering.choose_subcontractors` and :func:`~sim.core.tendering.adapt_markups`;
- :func:`_emergency` mirrors :func:`sim.core.failure.emergency_awards`.

A round is two kernel calls with ``numpy.exp`` of the estimate errors between them: numba's
``exp`` (the C library's) differs from NumPy's vectorised one in the last bit for some inputs,
and the prices must be the same to the bit.

Bids are stored by cell: row ``i`` (a contract on offer) has cells ``ptr[i]:ptr[i + 1]``, one
per outside provider that may bid (``prov``: national firms and providers based in or next to
the contract's council, found through the neighbours' compressed rows and a per-round index
of providers by home area), in provider order; each row also has its own council's in-house
unit, a column after the cells when in-house units bid. A round's work grows with its
contracts and their bidders, not with the number of providers in the market.
"""

from __future__ import annotations

import numpy as np
from numba.np.random.random_methods import random_interval

from sim.core import jit
from sim.core.state import QUARTERS_PER_YEAR, Market, Params, ProviderKind

_OUTSOURCER = int(ProviderKind.OUTSOURCER)
_MUTUAL = int(ProviderKind.MUTUAL)
_INHOUSE = int(ProviderKind.INHOUSE)


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
def _permutation(rng, n):
    """The same draws and result as ``rng.permutation(n)``: NumPy's Fisher-Yates shuffle of
    ``arange(n)``, written out because numba's own (for arrays of any shape) takes seconds to
    compile."""
    out = np.arange(n)
    for i in range(n - 1, 0, -1):
        j = np.int64(random_interval(rng.bit_generator, i))  # exact: j <= i < 2**53
        out[i], out[j] = out[j], out[i]
    return out


@jit.kernel
def _sort(a, lo, hi):
    """Sort ``a[lo:hi]`` in place (an insertion sort: a row's few bidders, mostly in order
    already; numba's general sort takes a second or two to compile)."""
    for i in range(lo + 1, hi):
        v = a[i]
        j = i - 1
        while j >= lo and a[j] > v:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = v


@jit.kernel
def _by_home(p_n, home, member, n_areas):
    """Providers in ``member`` based in an area, grouped by area in provider order:
    (rows, start), the providers of area ``a`` being ``rows[start[a]:start[a + 1]]``
    (mirrors :func:`sim.core.tendering.by_home`)."""
    start = np.zeros(n_areas + 1, np.int64)
    for k in range(p_n):
        if member[k] and home[k] >= 0:
            start[home[k] + 1] += 1
    for a in range(n_areas):
        start[a + 1] += start[a]
    rows = np.empty(start[n_areas], np.int64)
    fill = start[:n_areas].copy()
    for k in range(p_n):
        if member[k] and home[k] >= 0:
            rows[fill[home[k]]] = k
            fill[home[k]] += 1
    return rows, start


@jit.kernel
def _near_count(c, indptr, indices, start):
    """How many grouped providers are based in or next to area ``c``."""
    count = 0
    for q in range(indptr[c], indptr[c + 1]):
        a = indices[q]
        count += start[a + 1] - start[a]
    return count


@jit.kernel
def _near_fill(c, indptr, indices, rows, start, out, at):
    """Write the grouped providers based in or next to area ``c`` into ``out`` from ``at``;
    returns the next free position."""
    for q in range(indptr[c], indptr[c + 1]):
        a = indices[q]
        for r in range(start[a], start[a + 1]):
            out[at] = rows[r]
            at += 1
    return at


@jit.kernel
def _national(p_n, home, member):
    """The providers in ``member`` based nowhere in particular (national firms), in order."""
    n = 0
    for k in range(p_n):
        n += member[k] and home[k] < 0
    out = np.empty(n, np.int64)
    j = 0
    for k in range(p_n):
        if member[k] and home[k] < 0:
            out[j] = k
            j += 1
    return out


@jit.kernel
def _spare(ct_n, holder, reference, p_n, capacity):
    """Each provider's capacity less what it delivers now (summed in contract order, as
    :meth:`sim.core.state.ContractBook.used_capacity`)."""
    spare = np.zeros(p_n)
    for s in range(ct_n):
        if holder[s] >= 0:
            spare[holder[s]] += reference[s]
    for k in range(p_n):
        spare[k] = capacity[k] - spare[k]
    return spare


@jit.kernel
def _bids(rng, slots, council, p_n, kind, home, alive, seen, threshold, bid_error, indptr, indices):
    """Who bids for what and each bid's estimate error: (ptr, prov, error, excluded). A row's
    cells are the national firms and the providers based in or next to its council that pass
    the financial check, in provider order (the eligible cells of
    :func:`sim.core.tendering.bidders`); one error each, row by row."""
    ok = np.zeros(p_n, np.bool_)
    excluded = 0
    for k in range(p_n):
        passed = k >= seen.size or seen[k] >= threshold
        if alive[k] and kind[k] != _INHOUSE:
            ok[k] = passed
            excluded += not passed
    national = _national(p_n, home, ok)
    n_national = national.size
    rows, start = _by_home(p_n, home, ok, indptr.size - 1)
    n = slots.size
    ptr = np.zeros(n + 1, np.int64)
    for i in range(n):
        ptr[i + 1] = ptr[i] + n_national + _near_count(council[slots[i]], indptr, indices, start)
    prov = np.empty(ptr[n], np.int64)
    for i in range(n):
        prov[ptr[i] : ptr[i] + n_national] = national
        _near_fill(council[slots[i]], indptr, indices, rows, start, prov, ptr[i] + n_national)
        _sort(prov, ptr[i], ptr[i + 1])
    error = np.empty(ptr[n])
    for q in range(ptr[n]):
        error[q] = rng.normal(0.0, bid_error)
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
    spare = _spare(ct_n, holder, reference, p_n, capacity)
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
            uc = cost_factor[k] * cost_level[kind[k]]
            bid[q] = size * uc * growth[q] * (1.0 + markup[k])
            ok[q] = bid[q] <= cap and k != bar
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
                local = 1.0 if home[k] >= 0 else 0.0  # a cell based somewhere is near
                score[q] = (
                    w_price * (lowest / bid[q]) + w_quality * quality[k] + w_sv * sv_score[k]
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
            _place(s, win[i], win_price[i], begin[i], begin[i] + term[i], False, holder,
                   price, start, end, emergency, loss_streak, subcontractor,
                   subcontract_price)  # fmt: skip
        elif incumbent[i] >= 0 and alive[incumbent[i]]:
            end[s] = t + QUARTERS_PER_YEAR
        else:
            gaps[n_gaps] = s
            n_gaps += 1

    # choose_subcontractors: for each new outsourcer contract with near live mutuals, one
    # draw picks among them evenly, in provider order.
    if share > 0:
        n_sub = 0
        for i in range(n):
            if win[i] >= 0 and kind[win[i]] == _OUTSOURCER:
                n_sub += 1
        if n_sub > 0:
            live = np.zeros(p_n, np.bool_)
            for k in range(p_n):
                live[k] = alive[k] and kind[k] == _MUTUAL
            rows, start = _by_home(p_n, home, live, indptr.size - 1)
            buf = np.empty(rows.size, np.int64)
            for i in range(n):
                if win[i] < 0 or kind[win[i]] != _OUTSOURCER:
                    continue
                s = slots[i]
                count = _near_count(council[s], indptr, indices, start)
                if count == 0:
                    continue
                k = min(np.floor(rng.random() * count), count - 1)
                _near_fill(council[s], indptr, indices, rows, start, buf, 0)
                _sort(buf, 0, count)
                pick = buf[int(k)]
                own = cost_factor[pick] * cost_level[kind[pick]] * (1.0 + markup[pick])
                subcontractor[s] = pick
                subcontract_price[s] = min(reference[s] * share * own, price[s])

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


@jit.kernel
def _emergency(order, t, ct_n, council, reference, holder, price, start, end, emergency,
               loss_streak, subcontractor, subcontract_price, barred, barred_until,
               p_n, kind, home, alive, capacity, quality, cost_factor, markup, cost_level,
               indptr, indices, inhouse_unit, premium, mobilisation, emergency_quarters,
               retender_quarters):  # fmt: skip
    """Answer disrupted contracts in a seeded order: insource, emergency award to the
    best-quality near provider with room, or gap (mirrors
    :func:`sim.core.failure.emergency_awards`); ``order`` is the slots in that order."""
    spare = _spare(ct_n, holder, reference, p_n, capacity)
    external = np.zeros(p_n, np.bool_)
    for k in range(p_n):
        external[k] = alive[k] and kind[k] != _INHOUSE
    national = _national(p_n, home, external)
    n_national = national.size
    rows, first = _by_home(p_n, home, external, indptr.size - 1)
    buf = np.empty(rows.size + n_national, np.int64)
    for s in order:
        size = reference[s]
        c = council[s]
        u = inhouse_unit[c]
        if spare[u] >= size:  # insource (sim.core.failure.insource)
            spare[u] -= size
            _place(s, u, 0.0, t, t + emergency_quarters, True, holder, price, start, end,
                   emergency, loss_streak, subcontractor, subcontract_price)  # fmt: skip
            continue
        buf[:n_national] = national
        n_cand = _near_fill(c, indptr, indices, rows, first, buf, n_national)
        bar = barred[s] if barred_until[s] > t else -2
        best = -1
        for q in range(n_cand):
            k = buf[q]
            if k == bar or spare[k] < size:
                continue
            # the first best in provider order, as the reference's argmax
            if best < 0 or quality[k] > quality[best] or (quality[k] == quality[best] and k < best):
                best = k
        if best >= 0:
            spare[best] -= size
            bid = size * (cost_factor[best] * cost_level[kind[best]]) * (1.0 + markup[best])
            begin = t + mobilisation
            _place(s, best, bid * (1 + premium), begin, begin + emergency_quarters, True,
                   holder, price, start, end, emergency, loss_streak, subcontractor,
                   subcontract_price)  # fmt: skip
        else:
            end[s] = t + retender_quarters


@jit.kernel
def _place(s, provider, at_price, begin, until, is_emergency, holder, price, start, end,
           emergency, loss_streak, subcontractor, subcontract_price):  # fmt: skip
    """:meth:`sim.core.state.ContractBook.place` on the book's columns."""
    holder[s] = provider
    price[s] = at_price
    start[s] = begin
    end[s] = until
    emergency[s] = is_emergency
    loss_streak[s] = 0
    subcontractor[s] = -1
    subcontract_price[s] = 0.0


def emergency_awards(
    market: Market, slots: np.ndarray, params: Params, rng: np.random.Generator
) -> None:
    """Compiled :func:`sim.core.failure.emergency_awards` (same arguments, same result)."""
    ct, p, cn = market.contracts, market.providers, market.councils
    cp = params.commissioning
    # The seeded order drawn here, not in the kernel: passing the generator to a kernel costs
    # more than the rest of the call (rng.permutation draws as the kernels' _permutation).
    slots = np.asarray(slots, dtype=np.int64)
    _emergency(
        slots[rng.permutation(slots.size)], market.quarter, ct.n, ct.council, ct.reference,
        ct.holder, ct.price, ct.start, ct.end, ct.emergency, ct.loss_streak, ct.subcontractor,
        ct.subcontract_price, ct.barred, ct.barred_until, p.n, p.kind, p.home, p.alive,
        p.capacity, p.quality, p.cost_factor, p.markup, market.cost_level, cn.near.indptr,
        cn.near.indices, cn.inhouse_unit, float(cp.emergency_premium),
        int(cp.mobilisation_quarters), int(cp.emergency_contract_quarters),
        int(cp.retender_quarters),
    )  # fmt: skip


@jit.kernel
def _due_then_bids(rng, t, ct_n, end, holder, emergency, start, administered_until, rate,
                   years_min, years_max, mobilisation, council, p_n, kind, home, alive, seen,
                   threshold, bid_error, indptr, indices):  # fmt: skip
    """:func:`_due_draws` then, if any slot is offered, :func:`_bids` for them: one call, as
    passing the generator to a kernel costs more than the rest of the call."""
    offered, wait = _due_draws(rng, t, ct_n, end, holder, emergency, start,
                               administered_until, kind, rate, years_min, years_max,
                               mobilisation)  # fmt: skip
    if offered.size == 0:
        return offered, wait, np.zeros(1, np.int64), offered, np.zeros(0), 0
    ptr, prov, error, excluded = _bids(rng, offered, council, p_n, kind, home, alive, seen,
                                       threshold, bid_error, indptr, indices)  # fmt: skip
    return offered, wait, ptr, prov, error, excluded


def tender_due(
    market: Market, params: Params, rng: np.random.Generator, weights: dict[str, float]
) -> np.ndarray:
    """Compiled :func:`sim.core.tendering.tender_due` (same arguments, same result; ``weights``
    are :func:`sim.core.tendering.effective_weights`)."""
    ct, c = market.contracts, params.councils
    t = market.quarter
    offered, wait, *bids = _due_then_bids(
        rng, t, ct.n, ct.end, ct.holder, ct.emergency, ct.start, ct.administered_until,
        c.market_test_rate, c.contract_years_min, c.contract_years_max,
        params.commissioning.mobilisation_quarters, *_bid_args(market, params),
    )  # fmt: skip
    if offered.size == 0:
        return offered
    return tender_round(market, offered, params, rng, True, t + wait, weights, tuple(bids))


def tender_round(
    market: Market,
    slots: np.ndarray,
    params: Params,
    rng: np.random.Generator,
    allow_inhouse: bool,
    begin: np.ndarray,
    w: dict[str, float],
    bids: tuple | None = None,
) -> np.ndarray:
    """Compiled :func:`sim.core.tendering.tender` over ``slots`` (non-empty), winners starting in
    ``begin`` (one quarter per slot), scored with weights ``w``
    (:func:`sim.core.tendering.effective_weights`); returns the gaps. ``bids`` is what
    :func:`_bids` gave for these slots, if it ran already."""
    slots = np.asarray(slots, dtype=np.int64)
    if bids is None:
        bids = _bids(rng, slots, *_bid_args(market, params))
    ptr, prov, error, excluded = bids
    ct, p, cn = market.contracts, market.providers, market.councils
    c = params.councils
    near = cn.near
    market.ledger.bidders_excluded += int(excluded)
    return _finish(
        rng, slots, np.asarray(begin, dtype=np.int64), market.quarter, np.exp(error), ptr, prov,
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


def _bid_args(market: Market, params: Params) -> tuple:
    """The arguments of :func:`_bids` after the generator and the slots."""
    ct, p, near = market.contracts, market.providers, market.councils.near
    c = params.councils
    log = market.health_log
    seen = np.asarray(log[max(len(log) - 1 - c.report_lag_quarters, 0)], dtype=float)
    return (
        ct.council, p.n, p.kind, p.home, p.alive, seen, float(c.due_diligence_threshold),
        float(params.commissioning.bid_error), near.indptr, near.indices,
    )  # fmt: skip
