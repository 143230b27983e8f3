"""The machine check before a confirmation re-measure, through real pytest runs.

The inner suites run on simulated time (so their timings are exact), and their conftest
scripts this machine's reference probe: a burst that passes while the gate waits, a
slowdown that outlasts the wait, and a baseline saved on a faster machine.
"""

from __future__ import annotations

import pytest

INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"

SUITE = """
import os
import pytest
from pytest_perfbaseline import SimulatedModel


class Clock:
    now = 0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += round(seconds * 1e9)


clock = Clock()
SLOW = float(os.environ.get("PERF_TEST_SLOWDOWN", "1"))
llm = SimulatedModel(
    ttft_s=0.040 * SLOW, itl_s=0.005, jitter=0.02, jitter_seed=None, sleep=clock.sleep
)


@pytest.fixture
def perf_clock():
    return clock


@pytest.mark.perf(rounds=8, warmup=0)
def test_answer(perf):
    perf(lambda: list(perf.stream(llm.stream, "hi", max_tokens=8, format="openai")))
"""

# The probe the inner run sees: PERF_TEST_PROBE lists its samples in ms, one per call until
# the last, which repeats ("4" = always 4 ms; "4,9,9,4" = a burst that passes).
CONFTEST = """
import os
from pytest_perfbaseline import machine

# Installed at import, before pytest_sessionstart, where the gate first measures the machine.
SAMPLES = [float(v) / 1000 for v in os.environ["PERF_TEST_PROBE"].split(",")]
CALLS = iter(range(10**6))
ORIGINAL = machine.probe


def probe():
    # every sample of MachineWatch takes six probes
    return SAMPLES[min(next(CALLS) // 6, len(SAMPLES) - 1)]


machine.probe = probe


def pytest_unconfigure(config):
    machine.probe = ORIGINAL
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("PERF_TEST_SLOWDOWN", raising=False)
    monkeypatch.setenv("PERF_TEST_PROBE", "4")
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_answer=SUITE)
    # The inner conftest installs its scripted probe over the suite-wide steady one, and each
    # test passes its own --perf-settle (later arguments win over PYTEST_ADDOPTS).
    return pytester


def test_the_baseline_records_how_fast_its_machine_was(suite: pytest.Pytester) -> None:
    import json

    suite.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    [stored] = (suite.path / ".perfbaseline").rglob("*.json")
    env = json.loads(stored.read_text())["tests"]["test_answer"]["environment"]
    assert env["probe_s"] == pytest.approx(0.004)


def test_a_burst_that_passes_is_waited_out_and_a_real_regression_still_fails(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "3")
    # calibration 4 ms; when the regression is suspected the machine is in a burst (9 ms)
    # for two probes, then back to 4 ms
    monkeypatch.setenv("PERF_TEST_PROBE", "4,9,9,4")
    result = suite.runpytest("--perf-compare", "--perf-settle=5s")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*confirmed by re-measuring, after waiting 1 s for the machine to settle*"]
    )


def test_a_slowdown_the_slow_machine_explains_does_not_fail(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "1.4")  # TTFT +40% ...
    monkeypatch.setenv("PERF_TEST_PROBE", "6")  # ... on a machine 1.5x slower all along
    result = suite.runpytest("--perf-compare", "--perf-settle=0", "--perf-json=r.json")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*not failed: test_answer.py::test_answer: *ttft_s slowed down, but this machine "
            "itself ran 1.50x slower than it should*"
        ]
    )
    import json

    comparison = json.loads((suite.path / "r.json").read_text())["tests"][0]["comparison"]
    assert "ttft_s" in comparison["excused"]
    assert comparison["machine_slowdown"] == pytest.approx(1.5)


def test_a_slowdown_beyond_the_slow_machine_still_fails(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "3")
    monkeypatch.setenv("PERF_TEST_PROBE", "6")
    result = suite.runpytest("--perf-compare", "--perf-settle=0")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*this machine ran 1.50x slower than it should; the regression is larger than that*"]
    )
