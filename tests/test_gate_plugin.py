"""Baselines and the gate through real pytest runs: the lifecycle, and the ways it can go wrong.

The workload is the simulated model on simulated time: the project overrides the
``perf_clock`` fixture with a fake clock that the model's sleeps advance. Delays still vary
randomly from run to run (jitter), like a real service, but the machine's own noise is out of
the picture, so these tests cannot flake on a loaded CI runner. Whether the gate holds up on
a real clock is measured by benchmarks/gate_calibration.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import simulated_project, simulated_suite

TEST_FILE = (
    simulated_suite(jitter=0.03)
    + """


@pytest.mark.perf(rounds=8, warmup=1)
def test_answer(perf):
    with open("runs.log", "a") as log:
        log.write("run\\n")
    tokens = 10 + EXTRA_TOKENS
    answer = perf(lambda: list(perf.stream(llm.stream, "hi", max_tokens=tokens, format="openai")))
    assert answer
"""
)


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    return simulated_project(pytester, monkeypatch, test_life=TEST_FILE)


def baseline_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / ".perfbaseline").rglob("*.json"))


def runs(root: Path) -> int:
    log = root / "runs.log"
    count = len(log.read_text().splitlines()) if log.exists() else 0
    log.unlink(missing_ok=True)
    return count


def lifecycle(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str) -> None:
    def run(*flags: str) -> pytest.RunResult:
        # in-process also under pytest-xdist: only its controller runs here, its workers are
        # processes of their own all the same
        return project.runpytest(*args, *flags)

    root = project.path
    result = run("--perf-baseline=save")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*saved 1 test to .perfbaseline*(1 file)*"])
    [stored] = baseline_files(root)
    assert stored.name == "test_life.py.json"
    assert "test_answer" in json.loads(stored.read_text())["tests"]
    runs(root)

    result = run("--perf-compare")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*compared with profile*"])
    assert "regressed" not in result.stdout.str()

    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "3")
    runs(root)
    result = run("--perf-compare")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*performance regression in test_life.py::test_answer*",
            "*ttft_s: * -> *, +*% [[]+*%, +*%[]] (median; lower is better); threshold 10%; "
            "p = * < alpha *; 8 baseline vs 8 current rounds*",
            "*confirmed by re-measuring (first measurement: *ttft_s: p = *)*",
            "*baseline: saved *, * old; *profile *",
            "*if this performance is intended, accept it: pytest --perf-baseline=save*",
        ]
    )
    assert runs(root) == 2  # measured, then re-measured to confirm

    result = run("--perf-baseline=save")
    result.assert_outcomes(passed=1)
    result = run("--perf-compare")
    result.assert_outcomes(passed=1)
    assert "regressed" not in result.stdout.str()


def test_lifecycle(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    lifecycle(project, monkeypatch)


def test_lifecycle_under_xdist(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("xdist")
    lifecycle(project, monkeypatch, "-n", "2")


def test_xdist_saves_the_same_entries_as_a_plain_run(project: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    project.makepyfile(
        test_more="""
        import pytest

        @pytest.mark.parametrize("n", range(3))
        @pytest.mark.perf(rounds=2, warmup=0)
        def test_p(perf, n):
            perf(lambda: list(perf.stream(["a", "b", "c"][: n + 1])))
        """
    )
    project.runpytest("--perf-baseline=save").assert_outcomes(passed=4)
    plain = {p.name: set(json.loads(p.read_text())["tests"]) for p in baseline_files(project.path)}
    metrics = {
        p.name: {
            t: sorted(e["sessions"][-1]["metrics"])
            for t, e in json.loads(p.read_text())["tests"].items()
        }
        for p in baseline_files(project.path)
    }
    for p in baseline_files(project.path):
        p.unlink()
    project.runpytest("-n", "2", "--perf-baseline=save").assert_outcomes(passed=4)
    distributed = {
        p.name: set(json.loads(p.read_text())["tests"]) for p in baseline_files(project.path)
    }
    assert (
        distributed
        == plain
        == {
            "test_life.py.json": {"test_answer"},
            "test_more.py.json": {"test_p[0]", "test_p[1]", "test_p[2]"},
        }
    )
    assert metrics == {
        p.name: {
            t: sorted(e["sessions"][-1]["metrics"])
            for t, e in json.loads(p.read_text())["tests"].items()
        }
        for p in baseline_files(project.path)
    }


def test_a_test_without_baseline_passes_as_new(project: pytest.Pytester) -> None:
    result = project.runpytest("--perf-compare")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*1 new*", "*1 test has no baseline yet: run pytest --perf-baseline=save to create one*"]
    )
    assert not (project.path / ".perfbaseline").exists()  # nothing written without save


def test_fail_never_reports_without_failing(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "3")
    result = project.runpytest("--perf-compare", "--perf-fail=never")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*ttft_s*regressed (p=*", "*1 regressed*"])


def test_confirm_off_fails_without_re_measuring(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    runs(project.path)
    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "3")
    result = project.runpytest("--perf-compare", "--perf-confirm=off")
    result.assert_outcomes(failed=1)
    assert runs(project.path) == 1
    assert "confirmed by re-measuring" not in result.stdout.str()


def test_constant_count_regression_is_compared_exactly(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    monkeypatch.setenv("PERF_TEST_EXTRA_TOKENS", "5")  # 10 -> 15 output tokens, every round
    result = project.runpytest("--perf-compare", "--perf-gate=output_tokens")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*output_tokens: 10 -> 15, +50.0%*threshold 5%; constant in both runs, compared exactly*"]
    )


def test_marker_threshold_can_absorb_a_change(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    monkeypatch.setenv("PERF_TEST_EXTRA_TOKENS", "5")
    result = project.runpytest(
        "--perf-compare", "--perf-gate=output_tokens", "--perf-threshold=output_tokens=60%"
    )
    result.assert_outcomes(passed=1)


def test_compare_and_save_together(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    monkeypatch.setenv("PERF_TEST_SLOWDOWN", "3")
    result = project.runpytest("--perf-compare", "--perf-baseline=save")
    result.assert_outcomes(failed=1)  # compared against the old baseline first ...
    result.stdout.fnmatch_lines(["*saved 1 test*"])  # ... then saved the new rounds
    project.runpytest("--perf-compare").assert_outcomes(passed=1)


def test_profiles_keep_baselines_apart(project: pytest.Pytester) -> None:
    project.runpytest("--perf-baseline=save", "--perf-profile=laptop").assert_outcomes(passed=1)
    assert [p.parent.name for p in baseline_files(project.path)] == ["laptop"]
    result = project.runpytest("--perf-compare", "--perf-profile=ci")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*compared with profile 'ci': 1 new*"])
    result = project.runpytest("--perf-compare", "--perf-profile=laptop")
    result.stdout.fnmatch_lines(["*compared with profile 'laptop':*"])
    assert "new" not in result.stdout.lines[-3]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "*not valid JSON*"),
        ('{"schema": 99, "tests": {}}', "*newer pytest-perfbaseline*"),
    ],
)
def test_bad_baseline_file_fails_the_test_clearly_and_is_never_overwritten(
    project: pytest.Pytester, content: str, problem: str
) -> None:
    project.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    [stored] = baseline_files(project.path)
    stored.write_text(content)
    result = project.runpytest("--perf-compare")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [f"*test_life.py::test_answer: cannot compare: baseline file *{stored.name}*"]
    )
    result.stdout.fnmatch_lines([problem])
    result = project.runpytest("--perf-baseline=save")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the save failed: say so in the status
    result.stdout.fnmatch_lines(["*baseline NOT saved: baseline file *test_life.py.json*"])
    assert stored.read_text() == content


def test_stale_baselines_are_reported(project: pytest.Pytester) -> None:
    project.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    [stored] = baseline_files(project.path)
    data = json.loads(stored.read_text())
    data["tests"]["test_answer"]["sessions"][-1]["environment"]["saved_at"] = "2020-01-01T00:00:00Z"
    stored.write_text(json.dumps(data))
    result = project.runpytest("--perf-compare")
    result.stdout.fnmatch_lines(
        ["*stale baseline: test_life.py::test_answer (saved 2020-01-01T00:00:00Z)*"]
    )
    result = project.runpytest("--perf-compare", "--perf-baseline-max-age=never")
    assert "stale baseline:" not in result.stdout.str()


def test_unwritable_baseline_dir_is_a_usage_error_at_start(project: pytest.Pytester) -> None:
    (project.path / "afile").write_text("")
    result = project.runpytest("--perf-baseline=save", "--perf-baseline-dir=afile/baselines")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*cannot write baselines to *afile/baselines*"])
    assert runs(project.path) == 0  # no test ran


def test_interrupted_run_leaves_the_baseline_alone(project: pytest.Pytester) -> None:
    project.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    [stored] = baseline_files(project.path)
    before = stored.read_bytes()
    project.makepyfile(
        test_zz_interrupt="""
        def test_stop():
            raise KeyboardInterrupt
        """
    )
    # no_reraise_ctrlc: the inline run keeps the KeyboardInterrupt instead of passing it on
    # to this session
    result = project.runpytest("--perf-baseline=save", no_reraise_ctrlc=True)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*baselines not saved: the run was interrupted*"])
    assert stored.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--perf-baseline=keep"], "*--perf-baseline must be 'save', got 'keep'*"),
        (["--perf-alpha=2"], "*--perf-alpha must be a probability between 0 and 1*"),
        (["--perf-fail=sometimes"], "*--perf-fail must be 'regression' or 'never'*"),
        (["--perf-confirm=maybe"], "*--perf-confirm must be one of on/off*"),
        (["--perf-threshold=lots"], "*--perf-threshold must be a fraction like 0.1*"),
        (["--perf-profile=../x"], "*--perf-profile must be a name of letters, digits*"),
        (
            ["--perf-baseline-max-age=soon"],
            "*--perf-baseline-max-age must be a number with a unit*",
        ),
    ],
)
def test_bad_gate_options_are_usage_errors(
    project: pytest.Pytester, args: list[str], message: str
) -> None:
    result = project.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
