"""The parameter table: every scalar parameter of the schema with its default, unit, range,
source and meaning, as ``commsim params``, docs/ODD.md and the dashboard show it."""

from __future__ import annotations

import math
from typing import Any

from sim.scenario.schema import Scenario, Shock

__all__ = ["parameter_markdown", "parameter_table"]


def parameter_table() -> list[dict[str, Any]]:
    """Every scalar parameter of the schema: dotted name, default, unit, range, source, meaning."""
    rows = []
    sections = {n: f.annotation for n, f in Scenario.model_fields.items() if n != "shocks"}
    sections["shocks[]"] = Shock
    for sec, model in sections.items():
        for name, field in model.model_fields.items():
            extra = field.json_schema_extra or {}
            lo = hi = None
            for m in field.metadata:
                lo = getattr(m, "ge", None) if getattr(m, "ge", None) is not None else lo
                lo = getattr(m, "gt", None) if getattr(m, "gt", None) is not None else lo
                hi = getattr(m, "le", None) if getattr(m, "le", None) is not None else hi
            default = field.default
            rng = "" if lo is None and hi is None else f"{_num(lo)} to {_num(hi)}"
            rows.append(
                {
                    "name": f"{sec}.{name}",
                    "default": default,
                    "unit": extra.get("unit", ""),
                    "range": rng,
                    "source": extra.get("source", ""),
                    "description": field.description or "",
                }
            )
    return rows


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and math.isfinite(x) and x.is_integer():
        return str(int(x))
    return str(x)


def parameter_markdown() -> str:
    """The parameter table as Markdown, as docs/ODD.md carries it."""
    lines = [
        "| parameter | default | unit | range | meaning | source |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in parameter_table():
        d = r["default"]
        d = "true" if d is True else "false" if d is False else d
        lines.append(
            f"| `{r['name']}` | {d} | {r['unit']} | {r['range']} | {r['description']} | {r['source']} |"
        )
    return "\n".join(lines)
