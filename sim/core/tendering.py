"""The tender round: who bids, what they bid, scores, awards, terms and what bidders learn.

A round takes every contract being tendered this quarter (rows) and the providers that may bid
for each (:mod:`sim.core.bidders`); bids are priced and scored, then awarded one contract at a
time in a seeded order because each award uses up the winner's capacity. Scoring is the "most
advantageous tender" (docs/ODD.md, 7.1); the weights' rule and their effective values are here
too, so the schema's check and the score use one definition.

The round's arithmetic is compiled (:mod:`sim.core.tender_round`), imported when a round
first runs: the scenario's schema checks its weights here, and a process that only validates
a scenario does not load numba.
"""

from __future__ import annotations

import numpy as np

from sim.core.state import Market, Params, ProviderKind

__all__ = [
    "effective_weights",
    "social_value_scores",
    "social_value_weight_total",
    "tender",
    "tender_due",
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


def tender(
    market: Market,
    slots: np.ndarray,
    params: Params,
    rng: np.random.Generator,
    *,
    allow_inhouse: bool,
    start_after: int | np.ndarray = 0,
) -> np.ndarray:
    """Run one tender round over contract ``slots``: bid, score, award, choose
    subcontractors, adapt mark-ups. Returns the slots no one took and no incumbent holds on
    (gaps, for :func:`sim.core.failure.leave_gaps`). Winners start delivering ``start_after``
    quarters from now (per slot or one for all; 0: at once; a contract an administrator
    delivers is let to start after mobilisation).

    The columns are the outsourcers and mutuals that may bid, plus (when councils let their
    own units bid) one column for each council's own in-house unit, which bids at cost and is
    always local. A bid above the council's price cap is not eligible.
    """
    if slots.size == 0:
        return slots
    begin = market.quarter + np.broadcast_to(start_after, slots.shape)
    from sim.core.tender_round import tender_round

    weights = effective_weights(params.commissioning)
    return tender_round(market, slots, params, rng, allow_inhouse, begin, weights)


def tender_due(market: Market, params: Params, rng: np.random.Generator) -> np.ndarray:
    """Tender every contract that ends now; an in-house service is renewed without tender
    unless it is market-tested (or was an emergency). Returns the slots left in a gap."""
    from sim.core.tender_round import tender_due_round

    return tender_due_round(market, params, rng, effective_weights(params.commissioning))
