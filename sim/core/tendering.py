"""The tender round: who may bid, bids, scores, awards, terms and what bidders learn.

A round takes every contract being tendered this quarter (rows) against every provider that
may bid (columns) at once: bid prices and scores are one vectorised computation, and the
awards are then made one contract at a time because each award uses up the winner's capacity.
Scoring is the "most advantageous tender" (docs/ODD.md, 7.1), with the score weights of the
schema (:mod:`sim.scenario.commissioning`), so the schema's check and the score use one rule.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from sim.core import jit
from sim.core.state import (
    QUARTERS_PER_YEAR,
    Market,
    Neighbours,
    Params,
    ProviderKind,
    ProviderTable,
)
from sim.scenario.schema import effective_weights, social_value_weight_total

__all__ = [
    "adapt_markups",
    "award",
    "bid_prices",
    "bidders",
    "by_home",
    "choose_subcontractors",
    "contract_terms",
    "passes_financial_check",
    "reached",
    "score_bids",
    "social_value_scores",
    "tender",
    "tender_due",
]


def social_value_scores(
    kind: np.ndarray,
    local_cost_share: np.ndarray,
    commitments: np.ndarray,
    commissioning: Params,
) -> np.ndarray:
    """Each provider's social value score (0-1) from what it does, as a tender scores it.

    The weighted mean of three attributes (National TOMs themes, Social Value Portal 2017):
    local employment and supply chain (its ``local_cost_share``), surplus reinvested locally
    (1 for mutuals and in-house units, whose surplus stays in the area; 0 for outsourcers,
    whose surplus goes to shareholders: the same rule as :func:`sim.core.delivery.quarter_flows`)
    and the extra ``commitments`` it offers; the weights are the ``social_value_*_weight``
    parameters of ``commissioning``.
    """
    c = commissioning
    reinvested = (kind != ProviderKind.OUTSOURCER).astype(float)
    weighted = (
        c.social_value_local_weight * local_cost_share
        + c.social_value_ownership_weight * reinvested
        + c.social_value_commitments_weight * commitments
    )
    return weighted / social_value_weight_total(c)


def bid_prices(
    reference_cost: np.ndarray,
    unit_cost: np.ndarray,
    markup: np.ndarray,
    estimate_error: np.ndarray | None = None,
) -> np.ndarray:
    """Bid price of every provider for every contract, in pounds per quarter.

    Args:
        reference_cost: (n_contracts,) cost of the service at the reference unit cost.
        unit_cost: (n_providers,) provider cost relative to reference (scale economies, shocks).
        markup: (n_providers,) mark-up over estimated cost.
        estimate_error: (n_contracts, n_providers) log error of each cost estimate; None for
            a price at known cost (an emergency award, a spin-out's first contract).

    Returns:
        (n_contracts, n_providers) prices. A bidder that underestimates bids low and, if it
        wins, delivers at a loss: the winner's curse.
    """
    cost = reference_cost[:, None] * unit_cost[None, :]
    if estimate_error is not None:
        cost = cost * np.exp(estimate_error)
    return cost * (1.0 + markup[None, :])


def score_bids(
    price: np.ndarray,
    eligible: np.ndarray,
    quality: np.ndarray,
    social_value_score: np.ndarray,
    local: np.ndarray,
    weights: dict[str, float],
) -> np.ndarray:
    """Most-advantageous-tender score of every eligible bid; -inf where not eligible.

    The price score is the lowest eligible price divided by the bid's price (1 for the
    cheapest), the usual relative formula; quality and social value scores are in [0, 1];
    ``local`` is 1 where the bidder is based in or next to the council's area; ``weights`` are
    :func:`effective_weights`.
    """
    if price.shape[1] == 0:  # no provider can bid at all
        return np.full(price.shape, -np.inf)
    masked = np.where(eligible, price, np.inf)
    lowest = masked.min(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        price_score = np.where(eligible, lowest / masked, 0.0)
    score = (
        weights["price"] * price_score
        + weights["quality"] * quality[None, :]
        + weights["social_value"] * social_value_score[None, :]
        + weights["local"] * local
    )
    return np.where(eligible, score, -np.inf)


def award(
    score: np.ndarray,
    size: np.ndarray,
    spare: np.ndarray,
    order: np.ndarray,
    own_unit: np.ndarray | None = None,
    own_spare: np.ndarray | None = None,
) -> np.ndarray:
    """Award each contract, in ``order``, to its best-scoring bidder with room for it.

    Args:
        score: (n_contracts, n_columns) scores, -inf where a column cannot bid.
        size: (n_contracts,) capacity each contract takes.
        spare: (n_columns,) spare capacity of each column; updated in place.
        order: the order in which contracts are awarded (seeded, so no council always goes first).
        own_unit: if given, the last column is each council's own in-house unit: the row's unit
            is ``own_unit[row]``, with spare capacity ``own_spare[own_unit[row]]`` (updated in
            place; two contracts of one council share their unit's capacity).
        own_spare: see ``own_unit``.

    Returns:
        (n_contracts,) the winning column, or -1 where no bidder could take it.
    """
    winner = np.full(score.shape[0], -1, dtype=np.int64)
    if score.shape[1] == 0:
        return winner
    own_col = score.shape[1] - 1 if own_unit is not None else -1
    ranked = np.argsort(-score, axis=1, kind="stable")
    for i in order:
        for j in ranked[i]:
            if score[i, j] == -np.inf:
                break
            room = own_spare if j == own_col else spare
            k = own_unit[i] if j == own_col else j
            if room[k] >= size[i]:
                winner[i] = j
                room[k] -= size[i]
                break
    return winner


def passes_financial_check(
    health_log: list[np.ndarray], n_providers: int, lag: int, threshold: float
) -> np.ndarray:
    """Which providers pass a council's financial check: their headroom (in years of revenue)
    as reported ``lag`` quarters ago is at least ``threshold``. A provider newer than the
    accounts read has nothing to see, and passes (Carillion passed such checks)."""
    seen = health_log[max(len(health_log) - 1 - lag, 0)]
    headroom = np.full(n_providers, np.inf)
    headroom[: seen.size] = seen
    return headroom >= threshold


def bidders(
    providers: ProviderTable,
    near: Neighbours,
    councils: np.ndarray,
    passed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which outsourcers and mutuals can bid for contracts of ``councils``.

    Trading outsourcers reach every council; mutuals reach their home area and its neighbours
    (``near``); ``passed``, if given, is the financial check's verdict. Only providers that
    can bid for at least one of the contracts become columns (national firms and those based
    in or next to one of ``councils``), so the matrices stay small however many councils the
    market has.

    Returns:
        The provider of each column (in provider order), the (rows, columns) eligibility, and
        whether each bidder is local to the row's council (based in or next to it).
    """
    ok = providers.external()
    if passed is not None:
        ok &= passed
    home = providers.view("home")
    national = home < 0
    cols = np.flatnonzero(ok & (national | reached(near, councils)[np.maximum(home, 0)]))
    home, national = home[cols], national[cols]
    local = near.contains(councils[:, None], np.maximum(home, 0)[None, :]) & ~national[None, :]
    return cols, local | national[None, :], local


def reached(near: Neighbours, councils: np.ndarray) -> np.ndarray:
    """Mask of the areas based in or next to any of ``councils`` (a mutual based there can
    serve at least one of them)."""
    first = near.keys // near.n  # the first area of each stored pair
    in_round = np.zeros(near.n, dtype=bool)
    in_round[councils] = True
    out = np.zeros(near.n, dtype=bool)
    out[near.indices[in_round[first]]] = True
    return out


def by_home(rows: np.ndarray, home: np.ndarray, n_areas: int) -> tuple[np.ndarray, np.ndarray]:
    """Providers ``rows`` grouped by home area: the rows in home order (provider order within
    an area) and where each area's run starts (``n_areas + 1`` offsets), so the providers
    based in area ``a`` are ``rows[start[a]:start[a + 1]]``."""
    rows = rows[np.argsort(home[rows], kind="stable")]
    return rows, np.searchsorted(home[rows], np.arange(n_areas + 1))


def contract_terms(
    rng: np.random.Generator, size: int, years_min: int, years_max: int
) -> np.ndarray:
    """Length of ``size`` new contracts, in whole years drawn evenly in [min, max], as quarters."""
    return QUARTERS_PER_YEAR * rng.integers(years_min, years_max + 1, size)


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

    The columns are the outsourcers and mutuals that may bid, plus (when councils let their
    own units bid) one column for each council's own in-house unit, which bids at cost and is
    always local. A bid above the council's price cap is not eligible.
    """
    if slots.size == 0:
        return slots
    start = market.quarter + np.broadcast_to(start_after, slots.shape)
    if jit.compiled():
        weights = effective_weights(params.commissioning)
        return _kernels().tender_round(market, slots, params, rng, allow_inhouse, start, weights)
    ct, p, cn = market.contracts, market.providers, market.councils
    c = params.councils
    t = market.quarter
    councils = ct.council[slots]
    size = ct.reference[slots]
    incumbent = ct.holder[slots].copy()
    # The contracts on offer free the capacity they use.
    spare = p.view("capacity") - ct.used_capacity(p.n)
    np.add.at(spare, incumbent[incumbent >= 0], size[incumbent >= 0])

    passed = passes_financial_check(
        market.health_log, p.n, c.report_lag_quarters, c.due_diligence_threshold
    )
    market.ledger.bidders_excluded += int((p.external() & ~passed).sum())
    cols, eligible, local = bidders(p, cn.near, councils, passed)
    # One estimate error for each bid that can be made: row by row, in provider order.
    error = np.zeros(eligible.shape)
    error[eligible] = rng.normal(0.0, params.commissioning.bid_error, int(eligible.sum()))
    price = bid_prices(size, p.unit_cost(cols, market.cost_level), p.markup[cols], error)
    quality, social_value_score = p.quality[cols], p.social_value_score[cols]
    units = cn.inhouse_unit[councils]
    inhouse_bids = allow_inhouse and c.inhouse_bids
    if inhouse_bids:  # the council knows its own unit's cost: no error, no mark-up
        price = np.hstack([price, (size * p.unit_cost(units, market.cost_level))[:, None]])
        yes = np.ones((slots.size, 1), dtype=bool)
        eligible, local = np.hstack([eligible, yes]), np.hstack([local, yes])
        quality = np.append(quality, p.quality[units[0]])
        social_value_score = np.append(social_value_score, p.social_value_score[units[0]])
    cap = c.price_cap * size * cn.budget_factor[councils]
    eligible &= price <= cap[:, None]
    eligible[:, : cols.size] &= ~ct.barred_now(slots, cols, t)
    weights = effective_weights(params.commissioning)
    score = score_bids(price, eligible, quality, social_value_score, local, weights)
    winner = award(
        score,
        size,
        spare[cols].copy(),
        rng.permutation(slots.size),
        own_unit=units if inhouse_bids else None,
        own_spare=spare.copy() if inhouse_bids else None,
    )

    term = contract_terms(rng, slots.size, c.contract_years_min, c.contract_years_max)
    gaps = []
    for row, slot in enumerate(slots):
        w = winner[row]
        if w >= 0:
            provider = cols[w] if w < cols.size else units[row]
            begin = int(start[row])
            ct.place(
                slot,
                provider,
                price=price[row, w],
                start=begin,
                end=begin + term[row],
                emergency=False,
            )
        elif incumbent[row] >= 0 and p.alive[incumbent[row]]:
            ct.end[slot] = t + QUARTERS_PER_YEAR  # no affordable bid: extend the incumbent a year
        else:
            gaps.append(slot)
    choose_subcontractors(market, slots[winner >= 0], params.outsourcers.subcontract_share, rng)
    adapt_markups(p, cols, eligible[:, : cols.size], winner)
    return np.array(gaps, dtype=np.int64)


def choose_subcontractors(
    market: Market, slots: np.ndarray, subcontract_share: float, rng: np.random.Generator
) -> None:
    """Outsourcers subcontract part of each new contract to a local mutual, picked at
    random among those based in or next to the area (the contagion channel): one draw for
    each contract that has any, picking evenly among them in provider order. The subcontract
    is priced at the subcontractor's own price: its unit cost now and its mark-up, on its
    share of the work, fixed for the contract and paid out of the holder's price (never more
    than that price: the holder's own revenue from a contract cannot go below zero)."""
    if subcontract_share <= 0 or slots.size == 0:
        return
    p, ct = market.providers, market.contracts
    slots = slots[p.kind[ct.holder[slots]] == ProviderKind.OUTSOURCER]
    if slots.size == 0:
        return
    councils = ct.council[slots]
    live = p.view("alive") & (p.view("kind") == ProviderKind.MUTUAL)
    mutuals = np.flatnonzero(live & reached(market.councils.near, councils)[p.view("home")])
    near = market.councils.near.contains(councils[:, None], p.home[mutuals][None, :])
    count = near.sum(axis=1)
    found = count > 0
    if not found.any():
        return
    # The k-th near mutual (in provider order) for k drawn evenly below the count.
    k = np.minimum(np.floor(rng.random(int(found.sum())) * count[found]), count[found] - 1)
    rank = np.cumsum(near[found], axis=1)
    pick = (near[found] & (rank == k[:, None] + 1)).argmax(axis=1)
    chosen, subs = slots[found], mutuals[pick]
    ct.subcontractor[chosen] = subs
    own_price = p.unit_cost(subs, market.cost_level) * (1.0 + p.markup[subs])
    # A prime never agrees to pay its subcontractor more than the whole contract pays it.
    ct.subcontract_price[chosen] = np.minimum(
        ct.reference[chosen] * subcontract_share * own_price, ct.price[chosen]
    )


def adapt_markups(
    providers: ProviderTable, cols: np.ndarray, eligible: np.ndarray, winner: np.ndarray
) -> None:
    """Each tender won raises a bidder's mark-up by a step, each lost lowers it (the NetLogo
    tender model's rule), netted over the round: a firm winning less than half its bids cuts
    its margin, which is how a race to the bottom emerges. ``cols`` are outsourcers and
    mutuals; a ``winner`` beyond them is an in-house unit."""
    p = providers
    bids = eligible.sum(axis=0)
    wins = np.bincount(winner[(winner >= 0) & (winner < cols.size)], minlength=cols.size)
    bid = bids > 0
    idx = cols[bid]
    net = (2 * wins[bid] - bids[bid]) / bids[bid]
    # A firm that lost money last quarter prices up a step whatever its win rate.
    net += p.revenue_last[idx] < p.cost_last[idx]
    p.markup[idx] = np.clip(
        p.markup[idx] + net * p.markup_step[idx], p.markup_min[idx], p.markup_max[idx]
    )


def tender_due(market: Market, params: Params, rng: np.random.Generator) -> np.ndarray:
    """Tender every contract that ends now; an in-house service is renewed without tender
    unless it is market-tested (or was an emergency). Returns the slots left in a gap."""
    if jit.compiled():
        return _kernels().tender_due(market, params, rng, effective_weights(params.commissioning))
    ct = market.contracts
    t = market.quarter
    c = params.councils
    due = np.flatnonzero(ct.view("end") <= t)
    if due.size == 0:
        return due
    inhouse = ct.held_by(market.providers.kind, ProviderKind.INHOUSE)[due]
    keep = inhouse & ~ct.emergency[due] & (rng.random(due.size) >= c.market_test_rate)
    term = contract_terms(rng, int(keep.sum()), c.contract_years_min, c.contract_years_max)
    ct.end[due[keep]] = t + term
    offered = due[~keep]
    wait = np.where(ct.administered(t)[offered], params.commissioning.mobilisation_quarters, 0)
    return tender(market, offered, params, rng, allow_inhouse=True, start_after=wait)


def _kernels() -> ModuleType:
    """The compiled round (:mod:`sim.core.kernels.tender`), imported only when first used."""
    from sim.core.kernels import tender as kernels

    return kernels
