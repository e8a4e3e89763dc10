"""Outcomes: what the model records each quarter, the run's summary and its report.

The definitions (names, types, units, meanings) are in :mod:`sim.core.outcome_table`, re-exported
here; this module computes them from the market's tables. It loads neither Mesa nor pandas, so
a process that only handles results (the sweep's writer, the analysis) can import it cheaply.
Money is reported in GBP m per quarter; shares and indices are 0-1.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.core.jit import kernel
from sim.core.numeric import INHOUSE, pairwise_sum
from sim.core.outcome_table import (
    COUNCIL_REPORTERS,
    FAILURE_CAUSES,
    PROVIDER_REPORTERS,
    REPORTERS,
    SUMMARY_FIELDS,
    Outcome,
    outcome,
    outcome_markdown,
)
from sim.core.state import KIND_NAMES, KINDS, Market, ProviderKind
from sim.core.tendering import effective_weights
from sim.core.workforce import vacancy_rate
from sim.version import package_version

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "COUNCIL_REPORTERS",
    "FAILURE_CAUSES",
    "PROVIDER_REPORTERS",
    "REPORTERS",
    "SUMMARY_FIELDS",
    "Outcome",
    "council_metrics",
    "council_table",
    "local_multiplier",
    "model_reporters",
    "outcome",
    "outcome_markdown",
    "provider_metrics",
    "quarter_metrics",
    "recovery_quarters",
    "run_report",
    "run_summary",
]

MILLION = 1e6


def _read_metric(name: str, model: Any) -> float:
    return model.metrics[name]


def model_reporters() -> dict[str, partial]:
    """Reporters for ``mesa.DataCollector``, one per name in :data:`REPORTERS` (picklable)."""
    return {name: partial(_read_metric, name) for name in REPORTERS}


def local_multiplier(
    spend: float | np.ndarray, local: float | np.ndarray, respend: float
) -> float | np.ndarray:
    """LM3 (NEF, *The Money Trail*, 2002): (round 1 + round 2 + round 3) / round 1.

    Round 1 is the council's spend, round 2 the part of it spent in the area, round 3 the part
    of round 2 that local recipients spend locally again (``respend``).
    """
    spend = np.asarray(spend, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(spend > 0, np.asarray(local) / spend, 0.0)
    out = 1.0 + share * (1.0 + respend)
    return float(out) if out.ndim == 0 else out


def quarter_metrics(market: Market, local_respend: float) -> dict[str, Any]:
    """The quarter's outcomes (:data:`REPORTERS`), computed once from the market's tables."""
    ct, p, ledger = market.contracts, market.providers, market.ledger
    money = ledger.money
    (
        value,
        total,
        hhi,
        social,
        active,
        required,
        delivered,
        spend,
        local,
        leaked,
        trust,
        markup,
        failed,
        premium,
    ) = _quarter_tallies(
        ct.columns(),
        p.columns(),
        money["required"],
        money["delivered"],
        money["paid"],
        money["local"],
        money["leaked"],
        market.councils.trust,
        market.quarter,
    )
    shares = value / total if total > 0 else np.zeros(KINDS)
    share = local / spend if spend > 0 else 0.0
    return {
        **{f"share_{KIND_NAMES[k]}": float(shares[k]) for k in ProviderKind},
        "hhi": hhi,
        "providers_active": active,
        "failures": ledger.failures,
        "contracts_disrupted": ledger.contracts_disrupted,
        "handbacks": ledger.handbacks,
        "service_delivered": min(delivered / required, 1.0) if required > 0 else 1.0,
        "unmet_need": max(required - delivered, 0.0) / MILLION,
        "unmet_need_staff": float(pairwise_sum(money["unstaffed"])) / MILLION,
        "vacancy_rate": float(
            vacancy_rate(ct.view("holder"), ct.view("reference"), ct.view("vacant"))
        ),
        "emergency_cost": float(money["emergency_cost"]) / MILLION,
        "spend": spend / MILLION,
        "cost_per_service": spend / delivered if delivered > 0 else 0.0,
        "idle_capacity_cost": float(pairwise_sum(money["idle"])) / MILLION,
        "award_premium": premium / MILLION,
        "local_reinvestment": local / MILLION,
        "leaked": leaked / MILLION,
        "local_share": share,
        "lm3": float(local_multiplier(spend, local, local_respend)),
        "social_value": social,
        "trust": trust,
        "spin_outs": ledger.spin_outs,
        "entries": ledger.entries,
        "closures": ledger.closures,
        **firm_margins(market),
        "mean_markup_outsourcer": float(markup[ProviderKind.OUTSOURCER]),
        "contagion_loss": ledger.contagion_loss / MILLION,
        **{f"failures_{KIND_NAMES[k]}": int(failed[k]) for k in _TRADING},
    }


#: The provider types that trade (and can fail): every type but the councils' own units.
_TRADING = tuple(k for k in ProviderKind if k != ProviderKind.INHOUSE)


def firm_margins(market: Market) -> dict[str, float]:
    """The quarter's margins of trading firms with costs (surplus / cost, from the books):
    their median and the share of them in profit (0 and 0 when none traded)."""
    p, accounts = market.providers, market.ledger.accounts
    cost, surplus = accounts.get("cost", np.zeros(0)), accounts.get("surplus", np.zeros(0))
    n = cost.size
    trading = p.alive[:n] & (p.kind[:n] != ProviderKind.INHOUSE) & (cost > 0)
    if not trading.any():
        return {"median_margin": 0.0, "share_in_profit": 0.0}
    margin = surplus[trading] / cost[trading]
    return {
        "median_margin": float(np.median(margin)),
        "share_in_profit": float(np.mean(margin > 0)),
    }


def recovery_quarters(
    service: np.ndarray, shock_quarter: int | None, tolerance: float = 0.01
) -> int | None:
    """Quarters after ``shock_quarter`` until ``service`` is back within ``tolerance`` of its
    level the quarter before; 0 if it never fell; None if there is no shock or no recovery."""
    if shock_quarter is None or shock_quarter >= len(service):
        return None
    before = service[shock_quarter - 1] if shock_quarter > 0 else service[shock_quarter]
    after = service[shock_quarter:]
    back = np.flatnonzero(after >= before - tolerance)
    return int(back[0]) if back.size else None


def run_summary(
    ts: Mapping[str, Any] | pd.DataFrame,
    shock_log: list[tuple[int, str]],
    shock_councils_touched: int = 0,
    *,
    warm_up: int = 0,
    events: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run outcomes from the time series (names and meanings in :data:`SUMMARY_FIELDS`).

    ``ts``: one value per quarter of every reporter, as a mapping of columns
    (:meth:`sim.core.engine.Simulation.series`) or a DataFrame (``timeseries()``); NaNs are left
    out of sums and means, as pandas does. ``shock_councils_touched``: councils with a
    contract disrupted in the first shock's quarter (counted by the model as it runs; the time
    series does not hold it). ``warm_up``: the first quarters left out of the outcomes over the
    run (a run no longer than it is summarised over its last quarter); the first shock's
    outcomes (recovery included) and the final ones read the whole run. ``events``: the run's
    failures and handbacks, for the failures by cause.
    """

    def column(name: str) -> np.ndarray:
        return np.asarray(ts[name])

    service_all = column("service_delivered")
    start = min(max(warm_up, 0), len(service_all) - 1)
    service = service_all[start:]

    def total(name: str) -> Any:
        after = column(name)[start:]
        value = after.sum()
        return np.nansum(after) if np.isnan(value) else value  # nansum only when needed

    def mean(name: str) -> float:
        after = column(name)[start:]
        value = after.mean()
        if np.isnan(value):
            with np.errstate(invalid="ignore"):  # all NaN: NaN, as pandas gives
                value = np.nansum(after) / np.count_nonzero(~np.isnan(after))
        return float(value)

    def final(name: str) -> float:
        return float(column(name)[-1])

    first = min((q for q, _ in shock_log), default=None)
    causes = dict.fromkeys(FAILURE_CAUSES.values(), 0)
    for event in events or []:
        if event["event"] == "failure" and event["quarter"] >= start:
            field = FAILURE_CAUSES.get(event.get("cause", ""))
            if field is not None:
                causes[field] += 1
    return {
        "resilience": float(service.mean()),
        "min_service_delivered": float(service.min()),
        "recovery_quarters": recovery_quarters(service_all, first),
        "total_emergency_cost": float(total("emergency_cost")),
        "cumulative_local_reinvestment": float(total("local_reinvestment")),
        "mean_local_share": mean("local_share"),
        "failures_total": int(total("failures")),
        "handbacks_total": int(total("handbacks")),
        "spin_outs_total": int(total("spin_outs")),
        "entries_total": int(total("entries")),
        "closures_total": int(total("closures")),
        "mean_median_margin": mean("median_margin"),
        "mean_share_in_profit": mean("share_in_profit"),
        "service_quarters_lost": float((1.0 - service).sum()),
        "unmet_need_total": float(total("unmet_need")),
        "unmet_need_staff_total": float(total("unmet_need_staff")),
        "mean_vacancy_rate": mean("vacancy_rate"),
        **{
            f"{KIND_NAMES[k]}_failures_total": int(total(f"failures_{KIND_NAMES[k]}"))
            for k in _TRADING
        },
        **causes,
        **{f"final_share_{KIND_NAMES[k]}": final(f"share_{KIND_NAMES[k]}") for k in ProviderKind},
        "total_spend": float(total("spend")),
        "mean_cost_per_service": mean("cost_per_service"),
        "total_idle_capacity_cost": float(total("idle_capacity_cost")),
        "total_award_premium": float(total("award_premium")),
        "final_hhi": final("hhi"),
        "final_trust": final("trust"),
        "first_shock_quarter": first,
        "shock_contracts_disrupted": int(column("contracts_disrupted")[first])
        if first is not None
        else 0,
        "shock_councils_touched": int(shock_councils_touched) if first is not None else 0,
    }


def council_metrics(market: Market) -> dict[str, np.ndarray]:
    """Each council's quarter (:data:`COUNCIL_REPORTERS`), one value per council, read from
    the quarter's accounts as :func:`quarter_metrics` reads the market's."""
    money = market.ledger.money
    required, delivered = money["required"], money["delivered"]
    paid, local = money["paid"], money["local"]
    value = value_by_council_and_kind(market)
    total = value.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        service = np.where(required > 0, np.minimum(delivered / required, 1.0), 1.0)
        shares = np.where(total[:, None] > 0, value / total[:, None], 0.0)
        local_share = np.where(paid > 0, local / paid, 0.0)
    return {
        "service_delivered": service,
        "disrupted": market.ledger.councils_hit.astype(np.int64),
        "spend": paid / MILLION,
        "local_share": local_share,
        **{f"share_{KIND_NAMES[k]}": shares[:, k] for k in ProviderKind},
        "trust": market.councils.trust.copy(),
    }


_KIND_NAMES = np.array([KIND_NAMES[k] for k in ProviderKind], dtype=object)


def council_table(quarters: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Quarters of :func:`council_metrics` (quarter 0 first) as one table: ``quarter``,
    ``council`` and each council reporter, one row per council and quarter."""
    n = len(quarters[0]["trust"]) if quarters else 0
    table = {
        "quarter": np.repeat(np.arange(len(quarters), dtype=np.int64), n),
        "council": np.tile(np.arange(n, dtype=np.int64), len(quarters)),
    }
    for name in COUNCIL_REPORTERS:
        table[name] = np.concatenate([q[name] for q in quarters]) if quarters else np.zeros(0)
    return table


def provider_metrics(market: Market) -> dict[str, np.ndarray]:
    """Every provider's quarter (:data:`PROVIDER_REPORTERS`), one value per provider row
    (failed ones included: select ``market.providers.view("alive")`` for those trading)."""
    p, ct = market.providers, market.contracts
    holder = ct.view("holder")
    held = holder[holder >= 0]
    return {
        "kind": _KIND_NAMES[p.view("kind")],
        "home": p.view("home").astype(np.int64),
        "contracts": np.bincount(held, minlength=p.n).astype(np.int64),
        "contract_value": ct.value_by_provider(p.n) / MILLION,
        "cash": p.view("cash") / MILLION,
    }


def run_report(model: Any, seed: int | None = None) -> dict[str, Any]:
    """A finished run's report (a :class:`sim.core.engine.Simulation`'s or a
    ``CommissioningModel``'s), as written to summary.json: its outcomes, the resolved
    scenario, the effective score weights, the seed (``seed``, or the one the model used), the
    package version and the events (failures, handbacks)."""
    params = model.params
    return {
        "outcomes": model.summary(),
        "scenario": params.model_dump(mode="json"),
        "effective_weights": effective_weights(params.commissioning),
        "seed": model.seed if seed is None else seed,
        "package_version": package_version(),
        "events": model.events,
    }


@kernel
def _quarter_tallies(ct, p, required, delivered, paid, local, leaked, trust, quarter):
    """The arithmetic of :func:`quarter_metrics`: value by provider type, HHI, social value,
    live providers, money totals, mean trust, mean mark-up and failures by provider type, and
    the premium paid above the cheapest bids on the contracts held."""
    holder, price, premium = ct.holder, ct.price, ct.premium
    kind, social_value_score, alive = p.kind, p.social_value_score, p.alive
    markup, failed_at = p.markup, p.failed_at
    n_p = kind.size
    value = np.zeros(KINDS)
    by_provider = np.zeros(n_p)
    n_held = 0
    premiums = np.empty(holder.size)
    for i in range(holder.size):
        premiums[i] = 0.0
        if holder[i] >= 0:
            value[kind[holder[i]]] += price[i]
            by_provider[holder[i]] += price[i]
            premiums[i] = premium[i]
            n_held += 1
    total = pairwise_sum(by_provider)  # not by type: no outcome may move with a label
    hhi = 0.0
    social = 0.0
    if total > 0:
        sq = np.empty(n_p)
        for q in range(n_p):
            x = by_provider[q] / total
            sq[q] = x * x
        hhi = pairwise_sum(sq)
        weighted = np.empty(n_held)
        k = 0
        for i in range(holder.size):
            if holder[i] >= 0:
                weighted[k] = social_value_score[holder[i]] * price[i]
                k += 1
        social = pairwise_sum(weighted) / total
    active = 0
    markup_sum = np.zeros(KINDS)
    markup_n = np.zeros(KINDS)
    failed = np.zeros(KINDS, np.int64)
    for q in range(n_p):
        if alive[q] and kind[q] != INHOUSE:
            active += 1
            markup_sum[kind[q]] += markup[q]
            markup_n[kind[q]] += 1
        if failed_at[q] == quarter:
            failed[kind[q]] += 1
    mean_markup = np.zeros(KINDS)
    for k in range(KINDS):
        if markup_n[k] > 0:
            mean_markup[k] = markup_sum[k] / markup_n[k]
    return (
        value,
        total,
        hhi,
        social,
        active,
        pairwise_sum(required),
        pairwise_sum(delivered),
        pairwise_sum(paid),
        pairwise_sum(local),
        pairwise_sum(leaked),
        pairwise_sum(trust) / trust.size,
        mean_markup,
        failed,
        pairwise_sum(premiums),
    )


def value_by_council_and_kind(market: Market) -> np.ndarray:
    """(n_councils, KINDS) contract value each council has with each provider type (for the
    shares reported by council)."""
    return _value_by_council_and_kind(
        market.contracts.columns(), market.providers.view("kind"), market.councils.n
    )


@kernel
def _value_by_council_and_kind(ct, kind, n_councils):
    """The arithmetic of :func:`value_by_council_and_kind`, added in contract order."""
    out = np.zeros((n_councils, KINDS))
    for i in range(ct.holder.size):
        h = ct.holder[i]
        if h >= 0:
            out[ct.council[i], kind[h]] += ct.price[i]
    return out
