"""The ``perfbaseline`` command: each command's output and exit status, and its errors.

Baselines are real files written by :class:`BaselineStore`, reports real ``--perf-json``
documents written by :func:`reports.dumps`, both from synthetic results; ``main`` is called
in-process. Ages are relative to the real clock only where a whole day or hour is asserted.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fakes import COMMIT, ENV, TIME, TOKENS, plain_report

from pytest_perfbaseline.baseline.environment import Environment, utc_timestamp
from pytest_perfbaseline.baseline.store import BaselineStore
from pytest_perfbaseline.cli import main
from pytest_perfbaseline.gate.rounds import fewest_rounds
from pytest_perfbaseline.metrics.result import TestResult
from pytest_perfbaseline.reports.json_report import REPORT_VERSION, dumps
from pytest_perfbaseline.stats import rounds_needed

PROFILE = "linux-x86_64-2cpu"


# Ten rounds each, spread ~2%: the same workload, and one 50% slower (fully separated).
BASE = [0.100, 0.102, 0.098, 0.101, 0.099, 0.103, 0.097, 0.100, 0.101, 0.099]
SAME = [0.101, 0.099, 0.100, 0.102, 0.098, 0.100, 0.101, 0.099, 0.103, 0.100]
SLOW = [v * 1.5 for v in BASE]


def env_aged(age: timedelta, *, dirty: bool = False) -> Environment:
    return replace(ENV, saved_at=utc_timestamp(datetime.now(timezone.utc) - age), git_dirty=dirty)


def make_result(nodeid: str, ttft: list[float], tokens: float = 32.0) -> TestResult:
    return TestResult(
        nodeid=nodeid,
        rounds=tuple({"ttft_s": t, "output_tokens": tokens} for t in ttft),
        infos={"ttft_s": TIME, "output_tokens": TOKENS},
        itl_histogram=((0.001, 0.00125893, 3),),
        itl_pooled=None,
        token_sources={"": "usage"},
        rounds_requested=len(ttft),
        warmup=1,
        implicit=False,
    )


def save(root: Path, profile: str, nodeid: str, env: Environment = ENV) -> None:
    report = BaselineStore(root, profile).save([(make_result(nodeid, BASE[:3]), env)])
    assert report.errors == ()


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file's bytes under ``root`` (not the lock file, which locking may create)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def write_report(
    path: Path, results: list[TestResult], *, profile: str = PROFILE, env: Environment = ENV
) -> Path:
    report = plain_report(results, profile=profile, env=env)
    path.write_text(dumps(report), encoding="utf-8")
    return path


def one_error_line(err: str, prog: str) -> str:
    """The single stderr line of a user error (no traceback), returned for further checks."""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{prog}: error: "), err
    return lines[0]


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with baselines of two profiles, one test file deleted since; cwd is it."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / ".perfbaseline"
    save(root, PROFILE, "tests/test_chat.py::test_answer", env_aged(timedelta(hours=5, minutes=1)))
    save(
        root,
        PROFILE,
        "tests/test_chat.py::test_other[gpt-4o]",
        env_aged(timedelta(days=40, minutes=1), dirty=True),
    )
    save(root, PROFILE, "tests/test_gone.py::test_x", env_aged(timedelta(days=2, minutes=1)))
    save(root, "ci", "tests/test_chat.py::test_answer", env_aged(timedelta(days=40, minutes=1)))
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_chat.py").write_text("", encoding="utf-8")
    return root


# -- the parser --------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [None, "list", "show", "compare", "prune", "power"])
def test_help_of_every_command(command: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--help"] if command is None else [command, "--help"]

    assert main(argv) == 0

    out, err = capsys.readouterr()
    assert err == ""
    usage = "usage: perfbaseline" + (f" {command}" if command else "")
    assert out.startswith(usage)
    assert "exit status" in out or command in ("show", "power")
    if command is not None:
        assert "examples:" in out
        assert f"perfbaseline {command} " in out.split("examples:")[1]


def test_python_dash_m_runs_the_command(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest_perfbaseline", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: python -m pytest_perfbaseline")
    for command in ("list", "show", "compare", "prune", "power"):
        assert command in proc.stdout


def test_help_and_listing_import_nothing_heavy(tmp_path: Path) -> None:
    code = (
        "import sys; from pytest_perfbaseline.cli import main\n"
        "codes = [main(['--help']), main(['list'])]\n"
        "print(codes, sorted(m for m in ('numpy', 'scipy') if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "[0, 0] []"


@pytest.mark.parametrize(
    ("argv", "prog", "expected"),
    [
        ([], "perfbaseline", "required: COMMAND"),
        (["bogus"], "perfbaseline", "invalid choice: 'bogus'"),
        (["list", "--bogus"], "perfbaseline", "unrecognized arguments: --bogus"),
        (["show"], "perfbaseline show", "required: TEST"),
        (["compare", "a.json"], "perfbaseline compare", "required: CURRENT"),
        (["list", "--profile", "not a name"], "perfbaseline list", "invalid baseline profile"),
        (["list", "--max-age", "soon"], "perfbaseline list", "argument --max-age"),
    ],
)
def test_bad_command_lines_are_one_line_usage_errors(
    argv: list[str], prog: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2

    out, err = capsys.readouterr()
    assert out == ""
    line = one_error_line(err, prog)
    assert expected in line
    assert line.endswith(f"(see {prog} --help)")


# -- list --------------------------------------------------------------------------------------


def test_list_without_a_baseline_folder_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    assert main(["list"]) == 0

    out, err = capsys.readouterr()
    assert err == ""
    assert out == (
        "no baselines: .perfbaseline does not exist (pytest --perf-baseline=save creates it)\n"
    )


def test_list_shows_every_profile_sorted_with_age_commit_and_plugin(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list"]) == 0

    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0].split() == [
        "profile",
        "test",
        "rounds",
        "age",
        "saved",
        "(UTC)",
        "commit",
        "plugin",
    ]
    rows = [line.split() for line in lines[2:-1]]
    assert [(r[0], r[1]) for r in rows] == [
        ("ci", "tests/test_chat.py::test_answer"),
        (PROFILE, "tests/test_chat.py::test_answer"),
        (PROFILE, "tests/test_chat.py::test_other[gpt-4o]"),
        (PROFILE, "tests/test_gone.py::test_x"),
    ]
    assert rows[0][2:6] == ["3", "40", "days", "(stale)"]
    assert rows[1][2:5] == ["3", "5", "h"]
    assert rows[3][2:5] == ["3", "2", "days"]
    assert rows[2][-3:] == [COMMIT[:12], "(dirty)", "0.1.0"]
    assert rows[1][-2:] == [COMMIT[:12], "0.1.0"]
    assert lines[-1].startswith(
        f"4 baselines of 3 tests in 2 profiles (ci, {PROFILE}) under .perfbaseline; "
        "this machine's default profile is "
    )


def test_list_of_one_profile_with_dir_before_or_after_the_command(
    store_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    for argv in (
        ["--dir", str(store_dir), "--profile", "ci", "list"],
        ["list", "--dir", str(store_dir), "--profile", "ci"],
        ["--profile", "ci", "list", "--dir", str(store_dir)],
    ):
        assert main(argv) == 0
        out, _ = capsys.readouterr()
        assert out.count("tests/test_chat.py::test_answer") == 1
        assert PROFILE + " " not in out
        assert f"1 baseline of 1 test in profile ci under {store_dir};" in out


def test_list_of_a_profile_that_does_not_exist_names_the_ones_there(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list", "--profile", "mac"]) == 0

    out, _ = capsys.readouterr()
    assert out == f"no baselines of profile mac in .perfbaseline (profiles there: ci, {PROFILE})\n"


def test_list_max_age_never_marks_nothing_stale(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list", "--max-age", "never"]) == 0
    assert "stale" not in capsys.readouterr().out

    assert main(["list", "--max-age", "1d"]) == 0
    assert capsys.readouterr().out.count("(stale)") == 3


def test_list_goes_on_past_a_corrupt_file_and_exits_1(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = store_dir / PROFILE / "tests" / "test_chat.py.json"
    bad.write_text("{not json", encoding="utf-8")

    assert main(["list"]) == 1

    out, err = capsys.readouterr()
    assert "tests/test_gone.py::test_x" in out
    assert "tests/test_chat.py::test_other" not in out
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) == 1
    shown = bad.relative_to(store_dir.parent)  # as --dir names it: .perfbaseline/...
    assert errors[0].startswith(f"perfbaseline list: error: baseline file {shown}: is not valid")
    assert err.splitlines()[-1] == "1 baseline file could not be read (see above)"


def test_list_with_dir_naming_a_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("", encoding="utf-8")

    assert main(["list", "--dir", str(a_file)]) == 2

    assert f"--dir {a_file} is not a folder" in one_error_line(
        capsys.readouterr().err, "perfbaseline list"
    )


# -- show --------------------------------------------------------------------------------------


def test_show_prints_where_and_when_and_the_metrics_table(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", "test_other"]) == 0

    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == "tests/test_chat.py::test_other[gpt-4o]"
    assert lines[1] == f"  profile: {PROFILE}"
    assert lines[2] == f"  file:    {Path('.perfbaseline', PROFILE, 'tests', 'test_chat.py.json')}"
    assert lines[3].startswith("  saved:   ")
    assert lines[3].endswith("(40 days ago) by pytest-perfbaseline 0.1.0")
    assert lines[4] == f"  commit:  {COMMIT} (uncommitted changes)"
    assert lines[5] == (
        "  machine: Example CPU @ 2.60GHz, 2 cores; Linux-6.1.0-x86_64-with-glibc2.36; "
        "CPython 3.11.7"
    )
    assert lines[6] == "  rounds:  3 stored (3 requested), 1 warm-up"
    table = {line.split()[0]: line.split()[1:] for line in lines if line[:1] not in ("", " ", "-")}
    assert table["metric"] == ["n", "median", "p95", "min", "max", "cv"]
    # BASE[:3] = 100, 102, 98 ms: median 100, p95 101.8, min 98, max 102 (fmt.format_value);
    # standard deviation 2 ms, mean 100 ms: cv 2%
    assert table["ttft_s"] == [
        "3",
        "100",
        "ms",
        "102",
        "ms",
        "98.0",
        "ms",
        "102",
        "ms",
        "2.0%",
    ]
    assert table["output_tokens"] == ["3", "32", "32", "32", "32", "0.0%"]
    assert "output tokens counted from: all streams: usage" in out


def test_show_by_exact_id_or_pattern_in_every_profile_or_one(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (
        ["show", "tests/test_chat.py::test_answer"],
        ["show", "*::test_answer"],
    ):
        assert main(argv) == 0
        out, _ = capsys.readouterr()
        assert out.count("tests/test_chat.py::test_answer\n") == 2
        assert "  profile: ci\n" in out
        assert f"  profile: {PROFILE}\n" in out

    assert main(["show", "test_answer", "--profile", "ci"]) == 0
    out, _ = capsys.readouterr()
    assert out.count("  profile: ") == 1
    assert "  profile: ci\n" in out


def test_show_an_ambiguous_test_lists_candidates(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", "test_chat.py"]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    line = one_error_line(err, "perfbaseline show")
    assert line == (
        "perfbaseline show: error: 'test_chat.py' matches 2 stored tests: "
        "tests/test_chat.py::test_answer, tests/test_chat.py::test_other[gpt-4o]; "
        "give more of the test id"
    )


def test_show_goes_on_past_a_corrupt_file_and_exits_1(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = store_dir / "ci" / "tests" / "test_chat.py.json"
    bad.write_text('{"schema": 99, "tests": {}}', encoding="utf-8")

    assert main(["show", "test_answer"]) == 1

    out, err = capsys.readouterr()
    assert out.count("  profile: ") == 1
    assert f"  profile: {PROFILE}\n" in out
    line = one_error_line(err, "perfbaseline show")
    assert f"baseline file {bad.relative_to(store_dir.parent)}: was written by a newer" in line


def test_show_lists_at_most_a_few_candidates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    store = BaselineStore(tmp_path / ".perfbaseline", PROFILE)
    store.save([(make_result(f"test_m.py::test_{i}", BASE[:2]), ENV) for i in range(8)])

    assert main(["show", "test_"]) == 2

    line = one_error_line(capsys.readouterr().err, "perfbaseline show")
    assert "matches 8 stored tests: test_m.py::test_0, " in line
    assert "test_m.py::test_4 and 3 more; " in line
    assert "test_5" not in line


def test_show_without_a_match_is_a_usage_error(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", "test_nothing"]) == 2

    line = one_error_line(capsys.readouterr().err, "perfbaseline show")
    assert "no stored test matches 'test_nothing' in .perfbaseline (3 tests stored;" in line


def test_show_without_baselines_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    assert main(["show", "test_answer"]) == 2

    assert "no baselines: .perfbaseline does not exist" in one_error_line(
        capsys.readouterr().err, "perfbaseline show"
    )


# -- compare -----------------------------------------------------------------------------------


@pytest.fixture
def reports(tmp_path: Path) -> tuple[Path, Path]:
    """A baseline report and a current one in which test_a got 50% slower."""
    baseline = write_report(
        tmp_path / "a.json",
        [
            make_result("t.py::test_a", BASE),
            make_result("t.py::test_b", BASE),
            make_result("t.py::test_old", BASE),
        ],
    )
    current = write_report(
        tmp_path / "b.json",
        [
            make_result("t.py::test_a", SLOW),
            make_result("t.py::test_b", SAME),
            make_result("t.py::test_new", BASE),
        ],
    )
    return baseline, current


def test_compare_with_a_regression_exits_1_and_explains_it(
    reports: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = reports

    assert main(["compare", str(a), str(b)]) == 1

    out, err = capsys.readouterr()
    assert err == ""
    assert f"baseline {a}: 3 perf tests, measured {ENV.saved_at}" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("t.py::")]
    assert rows[0][:4] == ["t.py::test_a", "ttft_s", "100", "ms"]
    assert rows[0][-2:] == ["regressed", "(p=5.4e-06)"]
    assert len(rows) == 1  # test_b is unchanged: only -v lists it
    assert "performance regression in t.py::test_a\n  ttft_s: 100 ms -> 150 ms, +50.0%" in out
    # two tests compared: each gets alpha / 2; output_tokens is constant, so ttft_s has it all
    assert "p = 5.4e-06 < alpha 0.005; 10 baseline vs 10 current rounds" in out
    assert f"; report {a}\n" in out
    assert "gone (only in the baseline): t.py::test_old\n" in out
    assert "new (only in the current report): t.py::test_new\n" in out
    assert out.endswith(
        "compared 2 tests at alpha 0.01 for the session (0.005 per test): "
        "1 regressed, 1 unchanged, 1 new, 1 gone\n"
    )


def test_compare_without_a_regression_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write_report(tmp_path / "a.json", [make_result("t.py::test_b", BASE)])
    b = write_report(tmp_path / "b.json", [make_result("t.py::test_b", SAME)])

    assert main(["compare", str(a), str(b)]) == 0

    out, _ = capsys.readouterr()
    assert "every gated metric is unchanged (-v lists them)" in out
    assert "regression" not in out
    assert out.endswith(
        "compared 1 test at alpha 0.01 for the session (0.01 per test): 1 unchanged\n"
    )

    assert main(["compare", str(a), str(b), "-v"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if "t.py::" in line]
    assert [(r[1], r[-1]) for r in rows] == [
        ("output_tokens", "unchanged"),
        ("ttft_s", "unchanged"),
    ]


@pytest.mark.parametrize(
    ("options", "summary"),
    [
        (["--threshold", "60%"], "(0.005 per test): 2 unchanged"),  # +50% is within 60%
        (["--threshold", "ttft_s=60%"], "(0.005 per test): 2 unchanged"),
        (["--gate", "output_tokens"], "(0.005 per test): 2 unchanged"),  # ttft_s cannot fail
        (["--alpha", "0.05"], "(0.025 per test): 1 regressed, 1 unchanged"),
    ],
)
def test_compare_options_reach_the_gate(
    reports: tuple[Path, Path],
    options: list[str],
    summary: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b = reports

    code = main(["compare", str(a), str(b), *options])

    out = capsys.readouterr().out
    assert code == (1 if "regressed" in summary else 0)
    assert f"{summary}, 1 new, 1 gone" in out.splitlines()[-1]


def test_compare_names_a_baseline_measured_on_another_machine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = replace(ENV, cpu="Other CPU", cores=8)
    a = write_report(tmp_path / "a.json", [make_result("t.py::test_a", BASE)], env=other)
    b = write_report(tmp_path / "b.json", [make_result("t.py::test_a", SLOW)])

    assert main(["compare", str(a), str(b)]) == 1

    out = capsys.readouterr().out
    assert f"commit {COMMIT[:12]}, profile {PROFILE}, Other CPU, 8 cores, Python 3.11.7" in out
    assert "NOT the current report's machine (Example CPU @ 2.60GHz, 2 cores)" in out


def test_compare_says_when_reports_come_from_different_profiles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write_report(tmp_path / "a.json", [make_result("t.py::test_b", BASE)], profile="ci")
    b = write_report(tmp_path / "b.json", [make_result("t.py::test_b", SAME)])

    assert main(["compare", str(a), str(b)]) == 0

    err = capsys.readouterr().err
    assert err == (
        f"perfbaseline compare: warning: the reports come from different profiles "
        f"(ci vs {PROFILE}); compared anyway, as asked\n"
    )


def test_compare_without_common_tests_compares_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write_report(tmp_path / "a.json", [make_result("t.py::test_a", BASE)])
    b = write_report(tmp_path / "b.json", [make_result("t.py::test_b", BASE)])

    assert main(["compare", str(a), str(b)]) == 0

    out = capsys.readouterr().out
    assert "no test is in both reports: nothing to compare" in out
    assert out.endswith(
        "compared 0 tests at alpha 0.01 for the session (0.01 per test): 1 new, 1 gone\n"
    )


def _newer(path: Path, good: Path) -> None:
    data = json.loads(good.read_text(encoding="utf-8"))
    data["version"] = REPORT_VERSION + 1
    path.write_text(json.dumps(data), encoding="utf-8")


def _malformed(path: Path, good: Path) -> None:
    data = json.loads(good.read_text(encoding="utf-8"))
    del data["session"]
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (None, "cannot read report {path}: No such file or directory"),
        (
            lambda p, g: p.write_text("{not json", encoding="utf-8"),
            "report {path} is not valid JSON",
        ),
        (
            lambda p, g: p.write_text('{"hello": 1}', encoding="utf-8"),
            "{path} is not a pytest-perfbaseline report (write one with pytest --perf-json=PATH)",
        ),
        (_newer, f"report {{path}} has version {REPORT_VERSION + 1}, newer than"),
        (_malformed, "report {path} is malformed: KeyError: 'session'"),
        (lambda p, g: p.write_bytes(b"\xff\xfe\x00binary"), "report {path} is not UTF-8 text"),
        (lambda p, g: p.mkdir(), "cannot read report {path}: Is a directory"),
    ],
    ids=["missing", "not-json", "not-a-report", "newer", "malformed", "binary", "folder"],
)
@pytest.mark.parametrize("side", ["baseline", "current"])
def test_compare_with_a_bad_report_is_one_line_naming_it(
    reports: tuple[Path, Path],
    make: object,
    expected: str,
    side: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if sys.platform == "win32" and "Is a directory" in expected:
        pytest.skip("Windows words this OS error differently")
    a, b = reports
    bad = a.parent / "bad.json"
    if callable(make):
        make(bad, a)
    argv = ["compare", str(bad), str(b)] if side == "baseline" else ["compare", str(a), str(bad)]

    assert main(argv) == 2

    out, err = capsys.readouterr()
    assert out == ""
    line = one_error_line(err, "perfbaseline compare")
    assert expected.format(path=bad) in line


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--threshold", "lots", "argument --threshold: threshold must be a fraction"),
        ("--threshold", "5", "argument --threshold: threshold '5' is ambiguous"),
        ("--alpha", "2", "argument --alpha: alpha must be a probability between 0 and 1"),
        ("--gate", ",", "argument --gate: gate needs at least one metric name or pattern"),
    ],
)
def test_compare_option_values_are_checked(
    reports: tuple[Path, Path],
    option: str,
    value: str,
    expected: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b = reports

    assert main(["compare", str(a), str(b), f"{option}={value}"]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert expected in one_error_line(err, "perfbaseline compare")


# -- prune -------------------------------------------------------------------------------------


def test_prune_needs_a_criterion(store_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prune", "--apply"]) == 2

    line = one_error_line(capsys.readouterr().err, "perfbaseline prune")
    assert "say what to prune: --missing, --older-than AGE, or both" in line


def test_prune_missing_is_a_dry_run_until_applied(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(store_dir)

    assert main(["prune", "--missing"]) == 0

    out, err = capsys.readouterr()
    assert err == ""
    assert snapshot(store_dir) == before
    lines = out.splitlines()
    assert lines[0] == "would remove 1 of 4 stored entries (dry run: add --apply to remove them)"
    assert lines[-1].split() == [
        PROFILE,
        "tests/test_gone.py::test_x",
        "tests/test_gone.py",
        "not",
        "found",
    ]

    assert main(["prune", "--missing", "--apply"]) == 0

    out, _ = capsys.readouterr()
    assert out.splitlines()[0] == "removed 1 of 4 stored entries (1 file changed)"
    after = snapshot(store_dir)
    assert str(Path(PROFILE, "tests", "test_gone.py.json")) not in after
    assert {k: v for k, v in before.items() if "test_gone" not in k} == after
    assert main(["list"]) == 0
    assert "test_gone" not in capsys.readouterr().out


def test_prune_older_than_keeps_other_tests_of_the_same_file(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(store_dir)

    assert main(["prune", "--older-than", "30d"]) == 0
    assert snapshot(store_dir) == before
    out = capsys.readouterr().out
    assert out.startswith("would remove 2 of 4 stored entries (dry run")
    assert "saved 40 days ago" in out

    assert main(["prune", "--older-than", "30d", "--apply"]) == 0

    out = capsys.readouterr().out
    assert out.startswith("removed 2 of 4 stored entries (2 files changed)")
    assert not (store_dir / "ci").exists()  # its only file went, and the profile with it
    remaining = BaselineStore(store_dir, PROFILE)
    assert remaining.load("tests/test_chat.py::test_answer") is not None
    assert remaining.load("tests/test_chat.py::test_other[gpt-4o]") is None


def test_prune_with_both_criteria_removes_what_meets_either(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["prune", "--missing", "--older-than", "4w", "--profile", PROFILE]) == 0

    out = capsys.readouterr().out
    assert out.startswith("would remove 2 of 3 stored entries")
    assert "test_other[gpt-4o]" in out
    assert "test_gone.py::test_x" in out


def test_prune_with_nothing_to_do_says_so(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["prune", "--older-than", "60d"]) == 0

    assert capsys.readouterr().out == (
        "nothing to prune: no entry older than 60d (4 entries in .perfbaseline)\n"
    )


def test_prune_missing_refuses_to_apply_when_no_test_file_exists(
    store_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    before = snapshot(store_dir)

    assert main(["prune", "--missing", "--rootdir", str(empty)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("would remove 4 of 4")
    assert err.startswith("perfbaseline prune: warning: no test file of the 4 stored entries")

    assert main(["prune", "--missing", "--rootdir", str(empty), "--apply"]) == 2
    line = one_error_line(capsys.readouterr().err, "perfbaseline prune")
    assert f"exists under {empty}: is that the project's rootdir?" in line
    assert "nothing removed" in line
    assert snapshot(store_dir) == before


def test_prune_looks_test_files_up_under_the_rootdir(
    store_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other"
    (other / "tests").mkdir(parents=True)
    (other / "tests" / "test_gone.py").write_text("", encoding="utf-8")

    assert main(["prune", "--missing", "--rootdir", str(other)]) == 0

    out = capsys.readouterr().out
    assert out.startswith("would remove 3 of 4")
    assert "test_gone" not in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--older-than", "soon"], "argument --older-than: age must be a number with a unit"),
        (["--older-than", "never"], "argument --older-than: age needs an age like '30d'"),
        (["--missing", "--rootdir", "no/such/dir"], "--rootdir no/such/dir is not a folder"),
    ],
)
def test_prune_bad_arguments(
    store_dir: Path, argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(store_dir)

    assert main(["prune", *argv, "--apply"]) == 2

    assert expected in one_error_line(capsys.readouterr().err, "perfbaseline prune")
    assert snapshot(store_dir) == before


def test_prune_goes_on_past_a_corrupt_file_and_exits_1(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = store_dir / PROFILE / "tests" / "test_chat.py.json"
    bad.write_text("", encoding="utf-8")

    assert main(["prune", "--missing", "--apply"]) == 1

    out, err = capsys.readouterr()
    assert out.startswith("removed 1 of 2 stored entries")
    shown = bad.relative_to(store_dir.parent)
    assert err.startswith(f"perfbaseline prune: error: baseline file {shown}: is empty")
    assert bad.read_text(encoding="utf-8") == ""  # a bad file is never rewritten


# -- power -------------------------------------------------------------------------------------


def expected_rounds(
    effect: float, noise: float, threshold: float, alpha: float, power: float
) -> int:
    d = (math.log1p(effect) - math.log1p(threshold)) / math.sqrt(math.log1p(noise**2))
    planned = rounds_needed(d, alpha=alpha, power=power, alternative="greater", test="mann-whitney")
    return max(planned, fewest_rounds(alpha))


@pytest.mark.parametrize(
    ("argv", "plan"),
    [
        # plan: effect, noise, threshold, per-metric alpha, power
        (["--effect", "30%", "--noise", "5%"], (0.30, 0.05, 0.10, 0.01, 0.8)),
        (["--effect", "0.2", "--noise", "0.05"], (0.20, 0.05, 0.10, 0.01, 0.8)),
        (
            ["--effect", "15%", "--noise", "5%", "--tests", "10", "--metrics", "3"],
            (0.15, 0.05, 0.10, 0.01 / 30, 0.8),
        ),
        (
            ["--effect", "25%", "--noise", "10%", "--threshold", "5%", "--power", "0.95"],
            (0.25, 0.10, 0.05, 0.01, 0.95),
        ),
        (["--effect", "30%", "--noise", "8%", "--alpha", "5%"], (0.30, 0.08, 0.10, 0.05, 0.8)),
    ],
)
def test_power_matches_the_stats_module(
    argv: list[str],
    plan: tuple[float, float, float, float, float],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["power", *argv]) == 0

    out, err = capsys.readouterr()
    assert err == ""
    first, sentence = out.splitlines()
    n = expected_rounds(*plan)
    alpha = plan[3]
    assert first == f"{n} rounds per side (baseline and current)"
    assert "exact Mann-Whitney test at alpha " in sentence
    assert f"= {alpha:.2g} per metric." in sentence


def test_power_known_values(capsys: pytest.CaptureFixture[str]) -> None:
    # Hand-checked: a 30% slowdown beyond a 10% threshold at 5% noise is 3.34 SDs of the
    # log values; the exact t power calculation gives 4 per group, times pi/3 -> 5.
    assert main(["power", "--effect", "30%", "--noise", "5%"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("5 rounds per side (baseline and current)\n")
    assert "ln(1.3 / 1.1) = 0.167, is 3.34 SDs of the log values (0.05)" in out
    assert "alpha 0.01 / (1 test x 1 metric) = 0.01 per metric." in out


def test_power_never_answers_fewer_rounds_than_the_exact_test_can_use(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A huge effect: the power calculation says 3 rounds, but with 3 or 4 rounds a side the
    # smallest exact p-value (1/20, 1/70) cannot get below 0.01; 5 rounds (1/252) can.
    assert main(["power", "--effect", "50%", "--noise", "2%"]) == 0

    out = capsys.readouterr().out
    assert out.startswith("5 rounds per side")
    assert "The power calculation alone gives 3, but with fewer than 5 rounds a side" in out
    assert fewest_rounds(0.01) == 5
    assert 1 / math.comb(10, 5) < 0.01 <= 1 / math.comb(8, 4)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--effect", "10%", "--noise", "5%"], "--effect 10% is not larger than --threshold 10%"),
        (
            ["--effect", "20%", "--noise", "5%", "--threshold", "25%"],
            "--effect 20% is not larger than --threshold 25%",
        ),
        (["--effect", "20%", "--noise", "0"], "argument --noise: must be above 0"),
        (["--effect", "5", "--noise", "5%"], "argument --effect: effect '5' is ambiguous"),
        (["--effect", "fast", "--noise", "5%"], "argument --effect: effect must be a fraction"),
        (["--noise", "5%"], "the following arguments are required: --effect"),
        (["--effect", "20%", "--noise", "5%", "--alpha", "1"], "argument --alpha: alpha must be"),
        (["--effect", "20%", "--noise", "5%", "--power", "1"], "argument --power: power must be"),
        (["--effect", "20%", "--noise", "5%", "--tests", "0"], "argument --tests: tests must be"),
        (["--effect", "20%", "--noise", "5%", "--metrics", "x"], "argument --metrics: metrics"),
    ],
)
def test_power_bad_arguments(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["power", *argv]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    line = one_error_line(err, "perfbaseline power")
    assert expected in line
    assert line.endswith("(see perfbaseline power --help)")


# -- main as a console script --------------------------------------------------------------------


def test_main_reads_sys_argv_by_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["perfbaseline", "list"])

    assert main() == 0
    assert "no baselines" in capsys.readouterr().out
