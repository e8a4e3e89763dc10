"""Learning from experience: firms learn what their bids really earn, councils remember
failures.

A firm compares the mark-up it asks with the margin its books show each quarter; the gap
(the winner's curse of bidding on estimates, cost rises on fixed prices) is learned as an
exponential average, and the firm then bids at least its ``target_margin`` plus that gap
(:func:`sim.core.tender_round.adapt_markups`), so margins can sustain a firm instead of
settling at the floor. A council remembers the share of its contract value it has seen
disrupted; when it scores providers' bids it counts that risk (``councils.failure_aversion``)
and, the more so, the larger the share of its service the firm would then hold
(``councils.concentration_aversion``), so after a large failure it can bring services back by
choice and spreads what it buys: fewer eggs in one basket (docs/ODD.md, 7.7).
"""

from __future__ import annotations

import numpy as np

from sim.core.jit import kernel
from sim.core.state import QUARTERS_PER_YEAR, Market

__all__ = ["learn_margins", "remember_failures", "weighed_price"]


def learn_margins(market: Market) -> None:
    """Each trading firm with costs this quarter updates ``margin_gap``: a step of its
    ``learning_rate`` towards its mark-up less the margin on cost its books show."""
    p, accounts = market.providers, market.ledger.accounts
    _learn_margins(
        p.view("alive"),
        p.view("markup"),
        p.view("margin_gap"),
        p.view("learning_rate"),
        accounts["cost"],
        accounts["surplus"],
    )


@kernel
def _learn_margins(alive, markup, gap, rate, cost, surplus):
    """The arithmetic of :func:`learn_margins`: writes ``gap`` in place (rows past the
    quarter's accounts, providers added since, are left)."""
    for q in range(min(alive.size, cost.size)):
        if alive[q] and rate[q] > 0 and cost[q] > 0:
            earned = surplus[q] / cost[q]
            gap[q] = (1.0 - rate[q]) * gap[q] + rate[q] * (markup[q] - earned)


def remember_failures(market: Market, memory: float) -> None:
    """Each council's ``failure_risk`` moves ``memory`` of the way towards the yearly share of
    its contract value disrupted this quarter (failures and handbacks that changed hands)."""
    cn, ledger = market.councils, market.ledger
    cn.failure_risk = _remember(cn.failure_risk, ledger.disrupted_value, cn.total, float(memory))


@kernel
def _remember(risk, disrupted, total, memory):
    """The arithmetic of :func:`remember_failures`."""
    out = np.empty(risk.size)
    for c in range(risk.size):
        seen = QUARTERS_PER_YEAR * disrupted[c] / total[c] if total[c] > 0 else 0.0
        out[c] = (1.0 - memory) * risk[c] + memory * min(seen, 1.0)
    return out


@kernel
def weighed_price(bid, failure_aversion, failure_risk, concentration_aversion, exposure):
    """A firm's bid as a council weighs it: bid x (1 + failure_aversion x failure_risk x
    (1 + concentration_aversion x exposure)), ``exposure`` being the share of the council's
    service (at reference cost) the firm would hold with this contract. A council that has
    seen no failure (``failure_risk`` 0) weighs the bid as it is."""
    return bid * (1.0 + failure_aversion * failure_risk * (1.0 + concentration_aversion * exposure))
