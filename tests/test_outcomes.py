"""Run outcomes: the warm-up is left out, the time series keep every quarter, and the new
outcomes (service-quarters lost, unmet need, failures by provider type and cause) add up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import CommissioningModel
from sim.core.outcomes import REPORTERS, run_summary
from tests.helpers import small


def series(service: list[float], **columns: list[float]) -> pd.DataFrame:
    """A hand-made time series: every reporter 0 unless given."""
    n = len(service)
    data = {name: np.zeros(n) for name in REPORTERS}
    data["service_delivered"] = np.array(service)
    data["unmet_need"] = 10.0 * (1.0 - np.array(service))
    for name, values in columns.items():
        data[name] = np.array(values, dtype=float)
    return pd.DataFrame({"quarter": np.arange(n), **data})


def test_the_warm_up_is_left_out_of_outcomes_over_the_run():
    ts = series(
        [0.5, 0.6, 1.0, 1.0, 0.8, 1.0],
        failures=[3, 0, 0, 0, 1, 0],
        failures_mutual=[3, 0, 0, 0, 0, 0],
        failures_outsourcer=[0, 0, 0, 0, 1, 0],
        local_share=[0.9, 0.9, 0.5, 0.5, 0.5, 0.5],
    )
    events = [
        {"quarter": 0, "event": "failure", "cause": "insolvency"},
        {"quarter": 4, "event": "failure", "cause": "collapse"},
        {"quarter": 4, "event": "handback", "contracts": 2},
    ]
    whole = run_summary(ts, [(4, "provider_collapse")], events=events)
    later = run_summary(ts, [(4, "provider_collapse")], warm_up=2, events=events)
    assert whole["resilience"] == pytest.approx(4.9 / 6)
    assert later["resilience"] == pytest.approx(3.8 / 4)
    assert later["min_service_delivered"] == pytest.approx(0.8)
    assert later["service_quarters_lost"] == pytest.approx(0.2)
    assert whole["service_quarters_lost"] == pytest.approx(1.1)
    assert later["unmet_need_total"] == pytest.approx(2.0)
    assert later["mean_local_share"] == pytest.approx(0.5)
    assert (whole["failures_total"], later["failures_total"]) == (4, 1)
    assert (later["outsourcer_failures_total"], later["mutual_failures_total"]) == (1, 0)
    assert (whole["insolvency_failures_total"], later["insolvency_failures_total"]) == (1, 0)
    assert later["collapse_failures_total"] == 1 and later["random_failures_total"] == 0
    # The first shock's recovery reads the whole run.
    assert later["recovery_quarters"] == whole["recovery_quarters"] == 1


def test_a_shock_within_the_warm_up_still_counts():
    ts = series([1.0, 0.5, 0.7, 1.0, 1.0, 1.0])
    out = run_summary(ts, [(1, "provider_collapse")], warm_up=4)
    assert out["first_shock_quarter"] == 1 and out["recovery_quarters"] == 2
    assert out["resilience"] == 1.0 and out["service_quarters_lost"] == 0.0


def test_a_run_no_longer_than_its_warm_up_is_summarised_over_its_last_quarter():
    out = run_summary(series([0.5, 0.9]), [], warm_up=8)
    assert out["resilience"] == pytest.approx(0.9)
    assert out["service_quarters_lost"] == pytest.approx(0.1)


def test_the_warm_up_changes_run_outcomes_not_the_time_series():
    shocks = [{"kind": "provider_collapse", "quarter": 3}]
    runs = [
        CommissioningModel(**small(**{"scenario.warm_up_quarters": w}), shocks=shocks).run()
        for w in (0, 8)
    ]
    pd.testing.assert_frame_equal(runs[0].timeseries(), runs[1].timeseries())
    whole, later = (m.summary() for m in runs)
    assert whole["failures_total"] >= 1 and later["failures_total"] == 0
    assert whole["collapse_failures_total"] == 1 and later["collapse_failures_total"] == 0
    assert whole["recovery_quarters"] == later["recovery_quarters"]
    assert whole["mean_local_share"] != later["mean_local_share"]


def test_failures_by_type_and_cause_add_up_in_a_run_with_every_kind_of_failure():
    model = CommissioningModel(
        **small(
            **{
                "scenario.quarters": 24,
                "scenario.warm_up_quarters": 0,
                "outsourcers.failure_hazard": 0.2,
                "mutuals.failure_hazard": 0.2,
            }
        ),
        shocks=[{"kind": "provider_collapse", "quarter": 10}],
    ).run()
    ts, out = model.timeseries(), model.summary()
    assert (ts["failures_outsourcer"] + ts["failures_mutual"] == ts["failures"]).all()
    by_type = out["outsourcer_failures_total"] + out["mutual_failures_total"]
    by_cause = (
        out["insolvency_failures_total"]
        + out["collapse_failures_total"]
        + out["random_failures_total"]
    )
    assert out["failures_total"] == by_type == by_cause
    assert out["collapse_failures_total"] == 1 and out["random_failures_total"] > 0
    assert out["unmet_need_total"] == pytest.approx(ts["unmet_need"].sum())
