"""Every number docs/teaching.md quotes from a run, measured as a teacher following its
activities on the dashboard would see it: the dashboard's default scenario
(scenarios/baseline.toml, its seed and levers), driven through the page's own controller
(:mod:`sim.dashboard.controller`: Step, Run to quarter, the shock buttons, the levers moved
during a run), so the same presses give the same numbers as the page.

    .venv/bin/python -m scripts.teaching_numbers      # a few seconds (the first run compiles: +20 s)

After a change to the model, run it and update docs/teaching.md (and retake its screenshots:
``.venv/bin/python -m tests.dashboard_driver docs/img``). Percentages are printed as the
page's big numbers show them (whole percent); trust to two decimals.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.scriptkit import OneLineParser
from sim.dashboard.controller import Session, View, build_session
from sim.dashboard.levers import lever_values

ROOT = Path(__file__).resolve().parent.parent
BASELINE = str(ROOT / "scenarios" / "baseline.toml")
#: Activity 3's levers.
ACTIVITY3 = {
    "commissioning.social_value_weight": 0.3,
    "commissioning.local_preference": 0.2,
    "mutuals.support_programme": True,
}
SHARES = ("outsourcer", "inhouse", "mutual", "local_firm")
#: Service below this (share of need) counts as a dip.
DIP = 0.99


@dataclass
class Press:
    """Something pressed on the page at a quarter: a shock button or levers moved."""

    quarter: int
    shock: str | None = None
    levers: dict[str, Any] | None = None


def run(until: int, presses: tuple[Press, ...] = (), **levers: Any) -> tuple[Session, View]:
    """A run of the baseline with ``levers`` (dotted keys) set before Reset, ``presses`` made
    at their quarters, to quarter ``until``; the session and its view then."""
    session = build_session(BASELINE, lever_values(BASELINE) | levers)
    for press in sorted(presses, key=lambda p: p.quarter):
        if press.quarter > session.model.quarter:
            session.advance(press.quarter)
        if press.shock and not session.press(press.shock):
            raise RuntimeError(f"the page refused the {press.shock} at quarter {press.quarter}")
        for key, value in (press.levers or {}).items():
            if not session.move(key, value):
                raise RuntimeError(f"{key} cannot move at quarter {press.quarter}")
    if until > session.model.quarter:
        session.advance(until)
    return session, session.view(-1)


def pct(x: float) -> str:
    """A share as the page shows it."""
    return f"{100 * x:.0f}%"


def at(view: View, name: str, quarter: int) -> float:
    """A reporter's value after ``quarter`` (0: the market as it starts)."""
    return view.start[name] if quarter == 0 else view.series[name][quarter - 1]


def shares(view: View, quarter: int) -> str:
    """Each provider type's share of contract value, and the local share of spend."""
    parts = [f"{kind} {pct(at(view, f'share_{kind}', quarter))}" for kind in SHARES]
    return ", ".join(parts) + f"; local share of spend {pct(at(view, 'local_share', quarter))}"


def service(view: View, first: int, last: int) -> str:
    """Service delivered in each quarter from ``first`` to ``last`` that dips below
    :data:`DIP`, and the lowest."""
    values = {q: at(view, "service_delivered", q) for q in range(first, last + 1)}
    dips = ", ".join(f"q{q} {pct(v)}" for q, v in values.items() if v < DIP) or "none"
    low = min(values, key=values.get)
    return f"lowest {pct(values[low])} (q{low}); dips below {pct(DIP)}: {dips}"


def events(view: View, kind: str, first: int, last: int) -> list[dict[str, Any]]:
    """The model's events of ``kind`` (failure, handback) from quarter ``first`` to ``last``."""
    return [e for e in view.events if e["event"] == kind and first <= e["quarter"] <= last]


def handbacks(view: View, first: int, last: int) -> str:
    """Contracts handed back each quarter from ``first`` to ``last``, and in all."""
    by_quarter: dict[int, int] = {}
    for e in events(view, "handback", first, last):
        by_quarter[e["quarter"]] = by_quarter.get(e["quarter"], 0) + e["contracts"]
    each = ", ".join(f"q{q} {n}" for q, n in sorted(by_quarter.items())) or "none"
    return f"{sum(by_quarter.values())} in all ({each})"


def failures(view: View, first: int, last: int) -> str:
    """Failures from quarter ``first`` to ``last``: provider, cause, contracts."""
    found = events(view, "failure", first, last)
    return (
        "; ".join(
            f"q{e['quarter']} {e['provider']} ({e['cause']}, {e['contracts']} contracts)"
            for e in found
        )
        or "none"
    )


def trust(view: View, quarters: range) -> str:
    """Trust at each of ``quarters``."""
    return ", ".join(f"q{q} {at(view, 'trust', q):.2f}" for q in quarters)


def collapse(levers: dict[str, Any], label: str, after: int = 20) -> View:
    """Activity 2's collapse at quarter 12 with ``levers``: print what the page shows."""
    session, now = run(12, (Press(12, shock="provider_collapse"),), **levers)
    failure = events(now, "failure", 12, 12)[-1]
    print(
        f"  {label}: quarter 12 collapse of {failure['provider']}, "
        f"{failure['contracts']} contracts disrupted, "
        f"{int(now.hit.sum())} of {len(now.hit)} councils ringed"
    )
    session.advance(after)
    view = session.view(-3)
    print(f"    service q13-q{after}: {service(view, 13, after)}")
    print(f"    trust: {trust(view, range(11, after + 1))}")
    print(f"    q{after}: {shares(view, after)}")
    print(f"    failures q13-q{after}: {failures(view, 13, after)}")
    print(f"    handbacks q12-q{after}: {handbacks(view, 12, after)}")
    return view


def main(argv: list[str] | None = None) -> None:
    """Print every number docs/teaching.md quotes, activity by activity."""
    parser = OneLineParser(prog="python -m scripts.teaching_numbers", description=__doc__)
    parser.parse_args(argv)

    print("Activity 1: the baseline, no shock")
    _, base = run(40)
    print(f"  q0: {shares(base, 0)}; trust {at(base, 'trust', 0):.2f}")
    print(f"  q20: {shares(base, 20)}; trust {at(base, 'trust', 20):.2f}")
    print(f"  service q1-q20: {service(base, 1, 20)}")
    print(f"  handbacks q1-q20: {handbacks(base, 1, 20)}")
    print(f"  failures q1-q20: {failures(base, 1, 20)}")
    print(f"  trust: {trust(base, range(0, 21, 4))}")
    markups = ", ".join(
        f"q{q} {pct(at(base, 'mean_markup_outsourcer', q))}" for q in range(4, 41, 4)
    )
    print(f"  outsourcers' mean mark-up (question 3): {markups}")
    print(f"  q40 (Activity 3, question 4, no change): {shares(base, 40)}")

    print("Activity 2: collapse of the largest outsourcer at quarter 12")
    collapse({}, "baseline")
    print("  question 3: in-house capacity retained 0.4")
    collapse({"councils.inhouse_capacity_retained": 0.4}, "capacity 0.4")
    print("  question 4: cost shock pressed at quarter 12 (to quarter 23)")
    for label, levers in (
        ("fee uplift as set", {}),
        ("no fee uplift", {"commissioning.fee_uplift": 0.0}),
    ):
        _, view = run(23, (Press(12, shock="cost_shock"),), **levers)
        print(f"    {label}: handbacks q12-q23: {handbacks(view, 12, 23)}")
        print(f"      service q12-q23: {service(view, 12, 23)}")
        print(f"      failures q12-q23: {failures(view, 12, 23)}")

    print("Activity 3: social value 0.3, local preference 0.2, support programme, from the start")
    _, rules = run(40, **ACTIVITY3)
    print(f"  q20: {shares(rules, 20)}; trust {at(rules, 'trust', 20):.2f}")
    print(f"  q40: {shares(rules, 40)}")
    spend = f"GBP {at(rules, 'spend', 20):.0f}m, baseline GBP {at(base, 'spend', 20):.0f}m"
    print(f"  spend q20 (question 1): these rules {spend}")
    print("  question 2: the collapse at quarter 12 under these rules")
    collapse(ACTIVITY3, "Activity 3's levers")
    print("  question 4: the baseline to quarter 20, then the three levers moved, to quarter 40")
    _, late = run(40, (Press(20, levers=ACTIVITY3),))
    print(f"    q20: {shares(late, 20)}")
    print(f"    q40: {shares(late, 40)}")


if __name__ == "__main__":
    main()
