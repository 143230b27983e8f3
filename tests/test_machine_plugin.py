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
ORIGINAL = machine.probe, machine.cpu_probe, machine.MachineWatch


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
    def __init__(self, **kwargs):
        clock = WaitClock()
        super().__init__(sleep=clock.sleep, monotonic=clock.monotonic, **kwargs)


machine.probe = probe
machine.cpu_probe = lambda: 0.001  # a steady CPU: the scripted probe alone tells busy from quiet
machine.MachineWatch = ScriptedWatch


def pytest_unconfigure(config):
    machine.probe, machine.cpu_probe, machine.MachineWatch = ORIGINAL
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


def test_a_regression_a_busy_machine_explains_is_undecided_and_fails_by_default(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "2")  # time to first token 2x
    # busy from the suspicion on, for good: the probe runs 10x slower, which explains 2x for
    # any workload that uses the CPU a fifth of the time or more (this one is pure CPU)
    monkeypatch.setenv("PERF_TEST_PROBE", "4,40")
    result = suite.runpytest("--perf-compare", "--perf-settle=1s", "--perf-json=r.json")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*performance undecided in test_answer.py::test_answer: it slowed down while the "
            "machine was busy*",
            "*re-measured 2 times, after waiting 2 s for the machine to settle*",
            "*the machine was busy while re-measuring: its reference probe ran 10.0x slower*",
            "*--perf-undecided=pass*",
            "*undecided: test_answer.py::test_answer: *ttft_s slowed down while the machine was "
            "busy*",
        ]
    )
    comparison = json.loads((suite.path / "r.json").read_text())["tests"][0]["comparison"]
    assert comparison["verdict"] == "undecided"
    assert comparison["metrics"]["ttft_s"]["verdict"] == "undecided"
    recheck = comparison["recheck"]
    assert recheck["confirmation"] == "undecided"
    assert recheck["attempts"] == 2
    assert recheck["machine_slowdown"] == pytest.approx(10.0)
    assert recheck["waited_s"] >= 2.0
    assert recheck["cpu_share"] > 0


def test_undecided_passes_when_the_policy_says_so(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "2")
    monkeypatch.setenv("PERF_TEST_PROBE", "4,40")
    result = suite.runpytest(
        "--perf-compare", "--perf-settle=1s", "--perf-undecided=pass", "--junitxml=j.xml"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*compared with profile *: 1 undecided*"])
    assert 'name="perf.verdict" value="undecided"' in (suite.path / "j.xml").read_text()


def test_a_regression_larger_than_a_busy_machine_explains_fails(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "30")  # 30x: no busy machine explains that
    monkeypatch.setenv("PERF_TEST_PROBE", "4,10")  # 2.5x slower from the suspicion on
    result = suite.runpytest(
        "--perf-compare", "--perf-settle=1s", "--perf-undecided=pass", "--perf-json=r.json"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*performance regression in test_answer.py::test_answer*", "*confirmed by re-measuring*"]
    )
    comparison = json.loads((suite.path / "r.json").read_text())["tests"][0]["comparison"]
    assert comparison["metrics"]["ttft_s"]["verdict"] == "regressed"
    assert comparison["recheck"]["explainable"] <= 2.5


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
    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "2")
    monkeypatch.setenv("PERF_TEST_PROBE", "40")  # busy all along: never faster than 40 ms
    result = suite.runpytest(
        "--perf-compare", "--perf-settle=1s", "--perf-undecided=pass", "--perf-json=r.json"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*undecided: test_answer.py::test_answer: *ttft_s slowed down*"])
    comparison = json.loads((suite.path / "r.json").read_text())["tests"][0]["comparison"]
    assert comparison["recheck"]["machine_slowdown"] == pytest.approx(10.0)


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
