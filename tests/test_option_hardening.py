"""Options that would quietly do harm are refused: empty values, report paths that are not
regular files; and the CSV report cannot smuggle a formula into a spreadsheet."""

from __future__ import annotations

import csv
import io
import os
import stat
import sys
from pathlib import Path

import pytest
from fakes import INI, TIME, plain_report

from pytest_perfbaseline.files import not_a_regular_file
from pytest_perfbaseline.metrics.result import TestResult
from pytest_perfbaseline.reports.csv_report import render_csv
from pytest_perfbaseline.reports.outputs import write_reports
from pytest_perfbaseline.reports.run import RunReport

REPORT_OPTIONS = ["--perf-json", "--perf-csv", "--perf-markdown"]
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    pytester.makeini(INI)
    pytester.makepyfile(
        test_suite="""
        import pytest

        @pytest.mark.perf(rounds=2, warmup=0)
        def test_one(perf):
            perf(lambda: perf.record_usage("gpt-4o-mini", 10, 2))
        """
    )
    return pytester


def usage_error(result: pytest.RunResult, *lines: str) -> None:
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(list(lines))
    assert "passed" not in result.stdout.str()


# -- report paths that are not regular files ---------------------------------------------------


@needs_fifo
@pytest.mark.parametrize("option", REPORT_OPTIONS)
def test_a_fifo_at_a_report_path_is_a_usage_error(suite: pytest.Pytester, option: str) -> None:
    fifo = suite.path / "pipe"
    os.mkfifo(fifo)
    usage_error(
        suite.runpytest(f"{option}=pipe"),
        f"*{option}=*pipe is a FIFO (named pipe), not a regular file, and the report would "
        "replace it; give the path of a regular file or a new one*",
    )
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.parametrize("option", REPORT_OPTIONS)
def test_a_symlink_at_a_report_path_is_a_usage_error(suite: pytest.Pytester, option: str) -> None:
    target = suite.path / "elsewhere.txt"
    target.write_text("keep me")
    link = suite.path / "report.out"
    link.symlink_to(target)
    usage_error(suite.runpytest(f"{option}=report.out"), "*report.out is a symbolic link*")
    assert link.is_symlink()
    assert target.read_text() == "keep me"


def test_a_device_at_a_report_path_is_a_usage_error(suite: pytest.Pytester) -> None:
    # A private twin of /dev/null: were the check to regress, only it would be replaced.
    device = suite.path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (AttributeError, OSError) as exc:
        pytest.skip(f"cannot create a character device here: {exc}")
    usage_error(
        suite.runpytest("--perf-json=null"),
        "*--perf-json=*null is a character device, not a regular file*",
    )
    assert stat.S_ISCHR(os.lstat(device).st_mode)


def test_a_regular_file_at_a_report_path_is_replaced(suite: pytest.Pytester) -> None:
    (suite.path / "r.json").write_text("old")
    suite.runpytest("--perf-json=r.json").assert_outcomes(passed=1)
    assert (suite.path / "r.json").read_text().startswith("{")


def test_not_a_regular_file_names_what_is_there(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    (tmp_path / "link").symlink_to(tmp_path / "file")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    assert not_a_regular_file(tmp_path / "missing") is None
    assert not_a_regular_file(tmp_path / "file") is None
    assert not_a_regular_file(tmp_path / "link") == "a symbolic link"
    assert not_a_regular_file(tmp_path / "dangling") == "a symbolic link"
    assert not_a_regular_file(tmp_path) == "a folder"


def small_report(nodeid: str = "tests/test_x.py::test_y", metric: str = "ttft_s") -> RunReport:
    result = TestResult(
        nodeid=nodeid,
        rounds=({metric: 0.5}, {metric: -0.25}),
        infos={metric: TIME},
        itl_histogram=(),
        itl_pooled=None,
        token_sources={"": "usage"},
        rounds_requested=2,
        warmup=0,
        implicit=False,
    )
    return plain_report([result], profile="p")


@needs_fifo
def test_the_writer_leaves_a_fifo_that_appeared_during_the_session(tmp_path: Path) -> None:
    fifo = tmp_path / "r.csv"
    os.mkfifo(fifo)
    outputs = write_reports(small_report(), {"--perf-csv": fifo}, None, tmp_path)
    assert outputs.written == []
    assert outputs.errors == [
        f"--perf-csv: {fifo} is a FIFO (named pipe), not a regular file; it was left alone "
        "(remove it, or give the path of a regular file or a new one)"
    ]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_the_writer_leaves_a_symlink_that_appeared_during_the_session(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_text("keep me")
    (tmp_path / "r.json").symlink_to(target)
    outputs = write_reports(
        small_report(),
        {"--perf-json": tmp_path / "r.json", "--perf-csv": tmp_path / "r.csv"},
        None,
        tmp_path,
    )
    assert outputs.errors == [
        f"--perf-json: {tmp_path / 'r.json'} is a symbolic link, not a regular file; it was "
        "left alone (remove it, or give the path of a regular file or a new one)"
    ]
    assert outputs.written == ["--perf-csv report: r.csv"]  # the others are still written
    assert (tmp_path / "r.json").is_symlink()
    assert target.read_text() == "keep me"


def test_a_report_path_replaced_during_the_session_is_reported_not_written(
    suite: pytest.Pytester,
) -> None:
    suite.makeconftest(
        """
        import os
        import pytest

        @pytest.hookimpl(tryfirst=True)  # before the plugin writes its reports
        def pytest_sessionfinish(session):
            os.symlink("target", "r.json")
        """
    )
    (suite.path / "target").write_text("keep me")
    result = suite.runpytest("--perf-json=r.json")
    result.stdout.fnmatch_lines(["*report NOT written: --perf-json: *r.json is a symbolic link*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert (suite.path / "r.json").is_symlink()
    assert (suite.path / "target").read_text() == "keep me"


# -- empty values ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", ",,", " , "])
def test_an_empty_gate_option_is_a_usage_error(suite: pytest.Pytester, value: str) -> None:
    usage_error(
        suite.runpytest(f"--perf-gate={value}"),
        "*--perf-gate needs at least one metric name or pattern (like 'ttft_s,cost_usd'; "
        "leave it out for the default gate)*",
    )


def test_an_empty_gate_in_the_ini_file_is_a_usage_error(suite: pytest.Pytester) -> None:
    suite.makeini(f"{INI}perf_gate = ,\n")
    usage_error(
        suite.runpytest(), "*ini option perf_gate needs at least one metric name or pattern*"
    )


@pytest.mark.parametrize("gate", ["[]", "''", "','", "()"])
def test_an_empty_gate_in_the_marker_errors_that_test(suite: pytest.Pytester, gate: str) -> None:
    suite.makepyfile(
        test_suite=f"""
        import pytest

        @pytest.mark.perf(gate={gate})
        def test_bad(perf):
            perf(lambda: None)

        def test_unaffected(perf):
            perf(lambda: None)
        """
    )
    result = suite.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*test_bad*@pytest.mark.perf: gate needs at least one metric name or pattern*"]
    )


@pytest.mark.parametrize(
    ("option", "accepted"),
    [
        ("--perf-baseline-dir", "a folder path, relative to the rootdir"),
        ("--perf-json", "the path of the report file to write"),
        ("--perf-csv", "the path of the report file to write"),
        ("--perf-markdown", "the path of the report file to write"),
        ("--perf-prices", "the path of a TOML or JSON price file"),
        ("--perf-profile", "a name of letters, digits, '.', '_' or '-'"),
    ],
)
@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_string_option_is_a_usage_error(
    suite: pytest.Pytester, option: str, accepted: str, value: str
) -> None:
    usage_error(
        suite.runpytest(f"{option}={value}", "--perf-baseline=save"),
        f"*pytest-perfbaseline: {option} is empty: give {accepted}*",
    )
    assert sorted(p.name for p in suite.path.iterdir() if not p.name.startswith(".")) == [
        "test_suite.py",
        "tox.ini",
    ]


# -- CSV injection -----------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_text_cells_that_look_like_formulas_get_a_quote(start: str) -> None:
    text = render_csv(small_report(f"{start}cmd()::t", f"{start}HYPERLINK(1)"))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][0] == f"'{start}cmd()::t"
    assert rows[1][1] == f"'{start}HYPERLINK(1)"


def test_csv_numbers_are_never_quoted() -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(small_report()))))
    assert rows[0]["test"] == "tests/test_x.py::test_y"
    assert rows[0]["min"] == "-0.25"
    assert float(rows[0]["min"]) == -0.25


def test_csv_ordinary_text_is_unchanged() -> None:
    rows = list(csv.reader(io.StringIO(render_csv(small_report("a=b::c", "x-y")))))
    assert rows[1][:3] == ["a=b::c", "x-y", "s"]


if sys.platform == "win32":  # pragma: no cover - symlinks need privileges there
    pytestmark = pytest.mark.skip(reason="creating symlinks needs privileges on Windows")
