"""The dashboard in headless Chromium: offline, filtered, served live, in light and dark."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import browser as browser_kit
import pytest
from dashboard_fakes import fill_history, serving

from pytest_perfbaseline.history.dashboard import dashboard_data, dashboard_page
from pytest_perfbaseline.history.location import StoreLocation
from pytest_perfbaseline.history.serve import DashboardServer
from pytest_perfbaseline.history.store import HistoryStore

browser = browser_kit.browser
pytestmark = pytest.mark.browser
_WAIT_MS = 30_000  # generous for a busy machine; a pass is usually far quicker


def _page(b: Any, scheme: str = "light") -> Any:
    return b.new_page(viewport={"width": 1280, "height": 900}, color_scheme=scheme)


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dash")
    location = fill_history(folder / "history.sqlite", tests=30, runs=40, step_at=20)
    with HistoryStore.open(location) as store:
        page = dashboard_page(dashboard_data(store))
    path = folder / "dashboard.html"
    path.write_text(page, encoding="utf-8")
    return path


def _drawn(page: Any) -> int:
    return int(page.evaluate("PerfKit.charts().length"))


def _non_empty_canvases(page: Any) -> int:
    """Canvases with at least one painted pixel."""
    return int(
        page.evaluate(
            """() => [...document.querySelectorAll('.test-card canvas')].filter((c) => {
                if (!c.width) return false;
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                for (let i = 3; i < d.length; i += 4) if (d[i]) return true;
                return false;
            }).length"""
        )
    )


def _cards(page: Any) -> list[str]:
    return list(page.eval_on_selector_all(".test-card", "cs => cs.map(c => c.dataset.test)"))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_offline_page_opens_without_errors_or_network_and_draws(
    browser: Any, offline: Path, scheme: str
) -> None:
    page = _page(browser, scheme)
    errors = browser_kit.page_errors(page)
    blocked = browser_kit.no_network(page)
    page.goto(offline.as_uri())
    page.wait_for_function("() => PerfKit.charts().length >= 3", timeout=_WAIT_MS)
    assert _non_empty_canvases(page) >= 3
    assert _drawn(page) < 30  # lazily: only what is in view (and near it)
    assert page.locator(".test-card").count() == 24  # a page of them; more on request
    browser_kit.screenshot(page, f"dashboard-offline-{scheme}")
    assert errors == []
    assert blocked == []
    page.close()


def test_filters_change_what_is_shown(browser: Any, offline: Path) -> None:
    page = _page(browser)
    errors = browser_kit.page_errors(page)
    page.goto(offline.as_uri())
    page.wait_for_function("() => PerfKit.charts().length >= 1", timeout=_WAIT_MS)
    assert page.inner_text("#shown").startswith("40 of 40 runs, 30 tests")
    page.fill("#f-test", "test_reply_1")
    shown = [1, *range(10, 20)]
    assert _cards(page) == [f"tests/test_chat.py::test_reply_{i}" for i in shown]
    page.fill("#f-test", "")
    page.select_option("#f-branch", "feature/x")
    assert page.inner_text("#shown").startswith("10 of 40 runs")
    page.select_option("#f-branch", "")
    page.select_option("#f-window", "86400")
    assert page.inner_text("#shown").startswith("25 of 40 runs")  # the newest run's last day
    page.select_option("#f-metric", "ttft_s")
    page.wait_for_function("() => PerfKit.charts().length >= 1", timeout=_WAIT_MS)
    label = page.get_attribute(".test-card canvas", "aria-label")
    assert label is not None
    assert label.startswith("ttft_s of tests/test_chat.py::test_reply_0 over 25 runs")
    assert page.locator("#more").is_visible()
    page.click("#more")
    assert page.locator(".test-card").count() == 30
    assert errors == []
    page.close()


def _opened(browser: Any, path: Path, charts: int) -> tuple[Any, list[str]]:
    """A page on ``path`` once it drew ``charts`` charts, and its list of errors."""
    page = _page(browser)
    errors = browser_kit.page_errors(page)
    page.goto(path.as_uri())
    page.wait_for_function(f"() => PerfKit.charts().length >= {charts}", timeout=_WAIT_MS)
    return page, errors


def test_subtitle_names_the_store_file_not_its_folder(browser: Any, offline: Path) -> None:
    page, _ = _opened(browser, offline, 1)
    subtitle = page.inner_text("#subtitle")
    assert subtitle.startswith("history.sqlite: 40 runs, 30 tests")
    assert str(offline.parent) not in subtitle
    page.close()


def test_no_two_ticks_of_an_axis_read_alike(browser: Any, offline: Path) -> None:
    page, errors = _opened(browser, offline, 3)
    page.evaluate("PerfKit.renderAll()")
    axes = page.evaluate("() => PerfKit.charts().map((c) => c.scales.y.ticks.map((t) => t.label))")
    assert len(axes) >= 24
    for labels in axes:
        assert len(labels) >= 2
        assert len(set(labels)) == len(labels), labels
    # and the kit's formatter alone: steps of 0.02 ms around 10.1 ms
    labels = page.evaluate(
        """() => { const ticks = [0.01008, 0.0101, 0.01012].map((value) => ({ value }));
            return ticks.map((t, i) => PerfKit.tickFmt("s")(t.value, i, ticks)); }"""
    )
    assert labels == ["10.08 ms", "10.10 ms", "10.12 ms"]
    # a cost a round of a few hundred-thousandths of a dollar, steps of $0.0000005
    labels = page.evaluate(
        """() => { const ticks = [6.15e-5, 6.2e-5, 6.25e-5].map((value) => ({ value }));
            return ticks.map((t, i) => PerfKit.tickFmt("usd")(t.value, i, ticks)); }"""
    )
    assert labels == ["$0.0000615", "$0.0000620", "$0.0000625"]
    assert errors == []
    page.close()


_X_LABEL_GAPS = """() => PerfKit.charts().map((c) => {
    const x = c.scales.x;
    c.ctx.font = Chart.helpers.toFont(x.options.ticks.font).string;
    const ticks = x.ticks.map((t) => ({
        at: x.getPixelForValue(t.value), w: c.ctx.measureText(t.label).width }));
    return Math.min(...ticks.slice(1).map((t, i) => t.at - ticks[i].at - (t.w + ticks[i].w) / 2));
})"""


@pytest.mark.parametrize("apart", [60, 3600])  # seconds between runs: minutes or hours
@pytest.mark.parametrize("runs", [8, 40])
def test_time_labels_never_overlap(browser: Any, tmp_path: Path, runs: int, apart: int) -> None:
    location = fill_history(tmp_path / "history.sqlite", tests=3, runs=runs)  # an hour apart
    with HistoryStore.open(location) as store:
        data = dashboard_data(store)
    t = data["runs"]["t"]
    data["runs"]["t"] = [t[0] + (when - t[0]) * apart // 3600 for when in t]
    (tmp_path / "d.html").write_text(dashboard_page(data), encoding="utf-8")
    page, errors = _opened(browser, tmp_path / "d.html", 3)
    gaps = page.evaluate(_X_LABEL_GAPS)
    assert len(gaps) >= 3
    assert min(gaps) > 0
    assert errors == []
    page.close()


def test_charts_a_filter_change_removed_are_released(browser: Any, offline: Path) -> None:
    page, errors = _opened(browser, offline, 1)
    for _ in range(3):
        for metric in ("ttft_s", "round_s"):
            page.select_option("#f-metric", metric)
            page.evaluate("PerfKit.renderAll()")
    charts = page.evaluate("PerfKit.charts().length")
    canvases = page.evaluate("document.querySelectorAll('canvas').length")
    assert charts <= canvases  # only the charts on the page, not those of earlier filters
    assert page.evaluate("PerfKit.charts().every((c) => c.canvas.isConnected)")
    assert errors == []
    page.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[DashboardServer, StoreLocation, Path]]:
    location = fill_history(tmp_path / "history.sqlite", tests=3, runs=5)
    live = tmp_path / "live"
    with serving(location, live) as server:
        yield server, location, live


def test_served_page_shows_new_runs_and_live_progress_without_reload(
    browser: Any, served: tuple[DashboardServer, StoreLocation, Path]
) -> None:
    server, location, live = served
    page = _page(browser)
    errors = browser_kit.page_errors(page)
    page.goto(server.url)
    page.wait_for_function("() => PerfKit.charts().length >= 1", timeout=_WAIT_MS)
    assert page.inner_text("#shown").startswith("5 of 5 runs")
    page.evaluate("window.notReloaded = true")
    fill_history(Path(location.target), tests=3, runs=1, seed=7)  # a new run is recorded
    page.wait_for_function(
        "() => document.getElementById('shown').textContent.startsWith('6 of 6 runs')",
        timeout=_WAIT_MS,
    )
    live.mkdir()
    base = {"pid": os.getpid(), "host": os.uname().nodename, "session": "abc123"}
    (live / "abc123.json").write_text(
        json.dumps({**base, "total": 40, "done": 12, "failed": 1, "branch": "main",
                    "started_at": "2026-11-01T00:00:00Z", "current": "tests/t.py::test_<b>"})
    )  # fmt: skip
    (live / "abc123-gw1.json").write_text(
        json.dumps({**base, "worker": "gw1", "current": "tests/t.py::test_long", "round": 7,
                    "rounds": 20, "warmup": False})
    )  # fmt: skip
    page.wait_for_selector("#live:not([hidden])", timeout=_WAIT_MS)
    text = page.inner_text("#live")
    assert "12 of 40 tests done, 1 failed" in text
    assert "gw1: tests/t.py::test_long round 7/20" in text
    assert "tests/t.py::test_<b>" in text  # as text, never markup
    assert page.evaluate("window.notReloaded") is True
    browser_kit.screenshot(page, "dashboard-served-live")
    page.click(".theme-toggle")  # light -> dark, charts redrawn
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    browser_kit.screenshot(page, "dashboard-served-live-dark")
    (live / "abc123.json").unlink()
    (live / "abc123-gw1.json").unlink()
    page.wait_for_selector("#live[hidden]", state="attached", timeout=_WAIT_MS)
    assert errors == []
    page.close()
