"""What ``solara run sim.dashboard.app`` serves: the classroom dashboard's page and layout.

Run it with ``commsim dashboard [SCENARIO.toml]`` (or ``solara run sim.dashboard.app`` with
``COMMSIM_SCENARIO`` naming the file). The page is :func:`sim.dashboard.page.Page`; this module
only names it for Solara, frees a closed tab's memory, and (imported by the server as it
starts, before it answers anyone) tells visitors nothing about the host: Solara's
``/resourcez`` page is taken off unless ``COMMSIM_RESOURCEZ=1``.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections.abc import Callable

import solara  # first: without Solara the CLI names the extra, "solara"
import solara.lab

from sim.dashboard import RESOURCEZ_ENV, SCENARIO_ENV
from sim.dashboard.controller import release_memory
from sim.dashboard.page import Layout, Page

__all__ = ["SCENARIO_ENV", "Layout", "Page"]


@solara.lab.on_kernel_start
def _on_session() -> Callable[[], None]:
    # The returned function runs when the session is culled (a while after its tab closed),
    # before its objects are dropped: release the memory a moment later.
    return lambda: threading.Timer(2.0, release_memory).start()


def _close_resourcez() -> None:
    """Take Solara's ``/resourcez`` route (host CPU, memory, session counts) off the server
    this module is being served by, unless :data:`RESOURCEZ_ENV` asks for it."""
    server = sys.modules.get("solara.server.starlette")  # absent: not inside a server
    if server is None or os.environ.get(RESOURCEZ_ENV) == "1":
        return
    routes = server.app.router.routes
    routes[:] = [r for r in routes if getattr(r, "path", None) != "/resourcez"]


_close_resourcez()
# Solara warns (12 lines, on each first page load) that its session cookie falls back to
# SameSite=lax over plain http on an address other than "localhost". That is what a classroom
# on 127.0.0.1 or the school network wants: the page is never embedded in another site's frame.
warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
