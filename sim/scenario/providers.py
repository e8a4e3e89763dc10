"""`[outsourcers]`, `[mutuals]` and `[local_firms]`: the provider types, one table each.

Both share one list of fields (:data:`_PROVIDER_FIELDS`: type, range, unit, meaning); each
type has its own defaults and sources, and a few fields of its own.
"""

from __future__ import annotations

from typing import Any

from pydantic import create_model, model_validator

from sim.scenario.sections import P, Section

__all__ = [
    "LocalFirmParams",
    "MutualParams",
    "OutsourcerParams",
    "ProviderParams",
    "outsourcer_name",
]


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
    "size_dispersion": (
        float,
        {"ge": 0, "le": 3},
        "log-normal sigma",
        "Spread of firm sizes: each firm's capacity is capacity_share times a log-normal draw "
        "of mean 1 and this sigma (0: all equal; 1: the largest of 300 about 15 times the "
        "median).",
    ),
    "profit_extraction": (
        float,
        {"ge": 0, "le": 1},
        "share of surplus",
        "Share of a surplus paid out to the owners (dividends, owner's drawings); the rest is "
        "retained and reinvested where the provider is based.",
    ),
    "owners_local_share": (
        float,
        {"ge": 0, "le": 1},
        "share of pay-out",
        "Share of the pay-out received by owners living where the provider is based (its home "
        "council; a national firm has none).",
    ),
    "subcontract_share": (
        float,
        {"ge": 0, "le": 0.9},
        "share of contract",
        "Share of each contract it wins that it subcontracts to a nearby provider that takes "
        "subcontracts (the contagion channel).",
    ),
    "takes_subcontracts": (
        bool,
        {},
        "yes/no",
        "Whether it takes subcontracts from the firms that win contracts near it.",
    ),
    "growth_rate": (
        float,
        {"ge": 0, "le": 1},
        "per quarter",
        "Capacity growth while more than 80% of its capacity is used.",
    ),
    "target_margin": (
        float,
        {"ge": 0, "le": 0.5},
        "share of cost",
        "Margin on cost a firm needs to carry on (its cost of capital and risk): it does not bid "
        "below this plus what its own books show it loses to bidding (margin_gap).",
    ),
    "learning_rate": (
        float,
        {"ge": 0, "le": 1},
        "per quarter",
        "Weight of each quarter's books in what a firm learns of the gap between the mark-up it "
        "bids and the margin it earns (the winner's curse, cost rises).",
    ),
    "closure_quarters": (
        int,
        {"ge": 0, "le": 80},
        "quarters",
        "A firm that holds no contract or subcontract this long closes (leaves the market; not "
        "a failure). 0: never.",
    ),
}


def _provider_section(
    name: str,
    doc: str,
    defaults: dict[str, Any],
    sources: dict[str, str],
    omit: tuple[str, ...] = (),
    **extra: Any,
) -> type:
    """A provider section model: the shared fields with this type's defaults, but ``omit``
    (fields that cannot matter for the type), plus ``extra``."""
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
        if key not in omit
    }
    model = create_model(name, __base__=ProviderParams, __doc__=doc, **fields, **extra)
    model.__module__ = __name__
    return model


#: Where the margins firms need come from.
_MARGIN_SOURCE = (
    "home care surplus 0-10%, mean 4.8% (Hounslow fair cost of care); 3-5% in fee setting (LGA)"
)

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
        "size_dispersion": 0.8,
        "profit_extraction": 0.8,
        "subcontract_share": 0.0,
        "growth_rate": 0.0,
        "target_margin": 0.04,
        "learning_rate": 0.2,
        "closure_quarters": 12,
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
        "target_margin": _MARGIN_SOURCE,
        "local_cost_share": "non-local suppliers re-spend 36% locally (NEF 2005); large firms 40p (FSB/CLES 2013)",
        "size_dispersion": "PAC 2018: the top five of complex public services' suppliers hold "
        "nearly 60% (estimate: sigma 0.8 gives the largest five of eight about 75% of capacity)",
        "profit_extraction": "assumption (listed outsourcers pay most profit out as dividends)",
    },
    # A national firm is based in no council: no owners live "where it is based", and no
    # winner counts it as near enough to subcontract to.
    omit=("owners_local_share", "takes_subcontracts"),
)

#: A provider based in one council spends its costs locally at the local-supplier rate,
#: whatever owns it (the sources are about local firms in general, not about mutuals).
_LOCAL_COST_SOURCE = (
    "local suppliers re-spend 76% locally (NEF 2005); SMEs 63p (FSB/CLES 2013): 0.70 between"
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
        "local_cost_share": 0.70,
        "reserves": 0.10,
        "debt": 0.0,
        "credit_limit": 0.05,
        "interest_rate": 0.02,
        "failure_hazard": 0.0,
        "size_dispersion": 0.8,
        "profit_extraction": 0.1,
        "owners_local_share": 1.0,
        "subcontract_share": 0.0,
        "takes_subcontracts": True,
        "growth_rate": 0.02,
        "target_margin": 0.03,
        "learning_rate": 0.2,
        "closure_quarters": 8,
    },
    sources={
        "target_margin": "assumption (no dividends to fund; surplus for reinvestment: 92% of "
        "mutuals made a profit in 2018, SEUK)",
        "count": "about 115 public service mutuals in England in all services (SEUK State of the "
        "Sector 2018); 60 here, as about half work in adult social care (estimate)",
        "capacity_share": "assumption (share of the home council's value)",
        "local_cost_share": _LOCAL_COST_SOURCE,
        "size_dispersion": "sizes from two staff to thousands (SEUK 2018); sigma: estimate",
        "profit_extraction": "assumption (employee-owners' profit share; most surplus is reinvested)",
        "owners_local_share": "assumption (employee-owners are its staff, who live where it works)",
        "credit_limit": "assumption (few assets: BCG 2013)",
        "debt": "assumption (spin-outs start with no borrowing)",
    },
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


def outsourcer_name(k: int) -> str:
    """The name of the k-th outsourcer (0-based): Outsourcer A, B, ... then numbers."""
    return f"Outsourcer {chr(ord('A') + k) if k < 26 else k + 1}"


LocalFirmParams = _provider_section(
    "LocalFirmParams",
    "`[local_firms]`: local private firms: many, mostly small, for-profit, owner-managed, each "
    "based in one council.",
    defaults={
        "count": 300,
        "capacity_share": 0.15,
        "cost_factor": 0.97,
        "quality": 0.6,
        "social_commitments": 0.45,
        "markup_initial": 0.05,
        "markup_min": 0.02,
        "markup_max": 0.12,
        "markup_step": 0.005,
        "local_cost_share": 0.70,
        "reserves": 0.05,
        "debt": 0.02,
        "credit_limit": 0.05,
        "interest_rate": 0.02,
        "failure_hazard": 0.0,
        "size_dispersion": 1.2,
        "profit_extraction": 0.5,
        "owners_local_share": 0.9,
        "subcontract_share": 0.0,
        "takes_subcontracts": True,
        "growth_rate": 0.02,
        "target_margin": 0.04,
        "learning_rate": 0.2,
        "closure_quarters": 8,
    },
    sources={
        "target_margin": _MARGIN_SOURCE,
        "count": "about 9,000 domiciliary care providers in England in 2019 (DOMAIN.md): about "
        "60 a council; 2 a council here, each standing for many (estimate, for speed)",
        "size_dispersion": "28% of domiciliary providers serve 4 or fewer people (DOMAIN.md): "
        "a heavy tail of small firms beside a few large ones (estimate)",
        "local_cost_share": _LOCAL_COST_SOURCE,
        "markup_initial": "home care surplus 0-10%, mean 4.8% (Hounslow) (estimate)",
        "profit_extraction": "assumption (owner-managers draw about half of a surplus)",
        "owners_local_share": "assumption (owner-managers mostly live where the firm is based)",
        "cost_factor": "assumption (no economies of scale; lower overheads than a national firm)",
    },
    entry_rate=(
        float,
        P(
            0.5,
            ge=0.0,
            le=20.0,
            unit="firms per council per year",
            description="New local firms a year a council draws when the margins on its "
            "contracts are twice the local firms' target_margin, or a tenth of its need is "
            "unmet (in proportion between: margins above target and unmet need attract "
            "entry). 0: no firm ever enters.",
            source="assumption (CQC registers hundreds of new domiciliary care agencies a year "
            "among about 9,000; rate: estimate)",
        ),
    ),
    entry_cost=(
        float,
        P(
            0.05,
            ge=0.0,
            le=2.0,
            unit="years of capacity",
            description="What setting up costs a new firm (registration, recruitment, "
            "premises), borrowed at the start: its starting cash is reserves minus debt minus "
            "this.",
            source="assumption",
        ),
    ),
)
