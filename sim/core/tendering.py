"""How a tender scores a bid: the score weights' rule and a provider's social value score.

Scoring is the "most advantageous tender" (docs/ODD.md, 7.1): price, quality, social value and
local preference. The weights' rule and their effective values are here, so the schema's check
and the score use one definition; the round itself (bids, awards, terms) is
:mod:`sim.core.tender_round`. This module loads no numba: the scenario's schema imports it.
"""

from __future__ import annotations

import numpy as np

from sim.core.state import Params, ProviderKind

__all__ = [
    "effective_weights",
    "social_value_scores",
    "social_value_weight_total",
    "weight_rule_violation",
]


def weight_rule_violation(commissioning: Params) -> str | None:
    """What is wrong with the score weights in ``commissioning``, or None.

    Social value and local preference are absolute shares of the score, so together at most 1;
    price and quality share the rest, so they must not both be zero while a rest is left.
    """
    c = commissioning
    absolute = c.social_value_weight + c.local_preference
    if absolute > 1.0 + 1e-12:
        return (
            "commissioning.social_value_weight + commissioning.local_preference must be at most 1"
        )
    if c.price_weight + c.quality_weight <= 0 and absolute < 1:
        return "commissioning.price_weight and quality_weight must not both be zero"
    return None


def effective_weights(commissioning: Params) -> dict[str, float]:
    """The weights a tender score uses: price and quality rescaled to share what social value
    and local preference leave, keeping their ratio (so sweeping ``social_value_weight`` alone
    moves weight from price and quality in proportion). Keys: price, quality, social_value
    (the social value weight), local (as written to summary.json)."""
    c = commissioning
    rest = 1.0 - c.social_value_weight - c.local_preference
    pq = c.price_weight + c.quality_weight
    return {
        "price": rest * c.price_weight / pq if pq > 0 else 0.0,
        "quality": rest * c.quality_weight / pq if pq > 0 else 0.0,
        "social_value": c.social_value_weight,
        "local": c.local_preference,
    }


def social_value_weight_total(commissioning: Params) -> float:
    """Sum of the three relative weights within a social value score (must be positive)."""
    c = commissioning
    return (
        c.social_value_local_weight
        + c.social_value_ownership_weight
        + c.social_value_commitments_weight
    )


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
