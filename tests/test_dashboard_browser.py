"""The classroom dashboard in a real browser: it renders, it reacts, it stays offline.

Starts ``commsim dashboard scenarios/baseline.toml`` on a free port and drives Debian's
Chromium through Playwright (.ci/run installs it). Writes the Step latencies it measured to
results/dashboard_step_latency.json (docs/performance.md, "Dashboard", reports them).
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from dashboard_driver import (
    CHROMIUM,
    ROOT,
    browser_page,
    collapse,
    external_requests,
    image_sources,
    main_images,
    nudge_slider,
    pick_scenario,
    quarter,
    reset,
    running_dashboard,
    screenshot_main,
    step,
)

from sim.app import ClassroomModel, running_levers, scenario_files

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"{CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium)",
    ),
]


def test_dashboard_renders_steps_collapses_and_stays_offline(tmp_path: Path) -> None:
    requests: list[str] = []
    log = tmp_path / "dashboard.log"
    with running_dashboard(log) as url, browser_page(url, requests) as page:
        assert page.title() == "commsim: the classroom dashboard"
        # The main area shows the map and the four plots as images of real size.
        shown = [i for i in main_images(page) if i["width"] >= 200 and i["height"] >= 150]
        assert len(shown) >= 5 and all(i["loaded"] for i in shown), main_images(page)
        text = page.inner_text("body")
        for words in (
            "Collapse the largest outsourcer now",
            "Social value weight (share of score)",
        ):
            assert words.lower() in text.lower()
        assert quarter(page) == 0

        latencies = [step(page) for _ in range(5)]
        assert quarter(page) == 5
        map_before = page.locator("main img").first.screenshot()
        map_src = image_sources(page)[0]
        plots_before = screenshot_main(page)

        line = collapse(page)
        assert "Quarter 5: Outsourcer" in line
        # The map re-draws at once: the councils hit are ringed in red.
        page.wait_for_function(
            "old => document.querySelector('main img').src !== old", arg=map_src, timeout=10_000
        )
        assert page.locator("main img").first.screenshot() != map_before
        # The plots move at the next step.
        latencies.append(step(page))
        assert screenshot_main(page) != plots_before
        assert line in page.inner_text("body")

        # A lever and Reset: SolaraViz rebuilds the model from the file plus the lever.
        nudge_slider(page, "Social value weight", 5)
        reset(page, "social value weight 0.15")

        # The picker loads another file at once: a new model with that file's levers.
        other = next(n for n in scenario_files() if n != "baseline.toml")
        running = running_levers(ClassroomModel(scenario_files()[other]))
        pick_scenario(page, other, "Running with: " + running)

    outside = external_requests(requests)
    assert not outside, f"the page made requests outside this machine: {outside[:5]}"
    assert any(u.startswith(url) for u in requests)
    # Nor did the server fetch anything for the page (Solara's CDN proxy logs each miss).
    server_log = log.read_text()
    assert "Could not load URL" not in server_log and "Traceback" not in server_log, server_log

    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    record = {"step_seconds": latencies, "median_seconds": statistics.median(latencies)}
    (out / "dashboard_step_latency.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"dashboard Step latency: median {record['median_seconds']:.3f} s over {len(latencies)}")
