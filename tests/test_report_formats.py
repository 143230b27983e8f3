"""The report files: JSON against its schema, CSV read back, Markdown against its rendering.

Reports are built from synthetic results compared by the real gate (seeded, so exact), with
every verdict, an unbounded interval, a null cost and test ids that are awkward in CSV and
Markdown.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import random
import re
import sys
from collections.abc import Callable
from dataclasses import replace
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from fakes import CALLS, COST, RATE, TIME, TOKENS
from fakes import ENV as BASE_ENV

from pytest_perfbaseline.gate.compare import Comparison, Recheck, compare_test
from pytest_perfbaseline.gate.settings import TestSettings
from pytest_perfbaseline.metrics.names import MetricInfo
from pytest_perfbaseline.metrics.result import TestResult
from pytest_perfbaseline.metrics.summary import summarize
from pytest_perfbaseline.reports.csv_report import CSV_COLUMNS, render_csv
from pytest_perfbaseline.reports.json_report import (
    dumps,
    indented_json,
    report_from_dict,
    report_to_dict,
)
from pytest_perfbaseline.reports.markdown import markdown_code, render_markdown
from pytest_perfbaseline.reports.run import RunReport, TestEntry

CUSTOM = MetricInfo("score", True, "custom")

AWKWARD = 'tests/test_odd.py::test_x[a,b "q" |p| `t`]'
"""A comma and quotes (CSV), a pipe and backticks (Markdown)."""

ENV = replace(
    BASE_ENV,
    python="3.12.4",
    cpu="AMD EPYC 7763 64-Core Processor",
    git_commit="1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
)
SETTINGS = TestSettings()


def lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> list[float]:
    return [float(v) for v in np.exp(rng.normal(math.log(median), sigma, n))]


def stream_result(
    nodeid: str,
    rng: np.random.Generator,
    n: int,
    *,
    ttft: float,
    tpot: float = 0.012,
    tokens: int = 32,
    cost: float | None = 0.00042,
    sigma: float = 0.03,
) -> TestResult:
    """A test of one streamed call a round, with a custom metric and a phase breakdown."""
    ttfts = lognormal(rng, ttft, sigma, n)
    tpots = lognormal(rng, tpot, sigma, n)
    scores = lognormal(rng, 0.9, sigma, n)
    rounds = []
    for i in range(n):
        e2e = ttfts[i] + tpots[i] * (tokens - 1)
        rounds.append(
            {
                "round_s": e2e + 0.002,
                "ttft_s": ttfts[i],
                "e2e_s": e2e,
                "tpot_s": tpots[i],
                "tokens_per_s": tokens / e2e,
                "output_tokens": float(tokens),
                "input_tokens": 120.0,
                "api_calls": 1.0,
                "cost_usd": cost,
                "phase.answer.s": e2e,
                "score": scores[i],
            }
        )
    infos = {
        "round_s": TIME,
        "ttft_s": TIME,
        "e2e_s": TIME,
        "tpot_s": TIME,
        "tokens_per_s": RATE,
        "output_tokens": TOKENS,
        "input_tokens": TOKENS,
        "api_calls": CALLS,
        "cost_usd": COST,
        "phase.answer.s": TIME,
        "score": CUSTOM,
    }
    gaps = [g for t in tpots for g in (t * 0.9, t * 1.1)]
    return TestResult(
        nodeid=nodeid,
        rounds=tuple(rounds),
        infos=infos,
        itl_histogram=((0.01, 0.0125893, 2 * n - 3), (0.0125893, 0.0158489, 3)),
        itl_pooled=summarize(gaps),
        token_sources={"": "usage"},
        rounds_requested=n,
        warmup=1,
        implicit=False,
    )


def mixed_report(*, compare: bool = True) -> RunReport:
    """Four tests: regressed, inconclusive with an unbounded interval, new with a null
    cost, and unchanged with an awkward id."""
    rng = np.random.default_rng(2024)
    test_alpha = 0.01 / 4
    entries = []

    answer = "tests/test_chat.py::test_answer"
    current = stream_result(answer, rng, 10, ttft=0.08)
    tc = compare_test(stream_result(answer, rng, 10, ttft=0.05), current, SETTINGS, test_alpha)
    tc = replace(
        tc,
        baseline_saved_at="2026-11-18T10:00:00Z",
        baseline_origin="commit 0f1e2d3c4b5a, profile linux-x86_64-2cpu",
        baseline_age_s=297600.0,
        recheck=Recheck(
            confirmation="confirmed",
            attempts=1,
            confirm_rounds=10,
            first_pvalues={"ttft_s": 5.4e-06},
        ),
    )
    entries.append(TestEntry(answer, "failed", current, tc if compare else None))

    short = "tests/test_chat.py::test_short"
    current = stream_result(short, rng, 3, ttft=0.05, sigma=0.1)
    tc = compare_test(
        stream_result(short, rng, 3, ttft=0.05, sigma=0.1), current, SETTINGS, test_alpha
    )
    entries.append(TestEntry(short, "passed", current, tc if compare else None))

    new = "tests/test_chat.py::test_new"
    current = stream_result(new, rng, 5, ttft=0.05, cost=None)
    tc = compare_test(None, current, SETTINGS, test_alpha)
    entries.append(TestEntry(new, "passed", current, tc if compare else None))

    current = stream_result(AWKWARD, rng, 10, ttft=0.05, sigma=0.01)
    tc = compare_test(
        stream_result(AWKWARD, rng, 10, ttft=0.05, sigma=0.01), current, SETTINGS, test_alpha
    )
    entries.append(TestEntry(AWKWARD, "passed", current, tc if compare else None))

    return RunReport(
        created_at="2026-11-21T20:41:00Z",
        environment=ENV,
        profile="linux-x86_64-2cpu",
        compare=compare,
        save=not compare,
        alpha=0.01,
        confirm=True,
        fail_on_regression=True,
        perf_tests=4,
        tests=tuple(entries),
        saved=() if compare else tuple(e.nodeid for e in entries),
    )


def by_id(report: RunReport) -> dict[str, TestEntry]:
    return {entry.nodeid: entry for entry in report.tests}


def test_the_mixed_report_has_every_case_the_formats_must_handle() -> None:
    tests = by_id(mixed_report())
    verdicts = {nodeid: e.comparison.verdict for nodeid, e in tests.items() if e.comparison}
    assert verdicts == {
        "tests/test_chat.py::test_answer": "regressed",
        "tests/test_chat.py::test_short": "inconclusive",
        "tests/test_chat.py::test_new": "new",
        AWKWARD: "unchanged",
    }
    short = tests["tests/test_chat.py::test_short"].comparison
    assert short is not None
    assert any(c.ratio_high == math.inf for c in short.comparisons)
    assert "cost_usd" not in tests["tests/test_chat.py::test_new"].result.summary()


# -- JSON ----------------------------------------------------------------------------------


def load_schema() -> dict[str, Any]:
    text = files("pytest_perfbaseline.reports").joinpath("report.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema())


def document(report: RunReport) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(dumps(report))
    return data


def test_the_schema_ships_in_the_package_and_is_a_valid_draft_2020_12_schema() -> None:
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("compare", [True, False], ids=["compare", "measure"])
def test_the_json_document_validates_against_its_schema(compare: bool) -> None:
    errors = list(validator().iter_errors(document(mixed_report(compare=compare))))
    assert errors == []


def test_a_report_without_tests_and_with_unknown_environment_validates() -> None:
    env = replace(ENV, cpu=None, cores=None, git_commit=None, git_dirty=None)
    report = replace(mixed_report(compare=False), environment=env, tests=(), perf_tests=0)
    assert list(validator().iter_errors(document(report))) == []


def test_an_infinite_interval_bound_is_null_in_json() -> None:
    doc = document(mixed_report())
    short = next(t for t in doc["tests"] if t["nodeid"] == "tests/test_chat.py::test_short")
    ttft = short["comparison"]["metrics"]["ttft_s"]
    assert ttft["ratio_low"] == 0.0
    assert ttft["ratio_high"] is None


def _test(doc: dict[str, Any], nodeid: str = "tests/test_chat.py::test_answer") -> Any:
    return next(t for t in doc["tests"] if t["nodeid"] == nodeid)


def _compared(doc: dict[str, Any]) -> Any:
    return _test(doc)["comparison"]["metrics"]["ttft_s"]


BROKEN: dict[str, Callable[[dict[str, Any]], None]] = {
    "unknown verdict": lambda d: _test(d)["comparison"].update(verdict="worse"),
    "unknown metric verdict": lambda d: _compared(d).update(verdict="slower"),
    "unknown outcome": lambda d: _test(d).update(outcome="error"),
    "unknown kind": lambda d: _test(d)["metrics"]["ttft_s"].update(kind="latency"),
    "unknown confirmation": lambda d: _test(d)["comparison"]["recheck"].update(confirmation="yes"),
    "missing rounds": lambda d: _test(d).pop("rounds"),
    "missing summary": lambda d: _test(d)["metrics"]["ttft_s"].pop("summary"),
    "p-value as text": lambda d: _compared(d).update(pvalue="5e-6"),
    "p-value above one": lambda d: _compared(d).update(pvalue=1.5),
    "null rounds count": lambda d: _test(d)["metrics"]["ttft_s"]["summary"].update(n=None),
    "text round value": lambda d: _test(d)["rounds"][0].update(ttft_s="fast"),
    "unknown comparison field": lambda d: _compared(d).update(median_ratio=1.5),
    "unknown top-level field": lambda d: d.update(extra=1),
    "histogram bin of two": lambda d: _test(d)["itl_histogram"].append([0.1, 0.2]),
    "newer version": lambda d: d.update(version=3),
    "other format": lambda d: d.update(format="pytest-benchmark"),
    "counts outside compare mode": lambda d: d["session"].update(compare=False),
    "no counts in compare mode": lambda d: d.update(counts=None),
    "unknown token source": lambda d: _test(d)["token_sources"].update({"": "guess"}),
}


@pytest.mark.parametrize("breakage", list(BROKEN), ids=list(BROKEN))
def test_a_broken_document_does_not_validate(breakage: str) -> None:
    doc = document(mixed_report())
    broken = copy.deepcopy(doc)
    BROKEN[breakage](broken)
    assert broken != doc
    assert list(validator().iter_errors(broken)) != []


def test_extra_environment_fields_are_allowed_for_forward_compatibility() -> None:
    doc = document(mixed_report())
    doc["environment"]["gpu"] = "NVIDIA L4"
    assert list(validator().iter_errors(doc)) == []


def _finite_bounds(c: Comparison) -> Comparison:
    """What survives JSON: an infinite bound comes back as None."""
    if c.ratio_high is not None and math.isinf(c.ratio_high):
        return replace(c, ratio_high=None)
    return c


@pytest.mark.parametrize("compare", [True, False])
def test_the_json_file_is_json_dumps_indented_to_the_byte(compare: bool) -> None:
    data = report_to_dict(mixed_report(compare=compare))
    expected = json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"
    assert dumps(mixed_report(compare=compare)) == expected
    assert dumps(mixed_report(compare=compare), data) == expected


def random_json(rng: random.Random, depth: int = 0) -> Any:
    """Nested dicts, lists and tuples (empty ones too) of every kind of scalar json writes."""
    scalars: list[Any] = [None, True, False, -0.0, 5e-324, 1e300, rng.randint(-(10**20), 10**20)]
    scalars += [rng.random() * 10.0 ** rng.randint(-30, 30), "", 'é"\\\n\t\x00€😀 ,:{}[]']
    if depth > 4 or rng.random() < 0.4:
        return rng.choice(scalars)
    items = [random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    kind = rng.random()
    if kind < 0.5:
        return {
            rng.choice(["a", "b", "", "é", '"', "a\nb"]) + str(i): v for i, v in enumerate(items)
        }
    return tuple(items) if kind < 0.6 else items


def test_indented_json_is_json_dumps_to_the_byte() -> None:
    rng = random.Random(5)
    for _ in range(3000):
        data = random_json(rng)
        assert indented_json(data) == json.dumps(data, indent=2, sort_keys=True, allow_nan=False)
    odd = {1: [{"a": 1}], 2.5: None}  # keys json converts: its own layout
    assert indented_json([odd]) == json.dumps([odd], indent=2, sort_keys=True)
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError, match="Out of range float"):
            indented_json({"x": [{"y": bad}]})
        with pytest.raises(ValueError, match="Out of range float"):
            indented_json({"x": [bad, {"y": 1}]})


def test_the_json_document_round_trips() -> None:
    report = mixed_report()
    back = report_from_dict(document(report))
    assert report_to_dict(back) == report_to_dict(report)
    assert dumps(back) == dumps(report)
    for field in (
        "created_at",
        "environment",
        "profile",
        "compare",
        "save",
        "alpha",
        "confirm",
        "fail_on_regression",
        "perf_tests",
        "saved",
        "save_errors",
    ):
        assert getattr(back, field) == getattr(report, field), field
    assert len(back.tests) == len(report.tests)
    for got, want in zip(back.tests, report.tests, strict=True):
        assert (got.nodeid, got.outcome) == (want.nodeid, want.outcome)
        assert got.result == want.result
        assert got.comparison is not None
        assert want.comparison is not None
        assert got.comparison.verdict == want.comparison.verdict
        # an infinite bound comes back as None (or, if the reader restores it, as inf)
        assert replace(
            got.comparison,
            comparisons=tuple(_finite_bounds(c) for c in got.comparison.comparisons),
        ) == replace(
            want.comparison,
            comparisons=tuple(_finite_bounds(c) for c in want.comparison.comparisons),
        )


def test_a_measure_only_report_round_trips_without_comparisons() -> None:
    report = mixed_report(compare=False)
    back = report_from_dict(document(report))
    assert [e.comparison for e in back.tests] == [None] * 4
    assert [e.result for e in back.tests] == [e.result for e in report.tests]
    assert document(back) == document(report)


# -- CSV -----------------------------------------------------------------------------------

SUMMARY_COLUMNS = ("mean", "median", "stdev", "min", "max", "p50", "p90", "p95", "p99")
COMPARISON_COLUMNS = {
    "baseline_median": "baseline_median",
    "ratio": "ratio",
    "ratio_low": "ratio_low",
    "ratio_high": "ratio_high",
    "threshold": "threshold",
    "p_value": "pvalue",
    "alpha": "alpha",
}


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_has_one_row_per_test_and_metric_in_a_stable_order() -> None:
    report = mixed_report()
    text = render_csv(report)
    assert text.startswith(",".join(CSV_COLUMNS) + "\r\n")
    rows = read_csv(text)
    expected = [
        (entry.nodeid, name)
        for entry in sorted(report.tests, key=lambda e: e.nodeid)
        for name in sorted(entry.result.infos)
    ]
    assert [(row["test"], row["metric"]) for row in rows] == expected
    assert len(rows) == 4 * 11
    assert render_csv(report) == text


def test_csv_numbers_are_exact_and_missing_values_are_empty() -> None:
    report = mixed_report()
    tests = by_id(report)
    for row in read_csv(render_csv(report)):
        entry = tests[row["test"]]
        name = row["metric"]
        info = entry.result.infos[name]
        assert row["unit"] == info.unit
        assert row["higher_is_better"] == ("true" if info.higher_is_better else "false")
        summary = entry.result.summary().get(name)
        if summary is None:
            assert row["n"] == "0"
            assert all(row[col] == "" for col in SUMMARY_COLUMNS)
        else:
            assert int(row["n"]) == summary.n
            for col in SUMMARY_COLUMNS:
                assert float(row[col]) == getattr(summary, col), (row["test"], name, col)
        assert entry.comparison is not None
        c = {c.metric: c for c in entry.comparison.comparisons}[name]
        assert int(row["baseline_n"]) == c.n_baseline
        for col, attr in COMPARISON_COLUMNS.items():
            value = getattr(c, attr)
            if value is None:
                assert row[col] == "", (row["test"], name, col)
            else:
                assert float(row[col]) == value, (row["test"], name, col)
        assert row["verdict"] == c.verdict
        assert row["gated"] == ("true" if c.gated else "false")
        assert row["rounds_needed"] == ("" if c.rounds_needed is None else str(c.rounds_needed))


def test_csv_shows_the_cases_a_spreadsheet_user_meets() -> None:
    rows = {(r["test"], r["metric"]): r for r in read_csv(render_csv(mixed_report()))}
    # an unpriced model: no cost in any round
    cost = rows["tests/test_chat.py::test_new", "cost_usd"]
    assert (cost["n"], cost["mean"], cost["median"], cost["p99"]) == ("0", "", "", "")
    assert (cost["verdict"], cost["baseline_median"], cost["ratio"]) == ("new", "", "")
    # a new test: compared against nothing
    ttft = rows["tests/test_chat.py::test_new", "ttft_s"]
    assert (ttft["verdict"], ttft["baseline_n"], ttft["baseline_median"]) == ("new", "0", "")
    assert ttft["ratio"] == ttft["p_value"] == ttft["alpha"] == ""
    # constant in both runs: compared exactly, without a p-value
    tokens = rows["tests/test_chat.py::test_answer", "output_tokens"]
    assert (tokens["ratio"], tokens["p_value"], tokens["verdict"]) == ("1.0", "", "unchanged")
    # three rounds a side: the interval is unbounded above
    short = rows["tests/test_chat.py::test_short", "ttft_s"]
    assert (short["ratio_low"], short["ratio_high"]) == ("0.0", "inf")
    assert short["verdict"] == "inconclusive"
    assert int(short["rounds_needed"]) > 3
    regressed = rows["tests/test_chat.py::test_answer", "ttft_s"]
    assert (regressed["verdict"], regressed["gated"]) == ("regressed", "true")
    assert float(regressed["p_value"]) < float(regressed["alpha"])


def test_csv_quotes_awkward_test_ids() -> None:
    text = render_csv(mixed_report())
    quoted = '"tests/test_odd.py::test_x[a,b ""q"" |p| `t`]",'
    assert quoted in text
    rows = [r for r in read_csv(text) if r["test"] == AWKWARD]
    assert len(rows) == 11
    assert all(len(r) == len(CSV_COLUMNS) and None not in r for r in rows)
    plain = next(line for line in text.splitlines() if line.startswith("tests/test_chat.py"))
    assert not plain.startswith('"')  # quoted only when needed


def test_csv_outside_compare_mode_leaves_the_comparison_columns_empty() -> None:
    rows = read_csv(render_csv(mixed_report(compare=False)))
    assert len(rows) == 44
    for row in rows:
        assert all(row[col] == "" for col in CSV_COLUMNS[CSV_COLUMNS.index("baseline_n") :])
        assert row["unit"]


def test_csv_of_a_report_read_back_from_json_is_the_same() -> None:
    report = mixed_report()
    assert render_csv(report_from_dict(document(report))) == render_csv(report)


# -- Markdown ------------------------------------------------------------------------------

SMALL_INFOS = {
    "ttft_s": TIME,
    "tpot_s": TIME,
    "tokens_per_s": RATE,
    "output_tokens": TOKENS,
    "cost_usd": COST,
}


def small_result(
    nodeid: str,
    ttft: list[float],
    tpot: list[float],
    *,
    tokens: float = 50.0,
    cost: float | None = 0.0012,
) -> TestResult:
    rounds = tuple(
        {
            "ttft_s": a,
            "tpot_s": b,
            "tokens_per_s": tokens / (a + b * (tokens - 1)),
            "output_tokens": tokens,
            "cost_usd": cost,
        }
        for a, b in zip(ttft, tpot, strict=True)
    )
    return TestResult(nodeid, rounds, SMALL_INFOS, (), None, {"": "usage"}, len(rounds), 1, False)


def steps(start: float, step: float, n: int = 10) -> list[float]:
    return [round(start + i * step, 6) for i in range(n)]


def small_report(*, fail_on_regression: bool = True) -> RunReport:
    """Regressed, unchanged (with a ``|`` in its id and a stale baseline), inconclusive on
    three rounds, and new; fixed values, so the rendering is fixed."""
    test_alpha = 0.01 / 4
    answer = "tests/test_chat.py::test_answer"
    current_answer = small_result(answer, steps(0.150, 0.001), steps(0.020, 0.0001))
    answer_tc = replace(
        compare_test(
            small_result(answer, steps(0.100, 0.001), steps(0.020, 0.0001)),
            current_answer,
            SETTINGS,
            test_alpha,
        ),
        baseline_saved_at="2026-11-18T10:00:00Z",
        baseline_origin="commit 1a2b3c4d5e6f, profile linux-x86_64-2cpu",
    )
    pipe = "tests/test_tools.py::test_call[a|b]"
    current_pipe = small_result(pipe, steps(0.2005, 0.001), steps(0.030, 0.0001))
    pipe_tc = replace(
        compare_test(
            small_result(pipe, steps(0.200, 0.001), steps(0.030, 0.0001)),
            current_pipe,
            SETTINGS,
            test_alpha,
        ),
        baseline_saved_at="2026-10-01T09:00:00Z",
        stale=True,
    )
    short = "tests/test_chat.py::test_short"
    current_short = small_result(short, [0.105, 0.125, 0.115], [0.021, 0.023, 0.022])
    short_tc = compare_test(
        small_result(short, [0.100, 0.120, 0.110], [0.020, 0.024, 0.022]),
        current_short,
        SETTINGS,
        test_alpha,
    )
    new = "tests/test_chat.py::test_new"
    current_new = small_result(new, steps(0.050, 0.001), steps(0.010, 0.0001), cost=None)
    new_tc = compare_test(None, current_new, SETTINGS, test_alpha)
    return RunReport(
        created_at="2026-11-21T20:41:00Z",
        environment=ENV,
        profile="linux-x86_64-2cpu",
        compare=True,
        save=False,
        alpha=0.01,
        confirm=True,
        fail_on_regression=fail_on_regression,
        perf_tests=4,
        tests=(
            TestEntry(pipe, "passed", current_pipe, pipe_tc),
            TestEntry(answer, "failed", current_answer, answer_tc),
            TestEntry(short, "passed", current_short, short_tc),
            TestEntry(new, "passed", current_new, new_tc),
        ),
    )


EXPECTED_MARKDOWN = """\
## pytest-perfbaseline

❌ 1 regressed · 1 inconclusive · 1 unchanged · 1 new · profile `linux-x86_64-2cpu`

### ❌ Regressions

- `tests/test_chat.py::test_answer`
  - `ttft_s` (lower is better): 104 ms → 154 ms, **+47.9%** [+44.0%, +51.9%]; threshold 10%; \
p = 5.4e-06 < alpha 0.0013; 10 vs 10 rounds
  - baseline: saved 2026-11-18T10:00:00Z; commit 1a2b3c4d5e6f, profile linux-x86_64-2cpu

If this performance is intended, accept it with `pytest --perf-baseline=save` \
(then commit `.perfbaseline/`).

### Tests

| test | rounds | TTFT p50 | TPOT p50 | tok/s p50 | out tok p50 | cost p50 | verdict |
|---|--:|--:|--:|--:|--:|--:|---|
| `tests/test_chat.py::test_answer` | 10 | 154 ms | 20.5 ms | 43.2 | 50 | $0.00120 | ❌ regressed |
| `tests/test_chat.py::test_new` | 10 | 54.5 ms | 10.5 ms | 88.3 | 50 | - | 🆕 new |
| `tests/test_chat.py::test_short` | 3 | 115 ms | 22.0 ms | 41.9 | 50 | $0.00120 | ❔ inconclusive |
| `tests/test_tools.py::test_call[a\\|b]` | 10 | 205 ms | 30.4 ms | 29.5 | 50 | $0.00120 | \
✅ unchanged |

### Notes

- ❔ `tests/test_chat.py::test_short`: `tpot_s` (~11 rounds/side needed), \
`ttft_s` (~52 rounds/side needed)
- ⏳ Stale baselines, consider re-saving them: `tests/test_tools.py::test_call[a|b]` \
(saved 2026-10-01T09:00:00Z)
- 🆕 No baseline yet (save one with `pytest --perf-baseline=save`): `tests/test_chat.py::test_new`

<details>
<summary>Gated metrics: baseline and current medians, per test</summary>

| test | metric | baseline | current | change [95% CI] | threshold | p | verdict |
|---|---|--:|--:|--:|--:|--:|---|
| `tests/test_chat.py::test_answer` | `cost_usd` | $0.00120 | $0.00120 | +0.0% | 5% | exact | \
✅ unchanged |
| `tests/test_chat.py::test_answer` | `output_tokens` | 50 | 50 | +0.0% | 5% | exact | \
✅ unchanged |
| `tests/test_chat.py::test_answer` | `tpot_s` | 20.5 ms | 20.5 ms | +0.0% [-1.5%, +1.5%] | 10% | \
1 | ✅ unchanged |
| `tests/test_chat.py::test_answer` | `ttft_s` | 104 ms | 154 ms | +47.9% [+44.0%, +51.9%] | 10% | \
5.4e-06 | ❌ regressed |
| `tests/test_chat.py::test_short` | `cost_usd` | $0.00120 | $0.00120 | +0.0% | 5% | exact | \
✅ unchanged |
| `tests/test_chat.py::test_short` | `output_tokens` | 50 | 50 | +0.0% | 5% | exact | \
✅ unchanged |
| `tests/test_chat.py::test_short` | `tpot_s` | 22.0 ms | 22.0 ms | +0.0% [-100.0%, +∞] | 10% | \
0.95 | ❔ inconclusive (~11 rounds/side needed) |
| `tests/test_chat.py::test_short` | `ttft_s` | 110 ms | 115 ms | +4.5% [-100.0%, +∞] | 10% | \
0.8 | ❔ inconclusive (~52 rounds/side needed) |
| `tests/test_tools.py::test_call[a\\|b]` | `cost_usd` | $0.00120 | $0.00120 | +0.0% | 5% | \
exact | ✅ unchanged |
| `tests/test_tools.py::test_call[a\\|b]` | `output_tokens` | 50 | 50 | +0.0% | 5% | exact | \
✅ unchanged |
| `tests/test_tools.py::test_call[a\\|b]` | `tpot_s` | 30.4 ms | 30.4 ms | +0.0% [-1.0%, +1.0%] | \
10% | 1 | ✅ unchanged |
| `tests/test_tools.py::test_call[a\\|b]` | `ttft_s` | 204 ms | 205 ms | +0.2% [-1.2%, +1.7%] | \
10% | 1 | ✅ unchanged |

</details>
"""


def test_markdown_renders_the_expected_summary() -> None:
    assert render_markdown(small_report()) == EXPECTED_MARKDOWN


def test_markdown_is_deterministic_and_the_same_for_a_report_read_back_from_json() -> None:
    report = small_report()
    text = render_markdown(report)
    assert render_markdown(report) == text
    assert render_markdown(report_from_dict(document(report))) == text
    mixed = mixed_report()
    assert render_markdown(report_from_dict(document(mixed))) == render_markdown(mixed)


def test_markdown_puts_regressions_before_the_table() -> None:
    text = render_markdown(mixed_report())
    regressions = text.index("### ❌ Regressions")
    assert regressions < text.index("### Tests") < text.index("<details>")
    # the regressed test's first mention is in the regressions, with its regressed metric
    assert text.index("tests/test_chat.py::test_answer") > regressions
    section = text[regressions : text.index("### Tests")]
    assert "`ttft_s` (lower is better)" in section
    assert "confirmed by re-measuring" in section
    assert "`pytest --perf-baseline=save`" in section
    assert "test_short" not in section


def split_row(line: str) -> list[str]:
    """Cells of a GFM table row the way GitHub splits it (cmark-gfm's table extension).

    A ``|`` directly after a backslash stays in the cell; then that one backslash is
    dropped from each such ``\\|``.
    """
    assert line.startswith("|"), line
    assert line.endswith("|"), line
    cells = re.split(r"(?<!\\)\|", line[1:-1])
    return [cell.strip().replace("\\|", "|") for cell in cells]


def code_span_text(cell: str) -> str:
    """What a cell holding a single code span renders as."""
    fence = re.match(r"`+", cell)
    assert fence is not None, cell
    ticks = fence.group()
    assert cell.endswith(ticks), cell
    assert len(cell) > 2 * len(ticks), cell
    inner = cell[len(ticks) : -len(ticks)]
    # a run as long as the fence would close the span early
    assert len(ticks) not in {len(run) for run in re.findall(r"`+", inner)}, cell
    if inner.startswith(" ") and inner.endswith(" ") and inner.strip():
        inner = inner[1:-1]
    return inner


def tables(text: str) -> list[list[str]]:
    """Each block of consecutive lines starting with ``|``."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    return blocks


@pytest.mark.parametrize("kind", ["mixed", "measure", "small"])
def test_markdown_tables_survive_pipes_and_backticks_in_test_ids(kind: str) -> None:
    report = {
        "mixed": mixed_report,
        "measure": lambda: mixed_report(compare=False),
        "small": small_report,
    }[kind]()
    found = tables(render_markdown(report))
    assert found
    ids = {entry.nodeid for entry in report.tests}
    shown = set()
    for table in found:
        width = len(split_row(table[0]))
        assert re.fullmatch(r"\|(-{3}\||-{2}:\|)+", table[1]), table[1]
        for line in table[2:]:
            cells = split_row(line)
            assert len(cells) == width, line
            shown.add(code_span_text(cells[0]))
    assert shown == ids


@pytest.mark.parametrize(
    ("text", "in_table", "expected"),
    [
        ("tests/test_a.py::test_b", False, "`tests/test_a.py::test_b`"),
        ("t[a`b]", False, "``t[a`b]``"),
        ("t[a``b]", False, "```t[a``b]```"),
        ("`start", False, "`` `start ``"),
        ("end`", True, "`` end` ``"),
        ("t[a|b]", False, "`t[a|b]`"),
        ("t[a|b]", True, "`t[a\\|b]`"),
        ("t[a\\|b]", True, "`t[a\\\\|b]`"),
        ("t[*_<b>_*]", True, "`t[*_<b>_*]`"),
        ("t[a\nb]", False, "`t[a b]`"),
    ],
)
def test_markdown_code_spans(text: str, in_table: bool, expected: str) -> None:
    assert markdown_code(text, in_table=in_table) == expected


def test_markdown_outside_compare_mode_lists_the_measurements() -> None:
    text = render_markdown(mixed_report(compare=False))
    lines = text.splitlines()
    assert lines[:3] == [
        "## pytest-perfbaseline",
        "",
        "📊 4 perf tests measured · profile `linux-x86_64-2cpu` · baselines saved for 4 tests",
    ]
    assert "| test | rounds | TTFT p50 | TPOT p50 | tok/s p50 | out tok p50 | cost p50 |" in lines
    for absent in ("Regressions", "verdict", "<details>", "Notes"):
        assert absent not in text


def test_markdown_says_when_regressions_do_not_fail_the_run() -> None:
    text = render_markdown(small_report(fail_on_regression=False), title="Perf (CI)")
    assert text.startswith("## Perf (CI)\n\n❌ 1 regressed · ")
    assert "not failing the run (`--perf-fail=never`)" in text.splitlines()[2]


def test_markdown_lists_baselines_that_could_not_be_saved() -> None:
    report = replace(
        mixed_report(compare=False),
        save_errors=("cannot write .perfbaseline/x/test_a.json: Permission denied",),
    )
    text = render_markdown(report)
    assert "### Notes" in text
    assert (
        "- ⚠️ Baseline not saved: cannot write \\.perfbaseline\\/x\\/test\\_a\\.json\\: "
        "Permission denied"
    ) in text


def test_markdown_of_an_empty_run() -> None:
    report = replace(mixed_report(compare=False), tests=(), saved=(), perf_tests=0)
    assert render_markdown(report) == (
        "## pytest-perfbaseline\n\n"
        "📊 0 perf tests measured · profile `linux-x86_64-2cpu` · baselines saved for 0 tests\n"
    )


# -- docs/report-format.md ------------------------------------------------------------------

DOC = Path(__file__).resolve().parents[1] / "docs" / "report-format.md"


def doc_block(language: str) -> str:
    if not DOC.is_file():
        pytest.skip("docs/report-format.md is not beside the tests")
    match = re.search(rf"^```{language}\n(.*?)^```$", DOC.read_text("utf-8"), re.M | re.S)
    assert match is not None, language
    return match.group(1)


def test_the_documented_json_example_validates_and_reads_back() -> None:
    data = json.loads(doc_block("json"))
    assert list(validator().iter_errors(data)) == []
    report = report_from_dict(data)
    assert report_to_dict(report) == data


def test_the_documented_csv_example_has_the_documented_columns() -> None:
    rows = read_csv(doc_block("csv"))
    assert rows
    assert all(list(row) == list(CSV_COLUMNS) for row in rows)
    data = json.loads(doc_block("json"))
    assert render_csv(report_from_dict(data)).replace("\r\n", "\n") == doc_block("csv")


def test_markdown_puts_an_undecided_test_first_with_what_the_machine_showed() -> None:
    from dataclasses import replace

    report = small_report()
    entry = next(e for e in report.tests if e.comparison is not None)
    assert entry.comparison is not None
    comparisons = tuple(
        replace(c, verdict="undecided") if c.metric == "ttft_s" else c
        for c in entry.comparison.comparisons
    )
    recheck = Recheck(
        confirmation="undecided", attempts=2, machine_slowdown=2.5, cpu_share=0.9, explainable=2.35
    )
    undecided = replace(entry.comparison, comparisons=comparisons, recheck=recheck)
    assert undecided.verdict == "undecided"
    report = replace(report, tests=(replace(entry, comparison=undecided),))
    markdown = render_markdown(report)
    assert "### ⚠️ Undecided" in markdown
    assert "⚠️ 1 undecided" in markdown
    assert (
        f"- `{entry.nodeid}` (undecided: slowed down while the machine was busy, by no more than "
        "that explains; its reference probe ran 2.5x slower than at best; the test used the CPU "
        "90% of the time; together up to +135.0% explained)"
    ) in markdown
    assert "not confirmed by re-measuring" not in markdown


# -- the terminal's tables ------------------------------------------------------------------

TABLE_CELLS = (
    "test_suite.py::test_0",
    'test_x.py::test_awkward[a,b-say "hi"]',
    "1.05 µs",
    "952 ns",
    "-",
    "$0",
    "$0.0123",
    "+4.1% [-1.0%, +9.9%]",
    "inconclusive (~89 rounds/side needed)",
    "10%",
    "10",
    "0",
    "123",
    "12.0",
    "1,234",
    "1_000",
    "007",
    "+5",
    "1e3",
    "inf",
    "nan",
    "True",
    "False",
    "",
    " padded ",
    "two\nlines",
    "\x1b[31mred\x1b[0m",
    "宽字",
    "e\u0301",
    "--",
    "n/a",
)


def test_tables_print_as_tabulate_prints_them() -> None:
    from tabulate import tabulate

    from pytest_perfbaseline.reports.terminal import table

    rng = random.Random(7)
    fast = 0
    for _ in range(3000):
        width = rng.randint(1, 5)
        pool = rng.sample(TABLE_CELLS, rng.randint(1, 6))
        rows = [[rng.choice(pool) for _ in range(width)] for _ in range(rng.randint(1, 4))]
        headers = [rng.choice(["test", "rounds", "p50", "verdict"]) for _ in range(width)]
        right_from = rng.randint(0, width)
        align = ["right" if i >= right_from else "left" for i in range(width)]
        expected = tabulate(rows, headers=headers, tablefmt="simple", colalign=align)
        assert table(rows, headers, right_from) == str(expected).splitlines(), (rows, align)
        fast += all(cell in TABLE_CELLS[:13] for row in rows for cell in row)
    assert fast > 100  # the cells of the plugin's own tables were among those checked


def test_the_plugins_tables_need_no_tabulate(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_perfbaseline.reports.terminal import table

    monkeypatch.setitem(sys.modules, "tabulate", None)  # importing it now fails
    rows = [[cell, "10", "1.05 µs", "-", "$0"] for cell in TABLE_CELLS[:2]]
    assert table(rows, ["test", "rounds", "round p50", "TTFT p50", "cost"]) == [
        "test                                     rounds    round p50    TTFT p50    cost",
        "-------------------------------------  --------  -----------  ----------  ------",
        "test_suite.py::test_0                        10      1.05 µs           -      $0",
        'test_x.py::test_awkward[a,b-say "hi"]        10      1.05 µs           -      $0',
    ]


def test_a_table_without_rows_is_not_printed() -> None:
    from pytest_perfbaseline.reports.terminal import table

    assert table([], ["test", "rounds", "round p50"]) == []
