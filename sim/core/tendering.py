"""How a tender scores a bid: the score weights' rule and a provider's social value score.

Scoring is the "most advantageous tender" (docs/ODD.md, 7.1): price, quality, social value and
local preference, with the score weights of the schema (:mod:`sim.scenario.commissioning`), so
the schema's check and the score use one rule; the round itself (bids, awards, terms) is
:mod:`sim.core.tender_round`.
"""

from __future__ import annotations

import numpy as np

from sim.core.state import Params, ProviderKind
from sim.scenario.schema import effective_weights, social_value_weight_total

__all__ = [
    "effective_weights",
    "social_value_scores",
    "social_value_weight_total",
]


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
