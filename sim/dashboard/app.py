"""What ``solara run sim.dashboard.app`` serves: the classroom dashboard's page and layout.

Run it with ``commsim dashboard [SCENARIO.toml]`` (or ``solara run sim.dashboard.app`` with
``COMMSIM_SCENARIO`` naming the file). The page is :func:`sim.dashboard.page.Page`; this module
only names it for Solara and frees a closed tab's memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import solara.lab

from sim.dashboard import SCENARIO_ENV
from sim.dashboard.controller import release_memory
from sim.dashboard.page import Layout, Page

__all__ = ["SCENARIO_ENV", "Layout", "Page"]


@solara.lab.on_kernel_start
def _on_session() -> Callable[[], None]:
    # The returned function runs when the session is culled (a while after its tab closed),
    # before its objects are dropped: release the memory a moment later.
    return lambda: threading.Timer(2.0, release_memory).start()
