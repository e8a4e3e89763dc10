"""Price reviews: a running contract's price follows its holder's cost, once a year.

A contract's price is set at award (the holder's bid: its unit cost then, its estimate of the
work and its mark-up). At each anniversary of its start the price moves ``price_review`` of
the way towards the award price indexed to the holder's unit cost (``award_price`` x the unit
cost now / ``award_cost``, its unit cost at award): the bid as it would be priced at today's
cost, estimate error and mark-up included. So 0 is a fixed-price contract (a wage rise is the
holder's loss until re-tender) and 1 full indexation; in between, the gap a cost rise opens
closes by that share each year. A fee uplift (:func:`sim.core.shocks.fee_uplift`) moves
prices towards the same target at once, when a shock hits; a review then closes only what the
uplift left (docs/ODD.md, 7.4).
"""

from __future__ import annotations

from sim.core.jit import kernel
from sim.core.state import QUARTERS_PER_YEAR, Market

__all__ = ["review_prices", "reviewed_prices"]


def review_prices(market: Market, share: float) -> None:
    """Review the price of every contract at an anniversary of its start this quarter
    (:func:`reviewed_prices`); writes ``price`` in place."""
    if share <= 0:
        return
    ct, p = market.contracts, market.providers
    ct.view("price")[:] = reviewed_prices(
        ct.view("holder"),
        ct.view("start"),
        ct.view("price"),
        ct.view("award_price"),
        ct.view("award_cost"),
        p.view("kind"),
        p.view("cost_factor"),
        market.cost_level,
        market.quarter,
        float(share),
    )


@kernel
def reviewed_prices(
    holder, start, price, award_price, award_cost, kind, cost_factor, cost_level, t, share
):
    """Each contract's price after this quarter's reviews: a held contract with a reviewed
    price (``award_cost`` > 0) a whole number of years past its ``start`` moves ``share`` of
    the way to ``award_price`` x its holder's unit cost in quarter ``t`` (``cost_factor`` x
    ``cost_level`` of its type) / ``award_cost``; the others keep their price."""
    out = price.copy()
    for i in range(holder.size):
        h = holder[i]
        if h < 0 or award_cost[i] <= 0 or t <= start[i]:
            continue
        if (t - start[i]) % QUARTERS_PER_YEAR == 0:
            # a ratio, so that a cost unchanged since award leaves the price exactly as it is
            target = award_price[i] * ((cost_factor[h] * cost_level[kind[h]]) / award_cost[i])
            out[i] = price[i] + share * (target - price[i])
    return out
