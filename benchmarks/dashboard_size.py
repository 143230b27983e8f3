"""What the history dashboard costs: page size, build time, render time in headless Chromium.

Run:  python benchmarks/dashboard_size.py [--tests 100] [--runs 200]

A synthetic history of TESTS tests x RUNS runs (8 metrics, 5 rounds, a step in every tenth
test, cost by two models and an agent) is recorded through the real SQLite store; then
``perfbaseline dashboard -o`` builds the page (timed in-process), and Chromium (Playwright,
/usr/bin/chromium) opens it: time to the first chart drawn and to every visible chart drawn.
Targets: < 5 MB, renders in < 2 s. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

from dashboard_fakes import fill_history

from pytest_perfbaseline.cli import main

_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def build(location: str, out: Path) -> float:
    started = time.perf_counter()
    with redirect_stdout(io.StringIO()):
        status = main(["dashboard", "--history", location, "-o", str(out)])
    if status != 0:
        raise SystemExit(f"dashboard exited {status}")
    return time.perf_counter() - started


def render(page: Path, repeats: int) -> list[tuple[float, int]]:
    """Per repeat: seconds from navigation to every chart in view drawn, and charts drawn."""
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=_ARGS)
        for _ in range(repeats):
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            started = time.perf_counter()
            tab.goto(page.as_uri(), wait_until="load")
            tab.wait_for_function("PerfKit.charts().length >= 3")
            tab.evaluate("new Promise(r => requestAnimationFrame(() => r()))")
            times.append((time.perf_counter() - started, tab.evaluate("PerfKit.charts().length")))
            tab.close()
        browser.close()
    return times


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=100)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "history.sqlite"
        started = time.perf_counter()
        fill_history(db, tests=args.tests, runs=args.runs, step_at=args.runs * 3 // 5)
        print(
            f"history: {args.tests} tests x {args.runs} runs recorded in "
            f"{time.perf_counter() - started:.1f} s ({db.stat().st_size / 1e6:.1f} MB)"
        )
        page = Path(folder) / "dashboard.html"
        builds = [build(f"sqlite:///{db}", page) for _ in range(3)]
        print(f"page: {page.stat().st_size / 1e6:.2f} MB (target < 5 MB)")
        print(f"build: median {statistics.median(builds):.2f} s of {len(builds)}")
        try:
            times = render(page, args.repeats)
        except Exception as exc:  # no playwright, no chromium: the other figures still stand
            print(f"render: not measured ({type(exc).__name__}: {exc})")
            return
        seconds = [t for t, _ in times]
        print(
            f"render: median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s "
            f"to the charts in view drawn ({times[0][1]} charts drawn; target < 2 s)"
        )


if __name__ == "__main__":
    main_()
