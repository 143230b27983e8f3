"""The --perf-html report: one offline page per session, worst first, escaped, accessible.

A session of the simulated model is saved and then compared with an injected regression; the
page it writes is checked as text and, where Chromium is available, opened in it.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import browser as browser_kit
import pytest
from fakes import INI, simulated_suite

from pytest_perfbaseline.reports.html_report import page_data, render_html
from pytest_perfbaseline.reports.json_report import report_from_dict

browser = browser_kit.browser

EVIL = '</script><script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'

SUITE = (
    simulated_suite(jitter=0.02)
    + """


@pytest.mark.perf(rounds=8, warmup=0)
def test_chat(perf):
    perf(lambda: list(perf.stream(llm.stream, "hi", max_tokens=12, format="openai")))


calm = SimulatedModel(ttft_s=0.030, itl_s=0.004, jitter=0.02, jitter_seed=None, sleep=clock.sleep)


@pytest.mark.perf(rounds=8, warmup=0)
def test_agent(perf):
    def run():
        with perf.phase("plan"), perf.agent("planner"):
            list(perf.stream(calm.stream, "plan", max_tokens=6, format="openai", name="planner"))
        with perf.phase("write"), perf.agent("writer"):
            perf.record_usage("claude-haiku-4-5", 40, 20)

    perf(run)


@pytest.mark.parametrize("name", [EVIL_ID])
@pytest.mark.perf(rounds=6, warmup=0)
def test_awkward(perf, name):
    perf(lambda: perf.record_usage("gpt-4o-mini", 100, 20))
"""
).replace("EVIL_ID", repr(EVIL))


def _inner_env(slowdown: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "GITHUB_"))}
    env["PYTEST_ADDOPTS"] = "-p no:hypothesispytest -p no:anyio -p no:cacheprovider"
    env["PERF_TEST_SLOWDOWN"] = slowdown
    return env


@pytest.fixture(scope="module")
def session_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A save, then a compare whose test_chat got 3x slower: each run's HTML and JSON."""
    folder = tmp_path_factory.mktemp("html-session")
    (folder / "pytest.ini").write_text(INI)
    (folder / "test_suite.py").write_text(SUITE)
    runs = {"save": ("--perf-baseline=save", "1"), "compare": ("--perf-compare", "3")}
    for name, (mode, slowdown) in runs.items():
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", mode, "--perf-settle=0",
             f"--perf-html={name}.html", f"--perf-json={name}.json"],
            cwd=folder, env=_inner_env(slowdown), capture_output=True, check=False, timeout=300,
        )  # fmt: skip
    return {path.stem + path.suffix: path for path in folder.iterdir()}


@pytest.fixture(scope="module")
def compare_html(session_files: dict[str, Path]) -> Path:
    path = session_files.get("compare.html")
    if path is None:
        pytest.fail(f"the compare run wrote no HTML: {sorted(session_files)}")
    return path


# -- the page as text ---------------------------------------------------------------------------


def test_save_then_compare_write_the_page_through_pytest(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini(INI + "perf_html = from-ini.html\n")
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest("--perf-baseline=save")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*wrote the --perf-html report: from-ini.html*"])
    saved = (pytester.path / "from-ini.html").read_text()
    assert "3 perf tests measured; no comparison with a baseline" in saved

    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "3")
    result = pytester.runpytest("--perf-compare", "--perf-html=cmp.html")
    result.assert_outcomes(failed=1, passed=2)
    page = (pytester.path / "cmp.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert re.search(r"1 of 3 tests regressed: test_chat \S*ttft_s \+\d", page)


def test_headline_names_the_regression_with_its_interval(session_files: dict[str, Path]) -> None:
    document = json.loads(session_files["compare.json"].read_text())
    data = page_data(document)
    assert data["mode"] == "compare"
    first = data["tests"][0]
    assert first["id"] == "test_suite.py::test_chat"
    assert first["verdict"] == "regressed"
    assert re.fullmatch(
        r"1 of 3 tests regressed: test_chat \S*ttft_s \+[\d.]+% \(\+[\d.]+%\.\.\+[\d.]+%\); "
        r"2 unchanged\.",
        data["headline"],
    ), data["headline"]
    assert [t["verdict"] for t in data["tests"][1:]] == ["unchanged", "unchanged"]
    assert first["baseline"]["saved_at"]
    assert first["baseline"]["sessions"] == 1
    assert first["itl"]
    assert first["dist"]["ttft_s"]["values"]
    agent = next(t for t in data["tests"] if t["id"].endswith("test_agent"))
    owners = {(u["scope"], u["owner"]) for u in agent["usage"]}
    assert {("agent", "writer"), ("phase", "plan"), ("model", "claude-haiku-4-5")} <= owners


def test_worst_first_follows_the_verdict_order_then_the_size_of_the_change(
    session_files: dict[str, Path],
) -> None:
    document = json.loads(session_files["compare.json"].read_text())
    chat = next(t for t in document["tests"] if t["nodeid"].endswith("test_chat"))
    improved = copy.deepcopy(chat)
    improved["nodeid"] = "test_suite.py::test_improved"
    improved["comparison"]["verdict"] = "improved"
    bigger = copy.deepcopy(chat)
    bigger["nodeid"] = "test_suite.py::test_bigger"
    for metric in bigger["comparison"]["metrics"].values():
        if metric["ratio"]:
            metric["ratio"] *= 2
    document["tests"] = [improved, *document["tests"], bigger]
    ids = [t["id"].rsplit("::", 1)[-1] for t in page_data(document)["tests"]]
    assert ids[:3] == ["test_bigger", "test_chat", "test_improved"]


def test_untrusted_strings_never_become_markup(session_files: dict[str, Path]) -> None:
    page = session_files["compare.html"].read_text()
    assert "window.__pwned" in page  # the id is there, as data
    assert EVIL not in page
    assert "<img" not in page
    # only the page's own three scripts end: the data, the chart bundle, the kit and report
    assert page.count("</script>") == 3
    assert len(re.findall(r"<script\b[^>]*>", page)) <= 4  # the kit's docs name one


def test_the_page_needs_nothing_from_the_network(session_files: dict[str, Path]) -> None:
    page = session_files["compare.html"].read_text()
    assert "default-src 'none'" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "sourceMappingURL" not in page


def test_a_fifty_test_session_stays_under_budget(session_files: dict[str, Path]) -> None:
    document = json.loads(session_files["compare.json"].read_text())
    tests = []
    for i in range(50):
        test = copy.deepcopy(document["tests"][i % 3])
        test["nodeid"] = f"test_many.py::test_{i}"
        tests.append(test)
    document["tests"] = tests
    page = render_html(report_from_dict(document), document)
    assert len(page.encode()) < 1_500_000


def test_the_page_assets_ship_inside_the_package() -> None:
    folder = resources.files("pytest_perfbaseline.html").joinpath("static")
    names = {entry.name for entry in folder.iterdir()}
    assert {"report.js", "report.css", "kit.js", "kit.css", "chart.umd.min.js"} <= names
    assert "chart.js.LICENSE.md" in names


# -- the page in a browser ----------------------------------------------------------------------


@pytest.fixture
def page(browser: Any, compare_html: Path) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.errors = browser_kit.page_errors(page)
    page.blocked = browser_kit.no_network(page)
    page.goto(compare_html.as_uri())
    page.wait_for_selector("section.test")
    yield page
    context.close()


def _painted_pixels(page: Any, section: Any) -> int:
    """How many pixels of the section's first chart are not transparent."""
    return int(
        section.locator("canvas").first.evaluate(
            """canvas => {
                const ctx = canvas.getContext("2d");
                const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
                let painted = 0;
                for (let i = 3; i < data.length; i += 4) if (data[i]) painted++;
                return painted;
            }"""
        )
    )


@pytest.mark.browser
def test_opens_with_no_error_and_no_request(page: Any) -> None:
    page.evaluate("PerfKit.renderAll()")
    assert page.errors == []
    assert page.blocked == []
    assert "1 of 3 tests regressed" in page.locator("#headline").inner_text()
    browser_kit.screenshot(page, "html-report-compare-light")


@pytest.mark.browser
def test_every_test_has_a_drawn_chart_made_as_it_scrolls_into_view(page: Any) -> None:
    sections = page.locator("section.test")
    assert sections.count() == 3
    assert page.evaluate("PerfKit.charts().length") < page.locator("canvas").count()  # lazy
    for i in range(sections.count()):
        section = sections.nth(i)
        canvas = section.locator("canvas").first
        canvas.scroll_into_view_if_needed()
        page.wait_for_function("canvas => Chart.getChart(canvas)", arg=canvas.element_handle())
        assert _painted_pixels(page, section) > 500, section.locator("h2").inner_text()
        label = section.locator("canvas").first.get_attribute("aria-label")
        assert label
        assert "baseline" in label
    assert page.errors == []


@pytest.mark.browser
def test_the_verdict_table_starts_with_the_regression(page: Any) -> None:
    first = page.locator("section[aria-labelledby=verdicts-h] tbody tr").first
    assert "test_suite.py::test_chat" in first.inner_text()
    assert "regressed" in first.inner_text()
    first.locator("a").click()
    assert page.evaluate("location.hash") == "#t-0"
    assert "test_chat" in page.locator("#t-0 h2").inner_text()


@pytest.mark.browser
def test_a_hostile_test_id_shows_as_text_and_runs_nothing(page: Any) -> None:
    page.evaluate("PerfKit.renderAll()")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img").count() == 0
    assert EVIL in page.locator("section[aria-labelledby=verdicts-h] table").inner_text()
    assert page.errors == []


@pytest.mark.browser
def test_the_toggle_switches_between_light_and_dark(page: Any) -> None:
    background = "getComputedStyle(document.body).backgroundColor"
    light = page.evaluate(background)
    toggle = page.locator(".theme-toggle")
    assert toggle.get_attribute("aria-pressed") == "false"
    toggle.click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert toggle.get_attribute("aria-pressed") == "true"
    assert page.evaluate(background) != light
    page.evaluate("PerfKit.renderAll()")
    browser_kit.screenshot(page, "html-report-compare-dark")
    toggle.click()
    assert page.evaluate(background) == light
    assert page.errors == []


@pytest.mark.browser
def test_keyboard_reaches_the_skip_link_then_the_table_rows(page: Any) -> None:
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    focused = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.getAttribute('href') || ''"))
    assert "#t-0" in focused  # the first row's link
    page.locator(".skip-link").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


@pytest.mark.browser
def test_the_theme_follows_the_system_until_the_reader_picks_one(
    browser: Any, compare_html: Path
) -> None:
    context = browser.new_context(color_scheme="dark")
    page = context.new_page()
    errors = browser_kit.page_errors(page)
    page.goto(compare_html.as_uri())
    page.wait_for_selector("section.test")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    page.emulate_media(color_scheme="light")
    page.wait_for_function("() => document.documentElement.dataset.theme === 'light'")
    page.locator(".theme-toggle").click()  # the reader's choice outlives the system's
    page.emulate_media(color_scheme="light")
    page.reload()
    page.wait_for_selector("section.test")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert errors == []
    context.close()


# -- A/B tests ----------------------------------------------------------------------------------

AB_EVIL = "<script>window.__pwned = 3</script>"
TIMES = "\N{MULTIPLICATION SIGN}"  # how the page writes a ratio b/a

AB_SUITE = (
    simulated_suite(jitter=0.0)
    + f"""

AB_EVIL = {AB_EVIL!r}


def _workload(perf, tokens):
    def run():
        clock.sleep(0.010)  # the same simulated time on both sides: round_s unchanged
        perf.metric("answer_words", tokens, unit="words")

    return run


@pytest.mark.perf(rounds=12, warmup=0)
def test_prompt_variants(perf):
    perf.ab(_workload(perf, 32), _workload(perf, 16), labels=("long-prompt", AB_EVIL))
"""
)


@pytest.fixture(scope="module")
def ab_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run of only one A/B test: b (a hostile label) halves a's answer, exactly."""
    folder = tmp_path_factory.mktemp("html-ab")
    (folder / "pytest.ini").write_text(INI)
    (folder / "test_ab.py").write_text(AB_SUITE)
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--perf-settle=0", "--perf-html=ab.html",
         "--perf-json=ab.json"],
        cwd=folder, env=_inner_env("1"), capture_output=True, check=False, timeout=300,
    )  # fmt: skip
    path = folder / "ab.html"
    if not path.exists():
        pytest.fail("the A/B run wrote no HTML")
    return path


def test_the_headline_of_a_page_of_only_ab_tests(ab_html: Path) -> None:
    document = json.loads((ab_html.parent / "ab.json").read_text())
    data = page_data(document)
    assert data["headline"] == (
        f"A/B: test_prompt_variants: {AB_EVIL} improved against long-prompt (answer_words x0.50)."
    )
    assert AB_EVIL not in ab_html.read_text()  # escaped in the embedded data


def test_ab_tests_join_the_headline_of_perf_tests(session_files: dict[str, Path]) -> None:
    document = json.loads(session_files["compare.json"].read_text())
    document["ab"] = [_ab_record()]
    text = page_data(document)["headline"]
    assert text.startswith("1 of 3 tests regressed: test_chat")
    assert text.endswith("; A/B: test_x: new regressed against old (ttft_s x1.30).")


def _ab_record() -> dict[str, Any]:
    def metric(name: str, ratio: float, verdict: str, gated: bool) -> dict[str, Any]:
        return {"metric": name, "verdict": verdict, "gated": gated, "unit": "s",
                "higher_is_better": False, "threshold": 0.1, "pairs": 20, "a": None, "b": None,
                "ratio": ratio, "ratio_low": ratio, "ratio_high": ratio, "pvalue": 0.001,
                "alpha": 0.01, "method": "paired"}  # fmt: skip

    return {"nodeid": "t.py::test_x", "labels": ["old", "new"], "pairs": 20, "warmup": 1,
            "test_alpha": 0.01, "fail": True, "measured": True, "verdict": "regressed",
            "metrics": [metric("e2e_s", 1.01, "unchanged", True),
                        metric("ttft_s", 1.3, "regressed", True),
                        metric("round_s", 2.0, "regressed", False)]}  # fmt: skip


@pytest.mark.browser
def test_an_ab_test_renders_as_a_card_with_its_chart(browser: Any, ab_html: Path) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors = browser_kit.page_errors(page)
    blocked = browser_kit.no_network(page)
    page.goto(ab_html.as_uri())
    section = page.locator("section.ab-test")
    section.wait_for()
    assert section.count() == 1
    assert page.locator("section.test").count() == 0
    assert "1 A/B test," in page.locator(".topbar").inner_text()
    sentence = section.locator("p").first.inner_text()
    assert sentence.startswith(
        f"{AB_EVIL} improved against long-prompt: answer_words b/a {TIMES}0.500"
    )
    assert "12 pairs" in sentence
    first_row = section.locator("tbody tr").first.inner_text()
    assert first_row.startswith("answer_words")
    assert "32 words" in first_row
    assert "16 words" in first_row
    canvas = section.locator("canvas").first
    canvas.scroll_into_view_if_needed()
    page.wait_for_function("canvas => Chart.getChart(canvas)", arg=canvas.element_handle())
    assert _painted_pixels(page, section) > 500
    assert f"answer_words {TIMES}0.500" in (canvas.get_attribute("aria-label") or "")
    assert page.evaluate("window.__pwned") is None
    assert AB_EVIL in page.locator("#headline").inner_text()
    assert errors == []
    assert blocked == []
    browser_kit.screenshot(page, "html-report-ab")
    context.close()
