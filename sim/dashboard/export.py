"""The page's downloads: the run's time series as CSV, carrying how the run was made and what
each column means, and the four plots as one PNG, drawn as the screen draws them.

The CSV's first lines, each starting with ``#``, say the scenario, the seed, the levers at the
start, every shock and lever moved with its quarter, and each column's unit and meaning (from
:mod:`sim.core.outcome_table`); then one row per quarter, numbered as the page counts them:
row 0 is the market as it starts, row N the quarter that ends at "Quarter N". Shares are in
percent. A spreadsheet shows the ``#`` lines above the table; pandas reads the table with
``pd.read_csv(path, comment="#")``.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path
from typing import Any

from sim.core.outcome_table import REPORTERS, Outcome
from sim.dashboard.charts import PLOTS, plot_lines
from sim.dashboard.controller import ClassroomModel, Session, View
from sim.dashboard.events import event_log
from sim.dashboard.levers import levers, read_levers
from sim.dashboard.recipe import start_levers

__all__ = ["column_glossary", "export_name", "plots_figure", "plots_png", "timeseries_csv"]

#: The quarter column as the CSV's glossary describes it.
QUARTER_COLUMN = ("quarter", "quarters", "Quarters simulated (0: the market as it starts)")
#: Matplotlib's line style for each of the page's dashes (:data:`sim.dashboard.charts.DASHES`).
_MPL_DASHES = {"solid": "-", "dashed": "--", "dotted": ":"}


def export_name(model: ClassroomModel, suffix: str) -> str:
    """A download's file name that says what it holds: the scenario file's name, the quarter
    and each lever's value as the run now uses it, e.g. ``baseline-q12-social_value_weight
    0.10-...-support_programme1.csv`` (letters, digits, ``.``, ``_`` and ``-`` only)."""
    stem = Path(model.scenario_file).stem if model.scenario_file else "defaults"
    values = "-".join(
        key.split(".")[1] + (f"{value:.2f}" if isinstance(value, float) else str(int(value)))
        for key, value in read_levers(model.params).items()
    )
    name = f"{stem}-q{model.quarter}-{values}"
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) + suffix


def _in_percent(o: Outcome) -> bool:
    return o.unit.startswith("share")


def column_glossary() -> list[tuple[str, str, str]]:
    """The CSV's columns: (name, unit, meaning), from the outcome table, shares in percent
    (``share`` -> ``%``, ``share of cost`` -> ``% of cost``)."""
    rows = [QUARTER_COLUMN]
    for o in REPORTERS.values():
        unit = "%" + o.unit.removeprefix("share") if _in_percent(o) else o.unit
        rows.append((o.name, unit, o.meaning))
    return rows


def _cell(o: Outcome, value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if o.type is int:
        return int(value)
    return round(100 * value, 2) if _in_percent(o) else round(float(value), 4)


def timeseries_csv(session: Session) -> str:
    """The run so far as CSV: lines starting with ``#`` saying how the run was made (scenario,
    seed, levers at the start, each shock and lever moved with its quarter) and what each
    column means, then the market as it starts (quarter 0) and one row per quarter
    simulated."""
    view, actions = session.snapshot()
    model = session.model
    start = start_levers(view.levers, actions)
    scenario = Path(model.scenario_file).name if model.scenario_file else "the defaults"
    pressed = {a.value for a in actions if a.is_shock}
    done = list(reversed(event_log(view, pressed, actions, failures=False)))
    head = [
        f"commsim classroom dashboard: {scenario}, seed {model.seed}, "
        f"{view.quarter} of {view.horizon} quarters simulated",
        "levers at the start: "
        + ", ".join(f"{lever.words} {lever.say(start[lever.key])}" for lever in levers()),
        "shocks and levers moved during the run, oldest first:" + ("" if done else " none"),
        *(f"  {line}" for line in done),
        "columns (name (unit): meaning):",
        *(f"  {name} ({unit}): {meaning}" for name, unit, meaning in column_glossary()),
    ]
    out = io.StringIO()
    out.writelines(f"# {line}\n" for line in head)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([name for name, _, _ in column_glossary()])
    rows = [view.start] + [
        {name: values[q] for name, values in view.series.items()} for q in range(view.quarter)
    ]
    for q, row in enumerate(rows):
        writer.writerow([q, *(_cell(o, row.get(o.name)) for o in REPORTERS.values())])
    return out.getvalue()


def plots_figure(view: View, title: str) -> Any:
    """The four plots as the screen shows them (:data:`sim.dashboard.charts.PLOTS`: the same
    lines, colours, dashes, ranges and shock marks, against years), as a matplotlib figure of
    1280x720 pixels."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12.8, 7.2), dpi=100, layout="constrained")
    fig.suptitle(title)
    for ax, plot in zip(fig.subplots(2, 2).flat, PLOTS, strict=True):
        lines, low = plot_lines(view, plot)
        for line in lines:
            years = [x for x, _ in line.points]
            values = [y for _, y in line.points]
            dash = line.dash
            style = _MPL_DASHES[dash] if isinstance(dash, str) else (0, tuple(dash))
            marker = "o" if len(line.points) == 1 else None
            ax.plot(years, values, color=line.colour, linestyle=style, linewidth=2.2,
                    marker=marker, label=line.label)  # fmt: skip
        for q in sorted({q for q, _ in view.shocks}):
            ax.axvline(q / 4, color="black", linestyle="--", linewidth=1)
        ax.set_title(plot.title)
        ax.set_xlim(0, view.horizon / 4)
        ax.set_ylim(low, plot.ylim[1])
        ax.set_xlabel("years")
        ax.set_ylabel(plot.unit)
        if len(lines) > 1:
            ax.legend(loc="upper left", fontsize="small")
    return fig


def plots_png(session: Session) -> bytes:
    """The four plots as the screen shows them (:func:`plots_figure`), as a PNG."""
    view, _ = session.snapshot()
    model = session.model
    scenario = Path(model.scenario_file).stem if model.scenario_file else "defaults"
    when = f"after quarter {view.quarter} of {view.horizon}" if view.quarter else "at the start"
    buffer = io.BytesIO()
    plots_figure(view, f"{scenario}: {when}").savefig(buffer, format="png")
    return buffer.getvalue()
