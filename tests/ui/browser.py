"""The browser side of the console tests: Debian's Chromium driven by Playwright, nothing downloaded, nothing sent out.

Helpers every page test uses: a signed-in page in a given locale, the check that no request left 127.0.0.1, a
screenshot in the git-ignored artefacts folder, axe-core's accessibility check and the check that a chart drew data.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = Path(os.environ.get("UI_ARTEFACTS", ROOT / "artefacts" / "screenshots"))
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
LOCAL_HOSTS = {"127.0.0.1"}
PHONE = {"width": 375, "height": 740}
DESK = {"width": 1280, "height": 900}


def browser_path() -> str | None:
    """UI_BROWSER if set, else Debian's `chromium` on the PATH (`make test` installs it; nothing is downloaded)."""
    return os.environ.get("UI_BROWSER") or shutil.which("chromium")


class Guard:
    """Lets requests to 127.0.0.1 through and aborts (and remembers) every other one."""

    def __init__(self):
        self.offsite: list[str] = []
        self.seen = 0

    def __call__(self, route) -> None:
        self.seen += 1
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about") or parts.hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.offsite.append(url)
            route.abort()


def screenshot(page, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page) -> list[dict]:
    """axe-core's critical and serious violations on the page as it is now (the vendored copy, run in the page)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("""async () => {
        const r = await window.axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [v for v in result if v["impact"] in ("critical", "serious")]


def chart_points(page, selector: str) -> int:
    """How many data points the ECharts instance in this element holds (0 if it drew nothing); its `aria` option
    must be on, so a screen reader hears a description of the chart."""
    page.wait_for_selector(f"{selector}[data-rendered]")
    points, aria = page.evaluate("""(sel) => {
        const chart = echarts.getInstanceByDom(document.querySelector(sel));
        if (!chart) return [0, false];
        const option = chart.getOption();
        return [option.series.reduce((n, s) => n + (s.data ? s.data.length : 0), 0),
                Boolean(option.aria && option.aria[0] ? option.aria[0].enabled : option.aria && option.aria.enabled)];
    }""", selector)
    assert aria, f"{selector}: ECharts aria is off"
    return points
