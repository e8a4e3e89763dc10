"""A run's report for a reader without the code: the summary printed by ``commsim run``, the
data dictionary beside its CSV, and ``report.html`` (one page, offline: the figure embedded),
the value-for-money outcomes in a section of their own in each; the councils on their own
map for the overview (:class:`MapRecorder`); and the table ``commsim compare`` prints.

Every name, unit and meaning comes from the outcome table (:mod:`sim.core.outcomes`) and the
parameter table (:func:`sim.scenario.parameter_table`); nothing here loads matplotlib.
"""

from __future__ import annotations

import base64
import csv
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sim.core.outcome_table import (
    COUNCIL_REPORTERS,
    REPORTERS,
    SUMMARY_FIELDS,
    VALUE_FOR_MONEY,
    Outcome,
)
from sim.core.outcomes import council_metrics, council_table
from sim.report.plots import CouncilMaps, TimeAxis

__all__ = [
    "HEADLINE",
    "VALUE_FOR_MONEY_HEADING",
    "CouncilRecorder",
    "MapRecorder",
    "changed_inputs",
    "compare_text",
    "format_number",
    "format_value",
    "outcome_sections",
    "report_html",
    "summary_text",
    "write_data_dictionary",
    "write_run_report",
]

#: The outcomes a reader sees first (printed by ``commsim run``, on top of report.html); the
#: value-for-money outcomes follow them in a section of their own (:func:`outcome_sections`).
HEADLINE = (
    "resilience",
    "min_service_delivered",
    "service_quarters_lost",
    "mean_vacancy_rate",
    "failures_total",
    "handbacks_total",
    "final_share_outsourcer",
    "final_share_mutual",
    "final_share_inhouse",
    "final_share_local_firm",
    "mean_local_share",
    "cumulative_local_reinvestment",
    "final_trust",
)

_PERCENT_UNITS = {"share"}

#: Decimals a column of means shows, by unit (``commsim compare``); 3 for any other unit.
_DECIMALS = {
    "share": 2,  # of a percentage
    "GBP m": 2,
    "GBP m / quarter": 2,
    "quarter": 1,
    "quarters": 2,
    "providers": 2,
    "contracts": 2,
    "councils": 2,
    "runs": 0,
}


def format_number(
    value: Any, unit: str = "", *, fixed: bool = False, difference: bool = False
) -> str:
    """A number as a person reads it, without its unit: shares as percentages, thousands
    separated, never in powers of ten (``1.745e+05``) nor with float noise
    (``0.6000000000000001``); None or NaN is ``none``.

    Decimals: four significant figures (counts whole), or with ``fixed`` the same number of
    decimals for every value of a unit (a column of means lines up; :data:`_DECIMALS`).
    ``difference``: a signed difference, a share's in percentage points (``+1.25 pp``).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "none"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    sign = "+" if difference else ""
    if unit in _PERCENT_UNITS:
        decimals = _DECIMALS["share"] if fixed else 1
        return f"{100 * value:{sign}.{decimals}f}" + (" pp" if difference else "%")
    if fixed:
        return f"{value:{sign},.{_DECIMALS.get(unit, 3)}f}"
    if isinstance(value, int):
        return f"{value:{sign},}"
    # four significant figures, but whole thousands never in powers of ten
    return f"{value:{sign},.0f}" if abs(value) >= 1000 else f"{value:{sign}.4g}"


_PLURALS = ("providers", "contracts", "councils", "quarters")


def format_value(value: Any, unit: str = "") -> str:
    """A value as a person reads it (:func:`format_number`: shares as percentages, other
    decimals to four significant figures, counts whole) with the unit after."""
    number = format_number(value, unit)
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if number == "none" or unit in _PERCENT_UNITS or not numeric:
        return number
    if unit == "quarter" and isinstance(value, int):
        return f"quarter {value}"
    if value == 1 and isinstance(value, int) and unit in _PLURALS:
        unit = unit[:-1]  # 1 provider, not 1 providers
    if not unit or unit in ("integer", "text"):
        return number
    # a scale ("index 0-1") reads as a note on the number, a unit ("GBP m") as its name
    return f"{number} ({unit})" if any(c.isdigit() for c in unit) else f"{number} {unit}"


#: The heading of the report's section of value-for-money outcomes.
VALUE_FOR_MONEY_HEADING = "Value for money"


def outcome_sections(names: Iterable[str]) -> list[tuple[str, list[str]]]:
    """The run outcomes among ``names`` by the report's section: ``Outcomes`` (in the order
    given) and ``Value for money`` (:data:`sim.core.outcome_table.VALUE_FOR_MONEY`, in its
    order: those ``names`` hold, so a summary without some shows the rest)."""
    names = [k for k in names if k in SUMMARY_FIELDS]
    money = [k for k in VALUE_FOR_MONEY if k in names]
    return [("Outcomes", [k for k in names if k not in money]), (VALUE_FOR_MONEY_HEADING, money)]


def _outcome_value(definition: Outcome, value: Any) -> str:
    return format_value(value, definition.unit)


def summary_text(name: str, outcomes: Mapping[str, Any]) -> str:
    """What ``commsim run`` prints: each headline outcome in words, with its unit, then the
    value-for-money outcomes the summary holds under their heading."""
    money = dict(outcome_sections(outcomes))[VALUE_FOR_MONEY_HEADING]
    rows = [
        (SUMMARY_FIELDS[k].title, _outcome_value(SUMMARY_FIELDS[k], outcomes[k]))
        for k in (*HEADLINE, *money)
    ]
    width = max(len(title) for title, _ in rows)
    lines = [f"  {title:<{width}}  {value}" for title, value in rows]
    if money:
        lines.insert(len(HEADLINE), f"{VALUE_FOR_MONEY_HEADING}:")
    return "\n".join([f"{name}:", *lines])


def compare_text(table: Any) -> str:
    """The table ``commsim compare`` prints: one line an outcome (its unit, the mean in A and
    in B, the difference B - A and its 95% CI, verdict, pairs to resolve), numbers fixed to
    the decimals of their unit (:func:`format_number`), the value-for-money outcomes under
    their heading. ``table``: :func:`sim.experiments.analysis.paired_differences`'s (A's and
    B's means in its third and fourth columns, headed by their labels)."""
    labels = [str(c) for c in table.columns[2:4]]
    head = ["outcome", "unit", *labels, "B - A", "95% CI of B - A", "verdict", "pairs to resolve"]
    sections: dict[str, list[list[str]]] = {}
    for row in table.to_dict("records"):
        unit = row["unit"]
        low, high = (format_number(row[k], unit, fixed=True, difference=True)
                     for k in ("ci_low", "ci_high"))  # fmt: skip
        sections.setdefault(row["section"], []).append(
            [
                row["outcome"],
                unit,
                *(format_number(row[label], unit, fixed=True) for label in labels),
                format_number(row["difference"], unit, fixed=True, difference=True),
                "none" if "none" in (low, high) else f"{low.removesuffix(' pp')} to {high}",
                row["verdict"],
                format_number(row["pairs_to_resolve"], "runs", fixed=True),
            ]
        )
    rows = [head, *(r for rows in sections.values() for r in rows)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    left = {0, 1, len(head) - 2}  # words left, numbers right

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i in left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    lines = [line(head)]
    for heading, body in sections.items():
        if heading != "Outcomes":
            lines.append(f"{heading}:")
        lines.extend(line(r) for r in body)
    return "\n".join(lines)


#: The identifying columns of the run's CSV files: (type, unit, meaning).
_IDS = {
    "quarter": ("int", "quarter", "Quarter simulated, from 0"),
    "council": ("int", "council", "Council's index, from 0 (its row in the council table)"),
    "name": ("str", "text", "The council's area"),
}


def write_data_dictionary(
    path: Path, columns: Iterable[str], definitions: Mapping[str, Outcome] | None = None
) -> Path:
    """Write the data dictionary of a CSV's ``columns`` (column, type, unit, meaning) at
    ``path``; the outcomes are described from the outcome table (``definitions``: which one;
    default the quarterly reporters and run outcomes)."""
    table = definitions if definitions is not None else {**REPORTERS, **SUMMARY_FIELDS}
    with Path(path).open("w", encoding="utf-8", newline="") as sink:
        writer = csv.writer(sink)
        writer.writerow(["column", "type", "unit", "meaning"])
        for column in columns:
            o = table.get(column)
            row = (o.type.__name__, o.unit, o.meaning) if o is not None else _IDS[column]
            writer.writerow([column, *row])
    return Path(path)


class CouncilRecorder:
    """Each council's quarter (:data:`sim.core.outcomes.COUNCIL_REPORTERS`), recorded after
    each step of a run and written as ``councils.csv``: ``commsim run --councils``. One row
    per council and quarter (150 councils, 80 quarters: 12,000 rows), hence not by default."""

    def __init__(self) -> None:
        self.quarters: list[dict[str, Any]] = []

    def record(self, model: Any) -> None:
        """Record the quarter ``model`` (a Simulation or CommissioningModel) just simulated."""
        self.quarters.append(council_metrics(model.market))

    def write(self, folder: Path, names: Sequence[str]) -> list[Path]:
        """Write ``councils.csv`` and its data dictionary ``councils.columns.csv`` into
        ``folder``; ``names``: each council's area, by index."""
        table = council_table(self.quarters)
        columns = ["quarter", "council", "name", *COUNCIL_REPORTERS]
        path = Path(folder) / "councils.csv"
        with path.open("w", encoding="utf-8", newline="") as sink:
            writer = csv.writer(sink)
            writer.writerow(columns)
            values = [table[k].tolist() for k in ("quarter", "council", *COUNCIL_REPORTERS)]
            for quarter, council, *row in zip(*values, strict=True):
                shown = (v if isinstance(v, int) else f"{v:.10g}" for v in row)
                writer.writerow([quarter, council, names[council], *shown])
        dictionary = Path(folder) / "councils.columns.csv"
        return [path, write_data_dictionary(dictionary, columns, COUNCIL_REPORTERS)]


class MapRecorder:
    """A run's councils on their own map (``network.graph_file`` with every node's ``x`` and
    ``y``, drawn to the same scale both ways), for the overview: each council's external share (not in-house) after the run's
    first quarter and its last. :meth:`of` gives None for a run on synthetic or randomly
    placed councils, whose places mean nothing."""

    def __init__(self, maps: CouncilMaps) -> None:
        self.maps = maps

    @classmethod
    def of(cls, model: Any) -> MapRecorder | None:
        """The recorder of ``model`` (a Simulation or CommissioningModel before its run), or
        None if its councils are not on a map of their own."""
        from sim.core.network import load_graph

        net = model.params.network
        if not net.graph_file:
            return None
        # as sim.core.network.own_geography places them: from x/y if every node has both
        graph = load_graph(net.graph_file, model.council_table.name)
        places = list(graph.nodes.values())
        if not all("x" in d and "y" in d for d in places):
            return None
        budget = np.asarray(model.council_table.budget, dtype=float)
        sizes = 6 + 60 * budget / max(float(budget.max()), 1e-12)
        return cls(CouncilMaps(np.asarray(model.positions), np.asarray(model.edges), sizes))

    def record(self, model: Any) -> None:
        """Record the quarter ``model`` just simulated: kept if it is the first, else it
        replaces the last one kept (the maps show the first and the last)."""
        quarter = int(model.quarter) - 1
        external = 1 - council_metrics(model.market)["share_inhouse"]
        kept = self.maps.external
        if len(kept) == 2 or (kept and kept[-1][0] == quarter):
            kept.pop()
        kept.append((quarter, external))


def _flat(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def changed_inputs(scenario: Mapping[str, Any]) -> list[tuple[str, Any, Any, str]]:
    """The inputs of a resolved scenario (``summary.json``'s ``scenario``) that differ from
    the defaults: ``(parameter, value, default, unit)``; the run's name, description and
    seed are reported elsewhere and left out."""
    from sim.scenario import Scenario, parameter_table

    units = {r["name"]: r["unit"] for r in parameter_table()}
    defaults = _flat(Scenario().model_dump(mode="json"))
    skip = {"scenario.name", "scenario.description", "scenario.seed"}
    return [
        (key, value, defaults.get(key), units.get(key, ""))
        for key, value in _flat(scenario).items()
        if key not in skip and value != defaults.get(key)
    ]


def _shown(value: Any, unit: str = "") -> str:
    """An input's value as the page shows it (shocks one per line)."""
    if isinstance(value, list):
        return (
            "; ".join(
                ", ".join(f"{k} {format_value(v)}" for k, v in item.items() if v is not None)
                if isinstance(item, Mapping)
                else format_value(item)
                for item in value
            )
            or "none"
        )
    return format_value(value, "" if unit in _PERCENT_UNITS else unit)


_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 1200px; margin: 1.5em auto;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.1em; } h2 { font-size: 1.15em; margin-top: 1.4em; }
.meta { color: #555; margin-top: 0; }
img { width: 100%; height: auto; border: 1px solid #ddd; box-sizing: border-box; }
td { overflow-wrap: break-word; }
table { border-collapse: collapse; width: 100%; margin: 0.4em 0; }
th, td { text-align: left; padding: 0.25em 0.6em; border-bottom: 1px solid #e3e3e3;
         vertical-align: top; }
th { background: #f4f4f4; } td.value { white-space: nowrap; font-variant-numeric: tabular-nums; }
.note { color: #555; font-size: 0.92em; }
"""


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], value_column: int = 1) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = []
    for row in rows:
        tds = "".join(
            f'<td class="value">{html.escape(c)}</td>'
            if i == value_column
            else f"<td>{html.escape(c)}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{tds}</tr>")
    return f"<table><tr>{cells}</tr>{''.join(body)}</table>"


def _event_text(event: Mapping[str, Any]) -> tuple[str, str]:
    contracts = format_value(int(event.get("contracts", 0)), "contracts")
    if event["event"] == "failure":
        cause = event.get("cause", "")
        return f"{event.get('provider', 'a provider')} failed ({cause})", contracts
    return "contracts handed back", contracts


def _shock_text(shock: Mapping[str, Any]) -> tuple[str, str]:
    """A scheduled shock as the events table shows it: its kind and what it hits or how big."""
    size = shock.get("target") or format_value(shock.get("magnitude"))
    return "shock: " + str(shock["kind"]).replace("_", " "), str(size)


def _events_html(report: Mapping[str, Any], time: TimeAxis) -> str:
    """Failures and shocks in a table; handbacks, often one a quarter, in a folded one."""
    events = report.get("events", [])
    shocks = report["scenario"].get("shocks", [])
    major = sorted(
        [(e["quarter"], *_event_text(e)) for e in events if e["event"] == "failure"]
        + [(s["quarter"], *_shock_text(s)) for s in shocks],
        key=lambda row: row[0],
    )
    handbacks = [(e["quarter"], *_event_text(e)) for e in events if e["event"] == "handback"]
    parts = [f"<h2>Failures and shocks ({len(major)})</h2>"]
    if major:
        rows = [(time.name(q), what, size) for q, what, size in major]
        parts.append(_table(["when", "what", "how many / how big"], rows, value_column=2))
    else:
        parts.append("<p>No provider failed and no shock was scheduled.</p>")
    if handbacks:
        total = sum(int(e.get("contracts", 0)) for e in events if e["event"] == "handback")
        rows = [(time.name(q), what, size) for q, what, size in handbacks]
        parts.append(
            f"<details><summary>Handbacks: {total:,} contracts in {len(handbacks)} quarters "
            "(a provider losing money on a contract hands it back)</summary>"
            + _table(["when", "what", "how many"], rows, value_column=2)
            + "</details>"
        )
    return "\n".join(parts)


def report_html(report: Mapping[str, Any], figure_png: bytes) -> str:
    """``report.html``: one self-contained page (no network, the figure embedded) with the
    overview figure, every outcome with its unit and meaning, the events, and the inputs
    that differ from the defaults. ``report``: the run's summary.json as a dict."""
    scenario = report["scenario"]
    meta = scenario["scenario"]
    time = TimeAxis(meta.get("start_year"))
    outcomes = report["outcomes"]
    start, end = time.name(0), time.name(meta["quarters"] - 1)
    warm = meta.get("warm_up_quarters", 0)
    shown = [*HEADLINE, *(k for k in SUMMARY_FIELDS if k not in HEADLINE and k in outcomes)]
    sections = [
        (
            heading,
            [
                (SUMMARY_FIELDS[k].title, _outcome_value(SUMMARY_FIELDS[k], outcomes.get(k)),
                 SUMMARY_FIELDS[k].meaning)
                for k in names
            ],
        )
        for heading, names in outcome_sections(shown)
    ]  # fmt: skip
    changed = changed_inputs(scenario)
    input_rows = [
        (key, _shown(value, unit), _shown(default, unit), unit)
        for key, value, default, unit in changed
    ]
    image = base64.b64encode(figure_png).decode("ascii")
    title = html.escape(meta["name"])
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{title}: commsim report</title><style>{_STYLE}</style></head><body>",
        f"<h1>{title}</h1>",
        f"<p class=meta>{html.escape(meta.get('description', ''))}</p>",
        f"<p class=meta>{meta['quarters']} quarters, {html.escape(start)} to {html.escape(end)}; "
        f"seed {report.get('seed')}; commsim {html.escape(str(report.get('package_version')))}. "
        f"Outcomes over the run leave out the first {warm} quarters (the warm-up, shaded on "
        "the figure).</p>",
        f'<img alt="Overview of the run: shares, service, money, trust, spend, concentration" '
        f'src="data:image/png;base64,{image}">',
        "<p class=note>Dashed lines: scheduled shocks. Triangles: a provider failed that quarter; "
        "diamonds: contracts were handed back. Shares and service are on fixed 0-100% axes, so "
        "two reports compare by eye.</p>",
        *(
            f"<h2>{html.escape(heading)}</h2>\n" + _table(["outcome", "value", "meaning"], rows)
            for heading, rows in sections
            if rows
        ),
        _events_html(report, time),
        f"<h2>Inputs that differ from the defaults ({len(changed)})</h2>",
        _table(["parameter", "value", "default", "unit"], input_rows, value_column=-1)
        if changed
        else "<p>Every input is at its default.</p>",
        "<p class=note>Data: <code>timeseries.csv</code> (one row per quarter; its columns "
        "described in <code>timeseries.columns.csv</code>) and <code>summary.json</code> "
        "(these outcomes, the full scenario, the events).</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_run_report(
    folder: Path,
    report: Mapping[str, Any],
    series: Mapping[str, Any],
    shocks: Sequence[Any],
    maps: CouncilMaps | None = None,
) -> list[Path]:
    """Write a run's figure (``overview.png``), its data dictionary
    (``timeseries.columns.csv``) and ``report.html`` into ``folder``; return them.

    ``report``: the run's summary.json as a dict; ``series``: its time series by column;
    ``shocks``: its shock log, ``(quarter, kind)`` pairs; ``maps``: the councils on their own
    map (:class:`MapRecorder`), drawn beside the overview's panels.
    """
    from sim.report.plots import overview_figure

    folder = Path(folder)
    meta = report["scenario"]["scenario"]
    title = f"{meta['name']}: {meta.get('description', '')}".rstrip(": ")
    png = folder / "overview.png"
    overview_figure(
        series,
        title,
        shocks,
        png,
        start_year=meta.get("start_year"),
        warm_up=meta.get("warm_up_quarters", 0),
        events=report.get("events", []),
        maps=maps,
    )
    dictionary = write_data_dictionary(folder / "timeseries.columns.csv", ["quarter", *REPORTERS])
    page = folder / "report.html"
    page.write_text(report_html(report, png.read_bytes()), encoding="utf-8")
    return [png, dictionary, page]
