"""Multi-session baselines: storage, pooling, drift allowance, fresh starts, and the gate."""

from __future__ import annotations

import json
import math
import random
import re
import statistics
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from fakes import COST, ENV, ONE_TEST_SUITE, TIME, TOKENS, simulated_project

from pytest_perfbaseline.baseline import codec
from pytest_perfbaseline.baseline.environment import Environment
from pytest_perfbaseline.baseline.sessions import (
    drift_allowance,
    level_changed,
    median_noise,
    pool_sessions,
    t_quantile_95,
)
from pytest_perfbaseline.baseline.store import BaselineError, BaselineStore, SaveReport
from pytest_perfbaseline.gate.compare import compare_metric
from pytest_perfbaseline.gate.judge import Judge, Reference
from pytest_perfbaseline.gate.settings import TestSettings
from pytest_perfbaseline.metrics.result import TestResult
from pytest_perfbaseline.reports.terminal import render_comparisons

PROFILE = "linux-x86_64-2cpu"
NODEID = "tests/test_chat.py::test_answer"


def make_result(
    ttft: Sequence[float], tokens: Sequence[float] | None = None, cost: float = 0.001
) -> TestResult:
    counts = tokens if tokens is not None else [32.0] * len(ttft)
    rounds = tuple(
        {"ttft_s": t, "output_tokens": n, "cost_usd": cost}
        for t, n in zip(ttft, counts, strict=True)
    )
    return TestResult(
        nodeid=NODEID,
        rounds=rounds,
        infos={"ttft_s": TIME, "output_tokens": TOKENS, "cost_usd": COST},
        itl_histogram=(),
        itl_pooled=None,
        token_sources={"": "usage"},
        rounds_requested=len(ttft),
        warmup=1,
        implicit=False,
    )


def env(saved_at: str, probe: float | None = None, cpu: str | None = ENV.cpu) -> Environment:
    return replace(ENV, saved_at=saved_at, machine_probe_s=probe, cpu=cpu)


def store_at(tmp_path: Path) -> BaselineStore:
    return BaselineStore(tmp_path / ".perfbaseline", PROFILE)


def save(store: BaselineStore, result: TestResult, when: str, **kwargs: object) -> SaveReport:
    report = store.save([(result, env(when))], **kwargs)  # type: ignore[arg-type]
    assert report.errors == ()
    assert report.saved == (NODEID,)
    return report


def stored_sessions(store: BaselineStore) -> list[dict[str, object]]:
    document = json.loads(store.path_for(NODEID).read_text(encoding="utf-8"))
    sessions: list[dict[str, object]] = document["tests"]["test_answer"]["sessions"]
    return sessions


def saved_at(store: BaselineStore) -> list[object]:
    return [s["environment"]["saved_at"] for s in stored_sessions(store)]  # type: ignore[index]


# -- storage ----------------------------------------------------------------------------------


def test_sessions_are_kept_newest_last_and_load_pooled(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    save(store, make_result([0.100, 0.102, 0.098]), "2026-11-01T00:00:00Z")
    save(store, make_result([0.101, 0.103, 0.099]), "2026-11-02T00:00:00Z")

    assert saved_at(store) == ["2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"]
    entry = store_at(tmp_path).load(NODEID)
    assert entry is not None
    assert entry.sessions == 2
    assert entry.drift == {}  # fewer than 3 sessions: no allowance
    assert len(entry.result.values("ttft_s")) == 6
    assert entry.result.values("output_tokens") == [32.0, 32.0, 32.0]
    assert entry.environment.saved_at == "2026-11-02T00:00:00Z"


def test_saving_identical_data_gives_identical_bytes(tmp_path: Path) -> None:
    first, second = store_at(tmp_path / "a"), store_at(tmp_path / "b")
    for store in (first, second):
        for day in (1, 2, 3, 4):
            save(store, make_result([0.1, 0.11, 0.09]), f"2026-11-0{day}T00:00:00Z")
    data = first.path_for(NODEID).read_bytes()
    assert data == second.path_for(NODEID).read_bytes()
    # one line per metric and session
    assert data.decode().count('"values": [0.1, 0.11, 0.09]') == 3


def test_only_the_last_k_sessions_are_kept(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    for day in range(1, 6):
        save(store, make_result([0.1, 0.1 + day / 1000]), f"2026-11-0{day}T00:00:00Z")
    assert saved_at(store) == [f"2026-11-0{day}T00:00:00Z" for day in (3, 4, 5)]

    save(store, make_result([0.1, 0.1]), "2026-11-06T00:00:00Z", sessions=2)
    assert saved_at(store) == ["2026-11-05T00:00:00Z", "2026-11-06T00:00:00Z"]

    with pytest.raises(ValueError, match="at least 1"):
        store.save([(make_result([0.1]), ENV)], sessions=0)


def test_fresh_replaces_the_stored_sessions(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    save(store, make_result([0.1, 0.1]), "2026-11-01T00:00:00Z")
    save(store, make_result([0.1, 0.1]), "2026-11-02T00:00:00Z")

    report = save(store, make_result([0.1, 0.1]), "2026-11-03T00:00:00Z", fresh=True)

    assert saved_at(store) == ["2026-11-03T00:00:00Z"]
    assert report.restarted == ()  # asked for: not a level change


def test_a_level_change_starts_afresh(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    for day in (1, 2, 3):
        save(store, make_result([0.100, 0.101, 0.099]), f"2026-11-0{day}T00:00:00Z")

    within = save(store, make_result([0.108, 0.109, 0.107]), "2026-11-04T00:00:00Z")
    assert within.restarted == ()
    assert len(stored_sessions(store)) == 3

    slower = save(store, make_result([0.130, 0.131, 0.129]), "2026-11-05T00:00:00Z")
    assert slower.restarted == (NODEID,)
    assert saved_at(store) == ["2026-11-05T00:00:00Z"]

    faster = save(store, make_result([0.100, 0.101, 0.099]), "2026-11-06T00:00:00Z")
    assert faster.restarted == (NODEID,)  # an improvement is a new level too
    within = save(store, make_result([0.108, 0.109, 0.107]), "2026-11-07T00:00:00Z")
    assert within.restarted == ()


def test_stored_sessions_that_disagree_are_drift_not_a_level(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    for day, value in enumerate((0.100, 0.109, 0.118), start=1):  # each within 10% of the last
        report = save(store, make_result([value] * 3), f"2026-11-0{day}T00:00:00Z")
        assert report.restarted == ()
    # 0.100 and 0.118 disagree by more than the threshold: the stored sessions show drift,
    # so a session 10% off the nearest is added (the oldest dropped), not a new level
    report = save(store, make_result([0.130] * 3), "2026-11-04T00:00:00Z")
    assert report.restarted == ()
    assert saved_at(store) == [f"2026-11-0{day}T00:00:00Z" for day in (2, 3, 4)]


def test_an_improvement_is_a_new_level_too(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    for day in (1, 2):
        save(store, make_result([0.130, 0.131, 0.129]), f"2026-11-0{day}T00:00:00Z")
    faster = save(store, make_result([0.100, 0.101, 0.099]), "2026-11-03T00:00:00Z")
    assert faster.restarted == (NODEID,)


def test_a_level_change_uses_the_tests_thresholds(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    save(store, make_result([0.100, 0.101]), "2026-10-31T00:00:00Z")
    save(store, make_result([0.100, 0.101]), "2026-11-01T00:00:00Z")
    lax = {NODEID: {"ttft_s": 0.5}}

    report = save(store, make_result([0.130, 0.131]), "2026-11-02T00:00:00Z", thresholds=lax)
    assert report.restarted == ()
    assert len(stored_sessions(store)) == 3

    ungated = {NODEID: {}}  # ttft_s not gated: it never starts a fresh history
    report = save(store, make_result([0.5, 0.5]), "2026-11-03T00:00:00Z", thresholds=ungated)
    assert report.restarted == ()


def test_counts_and_cost_do_not_start_afresh() -> None:
    stored = [make_result([0.1, 0.1], tokens=[32, 32])] * 2
    assert not level_changed(stored, make_result([0.1, 0.1], tokens=[64, 64]), None)
    assert level_changed(stored, make_result([0.12, 0.12]), None)
    # stored sessions 20% apart are drift: 0.12 is no new level beside them
    drifting = [make_result([0.1, 0.1]), make_result([0.12, 0.12])]
    assert not level_changed(drifting, make_result([0.135, 0.135]), None)


OLD_FORMAT = {
    "schema": 1,
    "tests": {
        "test_answer": {
            "environment": {"saved_at": "2026-10-01T00:00:00Z"},
            "future_note": "kept",
            "rounds": 2,
            "metrics": {
                "ttft_s": {"kind": "time", "unit": "s", "values": [0.1, 0.1]},
                "output_tokens": {"kind": "count", "unit": "tokens", "values": [32, 32]},
            },
        }
    },
}


def test_a_file_in_the_old_format_reads_as_one_session_and_is_extended(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    path = store.path_for(NODEID)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(OLD_FORMAT), encoding="utf-8")

    entry = store.load(NODEID)
    assert entry is not None
    assert (entry.sessions, entry.result.values("ttft_s")) == (1, [0.1, 0.1])
    assert entry.environment.saved_at == "2026-10-01T00:00:00Z"

    save(store_at(tmp_path), make_result([0.1, 0.1]), "2026-11-01T00:00:00Z")

    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["schema"] == 2
    test = document["tests"]["test_answer"]
    assert test["future_note"] == "kept"
    assert set(test) == {"future_note", "sessions"}
    assert saved_at(store) == ["2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z"]


def test_an_older_reader_refuses_a_multi_session_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = store_at(tmp_path)
    save(store, make_result([0.1, 0.1]), "2026-11-01T00:00:00Z")
    monkeypatch.setattr(codec, "SCHEMA_VERSION", 1)  # a plugin from before sessions
    with pytest.raises(BaselineError, match=r"newer pytest-perfbaseline \(schema 2 > 1\)"):
        store_at(tmp_path).load(NODEID)


@pytest.mark.parametrize(
    ("sessions", "problem"),
    [([], "an empty list"), ({}, "an object"), ([{"rounds": 1}], 'sessions[0] has no "metrics"')],
)
def test_a_bad_sessions_list_makes_the_file_bad(
    tmp_path: Path, sessions: object, problem: str
) -> None:
    store = store_at(tmp_path)
    path = store.path_for(NODEID)
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps({"schema": 2, "tests": {"test_answer": {"sessions": sessions}}}),
        encoding="utf-8",
    )
    with pytest.raises(BaselineError, match=re.escape(problem)):
        store.load(NODEID)


# -- pooling and the allowance, by hand --------------------------------------------------------


def test_pooled_values_and_allowance_by_hand() -> None:
    sessions = [
        (make_result([1.0, 2.0, 3.0], tokens=[30, 30, 30]), env("d1", probe=0.004)),
        (make_result([2.0, 4.0, 6.0], tokens=[31, 31, 31]), env("d2", probe=0.003, cpu="other")),
        (make_result([4.0, 8.0, 12.0], tokens=[32, 32, 32]), env("d3", probe=0.005)),
    ]
    pooled = pool_sessions(sessions)

    # medians 2, 4, 8: centre exp(mean(log)) = 4, so the sessions are scaled by 2, 1, 1/2
    assert pooled.result.values("ttft_s") == pytest.approx([2, 4, 6] * 3, rel=1e-12)
    assert pooled.result.values("output_tokens") == [32, 32, 32]  # the newest session's
    assert pooled.result.values("cost_usd") == [0.001] * 3
    # var(log 2, log 4, log 8) = log(2)^2, less a median's own noise: pi/2 * var(log 1, log 2,
    # log 3) / 3 (the same in each session, being a scaled copy); t(2, 0.95) = 2.919986
    noise = math.pi / 2 * statistics.variance([0.0, math.log(2), math.log(3)]) / 3
    expected = math.exp(2.919986 * math.sqrt((math.log(2) ** 2 - noise) * 4 / 3))
    assert pooled.drift == {"ttft_s": pytest.approx(expected, rel=1e-6)}
    assert pooled.drift["ttft_s"] == pytest.approx(6.7120, rel=1e-4)
    assert pooled.sessions == 3
    assert pooled.environment.saved_at == "d3"
    assert pooled.environment.machine_probe_s == 0.004  # "other" CPU: its 3 ms does not count


def test_the_allowance_needs_three_sessions() -> None:
    assert drift_allowance([0.0, 0.1]) == 1.0
    assert drift_allowance([0.0, 0.0, 0.0]) == 1.0
    assert drift_allowance([-0.01, 0.0, 0.01]) == pytest.approx(
        math.exp(2.919986 * 0.01 * math.sqrt(4 / 3)), rel=1e-6
    )
    # the rounds' own noise is taken out of the medians' spread, down to none at all
    assert drift_allowance([-0.01, 0.0, 0.01], median_noise=0.00005) == pytest.approx(
        math.exp(2.919986 * math.sqrt(0.00005 * 4 / 3)), rel=1e-6
    )
    assert drift_allowance([-0.01, 0.0, 0.01], median_noise=0.001) == 1.0


def test_median_noise_is_the_asymptotic_variance_of_a_median() -> None:
    samples = [[1.0, math.e, math.e**2], [1.0, math.e, math.e**2, math.e**3]]
    expected = (math.pi / 2 * 1.0 / 3 + math.pi / 2 * statistics.variance([0, 1, 2, 3]) / 4) / 2
    assert median_noise(samples) == pytest.approx(expected)
    assert median_noise([[2.0]]) == 0.0


@pytest.mark.parametrize(
    ("df", "quantile"),
    [(1, 6.3138), (2, 2.9200), (10, 1.8125), (30, 1.6973), (31, 1.6955), (60, 1.6706),
     (120, 1.6577), (1000, 1.6464)],
)  # fmt: skip
def test_t_quantiles(df: int, quantile: float) -> None:  # scipy.stats.t.ppf(0.95, df)
    assert t_quantile_95(df) == pytest.approx(quantile, abs=1e-4)


def test_values_at_or_below_zero_are_not_pooled() -> None:
    sessions = [(make_result([0.0, 1.0]), ENV), (make_result([2.0, 3.0]), ENV)]
    pooled = pool_sessions(sessions)
    assert pooled.result.values("ttft_s") == [2.0, 3.0]
    assert pooled.drift == {}


# -- the gate ---------------------------------------------------------------------------------


def test_the_allowance_widens_the_margin() -> None:
    base = [1.0, 1.01, 0.99, 1.02, 0.98, 1.0, 1.01, 0.99, 1.02, 0.98]
    slower = [v * 1.25 for v in base]
    plain = compare_metric(base, slower, higher_is_better=False, threshold=0.1, alpha=0.01)
    widened = compare_metric(
        base, slower, higher_is_better=False, threshold=0.1, alpha=0.01, drift=1.2
    )
    assert (plain.verdict, plain.drift) == ("regressed", None)
    assert widened.verdict != "regressed"
    assert widened.drift == 1.2

    exact = compare_metric([1.0] * 3, [1.15] * 3, higher_is_better=False, threshold=0.1, alpha=1)
    assert exact.verdict == "regressed"
    exact = compare_metric(
        [1.0] * 3, [1.15] * 3, higher_is_better=False, threshold=0.1, alpha=1, drift=1.05
    )
    assert exact.verdict == "unchanged"

    linear = compare_metric(
        [-1.0, 0.0, 1.0] * 3, [0.5, 1.5, 2.5] * 3, higher_is_better=False, threshold=0.1, alpha=0.5
    )
    assert linear.verdict == "regressed"
    linear = compare_metric(
        [-1.0, 0.0, 1.0] * 3,
        [0.5, 1.5, 2.5] * 3,
        higher_is_better=False,
        threshold=0.1,
        alpha=0.5,
        drift=2.0,
    )
    assert linear.verdict != "regressed"


def test_the_judge_passes_the_allowance_and_the_message_shows_it() -> None:
    base = make_result([1.0, 1.01, 0.99, 1.02, 0.98, 1.0, 1.01, 0.99, 1.02, 0.98])
    current = make_result([v * 1.6 for v in base.values("ttft_s")])
    judge = Judge(alpha=0.01, perf_tests=1, max_age_s=None, here=ENV)
    reference = Reference(base, ENV, PROFILE, drift={"ttft_s": 1.041}, sessions=3)

    comparison = judge.judge(reference, current, TestSettings())

    [ttft] = [c for c in comparison.comparisons if c.metric == "ttft_s"]
    assert (ttft.verdict, ttft.drift, comparison.baseline_sessions) == ("regressed", 1.041, 3)
    message = judge.failure_message(comparison)
    assert (
        "threshold 10% + between-session drift allowance +4.1% from 3 baseline sessions" in message
    )
    verbose = render_comparisons([comparison], verbose=True)
    assert verbose[-1] == (
        f"{NODEID} ttft_s: limit widened by the between-session drift allowance +4.1% "
        "from 3 baseline sessions"
    )
    assert not any("drift" in line for line in render_comparisons([comparison], verbose=False))
    without = judge.judge(Reference(base, ENV, PROFILE), current, TestSettings())
    assert "drift" not in judge.failure_message(without)


# -- a seeded simulation ------------------------------------------------------------------------


def _session(rng: random.Random, offset: float, rounds: int = 10) -> list[float]:
    return [math.exp(offset + rng.gauss(0.0, 0.05)) for _ in range(rounds)]


def _rejection_rate(sigma: float, slowdown: float, suites: int, seed: int) -> float:
    """Suites of K=3 stored sessions with between-session log offsets N(0, sigma) and 5%
    noise within each, against a new session: how often the gate says "regressed"."""
    rng = random.Random(seed)
    rejected = 0
    for _ in range(suites):
        sessions = [(make_result(_session(rng, rng.gauss(0.0, sigma))), ENV) for _ in range(3)]
        pooled = pool_sessions(sessions)
        new = _session(rng, rng.gauss(0.0, sigma) + math.log(slowdown))
        comparison = compare_metric(
            pooled.result.values("ttft_s"),
            new,
            higher_is_better=False,
            threshold=0.1,
            alpha=0.01,
            drift=pooled.drift.get("ttft_s", 1.0),
        )
        rejected += comparison.verdict == "regressed"
    return rejected / suites


@pytest.mark.parametrize("sigma", [0.0, 0.025, 0.05, 0.10])
def test_simulated_false_alarms_stay_within_alpha(sigma: float) -> None:
    assert _rejection_rate(sigma, 1.0, suites=2000, seed=7) <= 0.01


def test_simulated_slowdowns_are_detected() -> None:
    # From 3 sessions the allowance is a wide bound (t = 2.92 with 2 degrees of freedom): at
    # 2.5% session drift a 30% slowdown is caught about 4 times in 5, a 50% one always; at
    # 1% drift, 30% nearly always.
    assert _rejection_rate(0.025, 1.3, suites=2000, seed=8) >= 0.75
    assert _rejection_rate(0.025, 1.5, suites=2000, seed=9) >= 0.98
    assert _rejection_rate(0.01, 1.3, suites=2000, seed=8) >= 0.95


def test_without_the_allowance_session_drift_raises_false_alarms() -> None:
    # What the allowance is for: the same suites, gated on the newest session alone.
    rng = random.Random(10)
    alarms = 0
    for _ in range(1000):
        stored = _session(rng, rng.gauss(0.0, 0.10))
        new = _session(rng, rng.gauss(0.0, 0.10))
        c = compare_metric(stored, new, higher_is_better=False, threshold=0.1, alpha=0.01)
        alarms += c.verdict == "regressed"
    assert alarms / 1000 > 0.05


# -- through pytest ----------------------------------------------------------------------------


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    return simulated_project(pytester, monkeypatch, test_life=ONE_TEST_SUITE)


def file_sessions(project: pytest.Pytester) -> int:
    [path] = (project.path / ".perfbaseline").rglob("*.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    return len(document["tests"]["test_answer"]["sessions"])


def test_sessions_through_pytest(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    # sessions that drift by a few percent; a lax threshold for the saves, so that the drift
    # plus the rounds' jitter never reads as a new level (no fresh start)
    for expected, slowdown in ((1, "1.0"), (2, "1.06"), (3, "0.95"), (3, "1.04")):
        monkeypatch.setenv("PERF_TEST_SLOWDOWN", slowdown)
        result = project.runpytest("--perf-baseline=save", "--perf-threshold=30%")
        result.assert_outcomes(passed=1)
        assert file_sessions(project) == expected
    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "1.0")
    result = project.runpytest("--perf-compare", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*test_answer ttft_s: limit widened by the between-session drift allowance +*% from 3*"]
    )

    project.runpytest("--perf-baseline=save", "--perf-baseline-sessions=2").assert_outcomes(
        passed=1
    )
    assert file_sessions(project) == 2
    project.runpytest("--perf-baseline=save", "--perf-baseline-fresh").assert_outcomes(passed=1)
    assert file_sessions(project) == 1

    project.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "1.5")
    result = project.runpytest("--perf-baseline=save")
    result.stdout.fnmatch_lines(["saved 1 test to * (1 file; 1 started afresh, its performance*"])
    assert file_sessions(project) == 1


def test_a_tests_threshold_reaches_the_save_from_xdist_workers(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    project.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "1.5")
    result = project.runpytest("-n", "2", "--perf-baseline=save", "--perf-threshold=80%")
    result.assert_outcomes(passed=1)
    assert "started afresh" not in result.stdout.str()
    assert file_sessions(project) == 3


@pytest.mark.parametrize("value", ["0", "-1", "x"])
def test_a_bad_session_count_is_a_usage_error(project: pytest.Pytester, value: str) -> None:
    result = project.runpytest(f"--perf-baseline-sessions={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--perf-baseline-sessions*"])


def test_show_says_how_many_sessions_are_pooled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pytest_perfbaseline.cli import main

    monkeypatch.chdir(tmp_path)
    store = store_at(tmp_path)
    for day, scale in ((1, 1.0), (2, 1.02), (3, 0.99)):
        save(store, make_result([0.1 * scale, 0.101 * scale]), f"2026-11-0{day}T00:00:00Z")

    assert main(["show", "test_answer"]) == 0

    out = capsys.readouterr().out
    drift = store.load(NODEID).drift["ttft_s"]  # type: ignore[union-attr]
    assert "  sessions: 3 pooled (the newest saved above); drift allowance: ttft_s +" in out
    assert f"ttft_s {(drift - 1) * 100:+.1f}%" in out


# -- loading: the same reference, however it is computed ---------------------------------------


@pytest.mark.skipif(
    sys.version_info < (3, 11),
    reason="statistics.variance rounds its deviations before 3.11",
)
def test_the_noise_and_the_allowance_are_exactly_those_of_statistics() -> None:
    rng = random.Random(12)
    for _ in range(300):
        samples = [
            [rng.lognormvariate(-3.0, 0.2) for _ in range(rng.choice([2, 3, 30]))] for _ in range(3)
        ]
        logs = [[math.log(v) for v in values] for values in samples]
        noise = statistics.fmean(
            math.pi / 2 * statistics.variance(x) / len(x) for x in logs if len(x) > 1
        )
        log_medians = [math.log(statistics.median(values)) for values in samples]
        spread = max(0.0, statistics.variance(log_medians) - noise)

        assert median_noise(samples) == noise  # exactly, not approximately
        assert drift_allowance(log_medians, noise) == math.exp(
            t_quantile_95(2) * math.sqrt(spread * (1 + 1 / 3))
        )


def test_a_loaded_entry_pools_its_sessions_exactly_as_pool_sessions_does(tmp_path: Path) -> None:
    from pytest_perfbaseline.baseline.entries import entry_environment, entry_result
    from pytest_perfbaseline.metrics.names import MetricInfo

    CUSTOM = MetricInfo("", False, "custom")
    rng = random.Random(5)

    def session(k: int) -> TestResult:
        rounds = 4 + k  # sessions of different lengths
        ttft: list[float | None] = [
            rng.uniform(0.099, 0.101) * (1 + 0.06 * k) for _ in range(rounds)
        ]
        ttft[1] = None  # a round without a value
        result = make_result([0.1] * rounds, tokens=[30 + k] * rounds)
        rows = [{**r, "ttft_s": v} for r, v in zip(result.rounds, ttft, strict=True)]
        if k:  # a custom metric the oldest session does not have
            rows = [{**r, "score": 2.0 + 0.1 * i} for i, r in enumerate(rows)]
            result = replace(result, infos={**result.infos, "score": CUSTOM})
        return replace(result, rounds=tuple(rows))

    store = BaselineStore(tmp_path, PROFILE)
    for k in range(3):
        report = store.save([(session(k), env(f"d{k}", probe=0.004 - 0.001 * k))])
        assert report.saved == (NODEID,)
    entry = BaselineStore(tmp_path, PROFILE).load(NODEID)
    assert entry is not None
    (path,) = tmp_path.rglob("*.json")
    stored = json.loads(path.read_text(encoding="utf-8"))["tests"]["test_answer"]["sessions"]
    expected = pool_sessions([(entry_result(NODEID, s), entry_environment(s)) for s in stored])

    assert entry.sessions == expected.sessions == 3
    assert entry.result == expected.result
    assert [list(r.items()) for r in entry.result.rounds] == [
        list(r.items()) for r in expected.result.rounds
    ]  # the same keys in the same order, and the same values
    assert entry.drift == expected.drift
    assert entry.drift  # the drift allowance was computed, not skipped
    assert entry.environment == expected.environment
