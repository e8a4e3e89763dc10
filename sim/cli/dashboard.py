"""``commsim dashboard``: the classroom dashboard served offline by Solara."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path
from typing import Any

from sim.cli.common import require_extra
from sim.dashboard import SCENARIO_ENV
from sim.inputs import clip

#: How long a disconnected tab's session (its run) is kept before its memory is freed: long
#: enough for a laptop that slept or a Wi-Fi drop (issue 24); a reload or a restarted server
#: rebuilds a run from its link instead.
CULL_TIMEOUT = "5m"


def dashboard_command(
    scenario: str | None, host: str, port: int
) -> tuple[list[str], dict[str, str]]:
    """The ``solara run`` command line and environment that serve the dashboard offline.

    Solara's JavaScript and CSS come from the installed ``solara-assets`` through its local
    ``/_solara/cdn`` route; telemetry and the version check (both reach the internet) are off.
    """
    env = dict(os.environ)
    env |= {
        "SOLARA_ASSETS_PROXY": "True",
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "SOLARA_THEME_SHOW_BANNER": "False",
        # A closed tab's session (its model, its page) is dropped this long after it closed,
        # not after Solara's default of a day: a class of 30 opening and closing tabs. A
        # value already in the environment wins (the dashboard benchmark frees tabs sooner).
        "SOLARA_KERNEL_CULL_TIMEOUT": os.environ.get("SOLARA_KERNEL_CULL_TIMEOUT", CULL_TIMEOUT),
    }
    # Each thread that serves a tab would get its own malloc arena, which keeps its memory
    # after the tab's session is freed: two arenas hand it back (measured in performance.md).
    env.setdefault("MALLOC_ARENA_MAX", "2")
    env.pop(SCENARIO_ENV, None)
    if scenario:
        env[SCENARIO_ENV] = str(Path(scenario).resolve())
    argv = [
        sys.executable,
        "-m",
        "solara",
        "run",
        "sim.dashboard.app",
        "--host",
        host,
        "--port",
        str(port),
    ]
    argv += ["--production", "--no-open", "--no-check-version", "--log-level", "warning"]
    return argv, env


def reachable_address(host: str) -> str:
    """The address to give students for ``host``: for 0.0.0.0 (every interface) this
    machine's address on its network, found without sending anything; else ``host``."""
    if host not in ("0.0.0.0", "::", ""):
        return host
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # a UDP "connect" only picks the route
            return s.getsockname()[0]
        except OSError:
            return socket.gethostbyname(socket.gethostname())


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Validate the scenario, print the address, then become the dashboard's server."""
    from sim.dashboard import check_address
    from sim.scenario import load_scenario

    require_extra("dashboard")  # the server is another process: its missing modules, named here
    if args.scenario:
        load_scenario(args.scenario)  # bad input: one line, exit 2, before any server starts
    argv, env = dashboard_command(args.scenario, args.host, args.port)
    check_address(args.host, args.port)  # a bad host or a busy port: one line, exit 2
    print(f"Dashboard: http://{reachable_address(args.host)}:{args.port}", flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            "Warning: anyone on this network can open this address and drive the dashboard.",
            flush=True,
        )
    print("Ctrl-C stops it.", flush=True)
    os.execve(argv[0], argv, env)
    return 0  # not reached: the server process replaces this one


def port_number(text: str) -> int:
    """A TCP port, 1 to 65535 (an argparse type: anything else is a usage error, exit 2)."""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{clip(text, 12)!r} is not a port (1 to 65535)")
    return int(text)


def add_parser(sub: Any) -> None:
    """The ``commsim dashboard`` subcommand."""
    dash = sub.add_parser("dashboard", help="the classroom dashboard in the browser (offline)")
    dash.add_argument("scenario", nargs="?", help="scenario file (TOML); default: the defaults")
    dash.add_argument("--port", type=port_number, default=8521, help="port (default 8521)")
    dash.add_argument(
        "--host",
        default="127.0.0.1",
        help="address (default 127.0.0.1: this machine only; 0.0.0.0: anyone on the network)",
    )
    dash.set_defaults(func=cmd_dashboard)
