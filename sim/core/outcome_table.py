"""The outcome table: the definition of every quarterly reporter, run outcome, council and
provider reporter (name, type, unit, title, meaning), the causes of failure, and the Markdown
docs/ODD.md shows of them.

The names of the quarterly reporters and run outcomes, with their units, are the project's
fixed interface (DESIGN.md section 3). This module imports only the standard library, so the
docs, the writers and anything that only needs the names can read it without NumPy or the
model; :mod:`sim.core.outcomes` computes the outcomes and re-exports these names.
Money is reported in GBP m per quarter; shares and indices are 0-1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "COUNCIL_REPORTERS",
    "FAILURE_CAUSES",
    "PROVIDER_REPORTERS",
    "REPORTERS",
    "SUMMARY_FIELDS",
    "VALUE_FOR_MONEY",
    "Outcome",
    "outcome",
    "outcome_markdown",
]


@dataclass(frozen=True)
class Outcome:
    """An outcome the model records: a quarterly reporter or a run outcome. Every writer
    (summary.json, timeseries.csv, the sweep's Parquet files, ``commsim export``) and the
    docs read these definitions.

    ``type`` is what it is stored as (``int`` for counts of whole things, else ``float``);
    ``nullable``: it may be undefined (None in JSON, null in Parquet, empty in CSV);
    ``title``: a short heading in words for figures and reports; ``meaning``: one line.
    """

    name: str
    type: type
    unit: str
    title: str
    meaning: str
    nullable: bool = False

    @property
    def label(self) -> str:
        """The title with its unit, for an axis or a table: ``Service delivered (share)``."""
        return f"{self.title} ({self.unit})" if self.unit else self.title


def _table(*rows: Outcome) -> dict[str, Outcome]:
    return {row.name: row for row in rows}


#: Every quarterly reporter, in the order of the time series' columns.
REPORTERS: dict[str, Outcome] = _table(
    Outcome("share_outsourcer", float, "share", "Outsourcers' share",
            "Share of contract value held by national private outsourcers"),
    Outcome("share_mutual", float, "share", "Mutuals' share",
            "Share of contract value held by mutuals"),
    Outcome("share_inhouse", float, "share", "In-house share",
            "Share of contract value delivered in-house"),
    Outcome("share_local_firm", float, "share", "Local firms' share",
            "Share of contract value held by local private firms"),
    Outcome("hhi", float, "index 0-1", "Market concentration (HHI)",
            "Herfindahl-Hirschman index of providers' shares of contract value"),
    Outcome("providers_active", int, "providers", "Providers trading",
            "Outsourcers, mutuals and local firms trading"),
    Outcome("failures", int, "providers", "Provider failures",
            "Providers that failed this quarter"),
    Outcome("contracts_disrupted", int, "contracts", "Contracts disrupted",
            "Contracts disrupted by failures and handbacks this quarter"),
    Outcome("handbacks", int, "contracts", "Handbacks", "Contracts handed back this quarter"),
    Outcome("service_delivered", float, "share", "Service delivered",
            "Required service delivered (0-1)"),
    Outcome("unmet_need", float, "GBP m / quarter", "Unmet need",
            "Required service not delivered, at reference cost"),
    Outcome("unmet_need_staff", float, "GBP m / quarter", "Unmet need for want of staff",
            "The part of unmet_need that contracts' vacant posts left undelivered"),
    Outcome("vacancy_rate", float, "share", "Vacancy rate",
            "Vacant care-worker posts as a share of the posts held contracts need, after the "
            "quarter's hiring (Skills for Care: about 10% in 2022-23)"),
    Outcome("emergency_cost", float, "GBP m / quarter", "Emergency cost",
            "Emergency premiums and transition costs of failure"),
    Outcome("spend", float, "GBP m / quarter", "Councils' spend",
            "Paid by councils: to providers (in-house units included, idle capacity too) and "
            "transition costs"),
    Outcome("cost_per_service", float, "GBP per GBP", "Cost per unit of service",
            "spend / service delivered at reference cost (1.0: paying reference cost; 0 in a "
            "quarter with nothing delivered)"),
    Outcome("idle_capacity_cost", float, "GBP m / quarter", "Idle capacity cost",
            "What councils pay for retained in-house capacity left idle "
            "(councils.idle_capacity_cost of its cost)"),
    Outcome("award_premium", float, "GBP m / quarter", "Award premium",
            "Price paid above the cheapest compliant bid at award, on the contracts held: what "
            "scoring on anything but price (quality, social value, local preference) costs"),
    Outcome("local_reinvestment", float, "GBP m / quarter", "Local reinvestment",
            "Spend re-spent in the paying council's area"),
    Outcome("leaked", float, "GBP m / quarter", "Spend leaked",
            "Spend that leaves the paying council's area"),
    Outcome("local_share", float, "share", "Local share of spend",
            "local_reinvestment / spend"),
    Outcome("lm3", float, "ratio 1-3", "Local multiplier (LM3)",
            "Local multiplier LM3 (NEF 2002)"),
    Outcome("social_value", float, "score 0-1", "Social value",
            "Contract-value-weighted social value score of providers"),
    Outcome("trust", float, "index 0-1", "Public trust",
            "Mean public trust in councils' commissioning"),
    Outcome("spin_outs", int, "providers", "Spin-outs",
            "In-house services that spun out as mutuals this quarter"),
    Outcome("entries", int, "providers", "Entries",
            "New local firms that entered this quarter"),
    Outcome("closures", int, "providers", "Closures",
            "Firms that closed this quarter for want of work (not failures)"),
    Outcome("median_margin", float, "share of cost", "Median margin",
            "Median margin on cost (surplus / cost) of the trading firms with costs this "
            "quarter"),
    Outcome("share_in_profit", float, "share", "Firms in profit",
            "Share of the trading firms with costs this quarter that made a surplus"),
    Outcome("mean_markup_outsourcer", float, "share of cost", "Outsourcers' mark-up",
            "Mean bid mark-up of trading outsourcers"),
    Outcome("contagion_loss", float, "GBP m", "Contagion loss",
            "What subcontractors lost to primes that failed this quarter: the unpaid quarter's "
            "invoice and the subcontract's price for each quarter left (lost volume), as revenue "
            "at full price, not the margin on it"),
    Outcome("failures_outsourcer", int, "providers", "Outsourcer failures",
            "Outsourcers that failed this quarter"),
    Outcome("failures_mutual", int, "providers", "Mutual failures",
            "Mutuals that failed this quarter"),
    Outcome("failures_local_firm", int, "providers", "Local firm failures",
            "Local private firms that failed this quarter"),
)  # fmt: skip

#: Causes of a provider's failure, as the events name them, and the run outcome counting each.
FAILURE_CAUSES = {
    "insolvency": "insolvency_failures_total",
    "collapse": "collapse_failures_total",
    "random": "random_failures_total",
}

#: Every run outcome in summary.json, in its order. "Over the run" means the quarters after
#: the warm-up (``scenario.warm_up_quarters``); the first shock's outcomes and the final ones
#: read the whole run.
SUMMARY_FIELDS: dict[str, Outcome] = _table(
    Outcome("resilience", float, "share", "Resilience",
            "mean service_delivered over the run (after the warm-up)"),
    Outcome("min_service_delivered", float, "share", "Lowest service delivered",
            "lowest quarterly service_delivered after the warm-up"),
    Outcome("recovery_quarters", int, "quarters", "Recovery time",
            "quarters after the first shock (warm-up included) until service_delivered is "
            "back within 0.01 of its level the quarter before (null: no shock, or never)",
            nullable=True),
    Outcome("total_emergency_cost", float, "GBP m", "Emergency cost",
            "sum of emergency_cost after the warm-up"),
    Outcome("cumulative_local_reinvestment", float, "GBP m", "Local reinvestment",
            "sum of local_reinvestment after the warm-up"),
    Outcome("mean_local_share", float, "share", "Local share of spend",
            "mean of local_share after the warm-up"),
    Outcome("failures_total", int, "providers", "Provider failures",
            "providers that failed after the warm-up"),
    Outcome("handbacks_total", int, "contracts", "Handbacks",
            "contracts handed back after the warm-up"),
    Outcome("spin_outs_total", int, "providers", "Spin-outs",
            "mutuals spun out after the warm-up"),
    Outcome("entries_total", int, "providers", "Entries",
            "new local firms after the warm-up"),
    Outcome("closures_total", int, "providers", "Closures",
            "firms that closed for want of work after the warm-up"),
    Outcome("mean_median_margin", float, "share of cost", "Median margin",
            "mean of median_margin after the warm-up"),
    Outcome("mean_share_in_profit", float, "share", "Firms in profit",
            "mean of share_in_profit after the warm-up"),
    # a sum of shares of a quarter, not a count: 0.28 quarters is a real result
    Outcome("service_quarters_lost", float, "quarters", "Service lost",
            "sum of 1 - service_delivered after the warm-up (quarters of the whole market's "
            "service lost)"),
    Outcome("unmet_need_total", float, "GBP m", "Unmet need",
            "sum of unmet_need after the warm-up"),
    Outcome("unmet_need_staff_total", float, "GBP m", "Unmet need for want of staff",
            "sum of unmet_need_staff after the warm-up (part of unmet_need_total)"),
    Outcome("mean_vacancy_rate", float, "share", "Vacancy rate",
            "mean of vacancy_rate after the warm-up"),
    Outcome("outsourcer_failures_total", int, "providers", "Outsourcer failures",
            "outsourcers that failed after the warm-up"),
    Outcome("mutual_failures_total", int, "providers", "Mutual failures",
            "mutuals that failed after the warm-up"),
    Outcome("local_firm_failures_total", int, "providers", "Local firm failures",
            "local private firms that failed after the warm-up"),
    Outcome("insolvency_failures_total", int, "providers", "Failures by insolvency",
            "providers that failed insolvent after the warm-up"),
    Outcome("collapse_failures_total", int, "providers", "Failures by collapse",
            "providers that failed in a scheduled collapse after the warm-up"),
    Outcome("random_failures_total", int, "providers", "Failures at random",
            "providers that failed at random (failure_hazard) after the warm-up"),
    Outcome("final_share_outsourcer", float, "share", "Outsourcers' final share",
            "share_outsourcer in the last quarter"),
    Outcome("final_share_mutual", float, "share", "Mutuals' final share",
            "share_mutual in the last quarter"),
    Outcome("final_share_inhouse", float, "share", "Final in-house share",
            "share_inhouse in the last quarter"),
    Outcome("final_share_local_firm", float, "share", "Local firms' final share",
            "share_local_firm in the last quarter"),
    Outcome("total_spend", float, "GBP m", "Councils' spend",
            "sum of spend after the warm-up"),
    Outcome("mean_cost_per_service", float, "GBP per GBP", "Cost per unit of service",
            "mean of cost_per_service after the warm-up: pounds paid per pound of service "
            "delivered at reference cost"),
    Outcome("total_idle_capacity_cost", float, "GBP m", "Idle capacity cost",
            "sum of idle_capacity_cost after the warm-up"),
    Outcome("total_award_premium", float, "GBP m", "Award premium",
            "sum of award_premium after the warm-up"),
    Outcome("final_hhi", float, "index 0-1", "Final concentration (HHI)",
            "hhi in the last quarter"),
    Outcome("final_trust", float, "index 0-1", "Final public trust",
            "trust in the last quarter"),
    Outcome("first_shock_quarter", int, "quarter", "First shock",
            "quarter of the first scheduled shock (null if none)", nullable=True),
    Outcome("shock_contracts_disrupted", int, "contracts", "Contracts disrupted by the shock",
            "contracts disrupted in the first shock's quarter"),
    Outcome("shock_councils_touched", int, "councils", "Councils hit by the shock",
            "councils with a contract disrupted in the first shock's quarter"),
)  # fmt: skip


#: The run outcomes a report shows under "Value for money" (report.html, ``commsim run``'s
#: summary, ``commsim compare``), in this order; a report shows those a summary holds.
VALUE_FOR_MONEY = (
    "total_spend",
    "mean_cost_per_service",
    "total_emergency_cost",
    "total_idle_capacity_cost",
    "total_award_premium",
)

#: Each council's quarter (``commsim run --councils``: councils.csv; the Council agents'
#: reporters in ``CommissioningModel.datacollector``): which councils suffered.
COUNCIL_REPORTERS: dict[str, Outcome] = _table(
    Outcome("service_delivered", float, "share", "Service delivered",
            "Share of the council's required service delivered this quarter (0-1)"),
    Outcome("disrupted", int, "yes/no", "Disrupted",
            "1 if a failure or handback disrupted one of its contracts this quarter"),
    Outcome("spend", float, "GBP m / quarter", "Council's spend",
            "Paid by the council: to providers (its in-house unit included) and transition costs"),
    Outcome("local_share", float, "share", "Local share of spend",
            "Share of its spend re-spent in its own area"),
    Outcome("share_outsourcer", float, "share", "Outsourcers' share",
            "Share of its contract value held by private outsourcers"),
    Outcome("share_mutual", float, "share", "Mutuals' share",
            "Share of its contract value held by mutuals"),
    Outcome("share_inhouse", float, "share", "In-house share",
            "Share of its contract value delivered in-house"),
    Outcome("share_local_firm", float, "share", "Local firms' share",
            "Share of its contract value held by local private firms"),
    Outcome("trust", float, "index 0-1", "Public trust",
            "Public trust in the council's commissioning"),
)  # fmt: skip

#: Each trading provider's quarter (the Provider agents' reporters).
PROVIDER_REPORTERS: dict[str, Outcome] = _table(
    Outcome("kind", str, "text", "Kind", "outsourcer, mutual, inhouse or local_firm"),
    Outcome("home", int, "council", "Home council",
            "Index of its home council; -1 for a national firm"),
    Outcome("contracts", int, "contracts", "Contracts held", "Contracts it holds now"),
    Outcome("contract_value", float, "GBP m / quarter", "Contract value",
            "Price of the contracts it holds, per quarter"),
    Outcome("cash", float, "GBP m", "Cash", "Cash at the quarter's end (negative: borrowing)"),
)  # fmt: skip


def outcome(name: str) -> Outcome | None:
    """The definition of a quarterly reporter or run outcome; None for any other name."""
    return REPORTERS.get(name) or SUMMARY_FIELDS.get(name)


def outcome_markdown(table: Mapping[str, Outcome]) -> str:
    """A Markdown table of outcomes (name, type, unit, meaning), as docs/ODD.md shows it."""
    lines = ["| name | type | unit | meaning |", "| --- | --- | --- | --- |"]
    for o in table.values():
        kind = o.type.__name__ + (" or null" if o.nullable else "")
        lines.append(f"| `{o.name}` | {kind} | {o.unit} | {o.meaning} |")
    return "\n".join(lines)
