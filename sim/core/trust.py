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

from sim.core import jit
from sim.core.state import Params, ProviderKind

__all__ = ["trust_target", "update_trust"]


def trust_target(money: dict[str, np.ndarray], value_by_kind: np.ndarray, tp: Params) -> np.ndarray:
    """Each council's trust target from the quarter's ``money`` (required, delivered, paid,
    local per council), ``value_by_kind`` ((n_councils, 3) contract value by provider type) and
    ``tp`` (the scenario's ``[trust]``)."""
    if jit.compiled():
        from sim.core.kernels import quarter

        return quarter.trust_target(
            money["required"],
            money["delivered"],
            money["paid"],
            money["local"],
            np.ascontiguousarray(value_by_kind, dtype=float),
            float(tp.weight_continuity),
            float(tp.weight_local),
            float(tp.weight_ownership),
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        continuity = np.where(money["required"] > 0, money["delivered"] / money["required"], 1.0)
        local = np.where(money["paid"] > 0, money["local"] / money["paid"], 0.0)
        total = value_by_kind.sum(axis=1)
        ownership = np.where(
            total > 0,
            (value_by_kind[:, ProviderKind.MUTUAL] + value_by_kind[:, ProviderKind.INHOUSE])
            / total,
            0.0,
        )
    w = tp.weight_continuity + tp.weight_local + tp.weight_ownership
    return (
        tp.weight_continuity * continuity
        + tp.weight_local * local
        + tp.weight_ownership * ownership
    ) / w


def update_trust(
    trust: np.ndarray,
    target: np.ndarray,
    disrupted_value: np.ndarray,
    council_total: np.ndarray,
    tp: Params,
) -> np.ndarray:
    """Trust after one quarter: a step of ``adjustment`` towards ``target``, less
    ``failure_penalty`` times the share of the council's services disrupted, within 0-1."""
    if jit.compiled():
        from sim.core.kernels import quarter

        return quarter.update_trust(
            trust,
            target,
            disrupted_value,
            council_total,
            float(tp.adjustment),
            float(tp.failure_penalty),
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        hit = disrupted_value / council_total
    moved = trust + tp.adjustment * (target - trust) - tp.failure_penalty * hit
    return np.clip(moved, 0.0, 1.0)
