"""Build data/england/ from the public sources: England's councils with adult social care
duties, their neighbours and positions, and their home care spend, in-house and external.

    python -m scripts.england_data                       # the default mirror paths
    python -m scripts.england_data --care DIR --boundaries DIR --out data/england

The sources are git mirrors read with ``git show`` (no work tree needed):

- ``--care``: BenGoodair/adults_social_care_data. The PSS-EX1 returns of 2000-01 to 2007-08
  as one CSV per council (``Raw_data/<year>/spend_csvs/output_<council>.csv``), and the
  2014-15 council-level expenditure file (``Raw_data/2015/...-exp-data.csv``), which also
  gives each council's region.
- ``--boundaries``: martinjc/UK-GeoJSON. ``json/administrative/eng/topo_lad.json``, the ONS
  2013 local authority districts as TopoJSON: shared arcs give the borders, the polygons the
  positions.

The councils are the 150 councils with social services duties of 2000-2008 (counties,
unitaries, metropolitan districts, London boroughs, the City and Scilly); later districts
and 2009 unitaries are folded into them (docs in data/england/SOURCES.md). Output is sorted
and rounded, so the same sources give the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import networkx as nx
import numpy as np

from scripts.scriptkit import OneLineParser

ROOT = Path(__file__).resolve().parents[1]
CARE_MIRROR = Path("/work/.mirror/BenGoodair+adults_social_care_data/repo")
BOUNDARY_MIRROR = Path("/work/.mirror/martinjc+UK-GeoJSON/repo")
OUT = ROOT / "data" / "england"
TOPO_PATH = "json/administrative/eng/topo_lad.json"
PSS_EX1_YEARS = range(2001, 2009)  # financial years 2000-01 .. 2007-08, named by their end
ASC_2015_PATH = "Raw_data/2015/pss-exp-eng-14-15-fin-coun-lev-exp-data.csv"
#: The 2014-15 rows of older people's long-term home care: support type, age, summary, mechanism.
HOME_CARE_2015 = ("Long term", "Age 65 and over", "Total", "Community: home care")
# The older people's home care line of the PSS-EX1 return: section C until 2006-07, B in 2007-08.
HOME_CARE_LINE = {year: ("B6" if year == 2008 else "C6") for year in PSS_EX1_YEARS}

#: Shire counties by the two-digit county prefix of their districts' pre-2011 ONS codes
#: (LAD13CDO, e.g. 12UB Cambridge), with the county's GSS code (E10, ONS register of codes).
#: Counties that became unitary in 2009 have no E10 code; their area's E06 code is used.
COUNTIES = {
    "09": ("Bedfordshire", ""),  # abolished 2009: Bedford E06000055 + Central Beds E06000056
    "11": ("Buckinghamshire", "E10000002"),
    "12": ("Cambridgeshire", "E10000003"),
    "13": ("Cheshire", ""),  # abolished 2009: Cheshire East E06000049 + CW&C E06000050
    "15": ("Cornwall", "E06000052"),
    "16": ("Cumbria", "E10000006"),
    "17": ("Derbyshire", "E10000007"),
    "18": ("Devon", "E10000008"),
    "19": ("Dorset", "E10000009"),
    "20": ("Durham", "E06000047"),
    "21": ("East Sussex", "E10000011"),
    "22": ("Essex", "E10000012"),
    "23": ("Gloucestershire", "E10000013"),
    "24": ("Hampshire", "E10000014"),
    "26": ("Hertfordshire", "E10000015"),
    "29": ("Kent", "E10000016"),
    "30": ("Lancashire", "E10000017"),
    "31": ("Leicestershire", "E10000018"),
    "32": ("Lincolnshire", "E10000019"),
    "33": ("Norfolk", "E10000020"),
    "34": ("Northamptonshire", "E10000021"),
    "35": ("Northumberland", "E06000048"),
    "36": ("North Yorkshire", "E10000023"),
    "37": ("Nottinghamshire", "E10000024"),
    "38": ("Oxfordshire", "E10000025"),
    "39": ("Shropshire", "E06000051"),
    "40": ("Somerset", "E10000027"),
    "41": ("Staffordshire", "E10000028"),
    "42": ("Suffolk", "E10000029"),
    "43": ("Surrey", "E10000030"),
    "44": ("Warwickshire", "E10000031"),
    "45": ("West Sussex", "E10000032"),
    "46": ("Wiltshire", "E06000054"),
    "47": ("Worcestershire", "E10000034"),
}
#: 2009 unitaries (in the 2013 boundaries) -> the 2000-08 council whose area they cover.
UNITARY_2009 = {
    "Bedford": "Bedfordshire",
    "Central Bedfordshire": "Bedfordshire",
    "Cheshire East": "Cheshire",
    "Cheshire West and Chester": "Cheshire",
    "Cornwall": "Cornwall",
    "County Durham": "Durham",
    "Northumberland": "Northumberland",
    "Shropshire": "Shropshire",
    "Wiltshire": "Wiltshire",
}
#: Spellings that differ between the returns and the ONS names (after :func:`_key`).
ALIASES = {
    "bath and somerset": "bath and north east somerset",
    "bristol city of": "bristol",
    "herefordshire county of": "herefordshire",
    "kingston upon hull city of": "kingston upon hull",
    "medway towns": "medway",
    "telford and the wrekin": "telford and wrekin",
    "blackburn and darwen": "blackburn with darwen",
    "bedford borough": "bedford",
    "isle of wight council": "isle of wight",
    "county durham": "durham",
}
#: The 2007-08 return's short names written as the ONS writes them.
DISPLAY = {
    "Bath and Somerset": "Bath and North East Somerset",
    "Medway Towns": "Medway",
    "Telford and the Wrekin": "Telford and Wrekin",
}
REGIONS = {
    "NE": "North East",
    "NW": "North West",
    "YH": "Yorkshire and The Humber",
    "EM": "East Midlands",
    "WM": "West Midlands",
    "E": "East of England",
    "L": "London",
    "SE": "South East",
    "SW": "South West",
}
LATITUDE = 52.5  # degrees: the middle of England, where a degree of longitude is cos(52.5) of one of latitude


class SourceError(Exception):
    """A source file is missing or not laid out as expected: one line saying which and why."""


def _key(name: str) -> str:
    """A council's name reduced for matching: no DH code, ' UA', punctuation or case."""
    name = re.sub(r"^\d+\s*-\s*", "", name.strip())
    name = re.sub(r"\s+UA$", "", name).lower().replace("&", "and")
    name = re.sub(r"\s+", " ", re.sub(r"[-.,']", " ", name)).strip()
    return ALIASES.get(name, name)


def git_show(mirror: Path, path: str) -> str:
    """A file's text at the mirror's HEAD; a one-line :class:`SourceError` if absent."""
    if not (mirror / "HEAD").exists():
        raise SourceError(f"{mirror}: not a git mirror (no HEAD); fetch the source first")
    done = subprocess.run(
        ["git", "-C", str(mirror), "show", f"HEAD:{path}"], capture_output=True, check=False
    )
    if done.returncode != 0 or not done.stdout:
        raise SourceError(f"{mirror}: {path} is absent from the snapshot")
    return done.stdout.decode("utf-8-sig", errors="replace")


def mirror_commit(mirror: Path) -> str:
    """The commit the mirror's HEAD names (for SOURCES.md)."""
    done = subprocess.run(
        ["git", "-C", str(mirror), "rev-parse", "HEAD"], capture_output=True, check=False
    )
    return done.stdout.decode().strip()


# ----------------------------------------------------------------------------- spend


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def home_care_line(text: str, line: str, where: str) -> tuple[float, float]:
    """Older people's home care in one council's PSS-EX1 sheet: (own provision, total), GBP k.

    Own provision is the column headed "Own provision (including joint arrangements)" (gross,
    capital charges included); total is the column headed "Total (including joint
    arrangements)" (2000-01 to 2006-07) or "TOTAL" expenditure (2007-08). External provision
    is their difference: provision by others (and, in 2007-08, grants to voluntary bodies).
    """
    rows = list(csv.reader(io.StringIO(text)))
    head = next((r for r in rows if r and r[0] == "Service"), None)
    if head is None:
        raise SourceError(f"{where}: no 'Service' header row")
    own = next(
        (i for i, h in enumerate(head) if h.startswith(("Own provision", "Current exp"))), None
    )
    total = next(
        (i for i, h in enumerate(head) if h.startswith(("Total (including", "TOTAL"))), None
    )
    if own is None or total is None:
        raise SourceError(f"{where}: no own-provision or total column in the header {head[:8]}")
    row = next((r for r in rows if r and r[0] == line), None)
    if row is None or row[1].strip().lower() != "home care":
        raise SourceError(f"{where}: line {line} is not 'Home care'")
    # A blank own-provision cell beside a total means none (2007-08 leaves zeros blank: there
    # the other columns add up to the total)
    own_spend = 0.0 if row[own] in ("", "NA") else _number(row[own])
    return own_spend, _number(row[total])


def pss_ex1(care: Path) -> dict[tuple[str, int], tuple[float, float]]:
    """(council key, year) -> (own, total) GBP k for each council of each PSS-EX1 year."""
    spend = {}
    for year in PSS_EX1_YEARS:
        names = git_show(care, f"Raw_data/{year}/spend_csvs/sheet_names.csv").split("\n")[1:]
        for name in (n.strip().strip('"') for n in names):
            if not name or name.upper().startswith("TOTAL"):
                continue
            path = f"Raw_data/{year}/spend_csvs/output_{name}.csv"
            spend[_key(name), year] = home_care_line(
                git_show(care, path), HOME_CARE_LINE[year], f"{care}: {path}"
            )
    return spend


def asc_2015(care: Path) -> tuple[dict[str, tuple[float, float]], dict[str, str]]:
    """2014-15: council key -> (own, total) GBP k of long-term home care for people 65 and
    over, and council key -> region code."""
    rows = list(csv.reader(io.StringIO(git_show(care, ASC_2015_PATH))))
    regions, header = rows[0], rows[1]
    if header[:5] != [
        "Support type",
        "Age category",
        "Summary",
        "Delivery mechanism",
        "Accounting category",
    ]:
        raise SourceError(f"{care}: {ASC_2015_PATH}: unexpected header {header[:5]}")
    councils = [_key(h) for h in header[5:]]
    region = dict(zip(councils, regions[5:], strict=True))
    wanted = {"Gross total cost: own provision": 0, "Gross total cost: total expenditure": 1}
    found: dict[str, list[float]] = {c: [math.nan, math.nan] for c in councils}
    for row in rows[2:]:
        if row[:4] == [*HOME_CARE_2015] and row[4] in wanted:
            for c, v in zip(councils, row[5:], strict=False):
                found[c][wanted[row[4]]] = _number(v)
    return {c: (v[0], v[1]) for c, v in found.items()}, region


# ----------------------------------------------------------------------------- the map


def _decode_arcs(topo: dict) -> list[np.ndarray]:
    """TopoJSON's delta-encoded, quantised arcs as arrays of (lon, lat)."""
    scale = np.array(topo["transform"]["scale"])
    shift = np.array(topo["transform"]["translate"])
    return [np.cumsum(np.array(a, dtype=float), axis=0) * scale + shift for a in topo["arcs"]]


def _ring(arcs: list[np.ndarray], refs: list[int]) -> np.ndarray:
    """A polygon ring from arc references (~i is arc i reversed)."""
    parts = [arcs[r] if r >= 0 else arcs[~r][::-1] for r in refs]
    return np.concatenate(parts)


def _area_centroid(ring: np.ndarray) -> tuple[float, float, float]:
    """Signed area and centroid of a ring on an equirectangular plane (shoelace formula)."""
    x, y = ring[:, 0] * math.cos(math.radians(LATITUDE)), ring[:, 1]
    cross = x * np.roll(y, -1) - np.roll(x, -1) * y
    area = cross.sum() / 2
    if area == 0:
        return 0.0, float(x.mean()), float(y.mean())
    cx = ((x + np.roll(x, -1)) * cross).sum() / (6 * area)
    cy = ((y + np.roll(y, -1)) * cross).sum() / (6 * area)
    return float(area), float(cx), float(cy)


def districts(boundaries: Path) -> list[dict]:
    """Each 2013 district: codes, name, area, centroid and the arcs it uses."""
    try:
        topo = json.loads(git_show(boundaries, TOPO_PATH))
        geometries = topo["objects"]["lad"]["geometries"]
    except (json.JSONDecodeError, KeyError) as err:
        raise SourceError(f"{boundaries}: {TOPO_PATH}: not the expected TopoJSON ({err})") from None
    arcs = _decode_arcs(topo)
    out = []
    for g in geometries:
        polygons = g["arcs"] if g["type"] == "MultiPolygon" else [g["arcs"]]
        area = cx = cy = 0.0
        used = set()
        for polygon in polygons:
            for k, refs in enumerate(polygon):
                used.update(r if r >= 0 else ~r for r in refs)
                a, x, y = _area_centroid(_ring(arcs, refs))
                a = abs(a) * (1 if k == 0 else -1)  # holes subtract
                area, cx, cy = area + a, cx + a * x, cy + a * y
        p = g["properties"]
        out.append(
            {
                "code": p["LAD13CD"],
                "old": p["LAD13CDO"],
                "name": p["LAD13NM"],
                "area": area,
                "x": cx / area,
                "y": cy / area,
                "arcs": used,
            }
        )
    return out


def council_of(district: dict) -> str:
    """The 2000-08 council whose area holds a 2013 district (as a :func:`_key`)."""
    if district["code"].startswith("E07"):
        prefix = district["old"][:2]
        if prefix not in COUNTIES:
            raise SourceError(f"district {district['name']} ({district['old']}): unknown county")
        return _key(COUNTIES[prefix][0])
    return _key(UNITARY_2009.get(district["name"], district["name"]))


# ----------------------------------------------------------------------------- the build


def build(care: Path, boundaries: Path) -> dict:
    """Everything data/england/ holds, as tables (lists of rows) and a graph."""
    spend = pss_ex1(care)
    spend_2015, region_2015 = asc_2015(care)
    names = {}  # key -> the name as the 2007-08 return spells it, without its code and " UA"
    for name in git_show(care, "Raw_data/2008/spend_csvs/sheet_names.csv").split("\n")[1:]:
        name = name.strip().strip('"')
        if name and not name.upper().startswith("TOTAL"):
            plain = re.sub(r"\s+UA$", "", re.sub(r"^\d+-", "", name))
            names[_key(name)] = DISPLAY.get(plain, plain)
    keys = sorted(names)
    missing = sorted({k for k, _ in spend} - set(keys))
    if missing:
        raise SourceError(f"{care}: councils of 2000-07 not in 2007-08: {', '.join(missing)}")

    # 2014-15's councils folded into 2000-08's (the 2009 unitaries' successors summed)
    fold = {_key(new): _key(old) for new, old in UNITARY_2009.items()}
    later: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    region = {}
    for k, (own, total) in spend_2015.items():
        c = fold.get(k, k)
        later[c][0] += own
        later[c][1] += total
        region[c] = REGIONS[region_2015[k]]
    for k in keys:
        if k not in region:
            raise SourceError(f"{care}: {ASC_2015_PATH}: no column for {names[k]}")
        spend[k, 2015] = tuple(later[k])

    parts = defaultdict(list)
    for d in districts(boundaries):
        parts[council_of(d)].append(d)
    unknown = sorted(set(parts) - set(keys))
    if unknown or set(keys) - set(parts):
        raise SourceError(
            f"{boundaries}: districts and councils do not match: map-only {unknown}, "
            f"record-only {sorted(set(keys) - set(parts))}"
        )

    graph = nx.Graph()
    arc_owner = defaultdict(set)
    for k in keys:
        ds = parts[k]
        area = sum(d["area"] for d in ds)
        graph.add_node(
            names[k],
            x=round(sum(d["area"] * d["x"] for d in ds) / area, 4),
            y=round(sum(d["area"] * d["y"] for d in ds) / area, 4),
        )
        for d in ds:
            for arc in d["arcs"]:
                arc_owner[arc].add(names[k])
    for owners in arc_owner.values():
        for a in owners:
            for b in owners:
                if a < b:
                    graph.add_edge(a, b)

    councils, record, left_out = [], [], []
    for k in keys:
        for year in [*PSS_EX1_YEARS, 2015]:
            own, total = spend.get((k, year), (math.nan, math.nan))
            if math.isfinite(own) and math.isfinite(total) and total > 0 and 0 <= own <= total:
                record.append([names[k], year, round(own, 1), round(total - own, 1)])
        first = next((r for r in record if r[0] == names[k]), None)
        if first is None or first[1] != PSS_EX1_YEARS[0]:
            # no budget to start from (the Isles of Scilly reported none in 2000-01): kept in
            # the record, left off the model's map (an island: it has no border to lose)
            left_out.append(names[k])
            graph.remove_node(names[k])
            continue
        own, external = first[2], first[3]
        codes = sorted(d["code"] for d in parts[k])
        code = codes[0] if len(codes) == 1 else _county_code(parts[k])
        councils.append(
            [
                names[k],
                code,
                region[k],
                round((own + external) / 1000, 3),
                round(own / (own + external), 4),
                ";".join(codes),
            ]
        )
    return {"councils": councils, "record": record, "graph": graph, "left_out": left_out}


def _county_code(ds: list[dict]) -> str:
    """A council made of several 2013 districts: its county's code from :data:`COUNTIES`."""
    prefixes = {d["old"][:2] for d in ds if d["code"].startswith("E07")}
    if len(prefixes) == 1:
        return COUNTIES[prefixes.pop()][1] or ""
    return ""  # Cheshire, Bedfordshire: no code of their own since 2009


COUNCIL_COLUMNS = ["name", "ons_code", "region", "budget", "inhouse_share", "districts_2013"]
LATER_YEAR = 2015  # the 2014-15 return: councils_2015.csv starts a market from it


def councils_in(councils: list[list], record: list[list], year: int) -> list[list]:
    """``councils`` (rows as in councils.csv) with the budget (GBP m a year) and in-house
    share of ``year``'s home care spend in ``record`` (rows council, year, inhouse,
    external, GBP thousand): the same councils, names and map, started from a later year.

    Raises:
        SourceError: a council has no spend in ``year``.
    """
    spend = {r[0]: (float(r[2]), float(r[3])) for r in record if int(r[1]) == year}
    rows = []
    for row in councils:
        if row[0] not in spend:
            raise SourceError(f"{row[0]}: no home care spend in {year}")
        own, external = spend[row[0]]
        total = own + external
        rows.append([*row[:3], round(total / 1000, 3), round(own / total, 4), row[5]])
    return rows


def write(data: dict, out: Path) -> list[Path]:
    """Write councils.csv (2000-01 budgets and shares), councils_2015.csv (2014-15's),
    home_care_spend.csv and neighbours.graphml into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    later = councils_in(data["councils"], data["record"], LATER_YEAR)
    tables = {
        "councils.csv": (COUNCIL_COLUMNS, data["councils"]),
        f"councils_{LATER_YEAR}.csv": (COUNCIL_COLUMNS, later),
        "home_care_spend.csv": (["council", "year", "inhouse", "external"], data["record"]),
    }
    for file, (header, rows) in tables.items():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        (out / file).write_text(buffer.getvalue())
        written.append(out / file)
    graph = nx.Graph()  # nodes and edges in sorted order: the same sources, the same bytes
    graph.add_nodes_from(sorted(data["graph"].nodes(data=True)))
    graph.add_edges_from(sorted(tuple(sorted(e)) for e in data["graph"].edges))
    nx.write_graphml(graph, out / "neighbours.graphml")
    written.append(out / "neighbours.graphml")
    return written


def main(argv: list[str] | None = None) -> int:
    """Build data/england/ from the mirrors; exit status 2 with one line if a source is bad."""
    parser = OneLineParser(
        prog="python -m scripts.england_data", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--care", type=Path, default=CARE_MIRROR, help="adults_social_care_data mirror"
    )
    parser.add_argument(
        "--boundaries", type=Path, default=BOUNDARY_MIRROR, help="UK-GeoJSON mirror"
    )
    parser.add_argument("--out", type=Path, default=OUT, help="where to write (data/england)")
    args = parser.parse_args(argv)
    try:
        data = build(args.care, args.boundaries)
    except SourceError as err:
        print(f"england_data: {err}", file=sys.stderr)
        return 2
    for path in write(data, args.out):
        print(path)
    # the commits SOURCES.md must name: a rebuild from newer mirrors shows here
    for source in (args.care, args.boundaries):
        print(f"from {source} at {mirror_commit(source)}")
    if data["left_out"]:
        print(
            f"left off the map (no home care spend in {PSS_EX1_YEARS[0]}): "
            + ", ".join(data["left_out"])
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
