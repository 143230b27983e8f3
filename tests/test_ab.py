"""A/B of two variants in one test: ``perf.ab`` / ``perf.arun_ab``.

Unit tests run ``Perf`` on a fake clock with deterministic ``perf.metric`` values, so the
verdicts are exact; the plugin's behaviour (failure, message, reports, xdist, markers) goes
through pytester.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from typing import Any

import jsonschema
import pytest
from fakes import INI, FakeClock, scripted
from test_report_formats import load_schema

from pytest_perfbaseline import ABMetric, ABResult, Perf
from pytest_perfbaseline.gate.ab import ab_failure_message, judge_ab
from pytest_perfbaseline.gate.settings import TestSettings, parse_threshold
from pytest_perfbaseline.measure.ab import abba
from pytest_perfbaseline.reports.ab import ab_terminal_lines

# -- the loop -------------------------------------------------------------------------------


def test_abba_order() -> None:
    assert "".join("ab"[i] for i in abba(4)) == "abbaabba"


def _offsets(perf: Perf, calls: list[str], a_value: float, b_value: float) -> tuple[Any, Any]:
    """Workloads recording ``lat``: a's and b's fixed value, wobbling by round."""
    count = [0]

    def a() -> None:
        calls.append("a")
        count[0] += 1
        perf.metric("lat", a_value * (1 + 0.01 * (count[0] % 3)))

    def b() -> None:
        calls.append("b")
        count[0] += 1
        perf.metric("lat", b_value * (1 + 0.01 * (count[0] % 3)))

    return a, b


def test_warmups_then_pairs_in_abba_order(clock: FakeClock) -> None:
    perf = Perf(rounds=4, warmup=2, clock=clock)
    calls: list[str] = []
    result = perf.ab(*_offsets(perf, calls, 100.0, 100.0))
    assert "".join(calls) == "abab" + "abbaabba"
    assert result.pairs == 4
    assert result.warmup == 2
    lat = result.metric("lat")
    assert lat.pairs == 4
    assert lat.a is not None
    assert lat.a.n == 4


def test_a_slower_b_regresses_with_the_message(clock: FakeClock) -> None:
    perf = Perf(rounds=20, warmup=1, clock=clock)
    result = perf.ab(*_offsets(perf, [], 100.0, 130.0), labels=("old-prompt", "new-prompt"))
    assert result.verdict == "regressed"
    lat = result.metric("lat")
    assert lat.ratio == pytest.approx(1.30, rel=0.01)
    assert lat.pvalue == pytest.approx(2.0**-20)  # every pair worse by more than 10%
    assert lat.alpha == 0.01  # the one statistically tested gated metric: all the budget
    message = ab_failure_message(result)
    first = message.splitlines()[0]
    assert first.startswith("A/B: b (new-prompt) regressed against a (old-prompt): lat +30.0% (+")
    assert first.endswith("> 10% threshold, p=9.5e-07 (20 pairs)")


@pytest.mark.parametrize(
    ("b_value", "verdict"),
    [
        (100.0, "unchanged"),
        (108.0, "unchanged"),  # every pair within 10%, shown by the interval
        (110.0, "inconclusive"),  # right at the threshold: neither side of it shown
        (75.0, "improved"),
        (125.0, "regressed"),
    ],
)
def test_verdicts(clock: FakeClock, b_value: float, verdict: str) -> None:
    perf = Perf(rounds=20, warmup=0, clock=clock)
    assert perf.ab(*_offsets(perf, [], 100.0, b_value)).verdict == verdict


def test_higher_is_better_is_mirrored(clock: FakeClock) -> None:
    perf = Perf(rounds=12, warmup=0, clock=clock)
    count = [0]

    def variant(value: float) -> Any:
        def run() -> None:
            count[0] += 1
            perf.metric("speed", value * (1 + 0.01 * (count[0] % 3)), higher_is_better=True)

        return run

    result = perf.ab(variant(100.0), variant(70.0))
    assert result.verdict == "regressed"
    assert result.metric("speed").ratio == pytest.approx(0.70, rel=0.02)


def test_threshold_and_gate_as_the_baseline_gate() -> None:
    clock = FakeClock()
    perf = Perf(rounds=20, warmup=0, clock=clock)
    perf.ab(*_offsets(perf, [], 100.0, 108.0))
    a, b = _variant_results(perf)
    lax = judge_ab(a, b, labels=("a", "b"))
    strict = judge_ab(
        a, b, labels=("a", "b"), settings=TestSettings(threshold=parse_threshold("5%"))
    )
    ungated = judge_ab(a, b, labels=("a", "b"), settings=TestSettings(gate=("ttft_s",)))
    assert lax.verdict == "unchanged"
    assert strict.verdict == "regressed"
    assert not ungated.metric("lat").gated
    assert ungated.metric("lat").verdict == "unchanged"
    assert not ungated.regressed


def _variant_results(perf: Perf) -> tuple[Any, Any]:
    """Re-run a Perf's last A/B through a capturing judge: the two variants' results."""
    captured: list[Any] = []

    def capture(a: Any, b: Any, labels: tuple[str, str], fail: bool) -> ABResult:
        captured.extend([a, b])
        return judge_ab(a, b, labels=labels, fail=fail)

    clock = FakeClock()
    again = Perf(rounds=20, warmup=0, clock=clock, ab_judge=capture)
    again.ab(*_offsets(again, [], 100.0, 108.0))
    return captured[0], captured[1]


def test_streams_and_usage_belong_to_their_variant(clock: FakeClock) -> None:
    perf = Perf(rounds=4, warmup=1, clock=clock)

    def chat(tokens: int) -> Any:
        def run() -> None:
            events = [(0.05, {"choices": [{"delta": {"content": "x"}}]})] * tokens
            for _ in perf.stream(scripted(clock, events), name="chat"):
                pass
            perf.record_usage("gpt-4o-mini", 100, tokens)

        return run

    result = perf.ab(chat(4), chat(6))
    out = result.metric("output_tokens")
    assert out.a is not None
    assert out.b is not None
    # the stream's chunks and the recorded call, each variant's own
    assert (out.a.median, out.b.median) == (4 + 4, 6 + 6)
    assert out.verdict == "regressed"  # constant on both sides: compared exactly (+50%)
    assert out.pvalue is None
    calls = result.metric("api_calls")
    assert calls.a is not None
    assert calls.a.median == 2
    assert calls.verdict == "unchanged"
    assert result.metric("chat.e2e_s").ratio == pytest.approx(6 / 4)


def test_the_hooks_are_told_of_both_variants_rounds(clock: FakeClock) -> None:
    seen: list[tuple[int, int, bool]] = []
    records: list[Any] = []
    perf = Perf(
        rounds=2,
        warmup=1,
        clock=clock,
        on_round=lambda done, planned, warmup: seen.append((done, planned, warmup)),
        on_record=records.append,
    )

    def chat(tokens: int) -> Any:
        def run() -> None:
            events = [(0.05, {"choices": [{"delta": {"content": "x"}}]})] * tokens
            for _ in perf.stream(scripted(clock, events)):
                pass

        return run

    perf.ab(chat(4), chat(6))
    # rounds of both variants counted together: 2 warm-ups, then 2 pairs of 2
    assert seen == [(1, 2, True), (2, 2, True)] + [(n, 4, False) for n in (1, 2, 3, 4)]
    # each measured round's own stream, in ABBA order; no warm-up round
    assert [len(r.streams[0].times) for r in records] == [4, 6, 6, 4]


def test_async_hooks_and_disabled(clock: FakeClock) -> None:
    seen: list[tuple[int, int, bool]] = []
    records: list[Any] = []

    def hooks(**kwargs: Any) -> Perf:
        return Perf(
            clock=clock,
            on_round=lambda done, planned, warmup: seen.append((done, planned, warmup)),
            on_record=records.append,
            **kwargs,
        )

    async def work() -> None:
        await clock.asleep(0.01)

    asyncio.run(hooks(rounds=1, warmup=0).arun_ab(work, work))
    assert (seen, len(records)) == ([(1, 2, False), (2, 2, False)], 2)
    seen.clear()
    records.clear()
    hooks(rounds=5, warmup=2, disabled=True).ab(lambda: None, lambda: None)
    assert (seen, records) == ([(1, 2, True), (2, 2, True)], [])  # each once, not kept


def test_async_workloads(clock: FakeClock) -> None:
    perf = Perf(rounds=6, warmup=1, clock=clock)
    calls: list[str] = []

    def variant(label: str, seconds: float) -> Any:
        async def run() -> None:
            calls.append(label)
            await clock.asleep(seconds)

        return run

    result = asyncio.run(perf.arun_ab(variant("a", 0.010), variant("b", 0.020)))
    assert "".join(calls) == "ab" + "abbaabbaabba"
    assert result.metric("round_s").ratio == pytest.approx(2.0)
    assert result.verdict == "regressed"


def test_misuse_is_refused(clock: FakeClock) -> None:
    perf = Perf(rounds=2, warmup=0, clock=clock)

    async def coroutine() -> None:
        pass

    with pytest.raises(TypeError, match="arun_ab"):
        perf.ab(coroutine, coroutine)
    with pytest.raises(ValueError, match="labels"):
        Perf(clock=clock).ab(lambda: None, lambda: None, labels=("same", "same"))
    perf = Perf(rounds=2, warmup=0, clock=clock)
    perf.ab(lambda: None, lambda: None)
    with pytest.raises(RuntimeError, match="once per test"):
        perf(lambda: None)


def test_disabled_runs_each_once_and_decides_nothing(clock: FakeClock) -> None:
    perf = Perf(rounds=10, warmup=3, clock=clock, disabled=True)
    calls: list[str] = []
    result = perf.ab(*_offsets(perf, calls, 100.0, 200.0))
    assert calls == ["a", "b"]
    assert result.verdict == "not measured"
    assert result.metrics == ()


def test_result_round_trips_through_builtins(clock: FakeClock) -> None:
    perf = Perf(rounds=8, warmup=0, clock=clock)
    result = perf.ab(*_offsets(perf, [], 100.0, 130.0), labels=("x", "y"), fail=False)
    data = json.loads(json.dumps(result.to_dict()))
    again = ABResult.from_dict(data)
    assert again == result
    assert data["verdict"] == "regressed"


# -- through pytest ----------------------------------------------------------------------------

CONFTEST = """
import pytest

@pytest.fixture
def perf_clock():
    now = [0]
    def clock():
        now[0] += 1000
        return now[0]
    return clock
"""

AB_TESTS = """
import pytest

def variants(perf, a_value, b_value):
    count = [0]
    def make(value):
        def run():
            count[0] += 1
            perf.metric("lat", value * (1 + 0.01 * (count[0] % 3)))
        return run
    return make(a_value), make(b_value)

@pytest.mark.perf(rounds=20)
def test_slower(perf):
    result = perf.ab(*variants(perf, 100.0, 130.0), labels=("old-prompt", "new-prompt"))
    assert result.verdict == "regressed"

@pytest.mark.perf(rounds=20)
def test_reported_only(perf):
    perf.ab(*variants(perf, 100.0, 130.0), fail=False)

@pytest.mark.perf(rounds=20)
def test_same(perf):
    assert perf.ab(*variants(perf, 100.0, 100.0)).verdict == "unchanged"

@pytest.mark.perf(rounds=20, threshold="40%")
def test_within_a_marker_threshold(perf):
    perf.ab(*variants(perf, 100.0, 130.0))
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_ab_suite=AB_TESTS)
    return pytester


def _check(result: pytest.RunResult) -> None:
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_slower*",
            "A/B: b (new-prompt) regressed against a (old-prompt): lat +30.0% (+*%..+*%) "
            "> 10% threshold, p=9.5e-07 (20 pairs)",
            "  lat: old-prompt 101.0 -> new-prompt 131.3 (medians; lower is better); alpha 0.0025",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*perfbaseline: 4 A/B tests*",
            "A/B tests (b against a, in interleaved pairs):",
            "  test_ab_suite.py::test_reported_only: b vs a: regressed, 20 pairs; worst: lat "
            "+30.0%*(fail=False: not failed)",
            "  test_ab_suite.py::test_same: b vs a: unchanged, 20 pairs*",
            "  test_ab_suite.py::test_slower: new-prompt vs old-prompt: regressed*",
            "  test_ab_suite.py::test_within_a_marker_threshold: b vs a: unchanged*",
        ]
    )


def test_a_regressed_b_fails_the_test_in_its_call_phase(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-p", "no:randomly")
    _check(result)
    assert "AssertionError" not in result.stdout.str()  # pytest.fail, no traceback


def test_under_xdist(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-n", "2", "--perf-json=report.json")
    _check(result)
    report = json.loads((suite.path / "report.json").read_text("utf-8"))
    assert [r["verdict"] for r in report["ab"]] == [
        "regressed",
        "unchanged",
        "regressed",
        "unchanged",
    ]


def test_reports(suite: pytest.Pytester) -> None:
    result = suite.runpytest(
        "--perf-json=r.json", "--perf-csv=r.csv", "--perf-markdown=r.md", "--junitxml=j.xml"
    )
    result.assert_outcomes(passed=3, failed=1)
    assert "not recorded" not in result.stdout.str()  # the history keeps the JSON document
    assert list(suite.path.glob(".pytest_cache/**/*history*"))
    document = json.loads((suite.path / "r.json").read_text("utf-8"))
    jsonschema.Draft202012Validator(load_schema()).validate(document)
    assert document["tests"] == []
    slower = next(r for r in document["ab"] if r["nodeid"].endswith("test_slower"))
    assert slower["labels"] == ["old-prompt", "new-prompt"]
    lat = next(m for m in slower["metrics"] if m["metric"] == "lat")
    assert lat["verdict"] == "regressed"
    assert (lat["a"]["median"], lat["b"]["median"]) == pytest.approx((101.0, 131.3))

    rows = list(csv.DictReader(io.StringIO((suite.path / "r.csv").read_text("utf-8"))))
    lat_row = next(r for r in rows if r["test"].endswith("test_slower") and r["metric"] == "lat")
    assert lat_row["ab_labels"] == "old-prompt|new-prompt"
    medians = (float(lat_row["baseline_median"]), float(lat_row["median"]))
    assert medians == pytest.approx((101.0, 131.3))
    assert lat_row["verdict"] == "regressed"
    assert float(lat_row["ratio_low"]) <= float(lat_row["ratio"]) <= float(lat_row["ratio_high"])

    markdown = (suite.path / "r.md").read_text("utf-8")
    assert "### A/B tests" in markdown
    assert "**regressed**" in markdown

    tree = ET.parse(suite.path / "j.xml")
    properties = {
        (case.get("name"), p.get("name")): p.get("value")
        for case in tree.iter("testcase")
        for p in case.iter("property")
    }
    assert properties[("test_slower", "perf.ab.verdict")] == "regressed"
    assert properties[("test_slower", "perf.ab.lat.ratio")].startswith("1.3")
    assert properties[("test_same", "perf.ab.verdict")] == "unchanged"


def test_never_saved_nor_compared(suite: pytest.Pytester) -> None:
    suite.runpytest("--perf-baseline=save").assert_outcomes(passed=3, failed=1)
    assert not (suite.path / ".perfbaseline").exists()
    result = suite.runpytest("--perf-compare")
    _check(result)


def test_fail_never_and_disable(suite: pytest.Pytester) -> None:
    suite.runpytest("--perf-fail=never").assert_outcomes(passed=4)
    suite.makepyfile(
        test_disabled="""
calls = []

def test_once_each(perf):
    result = perf.ab(lambda: calls.append("a"), lambda: calls.append("b"))
    assert calls == ["a", "b"]
    assert result.verdict == "not measured"
"""
    )
    result = suite.runpytest("--perf-disable", "test_disabled.py")
    result.assert_outcomes(passed=1)


def _ab_metric(name: str, verdict: str, ratio: float, *, gated: bool = True) -> ABMetric:
    return ABMetric(
        metric=name,
        verdict=verdict,  # type: ignore[arg-type]
        gated=gated,
        unit="s",
        higher_is_better=False,
        threshold=0.1,
        pairs=20,
        a=None,
        b=None,
        ratio=ratio,
        ratio_low=ratio,
        ratio_high=ratio,
        pvalue=None,
        alpha=None,
        method="exact (constant)",
    )


def test_the_deciding_metric_has_the_worst_verdict_then_the_largest_change() -> None:
    metrics = (
        _ab_metric("round_s", "unchanged", 1.04),
        _ab_metric("output_tokens", "improved", 0.5),
        _ab_metric("cost_usd", "improved", 0.8),
        _ab_metric("ttft_s", "regressed", 1.3, gated=False),
    )
    improved = ABResult(labels=("a", "b"), pairs=20, warmup=1, metrics=metrics, test_alpha=0.01)
    assert improved.verdict == "improved"
    worst = improved.worst
    assert worst is not None
    assert worst.metric == "output_tokens"  # not round_s, which moved up but is unchanged
    ((line, _),) = ab_terminal_lines([improved], verbose=False)[2:]
    assert "improved, 20 pairs; most changed: output_tokens" in line
    regressed = replace(improved, metrics=(*metrics, _ab_metric("e2e_s", "regressed", 1.2)))
    assert regressed.worst is not None
    assert regressed.worst.metric == "e2e_s"
    assert replace(improved, metrics=metrics[3:]).worst is None  # no gated metric
