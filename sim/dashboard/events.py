"""The event log's lines: every shock and every failure and handback, with its quarter."""

from __future__ import annotations

from typing import Any

from sim.dashboard.controller import View

__all__ = ["SHOCK_NAMES", "event_log", "event_text"]

#: What the log calls each kind of shock.
SHOCK_NAMES = {
    "provider_collapse": "collapse of the largest outsourcer",
    "cost_shock": "cost shock",
    "demand_shock": "demand shock",
    "budget_cut": "budget cut",
}


def event_text(event: dict[str, Any]) -> str:
    """One line on a failure or handback from the model's events."""
    n = event["contracts"]
    contracts = f"{n} contract{'' if n == 1 else 's'}"
    if event["event"] == "failure":
        verb = {"collapse": "collapsed", "insolvency": "went bust"}.get(event["cause"], "failed")
        return f"Quarter {event['quarter']}: {event['provider']} {verb}, {contracts} disrupted"
    return f"Quarter {event['quarter']}: {contracts} handed back"


def event_log(view: View, pressed: set[int]) -> list[str]:
    """Every shock (pressed here, or from the scenario file) and every failure and handback,
    newest first. ``pressed`` holds the indices of the shocks pressed on the page."""
    rows: list[tuple[int, int, str]] = []
    for i, (q, kind) in enumerate(view.shocks):
        how = "pressed" if i in pressed else "from the scenario file"
        rows.append((q, 0, f"Quarter {q}: shock {how}: {SHOCK_NAMES.get(kind, kind)}"))
    rows += [(e["quarter"], 1, event_text(e)) for e in view.events]
    rows.sort(key=lambda row: (row[0], row[1]))  # stable: the order things happened in
    return [text for _, _, text in reversed(rows)]
