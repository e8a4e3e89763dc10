"""Per-council and per-provider records: which councils suffered. ``commsim run --councils``
writes councils.csv with its data dictionary; CommissioningModel(agent_reporters=True) fills
Mesa's agent-type reporters. Both read each council's quarter from one place and add up to
the market's own totals."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

from sim import CommissioningModel
from sim.abm.agents import Council, Provider
from sim.core.outcomes import COUNCIL_REPORTERS, PROVIDER_REPORTERS
from sim.core.state import KIND_NAMES
from tests.helpers import run_cli, small

SHOCK = [{"kind": "provider_collapse", "quarter": 5, "target": "largest_outsourcer"}]


@pytest.fixture(scope="module")
def model() -> CommissioningModel:
    m = CommissioningModel(None, rng=3, agent_reporters=True, **small(shocks=SHOCK))
    m.run_model()
    return m


def test_council_records_add_up_to_the_markets_quarter(model):
    councils = model.datacollector.get_agenttype_vars_dataframe(Council)
    assert list(councils.columns) == list(COUNCIL_REPORTERS)
    by_quarter = councils.groupby(level="Step")
    series = model.timeseries()
    assert len(by_quarter) == len(series)
    assert np.allclose(by_quarter["spend"].sum().to_numpy(), series["spend"].to_numpy())
    assert np.allclose(by_quarter["trust"].mean().to_numpy(), series["trust"].to_numpy())
    hit = by_quarter["disrupted"].sum().to_numpy()
    assert hit[5] == model.summary()["shock_councils_touched"] > 0  # the collapse's councils
    assert ((councils["service_delivered"] >= 0) & (councils["service_delivered"] <= 1)).all()


def test_provider_records_are_the_trading_providers_and_their_contracts(model):
    providers = model.datacollector.get_agenttype_vars_dataframe(Provider)
    assert list(providers.columns) == list(PROVIDER_REPORTERS)
    last = providers.xs(providers.index.get_level_values("Step").max(), level="Step")
    trading = [a for a in model.agents if isinstance(a, Provider)]
    assert sorted(last.index) == sorted(a.unique_id for a in trading)
    held = np.count_nonzero(model.contracts.view("holder") >= 0)
    assert last["contracts"].sum() == held
    assert set(last["kind"]) <= set(KIND_NAMES.values())


def test_the_collectors_rows_equal_each_agents_own_reporter(model):
    """The table read at once and Mesa's per-agent reporters give the same numbers."""
    reporters = model.datacollector.agenttype_reporters
    councils = model.datacollector.get_agenttype_vars_dataframe(Council)
    last = councils.xs(councils.index.get_level_values("Step").max(), level="Step")
    for agent in model.councils[:5]:
        for name, reporter in reporters[Council].items():
            assert last.loc[agent.unique_id, name] == pytest.approx(reporter(agent)), name
    providers = model.datacollector.get_agenttype_vars_dataframe(Provider)
    last = providers.xs(providers.index.get_level_values("Step").max(), level="Step")
    for agent in [a for a in model.agents if isinstance(a, Provider)][:5]:
        for name, reporter in reporters[Provider].items():
            assert last.loc[agent.unique_id, name] == pytest.approx(reporter(agent)), name


def test_agent_reporters_are_off_by_default():
    model = CommissioningModel(None, rng=3, **small())
    assert not model.datacollector.agenttype_reporters


def test_run_writes_councils_csv_only_when_asked(tmp_path):
    sets = ["--set", "network.councils=20", "--set", "scenario.quarters=12"]
    out = tmp_path / "r"
    result = run_cli("run", "baseline", "--out", str(out), "--councils", *sets)
    assert result.returncode == 0, result.stderr
    councils = pd.read_csv(out / "councils.csv")
    assert len(councils) == 20 * 12
    series = pd.read_csv(out / "timeseries.csv")
    spend = councils.groupby("quarter")["spend"].sum().to_numpy()
    assert np.allclose(spend, series["spend"].to_numpy(), rtol=1e-8)
    with (out / "councils.columns.csv").open() as f:
        dictionary = list(csv.DictReader(f))
    assert [r["column"] for r in dictionary] == list(councils.columns)
    assert councils["disrupted"].dtype.kind == "i" and councils["quarter"].dtype.kind == "i"
    plain = tmp_path / "plain"
    assert run_cli("run", "baseline", "--out", str(plain), *sets).returncode == 0
    assert not (plain / "councils.csv").exists()


def test_a_sweep_keeps_each_councils_quarters_when_asked(tmp_path):
    import json

    import pyarrow.parquet as pq

    from sim.experiments.executors import make_executor
    from sim.experiments.experiment import load_experiment
    from sim.experiments.store import read_councils, read_timeseries
    from sim.experiments.sweep import run_sweep
    from tests.sweep_support import experiment_file

    fixed = '[fixed]\n"network.councils" = 20\n"scenario.quarters" = 12\n'
    svw = '"commissioning.social_value_weight" = [0.0, 0.3]'
    for keep in (True, False):
        out = tmp_path / f"out-{keep}"
        extra = f"councils = {str(keep).lower()}"
        path = experiment_file(tmp_path, svw, fixed=fixed, extra=extra, name=f"{keep}.toml")
        run_sweep(load_experiment(path), out, make_executor(1, None), progress=False)
    assert read_councils(tmp_path / "out-False") is None  # off by default in effect
    councils = read_councils(tmp_path / "out-True")
    assert len(councils) == 4 * 12 * 20  # runs x quarters x councils
    series = read_timeseries(tmp_path / "out-True").set_index(["run_id", "quarter"])
    spend = councils.groupby(["run_id", "quarter"])["spend"].sum()
    assert np.allclose(spend.to_numpy(), series.loc[spend.index, "spend"].to_numpy())
    assert councils["disrupted"].dtype.kind == "i"
    (part, *_) = (tmp_path / "out-True" / "councils").glob("*.parquet")
    kv = json.loads(pq.read_metadata(part).metadata[b"commsim_columns"])
    assert kv["spend"]["unit"] == "GBP m / quarter" and kv["council"]["role"] == "id"
