"""Failure and the council's response: a provider fails, its contracts are disrupted, and each
council insources, makes an emergency award, or is left with a gap that it rebuilds in-house.

A provider fails at random (:func:`sim.core.shocks.random_failures`), in a collapse
(:func:`sim.core.shocks.collapse_provider`), or when insolvent (:func:`insolvencies`); a contract
also fails when its holder hands it back after quarters of losses (:func:`handbacks`).
"""

from __future__ import annotations

import numpy as np

from sim.core import jit
from sim.core.delivery import headroom, refresh_inhouse_prices
from sim.core.state import QUARTERS_PER_YEAR, Market, Params, ProviderKind
from sim.core.tendering import bid_prices, by_home, tender

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
    ``administration_quarters`` (:func:`sim.core.delivery.administered_legs`) while they are re-let
    by tender now, the new holders starting after mobilisation. What the tender cannot place
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
    ct.loss_streak[slots] = 0
    gaps = tender(
        market, slots, params, rng, allow_inhouse=True, start_after=cp.mobilisation_quarters
    )
    leave_gaps(market, gaps, params)


def end_administration(market: Market, params: Params, rng: np.random.Generator) -> None:
    """Administration ends this quarter: contracts it has not re-let are disrupted and
    answered as any failure's (insource, emergency award or gap)."""
    ct = market.contracts
    if jit.compiled():
        from sim.core.kernels import quarter

        left = quarter.administration_left(
            ct.view("administered_until"), ct.view("holder"), market.quarter
        )
    else:
        ending = ct.view("administered_until") == market.quarter
        left = np.flatnonzero(ending & (ct.view("holder") < 0))
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
    if jit.compiled():
        from sim.core.kernels import quarter

        broke = quarter.insolvent(
            p.view("alive"), p.view("kind"), p.view("cash"), p.view("credit_limit")
        )
    else:
        broke = np.flatnonzero(p.external() & (p.view("cash") < -p.view("credit_limit")))
    for index in broke:
        fail_provider(market, int(index), "insolvency", params, rng)


def handback_patience(
    headroom: np.ndarray, handback_quarters: int, handback_headroom: float
) -> np.ndarray:
    """How many loss-making quarters in a row each provider bears before handing a contract
    back: ``handback_quarters`` at ``handback_headroom`` years of headroom, from half that for
    a firm at its credit limit to one and a half times for a comfortable one (at least one).
    Firms differ, so a cost shock's handbacks spread over quarters instead of one cliff."""
    if handback_headroom <= 0:
        return np.full(headroom.shape, handback_quarters)
    scale = np.clip(headroom / handback_headroom, 0.5, 1.5)
    return np.maximum(np.rint(handback_quarters * scale), 1).astype(np.int64)


def handbacks(market: Market, params: Params, rng: np.random.Generator) -> None:
    """Contracts that lost money for as long as their holder's patience in a row are handed
    back (:func:`handback_patience`); the provider that handed one back may not be awarded it
    again for ``handback_bar_quarters``."""
    ct, p, cp = market.contracts, market.providers, params.commissioning
    if jit.compiled():
        from sim.core.kernels import quarter

        back = quarter.handbacks_due(
            ct.view("holder"),
            ct.view("loss_streak"),
            p.view("revenue_last"),
            p.view("capacity"),
            p.view("cash"),
            p.view("credit_limit"),
            int(cp.handback_quarters),
            float(cp.handback_headroom),
        )
    else:
        holder = ct.view("holder")
        patience = handback_patience(headroom(p), cp.handback_quarters, cp.handback_headroom)
        back = np.flatnonzero((holder >= 0) & (ct.view("loss_streak") >= patience[holder]))
    if back.size:
        ct.barred[back] = ct.holder[back]
        ct.barred_until[back] = market.quarter + cp.handback_bar_quarters
        market.ledger.handbacks += int(back.size)
        market.events.append(
            {"quarter": market.quarter, "event": "handback", "contracts": int(back.size)}
        )
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
    if jit.compiled():
        from sim.core.kernels.tender import emergency_awards as compiled

        compiled(market, slots, params, rng)
        return
    ct, p, cn = market.contracts, market.providers, market.councils
    cp = params.commissioning
    t = market.quarter
    spare = p.view("capacity") - ct.used_capacity(p.n)
    order = slots[rng.permutation(slots.size)]
    external = np.flatnonzero(p.external())
    national = external[p.home[external] < 0]
    based, start = by_home(external[p.home[external] >= 0], p.home, cn.n)
    for slot in order:
        size = ct.reference[slot]
        council = ct.council[slot]
        unit = cn.inhouse_unit[council]
        if spare[unit] >= size:  # insource now, at an emergency premium
            spare[unit] -= size
            insource(market, slot, params)
            continue
        near = [based[start[a] : start[a + 1]] for a in cn.near.of(council)]
        cols = np.sort(np.concatenate([national, *near]))
        allowed = ~ct.barred_now(np.array([slot]), cols, t)[0]
        candidates = cols[allowed & (spare[cols] >= size)]
        if candidates.size:  # emergency direct award to the best-placed provider with room
            best = candidates[np.argmax(p.quality[candidates])]
            spare[best] -= size
            one = np.array([best])
            price = bid_prices(np.array([size]), p.unit_cost(one, market.cost_level), p.markup[one])
            ct.place(
                slot,
                best,
                price=price[0, 0] * (1 + cp.emergency_premium),
                start=t + cp.mobilisation_quarters,
                end=t + cp.mobilisation_quarters + cp.emergency_contract_quarters,
                emergency=True,
            )
            continue
        ct.end[slot] = t + cp.retender_quarters  # gap: unmet need until a tender can award


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
    by :func:`sim.core.delivery.refresh_inhouse_prices`, and re-tendered when the term ends)."""
    unit = market.councils.inhouse_unit[market.contracts.council[slot]]
    t = market.quarter
    end = t + params.commissioning.emergency_contract_quarters
    market.contracts.place(slot, unit, price=0.0, start=t, end=end, emergency=True)


def leave_gaps(market: Market, slots: np.ndarray, params: Params) -> None:
    """Contracts no tender could place stay unserved until the next tender; after
    ``inhouse_rebuild_quarters`` in a gap the council rebuilds the service in-house (as
    councils took Carillion's services back)."""
    ct = market.contracts
    cp = params.commissioning
    t = market.quarter
    for slot in slots:
        if ct.holder[slot] >= 0 or ct.disrupted_at[slot] < 0:
            ct.disrupted_at[slot] = t  # the gap starts now
        ct.holder[slot] = -1
        if t - ct.disrupted_at[slot] >= cp.inhouse_rebuild_quarters:
            insource(market, slot, params)
        else:
            ct.end[slot] = t + cp.retender_quarters
