"""The documentation keeps up with the code."""

from __future__ import annotations

import re

from sim.core.outcomes import (
    COUNCIL_REPORTERS,
    PROVIDER_REPORTERS,
    REPORTERS,
    SUMMARY_FIELDS,
    outcome_markdown,
)
from sim.scenario import parameter_markdown, parameter_table

ODD_ELEMENTS = [
    "Purpose and patterns",
    "Entities, state variables and scales",
    "Process overview and scheduling",
    "Design concepts",
    "Initialisation",
    "Input data",
    "Submodels",
]


def test_odd_has_all_seven_elements(root):
    headings = re.findall(r"^## \d+\. (.+)$", (root / "docs/ODD.md").read_text(), re.M)
    for element in ODD_ELEMENTS:
        assert element in headings, f"docs/ODD.md lacks the ODD element '{element}'"


def test_odd_documents_every_parameter(root):
    odd = (root / "docs/ODD.md").read_text()
    missing = [r["name"] for r in parameter_table() if f"`{r['name']}`" not in odd]
    assert not missing, f"docs/ODD.md does not document {missing}: run python -m scripts.update_odd"
    assert parameter_markdown() in odd, (
        "the parameter table in docs/ODD.md is stale: run python -m scripts.update_odd"
    )


def test_every_parameter_has_unit_and_description():
    for row in parameter_table():
        assert row["unit"] and row["description"], row["name"]


def test_odd_names_every_output(root):
    odd = (root / "docs/ODD.md").read_text()
    for name in [*REPORTERS, *SUMMARY_FIELDS]:
        assert f"`{name}`" in odd, name
    for table in (
        REPORTERS,
        SUMMARY_FIELDS,
        COUNCIL_REPORTERS,
        PROVIDER_REPORTERS,
    ):  # types, units and meanings as the code has them
        assert outcome_markdown(table) in odd, "docs/ODD.md is stale: run scripts/update_odd.py"
