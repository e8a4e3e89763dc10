"""The scenario schema: every parameter with its default, unit, range and source.

A scenario file (TOML) states only what differs from these defaults. Each TOML table is a
pydantic model here; loading (:mod:`sim.scenario.loading`) validates a whole file against
:class:`Scenario` at the edge, so the model never checks a parameter in its hot loop.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from sim.core.tendering import effective_weights, social_value_weight_total, weight_rule_violation
from sim.inputs import quote

__all__ = [
    "COLLAPSE_TARGETS",
    "SHOCK_KINDS",
    "CommissioningParams",
    "CouncilParams",
    "MutualParams",
    "NetworkParams",
    "OutsourcerParams",
    "Scenario",
    "ScenarioMeta",
    "Shock",
    "TrustParams",
    "outsourcer_name",
]


def P(default: Any, *, unit: str, description: str, source: str = "assumption", **kw: Any) -> Any:
    """A documented parameter: default, unit, range (ge/le/gt/lt) and source."""
    return Field(
        default,
        description=description,
        json_schema_extra={"unit": unit, "source": source},
        **kw,
    )


#: Longest ``scenario.name`` and ``scenario.description`` (characters): a name becomes a
#: folder name, a description a figure's title, so neither may be a whole document.
MAX_NAME_CHARS = 100
MAX_DESCRIPTION_CHARS = 500


class Section(BaseModel):
    """A TOML table of the scenario: unknown keys are errors, values are typed strictly.

    Strict: ``true`` is not a number, ``"1"`` is not an integer, ``1`` is not a name; an
    integer is still a valid value of a decimal parameter (``quarters = 40``, ``magnitude = 1``).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)


#: Characters that reorder the text around them on a terminal (bidirectional overrides and
#: isolates): refused in names and descriptions along with control characters.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class ScenarioMeta(Section):
    """`[scenario]`: what the run is and how long it lasts."""

    name: str = P(
        "baseline",
        unit="text",
        description="Name shown in reports and of the default output folder.",
        source="-",
        min_length=1,
        max_length=MAX_NAME_CHARS,
    )
    description: str = P(
        "",
        unit="text",
        description="One line on what the scenario asks.",
        source="-",
        max_length=MAX_DESCRIPTION_CHARS,
    )
    quarters: int = P(
        80, ge=1, le=400, unit="quarters", description="Horizon; one step is one quarter."
    )
    seed: int = P(42, ge=0, le=2**63 - 1, unit="integer", description="Seed of every random draw.")
    warm_up_quarters: int = P(
        8,
        ge=0,
        le=400,
        unit="quarters",
        description="First quarters left out of the run outcomes (the start-up transient: the "
        "first tender round, mark-ups settling); the time series keep every quarter. A run no "
        "longer than this is summarised over its last quarter.",
        source="assumption (two years: most mark-ups settle within them)",
    )

    @field_validator("name", "description")
    @classmethod
    def _printable(cls, text: str) -> str:
        # printed on terminals and in titles: an escape code could clear or retitle a screen
        bad = next((c for c in text if unicodedata.category(c) == "Cc" or c in BIDI_CONTROLS), None)
        if bad is not None:
            raise ValueError(
                f"a control character (U+{ord(bad):04X}) is not allowed: names and "
                "descriptions are printed on terminals"
            )
        return text


class NetworkParams(Section):
    """`[network]`: the geography of local areas, one council per area."""

    councils: int = P(
        150,
        ge=2,
        le=10000,
        unit="councils",
        description="Number of local areas (one council each) in the synthetic geography.",
        source="152 councils with adult social services responsibilities (NHS Digital, 2012-15)",
    )
    mean_degree: float = P(
        5.0,
        ge=0.0,
        le=30.0,
        unit="neighbours",
        description="Mean number of neighbouring areas in the random geometric graph.",
    )
    councils_file: str = P(
        "",
        unit="path",
        description="CSV of the councils (name, budget in GBP m / year, optional population), "
        "relative to the scenario file; '' means the synthetic geography. When given, the "
        "file sets network.councils and the budgets (councils.budget_mean and "
        "budget_dispersion do not apply).",
        source="user data (docs/scenarios.md, 'Bring your own councils')",
    )
    graph_file: str = P(
        "",
        unit="path",
        description="Which councils neighbour which: GraphML (.graphml) or an edge list "
        "(.csv/.txt, two council names a line), relative to the scenario file; needs "
        "councils_file. '' means random neighbours (network.mean_degree).",
        source="user data (docs/scenarios.md, 'Bring your own councils')",
    )

    @model_validator(mode="after")
    def _graph_needs_councils(self) -> NetworkParams:
        if self.graph_file and not self.councils_file:
            raise ValueError("graph_file needs councils_file (the councils' names and budgets)")
        return self


class CouncilParams(Section):
    """`[councils]`: budgets, service lines, contracts and the in-house unit."""

    budget_mean: float = P(
        150.0,
        gt=0.0,
        le=1e5,
        unit="GBP m / year",
        description="Mean yearly budget a council commissions across its service lines.",
        source="ASC gross current expenditure GBP 23.69bn (2022-23) / 152 councils (NHS England)",
    )
    budget_dispersion: float = P(
        0.5,
        ge=0.0,
        le=3.0,
        unit="log-sd",
        description="Spread of council budgets (lognormal sigma).",
    )
    service_lines: int = P(
        4,
        ge=1,
        le=10,
        unit="lines",
        description="Service lines each council commissions (home care, facilities, waste, ...).",
    )
    lots: int = P(
        1,
        ge=1,
        le=20,
        unit="lots / line",
        description="Contracts each service line is split into (lever: small lots let small providers bid).",
    )
    contract_years_min: int = P(
        2,
        ge=1,
        le=15,
        unit="years",
        description="Shortest contract.",
        source="contract notices: 2+1+1 to 7 years",
    )
    contract_years_max: int = P(
        7,
        ge=1,
        le=15,
        unit="years",
        description="Longest contract.",
        source="contract notices: 2+1+1 to 7 years",
    )
    initial_inhouse_share: float = P(
        0.35,
        ge=0.0,
        le=1.0,
        unit="share of value",
        description="Share of service value delivered in-house at the start; the rest is tendered in quarter 0.",
    )
    inhouse_capacity_retained: float = P(
        0.10,
        ge=0.0,
        le=1.0,
        unit="share of value",
        description="In-house capacity a council keeps after outsourcing, as a share of its service value "
        "(lever: room to insource after a failure).",
    )
    inhouse_cost: float = P(
        1.10,
        gt=0.0,
        le=5.0,
        unit="x reference cost",
        description="Unit cost of the in-house unit relative to the reference cost (estimate).",
    )
    inhouse_quality: float = P(
        0.65, ge=0.0, le=1.0, unit="score 0-1", description="Quality score of the in-house unit."
    )
    inhouse_social_commitments: float = P(
        0.0,
        ge=0.0,
        le=1.0,
        unit="score 0-1",
        description="Social value commitments the in-house unit offers beyond its delivery (see "
        "outsourcers.social_commitments); with its local costs and public ownership its social "
        "value score is 0.6 at the defaults.",
        source="assumption (an in-house bid is a cost comparison, with no social value offer)",
    )
    inhouse_local_cost_share: float = P(
        0.80,
        ge=0.0,
        le=1.0,
        unit="share of cost",
        description="Share of the in-house unit's costs spent in the area (council staff live locally; estimate).",
    )
    local_respend: float = P(
        0.4,
        ge=0.0,
        le=1.0,
        unit="share",
        description="Share of money received locally that is spent locally again (LM3 round 3).",
        source="LM3 method (NEF, The Money Trail, 2002); 40p-63p per pound (FSB/CLES 2013)",
    )
    market_test_rate: float = P(
        0.5,
        ge=0.0,
        le=1.0,
        unit="probability",
        description="Chance that an in-house service is put out to tender when its review falls due.",
    )
    inhouse_bids: bool = P(
        True,
        unit="yes/no",
        description="Whether the in-house unit bids against providers in tenders.",
    )
    price_cap: float = P(
        1.25,
        gt=0.0,
        le=5.0,
        unit="x reference cost",
        description="Reserve price: bids above this multiple of the reference cost are not affordable.",
    )
    due_diligence_threshold: float = P(
        0.02,
        ge=-1.0,
        le=1.0,
        unit="years of revenue",
        description="Financial check on bidders: reported (lagged) headroom, cash plus credit, "
        "must be at least this (0.02: about a week of revenue; 0 turns away only the insolvent).",
        source="assumption (a financial standing test, PPN 02/16 style, set to bite rarely)",
    )
    report_lag_quarters: int = P(
        4,
        ge=0,
        le=12,
        unit="quarters",
        description="Age of the accounts the financial check sees (Carillion passed such checks).",
        source="NAO HC 1002 (2018)",
    )
    budget_headroom: float = P(
        0.16,
        ge=0.0,
        le=5.0,
        unit="share of budget",
        description="Spending limit: a council commissions at most its budget (the reference cost "
        "of its services, after cuts) times 1 + this a quarter; above it, every contract's volume "
        "is scaled down pro rata and the need not bought is unmet. 0.16 covers the dearest "
        "quarter without a shock: all work in-house in an emergency (1.10 x 1.05 = 1.155).",
        source="assumption (reserves and in-year virement; see docs/ODD.md 7.3)",
    )


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
    social_value_ownership_weight: float = P(
        1.0,
        ge=0.0,
        le=1.0,
        unit="relative weight",
        description="Weight, within a bid's social value score, of surplus reinvested locally "
        "(1 for mutuals and in-house units, 0 for shareholder-owned outsourcers).",
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
        "when it hits (a fee uplift); 0 = fixed prices until re-tender. In-house work always "
        "costs what it costs.",
        source="assumption: after the 2016 National Living Wage many councils raised fees by "
        "less than its cost (UKHCA 2016); fees rose 5.3% against a 6.7% NLW rise plus NICs in "
        "2025-26 (DHSC)",
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


class ProviderParams(Section):
    """Fields shared by outsourcers and mutuals; each type has its own defaults and sources."""

    @model_validator(mode="after")
    def _markups_ordered(self) -> ProviderParams:
        if not self.markup_min <= self.markup_initial <= self.markup_max:
            raise ValueError("markup_min <= markup_initial <= markup_max must hold")
        return self


#: Shared provider fields: type, range, unit and meaning. Defaults and sources are per type.
_PROVIDER_FIELDS: dict[str, tuple[type, dict[str, float], str, str]] = {
    "count": (int, {"ge": 0, "le": 5000}, "providers", "Providers of this type at the start."),
    "capacity_share": (float, {"gt": 0, "le": 10}, "share of value", "Capacity of each provider."),
    "cost_factor": (
        float,
        {"gt": 0, "le": 5},
        "x reference cost",
        "Unit cost relative to the reference cost.",
    ),
    "quality": (float, {"ge": 0, "le": 1}, "score 0-1", "Mean quality score."),
    "social_commitments": (
        float,
        {"ge": 0, "le": 1},
        "score 0-1",
        "Mean social value commitments a bid makes beyond delivery (apprenticeships, local "
        "hiring, volunteering, environmental measures: National TOMs measures); each firm's "
        "differs by up to 0.3.",
    ),
    "markup_initial": (float, {"ge": -0.5, "le": 2}, "share of cost", "Starting bid mark-up."),
    "markup_min": (float, {"ge": -0.5, "le": 2}, "share of cost", "Lowest bid mark-up."),
    "markup_max": (float, {"ge": -0.5, "le": 2}, "share of cost", "Highest bid mark-up."),
    "markup_step": (
        float,
        {"ge": 0, "le": 0.5},
        "share of cost",
        "Mark-up change per net tender won or lost.",
    ),
    "local_cost_share": (
        float,
        {"ge": 0, "le": 1},
        "share of cost",
        "Share of costs spent in the area served.",
    ),
    "reserves": (
        float,
        {"ge": 0, "le": 10},
        "years of capacity",
        "Cash held at the start, as a share of yearly capacity (before debt).",
    ),
    "debt": (
        float,
        {"ge": 0, "le": 10},
        "years of capacity",
        "Net debt at the start: starting cash is reserves minus debt (negative cash is "
        "borrowing, which pays interest and counts against the credit limit).",
    ),
    "credit_limit": (
        float,
        {"ge": 0, "le": 10},
        "years of capacity",
        "Borrowing headroom: below minus this much cash the provider is insolvent.",
    ),
    "interest_rate": (float, {"ge": 0, "le": 0.5}, "per quarter", "Interest on borrowing."),
    "failure_hazard": (
        float,
        {"ge": 0, "le": 1},
        "per year",
        "Chance of a random failure, on top of insolvency.",
    ),
}


def _provider_section(
    name: str, doc: str, defaults: dict[str, Any], sources: dict[str, str], **extra: Any
) -> type:
    """A provider section model: the shared fields with this type's defaults, plus ``extra``."""
    fields = {
        key: (
            kind,
            P(
                defaults[key],
                unit=unit,
                description=text,
                source=sources.get(key, "assumption"),
                **bounds,
            ),
        )
        for key, (kind, bounds, unit, text) in _PROVIDER_FIELDS.items()
    }
    model = create_model(name, __base__=ProviderParams, __doc__=doc, **fields, **extra)
    model.__module__ = __name__
    return model


OutsourcerParams = _provider_section(
    "OutsourcerParams",
    "`[outsourcers]`: few, national, large, leveraged; profit leaves the area.",
    defaults={
        "count": 8,
        "capacity_share": 0.2,
        "cost_factor": 0.92,
        "quality": 0.6,
        "social_commitments": 0.5,
        "markup_initial": 0.08,
        "markup_min": 0.03,
        "markup_max": 0.2,
        "markup_step": 0.01,
        "local_cost_share": 0.40,
        "reserves": 0.03,
        "debt": 0.04,
        "credit_limit": 0.07,
        "interest_rate": 0.0125,
        "failure_hazard": 0.0,
    },
    sources={
        "debt": "Carillion's net debt ~GBP 0.9bn on ~GBP 5.2bn revenue (2016 accounts; NAO HC "
        "1002, 2018) is ~0.17 years of revenue; outsourcers here use about half their capacity, "
        "so Carillion is ~0.08 years of capacity; the default is half that (assumption)",
        "credit_limit": "assumption (a little above debt: leverage binds, as for Carillion)",
        "interest_rate": "about 5% a year on corporate borrowing (assumption)",
        "count": "NAO 2013; PAC 2018 (top five hold ~60% of complex public services)",
        "capacity_share": "assumption (share of all councils' value, each)",
        "cost_factor": "assumption (economies of scale; estimate)",
        "markup_initial": "home care surplus 0-10%, mean 4.8% (Hounslow); 3-5% in fee setting (LGA) (estimate)",
        "markup_step": "Tender-Simulation-ABM (NetLogo): race to the bottom",
        "local_cost_share": "non-local suppliers re-spend 36% locally (NEF 2005); large firms 40p (FSB/CLES 2013)",
    },
    profit_extraction=(
        float,
        P(
            0.8,
            ge=0.0,
            le=1.0,
            unit="share of surplus",
            description="Share of surplus paid out as dividends.",
        ),
    ),
    subcontract_share=(
        float,
        P(
            0.0,
            ge=0.0,
            le=0.9,
            unit="share of contract",
            description="Share of each contract subcontracted to a local mutual (contagion channel).",
        ),
    ),
)

MutualParams = _provider_section(
    "MutualParams",
    "`[mutuals]`: many, small, local, employee-owned; surplus reinvested locally.",
    defaults={
        "count": 60,
        "capacity_share": 0.3,
        "cost_factor": 1.0,
        "quality": 0.65,
        "social_commitments": 0.55,
        "markup_initial": 0.03,
        "markup_min": 0.02,
        "markup_max": 0.08,
        "markup_step": 0.005,
        "local_cost_share": 0.72,
        "reserves": 0.10,
        "debt": 0.0,
        "credit_limit": 0.05,
        "interest_rate": 0.02,
        "failure_hazard": 0.0,
    },
    sources={
        "count": "about 115 public service mutuals in England (SEUK State of the Sector 2018)",
        "capacity_share": "assumption (share of the home council's value)",
        "local_cost_share": "local suppliers re-spend 76% locally (NEF 2005); SMEs 63p (FSB/CLES 2013)",
        "credit_limit": "assumption (few assets: BCG 2013)",
        "debt": "assumption (spin-outs start with no borrowing)",
    },
    growth_rate=(
        float,
        P(
            0.02,
            ge=0.0,
            le=1.0,
            unit="per quarter",
            description="Capacity growth while more than 80% used.",
        ),
    ),
    spin_out_rate=(
        float,
        P(
            0.01,
            ge=0.0,
            le=1.0,
            unit="per in-house contract per year",
            description="Chance an in-house service spins out as a mutual.",
        ),
    ),
    support_programme=(
        bool,
        P(
            False,
            unit="yes/no",
            description="A mutual support programme: higher spin-out rate and start-up grants.",
            source="Mutuals Support Programme, GBP 10m from Dec 2011",
        ),
    ),
    support_multiplier=(
        float,
        P(
            3.0,
            ge=1.0,
            le=100.0,
            unit="x spin_out_rate",
            description="Spin-out rate multiplier under the programme.",
        ),
    ),
    start_up_grant=(
        float,
        P(
            0.5,
            ge=0.0,
            le=100.0,
            unit="GBP m",
            description="Grant to each spin-out under the programme.",
        ),
    ),
    spin_out_contract_years=(
        int,
        P(5, ge=1, le=15, unit="years", description="Length of a spin-out's original contract."),
    ),
)


class TrustParams(Section):
    """`[trust]`: a stylised index of public trust in each council's commissioning."""

    initial: float = P(0.5, ge=0.0, le=1.0, unit="index 0-1", description="Trust at the start.")
    adjustment: float = P(
        0.1,
        ge=0.0,
        le=1.0,
        unit="per quarter",
        description="Share of the gap to its target closed each quarter.",
    )
    weight_continuity: float = P(
        0.5,
        ge=0.0,
        le=1.0,
        unit="weight",
        description="Weight of service delivered in the trust target.",
    )
    weight_local: float = P(
        0.3, ge=0.0, le=1.0, unit="weight", description="Weight of money kept local."
    )
    weight_ownership: float = P(
        0.2, ge=0.0, le=1.0, unit="weight", description="Weight of in-house and mutual provision."
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
        if self.weight_continuity + self.weight_local + self.weight_ownership <= 0:
            raise ValueError("the trust weights must not all be zero")
        return self


ShockKind = Literal["provider_collapse", "cost_shock", "demand_shock", "budget_cut"]
SHOCK_KINDS = get_args(ShockKind)
COLLAPSE_TARGETS = ("largest_outsourcer", "largest_mutual", "random")


def outsourcer_name(k: int) -> str:
    """The name of the k-th outsourcer (0-based): Outsourcer A, B, ... then numbers."""
    return f"Outsourcer {chr(ord('A') + k) if k < 26 else k + 1}"


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
        0.1, ge=0.0, le=5.0, unit="fraction", description="Size of a cost, demand or budget shock."
    )
    duration: int = P(
        4, ge=1, le=400, unit="quarters", description="How long a demand shock lasts."
    )
    provider_types: list[Literal["outsourcer", "mutual", "inhouse"]] = P(
        ["outsourcer", "mutual", "inhouse"],
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
    trust: TrustParams = Field(default_factory=TrustParams)
    shocks: list[Shock] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        problem = weight_rule_violation(self.commissioning)
        if problem:
            raise ValueError(problem)
        if social_value_weight_total(self.commissioning) <= 0:
            raise ValueError(
                "commissioning.social_value_local_weight, social_value_ownership_weight and "
                "social_value_commitments_weight must not all be zero"
            )
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
        """The score weights the model uses (see :func:`sim.core.tendering.effective_weights`)."""
        return effective_weights(self.commissioning)
