"""Who wins new work after a large collapse: the strategic suppliers' share of new awards.

    .venv/bin/python -m scripts.after_collapse --seeds 20

After Carillion (January 2018) public buyers spread new work: the strategic suppliers' share
of newly awarded public contract value fell from 10.3% in 2017 to 5.8% in 2018 (Tussell), a
ratio of 0.56. The model's analogue runs `scenarios/carillion_collapse.toml`: its strategic
suppliers are the five national outsourcers holding the most contract value in the quarter
before the collapse, the collapsed firm left out; an award is a contract slot that changes
holder or starts a new term with an external provider. The ratio is their share of the
value awarded in the four quarters from the collapse to their share in the four before.
docs/validation.md ('Independent patterns') reports it with and without
``councils.concentration_aversion``, the rule it tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CARILLION = ROOT / "scenarios" / "carillion_collapse.toml"
#: Tussell: strategic suppliers' share of newly awarded public contract value.
TUSSELL_2017, TUSSELL_2018 = 0.103, 0.058
STRATEGIC = 5  # the largest national firms counted as strategic suppliers


def new_awards(before: dict[str, np.ndarray], ct: Any) -> np.ndarray:
    """Slots awarded since the snapshot ``before`` (``holder`` and ``start`` of the contract
    book ``ct``): a new holder or a new term."""
    n = len(before["holder"])
    holder, start = ct.view("holder")[:n], ct.view("start")[:n]
    return np.flatnonzero(
        (holder >= 0) & ((holder != before["holder"]) | (start != before["start"]))
    )


def strategic_award_ratio(overrides: dict[str, Any], seed: int) -> dict[str, float]:
    """One run of the Carillion scenario: the strategic suppliers' share of the external value
    awarded in the year before the collapse and the year from it, and their ratio."""
    from sim import CommissioningModel, load_scenario

    scenario = load_scenario(CARILLION, overrides)
    shock = min(s.quarter for s in scenario.shocks)
    model = CommissioningModel(scenario, rng=seed)
    ct, p = model.contracts, model.providers
    awards: list[tuple[int, np.ndarray, np.ndarray]] = []  # (quarter, holders, values)
    strategic = np.zeros(0, np.int64)
    for q in range(shock + 4):
        if q == shock:  # the largest national firms now, bar the one about to fall
            value = ct.value_by_provider(p.n)
            value[~(p.external() & (p.view("home") < 0))] = 0
            ranked = np.argsort(value)[::-1]
            strategic = ranked[1 : STRATEGIC + 1]  # the largest is the target of the collapse
        before = {"holder": ct.view("holder").copy(), "start": ct.view("start").copy()}
        model.step()
        slots = new_awards(before, ct)
        holders = ct.view("holder")[slots]
        external = p.external()[holders]
        awards.append((q, holders[external], ct.view("price")[slots][external]))
    shares = {}
    for label, quarters in (
        ("before", range(shock - 4, shock)),
        ("after", range(shock, shock + 4)),
    ):
        won = total = 0.0
        for q, holders, values in awards:
            if q in quarters:
                total += values.sum()
                won += values[np.isin(holders, strategic)].sum()
        shares[label] = won / total if total > 0 else np.nan
    return {**shares, "ratio": shares["after"] / shares["before"]}


def main(argv: list[str] | None = None) -> int:
    """Print the ratio over seeds, with and without concentration aversion."""
    from scripts.scriptkit import OneLineParser

    parser = OneLineParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="runs per arm (default 10)")
    args = parser.parse_args(argv)
    print(f"record (Tussell): {TUSSELL_2018 / TUSSELL_2017:.2f}")
    for aversion in (2.0, 0.0):
        runs = [
            strategic_award_ratio({"councils.concentration_aversion": aversion}, s)
            for s in range(args.seeds)
        ]
        ratio = np.array([r["ratio"] for r in runs])
        lo, mid, hi = np.nanpercentile(ratio, [5, 50, 95])
        print(f"concentration_aversion {aversion}: median {mid:.2f} (90% {lo:.2f} to {hi:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
