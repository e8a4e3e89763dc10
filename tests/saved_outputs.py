"""Saved outputs of every shipped scenario at seeds 1-3: the model's numbers, pinned.

A refactor must reproduce them exactly; a change of mechanism replaces them on purpose, in
one commit that says which mechanisms moved them. Regenerate with

    .venv/bin/python -m tests.saved_outputs

which rewrites ``tests/saved_outputs/<scenario>-seed<N>.csv`` (the time series) and
``.json`` (summary.json's outcomes) for every file in scenarios/.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAVED = Path(__file__).resolve().parent / "saved_outputs"
SEEDS = (1, 2, 3)


def scenario_files() -> list[Path]:
    """Every shipped scenario file."""
    return sorted((ROOT / "scenarios").glob("*.toml"))


def run_outputs(path: Path, seed: int, engine: str = "mesa"):
    """(time series, outcomes) of one scenario file at one seed, as ``commsim run`` gives,
    from the Mesa model (``engine="mesa"``) or the Mesa-free one (``"simulation"``)."""
    from sim import CommissioningModel, load_scenario
    from sim.core.engine import Simulation

    model_class = {"mesa": CommissioningModel, "simulation": Simulation}[engine]
    model = model_class(load_scenario(path, {"scenario.seed": seed}), rng=seed).run()
    return model.timeseries(), model.summary()


def saved_paths(path: Path, seed: int) -> tuple[Path, Path]:
    """Where one run's saved time series and outcomes live."""
    stem = SAVED / f"{path.stem}-seed{seed}"
    return stem.with_suffix(".csv"), stem.with_suffix(".json")


def write_all() -> None:
    """Rewrite every saved output from the model as it is now."""
    SAVED.mkdir(exist_ok=True)
    for path in scenario_files():
        for seed in SEEDS:
            ts, outcomes = run_outputs(path, seed)
            csv_path, json_path = saved_paths(path, seed)
            ts.to_csv(csv_path, index=False)  # full float repr: round-trips exactly
            json_path.write_text(json.dumps(outcomes, indent=1, sort_keys=True) + "\n")
            print(f"wrote {csv_path.name}, {json_path.name}")


if __name__ == "__main__":
    write_all()
