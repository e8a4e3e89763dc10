"""`[outsourcers]` and `[mutuals]`: the provider types, one table each.

Both share one list of fields (:data:`_PROVIDER_FIELDS`: type, range, unit, meaning); each
type has its own defaults and sources, and a few fields of its own.
"""

from __future__ import annotations

from typing import Any

from pydantic import create_model, model_validator

from sim.scenario.sections import P, Section

__all__ = ["MutualParams", "OutsourcerParams", "ProviderParams", "outsourcer_name"]


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


def outsourcer_name(k: int) -> str:
    """The name of the k-th outsourcer (0-based): Outsourcer A, B, ... then numbers."""
    return f"Outsourcer {chr(ord('A') + k) if k < 26 else k + 1}"
