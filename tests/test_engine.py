"""The Mesa-free engine: the same numbers as the Mesa model, cheap to import and to build."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest

from sim.abm.model import CommissioningModel
from sim.core.engine import COUNT_REPORTERS, Simulation
from sim.core.network import geometric_edges, synthetic_geography
from sim.core.outcomes import REPORTERS, SUMMARY_FIELDS, run_report
from sim.core.spinouts import new_mutual, new_mutuals
from sim.core.state import ContractBook, ProviderKind, ProviderTable, provider_values
from sim.scenario import load_scenario
from tests.helpers import ROOT, small

SCENARIOS = ROOT / "scenarios"


def _same_summary(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b) == sorted(SUMMARY_FIELDS)
    for name in SUMMARY_FIELDS:
        if a[name] is None or b[name] is None:
            assert a[name] is b[name], name
        else:
            assert a[name] == b[name] or (math.isnan(a[name]) and math.isnan(b[name])), name


@pytest.mark.parametrize(
    "scenario,seed",
    [
        ("baseline", 4),
        ("carillion_collapse", 5),
        ("mutual_support_programme", 6),
        ("budget_cuts", 7),
        ("my_councils_example", 8),  # the user's own councils and graph
    ],
)
def test_simulation_and_the_mesa_model_give_the_same_numbers(scenario, seed):
    params = load_scenario(SCENARIOS / f"{scenario}.toml")
    sim = Simulation(params, rng=seed).run()
    model = CommissioningModel(params, rng=seed).run()
    series, frame = sim.series(), model.timeseries()
    assert list(series) == list(frame.columns) == ["quarter", *REPORTERS]
    for name, values in series.items():
        assert values.dtype == frame[name].dtype, name
        assert np.array_equal(values, frame[name].to_numpy()), name
    _same_summary(sim.summary(), model.summary())
    _same_summary(sim.outcomes, model.outcomes)
    assert sim.events == model.events and sim.shock_log == model.shock_log
    assert np.array_equal(sim.positions, model.positions)
    assert np.array_equal(sim.edges, model.edges)


def test_the_data_collector_holds_the_same_numbers_as_the_series():
    model = CommissioningModel(**small(rng=3)).run()
    collected = model.datacollector.get_model_vars_dataframe()
    for name, values in Simulation(**small(rng=3)).run().series().items():
        if name != "quarter":
            assert np.array_equal(collected[name].to_numpy(dtype=float), values), name


def test_a_generator_gives_both_models_the_same_stream():
    a = Simulation(**small(rng=np.random.default_rng(11))).run()
    b = CommissioningModel(**small(rng=np.random.default_rng(11))).run()
    assert a.seed is None and b.seed is None
    assert np.array_equal(a.series()["spend"], b.timeseries()["spend"].to_numpy())


def test_mesa_steps_and_time_advance_with_each_quarter():
    model = CommissioningModel(**small(**{"scenario.quarters": 5}))
    model.step()
    assert (model.steps, model.time, model.quarter) == (1, 1.0, 1)
    model.run()
    assert (model.steps, model.time, model.quarter) == (5, 5.0, 5)
    assert not model.running


def test_the_mesa_model_keeps_its_agents_and_space():
    model = CommissioningModel(**small(**{"scenario.quarters": 12, "mutuals.spin_out_rate": 0.5}))
    model.run()
    p = model.providers
    alive = int(p.view("alive").sum())
    providers = sum(len(model.agents_by_type.get(cls, [])) for cls in model.agent_types) - 20
    assert providers == alive  # failed providers left; spin-outs joined
    assert model.ledger is model.market.ledger and len(model.councils) == 20
    assert sorted(model.graph.edges) == sorted(map(tuple, model.edges.tolist()))
    assert len(model.space._cells) == 20


def test_series_counts_are_integers_and_the_rest_floats():
    series = Simulation(**small()).run().series()
    assert len(series["quarter"]) == 16
    for name, values in series.items():
        if name == "quarter" or name in COUNT_REPORTERS:
            assert values.dtype == np.int64, name
        else:
            assert values.dtype == np.float64, name
    counts = {"providers_active", "failures", "contracts_disrupted", "handbacks", "spin_outs"}
    counts |= {"entries", "closures"}
    assert (
        counts | {f"failures_{k}" for k in ("outsourcer", "mutual", "local_firm")}
        == COUNT_REPORTERS
    )


def test_a_step_past_the_horizon_is_recorded_too():
    sim = Simulation(**small(**{"scenario.quarters": 2})).run()
    sim.step()  # a user may go on (the demand factors reach one quarter past the horizon)
    assert len(sim.series()["spend"]) == 3 and sim.series()["quarter"][-1] == 2
    assert sim.outcomes == sim.summary()  # as the Mesa model does: over every quarter run


@pytest.mark.subprocess
def test_a_shock_between_steps_counts_in_the_next_quarter():
    from sim.scenario import Shock

    a = Simulation(**small(rng=2))
    b = CommissioningModel(**small(rng=2))
    for model in (a, b):
        model.step()
        model.apply_shock(Shock(kind="provider_collapse", quarter=1, target="largest_outsourcer"))
        model.run()
    assert a.series()["failures"][1] >= 1
    assert np.array_equal(a.series()["failures"], b.timeseries()["failures"].to_numpy())


def _fresh_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


@pytest.mark.parametrize("compiled", [False, True], ids=["jit-off", "compiled"])
def test_importing_and_running_the_engine_loads_no_mesa_pandas_or_plotting(compiled):
    # (numba itself imports scipy.linalg, its BLAS check, so scipy is not on the list.)
    heavy = ("mesa", "pandas", "networkx", "matplotlib")
    code = (
        "import json, os, sys\n"
        f"os.environ['COMMSIM_COMPILED'] = '{int(compiled)}'\n"
        "from sim.core.engine import Simulation\n"
        "from sim.core.outcomes import run_report\n"
        f"heavy = {heavy!r}\n"
        "loaded = [m for m in heavy if m in sys.modules]\n"
        "sim = Simulation(rng=3, **{'network.councils': 12, 'scenario.quarters': 4}).run()\n"
        "report = run_report(sim)\n"
        "loaded += [m + ' (run)' for m in heavy if m in sys.modules]\n"
        "print(json.dumps({'loaded': loaded, 'resilience': report['outcomes']['resilience']}))\n"
    )
    done = _fresh_python(code)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["loaded"] == []
    assert 0 <= out["resilience"] <= 1


def test_run_report_of_a_simulation_matches_the_mesa_model():
    a = run_report(Simulation(**small(rng=9)).run())
    b = run_report(CommissioningModel(**small(rng=9)).run())
    assert a["seed"] == b["seed"] == 9
    _same_summary(a["outcomes"], b["outcomes"])
    assert a["events"] == b["events"] and a["scenario"] == b["scenario"]


# ----------------------------------------------------------------------------- geography


@pytest.mark.parametrize(
    "n,degree,seed",
    [(2, 5, 1), (3, 5, 2), (20, 5, 3), (150, 5, 4), (150, 12, 5), (500, 3, 6), (2400, 5, 7)],
)
def test_geometric_edges_are_networkx_random_geometric_graph(n, degree, seed):
    xy, edges = synthetic_geography(n, degree, np.random.default_rng(seed))
    again = np.random.default_rng(seed).random((n, 2))
    assert np.array_equal(xy, again)  # the same one draw as before
    radius = math.sqrt(degree / (math.pi * max(n - 1, 1)))
    graph = nx.random_geometric_graph(n, radius, pos=dict(enumerate(map(tuple, xy))))
    assert edges.tolist() == [list(e) for e in graph.edges]  # same pairs, same order
    assert edges.dtype == np.int64 and edges.shape[1] == 2


def test_geometric_edges_at_the_edges_of_the_cells():
    # Points on cell borders, exactly ``radius`` apart, and one council alone.
    r = 0.25
    xy = np.array([[0.0, 0.0], [0.25, 0.0], [0.5, 0.0], [0.5, 0.25], [0.99, 0.99], [0.75, 0.5]])
    edges = geometric_edges(xy, r)
    graph = nx.random_geometric_graph(len(xy), r, pos=dict(enumerate(map(tuple, xy))))
    assert edges.tolist() == [list(e) for e in graph.edges]
    assert geometric_edges(xy[:1], r).shape == (0, 2)
    assert len(geometric_edges(xy, 10.0)) == len(xy) * (len(xy) - 1) // 2  # one big cell
    assert geometric_edges(xy, 1e-176).shape == (0, 2)  # a tiny radius asks no huge grid
    shifted = xy * 3 - 1  # outside the unit square too
    graph = nx.random_geometric_graph(len(xy), 0.8, pos=dict(enumerate(map(tuple, shifted))))
    assert geometric_edges(shifted, 0.8).tolist() == [list(e) for e in graph.edges]


# ----------------------------------------------------------------------------- bulk rows


def test_extend_appends_columns_and_grows():
    book = ContractBook(capacity=2)
    rows = book.extend(council=np.array([3, 4, 5]), reference=2.5)
    assert rows.tolist() == [0, 1, 2] and book.n == 3
    assert book.view("council").tolist() == [3, 4, 5]
    assert book.view("reference").tolist() == [2.5] * 3
    assert book.view("holder").tolist() == [-1] * 3  # unnamed: the fill value
    assert book.add(council=9) == 3 and book.extend(2, line=1).tolist() == [4, 5]
    assert book.view("line").tolist() == [0, 0, 0, 0, 1, 1]
    with pytest.raises(ValueError, match="unequal"):
        book.extend(council=np.arange(2), line=np.arange(3))
    with pytest.raises(ValueError, match="unknown"):
        book.extend(line=1)


def test_bulk_provider_values_draw_as_one_row_at_a_time():
    section = load_scenario(SCENARIOS / "baseline.toml").outsourcers
    capacity = np.array([1e6, 2e6, 3e6])
    bulk = provider_values(section, capacity, np.random.default_rng(5))
    rng = np.random.default_rng(5)
    rows = [provider_values(section, c, rng) for c in capacity]
    for name, values in bulk.items():
        assert np.array_equal(np.broadcast_to(values, 3), [r[name] for r in rows]), name


def test_new_mutuals_at_once_equal_one_at_a_time():
    section = load_scenario(SCENARIOS / "baseline.toml").mutuals
    homes, capacity, names = [2, 0, 2], [5e5, 6e5, 7e5], ["a", "b", "c"]
    bulk, single = ProviderTable(capacity=1), ProviderTable(capacity=1)
    rows = new_mutuals(bulk, homes, capacity, names, section, np.random.default_rng(1), 10.0)
    rng = np.random.default_rng(1)
    one = [
        new_mutual(single, *row, section, rng, 10.0)
        for row in zip(homes, capacity, names, strict=True)
    ]
    assert rows.tolist() == one == [0, 1, 2]
    for name in ProviderTable._columns:
        assert np.array_equal(bulk.view(name), single.view(name)), name
    assert set(bulk.view("kind")) == {ProviderKind.MUTUAL}
    assert bulk.view("name").tolist() == names


def test_run_summary_reads_columns_as_it_reads_a_data_frame():
    import pandas as pd

    from sim.core.outcomes import run_summary

    sim = Simulation(**small(rng=4, **{"scenario.warm_up_quarters": 3})).run()
    series = sim.series()
    series["local_share"][5] = np.nan  # a gap is left out of the mean, as pandas leaves it
    series["emergency_cost"][:] = np.nan  # ... and an all-NaN column sums to 0
    shocks = [(2, "cost_shock")]
    a = run_summary(series, shocks, 3, warm_up=3, events=sim.events)
    b = run_summary(pd.DataFrame(series), shocks, 3, warm_up=3, events=sim.events)
    _same_summary(a, b)
    assert a["total_emergency_cost"] == 0.0 and not math.isnan(a["mean_local_share"])
    assert a["shock_contracts_disrupted"] == series["contracts_disrupted"][2]
