"""A perf session records its run in the history: by default in pytest's cache folder, once
under xdist, never when off; a bad store is one warning line, and the session still passes
and writes its other reports. Then ``perfbaseline history`` reads what the sessions wrote."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fakes import ONE_TEST_SUITE, simulated_project
from history_fakes import fake_report

from pytest_perfbaseline.cli import main
from pytest_perfbaseline.history.record import RunMeta, run_record
from pytest_perfbaseline.history.schema import SCHEMA_VERSION
from pytest_perfbaseline.history.store import HistoryStore, StoreLocation

DEFAULT = Path(".pytest_cache") / "d" / "perfbaseline" / "history.sqlite"


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    for variable in ("GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "JENKINS_URL", "CIRCLECI", "CI"):
        monkeypatch.delenv(variable, raising=False)
    return simulated_project(pytester, monkeypatch, test_slow=ONE_TEST_SUITE)


def runs(path: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT mode, source, tests FROM runs ORDER BY finished_at").fetchall()


def history(project: pytest.Pytester, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(project.path)
        mp.setattr("sys.stdout", out)
        mp.setattr("sys.stderr", err)
        status = main(["history", *args])
    return status, out.getvalue(), err.getvalue()


def test_sessions_are_recorded_in_the_cache_folder(project: pytest.Pytester) -> None:
    project.runpytest("--perf-baseline=save").assert_outcomes(passed=1)
    project.runpytest("--perf-compare", "--perf-json=run.json").assert_outcomes(passed=1)
    project.runpytest().assert_outcomes(passed=1)
    assert runs(project.path / DEFAULT) == [
        ("save", "session", 1),
        ("compare", "session", 1),
        ("plain", "session", 1),
    ]
    # the compare session's --perf-json report is that run: importing it adds nothing
    status, out, _ = history(project, "import", "run.json")
    assert status == 0
    assert "already recorded" in out
    status, out, _ = history(project, "list")
    assert status == 0
    assert "3 runs" in out
    status, out, _ = history(project, "trend", "test_answer", "--metric", "ttft_s")
    assert status == 0
    assert "ttft_s of test_slow.py::test_answer: medians over 3 runs" in out
    status, out, _ = history(project, "baselines", "test_answer")
    assert status == 0
    assert "linux" in out or "tests saved" in out
    out_buffer = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:  # recommend reads the same runs by default
        mp.chdir(project.path)
        mp.setattr("sys.stdout", out_buffer)
        assert main(["recommend", "--last", "2"]) == 0
    assert "from 2 runs" in out_buffer.getvalue()


def test_the_json_report_and_the_history_share_one_document(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_perfbaseline.history.record import report_of
    from pytest_perfbaseline.reports import json_report
    from pytest_perfbaseline.reports.run import RunReport

    built: list[RunReport] = []
    real = json_report.report_to_dict

    def counted(report: RunReport) -> dict[str, Any]:
        built.append(report)
        return real(report)

    monkeypatch.setattr(json_report, "report_to_dict", counted)
    project.runpytest("--perf-json=run.json").assert_outcomes(passed=1)
    assert len(built) == 1
    with sqlite3.connect(project.path / DEFAULT) as conn:
        (blob,) = conn.execute("SELECT report FROM runs").fetchone()
    assert report_of(blob) == json.loads((project.path / "run.json").read_text())


def test_off_records_nothing(project: pytest.Pytester) -> None:
    project.runpytest("--perf-history=off").assert_outcomes(passed=1)
    assert not (project.path / DEFAULT).exists()


def test_a_url_chooses_the_store(project: pytest.Pytester, tmp_path: Path) -> None:
    target = tmp_path / "team" / "h.sqlite"
    project.runpytest(f"--perf-history=sqlite:///{target}").assert_outcomes(passed=1)
    assert runs(target) == [("plain", "session", 1)]
    assert not (project.path / DEFAULT).exists()


def test_xdist_records_one_run(project: pytest.Pytester) -> None:
    project.makepyfile(test_other=ONE_TEST_SUITE)
    project.runpytest("-n", "2").assert_outcomes(passed=2)
    assert runs(project.path / DEFAULT) == [("plain", "session", 2)]


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("mysql://x/y", "--perf-history must be 'off', 'sqlite:///PATH'"),
        ("postgresql://u:pw@/db?host=/nonexistent-folder&port=1", "postgresql://u@/db"),
    ],
)
def test_a_bad_store_is_one_warning_line(project: pytest.Pytester, value: str, said: str) -> None:
    if value.startswith("postgresql"):
        pytest.importorskip("psycopg")
    result = project.runpytest(f"--perf-history={value}", "--perf-json=run.json", "-q")
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    lines = [line for line in result.outlines if "run not recorded in the history" in line]
    assert len(lines) == 1
    assert lines[0].startswith("perfbaseline: warning: ")  # a line of its own, not after the dots
    assert said in lines[0]
    assert "pw" not in lines[0]
    assert json.loads((project.path / "run.json").read_text())["tests"]


def test_a_newer_store_is_refused_in_one_line(project: pytest.Pytester) -> None:
    project.runpytest().assert_outcomes(passed=1)
    with sqlite3.connect(project.path / DEFAULT) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION + 1,))
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*run not recorded in the history: *newer than this*upgrade*"])
    status, _, err = history(project, "list")
    assert status == 2
    assert err.count("\n") == 1
    assert "upgrade pytest-perfbaseline" in err


def test_without_the_cache_plugin_nothing_is_recorded(project: pytest.Pytester) -> None:
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert not (project.path / ".pytest_cache").exists()


# -- the commands on a store of synthetic runs --------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> str:
    path = tmp_path / "h.sqlite"
    with HistoryStore.open(StoreLocation("sqlite", str(path))) as history_store:
        for day, level, save in ((20, 1.0, True), (21, 1.0, False), (22, 1.5, True)):
            report = fake_report(f"2026-11-{day}T10:00:00Z", level=level, save=save)
            history_store.append(run_record(report, RunMeta("session", branch="main")))
    return f"sqlite:///{path}"


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.stdout", out)
        mp.setattr("sys.stderr", err)
        status = main(["history", *args])
    return status, out.getvalue(), err.getvalue()


def test_list_filters(store: str) -> None:
    status, out, _ = cli("list", "--history", store, "--branch", "main")
    assert status == 0
    assert "3 runs" in out
    _, out, _ = cli("list", "--history", store, "--branch", "other")
    assert "match" in out
    _, out, _ = cli("list", "--history", store, "--since", "1h")
    assert "match" in out  # the synthetic runs are from 2026-11


def test_trend_table_and_windows(store: str) -> None:
    status, out, _ = cli("trend", "test_0", "--history", store, "--window", "36h")
    assert status == 0
    rows = [
        line.split()
        for line in out.splitlines()
        if line.startswith(
            ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f")
        )
        and "2026-11" in line
    ]
    assert [row[4] for row in rows] == ["1.02", "1.02", "1.53"]  # medians
    assert [row[5] for row in rows] == ["1", "2", "2"]  # runs within 36 h up to each
    assert [row[6] for row in rows] == ["1.02", "1.02", "1.275"]  # their mean


def test_baselines_say_what_changed(store: str) -> None:
    status, out, _ = cli("baselines", "--history", store)
    assert status == 0
    assert "median ratio" in out
    assert out.count("+50.0%") == 8  # every metric, 1.0 -> 1.5


def test_show_and_export(store: str, tmp_path: Path) -> None:
    status, out, _ = cli("list", "--history", store)
    run = out.splitlines()[2].split()[0]
    status, out, _ = cli("show", run[:8], "--history", store, "--metric", "ttft_s")
    assert status == 0
    assert "test_m.py::test_0" in out
    assert "ttft_s" in out
    target = tmp_path / "runs.jsonl"
    status, _, _ = cli("export", "--history", store, "--output", str(target))
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [sorted(obj) for obj in lines] == [["metadata", "run_id", "tests"]] * 3
    assert lines[0]["run_id"].startswith(run)
    assert lines[0]["metadata"]["git_branch"] == "main"


def test_prune_is_a_dry_run_unless_yes(store: str) -> None:
    status, out, _ = cli("prune", "--keep-runs", "1", "--history", store)
    assert status == 0
    assert "would remove 2 runs of 3" in out
    _, out, _ = cli("list", "--history", store)
    assert "3 runs" in out
    cli("prune", "--keep-runs", "1", "--history", store, "--yes")
    _, out, _ = cli("list", "--history", store)
    assert "1 run" in out
    _, out, _ = cli("prune", "--older-than", "1d", "--history", store, "--yes")
    assert "removed 1 run of 1" in out


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["show", "abc"], "no run abc"),
        (["trend", "test_nope"], "no recorded test test_nope"),
        (["list", "--since", "soon"], "age must be"),
        (["prune"], "say what to prune"),
        (["import", "missing.json"], "cannot read report missing.json"),
    ],
)
def test_errors_are_one_line_exit_2(store: str, args: list[str], said: str) -> None:
    status, _, err = cli(*args, "--history", store)
    assert status == 2
    assert err.count("\n") == 1
    assert said in err


AB_SUITE = """
def test_prompts(perf):
    def variant(words):
        return lambda: perf.metric("answer_words", words)

    perf.ab(variant(32), variant(16), labels=("long", "<short>"))
"""


def test_show_lists_a_runs_ab_tests(project: pytest.Pytester) -> None:
    project.makepyfile(test_ab_suite=AB_SUITE)
    project.runpytest("test_ab_suite.py").assert_outcomes(passed=1)
    status, out, _ = history(project, "list")
    run = out.splitlines()[2].split()[0]
    status, out, _ = history(project, "show", run)
    assert status == 0
    assert "tests:         0" in out  # no test measured apart from the A/B one...
    (row,) = [line for line in out.splitlines() if "answer_words" in line]
    # ...which shows b against a per gated metric
    assert row.split() == [
        "test_ab_suite.py::test_prompts",
        "<short>",
        "vs",
        "long",
        "answer_words",
        "10",
        "32",
        "16",
        "0.5",
        "improved",
    ]
    status, out, _ = history(project, "show", run, "--metric", "round_s")
    assert "answer_words" not in out
