"""`[commissioning]`: how tenders are scored and how failures are handled, and the rule of the
score weights (docs/ODD.md, 7.1).

The weights' rule lives with the parameters it constrains: the schema checks it with
:func:`weight_rule_violation` and the tender round (:mod:`sim.core.tendering`) scores with
:func:`effective_weights` and :func:`social_value_weight_total`, so both use one definition.
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from sim.scenario.sections import P, Section

__all__ = [
    "CommissioningParams",
    "effective_weights",
    "social_value_weight_total",
    "weight_rule_violation",
]


class CommissioningParams(Section):
    """`[commissioning]`: how tenders are scored and how failures are handled."""

    price_weight: float = P(
        0.6,
        ge=0.0,
        le=1.0,
        unit="weight",
        description="Relative weight of price; price and quality share what social value and local "
        "preference leave, in this ratio.",
        source="Chorley 70/15/15; service contracts 60 quality / 40 price",
    )
    quality_weight: float = P(
        0.3,
        ge=0.0,
        le=1.0,
        unit="weight",
        description="Relative weight of quality (see price_weight).",
    )
    social_value_weight: float = P(
        0.1,
        ge=0.0,
        le=1.0,
        unit="share of score",
        description="Share of the tender score given to social value.",
        source="PPN 06/20 (2021) and PPN 002 (2025): at least 10% in central government",
    )
    social_value_local_weight: float = P(
        1.0,
        ge=0.0,
        le=1.0,
        unit="relative weight",
        description="Weight, within a bid's social value score, of local employment and supply "
        "chain (the bidder's local cost share). The three social value weights are relative: "
        "the score is their weighted mean.",
        source="assumption (National TOMs themes 1-2: jobs and skills, responsible regional "
        "business; Social Value Portal 2017; equal weights)",
    )
    social_value_reinvestment_weight: float = P(
        1.0,
        ge=0.0,
        le=1.0,
        unit="relative weight",
        description="Weight, within a bid's social value score, of surplus reinvested where the "
        "bidder is based: the share of its surplus that stays there (retained, or paid to "
        "owners living there), for a bidder based in a council; 0 for a national firm. The "
        "same for any owner with the same conduct.",
        source="assumption (National TOMs theme 3: healthier, safer communities; equal weights)",
    )
    social_value_commitments_weight: float = P(
        1.0,
        ge=0.0,
        le=1.0,
        unit="relative weight",
        description="Weight, within a bid's social value score, of the bidder's extra "
        "commitments (social_commitments of its type).",
        source="assumption (National TOMs themes 4-5 and measures bid on top; equal weights)",
    )
    local_preference: float = P(
        0.0,
        ge=0.0,
        le=1.0,
        unit="share of score",
        description="Share of the score for a bidder based in or next to the area ('Keeping it Local').",
    )
    bid_error: float = P(
        0.03,
        ge=0.0,
        le=1.0,
        unit="log-sd",
        description="Error of a bidder's cost estimate; the lowest bidder tends to have underestimated.",
    )
    emergency_premium: float = P(
        0.05,
        ge=0.0,
        le=5.0,
        unit="share of price",
        description="Mark-up paid on an emergency direct award or emergency in-house delivery.",
    )
    mobilisation_quarters: int = P(
        2,
        ge=0,
        le=8,
        unit="quarters",
        description="Time another provider needs to take over a failed contract (recruitment, TUPE); "
        "the in-house unit steps in at once.",
    )
    emergency_contract_quarters: int = P(
        4,
        ge=1,
        le=40,
        unit="quarters",
        description="Length of an emergency award before re-tender.",
    )
    transition_cost: float = P(
        0.03,
        ge=0.0,
        le=5.0,
        unit="share of yearly value",
        description="One-off cost to the council of re-procuring and mobilising a disrupted contract.",
        source="calibrated to the NAO's GBP 148m for ~420 Carillion contracts (see docs/validation.md)",
    )
    transition_local_share: float = P(
        0.5,
        ge=0.0,
        le=1.0,
        unit="share of transition cost",
        description="Share of transition costs spent in the council's area (its own procurement and "
        "commissioning staff); the rest goes to outside lawyers and advisers.",
    )
    transition_service_loss: float = P(
        0.25,
        ge=0.0,
        le=1.0,
        unit="share of a quarter",
        description="Service lost on a disrupted contract in the quarter it changes hands in an emergency.",
    )
    retender_quarters: int = P(
        2,
        ge=1,
        le=20,
        unit="quarters",
        description="Time to run a tender for a contract left with no provider.",
    )
    inhouse_rebuild_quarters: int = P(
        4,
        ge=0,
        le=40,
        unit="quarters",
        description="A contract no tender can place is rebuilt in-house after this long in a gap.",
        source="councils took Carillion's services in-house (NAO 2018); the delay is an assumption",
    )
    handback_loss: float = P(
        0.05,
        ge=0.0,
        le=1.0,
        unit="share of price",
        description="Loss tolerance of a provider with handback_headroom of financial headroom: "
        "a contract losing more than this share of its price counts as loss-making.",
    )
    handback_quarters: int = P(
        4,
        ge=1,
        le=40,
        unit="quarters",
        description="Consecutive loss-making quarters after which a provider hands a contract back.",
        source="ADASS 2017-18 surveys of home care handbacks",
    )
    fee_uplift: float = P(
        0.5,
        ge=0.0,
        le=1.0,
        unit="share of cost rise",
        description="Share of a cost shock councils pass into the prices of running contracts "
        "when it hits (a fee uplift); 0 = none (each contract's yearly price review, "
        "price_review, may still pass it on). In-house work always costs what it costs.",
        source="assumption: after the 2016 National Living Wage many councils raised fees by "
        "less than its cost (UKHCA 2016); fees rose 5.3% against a 6.7% NLW rise plus NICs in "
        "2025-26 (DHSC)",
    )
    price_review: float = P(
        0.5,
        ge=0.0,
        le=1.0,
        unit="share of the gap a year",
        description="Yearly price review of running contracts: at each anniversary of its start "
        "a contract's price moves this share of the way to its award price indexed to its "
        "holder's unit cost now; 0 = fixed prices until re-tender, 1 = full indexation. A fee "
        "uplift moves prices to the same target at once when a shock hits.",
        source="assumption: councils set fees yearly and are to consider the actual cost of "
        "care (Care Act 2014 statutory guidance 4.31); uplifts trailed cost rises (UKHCA 2016; "
        "fees +5.3% against a 6.7% NLW rise plus NICs in 2025-26, DHSC): half the gap a year",
    )
    handback_headroom: float = P(
        0.1,
        ge=0.0,
        le=5.0,
        unit="years of revenue",
        description="Financial headroom at which a provider tolerates losses of handback_loss "
        "before counting a contract loss-making; tolerance scales with headroom (none at the "
        "credit limit, twice at twice this), so a firm near its limit hands back sooner.",
    )
    handback_bar_quarters: int = P(
        12,
        ge=0,
        le=40,
        unit="quarters",
        description="A provider that handed a contract back may not be awarded it again, "
        "emergency awards included, for this long.",
        source="assumption (PCR 2015 reg. 57(8)(g), 57(11): exclusion for past performance, "
        "up to three years)",
    )
    handback_notice_quarters: int = P(
        1,
        ge=0,
        le=8,
        unit="quarters",
        description="Notice a provider gives when it hands a contract back: it delivers until "
        "then while the council re-tenders, so a handback disrupts service only if no one "
        "takes the contract (0: the contract is dropped at once, an emergency).",
        source="contracts give 4-12 weeks' notice; ADASS 2017-18: handbacks with notice as "
        "providers withdrew (estimate: one quarter)",
    )
    failure_regime: Literal["none", "administration"] = P(
        "none",
        unit="name",
        description="What happens to a failed provider's contracts: 'none', each council answers "
        "at once (insource, emergency award or gap); 'administration', an administrator keeps "
        "them delivered for administration_quarters while they are re-let by tender.",
        source="the Official Receiver ran Carillion's public contracts from January 2018 "
        "(NAO HC 1002, 2018)",
    )
    administration_quarters: int = P(
        4,
        ge=1,
        le=20,
        unit="quarters",
        description="How long an administrator keeps a failed provider's contracts delivered; "
        "what is not re-let by then falls to the council's answers.",
        source="assumption (Carillion's contracts were transferred over about a year)",
    )
    administration_cost: float = P(
        0.1,
        ge=0.0,
        le=5.0,
        unit="share of price",
        description="What the administrator costs on top of the contract price (an emergency cost).",
        source="assumption (the Official Receiver's costs for Carillion were met by government)",
    )

    @model_validator(mode="after")
    def _weights_add_up(self) -> CommissioningParams:
        # on the table itself, so setting one weight on a built scenario is checked too
        problem = weight_rule_violation(self)
        if problem:
            raise ValueError(problem)
        return self


def weight_rule_violation(commissioning: CommissioningParams) -> str | None:
    """What is wrong with the score weights in ``commissioning``, or None.

    Social value and local preference are absolute shares of the score, so together at most 1;
    price and quality share the rest, so they must not both be zero while a rest is left; the
    three relative weights within a social value score must not all be zero.
    """
    c = commissioning
    absolute = c.social_value_weight + c.local_preference
    if absolute > 1.0 + 1e-12:
        return "social_value_weight + local_preference must be at most 1"
    if c.price_weight + c.quality_weight <= 0 and absolute < 1:
        return "price_weight and quality_weight must not both be zero"
    if social_value_weight_total(c) <= 0:
        return (
            "social_value_local_weight, social_value_reinvestment_weight and "
            "social_value_commitments_weight must not all be zero"
        )
    return None


def effective_weights(commissioning: CommissioningParams) -> dict[str, float]:
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


def social_value_weight_total(commissioning: CommissioningParams) -> float:
    """Sum of the three relative weights within a social value score (must be positive)."""
    c = commissioning
    return (
        c.social_value_local_weight
        + c.social_value_reinvestment_weight
        + c.social_value_commitments_weight
    )
