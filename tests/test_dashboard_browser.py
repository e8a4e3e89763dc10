"""The classroom dashboard in a real browser at 1280x720: a lesson's path through the page.

Starts ``commsim dashboard scenarios/baseline.toml`` on a free port and drives Debian's
Chromium through Playwright (.ci/run installs it). Prints the Step latencies it measured and
writes them to dashboard_step_latency.json in the test's own temporary folder (never into the
checkout's results/, which is the user's).
"""

from __future__ import annotations

import json
import re
import statistics
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from sim.dashboard.levers import lever_values, levers, scenario_files
from tests.dashboard_driver import (
    CHROMIUM,
    PROJECTOR,
    QUARTER,
    accessibility_violations,
    browser_page,
    collapse,
    event_log,
    external_requests,
    horizon,
    layout,
    lever_text,
    nudge_slider,
    pick_scenario,
    quarter,
    reset,
    run_to,
    running_dashboard,
    step,
    wait_for_lever,
    wait_for_quarter,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"{CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium)",
    ),
]

SVW = "Social value weight"


def assert_fits_the_projector(page) -> None:
    """No scrolling at 1280x720, and the map and the four plots wholly on screen."""
    box = layout(page)
    width, height = PROJECTOR["width"], PROJECTOR["height"]
    assert box["window"] == [width, height]
    assert box["scroll"][0] <= width and box["scroll"][1] <= height, box
    assert len(box["charts"]) == 5
    for left, top, right, bottom in box["charts"]:
        assert left >= 0 and top >= 0 and right <= width and bottom <= height, box
        assert right - left >= 200 and bottom - top >= 150, box  # big enough to read
    map_left, _, map_right, _ = box["charts"][0]
    assert map_right - map_left >= 0.4 * width  # the map takes about half the width


def test_a_lesson_in_the_browser(tmp_path: Path) -> None:
    requests: list[str] = []
    log = tmp_path / "dashboard.log"
    with running_dashboard(log) as url, browser_page(url, requests) as page:
        assert page.title() == "commsim: the classroom dashboard"
        assert_fits_the_projector(page)
        # WCAG 2.1 AA basics, checked by axe-core offline: named controls, language, zoom...
        assert not accessibility_violations(page), accessibility_violations(page)
        assert page.get_by_role("status").inner_text().endswith("0 of 80")  # read out live
        assert page.get_by_role("img", name=re.compile("^Map of 150 councils")).count() == 1
        # Escape closes a dialog wherever the focus is.
        page.get_by_role("button", name="About this model").click()
        expect(page.get_by_text("What it is")).to_be_visible()
        page.locator("body").press("Escape")
        expect(page.get_by_text("What it is")).to_be_hidden()
        # Each lever shows its number as text.
        baseline = lever_values(scenario_files()["baseline.toml"])
        for lever in levers():
            shown = lever_text(page, lever.label)
            assert shown.startswith(f"{lever.label}: {lever.show(baseline[lever.key])}"), shown
        # One quarter count on the whole page.
        assert len(QUARTER.findall(page.inner_text("body"))) == 1
        assert quarter(page) == 0 and horizon(page) == 80

        latencies = [step(page) for _ in range(5)]
        assert quarter(page) == 5
        line = collapse(page)
        assert line.startswith("Quarter 5: Outsourcer")
        # Every press is logged with its quarter, however fast they come.
        for _ in range(3):
            page.get_by_role("button", name="Cost shock now (+10%)").click()
        page.wait_for_function(
            "() => document.querySelector('.commsim-log').innerText"
            ".split('shock pressed: cost shock').length === 4",
            timeout=20_000,
        )
        text = event_log(page)
        assert text.count("Quarter 5: shock pressed: cost shock") == 3
        assert "Quarter 5: shock pressed: collapse of the largest outsourcer" in text
        latencies.append(step(page))
        assert len(QUARTER.findall(page.inner_text("body"))) == 1

        # A lever moved during the run applies from the next quarter and says so in the log.
        nudge_slider(page, SVW, 5)
        page.wait_for_function(
            "() => document.querySelector('.commsim-log').innerText"
            ".includes('Quarter 6: social value weight 10% -> 15%')",
            timeout=20_000,
        )
        assert "press Reset" not in page.inner_text(".commsim-side")
        latencies.append(step(page))

        # The CSV says how the run was made (the lever moved among it) and what it holds.
        with page.expect_download() as download:
            page.get_by_role("button", name="CSV", exact=True).click()
        assert download.value.suggested_filename.startswith("baseline-q7-social_value_weight0.15-")
        csv_text = Path(download.value.path()).read_text()
        assert "#   Quarter 6: social value weight 10% -> 15%" in csv_text
        assert "#   share_outsourcer (%): " in csv_text
        with page.expect_download() as download:
            page.get_by_role("button", name="PNG", exact=True).click()
        assert Path(download.value.path()).read_bytes()[:4] == b"\x89PNG"

        # The run lives in its link: another tab (or a reload) on it shows the same run, the
        # shocks and the lever moved at their quarters.
        page.wait_for_function("() => location.search.includes('quarter=7')")
        other = page.context.browser.new_page(viewport=PROJECTOR)
        other.goto(page.url)
        wait_for_quarter(other, 7)
        assert event_log(other) == event_log(page)
        assert lever_text(other, SVW).endswith("0.15")
        other.close()

        # Reset starts again from quarter 0 with the levers as they are now.
        reset(page)
        assert lever_text(page, SVW).endswith("0.15")
        assert "press Reset" not in page.inner_text(".commsim-side")
        assert event_log(page) == "Nothing has happened yet."

        # Picking a scenario runs that file, with its levers in the sliders; Reset runs it
        # again with the sliders' values, never the start scenario.
        step(page)
        pick_scenario(page, "budget_cuts.toml")
        assert horizon(page) == 60
        cuts = lever_values(scenario_files()["budget_cuts.toml"])
        for lever in levers():
            assert lever_text(page, lever.label).startswith(
                f"{lever.label}: {lever.show(cuts[lever.key])}"
            )
        nudge_slider(page, "Outsourcers", -2)
        wait_for_lever(page, "Outsourcers", f"{cuts['outsourcers.count'] - 2} press Reset")
        reset(page)
        assert horizon(page) == 60 and page.get_by_label("Scenario").input_value() == (
            "budget_cuts.toml"
        )
        count = cuts["outsourcers.count"] - 2
        assert re.search(rf"Outsourcers \(providers\): {count}$", lever_text(page, "Outsourcers"))

        # Presenting: text for the back row (at least 32 px, the plots' too: the app test),
        # the page scrolls, and Reset and the shocks stay on screen wherever it is scrolled.
        page.get_by_role("button", name="Presentation mode").click()
        expect(page.locator(".commsim-big")).to_have_count(1)
        expect(page.locator(".commsim-side")).to_have_count(0)
        smallest = """() => Math.min(...[...document.querySelectorAll(
            '.commsim-monitor .label, .commsim-monitor .value, .commsim-bar .v-btn')]
            .map(e => parseFloat(getComputedStyle(e).fontSize)))"""
        page.wait_for_function(f"({smallest})() >= 31.5", timeout=10_000)
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        for name in ("Reset: start again with these levers", "Collapse the largest outsourcer now"):
            box = page.get_by_role("button", name=name).bounding_box()
            assert box and box["y"] >= 0 and box["y"] + box["height"] <= PROJECTOR["height"], box
        page.get_by_role("button", name="Show levers").click()
        expect(page.locator(".commsim-big")).to_have_count(0)

        # Run to the end: a clear message, Step and Play stop.
        run_to(page, 60)
        assert "The run is over: all 60 quarters (15 years) simulated" in page.inner_text("body")
        assert page.get_by_role("button", name="Step", exact=True).is_disabled()
        assert_fits_the_projector(page)
        assert not accessibility_violations(page), accessibility_violations(page)

        # Nothing about the host for visitors: Solara's /resourcez is off unless asked.
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "resourcez", timeout=10)
        assert refused.value.code == 404

    outside = external_requests(requests)
    assert not outside, f"the page made requests outside this machine: {outside[:5]}"
    assert any(u.startswith(url) for u in requests)
    assert any("echarts" in u for u in requests)  # the charts' code came from this machine
    # Nor did the server fetch anything for the page (Solara's CDN proxy logs each miss).
    server_log = log.read_text()
    assert "Could not load URL" not in server_log and "Traceback" not in server_log, server_log
    assert "samesite" not in server_log.lower(), server_log  # Solara's cookie warning, answered

    out = tmp_path
    record = {"step_seconds": latencies, "median_seconds": statistics.median(latencies)}
    (out / "dashboard_step_latency.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"dashboard Step latency: median {record['median_seconds']:.3f} s over {len(latencies)}")


@pytest.mark.parametrize(
    "viewport", [{"width": 768, "height": 1024}, {"width": 390, "height": 844}]
)
def test_a_tablet_and_a_phone_get_one_scrolling_column(tmp_path: Path, viewport) -> None:
    log = tmp_path / "dashboard.log"
    with running_dashboard(log) as url, browser_page(url, [], viewport=viewport) as page:
        box = layout(page)
        width = viewport["width"]
        assert box["body"][0] <= width, box  # nothing off the side
        assert len(box["charts"]) == 5
        for left, top, right, bottom in box["charts"]:  # full width, stacked, big enough
            assert left >= 0 and right <= width and right - left >= 0.9 * (width - 30), box
            assert bottom - top >= 250, box
        tops = [top for _, top, _, _ in box["charts"]]
        assert tops == sorted(tops) and box["body"][1] > viewport["height"]  # it scrolls
        # Every control can be reached and used.
        step(page)
        collapse(page)
        reset(page)
        assert quarter(page) == 0
        expect(page.get_by_text("Discard this run?")).to_be_hidden()  # not mid-fade for axe
        assert not accessibility_violations(page), accessibility_violations(page)


def test_a_restarted_server_rebuilds_a_run_from_its_link(tmp_path: Path) -> None:
    with running_dashboard(tmp_path / "a.log") as url, browser_page(url, []) as page:
        step(page)
        step(page)
        collapse(page)
        step(page)
        page.wait_for_function("() => location.search.includes('quarter=3')")
        query, log = page.url.split("?", 1)[1], event_log(page)
    with running_dashboard(tmp_path / "b.log") as url, browser_page(url, []) as page:
        page.goto(f"{url}?{query}")
        wait_for_quarter(page, 3)
        assert event_log(page) == log and "collapsed" in log


def test_a_page_offline_for_a_minute_carries_on_with_its_run(tmp_path: Path) -> None:
    with running_dashboard(tmp_path / "a.log") as url, browser_page(url, []) as page:
        step(page)
        collapse(page)
        step(page)
        log = event_log(page)
        page.evaluate("window.samePage = true")  # gone if the page were loaded again
        # Wi-Fi gone for a minute: the browser offline, the page's socket dropped.
        page.context.set_offline(True)
        assert page.evaluate("solara.debug.dropConnection()")
        page.wait_for_timeout(60_000)
        assert page.evaluate("solara.debug.kernel().connectionStatus") != "connected"
        page.context.set_offline(False)
        page.wait_for_function(
            "() => solara.debug.kernel().connectionStatus === 'connected'", timeout=20_000
        )
        # The same page on the same run: nothing rebuilt, nothing lost, and it still steps.
        assert page.evaluate("window.samePage") is True
        assert quarter(page) == 2 and event_log(page) == log
        step(page)
        assert quarter(page) == 3
