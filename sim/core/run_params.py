"""The run's numeric parameters as one record, the form the compiled mechanisms take them in.

Built from a resolved scenario once (:func:`run_params`; a run asks for the same scenario's
record every quarter and gets the one already built) and passed whole to a kernel, instead of
one number an argument.
"""

from __future__ import annotations

from typing import NamedTuple

from sim.core.jit import fixed_record
from sim.core.state import Params
from sim.core.tendering import effective_weights

__all__ = ["RunParams", "run_params"]


class RunParams(NamedTuple):
    """The numbers the compiled mechanisms read (names as in the scenario's sections)."""

    # [councils]
    price_cap: float
    contract_years_min: int
    contract_years_max: int
    market_test_rate: float
    due_diligence_threshold: float
    budget_headroom: float
    idle_capacity_cost: float
    inhouse_rebuild_cost: float
    failure_aversion: float
    concentration_aversion: float
    # [commissioning]
    bid_error: float
    mobilisation_quarters: int
    emergency_premium: float
    emergency_contract_quarters: int
    retender_quarters: int
    transition_service_loss: float
    administration_cost: float
    handback_loss: float
    handback_headroom: float
    transition_local_share: float
    # effective score weights (sim.core.tendering.effective_weights)
    weight_price: float
    weight_quality: float
    weight_social_value: float
    weight_local: float


fixed_record(RunParams)  # built with float() and int(): its types never change

_last: list = [None, None]  # (scenario, its record): one run's scenario at a time


def run_params(params: Params) -> RunParams:
    """The record of the resolved scenario ``params`` (built once, then reused while the same
    scenario object asks)."""
    if _last[0] is params:
        return _last[1]
    c, cp = params.councils, params.commissioning
    w = effective_weights(cp)
    record = RunParams(
        price_cap=float(c.price_cap),
        contract_years_min=int(c.contract_years_min),
        contract_years_max=int(c.contract_years_max),
        market_test_rate=float(c.market_test_rate),
        due_diligence_threshold=float(c.due_diligence_threshold),
        budget_headroom=float(c.budget_headroom),
        idle_capacity_cost=float(c.idle_capacity_cost),
        inhouse_rebuild_cost=float(c.inhouse_rebuild_cost),
        failure_aversion=float(c.failure_aversion),
        concentration_aversion=float(c.concentration_aversion),
        bid_error=float(cp.bid_error),
        mobilisation_quarters=int(cp.mobilisation_quarters),
        emergency_premium=float(cp.emergency_premium),
        emergency_contract_quarters=int(cp.emergency_contract_quarters),
        retender_quarters=int(cp.retender_quarters),
        transition_service_loss=float(cp.transition_service_loss),
        administration_cost=float(cp.administration_cost),
        handback_loss=float(cp.handback_loss),
        handback_headroom=float(cp.handback_headroom),
        transition_local_share=float(cp.transition_local_share),
        weight_price=float(w["price"]),
        weight_quality=float(w["quality"]),
        weight_social_value=float(w["social_value"]),
        weight_local=float(w["local"]),
    )
    _last[:] = [params, record]
    return record
