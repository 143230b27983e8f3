"""A session does not keep each test's measurements alive: its Perf goes after its report.

How much memory a session keeps per test is measured by benchmarks/memory_per_test.py.
"""

from __future__ import annotations

import json

import pytest
from fakes import simulated_project, simulated_suite

TEST_FILE = (
    simulated_suite(jitter=0.0)
    + """
import gc
import weakref

PERFS = []


@pytest.mark.parametrize("i", range(3))
@pytest.mark.perf(rounds=2, warmup=0)
def test_stream(perf, i):
    PERFS.append(weakref.ref(perf))
    perf(lambda: list(perf.stream(llm.stream, "hi", max_tokens=50, format="openai")))
    assert perf.rounds  # usable to the end of the test


def test_zz_every_perf_was_released():
    gc.collect()
    assert len(PERFS) == 3
    assert [ref() for ref in PERFS] == [None, None, None]
"""
)


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    return simulated_project(pytester, monkeypatch, test_release=TEST_FILE)


@pytest.mark.parametrize("flags", [[], ["--perf-disable"]], ids=["on", "disabled"])
def test_a_tests_perf_is_released_after_its_teardown(
    project: pytest.Pytester, flags: list[str]
) -> None:
    project.runpytest("-p", "no:randomly", *flags).assert_outcomes(passed=4)


def test_released_results_still_reach_the_baseline_and_the_summary(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest("-p", "no:randomly", "--perf-baseline=save")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*perfbaseline: 3 perf tests*", "*saved 3 tests to*"])
    [stored] = sorted((project.path / ".perfbaseline").rglob("*.json"))
    assert sorted(json.loads(stored.read_text())["tests"]) == [
        f"test_stream[{i}]" for i in range(3)
    ]
    again = project.runpytest("-p", "no:randomly", "--perf-compare")
    again.assert_outcomes(passed=4)
