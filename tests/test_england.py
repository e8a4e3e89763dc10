"""England as it was (issue 22): the data build, the shipped data and the scenario on it.

The build is tested on a tiny hand-made copy of the two sources (two git repositories made in
a temporary folder, laid out as the real mirrors): three councils, one a county of two
districts, one an island.
"""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from scripts import england_data, england_validation
from sim import CommissioningModel, load_scenario
from sim.core.inhouse import kept_to_share
from sim.core.state import ProviderKind

ROOT = Path(__file__).resolve().parents[1]
ENGLAND = ROOT / "data" / "england"
SCENARIO = ROOT / "scenarios" / "england_home_care.toml"

# council (as the returns name it, 2000-07 / 2007-08 / 2014-15) -> (own, total) GBP k in 2000-01
COUNCILS = {
    ("Cambridgeshire", "623-Cambridgeshire", "623 - Cambridgeshire"): (300, 1000),
    ("Peterborough UA", "624-Peterborough UA", "624 - Peterborough"): (50, 200),
    ("Isle of Wight UA", "803-Isle of Wight UA", "803 - Isle of Wight Council"): (100, 100),
}
REGIONS = ["E", "E", "SE"]


def _git_repo(folder: Path, files: dict[str, str]) -> Path:
    """A bare-enough git repository holding ``files`` at HEAD; returns its git directory."""
    for path, text in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
        "PATH": "/usr/bin:/bin",
    }
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "fixture"]):
        subprocess.run(["git", "-C", str(folder), *args], check=True, env=env)
    return folder / ".git"


def _sheet(year: int, own: float, total: float, blank_own: bool = False) -> str:
    """One council's PSS-EX1 sheet, cut down to the rows the build reads."""
    cell = "NA" if blank_own else f'"{own}"'
    if year == 2008:  # own, by others, grants to voluntary bodies, total
        head = '"Service",NA,"Current expenditure including capital charges",NA,NA,"TOTAL"'
        line = f'"B6","Home care",{cell},"{total - own - 5}","5","{total}"'
    else:  # own incl. capital, capital, own excl. capital, by others, total
        head = '"Service",NA,"Own provision (including joint arrangements)",NA,NA,"Provision","Total (including joint arrangements)"'
        line = f'"C6","Home care",{cell},"0",{cell},"{total - own}","{total}"'
    return f'"title"\n"All amounts are in £ thousands"\n{head}\n"C1","Other",1,1,1,1,1\n{line}\n'


def _care_files(growth: float = 0.1, blank: str = "") -> dict[str, str]:
    """The care mirror: 2000-01 to 2007-08 sheets, in-house shrinking by ``growth`` a year,
    and the 2014-15 file."""
    files = {}
    for year in england_data.PSS_EX1_YEARS:
        era = 1 if year == 2008 else 0
        names = [names[era] for names in COUNCILS]
        files[f"Raw_data/{year}/spend_csvs/sheet_names.csv"] = (
            '"x"\n' + "".join(f'"{n}"\n' for n in names) + '"TOTAL England"\n'
        )
        for name, (own, total) in zip(names, COUNCILS.values(), strict=True):
            own_now = max(own - growth * total * (year - 2001), 0)
            files[f"Raw_data/{year}/spend_csvs/output_{name}.csv"] = _sheet(
                year, own_now, total, blank_own=(year == 2008 and name == blank)
            )
    header = [
        "Support type",
        "Age category",
        "Summary",
        "Delivery mechanism",
        "Accounting category",
    ]
    rows = [",,,,," + ",".join(REGIONS), ",".join(header + [n[2] for n in COUNCILS])]
    for category, values in (("own provision", "10,5,0"), ("total expenditure", "100,50,20")):
        rows.append(
            f"Long term,Age 65 and over,Total,Community: home care,Gross total cost: {category},{values}"
        )
        rows.append(
            f"Long term,Age 18 to 64,Total,Community: home care,Gross total cost: {category},9,9,9"
        )
    files[england_data.ASC_2015_PATH] = "\n".join(rows) + "\n"
    return files


def _topology() -> str:
    """Two Cambridgeshire districts side by side under Peterborough, and an island apart."""

    def arc(*points):  # TopoJSON's delta encoding
        return [list(points[0])] + [
            [b[0] - a[0], b[1] - a[1]] for a, b in itertools.pairwise(points)
        ]

    arcs = [
        arc((1, 0), (1, 1)),  # 0: the two districts' border
        arc((1, 1), (0, 1)),  # 1: district A and Peterborough
        arc((0, 1), (0, 0), (1, 0)),  # 2: A's coast
        arc((2, 1), (1, 1)),  # 3: district B and Peterborough
        arc((1, 0), (2, 0), (2, 1)),  # 4: B's coast
        arc((0, 1), (0, 2), (2, 2), (2, 1)),  # 5: Peterborough's coast
        arc((5, 0), (6, 0), (6, 1), (5, 1), (5, 0)),  # 6: the island
    ]

    def lad(code, old, name, rings):
        return {
            "type": "Polygon",
            "arcs": rings,
            "id": code,
            "properties": {"LAD13CD": code, "LAD13CDO": old, "LAD13NM": name},
        }

    geometries = [
        lad("E07000001", "12UB", "District A", [[0, 1, 2]]),
        lad("E07000002", "12UC", "District B", [[4, 3, -1]]),
        lad("E06000031", "00JA", "Peterborough", [[5, 3, 1]]),
        lad("E06000046", "00MW", "Isle of Wight", [[6]]),
    ]
    return json.dumps(
        {
            "type": "Topology",
            "transform": {"scale": [1, 1], "translate": [0, 0]},
            "objects": {"lad": {"type": "GeometryCollection", "geometries": geometries}},
            "arcs": arcs,
        }
    )


@pytest.fixture
def mirrors(tmp_path: Path) -> tuple[Path, Path]:
    care = _git_repo(tmp_path / "care", _care_files(blank="624-Peterborough UA"))
    boundaries = _git_repo(tmp_path / "geo", {england_data.TOPO_PATH: _topology()})
    return care, boundaries


def test_the_build_reads_each_councils_spend_shares_and_map(mirrors, tmp_path):
    care, boundaries = mirrors
    assert (
        england_data.main(
            ["--care", str(care), "--boundaries", str(boundaries), "--out", str(tmp_path / "out")]
        )
        == 0
    )
    councils = pd.read_csv(tmp_path / "out" / "councils.csv").set_index("name")
    assert list(councils.index) == ["Cambridgeshire", "Isle of Wight", "Peterborough"]
    assert councils.loc["Cambridgeshire", "budget"] == pytest.approx(1.0)  # GBP m
    assert councils.loc["Cambridgeshire", "inhouse_share"] == pytest.approx(0.3)
    assert councils.loc["Peterborough", "inhouse_share"] == pytest.approx(0.25)
    assert councils.loc["Cambridgeshire", "ons_code"] == "E10000003"  # by its districts' 12
    assert councils.loc["Cambridgeshire", "districts_2013"] == "E07000001;E07000002"
    assert councils.loc["Isle of Wight", "region"] == "South East"

    spend = pd.read_csv(tmp_path / "out" / "home_care_spend.csv")
    cambs = spend[spend.council == "Cambridgeshire"].set_index("year")
    assert list(cambs.index) == [*england_data.PSS_EX1_YEARS, 2015]
    assert cambs.loc[2002, "inhouse"] == 200 and cambs.loc[2002, "external"] == 800
    assert cambs.loc[2008, "external"] == 1000  # by others and grants to voluntary bodies
    # 2014-15: people 65 and over only, the 18-64 rows left out
    assert cambs.loc[2015, "inhouse"] == 10 and cambs.loc[2015, "external"] == 90
    peterborough_2008 = spend[(spend.council == "Peterborough") & (spend.year == 2008)]
    assert peterborough_2008.inhouse.tolist() == [0]  # a blank own-provision cell is none

    graph = nx.read_graphml(tmp_path / "out" / "neighbours.graphml")
    assert sorted(graph.edges) == [("Cambridgeshire", "Peterborough")]
    assert graph.degree("Isle of Wight") == 0
    later = pd.read_csv(tmp_path / "out" / "councils_2015.csv").set_index("name")
    assert list(later.index) == list(councils.index)  # the same councils, started later
    assert later.loc["Cambridgeshire", "budget"] == pytest.approx(0.1)  # 10 + 90, GBP m
    assert later.loc["Cambridgeshire", "inhouse_share"] == pytest.approx(0.1)
    assert later.loc["Cambridgeshire", "districts_2013"] == "E07000001;E07000002"
    x_scale = math.cos(math.radians(england_data.LATITUDE))
    assert graph.nodes["Cambridgeshire"]["x"] == pytest.approx(1.0 * x_scale, abs=1e-4)
    assert graph.nodes["Cambridgeshire"]["y"] == pytest.approx(0.5, abs=1e-4)
    assert graph.nodes["Peterborough"]["y"] == pytest.approx(1.5, abs=1e-4)


def test_the_build_is_deterministic(mirrors, tmp_path):
    care, boundaries = mirrors
    outputs = []
    for run in ("a", "b"):
        england_data.main(
            ["--care", str(care), "--boundaries", str(boundaries), "--out", str(tmp_path / run)]
        )
        outputs.append({p.name: p.read_bytes() for p in (tmp_path / run).iterdir()})
    assert outputs[0] == outputs[1]


@pytest.mark.subprocess
def test_a_missing_source_is_one_line_and_writes_nothing(mirrors, tmp_path):
    care, _ = mirrors
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "scripts.england_data",
            "--care",
            str(care),
            "--boundaries",
            str(tmp_path / "nowhere"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "not a git mirror" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_a_district_of_an_unknown_county_stops_the_build(tmp_path):
    care = _git_repo(tmp_path / "care", _care_files())
    topology = _topology().replace('"12UC"', '"99UC"')
    boundaries = _git_repo(tmp_path / "geo", {england_data.TOPO_PATH: topology})
    with pytest.raises(england_data.SourceError, match=r"District B \(99UC\): unknown county"):
        england_data.build(care, boundaries)


# ----------------------------------------------------------------------------- shipped data


def test_the_shipped_councils_all_have_a_place_a_budget_and_a_share():
    councils = pd.read_csv(ENGLAND / "councils.csv")
    graph = nx.read_graphml(ENGLAND / "neighbours.graphml")
    assert len(councils) == 149 and councils["name"].is_unique
    assert set(graph.nodes) == set(councils["name"])
    assert all({"x", "y"} <= set(graph.nodes[n]) for n in graph.nodes)
    assert (councils["budget"] > 0).all()
    assert councils["inhouse_share"].between(0, 1).all()
    assert councils["region"].nunique() == 9


def test_the_shipped_neighbours_are_borders_between_real_places():
    graph = nx.read_graphml(ENGLAND / "neighbours.graphml")
    assert not graph.is_directed()  # a border is both councils' border
    assert nx.number_of_selfloops(graph) == 0
    assert {"Cheshire", "Staffordshire", "Herefordshire", "Telford and Wrekin"} <= set(
        graph["Shropshire"]
    )
    assert "Isle of Wight" in nx.isolates(graph)
    # Cornwall is England's far west, Kent and Norfolk its east
    x = nx.get_node_attributes(graph, "x")
    assert x["Cornwall"] == min(x.values())
    assert max(x, key=x.get) in {"Norfolk", "Suffolk", "Kent"}


def test_the_shipped_spend_record_is_positive_and_each_council_starts_from_it():
    spend = pd.read_csv(ENGLAND / "home_care_spend.csv")
    councils = pd.read_csv(ENGLAND / "councils.csv").set_index("name")
    assert (spend[["inhouse", "external"]] >= 0).all().all()
    assert ((spend.inhouse + spend.external) > 0).all()
    assert not spend.duplicated(["council", "year"]).any()
    first = spend[spend.year == 2001].set_index("council")
    first = first.loc[councils.index]
    total = first.inhouse + first.external
    assert np.allclose(total / 1000, councils["budget"], atol=1e-3)
    assert np.allclose(first.inhouse / total, councils["inhouse_share"], atol=1e-4)


def test_the_shipped_2015_councils_are_the_shipped_record_of_2014_15():
    later = pd.read_csv(ENGLAND / "councils_2015.csv").set_index("name")
    councils = pd.read_csv(ENGLAND / "councils.csv").set_index("name")
    spend = pd.read_csv(ENGLAND / "home_care_spend.csv")
    record = spend[spend.year == 2015].set_index("council").loc[later.index]
    total = record.inhouse + record.external
    assert list(later.index) == list(councils.index)
    assert np.allclose(total / 1000, later["budget"], atol=1e-3)
    assert np.allclose(record.inhouse / total, later["inhouse_share"], atol=1e-4)
    assert (
        (later[["ons_code", "region"]].fillna("") == councils[["ons_code", "region"]].fillna(""))
        .all()
        .all()
    )


def test_england_today_runs_from_each_councils_2014_15_share():
    scenario = load_scenario(ROOT / "scenarios" / "england_today.toml", {"shocks": []})
    model = CommissioningModel(scenario)
    later = pd.read_csv(ENGLAND / "councils_2015.csv")
    assert [c.name for c in model.councils] == list(later["name"])
    ct, cn = model.contracts, model.council_table
    council = ct.view("council")
    inhouse = ct.view("holder") == cn.inhouse_unit[council]
    none_own = later["inhouse_share"].to_numpy() == 0.0
    assert none_own.sum() > 50  # most councils bought all their home care outside by 2014-15
    assert not inhouse[none_own[council]].any()


def test_the_england_scenario_loads_and_runs_from_each_councils_own_share():
    scenario = load_scenario(SCENARIO, {"scenario.quarters": 3})
    model = CommissioningModel(scenario)
    councils = pd.read_csv(ENGLAND / "councils.csv")
    assert [c.name for c in model.councils] == list(councils["name"])
    ct, cn = model.contracts, model.council_table
    council = ct.view("council")
    value = ct.view("reference")
    inhouse = ct.view("holder") == cn.inhouse_unit[council]
    # the councils' own start: all-in-house councils start all in-house, and the national
    # in-house share of value is near the record's (contracts are drawn one by one)
    wholly = councils["inhouse_share"].to_numpy() == 1.0
    assert inhouse[wholly[council]].all()
    national = value[inhouse].sum() / value.sum()
    record = (councils.budget * councils.inhouse_share).sum() / councils.budget.sum()
    assert national == pytest.approx(record, abs=0.08)
    for _ in range(3):
        model.step()
    assert np.isfinite(model.series()["share_outsourcer"]).all()


def test_the_dashboard_draws_the_england_scenario_on_its_councils_real_places():
    """The classroom page's map of the England scenario: each council where the boundary file
    puts it (rescaled into the unit square, north up), in the file's order."""
    from sim.dashboard.controller import ClassroomModel

    model = ClassroomModel(str(SCENARIO), rng=1)
    graph = nx.read_graphml(ENGLAND / "neighbours.graphml")
    xy = np.array([(d["x"], d["y"]) for d in graph.nodes.values()], dtype=float)
    shown = np.asarray(model.positions, dtype=float)
    assert shown.shape == xy.shape
    for axis in (0, 1):  # the same places, up to one scale and shift
        assert np.corrcoef(shown[:, axis], xy[:, axis])[0, 1] == pytest.approx(1.0)


# ----------------------------------------------------------------------------- validation


def _record(shares: dict[str, list[float]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    years = england_validation.YEARS
    share = pd.DataFrame(shares, index=years).T
    total = pd.DataFrame(1000.0, index=share.index, columns=years)
    return share, total


def test_the_renewal_clock_recovers_the_rate_that_made_the_record():
    rate = 0.1
    starts = np.linspace(0.0, 0.8, 12)
    h = np.arange(len(england_validation.YEARS))
    share, _ = _record(
        {f"c{k}": england_validation.renewal_clock(s, h, rate) for k, s in enumerate(starts)}
    )
    part = england_validation.pairs(share, list(share.index), [2001], 2008)
    clock, trend = england_validation.NULLS[:2]
    assert england_validation.fit(clock, part) == pytest.approx(rate, abs=1e-4)
    # the logistic trend fits it worse: the record is the clock's
    errors = {}
    for null in (clock, trend):
        theta = england_validation.fit(null, part)
        errors[null.name] = np.abs(
            null.predict(part.start, part.ahead, theta) - part.observed
        ).mean()
    assert errors["renewal clock"] < 1e-4 < errors["logistic trend"]


def test_the_score_says_inside_when_the_record_is_in_the_band_and_misses_when_not():
    share, total = _record({f"c{k}": [0.5] * 8 for k in range(20)})
    held = england_validation.pairs(share, list(share.index), [2004], 2008)
    rng = np.random.default_rng(0)
    near = held.observed + rng.normal(0, 0.02, (500, len(held.observed)))
    good = england_validation.score_against_record(near, held, total)
    assert good[2008, "median"][3] and good["coverage"] > 0.8
    for off in (0.3, -0.3):  # the record below the band, then above it
        bad = england_validation.score_against_record(near + off, held, total)
        assert not bad[2008, "median"][3] and bad["coverage"] < 0.05
        assert bad["mae"] == pytest.approx(0.3, abs=0.01)


def test_the_validation_writes_its_own_section_and_leaves_the_rest(tmp_path):
    doc = tmp_path / "validation.md"
    doc.write_text("# Validation\n\n## 1. Earlier\n\nkept as it was\n")
    figure = tmp_path / "img" / "england.png"
    args = ["--doc", str(doc), "--figure", str(figure), "--draws", "200", "--runs", "0"]
    assert england_validation.main(args) == 0
    text = doc.read_text()
    assert text.startswith("# Validation\n\n## 1. Earlier\n\nkept as it was\n")
    assert "## England, council by council" in text
    assert "| renewal clock |" in text and "| logistic trend |" in text
    assert "not run here** (`--runs 0`)" in text  # says plainly that the model was not run
    assert figure.stat().st_size > 10_000
    first = text
    assert england_validation.main(args) == 0
    assert doc.read_text() == first  # seeded: the same numbers again, one section


def test_the_council_map_draws_each_council_at_its_place_and_each_border():
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    from sim.report.plots import council_map

    model = CommissioningModel(load_scenario(SCENARIO, {"scenario.quarters": 1}))
    ax = Figure().subplots()
    dots = council_map(ax, model.positions, model.edges, np.linspace(0, 1, len(model.positions)))
    assert np.allclose(dots.get_offsets(), model.positions)
    [borders] = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(borders.get_segments()) == len(model.edges) == 349
    # the real map keeps its shape: England is taller than it is wide
    width, height = np.ptp(model.positions, axis=0)
    assert height > width and ax.get_aspect() == 1.0


# ----------------------------------------------------------------------------- the model's side


def test_a_council_keeps_in_house_the_contracts_closest_to_its_recorded_share():
    council = np.repeat([0, 1, 2], 4)
    reference = np.array([1.0] * 4 + [1.0] * 4 + [3.0, 1.0, 1.0, 1.0])
    order = np.random.default_rng(1).random(12)
    kept = kept_to_share(council, reference, order, np.array([0.5, 0.0, 0.5]))
    assert kept[:4].sum() == 2 and not kept[4:8].any()
    # council 2 (value 6, target 3): the first contracts in the random order, as many as come
    # closest; with unequal contracts that is within half a contract of the target
    value = (reference[8:] * kept[8:]).sum()
    assert abs(value - 3.0) <= 3.0 / 2


def test_the_england_scenario_starts_each_council_within_a_lot_of_its_record():
    scenario = load_scenario(SCENARIO, {"scenario.quarters": 1})
    model = CommissioningModel(scenario, rng=5)
    councils = pd.read_csv(ENGLAND / "councils.csv")
    ct, p = model.contracts, model.providers
    external = england_validation.external_share_by_council(
        ct.view("council"), ct.view("holder"), ct.view("reference"),
        p.view("kind") == ProviderKind.INHOUSE, model.n_councils,
    )  # fmt: skip
    lots = scenario.councils.service_lines * scenario.councils.lots
    gap = np.abs(external - (1 - councils["inhouse_share"].to_numpy()))
    assert np.nanmax(gap) <= 0.5 / lots + 1e-9


def test_the_external_share_counts_held_contracts_by_reference_value():
    council = np.array([0, 0, 0, 1, 1])
    holder = np.array([0, 2, -1, 1, 1])  # provider 0 and 1: in-house units; 2: a firm
    reference = np.array([1.0, 3.0, 5.0, 2.0, 2.0])
    inhouse = np.array([True, True, False])
    share = england_validation.external_share_by_council(council, holder, reference, inhouse, 3)
    assert share[0] == pytest.approx(0.75) and share[1] == 0.0 and np.isnan(share[2])


def test_model_years_are_the_means_of_their_quarters_and_draws_follow_the_held_pairs():
    quarterly = np.arange(8 * 2, dtype=float).reshape(8, 2)
    assert england_validation.yearly_means(quarterly).tolist() == [[3.0, 4.0], [11.0, 12.0]]
    years = england_validation.MODEL_YEARS
    share, _ = _record({"a": [0.1] * 8, "b": [0.2] * 8})
    held = england_validation.pairs(share, ["a", "b"], [2004], 2008)
    runs = np.zeros((3, len(years), 2))
    runs[:, :, 1] = 1.0  # council "b" is column 1
    runs[2] += np.arange(len(years))[:, None]  # run 2 rises by one a year
    draws = england_validation.model_draws(runs, ["a", "b"], held)
    assert draws.shape == (3, len(held.council))
    expected = (held.council == "b") + np.array([years.index(y) for y in held.target_year])
    assert draws[2].tolist() == expected.tolist()
    keep = held.council == "a"
    assert set(england_validation.within(held, keep).council) == {"a"}
