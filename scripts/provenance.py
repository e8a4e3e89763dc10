"""The honest table that heads docs/validation.md: every number calibrated, assumed or predicted.

    .venv/bin/python -m scripts.provenance

Reads the parameter table (`commsim params`: each parameter's default and source), the
calibration's priors (scripts/calibrate.py) and, where a calibration has run, which of its
parameters the records identify (results/calibration/), and writes the block ``provenance`` at the top
of docs/validation.md: what was fitted and to what, what was set by hand, which scenario
structures were chosen, which parameters rest on a source and which are assumptions, and
which results are predictions the model was not tuned to.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "calibration"
from scripts.calibrate import CALIBRATION_SET, PRIORS, identified_by  # noqa: E402
from scripts.patterns import PATTERNS  # noqa: E402
from scripts.scriptkit import OneLineParser, write_block  # noqa: E402
from sim.scenario import parameter_table  # noqa: E402

#: Set by hand to land a scenario on a record: a calibration by eye, not a test.
HAND_SET = {
    "commissioning.emergency_premium": "so that the Carillion scenario's extra cost landed "
    "near the NAO's GBP 148m (NAO HC 1002, 2018) before issue 20's model; section 2 gives "
    "the cost now",
    "commissioning.transition_cost": "the same",
    "outsourcers.size_dispersion": "chosen with the PAC's top-five share (nearly 60%, PAC "
    "2018) in mind, the record of the top-five pattern below: that pattern is not independent",
}
#: Scenario structures chosen, not measured.
CHOSEN = [
    (
        "`scenarios/carillion_collapse.toml`: 17 outsourcers, 5 service lines x 6 lots",
        "chosen, when outsourcers were of equal size, so the largest held about 420 contracts, "
        "Carillion's count (NAO 2018): the contract count it reports follows from this choice "
        "and from `outsourcers.size_dispersion`, not a prediction (section 2 gives it now)",
    ),
    (
        "`scenarios/home_care_1993.toml`: 98% in-house start, 20 national outsourcers "
        "beside the default local private firms, no mutuals, price-led weights",
        "the record's 1992 start and the reform's rules; the 2% start is an input",
    ),
]
#: Parameters that set up a run rather than the world: no status to give.
NOT_NUMBERS = ("shocks[]", "scenario.")
#: Words in a source that mark it as an estimate or assumption rather than a measurement.
WEAK = ("assumption", "estimate", "advocacy")


def identification_status(results: Path) -> dict[str, str]:
    """Each fitted parameter's identification status from the last calibration's files
    (``identification.csv``, ``posterior_summary.csv`` under ``results``); empty when there
    is no calibration yet (every fitted parameter then reads as calibrated)."""
    rho_file, summary_file = results / "identification.csv", results / "posterior_summary.csv"
    if not (rho_file.exists() and summary_file.exists()):
        return {}
    rho = pd.read_csv(rho_file, index_col="parameter")
    width = pd.read_csv(summary_file, index_col="parameter")["width_ratio"]
    table = identified_by(rho, width)
    return dict(zip(table.parameter, table.status, strict=True))


def block(results: Path = RESULTS) -> str:
    """The provenance section."""
    by_source: dict[str, list[str]] = {}
    for r in CALIBRATION_SET:
        by_source.setdefault(r.source, []).append(r.what)
    fitted = "; ".join(f"{', '.join(whats)} ({source})" for source, whats in by_source.items())
    status = identification_status(results)
    identified = [n for n in PRIORS if status.get(n, "identified") == "identified"]
    calibrated = (
        f"| {', '.join(f'`{n}`' for n in identified)} | calibrated | the calibration set, all "
        f"at once by ABC: {fitted}; posterior, and which record identifies which parameter, "
        "under 'Calibration with uncertainty' |"
    )
    loose = [n for n in PRIORS if n not in identified]
    if loose:
        calibrated += (
            f"\n| {', '.join(f'`{n}`' for n in loose)} | fitted, not or weakly identified | fitted with "
            "the others, but the calibration set leaves them about as wide as their priors "
            "(or moves no record): assumptions in effect, drawn across their posteriors "
            "wherever the posterior is used |"
        )
    hand = "\n".join(f"| `{n}` | set by hand | {why} |" for n, why in HAND_SET.items())
    chosen = "\n".join(f"| {what} | chosen | {why} |" for what, why in CHOSEN)
    sourced, assumed = [], []
    for row in parameter_table():
        name = row["name"]
        if name in PRIORS or name in HAND_SET or name.startswith(NOT_NUMBERS):
            continue
        default = row["default"]
        if isinstance(default, bool | str) or default is None or name.endswith("_file"):
            continue  # names, files, switches: not numbers the results rest on
        source = row["source"].strip()
        weak = not source or any(w in source.lower() for w in WEAK)
        (assumed if weak else sourced).append(f"`{name}`")
    predicted = "\n".join(
        f"| {p.what} | predicted | {p.source}; band and verdict under 'Independent patterns' |"
        for p in PATTERNS
    )
    return f"""\
## What is calibrated, what is assumed, what is predicted

Generated by `.venv/bin/python -m scripts.provenance` from the parameter table (`commsim
params`), the calibration's priors and its identification (results/calibration/). A calibrated number was fitted to a record, so a
match to that record is no test; a predicted one was compared with a record it was not
tuned to; everything else is assumed, with a source or without.

| number | status | to what, or why |
| --- | --- | --- |
{calibrated}
{hand}
{chosen}
| the home-care path between and after 1992, 2002, 2008 | predicted | no record used (posterior-predictive table below) |
{predicted}
| England council by council: each council's external share of home care spend 2001-02 to 2007-08, its 2007-08 median and quartiles, the persistence of councils' ranks | predicted | PSS-EX1 (`data/england/SOURCES.md`); the model from each council's 2000-01 share, against the null models, under 'England, council by council' |
| the directional checks (section 3) | predicted | the article's claims, as directions |

Assumed with a source ({len(sourced)} parameters; the source is in `commsim params` and
docs/ODD.md): {", ".join(sourced)}.

Assumed without a measured source ({len(assumed)} parameters, marked "assumption" or
"estimate", or with none): {", ".join(assumed)}. Results that lean on these are shown across
their ranges in docs/claims.md.
"""


def main(argv: list[str] | None = None) -> int:
    """Write the provenance block at the top of docs/validation.md."""
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=ROOT / "docs")
    args = parser.parse_args(argv)
    write_block(args.docs / "validation.md", "provenance", block(), top=True)
    print(f"wrote the provenance block of {args.docs}/validation.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
