"""``commsim``: run, validate, and the other subcommands.

Every kind of bad input ends the same way: one line on stderr naming the file, the field and
what is wrong, exit status 2, no traceback, and nothing written.

One module per family of commands: :mod:`sim.cli.run` (run, compare), :mod:`sim.cli.sweeps`
(sweep, replay, export, analyze), :mod:`sim.cli.files` (validate, params, examples),
:mod:`sim.cli.dashboard`; :mod:`sim.cli.common` holds what they share. This module assembles
the parser and turns every error into its one line and exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from sim.cli import dashboard, files, run, sweeps
from sim.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_WRITE_FAILED,
    EXTRAS,
    OutputError,
    check_run_cost,
    parse_set_option,
    staged_output,
)
from sim.cli.dashboard import CULL_TIMEOUT, dashboard_command, reachable_address
from sim.cli.run import write_series_csv
from sim.experiments.stopping import Stopped
from sim.inputs import InputError

#: OS errors that say a path given is unusable as a path (bad input, exit status 2), not that
#: writing failed: a name over 255 bytes, a loop of symbolic links, a file used as a folder.
PATH_ERRORS = frozenset({errno.ENAMETOOLONG, errno.ELOOP, errno.ENOTDIR})

# Each command imports what it uses inside its function: `commsim --help` loads no NumPy or
# pydantic, `validate` and `params` no model, `run` no Mesa, pandas or pyplot.

__all__ = [
    "CULL_TIMEOUT",
    "OutputError",
    "build_parser",
    "check_run_cost",
    "dashboard_command",
    "main",
    "parse_set_option",
    "reachable_address",
    "staged_output",
    "write_series_csv",
]


#: Commands whose output is what they were asked for: ``-q`` keeps it.
PRINTS_WHAT_IT_LISTS = frozenset({"params", "list", "replay"})


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see '{self.prog} --help')\n")


class _Version(argparse.Action):
    """``--version``: the version and the commit it was built from, looked up only if asked."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> NoReturn:
        from sim.version import build_commit, package_version

        commit = build_commit()
        print(f"commsim {package_version()}" + (f" (commit {commit})" if commit else ""))
        parser.exit(0)


def _add_verbosity(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("output")
    group.add_argument(
        "-v", "--verbose", action="count", default=0, help="say more (-vv: debugging detail)"
    )
    group.add_argument(
        "-q",
        "--quiet",
        action="count",
        default=0,
        help="only errors: no progress bars, notes or summaries (params and list still print)",
    )


def _configure_logging(args: argparse.Namespace) -> None:
    level = logging.WARNING + 10 * (int(args.quiet) - args.verbose)
    logging.basicConfig(
        level=max(logging.DEBUG, min(level, logging.ERROR)),
        format="%(levelname)s %(name)s: %(message)s",
    )


def _missing_extra(err: ModuleNotFoundError) -> str | None:
    """The extra to install for a module that is not there; None if it is no extra's."""
    return EXTRAS.get((err.name or "").split(".")[0])


def build_parser() -> argparse.ArgumentParser:
    """The ``commsim`` argument parser with every subcommand."""
    parser = _Parser(prog="commsim", description="Simulate public-service commissioning markets.")
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run.add_run_parser(sub)
    files.add_parsers(sub)
    dashboard.add_parser(sub)
    sweeps.add_parsers(sub)
    run.add_compare_parser(sub)
    for subparser in sub.choices.values():
        _add_verbosity(subparser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``commsim``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args)
    try:
        if args.quiet and args.command not in PRINTS_WHAT_IT_LISTS:
            # -q: only errors. The summaries, paths and notes a command prints go nowhere.
            with open(os.devnull, "w") as nowhere, contextlib.redirect_stdout(nowhere):
                return args.func(args)
        return args.func(args)
    except InputError as err:
        print(f"commsim {args.command}: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ModuleNotFoundError as err:
        extra = _missing_extra(err)
        if extra is None:
            raise
        print(
            f"commsim {args.command}: needs {err.name}, which is not installed: "
            f"pip install 'commsim[{extra}]'",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    except OutputError as err:
        print(f"commsim {args.command}: {err}", file=sys.stderr)
        return EXIT_WRITE_FAILED
    except Stopped as stop:  # raised between quarters or runs, never inside compiled code
        print(f"commsim {args.command}: stopped by {stop}; nothing was written", file=sys.stderr)
        return stop.exit_status
    except KeyboardInterrupt:
        print("commsim: interrupted", file=sys.stderr)
        return 130
    except OSError as err:
        if err.errno not in PATH_ERRORS:
            raise
        # a path no file system takes: a name over 255 bytes, a loop of links, a file as a folder
        where = f"{err.filename}: " if err.filename else ""
        print(f"commsim {args.command}: {where}{err.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # e.g. `commsim params | head`: the reader has gone, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
