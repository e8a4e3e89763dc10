"""The scenario schema: every parameter with its default, unit, range and source.

A scenario file (TOML) states only what differs from these defaults. Each TOML table is a
pydantic model (:mod:`sim.scenario.sections`: the run, the geography, the councils;
:mod:`sim.scenario.commissioning`: tenders and failures, with the score weights' rule;
:mod:`sim.scenario.providers`: outsourcers and mutuals; here: trust and shocks); this module
puts them together as :class:`Scenario`, with the rules that span tables. Loading
(:mod:`sim.scenario.loading`) validates a whole file against it once, at the edge, so the
model never checks a parameter in its hot loop.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, model_validator

from sim.inputs import quote
from sim.scenario.commissioning import (
    CommissioningParams,
    effective_weights,
    social_value_weight_total,
    weight_rule_violation,
)
from sim.scenario.providers import (
    LocalFirmParams,
    MutualParams,
    OutsourcerParams,
    outsourcer_name,
)
from sim.scenario.sections import CouncilParams, NetworkParams, P, ScenarioMeta, Section

__all__ = [
    "COLLAPSE_TARGETS",
    "SHOCK_KINDS",
    "CommissioningParams",
    "CouncilParams",
    "LocalFirmParams",
    "MutualParams",
    "NetworkParams",
    "OutsourcerParams",
    "Scenario",
    "ScenarioMeta",
    "Shock",
    "TrustParams",
    "WorkforceParams",
    "effective_weights",
    "outsourcer_name",
    "social_value_weight_total",
    "weight_rule_violation",
]


class TrustParams(Section):
    """`[trust]`: a stylised index of public trust in each council's commissioning: service
    continuity and money kept local, no term for who owns the providers (docs/ODD.md, 7.5)."""

    initial: float = P(0.5, ge=0.0, le=1.0, unit="index 0-1", description="Trust at the start.")
    adjustment: float = P(
        0.1,
        ge=0.0,
        le=1.0,
        unit="per quarter",
        description="Share of the gap to its target closed each quarter.",
    )
    weight_continuity: float = P(
        0.6,
        ge=0.0,
        le=1.0,
        unit="weight",
        description="Weight of service delivered in the trust target.",
    )
    weight_local: float = P(
        0.4, ge=0.0, le=1.0, unit="weight", description="Weight of money kept local."
    )
    failure_penalty: float = P(
        0.2,
        ge=0.0,
        le=1.0,
        unit="index per share disrupted",
        description="Immediate fall in trust per share of a council's value disrupted in a quarter.",
    )

    @model_validator(mode="after")
    def _weights_positive(self) -> TrustParams:
        if self.weight_continuity + self.weight_local <= 0:
            raise ValueError("the trust weights must not all be zero")
        return self


class WorkforceParams(Section):
    """`[workforce]`: each area's care workers, whom providers hire to deliver their contracts
    (docs/ODD.md, 7.9)."""

    pool_ratio: float = P(
        1.1,
        gt=0.0,
        le=3.0,
        unit="workers per unit of work",
        description="Care workers in each area per unit of the work its contracts need (in "
        "the model's capacity units); below 1 the area cannot staff all its care.",
        source="assumption",
    )
    turnover: float = P(
        0.28,
        ge=0.0,
        le=1.0,
        unit="share a year",
        description="Share of a provider's care workers who leave in a year; a leaver can be "
        "hired again only the next quarter, so turnover opens vacancies a tight area cannot fill.",
        source="Skills for Care, The state of the adult social care sector and workforce in "
        "England 2023: turnover about 28% a year (estimate)",
    )
    wage_floor: float = P(
        0.0,
        ge=0.0,
        le=2.0,
        unit="x the going wage",
        description="Lowest pay a provider may offer (the National Living Wage), relative to "
        "the area's going wage; a provider paying less is lifted to it, at the cost of its "
        "labour share of cost. 0 = no floor.",
        source="assumption (National Living Wage; a scenario sets it)",
    )
    labour_share: float = P(
        0.7,
        ge=0.0,
        le=1.0,
        unit="share of unit cost",
        description="Share of a provider's unit cost that is care workers' pay (what a wage "
        "floor raises).",
        source="UKHCA, The Homecare Deficit / Minimum Price for Homecare: care workers' pay "
        "and on-costs are about 70% of the price (estimate)",
    )


ShockKind = Literal["provider_collapse", "cost_shock", "demand_shock", "budget_cut", "wage_floor"]
SHOCK_KINDS = get_args(ShockKind)
COLLAPSE_TARGETS = ("largest_outsourcer", "largest_mutual", "random")


class Shock(Section):
    """`[[shocks]]`: one scheduled shock."""

    kind: ShockKind = P("provider_collapse", unit="name", description="What happens.")
    quarter: int = P(40, ge=0, le=400, unit="quarter", description="When it happens.")
    target: str = P(
        "largest_outsourcer",
        unit="name",
        description="For provider_collapse: largest_outsourcer, largest_mutual, random, or a provider's name.",
    )
    magnitude: float = P(
        0.1,
        ge=0.0,
        le=5.0,
        unit="fraction",
        description="Size of a cost, demand or budget shock; for wage_floor, the new floor (x "
        "the going wage: 1.0 lifts every provider paying less than the going wage to it).",
    )
    duration: int = P(
        4, ge=1, le=400, unit="quarters", description="How long a demand shock lasts."
    )
    provider_types: list[Literal["outsourcer", "mutual", "inhouse", "local_firm"]] = P(
        ["outsourcer", "mutual", "inhouse", "local_firm"],
        unit="names",
        description="Provider types a cost shock hits (at least one).",
        # an empty list once meant every type: a shock that hits nothing is no shock
        min_length=1,
    )


#: Most that stacked shocks of one kind may multiply costs or need by (or divide budgets by).
#: Each shock compounds on the ones before it: ~400 cost shocks of magnitude 5 multiply
#: costs by 6^400, past the largest float, and every outcome became NaN without a word.
MAX_SHOCK_FACTOR = 1000.0


def stacked_shocks_problem(shocks: list[Shock]) -> str | None:
    """Why the shocks together would push costs, need or budgets out of any sensible range
    (more than :data:`MAX_SHOCK_FACTOR` times up or down), or None."""
    growth = {"cost_shock": 1.0, "demand_shock": 1.0}
    budget = 1.0
    for shock in shocks:
        if shock.kind in growth:
            growth[shock.kind] *= 1.0 + shock.magnitude
        elif shock.kind == "budget_cut":
            budget *= 1.0 - shock.magnitude
    for kind, factor in growth.items():
        if factor > MAX_SHOCK_FACTOR:
            return (
                f"shocks: the {kind}s together multiply by {factor:.3g}; at most "
                f"{MAX_SHOCK_FACTOR:g} is allowed (fewer or smaller shocks)"
            )
    if budget < 1.0 / MAX_SHOCK_FACTOR:
        return (
            f"shocks: the budget_cuts together leave {max(budget, 0.0):.3g} of each budget; "
            f"at least 1/{MAX_SHOCK_FACTOR:g} must remain (fewer or smaller cuts)"
        )
    return None


class Scenario(Section):
    """A whole scenario: the parameters of one model run.

    Build one with :func:`load_scenario`, or ``Scenario()`` for the defaults.
    """

    scenario: ScenarioMeta = Field(default_factory=ScenarioMeta)
    network: NetworkParams = Field(default_factory=NetworkParams)
    councils: CouncilParams = Field(default_factory=CouncilParams)
    commissioning: CommissioningParams = Field(default_factory=CommissioningParams)
    outsourcers: OutsourcerParams = Field(default_factory=OutsourcerParams)
    mutuals: MutualParams = Field(default_factory=MutualParams)
    local_firms: LocalFirmParams = Field(default_factory=LocalFirmParams)
    trust: TrustParams = Field(default_factory=TrustParams)
    workforce: WorkforceParams = Field(default_factory=WorkforceParams)
    shocks: list[Shock] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if self.councils.contract_years_min > self.councils.contract_years_max:
            raise ValueError(
                "councils.contract_years_min must not exceed councils.contract_years_max"
            )
        names = {outsourcer_name(k) for k in range(self.outsourcers.count)}
        for i, shock in enumerate(self.shocks):
            if shock.kind == "provider_collapse" and shock.target not in (
                *COLLAPSE_TARGETS,
                *names,
            ):
                last = (
                    f", or Outsourcer A to {outsourcer_name(self.outsourcers.count - 1)}"
                    if names
                    else ""
                )
                raise ValueError(
                    f"shocks[{i}].target = {quote(shock.target)} names no provider: use "
                    f"{', '.join(COLLAPSE_TARGETS)}{last}"
                )
            if shock.quarter >= self.scenario.quarters:
                raise ValueError(
                    f"shocks[{i}].quarter = {shock.quarter} is past the horizon "
                    f"(scenario.quarters = {self.scenario.quarters})"
                )
        problem = stacked_shocks_problem(self.shocks)
        if problem:
            raise ValueError(problem)
        return self

    def effective_weights(self) -> dict[str, float]:
        """The score weights the model uses (see :func:`effective_weights`)."""
        return effective_weights(self.commissioning)
