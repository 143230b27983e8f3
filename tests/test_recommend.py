"""Recommendations: each kind triggered by the data it is about, and not without it."""

from __future__ import annotations

import json
import math
import random
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from fakes import ENV, plain_report, simulated_project, simulated_suite

import pytest_perfbaseline
from pytest_perfbaseline.baseline.environment import describe_origin
from pytest_perfbaseline.cli.app import main
from pytest_perfbaseline.gate.compare import Comparison, TestComparison
from pytest_perfbaseline.history.analysis import Drift, Step
from pytest_perfbaseline.history.recommend import (
    STREAK_RUNS,
    drift_text,
    recommend,
    recommend_runs,
    recommendations_text,
    step_text,
    where_text,
)
from pytest_perfbaseline.metrics.names import MetricName, key_info
from pytest_perfbaseline.metrics.result import TestResult
from pytest_perfbaseline.reports.json_report import dumps, report_to_dict
from pytest_perfbaseline.reports.recommendation import Recommendation, render_recommendations
from pytest_perfbaseline.reports.run import RunReport, TestEntry
from pytest_perfbaseline.reports.single_run import (
    TERMINAL_LIMIT,
    run_recommendations,
    session_lines,
)

TEST = "tests/test_chat.py::test_answer"


def result(
    rounds: Sequence[Mapping[str, float | None]],
    nodeid: str = TEST,
    names: Mapping[str, MetricName] | None = None,
) -> TestResult:
    keys = sorted({key for r in rounds for key in r})
    infos = {}
    for key in keys:
        info = key_info(key)
        assert info is not None, key
        infos[key] = info
    return TestResult(
        nodeid, tuple(dict(r) for r in rounds), infos, (), None, {}, len(rounds), 1, False,
        names=dict(names or {}),
    )  # fmt: skip


def run(*results: TestResult, when: str = "2026-11-21T20:40:00Z", commit: str = "c0") -> RunReport:
    env = replace(ENV, saved_at=when, git_commit=commit * 20)
    return replace(plain_report(results, profile="p", env=env), created_at=when)


def steady(**values: float) -> list[dict[str, float | None]]:
    """Ten rounds of the same values, each a little different (0.1%) so that they vary."""
    return [{k: v * (1 + 0.001 * (i % 3)) for k, v in values.items()} for i in range(10)]


def kinds(found: Sequence[Recommendation]) -> list[str]:
    return [r.kind for r in found]


# -- from one run ------------------------------------------------------------------------------


def test_a_noisy_metric_gets_the_rounds_it_needs() -> None:
    rng = random.Random(1)
    rounds = [{"ttft_s": 0.1 * math.exp(rng.gauss(0, 0.2))} for _ in range(5)]
    (found,) = run_recommendations(run(result(rounds)))
    assert (found.kind, found.test, found.metric) == ("noisy", TEST, "ttft_s")
    needed = found.numbers["rounds_needed"]
    assert needed > 2 * 5
    assert found.numbers["rounds"] == 5
    assert f"rounds={needed}" in found.action
    assert "ttft_s of tests/test_chat.py::test_answer varies" in found.finding


def test_a_steady_metric_or_an_ungated_one_is_not_noisy() -> None:
    assert run_recommendations(run(result(steady(ttft_s=0.1)))) == []
    rng = random.Random(1)
    wild = [{"itl_max_s": 0.1 * math.exp(rng.gauss(0, 0.5))} for _ in range(5)]
    assert run_recommendations(run(result(wild))) == []  # itl_max_s is not gated


def test_a_heavy_inter_token_tail() -> None:
    found = run_recommendations(run(result(steady(itl_p50_s=0.01, itl_p95_s=0.05))))
    assert kinds(found) == ["itl_tail"]
    assert found[0].numbers["ratio"] == pytest.approx(5.0, rel=0.01)
    assert run_recommendations(run(result(steady(itl_p50_s=0.01, itl_p95_s=0.02)))) == []
    # a 4x tail of millisecond gaps is no stall anyone notices
    assert run_recommendations(run(result(steady(itl_p50_s=0.001, itl_p95_s=0.005)))) == []


def test_ttft_dominating_end_to_end_time() -> None:
    found = run_recommendations(run(result(steady(ttft_s=0.8, e2e_s=1.0, output_tokens=50))))
    assert [(r.kind, r.numbers["share"]) for r in found] == [("ttft_share", pytest.approx(0.8))]
    assert run_recommendations(run(result(steady(ttft_s=0.2, e2e_s=1.0, output_tokens=50)))) == []
    # a one-chunk answer: its first token is its end
    assert run_recommendations(run(result(steady(ttft_s=1.0, e2e_s=1.0, output_tokens=1)))) == []


def test_a_long_prompt_read_little_from_the_cache() -> None:
    found = run_recommendations(run(result(steady(input_tokens=4000, cached_input_tokens=100))))
    assert kinds(found) == ["cached_share"]
    assert found[0].numbers["share"] == pytest.approx(0.025, rel=0.01)
    uncached = run_recommendations(run(result(steady(input_tokens=4000))))
    assert kinds(uncached) == ["cached_share"]  # no cached tokens reported at all
    cached = run(result(steady(input_tokens=4000, cached_input_tokens=3000)))
    assert run_recommendations(cached) == []
    assert run_recommendations(run(result(steady(input_tokens=500)))) == []  # too short


def model_costs(costs: Mapping[str, float]) -> TestResult:
    keys = {f"model.{m}.cost_usd": MetricName("model", m, "cost_usd") for m in costs}
    rounds = steady(**{f"model.{m}.cost_usd": c for m, c in costs.items()})
    return result(rounds, names=keys)


def test_where_the_money_goes() -> None:
    found = run_recommendations(run(model_costs({"big": 0.009, "small": 0.001})))
    assert [(r.kind, r.test, r.numbers["owner"]) for r in found] == [("cost_share", None, "big")]
    assert found[0].numbers["share"] == pytest.approx(0.9, rel=0.01)
    assert "model big takes 90" in found[0].finding
    assert run_recommendations(run(model_costs({"a": 0.005, "b": 0.005}))) == []
    assert run_recommendations(run(model_costs({"only": 0.005}))) == []  # nothing to compare


def test_costs_add_up_over_the_tests() -> None:
    one = model_costs({"big": 0.002, "small": 0.003})
    two = replace(model_costs({"big": 0.004}), nodeid="t2")
    (found,) = run_recommendations(run(one, two))
    assert found.numbers["owner"] == "big"
    assert found.numbers["share"] == pytest.approx(6 / 9, rel=0.01)


# -- from the newest run's baselines -----------------------------------------------------------


def comparison(
    verdict: str = "unchanged", metric: str = "ttft_s", **fields: object
) -> TestComparison:
    c = Comparison(
        metric, verdict, True, "s", False, 0.1, 10, 10, 0.1, 0.1, 1.0, 0.95, 1.05, 0.5,  # type: ignore[arg-type]
        0.01, "mann-whitney exact",
    )  # fmt: skip
    return TestComparison(TEST, (c,), 0.01, **fields)  # type: ignore[arg-type]


def compared(tc: TestComparison, when: str = "2026-11-21T20:40:00Z") -> RunReport:
    report = run(result(steady(ttft_s=0.1)), when=when)
    (entry,) = report.tests
    return replace(report, compare=True, tests=(replace(entry, comparison=tc),))


def test_a_stale_baseline() -> None:
    found = recommend_runs([compared(comparison(stale=True, baseline_saved_at="2026-01-01"))])
    assert kinds(found) == ["stale_baseline"]
    assert recommend_runs([compared(comparison(stale=False))]) == []


def test_a_baseline_from_another_machine() -> None:
    other = replace(ENV, cpu="Another CPU", cores=8)
    origin = describe_origin(other, "p", ENV)
    found = recommend_runs([compared(comparison(baseline_origin=origin))])
    assert kinds(found) == ["other_machine"]
    assert "Another CPU" in found[0].finding
    same = describe_origin(ENV, "p", ENV)
    assert recommend_runs([compared(comparison(baseline_origin=same))]) == []


# -- over runs ---------------------------------------------------------------------------------


def test_a_test_inconclusive_run_after_run() -> None:
    runs = [compared(comparison("inconclusive")) for _ in range(STREAK_RUNS)]
    found = recommend_runs(runs)
    assert kinds(found) == ["streak"]
    assert found[0].numbers == {"runs": STREAK_RUNS, "verdict": "inconclusive"}
    assert "more rounds" in found[0].action or "max-rounds" in found[0].action
    settled = [*runs[:-1], compared(comparison("unchanged"))]
    assert recommend_runs(settled) == []
    assert recommend_runs(runs[:-1]) == []  # not enough runs yet


def test_undecided_runs_count_too() -> None:
    runs = [compared(comparison(v)) for v in ("inconclusive", "undecided", "undecided")]
    (found,) = recommend_runs(runs)
    assert found.kind == "streak"
    assert "busy" in found.action


def series_runs(values: Sequence[float], baseline_saved_at: str | None = None) -> list[RunReport]:
    """One run per value (a day apart, commit per run), ttft_s around it in each."""
    runs = []
    for i, value in enumerate(values):
        when = f"2026-11-{i + 1:02d}T12:00:00Z"
        report = run(result(steady(ttft_s=value)), when=when, commit=f"{i:02d}")
        if baseline_saved_at is not None:
            tc = comparison(baseline_saved_at=baseline_saved_at)
            (entry,) = report.tests
            report = replace(report, compare=True, tests=(replace(entry, comparison=tc),))
        runs.append(report)
    return runs


def stepped(rng: random.Random) -> list[float]:
    return [0.1 * math.exp(rng.gauss(0, 0.01)) for _ in range(10)] + [
        0.13 * math.exp(rng.gauss(0, 0.01)) for _ in range(5)
    ]


def test_a_step_not_yet_in_the_baseline() -> None:
    runs = series_runs(stepped(random.Random(3)))
    (found,) = recommend_runs(runs)
    assert (found.kind, found.test, found.metric) == ("step", TEST, "ttft_s")
    assert found.numbers["index"] == 10
    assert found.numbers["worse"] is True
    assert found.numbers["ratio"] == pytest.approx(1.3, rel=0.03)
    assert found.finding.startswith(f"ttft_s of {TEST} stepped +")
    assert f"at commit {'10' * 6} on 2026-11-11" in found.finding
    assert f"commit {'09' * 6} on 2026-11-10" in found.action


def test_a_step_the_baseline_already_has_is_not_recommended() -> None:
    values = stepped(random.Random(3))
    assert kinds(recommend_runs(series_runs(values, "2026-11-01T00:00:00Z"))) == ["step"]
    assert recommend_runs(series_runs(values, "2026-11-12T00:00:00Z")) == []


def test_a_step_smaller_than_the_threshold_is_not_recommended() -> None:
    rng = random.Random(3)
    values = [0.1 * math.exp(rng.gauss(0, 0.002)) for _ in range(10)]
    values += [0.104 * math.exp(rng.gauss(0, 0.002)) for _ in range(5)]
    assert recommend_runs(series_runs(values)) == []


def test_slow_drift_over_runs() -> None:
    (found,) = recommend_runs(series_runs([0.1 * 1.01**i for i in range(20)]))
    assert (found.kind, found.metric) == ("drift", "ttft_s")
    assert found.numbers["worse_by"] == pytest.approx(1.01**17 - 1, rel=0.01)
    assert "drifted" in found.finding
    assert recommend_runs(series_runs([0.1] * 20)) == []


def test_run_dicts_give_the_same_recommendations_as_reports() -> None:
    runs = series_runs(stepped(random.Random(3)))
    dicts = [json.loads(dumps(r)) for r in runs]
    assert recommend(dicts) == recommend_runs(runs)
    assert recommendations_text(dicts).startswith("- ttft_s of")
    assert recommendations_text([]) == "no recommendations from 0 runs"
    with pytest.raises(ValueError, match="run 2 is not a report"):
        recommend([dicts[0], {"tests": []}])


# -- rendering and the session -----------------------------------------------------------------


def noisy_run(tests: int) -> RunReport:
    rng = random.Random(2)
    results = [
        result([{"ttft_s": math.exp(rng.gauss(0, 0.3))} for _ in range(4)], nodeid=f"t{i}")
        for i in range(tests)
    ]
    return run(*results)


def test_the_terminal_shows_a_few_and_all_with_verbose() -> None:
    report = noisy_run(TERMINAL_LIMIT + 2)
    quiet = [line for line, _ in session_lines(report, verbose=False)]
    assert quiet[:2] == ["", "recommendations:"]
    assert len(quiet) == 2 + TERMINAL_LIMIT + 1
    assert quiet[-1] == "(2 more with -v)"
    loud = [line for line, _ in session_lines(report, verbose=True)]
    assert len(loud) == 2 + TERMINAL_LIMIT + 2
    assert session_lines(run(result(steady(ttft_s=0.1))), verbose=True) == []


def test_the_json_report_lists_them() -> None:
    data = report_to_dict(noisy_run(2))
    assert [(r["kind"], r["test"]) for r in data["recommendations"]] == [
        ("noisy", "t0"),
        ("noisy", "t1"),
    ]
    assert report_to_dict(run(result(steady(ttft_s=0.1))))["recommendations"] == []


def test_most_pressing_first() -> None:
    late = Recommendation("itl_tail", "a", "m", {}, "tail", "look")
    early = Recommendation("step", "z", "m", {}, "stepped", "accept")
    assert render_recommendations([late, early]) == ["- stepped -> accept", "- tail -> look"]


# -- perfbaseline recommend --------------------------------------------------------------------


def test_the_command_reads_reports_in_the_order_they_were_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = []
    for i, report in enumerate(series_runs(stepped(random.Random(3)))):
        path = tmp_path / f"r{(7 * i) % 15:02d}.json"  # names out of order
        path.write_text(dumps(report), encoding="utf-8")
        paths.append(str(path))
    assert main(["recommend", *sorted(paths)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "1 recommendation from 15 runs:"
    assert out[1].startswith(f"- ttft_s of {TEST} stepped +")


def test_the_command_without_recommendations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.json"
    path.write_text(dumps(run(result(steady(ttft_s=0.1)))), encoding="utf-8")
    assert main(["recommend", str(path)]) == 0
    assert capsys.readouterr().out == "no recommendations from 1 run\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read report"),
        ('{"format": "x"}', "is not a pytest-perfbaseline report"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_the_command_refuses_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "r.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["recommend", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("perfbaseline recommend: error: ")
    assert message in err


def test_without_reports_the_command_reads_the_history(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no session ran here: no history to read
    assert main(["recommend"]) == 2
    assert "no history" in capsys.readouterr().err


def test_reports_and_the_history_are_not_mixed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["recommend", str(tmp_path / "run.json"), "--branch", "main"]) == 2
    assert "--branch reads the run history" in capsys.readouterr().err


def test_entries_of_a_report_without_comparisons_are_fine() -> None:
    report = run(result(steady(ttft_s=0.1)))
    assert isinstance(report.tests[0], TestEntry)
    assert recommend_runs([]) == []


def test_a_noisy_slope_is_drift_not_a_step() -> None:
    rng = random.Random(1)
    values = [0.1 * 1.01**i * math.exp(rng.gauss(0, 0.01)) for i in range(40)]
    assert kinds(recommend_runs(series_runs(values))) == ["drift"]


def test_an_accepted_step_is_not_drift_either() -> None:
    values = stepped(random.Random(3)) + [0.13] * 3
    assert recommend_runs(series_runs(values, "2026-11-12T00:00:00Z")) == []


NOISY_SUITE = (
    simulated_suite(jitter=0.4)
    + """


@pytest.mark.perf(rounds=4, warmup=0)
def test_noisy(perf):
    perf(lambda: list(perf.stream(llm.stream, "hi", max_tokens=10, format="openai")))
"""
)


@pytest.mark.parametrize("verbose", [False, True])
def test_a_session_shows_and_reports_its_recommendations(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, verbose: bool
) -> None:
    project = simulated_project(pytester, monkeypatch, test_noisy=NOISY_SUITE)
    args = ["-p", "no:cacheprovider", "--perf-json=perf.json", *(["-v"] if verbose else [])]
    outcome = project.runpytest(*args)
    outcome.assert_outcomes(passed=1)
    outcome.stdout.fnmatch_lines(["recommendations:", "- *ttft_s of *test_noisy varies *"])
    listed = [line for line in outcome.stdout.lines if line.startswith("- ")]
    data = json.loads((project.path / "perf.json").read_text(encoding="utf-8"))
    kinds_in_json = [r["kind"] for r in data["recommendations"]]
    assert "noisy" in kinds_in_json
    assert len(listed) == (
        len(kinds_in_json) if verbose else min(TERMINAL_LIMIT, len(kinds_in_json))
    )


def test_the_session_side_imports_nothing_heavy() -> None:
    code = (
        "import sys; import pytest_perfbaseline.reports.single_run, "
        "pytest_perfbaseline.cli.recommend; "
        "print(sorted(m for m in ('numpy', 'scipy', 'tabulate') if m in sys.modules))"
    )
    root = Path(pytest_perfbaseline.__file__).parents[1]  # this tree, whatever the venv has
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert proc.stdout == "[]\n"


def test_a_step_reads_as_a_sentence_for_the_history_trend() -> None:
    step = Step(12, 0.005, 0.100, 0.118, 1.18, 1.12, 1.24, 12, 5)
    where = where_text("abc123", "2026-11-20T10:00:00Z")
    assert step_text(step, metric="ttft_s", test="test_chat", where=where, unit="s") == (
        "ttft_s of test_chat stepped +18.0% [+12.0%, +24.0%] at commit abc123 on 2026-11-20 "
        "(100 ms -> 118 ms, 5 runs since)"
    )
    assert where_text(None, "2026-11-20T10:00:00Z") == "the run of 2026-11-20 10:00 UTC"
    assert where_text(None, "2026-11-20") == "the run of 2026-11-20"
    found = Drift(1.12, 1.0, 2, 1.12, 0.12, 3, 20)
    assert drift_text(found, metric="m", test="t", best_where="x", unit="s") == (
        "m of t drifted 12% worse: 1.12 s over the last 3 runs against 1.00 s at best, "
        "from x (last 20 runs)"
    )


@pytest.mark.skipif(sys.version_info < (3, 11), reason="statistics.stdev rounds once from 3.11")
def test_noise_stdev_is_statistics_stdev_to_the_bit() -> None:
    from pytest_perfbaseline.metrics.summary import exact_stdev as _stdev

    rng = random.Random(11)
    samples = [
        [math.log(rng.lognormvariate(-13, rng.random())) for _ in range(n)]
        for n in (2, 3, 10, 30)
        for _ in range(300)
    ]
    samples += [[1.0, 1.0 + 2**-52, 1.0 - 2**-53], [-3.0, 5e-324, 2.5], [1e300, -1e300], [0.5, 0.5]]
    for values in samples:
        assert _stdev(values) == statistics.stdev(values), values


def test_recommendations_are_worked_out_once_per_report(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_perfbaseline.reports import single_run

    rng = random.Random(1)
    report = run(result([{"ttft_s": 0.1 * math.exp(rng.gauss(0, 0.2))} for _ in range(5)]))
    calls: list[RunReport] = []
    real = single_run.run_recommendations

    def counted(r: RunReport) -> list[Recommendation]:
        calls.append(r)
        return real(r)

    monkeypatch.setattr(single_run, "run_recommendations", counted)
    single_run.session_lines(report, verbose=True)
    document = report_to_dict(report)
    assert len(calls) == 1
    assert [r["kind"] for r in document["recommendations"]] == ["noisy"]
    assert document["recommendations"] == [r.to_dict() for r in report.recommendations]
