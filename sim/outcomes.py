"""The names of what the model records: quarterly reporters and run outcomes, with units.

These names are the project's fixed interface (DESIGN.md section 3). They live apart from
:mod:`sim.metrics`, which computes them, so that a process that only handles results (the
sweep's writer, the analysis) knows them without loading the model and Mesa.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["REPORTERS", "SUMMARY_FIELDS", "package_version"]

#: Every quarterly reporter: name -> (unit, meaning).
REPORTERS: dict[str, tuple[str, str]] = {
    "share_outsourcer": ("share", "Share of contract value held by private outsourcers"),
    "share_mutual": ("share", "Share of contract value held by mutuals"),
    "share_inhouse": ("share", "Share of contract value delivered in-house"),
    "hhi": ("index 0-1", "Herfindahl-Hirschman index of providers' shares of contract value"),
    "providers_active": ("providers", "Outsourcers and mutuals trading"),
    "failures": ("providers", "Providers that failed this quarter"),
    "contracts_disrupted": (
        "contracts",
        "Contracts disrupted by failures and handbacks this quarter",
    ),
    "handbacks": ("contracts", "Contracts handed back this quarter"),
    "service_delivered": ("share", "Required service delivered (0-1)"),
    "unmet_need": ("GBP m / quarter", "Required service not delivered, at reference cost"),
    "emergency_cost": ("GBP m / quarter", "Emergency premiums and transition costs of failure"),
    "spend": ("GBP m / quarter", "Paid by councils to providers (in-house units included)"),
    "local_reinvestment": ("GBP m / quarter", "Spend re-spent in the paying council's area"),
    "leaked": ("GBP m / quarter", "Spend that leaves the paying council's area"),
    "local_share": ("share", "local_reinvestment / spend"),
    "lm3": ("ratio 1-3", "Local multiplier LM3 (NEF 2002)"),
    "social_value": ("score 0-1", "Contract-value-weighted social value score of providers"),
    "trust": ("index 0-1", "Mean public trust in councils' commissioning"),
    "spin_outs": ("providers", "In-house services that spun out as mutuals this quarter"),
    "mean_markup_outsourcer": ("share of cost", "Mean bid mark-up of trading outsourcers"),
    "contagion_loss": ("GBP m", "Income subcontractors lost to failed outsourcers this quarter"),
}

#: Every run outcome in summary.json: name -> meaning.
SUMMARY_FIELDS: dict[str, str] = {
    "resilience": "mean service_delivered over the run",
    "min_service_delivered": "lowest quarterly service_delivered",
    "recovery_quarters": "quarters after the first shock until service_delivered is back within 0.01 of "
    "its level the quarter before (null: no shock, or never)",
    "total_emergency_cost": "GBP m, sum of emergency_cost",
    "cumulative_local_reinvestment": "GBP m, sum of local_reinvestment",
    "mean_local_share": "mean of local_share",
    "failures_total": "providers that failed",
    "handbacks_total": "contracts handed back",
    "spin_outs_total": "mutuals spun out",
    "final_share_outsourcer": "share_outsourcer in the last quarter",
    "final_share_mutual": "share_mutual in the last quarter",
    "final_share_inhouse": "share_inhouse in the last quarter",
    "final_hhi": "hhi in the last quarter",
    "final_trust": "trust in the last quarter",
    "first_shock_quarter": "quarter of the first scheduled shock (null if none)",
    "shock_contracts_disrupted": "contracts disrupted in the first shock's quarter",
    "shock_councils_touched": "councils with a contract disrupted in the first shock's quarter",
}


def package_version() -> str:
    """The installed version of this package."""
    try:
        return version("commsim")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"
