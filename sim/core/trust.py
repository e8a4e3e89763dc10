"""Trust: each council's public trust moves towards what its commissioning delivers.

The target is a weighted mean of service continuity (delivered / required), the local share
of spend, and local ownership (the share of contract value held by mutuals and in-house
units); trust moves a fraction of the way there each quarter and drops with the share of the
council's services disrupted this quarter (docs/ODD.md, 7.5). It is a stylised construct and
an indicator only: no decision reads it (the target rewards local ownership by assumption, so
a decision fed by it would build in the claim the model tests; docs/ODD.md, 7.5, says why).
"""

from __future__ import annotations

import numpy as np

from sim.core.jit import kernel
from sim.core.numeric import INHOUSE, MUTUAL
from sim.core.state import Market, Params

__all__ = ["trust_target", "update_trust", "value_by_council_and_kind"]


def trust_target(money: dict[str, np.ndarray], value_by_kind: np.ndarray, tp: Params) -> np.ndarray:
    """Each council's trust target from the quarter's ``money`` (required, delivered, paid,
    local per council), ``value_by_kind`` ((n_councils, 3) contract value by provider type) and
    ``tp`` (the scenario's ``[trust]``): the weighted mean of continuity (delivered /
    required, 1 when nothing is required), the local share of spend and the share of contract
    value held by mutuals and in-house units."""
    return _trust_target(
        money["required"],
        money["delivered"],
        money["paid"],
        money["local"],
        np.ascontiguousarray(value_by_kind, dtype=float),
        float(tp.weight_continuity),
        float(tp.weight_local),
        float(tp.weight_ownership),
    )


@kernel
def _trust_target(required, delivered, paid, local, value_by_kind, wc, wl, wo):
    """The arithmetic of :func:`trust_target`, council by council."""
    n = required.size
    out = np.empty(n)
    w = wc + wl + wo
    for c in range(n):
        continuity = delivered[c] / required[c] if required[c] > 0 else 1.0
        share = local[c] / paid[c] if paid[c] > 0 else 0.0
        total = value_by_kind[c, 0] + value_by_kind[c, 1] + value_by_kind[c, 2]
        owned = value_by_kind[c, MUTUAL] + value_by_kind[c, INHOUSE]
        ownership = owned / total if total > 0 else 0.0
        out[c] = (wc * continuity + wl * share + wo * ownership) / w
    return out


def update_trust(
    trust: np.ndarray,
    target: np.ndarray,
    disrupted_value: np.ndarray,
    council_total: np.ndarray,
    tp: Params,
) -> np.ndarray:
    """Trust after one quarter: a step of ``adjustment`` towards ``target``, less
    ``failure_penalty`` times the share of the council's services disrupted, within 0-1."""
    return _update_trust(
        trust,
        target,
        disrupted_value,
        council_total,
        float(tp.adjustment),
        float(tp.failure_penalty),
    )


@kernel
def _update_trust(trust, target, disrupted_value, council_total, adjustment, penalty):
    """The arithmetic of :func:`update_trust`, council by council (NumPy's division by
    zero: inf or NaN, clipped)."""
    out = np.empty(trust.size)
    for c in range(trust.size):
        hit = disrupted_value[c] / council_total[c] if council_total[c] != 0 else np.nan
        if council_total[c] == 0 and disrupted_value[c] != 0:
            hit = np.inf if disrupted_value[c] > 0 else -np.inf
        moved = trust[c] + adjustment * (target[c] - trust[c]) - penalty * hit
        if moved < 0.0:
            moved = 0.0
        elif moved > 1.0:
            moved = 1.0
        out[c] = moved
    return out


def value_by_council_and_kind(market: Market) -> np.ndarray:
    """(n_councils, 3) contract value each council has with outsourcers, mutuals and in-house
    units (the ownership part of :func:`trust_target`)."""
    return _value_by_council_and_kind(
        market.contracts.columns(), market.providers.view("kind"), market.councils.n
    )


@kernel
def _value_by_council_and_kind(ct, kind, n_councils):
    """The arithmetic of :func:`value_by_council_and_kind`, added in contract order."""
    out = np.zeros((n_councils, 3))
    for i in range(ct.holder.size):
        h = ct.holder[i]
        if h >= 0:
            out[ct.council[i], kind[h]] += ct.price[i]
    return out
