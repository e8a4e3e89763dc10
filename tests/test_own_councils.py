"""Bring your own councils: a user's councils CSV and graph file (issue 3).

Loading works and is used by the model; every kind of bad file gives one clear line on
stderr, exit status 2, no traceback and nothing written.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from sim import CommissioningModel, InputError, load_scenario
from sim.core.network import load_councils, load_graph, own_geography
from tests.helpers import commsim_in_process, run_cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "my_councils_example.toml"
COUNCILS_CSV = "name,budget,population\nAsh,100,5000\nBeech,50,\nCedar,25,800\n"
EDGES_CSV = "Ash,Beech\nBeech,Cedar\n"


def _scenario(folder: Path, councils: str | None = None, graph: str | None = None) -> Path:
    """A small scenario in ``folder`` naming the given data files (relative paths)."""
    lines = ['[scenario]\nname = "own"\nquarters = 4\n', "[network]"]
    lines += [f'councils_file = "{councils}"'] if councils is not None else []
    lines += [f'graph_file = "{graph}"'] if graph is not None else []
    lines += ["[mutuals]\ncount = 3", "[outsourcers]\ncount = 2"]
    path = folder / "own.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


# ----------------------------------------------------------------------------- loading works


def test_example_councils_are_loaded_with_their_budgets():
    table = load_councils(ROOT / "data" / "example_councils.csv")
    assert len(table) == 12
    assert table["name"].is_unique
    assert (table["budget"] > 0).all()
    assert np.isnan(table.loc[table["name"] == "Isle of Marrow", "population"]).all()


def test_example_model_uses_the_files_names_budgets_and_graph():
    table = pd.read_csv(ROOT / "data" / "example_councils.csv")
    model = CommissioningModel(load_scenario(EXAMPLE))
    assert [c.name for c in model.councils] == list(table["name"])
    assert [c.budget for c in model.councils] == pytest.approx(list(table["budget"] * 1e6))
    assert model.council_table.budget.sum() == pytest.approx(table["budget"].sum() * 1e6)
    assert model.params.network.councils == 12
    source = nx.read_graphml(ROOT / "data" / "example_graph.graphml")
    assert model.graph.number_of_edges() == source.number_of_edges()
    island = list(table["name"]).index("Isle of Marrow")
    assert model.graph.degree(island) == 0
    xy = model.positions
    assert xy.min() >= 0.0 and xy.max() <= 1.0
    model.step()


@pytest.mark.subprocess
def test_example_runs_from_the_cli_and_writes_its_outputs(tmp_path):
    out = tmp_path / "out"
    result = run_cli("run", str(EXAMPLE), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert {p.name for p in out.iterdir()} == {
        "timeseries.csv", "timeseries.columns.csv", "summary.json", "overview.png", "report.html"
    }  # fmt: skip
    assert run_cli("validate", str(EXAMPLE)).returncode == 0


def test_each_council_starts_from_its_own_inhouse_share(tmp_path):
    """A council's inhouse_share decides its contracts' start; an empty one takes the default."""
    (tmp_path / "c.csv").write_text(
        "name,budget,inhouse_share\nAll in,100,1\nAll out,100,0\nDefault,100,\n"
    )
    scenario = load_scenario(
        _scenario(tmp_path, "c.csv"), {"councils.lots": 20, "councils.initial_inhouse_share": 0.5}
    )
    assert list(load_councils(tmp_path / "c.csv")["inhouse_share"].fillna(-1)) == [1, 0, -1]
    model = CommissioningModel(scenario)
    ct, cn = model.contracts, model.council_table
    council = ct.view("council")
    inhouse = ct.view("holder") == cn.inhouse_unit[council]
    by_council = np.bincount(council, inhouse) / np.bincount(council)
    assert by_council[0] == 1.0 and by_council[1] == 0.0
    assert 0.0 < by_council[2] < 1.0  # the scenario's 0.5, drawn contract by contract


def test_paths_are_relative_to_the_scenario_file_and_an_edge_list_works(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "c.csv").write_text(COUNCILS_CSV)
    (tmp_path / "data" / "e.csv").write_text(
        "source,target\n# a comment\n\nAsh,Beech\nCedar,Cedar\n"
    )
    scenario = load_scenario(_scenario(tmp_path, "data/c.csv", "data/e.csv"))
    assert Path(scenario.network.councils_file).is_absolute()
    model = CommissioningModel(scenario)
    assert [c.name for c in model.councils] == ["Ash", "Beech", "Cedar"]
    assert sorted(model.graph.edges) == [(0, 1)]  # the self-loop is dropped; Cedar stands alone


def test_positions_without_coordinates_are_seeded(tmp_path):
    (tmp_path / "e.csv").write_text(EDGES_CSV)
    graph = load_graph(tmp_path / "e.csv", ["Ash", "Beech", "Cedar"])
    first, edges = own_geography(graph, np.random.default_rng(5))
    again, _ = own_geography(graph, np.random.default_rng(5))
    assert np.array_equal(first, again) and first.shape == (3, 2)
    assert edges.tolist() == [[0, 1], [1, 2]]


def test_councils_without_a_graph_get_random_neighbours(tmp_path):
    (tmp_path / "c.csv").write_text(COUNCILS_CSV)
    model = CommissioningModel(load_scenario(_scenario(tmp_path, "c.csv")))
    again = CommissioningModel(load_scenario(_scenario(tmp_path, "c.csv")))
    assert [c.name for c in model.councils] == ["Ash", "Beech", "Cedar"]
    assert np.array_equal(model.positions, again.positions)


def test_a_bad_file_given_to_the_model_directly_is_a_scenario_error(tmp_path):
    (tmp_path / "c.csv").write_text("name,budget\nAsh,1\nAsh,2\n")
    with pytest.raises(InputError, match="named twice"):
        CommissioningModel({"network": {"councils_file": str(tmp_path / "c.csv")}})


# ----------------------------------------------------------------------------- bad files

GRAPHML = (
    '<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
    '<key id="n" for="node" attr.name="name" attr.type="string"/>'
    '<key id="x" for="node" attr.name="x" attr.type="string"/>'
    '<graph edgedefault="undirected">{}</graph></graphml>'
)
BAD = {
    # case: (councils CSV or None for no file, graph file name, its text or None, message)
    "councils file missing": (None, None, None, "no such file"),
    "no budget column": ("name,cost\nAsh,1\nBeech,2\n", None, None, "no 'budget' column"),
    "no name column": ("council,budget\nAsh,1\nBeech,2\n", None, None, "no 'name' column"),
    "budget not a number": (
        "name,budget\nAsh,1\nBeech,lots\n",
        None,
        None,
        "line 3: budget 'lots'",
    ),
    "budget zero": ("name,budget\nAsh,0\nBeech,2\n", None, None, "line 2: budget must be"),
    "budget negative": (
        "name,budget\nAsh,1\nBeech,-2\n",
        None,
        None,
        "budget must be above 0",
    ),
    "budget infinite": ("name,budget\nAsh,inf\nBeech,2\n", None, None, "budget must be"),
    "budget empty": ("name,budget\nAsh,\nBeech,2\n", None, None, "line 2: budget is empty"),
    "population not a number": (
        "name,budget,population\nAsh,1,many\nBeech,2,\n",
        None,
        None,
        "population 'many' is not a number",
    ),
    "in-house share not a number": (
        "name,budget,inhouse_share\nAsh,1,half\nBeech,2,\n",
        None,
        None,
        "line 2: inhouse_share 'half' is not a number",
    ),
    "in-house share above 1": (
        "name,budget,inhouse_share\nAsh,1,0.5\nBeech,2,1.5\n",
        None,
        None,
        "line 3: inhouse_share must be from 0 to 1",
    ),
    "duplicate names": (
        "name,budget\nAsh,1\nBeech,2\nAsh,3\n",
        None,
        None,
        "line 4: council 'Ash'",
    ),
    "empty name": ("name,budget\n,1\nBeech,2\n", None, None, "line 2: the council name is empty"),
    "too many fields": (
        "name,budget\nAsh,1,2\nBeech,2\n",
        None,
        None,
        "3 fields, but the header has 2",
    ),
    "empty councils file": ("", None, None, "is empty"),
    "header only": ("name,budget\n", None, None, "no councils"),
    "one council": ("name,budget\nAsh,1\n", None, None, "only one council"),
    "graph file missing": (COUNCILS_CSV, "g.graphml", None, "no such file"),
    "graphml does not parse": (COUNCILS_CSV, "g.graphml", "<graphml><node", "not valid GraphML"),
    "graphml names an unknown council": (
        COUNCILS_CSV,
        "g.graphml",
        GRAPHML.format('<node id="Ash"/><node id="Oak"/>'),
        "node 'Oak': 'Oak' is not a council",
    ),
    "graphml names a council twice": (
        COUNCILS_CSV,
        "g.graphml",
        GRAPHML.format('<node id="a"><data key="n">Ash</data></node><node id="Ash"/>'),
        "council 'Ash' has two nodes",
    ),
    "graphml coordinate not a number": (
        COUNCILS_CSV,
        "g.graphml",
        GRAPHML.format('<node id="Ash"><data key="x">far</data></node>'),
        "x 'far' is not a finite number",
    ),
    "edge list line with one column": (
        COUNCILS_CSV,
        "g.csv",
        "Ash,Beech\nCedar\n",
        "line 2: expected two",
    ),
    "edge list names an unknown council": (
        COUNCILS_CSV,
        "g.txt",
        "Ash,Beeech\n",
        "did you mean 'Beech'?",
    ),
    "unknown graph file extension": (
        COUNCILS_CSV,
        "g.json",
        "{}",
        "unknown graph file type '.json'",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_council_or_graph_file_gives_one_line_and_writes_nothing(tmp_path, case):
    councils, graph_name, graph_text, message = BAD[case]
    if councils is not None:
        (tmp_path / "c.csv").write_text(councils)
    if graph_text is not None:
        (tmp_path / graph_name).write_text(graph_text)
    scenario = _scenario(tmp_path, "c.csv", graph_name)
    out = tmp_path / "out"
    result = commsim_in_process("run", str(scenario), "--out", str(out))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr
    field = "network.graph_file" if graph_name else "network.councils_file"
    assert f"{scenario}: {field}: " in result.stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_councils_file_that_is_not_utf8_is_one_line(tmp_path):
    (tmp_path / "c.csv").write_bytes(b"name,budget\n\xff\xfe,1\n")
    result = commsim_in_process("validate", str(_scenario(tmp_path, "c.csv")))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "not UTF-8" in result.stderr


def test_a_graph_without_councils_is_a_scenario_error(tmp_path):
    (tmp_path / "e.csv").write_text(EDGES_CSV)
    result = commsim_in_process("validate", str(_scenario(tmp_path, graph="e.csv")))
    assert result.returncode == 2
    assert "network: graph_file needs councils_file" in result.stderr
