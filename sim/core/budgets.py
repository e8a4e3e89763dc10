"""Budgets that bind: a council spends at most its budget (after cuts) plus a headroom a quarter.

A council's budget is the reference cost of the services it commissions (its yearly budget /
4 a quarter). Its spending limit is that budget times ``1 + budget_headroom`` times its budget
factor (1 until a cut). When what it has commissioned for the quarter would cost more, it buys
less of everything: each contract's volume is scaled by the same share, so paid and delivered
fall together while need does not (the rest is unmet need), and providers lose the revenue
and the costs of the work not bought. Delivery (:func:`sim.core.delivery.deliver_and_pay`) applies
the share; tenders' reserve price follows the budget factor (:func:`sim.core.tender_round.tender`).
"""

from __future__ import annotations

import numpy as np

from sim.core.jit import kernel
from sim.core.state import CouncilTable

__all__ = ["limits", "rationing", "spending_limit"]


def spending_limit(councils: CouncilTable, headroom: float) -> np.ndarray:
    """Each council's spending limit for the quarter, in pounds (:func:`limits` of its table)."""
    return limits(councils.total, float(headroom), councils.budget_factor)


@kernel
def limits(total, headroom, budget_factor):
    """Each council's spending limit: its budget at reference cost (``total``, pounds a
    quarter) x (1 + ``headroom``) x its budget factor."""
    out = np.empty(total.size)
    for c in range(total.size):
        out[c] = total[c] * (1.0 + headroom) * budget_factor[c]
    return out


@kernel
def rationing(commissioned, limit):
    """The share of full volume each council can buy this quarter: 1 within its limit, else
    ``limit / commissioned`` (so what it pays is exactly its limit).

    Args:
        commissioned: (n_councils,) what the quarter's contracts and spot purchases would cost
            at full volume, pounds.
        limit: (n_councils,) :func:`limits`.
    """
    share = np.ones(commissioned.size)
    for c in range(commissioned.size):
        if commissioned[c] > limit[c]:
            share[c] = max(limit[c], 0.0) / commissioned[c]
    return share
