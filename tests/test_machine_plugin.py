"""The machine check before a confirmation re-measure, through real pytest runs.

The inner suites run on simulated time (so their timings are exact), and their conftest
scripts this machine's reference probe: a busy window that passes while the gate waits, and
one that outlasts the wait. The wait itself runs on a fake clock as well.

A save records the probe with the baseline, so a compare session that is busy from its first
second to its last is still told from a quiet one, when it runs on the same kind of machine.
"""

from __future__ import annotations

import json

import pytest
from fakes import INI, simulated_suite

SUITE = (
    simulated_suite(jitter=0.02)
    + """


@pytest.mark.perf(rounds=8, warmup=0)
def test_answer(perf):
    tokens = 8 + EXTRA_TOKENS
    perf(lambda: list(perf.stream(llm.stream, "hi", max_tokens=tokens, format="openai")))
"""
)

# The probe the inner run sees: PERF_TEST_PROBE lists its samples in ms, one per sample
# until the last, which repeats ("4" = always 4 ms; "4,9,9,4" = a busy window that passes).
# The gate's wait for the machine to settle runs on a fake clock that its sleeps advance, so
# the waits are exact and cost no real time.
CONFTEST = """
import os
# Not "from pytest_perfbaseline.gate import machine": pytester's inline runs drop the modules they
# imported, while the package keeps its old submodule attribute; that would patch a stale copy.
import pytest_perfbaseline.gate.machine as machine

# Installed at import, before pytest_sessionstart, where the gate first measures the machine.
SAMPLES = [float(v) / 1000 for v in os.environ["PERF_TEST_PROBE"].split(",")]
CALLS = iter(range(10**6))
ORIGINAL = machine.probe, machine.MachineWatch


def probe():
    # every sample of MachineWatch takes six probes
    return SAMPLES[min(next(CALLS) // 6, len(SAMPLES) - 1)]


class WaitClock:
    now = 0.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class ScriptedWatch(machine.MachineWatch):
    def __init__(self):
        clock = WaitClock()
        super().__init__(sleep=clock.sleep, monotonic=clock.monotonic)


machine.probe = probe
machine.MachineWatch = ScriptedWatch


def pytest_unconfigure(config):
    machine.probe, machine.MachineWatch = ORIGINAL
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("PERF_TEST_SLOWDOWN", raising=False)
    monkeypatch.delenv("PERF_TEST_EXTRA_TOKENS", raising=False)
    monkeypatch.setenv("PERF_TEST_PROBE", "4")
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_answer=SUITE)
    # The inner conftest installs its scripted probe over the suite-wide steady one, and each
    # test passes its own --perf-settle (later arguments win over PYTEST_ADDOPTS).
    return pytester


def test_a_busy_window_that_passes_is_waited_out_and_a_real_regression_still_fails(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "3")
    # the session starts quiet (4 ms); when the regression is suspected the machine is busy
    # (12 ms) for two samples, then quiet again for the re-measure and after it
    monkeypatch.setenv("PERF_TEST_PROBE", "4,12,12,4")
    result = suite.runpytest("--perf-compare", "--perf-settle=5s")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*confirmed by re-measuring, after waiting * s for the machine to settle*"]
    )


def test_a_time_regression_re_measured_on_a_busy_machine_does_not_fail(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "3")
    monkeypatch.setenv("PERF_TEST_PROBE", "4,10")  # busy from the suspicion on, for good
    result = suite.runpytest("--perf-compare", "--perf-settle=1s", "--perf-json=r.json")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*not failed: test_answer.py::test_answer: *ttft_s slowed down, but the machine was "
            "busy while re-measuring (its reference probe ran 2.5x slower than at its best*"
        ]
    )
    comparison = json.loads((suite.path / "r.json").read_text())["tests"][0]["comparison"]
    assert "ttft_s" in comparison["excused"]
    assert comparison["machine_slowdown"] == pytest.approx(2.5)
    assert comparison["settle_waited_s"] >= 1.0


def test_a_busy_machine_does_not_excuse_a_token_regression(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    monkeypatch.setenv("PERF_TEST_EXTRA_TOKENS", "4")  # 8 -> 12 output tokens, every round
    monkeypatch.setenv("PERF_TEST_PROBE", "4,10")
    result = suite.runpytest("--perf-compare", "--perf-settle=1s", "--perf-gate=output_tokens")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*output_tokens: 8 -> 12*compared exactly*"])


def saved_environments(suite: pytest.Pytester) -> list[dict[str, object]]:
    files = sorted((suite.path / ".perfbaseline").rglob("*.json"))
    assert files
    return [
        session["environment"]
        for path in files
        for test in json.loads(path.read_text())["tests"].values()
        for session in test["sessions"]
    ]


def test_a_save_records_the_probe_and_no_check_records_none(suite: pytest.Pytester) -> None:
    suite.runpytest("--perf-baseline=save", "--perf-settle=1s").assert_outcomes(passed=1)
    assert [env["machine_probe_s"] for env in saved_environments(suite)] == [0.004]
    suite.runpytest("--perf-baseline=save", "--perf-settle=0").assert_outcomes(passed=1)
    # The second session is kept beside the first, each with its own environment.
    assert [env["machine_probe_s"] for env in saved_environments(suite)] == [0.004, None]


def test_a_session_busy_from_start_to_end_is_told_by_the_saved_probe(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite.runpytest("--perf-baseline=save", "--perf-settle=1s").assert_outcomes(passed=1)
    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "3")
    monkeypatch.setenv("PERF_TEST_PROBE", "10")  # busy all along: never faster than 10 ms
    result = suite.runpytest("--perf-compare", "--perf-settle=1s", "--perf-json=r.json")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*not failed: test_answer.py::test_answer: *ttft_s slowed down*"])
    comparison = json.loads((suite.path / "r.json").read_text())["tests"][0]["comparison"]
    assert comparison["machine_slowdown"] == pytest.approx(2.5)


def test_a_probe_saved_on_another_kind_of_machine_is_not_a_reference(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite.runpytest("--perf-baseline=save", "--perf-settle=1s").assert_outcomes(passed=1)
    for path in (suite.path / ".perfbaseline").rglob("*.json"):
        document = json.loads(path.read_text())
        for test in document["tests"].values():
            test["sessions"][-1]["environment"]["cpu"] = "another CPU"
        path.write_text(json.dumps(document))
    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "3")
    monkeypatch.setenv("PERF_TEST_PROBE", "10")  # slower than the baseline's, but steady
    result = suite.runpytest("--perf-compare", "--perf-settle=1s")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*confirmed by re-measuring*"])
