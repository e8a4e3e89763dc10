"""Regenerate the generated tables in docs/ODD.md: parameters from the scenario schema,
quarterly reporters and run outcomes from the outcome table (sim/core/outcome_table.py).

.venv/bin/python -m scripts.update_odd
"""

from __future__ import annotations

import re
from pathlib import Path

from sim.core.outcome_table import (
    COUNCIL_REPORTERS,
    PROVIDER_REPORTERS,
    REPORTERS,
    SUMMARY_FIELDS,
    outcome_markdown,
)
from sim.scenario import parameter_markdown

ODD = Path(__file__).resolve().parents[1] / "docs" / "ODD.md"


def generated_blocks() -> dict[str, str]:
    """Each marked block of docs/ODD.md (``<!-- NAME:begin -->``) and its generated text."""
    return {
        "parameters": parameter_markdown(),
        "reporters": outcome_markdown(REPORTERS),
        "outcomes": outcome_markdown(SUMMARY_FIELDS),
        "councils": outcome_markdown(COUNCIL_REPORTERS),
        "providers": outcome_markdown(PROVIDER_REPORTERS),
    }


def main() -> None:
    """Replace the text between each pair of markers with its generated table."""
    text = ODD.read_text()
    for name, table in generated_blocks().items():
        block = re.compile(rf"(<!-- {name}:begin -->\n).*?(<!-- {name}:end -->)", re.S)
        text = block.sub(lambda m, t=table: m.group(1) + t + "\n" + m.group(2), text)
    ODD.write_text(text)
    print(f"updated {ODD}")


if __name__ == "__main__":
    main()
