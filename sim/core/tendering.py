"""How a tender scores a bid: the score weights' rule and a provider's social value score.

Scoring is the "most advantageous tender" (docs/ODD.md, 7.1): price, quality, social value and
local preference, with the score weights of the schema (:mod:`sim.scenario.commissioning`), so
the schema's check and the score use one rule; the round itself (bids, awards, terms) is
:mod:`sim.core.tender_round`.
"""

from __future__ import annotations

import numpy as np

from sim.core.numeric import kept_where_based
from sim.core.state import Params
from sim.scenario.schema import effective_weights, social_value_weight_total

__all__ = [
    "effective_weights",
    "reinvested_share",
    "social_value_scores",
    "social_value_weight_total",
]


def social_value_scores(
    home: np.ndarray,
    extraction: np.ndarray,
    owners_local_share: np.ndarray,
    local_cost_share: np.ndarray,
    commitments: np.ndarray,
    commissioning: Params,
) -> np.ndarray:
    """Each provider's social value score (0-1) from what it does, as a tender scores it:
    the same for any two providers with the same attributes, whoever owns them.

    The weighted mean of three attributes (National TOMs themes, Social Value Portal 2017):
    local employment and supply chain (its ``local_cost_share``), surplus reinvested where
    the provider is based (:func:`reinvested_share`) and the extra ``commitments`` it
    offers; the weights are the ``social_value_*_weight`` parameters of ``commissioning``.
    """
    c = commissioning
    weighted = (
        c.social_value_local_weight * local_cost_share
        + c.social_value_reinvestment_weight
        * reinvested_share(home, extraction, owners_local_share)
        + c.social_value_commitments_weight * commitments
    )
    return weighted / social_value_weight_total(c)


def reinvested_share(
    home: np.ndarray, extraction: np.ndarray, owners_local_share: np.ndarray
) -> np.ndarray:
    """The share of a provider's surplus that stays where it is based: what it retains, plus
    the part of its pay-out received by owners living there; 0 for a national firm (based in
    no council). The rule :func:`sim.core.delivery.local_and_leaked` follows money by."""
    kept = kept_where_based(
        np.asarray(extraction, dtype=float), np.asarray(owners_local_share, dtype=float)
    )
    return np.where(np.asarray(home) >= 0, kept, 0.0)
