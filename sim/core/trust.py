"""Trust: each council's public trust moves towards what its commissioning delivers.

The target is a weighted mean of service continuity (delivered / required) and the local share
of spend; trust moves a fraction of the way there each quarter and drops with the share of the
council's services disrupted this quarter (docs/ODD.md, 7.5). It has no term for who owns the
providers: two providers alike in what they do move trust alike. It is a stylised construct
and an indicator only: no decision reads it.
"""

from __future__ import annotations

import numpy as np

from sim.core.jit import kernel
from sim.core.state import Params

__all__ = ["trust_target", "update_trust"]


def trust_target(money: dict[str, np.ndarray], tp: Params) -> np.ndarray:
    """Each council's trust target from the quarter's ``money`` (required, delivered, paid,
    local per council) and ``tp`` (the scenario's ``[trust]``): the weighted mean of
    continuity (delivered / required, 1 when nothing is required) and the local share of
    spend."""
    return _trust_target(
        money["required"],
        money["delivered"],
        money["paid"],
        money["local"],
        float(tp.weight_continuity),
        float(tp.weight_local),
    )


@kernel
def _trust_target(required, delivered, paid, local, wc, wl):
    """The arithmetic of :func:`trust_target`, council by council."""
    n = required.size
    out = np.empty(n)
    w = wc + wl
    for c in range(n):
        continuity = delivered[c] / required[c] if required[c] > 0 else 1.0
        share = local[c] / paid[c] if paid[c] > 0 else 0.0
        out[c] = (wc * continuity + wl * share) / w
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
