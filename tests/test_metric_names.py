"""Metric identity is structured: what a value belongs to is recorded, not read from its name."""

from __future__ import annotations

import json
import re
import sys

import pytest
from fakes import INI, FakeClock, scripted, simulated_suite

from pytest_perfbaseline import Perf
from pytest_perfbaseline.gate.settings import DEFAULT_GATE, TestSettings
from pytest_perfbaseline.measure.compute import MetricNameClash
from pytest_perfbaseline.metrics.names import MetricName, legacy_name
from pytest_perfbaseline.metrics.result import TestResult
from pytest_perfbaseline.reports.terminal import breakdown_rows


@pytest.mark.parametrize(
    ("name", "key"),
    [
        (MetricName.of_round("ttft_s"), "ttft_s"),
        (MetricName("stream", "planner", "ttft_s"), "planner.ttft_s"),
        (MetricName("stream", "agent.planner", "ttft_s"), "agent.planner.ttft_s"),
        (MetricName("agent", "planner", "cost_usd"), "agent.planner.cost_usd"),
        (MetricName("model", "gpt-4.1", "output_tokens"), "model.gpt-4.1.output_tokens"),
        (MetricName.custom("phase.retrieval.hits"), "phase.retrieval.hits"),
    ],
)
def test_a_name_renders_its_key_and_survives_its_list_form(name: MetricName, key: str) -> None:
    assert name.key == key
    assert MetricName.from_list(name.to_list(), key) == name


@pytest.mark.parametrize(
    ("data", "key", "problem"),
    [
        (["stream", "planner"], "planner.ttft_s", "expected [scope, owner, quantity]"),
        (["galaxy", None, "x"], "x", "expected [scope, owner, quantity]"),
        (["round", "planner", "ttft_s"], "ttft_s", "takes no owner"),
        (["agent", None, "s"], "s", "needs owner"),
        (["agent", "a", "s"], "agent.b.s", "is named 'agent.a.s', not 'agent.b.s'"),
    ],
)
def test_a_malformed_list_form_is_refused(data: object, key: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        MetricName.from_list(data, key)


def test_legacy_names_are_read_the_way_old_files_wrote_them() -> None:
    assert legacy_name("agent.planner.s", custom=False) == MetricName("agent", "planner", "s")
    assert legacy_name("planner.ttft_s", custom=False) == MetricName("stream", "planner", "ttft_s")
    assert legacy_name("round_s", custom=False) == MetricName.of_round("round_s")
    assert legacy_name("phase.x.hits", custom=True) == MetricName.custom("phase.x.hits")


def test_names_like_spans_make_no_phantom_breakdown_rows(clock: FakeClock) -> None:
    def round_() -> None:
        list(perf.stream(scripted(clock, [(0.01, "a"), (0.01, "b")]), name="agent.planner"))
        with perf.phase("answer"):
            clock.advance(0.002)
        perf.metric("phase.retrieval.hits", 3)

    perf = Perf(rounds=2, warmup=0, clock=clock, cost_of=lambda usage: 0.0)
    perf(round_)
    result = perf.finish("t.py::test_x")

    assert result.name_of("agent.planner.ttft_s") == MetricName("stream", "agent.planner", "ttft_s")
    assert result.name_of("phase.retrieval.hits") == MetricName.custom("phase.retrieval.hits")
    assert result.infos["phase.retrieval.hits"].kind == "custom"
    # the phase that was opened is the only breakdown row: no agent "planner", no phase
    # "retrieval"
    assert breakdown_rows(result) == [("phase", "answer")]
    # the structure crosses to the controller and back (xdist, the JSON report)
    again = TestResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert breakdown_rows(again) == [("phase", "answer")]
    assert again.names == result.names


def test_two_metrics_with_one_name_are_an_error_naming_both(clock: FakeClock) -> None:
    perf = Perf(rounds=1, warmup=0, clock=clock, cost_of=lambda usage: 0.0)

    def round_() -> None:
        with perf.agent("planner"):
            perf.record_usage("m", 10, 5)
        list(perf.stream(scripted(clock, [(0.01, "a")]), name="agent.planner"))

    with pytest.raises(
        MetricNameClash, match=re.escape("both named 'agent.planner.output_tokens'")
    ) as info:
        perf(round_)
    assert "the stream named 'agent.planner'" in str(info.value)
    assert "agent 'planner'" in str(info.value)


BREAKDOWN_SUITE = (
    simulated_suite(jitter=0.0)
    + """

@pytest.mark.perf(rounds=3, warmup=0)
def test_pipeline(perf):
    def run():
        with perf.phase("answer"):
            list(perf.stream(llm.stream, "hi", max_tokens=5, format="openai", name="agent.planner"))
        perf.metric("phase.retrieval.hits", 3)
    perf(run)
"""
)


def test_breakdowns_and_reports_show_only_real_spans(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_names=BREAKDOWN_SUITE)
    result = pytester.runpytest("-v", "--perf-json=report.json")
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    breakdown = [line.split() for line in out.splitlines() if line.startswith(("phase ", "agent "))]
    assert [row[:2] for row in breakdown] == [["phase", "answer"]]
    metrics = json.loads((pytester.path / "report.json").read_text())["tests"][0]["metrics"]
    assert metrics["agent.planner.ttft_s"]["name"] == ["stream", "agent.planner", "ttft_s"]
    assert metrics["phase.retrieval.hits"]["name"] == ["custom", None, "phase.retrieval.hits"]
    assert metrics["phase.answer.s"]["name"] == ["phase", "answer", "s"]


def test_names_are_stored_in_the_baseline_and_read_back(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_names=BREAKDOWN_SUITE)
    pytester.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    (stored,) = (pytester.path / ".perfbaseline").rglob("*.json")
    (entry,) = json.loads(stored.read_text())["tests"].values()
    (session,) = entry["sessions"]
    assert session["metrics"]["agent.planner.ttft_s"]["name"] == [
        "stream",
        "agent.planner",
        "ttft_s",
    ]
    shown = pytester.run(sys.executable, "-m", "pytest_perfbaseline", "show", "test_pipeline")
    assert shown.ret == 0
    rows = [line.split()[:2] for line in shown.outlines if line.startswith(("phase ", "agent "))]
    assert rows == [["phase", "answer"]]


# -- the default gate, however it is given ------------------------------------------------------


def test_custom_metrics_are_gated_by_the_default_list_however_it_is_spelled() -> None:
    for gate in (DEFAULT_GATE, tuple(DEFAULT_GATE), tuple(reversed(DEFAULT_GATE))):
        assert TestSettings(gate=gate).gates("answer_quality", custom=True)
    assert not TestSettings(gate=("ttft_s",)).gates("answer_quality", custom=True)


CUSTOM_SUITE = """
import os
import pytest

@pytest.fixture
def perf_clock():
    return lambda: 0  # time stands still: only the custom metric can change

@pytest.mark.perf(rounds=5, warmup=0)
def test_hits(perf):
    perf(lambda: perf.metric("retries", float(os.environ.get("RETRIES", "2"))))
"""


@pytest.mark.parametrize("spelled", [None, ",".join(DEFAULT_GATE)])
def test_a_custom_metric_fails_the_test_with_the_default_gate_spelled_out(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, spelled: str | None
) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_custom=CUSTOM_SUITE)
    pytester.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    monkeypatch.setenv("RETRIES", "4")
    flags = ["--perf-compare"] + ([f"--perf-gate={spelled}"] if spelled else [])
    result = pytester.runpytest(*flags)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*retries: 2.000 -> 4.000*"])
