"""Drive the classroom dashboard in Debian's Chromium: start it, load it, press its buttons.

Used by tests/test_dashboard_browser.py and benchmarks/bench_dashboard.py, and run as a script
to take the screenshots in docs/img/ for docs/teaching.md::

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
#: The projector the page is laid out for.
PROJECTOR = {"width": 1280, "height": 720}
CHARTS = ".commsim-chart"
QUARTER = re.compile(r"(\d+) of (\d+)\b")
FAILURE = re.compile(
    r"Quarter \d+: Outsourcer \S+ \(private outsourcer\) collapsed, \d+ contracts? disrupted"
)
# JavaScript: the quarter monitor's number, and whether every chart has drawn quarter n.
SHOWS_QUARTER = """n => {
    const q = document.querySelector('.commsim-quarter .value');
    const charts = [...document.querySelectorAll('.commsim-chart')];
    return q && q.innerText.startsWith(n + ' of ') && charts.length === 5
        && charts.every(c => c.dataset.quarter === String(n) && c.querySelector('canvas'));
}"""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_dashboard(
    log: Path, scenario: Path = BASELINE, timeout: float = 60.0, pids: list[int] | None = None
) -> Iterator[str]:
    """Start ``commsim dashboard`` on a free port, its output into ``log``; yield its address;
    stop it afterwards. The server's process id is appended to ``pids`` if given."""
    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sim", "dashboard", str(scenario), "--port", str(port)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    if pids is not None:
        pids.append(proc.pid)  # commsim becomes the server (exec): the same process
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
def browser_page(
    url: str, requests: list[str], viewport: dict[str, int] = PROJECTOR
) -> Iterator[Any]:
    """A Chromium page on ``url`` at ``viewport`` (default 1280x720), recording the URL of
    every request and websocket; returns once the map and the four plots are drawn."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=viewport, accept_downloads=True)
            page.on("request", lambda r: requests.append(r.url))
            page.on("websocket", lambda ws: requests.append(ws.url))
            open_page(page, url)
            yield page
        finally:
            browser.close()


def open_page(page: Any, url: str, timeout: float = 60_000) -> None:
    """Load the dashboard in ``page``; wait until its charts show quarter 0."""
    page.goto(url)
    page.wait_for_function(SHOWS_QUARTER, arg=0, timeout=timeout)


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


#: axe-core (MPL-2.0, tests/vendor/axe-core-LICENSE), vendored so the check runs offline.
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"


def accessibility_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")):
    """The WCAG 2.1 A and AA violations axe-core finds on the page as it stands, of the given
    impacts: a list of (rule id, help, [the offending elements' selectors])."""
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        """async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a',
            'wcag21aa']})).violations.map(v => [v.id, v.impact, v.help,
            v.nodes.map(n => n.target.join(' '))])"""
    )
    return [(rule, help_, nodes) for rule, impact, help_, nodes in found if impact in impacts]


def quarter(page: Any) -> int:
    """The quarter the page shows (its one quarter count)."""
    match = QUARTER.match(page.inner_text(".commsim-quarter .value"))
    if not match:
        raise AssertionError("the page shows no quarter count")
    return int(match.group(1))


def horizon(page: Any) -> int:
    """The quarters in the running model's run."""
    return int(QUARTER.match(page.inner_text(".commsim-quarter .value")).group(2))


def wait_for_quarter(page: Any, n: int, timeout: float = 20_000) -> None:
    """Wait until the quarter count and every chart show quarter ``n``."""
    page.wait_for_function(SHOWS_QUARTER, arg=n, timeout=timeout)


def step(page: Any) -> float:
    """Press Step; return the seconds until the count moved and every chart drew the quarter."""
    before = quarter(page)
    start = time.perf_counter()
    page.get_by_role("button", name="Step", exact=True).click()
    wait_for_quarter(page, before + 1)
    return time.perf_counter() - start


def collapse(page: Any) -> str:
    """Press "Collapse the largest outsourcer now"; return the failure line the log shows."""
    page.get_by_role("button", name="Collapse the largest outsourcer now").click()
    page.wait_for_function(
        "re => new RegExp(re).test(document.querySelector('.commsim-log').innerText)",
        arg=FAILURE.pattern,
        timeout=20_000,
    )
    return FAILURE.search(event_log(page)).group(0)


def event_log(page: Any) -> str:
    """The event log's text."""
    return page.inner_text(".commsim-log")


def screenshot(page: Any, path: Path | None = None) -> bytes:
    """A PNG of the whole page."""
    return page.screenshot(path=path)


def lever_text(page: Any, label: str) -> str:
    """The text of the lever whose label starts with ``label``: name, number, "press Reset"."""
    return page.locator(".commsim-lever .name", has_text=label).inner_text()


def wait_for_lever(page: Any, label: str, text: str) -> None:
    """Wait until the lever whose label starts with ``label`` shows ``text``."""
    from playwright.sync_api import expect

    expect(page.locator(".commsim-lever .name", has_text=label)).to_contain_text(
        text, timeout=20_000
    )


def lever_number(page: Any, label: str) -> str:
    """The number the lever whose label starts with ``label`` shows."""
    return page.locator(".commsim-lever .name", has_text=label).locator(".num").inner_text()


def nudge_slider(page: Any, label: str, presses: int) -> None:
    """Move the slider whose label starts with ``label`` by ``presses`` steps (arrow keys),
    one press at a time, each shown on the page before the next (on a loaded machine a press
    sent while the page was still re-drawing could be lost)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    slider = page.locator(".commsim-lever", has_text=label).get_by_role("slider")
    key = "ArrowRight" if presses > 0 else "ArrowLeft"
    for _ in range(abs(presses)):
        before = lever_number(page, label)
        for _attempt in range(3):
            slider.focus()
            slider.press(key)
            try:
                page.wait_for_function(
                    """([label, before]) => [...document.querySelectorAll('.commsim-lever')]
                        .some(e => e.innerText.startsWith(label)
                              && e.querySelector('.num').innerText !== before)""",
                    arg=[label, before],
                    timeout=5_000,
                )
                break
            except PlaywrightTimeout:  # the press was lost: press again
                continue
        else:
            raise AssertionError(f"the {label} slider does not move from {before}")


def confirm_discard(page: Any) -> None:
    """Answer "Discard and start again" in the dialog that asks before a run is thrown away."""
    page.get_by_role("button", name="Discard and start again").click()


def reset(page: Any) -> None:
    """Press Reset (confirming if a run is under way); wait for the new model, built with the
    levers as set, at quarter 0."""
    started = quarter(page) > 0
    page.get_by_role("button", name="Reset: start again with these levers").click()
    if started:
        confirm_discard(page)
    # The new model runs with every lever as set: none says "press Reset" any more.
    page.wait_for_function(
        "() => !document.querySelector('.commsim-side').innerText.includes('press Reset')",
        timeout=20_000,
    )
    wait_for_quarter(page, 0)


def pick_scenario(page: Any, name: str) -> None:
    """Pick a scenario file in the picker (confirming if a run is under way); wait until its
    model is drawn at quarter 0."""
    started = quarter(page) > 0
    page.get_by_label("Scenario").select_option(name)
    if started:
        confirm_discard(page)
    page.wait_for_function(
        "name => document.querySelector('.commsim-picker select').value === name",
        arg=name,
        timeout=20_000,
    )
    wait_for_quarter(page, 0)


def run_to(page: Any, n: int) -> None:
    """Type ``n`` into "Run to quarter", press it, wait for quarter ``n``."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.get_by_label("Quarter to run to")
    button = page.get_by_role("button", name=f"Run to quarter {n}", exact=True)
    # The button names the quarter once the server has it: no race with the typing. Typing
    # while the page re-draws can be lost on a loaded machine: type again.
    for _attempt in range(3):
        box.fill("")
        box.type(str(n))
        try:
            button.wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            continue
    button.click()
    wait_for_quarter(page, n)


def layout(page: Any) -> dict[str, Any]:
    """Where the map, the plots and the page's scrollable size are, in CSS pixels."""
    return page.evaluate(
        """() => ({
            scroll: [document.documentElement.scrollWidth, document.documentElement.scrollHeight],
            body: [document.body.scrollWidth, document.body.scrollHeight],
            window: [window.innerWidth, window.innerHeight],
            charts: [...document.querySelectorAll('.commsim-chart')].map(c => {
                const r = c.getBoundingClientRect();
                return [r.left, r.top, r.right, r.bottom];
            }),
        })"""
    )


#: Deuteranopia (no green cones), Machado, Oliveira and Fernandes (2009), severity 1, applied
#: to linear RGB.
DEUTERANOPIA = (
    (0.367322, 0.860646, -0.227968),
    (0.280085, 0.672501, 0.047413),
    (-0.011820, 0.042940, 0.968881),
)


def deuteranopia(src: Path, dst: Path) -> None:
    """Write ``dst``: the screenshot ``src`` as a viewer with deuteranopia would see it."""
    import numpy as np
    from PIL import Image

    rgb = np.asarray(Image.open(src).convert("RGB"), dtype=float) / 255
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    seen = np.clip(linear @ np.array(DEUTERANOPIA).T, 0, 1)
    srgb = np.where(seen <= 0.0031308, 12.92 * seen, 1.055 * seen ** (1 / 2.4) - 0.055)
    Image.fromarray((srgb * 255).round().astype(np.uint8)).save(dst)


def take_doc_screenshots(out: Path) -> None:
    """The screenshots docs/teaching.md shows, from the running page at 1280x720, following
    its three activities."""
    out.mkdir(parents=True, exist_ok=True)
    requests: list[str] = []
    log = out / ".dashboard.log"
    with running_dashboard(log) as url, browser_page(url, requests) as page:
        page.wait_for_timeout(500)
        screenshot(page, out / "activity1-start.png")
        for _ in range(5):
            step(page)
        run_to(page, 20)
        page.wait_for_timeout(500)
        screenshot(page, out / "activity1-quarter-20.png")
        reset(page)
        run_to(page, 12)
        collapse(page)
        page.wait_for_timeout(800)
        screenshot(page, out / "activity2-collapse.png")
        deuteranopia(out / "activity2-collapse.png", out / "activity2-collapse-deuteranopia.png")
        run_to(page, 20)
        page.wait_for_timeout(500)
        screenshot(page, out / "activity2-after.png")
        nudge_slider(page, "Social value weight", 20)
        nudge_slider(page, "Local preference", 20)
        page.locator(".commsim-lever", has_text="Support programme").get_by_role("checkbox").check(
            force=True
        )
        page.wait_for_timeout(500)
        screenshot(page, out / "activity3-levers.png")
        reset(page)
        run_to(page, 20)
        page.wait_for_timeout(500)
        screenshot(page, out / "activity3-quarter-20.png")
    log.unlink()
    bad = external_requests(requests)
    if bad:
        raise SystemExit(f"the page reached outside the machine: {bad}")


if __name__ == "__main__":
    take_doc_screenshots(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img"))
