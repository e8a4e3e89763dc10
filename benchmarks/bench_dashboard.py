"""The dashboard with a class: Step latency for one user and with 30 tabs open (10 playing),
and the server's memory before, during and a minute after the 30 tabs close.

``python -m benchmarks dashboard`` (not part of the default run: it takes about 3 minutes and
needs Debian's Chromium). Starts ``commsim dashboard scenarios/baseline.toml`` and drives
Chromium through Playwright, server and browser on this machine. A Step's latency runs from
the click on *Step* until the page's quarter count and all five charts show the next quarter.
Memory is the server process's resident set size (RSS). Idle is measured after one tab was
opened and closed and its session freed, so that the code a page needs is loaded; the
benchmark's server frees a closed tab after 15 s (``commsim dashboard`` keeps it 5 minutes,
for a page that reconnects). Writes results/dashboard_bench.json.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sim.cli import CULL_TIMEOUT
from tests.dashboard_driver import (  # the driver lives with the tests
    CHROMIUM,
    CHROMIUM_ARGS,
    PROJECTOR,
    open_page,
    quarter,
    running_dashboard,
    step,
)
from tests.helpers import ROOT

SESSIONS = 30
PLAYING = 10
STEPS = 10
#: Seconds after the tabs close at which memory is read ("a minute after").
AFTER_CLOSE = 60.0
#: Seconds after a tab closed that the benchmark's server frees its session.
BENCH_CULL = 15.0


def rss_mib(pid: int) -> float:
    """Resident memory of process ``pid`` in MiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def load() -> float:
    """The 1-minute load average."""
    return round(os.getloadavg()[0], 2)


def steps(page: Any, n: int = STEPS) -> list[float]:
    """Latencies of ``n`` Steps on ``page``."""
    return [round(step(page), 3) for _ in range(n)]


def measure() -> dict[str, Any]:
    """Run the three phases; return the figures."""
    from playwright.sync_api import sync_playwright

    # Closed tabs are freed after BENCH_CULL (commsim dashboard keeps them CULL_TIMEOUT, for a
    # page that reconnects: the memory figures would wait minutes for nothing else).
    os.environ["SOLARA_KERNEL_CULL_TIMEOUT"] = f"{BENCH_CULL:.0f}s"
    cull = BENCH_CULL
    out: dict[str, Any] = {"sessions": SESSIONS, "playing": PLAYING, "steps": STEPS}
    out["cull_s"], out["served_cull"] = BENCH_CULL, CULL_TIMEOUT
    pids: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "dashboard.log"
        with running_dashboard(log, pids=pids) as url, sync_playwright() as p:
            pid = pids[0]
            out["rss_start_mib"] = round(rss_mib(pid), 1)
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                # 1. One user alone.
                context = browser.new_context(viewport=PROJECTOR)
                page = context.new_page()
                open_page(page, url)
                page.wait_for_timeout(1000)
                out["load_one"] = load()
                out["one_user_s"] = steps(page)
                context.close()
                time.sleep(cull + 10)  # the session is freed
                out["rss_idle_mib"] = round(rss_mib(pid), 1)
                out["load_idle"] = load()

                # 2. A class: 10 tabs, each its own session; 5 press Play.
                contexts = [browser.new_context(viewport=PROJECTOR) for _ in range(SESSIONS)]
                pages = [c.new_page() for c in contexts]
                for page in pages:
                    open_page(page, url, timeout=180_000)
                for page in pages[:PLAYING]:
                    page.get_by_role("button", name="Play", exact=True).click()
                pages[PLAYING].wait_for_timeout(3000)
                out["load_class"] = load()
                out["class_s"] = steps(pages[PLAYING])
                out["load_class_end"] = load()
                played = [quarter(page) for page in pages[:PLAYING]]
                out["played_quarters"] = played
                out["rss_class_mib"] = round(rss_mib(pid), 1)
                for context in contexts:
                    context.close()
                closed = time.monotonic()

                # 3. A minute after the tabs closed.
                time.sleep(max(AFTER_CLOSE - (time.monotonic() - closed), 0))
                out["rss_after_mib"] = round(rss_mib(pid), 1)
                out["load_after"] = load()
            finally:
                browser.close()
        out["server_errors"] = "Traceback" in log.read_text()
    return out


def main() -> None:
    """Measure and print the table; write results/dashboard_bench.json."""
    if not Path(CHROMIUM).exists():
        print(f"skipped: {CHROMIUM} is absent (apt-get install -y chromium)")
        return
    r = measure()
    one, cls = statistics.median(r["one_user_s"]), statistics.median(r["class_s"])
    r["one_user_median_s"], r["class_median_s"] = round(one, 3), round(cls, 3)
    r["rss_after_vs_idle"] = round(r["rss_after_mib"] / r["rss_idle_mib"], 3)
    print(f"{'case':<46}{'median s':>9}{'max s':>7}{'load':>6}")
    print(f"{'one user, Step':<46}{one:>9.3f}{max(r['one_user_s']):>7.2f}{r['load_one']:>6}")
    case = f"{SESSIONS} tabs open, {PLAYING} playing, Step in another"
    print(f"{case:<46}{cls:>9.3f}{max(r['class_s']):>7.2f}{r['load_class']:>6}")
    print(f"quarters the {PLAYING} playing tabs reached meanwhile: {r['played_quarters']}")
    print(f"{'server memory (RSS)':<46}{'MiB':>9}{'':>7}{'load':>6}")
    rows = [
        ("at start, no tab yet", r["rss_start_mib"], ""),
        ("idle (one tab opened, closed and freed)", r["rss_idle_mib"], r["load_idle"]),
        (f"{SESSIONS} tabs open, {PLAYING} playing", r["rss_class_mib"], r["load_class_end"]),
        (
            f"{AFTER_CLOSE:.0f} s after the {SESSIONS} tabs closed",
            r["rss_after_mib"],
            r["load_after"],
        ),
    ]
    for name, mib, avg in rows:
        print(f"{name:<46}{mib:>9.1f}{'':>7}{avg!s:>6}")
    print(f"after / idle: {r['rss_after_vs_idle']:.3f}")
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    (out / "dashboard_bench.json").write_text(json.dumps(r, indent=2) + "\n")
