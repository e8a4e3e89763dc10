"""Delivery and payment: every contract is delivered and paid, each pound is followed to where
it is spent, and each provider books its quarter.

Every pound a council pays goes to one provider leg (the holder, a subcontractor for its
share, or the in-house unit covering extra demand). A leg's revenue is split into its costs and
its surplus; costs are spent locally in ``local_cost_share`` and leak otherwise; a mutual's or
in-house unit's surplus stays local, an outsourcer's leaves the area (dividends to
shareholders, or retained at head office): :func:`quarter_flows` is where money leaves the
area. So, by construction and checked in the tests: paid = local + leaked, and
revenue = costs + surplus.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core import budgets, jit
from sim.core.state import QUARTERS_PER_YEAR, Market, Params, ProviderKind, ProviderTable

__all__ = [
    "Flows",
    "administered_legs",
    "deliver_and_pay",
    "handback_tolerance",
    "headroom",
    "quarter_flows",
    "refresh_inhouse_prices",
    "settle_accounts",
    "transition_flows",
    "update_inhouse_capacity",
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


def quarter_flows(
    slot: np.ndarray,
    provider: np.ndarray,
    council: np.ndarray,
    revenue: np.ndarray,
    cost: np.ndarray,
    kind: np.ndarray,
    local_cost_share: np.ndarray,
) -> Flows:
    """Split each leg's revenue into local and leaked money.

    Args:
        slot, provider, council: (n_legs,) which contract, provider and paying council.
        revenue: (n_legs,) pounds paid to the leg this quarter.
        cost: (n_legs,) pounds the provider spends delivering it.
        kind: (n_providers,) ProviderKind of each provider.
        local_cost_share: (n_providers,) share of costs spent in the area.
    """
    share = local_cost_share[provider]
    # Only the council's pounds are split: a leg that costs more than it earns spends the
    # provider's own cash beyond its revenue, and that is not council money kept local.
    funded = np.minimum(cost, revenue)
    kept = revenue - funded  # the surplus, or 0 on a loss
    surplus_local = kind[provider] != ProviderKind.OUTSOURCER
    local = share * funded + np.where(surplus_local, kept, 0.0)
    leaked = (1.0 - share) * funded + np.where(surplus_local, 0.0, kept)
    return Flows(slot, provider, council, revenue, cost, local, leaked)


def transition_flows(transition: np.ndarray, local_share: float) -> tuple[np.ndarray, np.ndarray]:
    """Each council's transition costs this quarter (re-procuring and mobilising disrupted
    contracts) split into what is spent locally and what leaves: ``local_share`` goes to the
    council's own procurement and commissioning staff, the rest to outside advisers."""
    local = transition * local_share
    return local, transition - local


def settle_accounts(
    flows: Flows,
    cash: np.ndarray,
    extraction: np.ndarray,
    interest_rate: np.ndarray,
    kind: np.ndarray,
) -> dict[str, np.ndarray]:
    """Book a quarter into each provider's cash; return its profit-and-loss lines.

    The surplus is paid out as dividends in ``extraction`` (when positive); borrowing costs
    interest. In-house units hold no cash of their own: the council stands behind them.
    ``cash`` is updated in place.
    """
    n = cash.shape[0]
    revenue = np.bincount(flows.provider, flows.revenue, minlength=n)
    cost = np.bincount(flows.provider, flows.cost, minlength=n)
    surplus = revenue - cost
    dividends = extraction * np.maximum(surplus, 0.0)
    interest = interest_rate * np.maximum(-cash, 0.0)
    external = kind != ProviderKind.INHOUSE
    cash += np.where(external, surplus - dividends - interest, 0.0)
    return {
        "revenue": revenue,
        "cost": cost,
        "surplus": surplus,
        "dividends": dividends,
        "interest": interest,
    }


def headroom(providers: ProviderTable) -> np.ndarray:
    """Financial headroom of each provider, as its accounts show it: (cash + credit) in years
    of revenue (at least a quarter of capacity, so a new firm is not infinitely healthy)."""
    p = providers
    if jit.compiled():
        from sim.core.kernels import quarter

        return quarter.headroom(
            p.view("revenue_last"), p.view("capacity"), p.view("cash"), p.view("credit_limit")
        )
    revenue_year = np.maximum(p.view("revenue_last"), p.view("capacity") * 0.25) * QUARTERS_PER_YEAR
    return (p.view("cash") + p.view("credit_limit")) / np.maximum(revenue_year, 1.0)


def refresh_inhouse_prices(market: Market, emergency_premium: float) -> None:
    """In-house services cost what the unit spends (no margin, no fixed price), plus the
    premium while the unit covers an emergency."""
    ct, p = market.contracts, market.providers
    if jit.compiled():
        from sim.core.kernels import quarter

        quarter.refresh_inhouse_prices(
            ct.view("holder"),
            ct.view("reference"),
            ct.view("emergency"),
            ct.view("price"),
            p.view("kind"),
            p.view("cost_factor"),
            market.cost_level,
            emergency_premium,
        )
        return
    ih = np.flatnonzero(ct.held_by(p.kind, ProviderKind.INHOUSE))
    premium = np.where(ct.emergency[ih], 1.0 + emergency_premium, 1.0)
    ct.price[ih] = ct.reference[ih] * p.unit_cost(ct.holder[ih], market.cost_level) * premium


def handback_tolerance(
    headroom: np.ndarray, handback_loss: float, handback_headroom: float
) -> np.ndarray:
    """The loss (share of price) each provider bears on a contract before counting it
    loss-making: ``handback_loss`` at ``handback_headroom`` years of headroom, in proportion
    to headroom between none (at its credit limit) and twice that. So providers differ, and
    a firm running out of money hands contracts back sooner (no single cliff)."""
    if handback_headroom <= 0:
        return np.full(headroom.shape, handback_loss)
    return handback_loss * np.clip(headroom / handback_headroom, 0.0, 2.0)


def deliver_and_pay(market: Market, params: Params) -> None:
    """Deliver every contract and pay for it: build the quarter's legs, follow the money
    (:func:`quarter_flows`), book it (:func:`settle_accounts`), count each loss-making
    contract towards a handback, and write the quarter's money into the ledger."""
    if jit.compiled():
        _deliver_and_pay_compiled(market, params)
        return
    ct, p, cn, ledger = market.contracts, market.providers, market.councils, market.ledger
    cp = params.commissioning
    t = market.quarter
    cost_level = market.cost_level
    holder = ct.view("holder")
    reference = ct.view("reference")
    delivering = (holder >= 0) & (ct.view("start") <= t)
    fraction = np.where(delivering, 1.0, 0.0)
    fraction[delivering & (ct.view("disrupted_at") == t)] = 1.0 - cp.transition_service_loss

    # Demand above contracted levels: the in-house unit covers what it can, at a premium.
    demand = market.demand_factor[t]
    council = ct.view("council")
    required = reference * demand
    units = cn.inhouse_unit
    extra = np.zeros(cn.n)
    if demand > 1.0:
        want = np.bincount(council, reference * (demand - 1.0), minlength=cn.n)
        spare = np.maximum(cn.inhouse_capacity - ct.used_capacity(p.n)[units], 0.0)
        extra = np.minimum(want, spare)
    spot_price = p.unit_cost(units, cost_level) * (1 + cp.emergency_premium)
    # Contracts an administrator delivers (failure_regime "administration").
    admin, admin_by, admin_paid = administered_legs(market, cp.administration_cost)

    # Budgets bind: a council over its spending limit buys less of everything (sim.core.budgets).
    commissioned = np.bincount(council, ct.view("price") * fraction, minlength=cn.n)
    commissioned += np.bincount(council[admin], admin_paid, minlength=cn.n)
    limit = budgets.spending_limit(cn, params.councils.budget_headroom)
    bought = budgets.rationing(commissioned + extra * spot_price, limit)
    fraction *= bought[council]
    extra *= bought
    admin_bought = bought[council[admin]]
    admin_paid = admin_paid * admin_bought
    spot = np.flatnonzero(extra > 0)
    spot_paid = extra[spot] * spot_price[spot]

    slots = np.flatnonzero(fraction > 0)
    h = holder[slots]
    sub = ct.subcontractor[slots]
    s = np.where(sub >= 0, params.outsourcers.subcontract_share, 0.0)
    paid = ct.price[slots] * fraction[slots]
    work = reference[slots] * fraction[slots]
    is_ih = p.kind[h] == ProviderKind.INHOUSE
    holder_cost = np.where(is_ih, paid, work * (1 - s) * p.unit_cost(h, cost_level))
    # A subcontracted leg: the subcontractor is paid its own price for the work it does, out
    # of the holder's price.
    with_sub = np.flatnonzero(sub >= 0)
    sub_ids = sub[with_sub]
    sub_pay = np.zeros(slots.size)
    sub_pay[with_sub] = ct.subcontract_price[slots[with_sub]] * fraction[slots[with_sub]]
    sub_revenue = sub_pay[with_sub]
    sub_cost = work[with_sub] * s[with_sub] * p.unit_cost(sub_ids, cost_level)

    leg_slot = np.concatenate([slots, slots[with_sub], np.full(spot.size, -1), admin])
    leg_provider = np.concatenate([h, sub_ids, units[spot], admin_by])
    leg_council = np.concatenate([council[slots], council[slots[with_sub]], spot, council[admin]])
    revenue = np.concatenate([paid - sub_pay, sub_revenue, spot_paid, admin_paid])
    cost = np.concatenate([holder_cost, sub_cost, spot_paid, admin_paid])
    flows = quarter_flows(
        leg_slot,
        leg_provider,
        leg_council,
        revenue,
        cost,
        p.view("kind"),
        p.view("local_cost_share"),
    )
    # Each holder's loss tolerance before this quarter's books (a firm near its limit has less).
    tolerance = handback_tolerance(headroom(p), cp.handback_loss, cp.handback_headroom)[h]
    # A failed provider's books are closed: no interest accrues on its debts after failure.
    interest_rate = np.where(p.view("alive"), p.view("interest_rate"), 0.0)
    accounts = settle_accounts(
        flows, p.view("cash"), p.view("extraction"), interest_rate, p.view("kind")
    )
    p.view("revenue_last")[:] = accounts["revenue"]
    p.view("cost_last")[:] = accounts["cost"]

    # Contracts losing more than the holder's tolerance build up towards a handback.
    holder_loss = (paid - sub_pay - holder_cost) < -tolerance * (paid - sub_pay)
    streak = ct.loss_streak[slots]
    ct.loss_streak[slots] = np.where(holder_loss & ~is_ih, streak + 1, 0)

    premium = cp.emergency_premium / (1 + cp.emergency_premium)
    emergency_paid = float((paid * ct.emergency[slots]).sum())
    delivered = np.bincount(council, reference * fraction, minlength=cn.n) + extra
    delivered += np.bincount(council[admin], reference[admin] * admin_bought, minlength=cn.n)
    admin_share = cp.administration_cost / (1 + cp.administration_cost)
    # Transition costs are council spend too: each council pays for its own disruptions.
    hit = ledger.disrupted_value
    transition = ledger.transition_cost * hit / hit.sum() if hit.sum() > 0 else np.zeros(cn.n)
    transition_local, transition_leaked = transition_flows(transition, cp.transition_local_share)
    ledger.flows = flows
    ledger.accounts = accounts
    ledger.money = {
        "required": np.bincount(council, required, minlength=cn.n),
        "delivered": delivered,
        "paid": np.bincount(flows.council, flows.revenue, minlength=cn.n) + transition,
        "local": np.bincount(flows.council, flows.local, minlength=cn.n) + transition_local,
        "leaked": np.bincount(flows.council, flows.leaked, minlength=cn.n) + transition_leaked,
        "transition": transition,
        "bought": bought,
        "emergency_cost": emergency_paid * premium
        + float(spot_paid.sum()) * premium
        + float(admin_paid.sum()) * admin_share
        + ledger.transition_cost,
    }


def _deliver_and_pay_compiled(market: Market, params: Params) -> None:
    """:func:`deliver_and_pay` by its kernel (:func:`sim.core.kernels.quarter.deliver_and_pay`)."""
    from sim.core.kernels import quarter

    ct, p, cn, ledger = market.contracts, market.providers, market.councils, market.ledger
    cp = params.commissioning
    out = quarter.deliver_and_pay(
        ct.view("holder"),
        ct.view("reference"),
        ct.view("start"),
        ct.view("disrupted_at"),
        ct.view("council"),
        ct.view("price"),
        ct.view("subcontractor"),
        ct.view("subcontract_price"),
        ct.view("emergency"),
        ct.view("loss_streak"),
        ct.view("administered_until"),
        ct.view("administered_by"),
        ct.view("administered_price"),
        p.view("kind"),
        p.view("cost_factor"),
        p.view("alive"),
        p.view("cash"),
        p.view("extraction"),
        p.view("interest_rate"),
        p.view("revenue_last"),
        p.view("cost_last"),
        p.view("capacity"),
        p.view("credit_limit"),
        p.view("local_cost_share"),
        cn.inhouse_unit,
        cn.inhouse_capacity,
        cn.total,
        cn.budget_factor,
        ledger.disrupted_value,
        market.cost_level,
        market.quarter,
        float(market.demand_factor[market.quarter]),
        float(cp.transition_service_loss),
        float(cp.emergency_premium),
        float(cp.administration_cost),
        float(params.councils.budget_headroom),
        float(params.outsourcers.subcontract_share),
        float(cp.handback_loss),
        float(cp.handback_headroom),
        float(cp.transition_local_share),
        float(ledger.transition_cost),
    )
    legs, amounts, accounts, money, emergency_cost = out
    ledger.flows = Flows(*legs, *amounts)
    ledger.accounts = dict(zip(_ACCOUNTS, accounts, strict=True))
    ledger.money = dict(zip(_MONEY, money, strict=True))
    ledger.money["emergency_cost"] = emergency_cost


_ACCOUNTS = ("revenue", "cost", "surplus", "dividends", "interest")
_MONEY = ("required", "delivered", "paid", "local", "leaked", "transition", "bought")


def administered_legs(
    market: Market, administration_cost: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The contracts an administrator delivers this quarter: their slots, the failed provider
    whose books they were on, and what the council pays (the contract's price plus
    ``administration_cost`` of it). The administrator spends what it is paid (no surplus), so
    the failed provider's closed books do not move."""
    ct = market.contracts
    slots = np.flatnonzero(ct.administered(market.quarter))
    paid = ct.administered_price[slots] * (1.0 + administration_cost)
    return slots, ct.administered_by[slots], paid


def update_inhouse_capacity(market: Market, retained_share: float) -> None:
    """Staff transfer with the work they lose (TUPE); a retained core stays."""
    cn, p = market.councils, market.providers
    if jit.compiled():
        from sim.core.kernels import quarter

        ct = market.contracts
        cn.inhouse_capacity = quarter.update_inhouse_capacity(
            ct.view("holder"),
            ct.view("reference"),
            cn.inhouse_unit,
            cn.total,
            p.view("capacity"),
            retained_share,
        )
        return
    used = market.contracts.used_capacity(p.n)[cn.inhouse_unit]
    cn.inhouse_capacity = np.maximum(used, retained_share * cn.total)
    p.capacity[cn.inhouse_unit] = cn.inhouse_capacity
