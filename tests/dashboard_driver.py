"""Drive the classroom dashboard in Debian's Chromium: start it, load it, press its buttons.

Used by tests/test_dashboard_browser.py, and run as a script to take the screenshots in
docs/img/ for docs/teaching.md::

    .venv/bin/python tests/dashboard_driver.py docs/img
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Offline for real: any name but this machine's fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
]
ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.toml"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
MAIN_IMAGES = "main img, main svg, main canvas"
QUARTER = re.compile(r"(\d+) of \d+ quarters simulated")
# A JavaScript predicate: the page shows the text ``t`` and a model at quarter 0.
AT_QUARTER_ZERO = (
    r"t => document.body.innerText.includes(t)"
    r" && /\b0 of \d+ quarters simulated/.test(document.body.innerText)"
)
FAILURE = re.compile(r"Quarter \d+: Outsourcer \S+ collapsed, \d+ contracts? disrupted")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_dashboard(log: Path, scenario: Path = BASELINE, timeout: float = 60.0) -> Iterator[str]:
    """Start ``commsim dashboard`` on a free port, its output into ``log``; yield its address;
    stop it afterwards."""
    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sim", "dashboard", str(scenario), "--port", str(port)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the dashboard did not start: " + log.read_text()) from None
                time.sleep(0.3)
        first = log.read_text().splitlines()[0]
        if first != f"Dashboard: {url.rstrip('/')}":
            raise RuntimeError(f"commsim dashboard printed {first!r}")
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@contextmanager
def browser_page(url: str, requests: list[str]) -> Iterator[Any]:
    """A Chromium page on ``url``, recording the URL of every request and websocket."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.on("request", lambda r: requests.append(r.url))
            page.on("websocket", lambda ws: requests.append(ws.url))
            page.goto(url)
            wait_for_main_images(page)
            yield page
        finally:
            browser.close()


def external_requests(urls: list[str]) -> list[str]:
    """The URLs that went to a host other than this machine (blob: and data: stay local)."""
    out = []
    for url in urls:
        parsed = urlparse(url)
        if parsed.scheme in ("blob", "data"):
            continue
        if parsed.hostname not in LOCAL_HOSTS:
            out.append(url)
    return out


def main_images(page: Any) -> list[dict[str, float]]:
    """Size of every image, SVG and canvas in the main area (not the sidebar)."""
    return page.eval_on_selector_all(
        MAIN_IMAGES,
        """els => els.map(e => {
            const r = e.getBoundingClientRect();
            return {tag: e.tagName, width: r.width, height: r.height,
                    loaded: e.tagName !== 'IMG' || (e.complete && e.naturalWidth > 0)};
        })""",
    )


def wait_for_main_images(page: Any, count: int = 5, timeout: float = 60_000) -> None:
    """Wait until ``count`` loaded images of at least 200x150 px are in the main area."""
    page.wait_for_function(
        """([sel, n]) => [...document.querySelectorAll(sel)].filter(e => {
            const r = e.getBoundingClientRect();
            return r.width >= 200 && r.height >= 150 && (e.tagName !== 'IMG' || e.naturalWidth > 0);
        }).length >= n""",
        arg=[MAIN_IMAGES, count],
        timeout=timeout,
    )


def quarter(page: Any) -> int:
    """The quarter counter the page shows."""
    match = QUARTER.search(page.inner_text("body"))
    if not match:
        raise AssertionError("the page shows no quarter counter")
    return int(match.group(1))


def image_sources(page: Any) -> list[str]:
    """The ``src`` of every image in the main area (a re-drawn figure gets a new one)."""
    return page.eval_on_selector_all("main img", "els => els.map(e => e.src)")


def step(page: Any) -> float:
    """Press Step; return the seconds until the counter moved and every plot was re-drawn."""
    before_q, before_src = quarter(page), image_sources(page)
    start = time.perf_counter()
    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function(
        """([n, old]) => {
            const text = document.body.innerText;
            const m = text.match(/(\\d+) of \\d+ quarters simulated/);
            const src = [...document.querySelectorAll('main img')].map(e => e.src);
            const loaded = [...document.querySelectorAll('main img')].every(e => e.complete);
            // every plot gains a point; the map may be unchanged (e.g. after the first quarter)
            const plots = src.slice(1).every((s, i) => s !== old[i + 1]);
            return m && Number(m[1]) === n + 1 && loaded && plots;
        }""",
        arg=[before_q, before_src],
        timeout=20_000,
    )
    return time.perf_counter() - start


def collapse(page: Any) -> str:
    """Press "Collapse the largest outsourcer now"; return the failure line the page shows."""
    page.get_by_role("button", name="Collapse the largest outsourcer now").click()
    page.wait_for_function(
        "re => new RegExp(re).test(document.body.innerText)", arg=FAILURE.pattern, timeout=20_000
    )
    return FAILURE.search(page.inner_text("body")).group(0)


def screenshot_main(page: Any, path: Path | None = None) -> bytes:
    """A PNG of the main area."""
    return page.locator("main").screenshot(path=path)


def nudge_slider(page: Any, label: str, presses: int) -> None:
    """Move the slider whose label starts with ``label`` by ``presses`` steps (arrow keys)."""
    slider = page.locator(".v-input__slider", has_text=label).get_by_role("slider")
    slider.focus()
    for _ in range(abs(presses)):
        slider.press("ArrowRight" if presses > 0 else "ArrowLeft")


def reset(page: Any, running: str) -> None:
    """Press Reset; wait until the new model runs with ``running`` in its lever line."""
    page.get_by_role("button", name="Reset", exact=True).click()
    page.wait_for_function(
        AT_QUARTER_ZERO,
        arg=running,
        timeout=20_000,
    )


def pick_scenario(page: Any, name: str, running: str) -> None:
    """Pick a scenario file in the picker; wait until its model runs, at quarter 0."""
    page.locator(".v-select", has_text="Scenario").click()
    page.get_by_role("option", name=name, exact=True).click()
    page.wait_for_function(
        AT_QUARTER_ZERO,
        arg=running,
        timeout=20_000,
    )
    wait_for_main_images(page)


def take_doc_screenshots(out: Path) -> None:
    """The screenshots docs/teaching.md shows, from the running page (one per activity)."""
    out.mkdir(parents=True, exist_ok=True)
    requests: list[str] = []
    log = out / ".dashboard.log"
    with running_dashboard(log) as url, browser_page(url, requests) as page:
        page.set_viewport_size({"width": 1500, "height": 1330})
        page.wait_for_timeout(1000)
        page.screenshot(path=out / "activity1-start.png")
        for _ in range(20):
            step(page)
        page.screenshot(path=out / "activity1-quarter-20.png")
        reset(page, "social value weight 0.1")
        for _ in range(12):
            step(page)
        collapse(page)
        page.wait_for_timeout(1500)
        page.screenshot(path=out / "activity2-collapse.png")
        for _ in range(8):
            step(page)
        page.screenshot(path=out / "activity2-after.png")
        nudge_slider(page, "Social value weight", 20)
        nudge_slider(page, "Local preference", 20)
        page.get_by_text("Support programme (yes/no)").click()
        reset(page, "social value weight 0.3, local preference 0.2")
        for _ in range(20):
            step(page)
        page.screenshot(path=out / "activity3-quarter-20.png")
    log.unlink()
    bad = external_requests(requests)
    if bad:
        raise SystemExit(f"the page reached outside the machine: {bad}")


if __name__ == "__main__":
    take_doc_screenshots(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img"))
