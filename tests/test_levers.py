"""Policy levers act through the mechanism they name."""

from __future__ import annotations

import numpy as np

from sim import CommissioningModel
from sim.abm.agents import ProviderKind
from sim.core.bidders import passes_financial_check
from sim.core.delivery import headroom
from tests.helpers import small


def test_lots_split_each_service_line():
    one = CommissioningModel(**small())
    three = CommissioningModel(**small(**{"councils.lots": 3}))
    assert three.contracts.n == 3 * one.contracts.n
    assert np.isclose(
        three.contracts.view("reference").sum(), one.contracts.view("reference").sum()
    )


def test_financial_check_sees_lagged_accounts():
    """A firm whose cash has just collapsed passes a check that reads last year's accounts."""
    outcomes = {}
    for lag in (0, 4):
        model = CommissioningModel(**small(**{"councils.report_lag_quarters": lag}))
        for _ in range(6):
            model.step()
        p = model.providers
        firm = int(np.flatnonzero(p.view("kind") == ProviderKind.OUTSOURCER)[0])
        p.cash[firm] = -0.99 * p.credit_limit[firm]  # nearly broke, not yet insolvent
        health_log = [*model.market.health_log, headroom(p)]  # the accounts this quarter
        passed = passes_financial_check(health_log, p.n, lag, threshold=0.05)
        outcomes[lag] = bool(passed[firm])
    assert outcomes == {0: False, 4: True}


def test_a_strict_financial_check_keeps_thin_firms_out():
    strict = (
        CommissioningModel(**small(**{"councils.due_diligence_threshold": 1.0})).run().timeseries()
    )
    assert (strict["share_outsourcer"] == 0).all()


def test_local_preference_raises_local_share():
    def local_share(pref: float) -> float:
        runs = [
            CommissioningModel(rng=s, **small(**{"commissioning.local_preference": pref})).run()
            for s in range(5)
        ]
        return float(np.mean([m.summary()["mean_local_share"] for m in runs]))

    assert local_share(0.15) > local_share(0.0)


def test_support_programme_creates_more_mutuals():
    base = small(**{"councils.initial_inhouse_share": 0.6, "scenario.quarters": 20})
    plain = [CommissioningModel(rng=s, **base).run().summary()["spin_outs_total"] for s in range(5)]
    backed = [
        CommissioningModel(rng=s, **base, **{"mutuals.support_programme": True})
        .run()
        .summary()["spin_outs_total"]
        for s in range(5)
    ]
    assert sum(backed) > sum(plain)


def test_a_contract_nobody_can_take_is_rebuilt_in_house():
    nobody = small(
        **{
            "outsourcers.count": 0,
            "mutuals.count": 0,
            "local_firms.count": 0,
            "local_firms.entry_rate": 0.0,
            "mutuals.spin_out_rate": 0.0,
            "councils.initial_inhouse_share": 0.0,
            "councils.inhouse_capacity_retained": 0.0,
            "commissioning.inhouse_rebuild_quarters": 4,
        }
    )
    ts = CommissioningModel(**nobody).run().timeseries()
    assert (ts["service_delivered"][:4] == 0).all()
    assert (ts["service_delivered"][4:] == 1).all()
    assert np.allclose(ts["share_inhouse"][4:], 1.0, rtol=0, atol=1e-12)  # sums in another order
