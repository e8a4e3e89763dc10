"""Outcomes: the reporters recorded each quarter and the run summary.

Money is reported in GBP m per quarter; shares and indices are 0-1. The names and units are
in :mod:`sim.outcomes` (the project's fixed interface, DESIGN.md section 3).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.agents import ProviderKind
from sim.finance import local_multiplier
from sim.outcomes import REPORTERS

if TYPE_CHECKING:
    from sim.model import CommissioningModel
    from sim.scenario import Scenario

__all__ = [
    "model_reporters",
    "quarter_metrics",
    "run_summary",
]

MILLION = 1e6


def _read_metric(name: str, model: CommissioningModel) -> float:
    return model.metrics[name]


def model_reporters() -> dict[str, partial]:
    """Reporters for ``mesa.DataCollector``, one per name in :data:`REPORTERS` (picklable)."""
    return {name: partial(_read_metric, name) for name in REPORTERS}


def quarter_metrics(model: CommissioningModel) -> dict[str, Any]:
    """The quarter's outcomes, computed once from the model's arrays."""
    ct = model.contracts
    p = model.providers
    money = model.quarter_money
    holder = ct.view("holder")
    held = holder >= 0
    value = np.bincount(p.kind[holder[held]], ct.view("price")[held], minlength=3)
    total = value.sum()
    shares = value / total if total > 0 else np.zeros(3)
    by_provider = model.provider_contract_value()
    hhi = float(((by_provider / total) ** 2).sum()) if total > 0 else 0.0
    sv = (
        float((p.social_value[holder[held]] * ct.view("price")[held]).sum() / total)
        if total > 0
        else 0.0
    )
    alive_ext = p.view("alive") & (p.view("kind") != ProviderKind.INHOUSE)
    outsourcers = alive_ext & (p.view("kind") == ProviderKind.OUTSOURCER)
    required, delivered = money["required"].sum(), money["delivered"].sum()
    spend, local = money["paid"].sum(), money["local"].sum()
    tally = model.tally
    return {
        "share_outsourcer": float(shares[ProviderKind.OUTSOURCER]),
        "share_mutual": float(shares[ProviderKind.MUTUAL]),
        "share_inhouse": float(shares[ProviderKind.INHOUSE]),
        "hhi": hhi,
        "providers_active": int(alive_ext.sum()),
        "failures": tally["failures"],
        "contracts_disrupted": tally["contracts_disrupted"],
        "handbacks": tally["handbacks"],
        "service_delivered": float(min(delivered / required, 1.0)) if required > 0 else 1.0,
        "unmet_need": float(max(required - delivered, 0.0)) / MILLION,
        "emergency_cost": float(money["emergency_cost"]) / MILLION,
        "spend": float(spend) / MILLION,
        "local_reinvestment": float(local) / MILLION,
        "leaked": float(money["leaked"].sum()) / MILLION,
        "local_share": float(local / spend) if spend > 0 else 0.0,
        "lm3": float(local_multiplier(spend, local, model.params.councils.local_respend)),
        "social_value": sv,
        "trust": float(model.council_trust.mean()),
        "spin_outs": tally["spin_outs"],
        "mean_markup_outsourcer": float(p.view("markup")[outsourcers].mean())
        if outsourcers.any()
        else 0.0,
        "contagion_loss": tally["contagion_loss"] / MILLION,
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
    ts: pd.DataFrame, params: Scenario, shock_log: list, model: CommissioningModel | None = None
) -> dict:
    """Run outcomes from the time series (names and meanings in :data:`sim.outcomes.SUMMARY_FIELDS`)."""
    service = ts["service_delivered"].to_numpy()
    first = min((q for q, _ in shock_log), default=None)
    last = ts.iloc[-1]
    out = {
        "resilience": float(service.mean()),
        "min_service_delivered": float(service.min()),
        "recovery_quarters": recovery_quarters(service, first),
        "total_emergency_cost": float(ts["emergency_cost"].sum()),
        "cumulative_local_reinvestment": float(ts["local_reinvestment"].sum()),
        "mean_local_share": float(ts["local_share"].mean()),
        "failures_total": int(ts["failures"].sum()),
        "handbacks_total": int(ts["handbacks"].sum()),
        "spin_outs_total": int(ts["spin_outs"].sum()),
        "final_share_outsourcer": float(last["share_outsourcer"]),
        "final_share_mutual": float(last["share_mutual"]),
        "final_share_inhouse": float(last["share_inhouse"]),
        "final_hhi": float(last["hhi"]),
        "final_trust": float(last["trust"]),
        "first_shock_quarter": first,
        "shock_contracts_disrupted": int(ts["contracts_disrupted"].iloc[first])
        if first is not None
        else 0,
        "shock_councils_touched": 0,
    }
    if model is not None and first is not None:
        out["shock_councils_touched"] = int(model.shock_councils_touched)
    return out
