"""Run every benchmark module ``benchmarks/bench_*.py`` (or those named) and print its table.

Each module has a ``main() -> None`` that times its cases (medians over several runs) and
prints a table. Timings are reported, never asserted: the machines are shared and noisy.
``dashboard`` (a browser and a class of tabs, about 3 minutes) runs only when named.
``--base PATH`` (or ``BENCH_BASE=PATH``): a checkout of older code that ``bench_model`` times
beside this one, as ratios.
"""

import argparse
import importlib
import os
import pkgutil
import platform
import sys
from pathlib import Path

import numpy as np

#: Benchmarks run only when named: they need a browser and take minutes.
ON_REQUEST = {"bench_dashboard"}


def main(names: list[str]) -> None:
    """Run the named benchmark modules, or all of them."""
    here = Path(__file__).parent
    found = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    chosen = [n for n in found if n.removeprefix("bench_") in names or n in names]
    if not names:
        chosen = [n for n in found if n not in ON_REQUEST]
    print(
        f"machine: {platform.processor() or platform.machine()}, {platform.python_version()}, numpy {np.__version__}"
    )
    for name in chosen:
        print(f"\n== {name} ==")
        importlib.import_module(f"benchmarks.{name}").main()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all but dashboard)")
    parser.add_argument("--base", help="a checkout of older code to compare with (bench_model)")
    args = parser.parse_args(sys.argv[1:])
    if args.base:
        os.environ["BENCH_BASE"] = args.base
    main(args.names)
