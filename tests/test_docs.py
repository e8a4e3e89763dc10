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


def test_teaching_quotes_the_numbers_the_dashboard_shows(root):
    """docs/teaching.md's numbers were measured on the model as the page runs it: a model
    change that moves them fails here (``python -m scripts.teaching_numbers`` prints them all
    again, to update the doc)."""
    from scripts.teaching_numbers import ACTIVITY3, Press, at, events, pct, run

    doc = " ".join((root / "docs/teaching.md").read_text().split())
    _, base = run(20)
    _, rules = run(20, **ACTIVITY3)
    _, collapse = run(12, (Press(12, shock="provider_collapse"),))
    failure = events(collapse, "failure", 12, 12)[-1]
    for quoted in (
        f"outsourcers' share climbs to {pct(at(base, 'share_outsourcer', 20))}",
        f"{failure['provider']} (private outsourcer) collapsed, {failure['contracts']} contracts",
        f"outsourcers' share falls to {pct(at(rules, 'share_outsourcer', 20))} instead",
    ):
        assert quoted in doc, f"docs/teaching.md no longer quotes {quoted!r}: re-measure it"
