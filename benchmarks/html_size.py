"""Size and render time of the --perf-html page of a 50-test session.

Run:  python benchmarks/html_size.py [--tests 50] [--rounds 10] [--out report.html]

Builds a synthetic compare session as its JSON document (seeded, no clock): streams with
inter-token-latency histograms, usage by phase, agent and model, and a comparison with a
baseline (one test in ten regressed). Prints the page's bytes against the 1.5 MB budget and,
when playwright and /usr/bin/chromium are available, the time headless Chromium takes to open
it (to the first paint of the verdict table) and to draw every chart. Figures, not asserts:
on a busy machine they are the machine's as much as the page's.
"""

from __future__ import annotations

import argparse
import itertools
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from pytest_perfbaseline.reports.html_report import render_document

BUDGET = 1_500_000
CHROMIUM = "/usr/bin/chromium"
_TIMES = ("ttft_s", "tpot_s", "e2e_s", "round_s", "itl_p50_s", "itl_p95_s", "itl_max_s")
_COUNTS = ("input_tokens", "output_tokens", "api_calls")


def _metric(scope: str, owner: str | None, quantity: str, unit: str, values: list[float]) -> Any:
    ordered = sorted(values)
    median = ordered[len(ordered) // 2]
    return {
        "higher_is_better": quantity == "tokens_per_s",
        "kind": "time" if unit == "s" else "count",
        "name": [scope, owner, quantity],
        "unit": unit,
        "summary": {"median": median, "min": ordered[0], "max": ordered[-1], "n": len(values)},
    }


def _comparison(key: str, unit: str, base: float, cur: float, regressed: bool) -> Any:
    ratio = cur / base
    return {
        "alpha": 0.0005,
        "baseline_median": base,
        "current_median": cur,
        "drift": None,
        "gated": key in ("ttft_s", "tpot_s", "round_s", "cost_usd"),
        "higher_is_better": key == "tokens_per_s",
        "method": "mann-whitney exact",
        "n_baseline": 10,
        "n_current": 10,
        "pvalue": 1e-5 if regressed else 0.4,
        "ratio": ratio,
        "ratio_high": ratio * 1.05,
        "ratio_low": ratio * 0.95,
        "rounds_needed": 7,
        "threshold": 0.1,
        "unit": unit,
        "verdict": "regressed" if regressed else "unchanged",
    }


def _test(i: int, rounds: int, rng: random.Random) -> dict[str, Any]:
    slow = 1.4 if i % 10 == 3 else 1.0
    columns: dict[str, tuple[str, str | None, str, str, list[float]]] = {}
    for key in _TIMES:
        base = {"ttft_s": 0.03, "tpot_s": 0.004}.get(key, 0.2)
        columns[key] = (
            "round",
            None,
            key,
            "s",
            [base * slow * rng.uniform(0.95, 1.05) for _ in range(rounds)],
        )
    columns["tokens_per_s"] = (
        "round",
        None,
        "tokens_per_s",
        "tok/s",
        [rng.uniform(240, 260) / slow for _ in range(rounds)],
    )
    for agent in ("planner", "writer", "critic"):
        columns[f"{agent}.ttft_s"] = (
            "stream",
            agent,
            "ttft_s",
            "s",
            [0.03 * slow * rng.uniform(0.95, 1.05) for _ in range(rounds)],
        )
        for quantity in (*_COUNTS, "cost_usd"):
            unit = "usd" if quantity == "cost_usd" else "tokens"
            columns[f"agent.{agent}.{quantity}"] = (
                "agent",
                agent,
                quantity,
                unit,
                [rng.uniform(1, 50)] * rounds,
            )
    for model in ("gpt-4o-mini", "claude-haiku-4-5"):
        columns[f"model.{model}.cost_usd"] = (
            "model",
            model,
            "cost_usd",
            "usd",
            [rng.uniform(1e-5, 1e-4)] * rounds,
        )
    metrics = {key: _metric(*spec[:4], spec[4]) for key, spec in columns.items()}
    rows = [{key: spec[4][r] for key, spec in columns.items()} for r in range(rounds)]
    compared = {
        key: _comparison(key, spec[3], metrics[key]["summary"]["median"] / slow,
                         metrics[key]["summary"]["median"], slow > 1 and spec[3] == "s")
        for key, spec in columns.items() if spec[0] in ("round", "stream")
    }  # fmt: skip
    edges = [0.002 * 1.26**k for k in range(16)]
    return {
        "nodeid": f"tests/test_agents.py::test_pipeline[case-{i}]",
        "outcome": "failed" if slow > 1 else "passed",
        "metrics": metrics,
        "rounds": rows,
        "itl_histogram": [[lo, hi, rng.randint(0, 400)] for lo, hi in itertools.pairwise(edges)],
        "itl_pooled": {"p50": 0.004, "p95": 0.006, "max": 0.01, "n": 4000},
        "comparison": {
            "verdict": "regressed" if slow > 1 else "unchanged",
            "baseline_age_s": 86400.0 * 3,
            "baseline_origin": "main@1a2b3c4, profile linux-x86_64-8cpu",
            "baseline_saved_at": "2026-01-01T00:00:00Z",
            "baseline_sessions": 3,
            "stale": False,
            "metrics": compared,
        },
    }


def synthetic_document(tests: int, rounds: int, seed: int = 1) -> dict[str, Any]:
    """A compare session's JSON document with ``tests`` tests of ``rounds`` rounds."""
    rng = random.Random(seed)
    items = [_test(i, rounds, rng) for i in range(tests)]
    counts = {
        v: 0 for v in ("regressed", "undecided", "improved", "inconclusive", "unchanged", "new")
    }
    for item in items:
        counts[item["comparison"]["verdict"]] += 1
    return {
        "created_at": "2026-01-04T00:00:00Z",
        "environment": {"python": "3.12.0", "system": "linux", "cores": 8},
        "session": {"compare": True, "save": False, "profile": "linux-x86_64-8cpu", "alpha": 0.01},
        "counts": counts,
        "tests": items,
        "recommendations": [],
    }


def _render_time(path: Path) -> tuple[float, float] | None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not Path(CHROMIUM).exists():
        return None
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        started = time.perf_counter()
        page.goto(path.as_uri())
        page.wait_for_selector("section.test")
        opened = time.perf_counter() - started
        started = time.perf_counter()
        page.evaluate("PerfKit.renderAll()")
        drawn = time.perf_counter() - started
        browser.close()
    return opened, drawn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    page = render_document(synthetic_document(args.tests, args.rounds))
    rendered = time.perf_counter() - started
    size = len(page.encode())
    verdict = "within" if size < BUDGET else "OVER"
    print(
        f"{args.tests} tests x {args.rounds} rounds: {size:,} bytes "
        f"({verdict} the {BUDGET:,} budget)"
    )
    print(f"rendered by Python in {rendered * 1000:.0f} ms")
    out = args.out or Path(tempfile.mkdtemp()) / "report.html"
    out.write_text(page, encoding="utf-8")
    timing = _render_time(out.resolve())
    if timing is None:
        print("no playwright or Chromium: browser timing skipped")
    else:
        print(
            f"headless Chromium: opened in {timing[0] * 1000:.0f} ms, "
            f"all charts drawn in {timing[1] * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
