"""The classroom dashboard (Solara); nothing in the model imports it.

The package is laid out by what each file holds: :mod:`~sim.dashboard.controller` (a tab's run:
the model, its lock, what the page reads of it, what was done to it), :mod:`~sim.dashboard.recipe`
(a run as the recipe its link carries), :mod:`~sim.dashboard.levers` (the controls made from
the scenario schema), :mod:`~sim.dashboard.charts` (the ECharts options),
:mod:`~sim.dashboard.export` (the CSV and PNG downloads), :mod:`~sim.dashboard.events` (the
event log's lines), :mod:`~sim.dashboard.components` (the
Solara pieces), :mod:`~sim.dashboard.page` (the page that puts them together) and
:mod:`~sim.dashboard.app` (what ``solara run`` serves); the page's CSS, HTML and Vue templates
are files in ``assets/``. Importing this package does not import Solara.
"""

import errno
import socket

#: Environment variable naming the scenario file the page starts with.
SCENARIO_ENV = "COMMSIM_SCENARIO"
#: Environment variable that, set to 1, keeps Solara's ``/resourcez`` page (host CPU, memory,
#: session counts) on: off unless asked, since anyone who can open the page could read it.
RESOURCEZ_ENV = "COMMSIM_RESOURCEZ"


def check_address(host: str, port: int) -> None:
    """Refuse, before any server starts, an address the server could not listen on.

    Binds ``host:port`` for a moment as the server will (address reuse on, as uvicorn sets
    it), so a mistyped host or a port another program holds is one clear line, not a
    server's traceback after the address was printed.

    Raises:
        InputError: the host does not resolve, is not this machine's, or the port is busy.
    """
    from sim.inputs import InputError

    try:
        family, kind, proto, _, where = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as err:
        raise InputError(f"--host {host!r}: not an address of this machine ({err})") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(where)
        except OSError as err:
            reason = "already in use" if err.errno == errno.EADDRINUSE else err.strerror
            raise InputError(
                f"--host {host} --port {port}: cannot listen there: {reason}"
            ) from None
