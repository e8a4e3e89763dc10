"""The base of every scenario table, and the tables of the run, the geography and the councils.

:class:`Section` is a TOML table (unknown keys are errors, values typed strictly); :func:`P`
documents one parameter (default, unit, range, source). The whole scenario is
:class:`sim.scenario.schema.Scenario`.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "MAX_DESCRIPTION_CHARS",
    "MAX_NAME_CHARS",
    "CouncilParams",
    "NetworkParams",
    "P",
    "ScenarioMeta",
    "Section",
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
    start_year: int | None = P(
        None,
        ge=1800,
        le=2200,
        unit="year",
        description="Calendar year in which quarter 0 begins, where the scenario states one: "
        "reports show years on their time axis (without it, years of the run). Moves no "
        "outcome.",
        source="the scenario's record",
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
        description="CSV of the councils (name, budget in GBP m / year, optional population "
        "and starting in-house share), "
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
    idle_capacity_cost: float = P(
        0.5,
        ge=0.0,
        le=1.0,
        unit="share of cost",
        description="Share of the cost of idle retained in-house capacity the council still "
        "pays each quarter (staff kept on but not redeployed to other work): the price of "
        "keeping room to insource.",
        source="assumption (range 0.25-0.75: part of a retained team is redeployed to other "
        "council work between emergencies)",
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
    inhouse_rebuild_cost: float = P(
        0.15,
        ge=0.0,
        le=2.0,
        unit="share of cost",
        description="Extra cost an in-house bid carries when the unit has no room for the "
        "contract and must rebuild (recruit, set up): with it, a council can bring a service "
        "back by choice, not only when its unit has spare room.",
        source="assumption (one-off recruitment and set-up, spread over the contract)",
    )
    failure_memory: float = P(
        0.1,
        ge=0.0,
        le=1.0,
        unit="per quarter",
        description="How fast a council's view of the market's failure risk moves towards what "
        "it has just seen (the yearly share of its contract value disrupted): 0.1 remembers "
        "about two and a half years.",
        source="assumption",
    )
    failure_aversion: float = P(
        1.5,
        ge=0.0,
        le=10.0,
        unit="x failure risk",
        description="How a council weighs the failure risk it remembers when it scores "
        "providers' bids against its own unit's: a provider's price counts as price x (1 + "
        "failure_aversion x failure risk). After Carillion, councils asked for financial checks "
        "and brought work back in-house.",
        source="assumption (the emergency premium and transition cost of a failure, over the "
        "years of a contract; 0: councils do not learn)",
    )
    concentration_aversion: float = P(
        2.0,
        ge=0.0,
        le=20.0,
        unit="x exposure",
        description="How much more a council that remembers failures fears a firm that would "
        "hold a large share of its service: the failure-risk weight on a firm's price grows by "
        "concentration_aversion x the share of the council's service (at reference cost) the "
        "firm would hold with the contract. After Carillion buyers spread work: strategic "
        "suppliers' share of new public contract value fell from 10.3% (2017) to 5.8% (2018), "
        "Tussell.",
        source="assumption (0: a council weighs every firm's failure risk alike); its effect "
        "is tested against Tussell's 2017-18 figures in docs/validation.md",
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
