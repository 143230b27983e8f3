"""``perfbaseline ab REF``: the working tree against a git revision, in alternating sessions.

Each test makes a real git repository with a perf test whose gated value is a deterministic
``perf.metric`` counter (``--gate work``), so every verdict is exact; the sessions are real
pytest processes. Also: the pooling's drift allowance on synthetic samples, the order of
the sessions, and that the worktree is gone after success, failure and Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import pytest_perfbaseline
from pytest_perfbaseline.cli import main
from pytest_perfbaseline.cli.app import _split_passed_on
from pytest_perfbaseline.revisions import (
    Terminated,
    import_paths,
    pair_allowance,
    schedule,
    sigterm_unwinds,
)
from pytest_perfbaseline.revisions.runner import pytest_command

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

PACKAGE_ROOT = str(Path(pytest_perfbaseline.__file__).resolve().parents[1])

PERF_TEST = """\
WORK = {work}


def test_counter(perf):
    perf(lambda: perf.metric("work", WORK))
"""

# Two pairs: the fewest the command takes, and enough for an exact verdict on a constant.
FAST = ["--pairs", "2", "--rounds", "5", "--gate", "work"]
PASSED_ON = ["--", "-p", "no:cacheprovider", "-p", "no:randomly"]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty git repository as the current folder; git set up to commit anywhere, the
    sessions' temporary folders in one place the tests can look at."""
    for name, value in {
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "PYTHONPATH": PACKAGE_ROOT,
    }.items():
        monkeypatch.setenv(name, value)
    # this suite's own pytest-xdist / pytest settings are not the sessions' business
    for name in ("PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT"):
        monkeypatch.delenv(name, raising=False)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    monkeypatch.chdir(path)
    return path


def commit(repo: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def worktrees(repo: Path) -> int:
    listing = git(repo, "worktree", "list", "--porcelain").splitlines()
    return sum(line.startswith("worktree ") for line in listing)


def assert_clean(repo: Path) -> None:
    """No worktree registered but the repository's own, nothing left in the temp folder."""
    assert worktrees(repo) == 1
    assert list(Path(tempfile.gettempdir()).iterdir()) == []


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(["ab", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_a_regression_between_commits_is_caught(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, {"tests/test_perf.py": PERF_TEST.format(work=10.0)}, "one")
    commit(repo, {"tests/test_perf.py": PERF_TEST.format(work=13.0)}, "two: 30% more work")

    status, out, err = run(["HEAD~1", *FAST, *PASSED_ON], capsys)

    assert status == 1, out + err
    assert "tests/test_perf.py::test_counter  work" in out
    assert "+30.0%" in out
    assert "regressed" in out
    assert "performance regression in tests/test_perf.py::test_counter" in out
    assert "2 sessions of HEAD~1 (" in out
    assert "1 regressed" in out
    assert "session 4/4" in err
    assert_clean(repo)


def test_unchanged_commits_pass(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commit(repo, {"tests/test_perf.py": PERF_TEST.format(work=10.0)}, "one")
    commit(repo, {"README.md": "docs only\n"}, "two: docs")

    status, out, err = run(["HEAD~1", *FAST, *PASSED_ON], capsys)

    assert status == 0, out + err
    assert "every gated metric is unchanged" in out
    assert "1 unchanged" in out
    assert_clean(repo)


def test_uncommitted_changes_are_what_is_measured(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, {"tests/test_perf.py": PERF_TEST.format(work=10.0)}, "one")
    (repo / "tests" / "test_perf.py").write_text(PERF_TEST.format(work=13.0))

    status, out, _ = run(["HEAD", *FAST, *PASSED_ON], capsys)

    assert status == 1
    assert "(dirty)" in out  # the current side's commit is named with its changes
    assert "1 regressed" in out


def test_tests_on_one_side_only_are_named(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = PERF_TEST.format(work=10.0)
    commit(repo, {"tests/test_perf.py": old, "tests/test_old.py": old}, "one")
    (repo / "tests" / "test_old.py").unlink()
    (repo / "tests" / "test_new.py").write_text(old)

    status, out, _ = run(["HEAD", *FAST, *PASSED_ON], capsys)

    assert status == 0
    assert "only in HEAD (" in out
    assert "tests/test_old.py::test_counter" in out
    assert "only in the working tree: tests/test_new.py::test_counter" in out
    assert "1 only in HEAD (" in out
    assert "1 only in the working tree" in out


def test_a_perf_test_failing_in_the_working_tree_fails_the_job(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = PERF_TEST.format(work=10.0)
    commit(repo, {"tests/test_perf.py": body, "tests/test_other.py": body}, "one")
    (repo / "tests" / "test_perf.py").write_text(body + "    assert False, 'broken'\n")

    status, out, _ = run(["HEAD", *FAST, *PASSED_ON], capsys)

    assert status == 1
    assert "1 unchanged" in out  # the other test is still compared
    assert "or failed in the working tree: see below): tests/test_perf.py::test_counter" in out
    assert "tests failed in 2 sessions of the working tree; the first one's output" in out
    assert "AssertionError: broken" in out
    assert_clean(repo)


def test_an_unknown_revision_is_a_usage_error(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, {"tests/test_perf.py": PERF_TEST.format(work=10.0)}, "one")

    status, out, err = run(["no-such-branch", *FAST], capsys)

    assert status == 2
    assert "perfbaseline ab: error: unknown revision 'no-such-branch'" in err
    assert out == ""
    assert_clean(repo)


def test_outside_a_repository_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.chdir(outside)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))

    status, _, err = run(["HEAD"], capsys)

    assert status == 2
    assert "is not in a git working tree" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["HEAD", "--pairs", "1"], "pairs must be 2 to 50"),
        (["HEAD", "--pairs", "x"], "pairs must be a whole number"),
        (["HEAD", "--rounds", "0"], "rounds must be a positive whole number"),
    ],
)
def test_bad_options_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(argv, capsys)
    assert status == 2
    assert message in err


def test_a_session_that_does_not_run_is_an_error_with_its_output(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, {"tests/test_perf.py": PERF_TEST.format(work=10.0)}, "one")

    status, _, err = run(["HEAD", *FAST, "--", "--no-such-pytest-option"], capsys)

    assert status == 2
    assert "failed to run (pytest exit code 4)" in err
    assert "--no-such-pytest-option" in err  # pytest's own complaint, from the output's tail
    assert_clean(repo)


@pytest.mark.parametrize(
    ("sent", "status", "said"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
    ids=["ctrl-c", "sigterm"],
)
def test_ctrl_c_and_sigterm_remove_the_worktree(
    repo: Path, tmp_path: Path, sent: signal.Signals, status: int, said: str
) -> None:
    started = tmp_path / "started"
    slow = f"""\
import pathlib, time


def test_slow(perf):
    pathlib.Path({str(started)!r}).touch()
    time.sleep(120)
"""
    commit(repo, {"tests/test_perf.py": slow}, "one")
    env = dict(os.environ, TMPDIR=tempfile.gettempdir())
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest_perfbaseline", "ab", "HEAD", *FAST, *PASSED_ON],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(6000):  # at most 5 minutes: the job never hangs the suite
            if started.exists() or process.poll() is not None:
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.05)
        # The first session's test is running, in REF's worktree.
        assert process.poll() is None, process.communicate()
        assert worktrees(repo) == 2
        process.send_signal(sent)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == status, err
    assert said in err
    assert_clean(repo)


def test_sigterm_handler_is_restored_and_left_alone_off_the_main_thread() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with sigterm_unwinds():
        assert signal.getsignal(signal.SIGTERM) is not before
        with pytest.raises(Terminated):
            signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before

    inside: list[object] = []

    def off_main() -> None:
        with sigterm_unwinds():
            inside.append(signal.getsignal(signal.SIGTERM))

    thread = threading.Thread(target=off_main)
    thread.start()
    thread.join()
    assert inside == [before]


def test_sessions_alternate_which_tree_goes_first() -> None:
    assert list(schedule(3)) == [
        (0, "ref"),
        (0, "working"),
        (1, "working"),
        (1, "ref"),
        (2, "ref"),
        (2, "working"),
    ]


def test_the_trees_own_code_is_imported_first(tmp_path: Path) -> None:
    assert import_paths(tmp_path) == [str(tmp_path)]
    (tmp_path / "src").mkdir()
    assert import_paths(tmp_path) == [str(tmp_path / "src"), str(tmp_path)]


def test_each_session_measures_only(tmp_path: Path) -> None:
    command = pytest_command(tmp_path / "r.json", 7, tmp_path / "b", ["-k", "x"])
    assert command[:3] == [sys.executable, "-m", "pytest"]
    assert command[3:] == [
        f"--perf-json={tmp_path / 'r.json'}",
        "--perf-history=off",
        "--perf-rounds=7",
        f"--perf-baseline-dir={tmp_path / 'b'}",
        "-k",
        "x",
    ]


def test_what_follows_the_double_dash_goes_to_pytest() -> None:
    argv = ["ab", "main", "--pairs", "3", "--", "tests", "-k", "chat", "--", "x"]
    assert _split_passed_on(argv) == (
        ["ab", "main", "--pairs", "3"],
        ["tests", "-k", "chat", "--", "x"],
    )
    assert _split_passed_on(["show", "--", "-x"]) == (["show", "--", "-x"], None)


def test_no_drift_allowance_when_sessions_agree() -> None:
    sessions = [[1.0, 1.1, 0.9, 1.05, 0.95]] * 3
    assert pair_allowance(sessions, sessions) == 1.0
    assert pair_allowance([[2.0] * 5] * 2, [[3.0] * 5] * 2) == 1.0  # within a side: no spread


def test_the_drift_allowance_grows_with_the_spread_of_session_medians() -> None:
    def side(offsets: list[float]) -> list[list[float]]:
        return [[o * v for v in (1.0, 1.01, 0.99, 1.005, 0.995)] for o in offsets]

    small = pair_allowance(side([1.0, 1.02, 0.98]), side([1.0, 1.02, 0.98]))
    large = pair_allowance(side([1.0, 1.10, 0.90]), side([1.0, 1.10, 0.90]))
    assert 1.0 < small < large
    # A session's median of 5 rounds carries the rounds' own noise: spread that no more than
    # that noise explains is not drift.
    noisy = [[1.0, 1.3, 0.7, 1.15, 0.85], [1.02, 1.32, 0.72, 1.17, 0.87]]
    assert pair_allowance(noisy, noisy) == 1.0
    # Fewer than 3 sessions in all: nothing to estimate it from.
    assert pair_allowance(side([1.0]), side([1.2])) == 1.0
    # Not positive: no log scale, no allowance.
    assert pair_allowance([[0.0, 1.0]] * 2, [[1.0, 1.0]] * 2) == 1.0
