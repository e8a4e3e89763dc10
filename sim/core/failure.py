"""Failure and the council's response: a provider fails, its contracts are disrupted, and each
council insources, makes an emergency award, or is left with a gap that it rebuilds in-house.

A provider fails at random (:func:`sim.core.shocks.random_failures`), in a collapse
(:func:`sim.core.shocks.collapse_provider`), or when insolvent (:func:`insolvencies`); a contract
also fails when its holder hands it back after quarters of losses (:func:`handbacks`).
"""

from __future__ import annotations

import numpy as np

from sim.core.bidders import by_home, national, near_fill, spare_capacity
from sim.core.delivery import headroom
from sim.core.inhouse import refresh_inhouse_prices
from sim.core.jit import kernel
from sim.core.numeric import INHOUSE, clipped_ratio
from sim.core.run_params import run_params
from sim.core.state import QUARTERS_PER_YEAR, Market, Params, ProviderKind
from sim.core.tender_round import place, tender

__all__ = [
    "administer",
    "disrupt",
    "emergency_awards",
    "end_administration",
    "fail_provider",
    "handback_patience",
    "handbacks",
    "insolvencies",
    "insource",
    "leave_gaps",
    "subcontract_losses",
]


def fail_provider(
    market: Market, index: int, cause: str, params: Params, rng: np.random.Generator
) -> None:
    """A provider fails now: every contract it holds fails at once (:func:`disrupt`); its
    subcontractors lose the income, and the quarter's unpaid invoices, from it. In-house units
    never fail (the council stands behind them)."""
    p, ct, ledger = market.providers, market.contracts, market.ledger
    if not p.alive[index] or p.kind[index] == ProviderKind.INHOUSE:
        return
    ledger.open()
    p.alive[index] = False
    p.failed_at[index] = market.quarter
    held = np.flatnonzero(ct.view("holder") == index)
    # Contagion: subcontractors are owed the last quarter's invoice, and lose the work.
    with_sub = held[ct.subcontractor[held] >= 0]
    unpaid, lost = subcontract_losses(
        ct.subcontract_price[with_sub], ct.end[with_sub], market.quarter
    )
    np.subtract.at(p.cash, ct.subcontractor[with_sub], unpaid)
    ledger.contagion_loss += float(unpaid.sum() + lost.sum())
    ct.subcontractor[held] = -1
    # A failed subcontractor simply stops: the holder takes its share back.
    ct.view("subcontractor")[ct.view("subcontractor") == index] = -1
    ledger.failures += 1
    market.events.append(
        {
            "quarter": market.quarter,
            "event": "failure",
            "cause": cause,
            "provider": str(p.name[index]),
            "contracts": int(held.size),
        }
    )
    if params.commissioning.failure_regime == "administration":
        administer(market, held, index, params, rng)
    else:
        disrupt(market, held, params, rng)


def administer(
    market: Market, slots: np.ndarray, failed: int, params: Params, rng: np.random.Generator
) -> None:
    """An administrator takes a failed provider's contracts (as the Official Receiver took
    Carillion's): it keeps them delivered at their price plus ``administration_cost`` for
    ``administration_quarters`` (paid in :func:`sim.core.delivery.deliver_and_pay`) while they
    are re-let by tender now, the new holders starting after mobilisation. What the tender cannot place
    waits in a gap covered by the administrator (re-tendered as any gap);
    :func:`end_administration` hands what is left to the councils when administration ends."""
    if slots.size == 0:
        return
    ct, cp = market.contracts, params.commissioning
    _count_disruption(market, slots, params)
    ct.administered_until[slots] = market.quarter + cp.administration_quarters
    ct.administered_by[slots] = failed
    ct.administered_price[slots] = ct.price[slots]
    ct.holder[slots] = -1
    ct.subcontractor[slots] = -1
    ct.notice[slots] = False
    ct.loss_streak[slots] = 0
    gaps = tender(
        market, slots, params, rng, allow_inhouse=True, start_after=cp.mobilisation_quarters
    )
    leave_gaps(market, gaps, params, rng)


def end_administration(market: Market, params: Params, rng: np.random.Generator) -> None:
    """Administration ends this quarter: contracts it has not re-let are disrupted and
    answered as any failure's (insource, emergency award or gap)."""
    ct = market.contracts
    left = _administration_left(ct.view("administered_until"), ct.view("holder"), market.quarter)
    if left.size:
        market.ledger.open()
        disrupt(market, left, params, rng)


def subcontract_losses(
    price: np.ndarray, end: np.ndarray, quarter: int
) -> tuple[np.ndarray, np.ndarray]:
    """What each subcontractor loses when its prime fails in ``quarter``: the quarter's
    invoice it is never paid (written off its cash) and the volume it loses, its subcontract's
    price for each quarter left of the prime's contract (revenue it will not earn)."""
    return price.copy(), price * np.maximum(end - quarter, 0)


def insolvencies(market: Market, params: Params, rng: np.random.Generator) -> None:
    """Every trading provider whose cash is below its credit limit fails."""
    p = market.providers
    broke = _insolvent(p.view("alive"), p.view("kind"), p.view("cash"), p.view("credit_limit"))
    for index in broke:
        fail_provider(market, int(index), "insolvency", params, rng)


@kernel
def handback_patience(headroom, handback_quarters, handback_headroom):
    """How many loss-making quarters in a row each provider bears before handing a contract
    back: ``handback_quarters`` at ``handback_headroom`` years of headroom, from half that for
    a firm at its credit limit to one and a half times for a comfortable one (at least one).
    Firms differ, so a cost shock's handbacks spread over quarters instead of one cliff."""
    patience = np.full(headroom.size, handback_quarters, np.int64)
    if handback_headroom > 0:
        scale = clipped_ratio(headroom, handback_headroom, 0.5, 1.5)
        for q in range(headroom.size):
            patience[q] = max(np.rint(handback_quarters * scale[q]), 1.0)
    return patience


def handbacks(market: Market, params: Params, rng: np.random.Generator) -> None:
    """Contracts that lost money for as long as their holder's patience in a row are handed
    back (:func:`handback_patience`); the provider that handed one back may not be awarded it
    again for ``handback_bar_quarters``. With ``handback_notice_quarters`` the holder
    delivers until the notice ends and the contract is re-tendered then (a gap, and a
    disruption, only if no one takes it: :func:`leave_gaps`); without notice it is dropped at
    once (:func:`disrupt`)."""
    ct, p, cp = market.contracts, market.providers, params.commissioning
    patience = handback_patience(
        headroom(p), int(cp.handback_quarters), float(cp.handback_headroom)
    )
    back = _handed_back(ct.view("holder"), ct.view("loss_streak"), ct.view("notice"), patience)
    if back.size:
        ct.barred[back] = ct.holder[back]
        ct.barred_until[back] = market.quarter + cp.handback_bar_quarters
        market.ledger.handbacks += int(back.size)
        market.events.append(
            {"quarter": market.quarter, "event": "handback", "contracts": int(back.size)}
        )
        if cp.handback_notice_quarters > 0:
            ct.notice[back] = True
            ct.end[back] = np.minimum(ct.end[back], market.quarter + cp.handback_notice_quarters)
        else:
            disrupt(market, back, params, rng)


def disrupt(market: Market, slots: np.ndarray, params: Params, rng: np.random.Generator) -> None:
    """Contracts whose provider has gone: the council insources if its unit has room, else
    makes an emergency direct award (after mobilisation) to the best-quality provider with
    room, else is left with a gap until a re-tender. Councils answer in a seeded order."""
    if slots.size == 0:
        return
    ct = market.contracts
    ct.holder[slots] = -1
    ct.subcontractor[slots] = -1
    ct.notice[slots] = False
    ct.disrupted_at[slots] = market.quarter
    ct.loss_streak[slots] = 0
    _count_disruption(market, slots, params)

    emergency_awards(market, slots, params, rng)
    refresh_inhouse_prices(market, params.commissioning.emergency_premium)


def emergency_awards(
    market: Market, slots: np.ndarray, params: Params, rng: np.random.Generator
) -> None:
    """Answer each disrupted contract in a seeded order: insource it if the council's unit
    has room, else award it directly (after mobilisation, at the emergency premium) to the
    best-quality outsourcer or near mutual with room that is not barred from it, else leave a
    gap until a re-tender can award."""
    ct, p, cn = market.contracts, market.providers, market.councils
    # The seeded order drawn here: passing the generator to a kernel costs more than the rest
    # of this call.
    slots = np.asarray(slots, dtype=np.int64)
    order = slots[rng.permutation(slots.size)]
    at = (market.quarter, market.cost_level)
    _emergency(order, at, ct.columns(), p.columns(), cn.columns(), run_params(params))


def _count_disruption(market: Market, slots: np.ndarray, params: Params) -> None:
    """Count contracts that change hands in a failure: the ledger's tallies, the councils'
    transition costs and the value each council sees disrupted (trust's penalty)."""
    ct, ledger = market.contracts, market.ledger
    councils = ct.council[slots]
    yearly = ct.reference[slots] * QUARTERS_PER_YEAR
    ledger.contracts_disrupted += int(slots.size)
    ledger.transition_cost += float(params.commissioning.transition_cost * yearly.sum())
    np.add.at(ledger.disrupted_value, councils, ct.reference[slots])
    ledger.councils_hit[councils] = True


def insource(market: Market, slot: int, params: Params) -> None:
    """The council's own unit takes the contract now, as an emergency (at the premium, priced
    by :func:`sim.core.inhouse.refresh_inhouse_prices`, and re-tendered when the term ends)."""
    unit = market.councils.inhouse_unit[market.contracts.council[slot]]
    t = market.quarter
    end = t + params.commissioning.emergency_contract_quarters
    market.contracts.place(slot, unit, price=0.0, start=t, end=end, emergency=True)


def leave_gaps(market: Market, slots: np.ndarray, params: Params, rng: np.random.Generator) -> None:
    """Contracts no tender could place stay unserved until the next tender; after
    ``inhouse_rebuild_quarters`` in a gap the council rebuilds the service in-house (as
    councils took Carillion's services back). A contract handed back with notice that no one
    took is a disruption now (:func:`disrupt`: insourced or awarded in an emergency)."""
    ct = market.contracts
    cp = params.commissioning
    t = market.quarter
    slots = np.asarray(slots, dtype=np.int64)
    noticed = slots[(ct.holder[slots] >= 0) & ct.notice[slots]]
    if noticed.size:
        ct.notice[noticed] = False
        disrupt(market, noticed, params, rng)
        slots = slots[ct.holder[slots] < 0]
    for slot in slots:
        if ct.holder[slot] >= 0 or ct.disrupted_at[slot] < 0:
            ct.disrupted_at[slot] = t  # the gap starts now
        ct.holder[slot] = -1
        if t - ct.disrupted_at[slot] >= cp.inhouse_rebuild_quarters:
            insource(market, slot, params)
        else:
            ct.end[slot] = t + cp.retender_quarters


@kernel
def _emergency(order, at, ct, p, cn, run):
    """Answer disrupted contracts in a seeded order: insource, emergency award to the
    best-quality near provider with room, or gap (:func:`emergency_awards`); ``order`` is
    the slots in that order, ``at`` (quarter, cost level of each provider type)."""
    t, cost_level = at
    ct_n, p_n = ct.holder.size, p.kind.size
    council, reference, holder, end = ct.council, ct.reference, ct.holder, ct.end
    barred, barred_until = ct.barred, ct.barred_until
    kind, home, alive, capacity = p.kind, p.home, p.alive, p.capacity
    quality, cost_factor, markup = p.quality, p.cost_factor, p.markup
    indptr, indices, inhouse_unit = cn.near_indptr, cn.near_indices, cn.inhouse_unit
    premium, mobilisation = run.emergency_premium, run.mobilisation_quarters
    emergency_quarters, retender_quarters = run.emergency_contract_quarters, run.retender_quarters
    spare = spare_capacity(ct_n, holder, reference, p_n, capacity)
    external = np.zeros(p_n, np.bool_)
    for k in range(p_n):
        external[k] = alive[k] and kind[k] != INHOUSE
    nationals = national(p_n, home, external)
    n_national = nationals.size
    rows, first = by_home(p_n, home, external, indptr.size - 1)
    buf = np.empty(rows.size + n_national, np.int64)
    for s in order:
        size = reference[s]
        c = council[s]
        u = inhouse_unit[c]
        if spare[u] >= size:  # insource (as :func:`insource`)
            spare[u] -= size
            place(s, u, 0.0, 0.0, t, t + emergency_quarters, True, ct)
            continue
        buf[:n_national] = nationals
        n_cand = near_fill(c, indptr, indices, rows, first, buf, n_national)
        bar = barred[s] if barred_until[s] > t else -2
        best = -1
        for q in range(n_cand):
            k = buf[q]
            if k == bar or spare[k] < size:
                continue
            # the first best in provider order
            if best < 0 or quality[k] > quality[best] or (quality[k] == quality[best] and k < best):
                best = k
        if best >= 0:
            spare[best] -= size
            uc = cost_factor[best] * cost_level[kind[best]]
            bid = size * uc * (1.0 + markup[best])
            begin = t + mobilisation
            place(s, best, bid * (1 + premium), uc, begin, begin + emergency_quarters, True, ct)
        else:
            end[s] = t + retender_quarters


@kernel
def _handed_back(holder, loss_streak, notice, patience):
    """The slots whose contract has lost money for as long as its holder's ``patience`` (not
    those already handed back, under notice)."""
    n = 0
    for i in range(holder.size):
        if holder[i] >= 0 and not notice[i] and loss_streak[i] >= patience[holder[i]]:
            n += 1
    back = np.empty(n, np.int64)
    k = 0
    for i in range(holder.size):
        if holder[i] >= 0 and not notice[i] and loss_streak[i] >= patience[holder[i]]:
            back[k] = i
            k += 1
    return back


@kernel
def _insolvent(alive, kind, cash, credit_limit):
    """The trading providers :func:`insolvencies` fails: cash below their credit limit."""
    out = np.empty(alive.size, np.int64)
    n = 0
    for q in range(alive.size):
        if alive[q] and kind[q] != INHOUSE and cash[q] < -credit_limit[q]:
            out[n] = q
            n += 1
    return out[:n].copy()


@kernel
def _administration_left(administered_until, holder, t):
    """The slots :func:`end_administration` disrupts (administration ends now,
    no new holder)."""
    out = np.empty(holder.size, np.int64)
    n = 0
    for i in range(holder.size):
        if administered_until[i] == t and holder[i] < 0:
            out[n] = i
            n += 1
    return out[:n].copy()
