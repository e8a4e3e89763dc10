"""Regenerate the parameter table in docs/ODD.md from the scenario schema.

.venv/bin/python -m scripts.update_odd
"""

from __future__ import annotations

import re
from pathlib import Path

from sim.scenario import parameter_markdown

ODD = Path(__file__).resolve().parents[1] / "docs" / "ODD.md"
BLOCK = re.compile(r"(<!-- parameters:begin -->\n).*?(<!-- parameters:end -->)", re.S)


def main() -> None:
    """Replace the text between the parameter markers with the generated table."""
    text = ODD.read_text()
    ODD.write_text(BLOCK.sub(lambda m: m.group(1) + parameter_markdown() + "\n" + m.group(2), text))
    print(f"updated {ODD}")


if __name__ == "__main__":
    main()
