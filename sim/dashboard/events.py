"""The event log's lines: every shock, lever moved during the run, failure and handback, with
its quarter."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sim.dashboard.charts import KINDS
from sim.dashboard.controller import Action, View
from sim.dashboard.levers import levers

__all__ = ["SHOCK_NAMES", "event_log", "event_text", "move_text"]

#: What the log calls each kind of shock.
SHOCK_NAMES = {
    "provider_collapse": "collapse of the largest outsourcer",
    "cost_shock": "cost shock",
    "demand_shock": "demand shock",
    "budget_cut": "budget cut",
    "wage_floor": "wage floor",
}


def event_text(event: dict[str, Any]) -> str:
    """One line on a failure (naming the provider and its type) or a handback from the
    model's events (:attr:`~sim.dashboard.controller.View.events`)."""
    n = event["contracts"]
    contracts = f"{n} contract{'' if n == 1 else 's'}"
    if event["event"] == "failure":
        verb = {"collapse": "collapsed", "insolvency": "went bust"}.get(event["cause"], "failed")
        kind = f" ({KINDS[event['kind']][0]})" if event.get("kind") in KINDS else ""
        who = f"{event['provider']}{kind}"
        return f"Quarter {event['quarter']}: {who} {verb}, {contracts} disrupted"
    return f"Quarter {event['quarter']}: {contracts} handed back"


def move_text(move: Action) -> str:
    """One line on a lever moved during the run: ``Quarter 21: social value weight 10% ->
    30%``."""
    lever = next(lever for lever in levers() if lever.key == move.name)
    change = f"{lever.say(move.before)} -> {lever.say(move.value)}"
    return f"Quarter {move.quarter}: {lever.words} {change}"


def event_log(
    view: View, pressed: set[int], actions: Iterable[Action] = (), failures: bool = True
) -> list[str]:
    """Every shock (pressed here, or from the scenario file), every lever moved during the
    run and (unless ``failures`` is False) every failure and handback, newest first.
    ``pressed`` holds the indices of the shocks pressed on the page; ``actions``, what was
    done on the page (its lever moves are logged)."""
    rows: list[tuple[int, int, str]] = []
    for i, (q, kind) in enumerate(view.shocks):
        how = "pressed" if i in pressed else "from the scenario file"
        rows.append((q, 0, f"Quarter {q}: shock {how}: {SHOCK_NAMES.get(kind, kind)}"))
    rows += [(a.quarter, 0, move_text(a)) for a in actions if not a.is_shock]
    rows += [(e["quarter"], 1, event_text(e)) for e in view.events if failures]
    rows.sort(key=lambda row: (row[0], row[1]))  # stable: the order things happened in
    return [text for _, _, text in reversed(rows)]
