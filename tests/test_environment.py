"""Where and when a baseline was measured: git state, machine, time stamp, profile name."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import pytest_perfbaseline
from pytest_perfbaseline.baseline import environment
from pytest_perfbaseline.baseline.environment import (
    Environment,
    collect_environment,
    default_profile,
)

NOW = datetime(2026, 11, 21, 20, 40, 0, tzinfo=timezone.utc)

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        [
            "git",
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder git will not look above (a repository around the temp dir must not count)."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    return work


@pytest.fixture
def repo(isolated: Path) -> Path:
    git(isolated, "init", "-q")
    (isolated / "app.py").write_text("x = 1\n", encoding="utf-8")
    baseline = isolated / ".perfbaseline" / "p" / "test_a.py.json"
    baseline.parent.mkdir(parents=True)
    baseline.write_text("{}\n", encoding="utf-8")
    git(isolated, "add", "-A")
    git(isolated, "commit", "-q", "-m", "initial")
    return isolated


@needs_git
def test_a_clean_repository(repo: Path) -> None:
    env = collect_environment(repo, repo / ".perfbaseline", now=NOW)

    assert env.git_commit == git(repo, "rev-parse", "HEAD")
    assert re.fullmatch(r"[0-9a-f]{40}", env.git_commit)
    assert env.git_dirty is False


@needs_git
def test_a_changed_tracked_file_makes_it_dirty(repo: Path) -> None:
    (repo / "app.py").write_text("x = 2\n", encoding="utf-8")

    assert collect_environment(repo, repo / ".perfbaseline", now=NOW).git_dirty is True


@needs_git
def test_a_changed_baseline_file_does_not_make_it_dirty(repo: Path) -> None:
    (repo / ".perfbaseline" / "p" / "test_a.py.json").write_text("{1}\n", encoding="utf-8")
    (repo / ".perfbaseline" / "p" / "test_new.py.json").write_text("{}\n", encoding="utf-8")

    assert collect_environment(repo, repo / ".perfbaseline", now=NOW).git_dirty is False
    # ... but it does when the baseline folder is not named
    assert collect_environment(repo, None, now=NOW).git_dirty is True


@needs_git
def test_an_untracked_file_does_not_make_it_dirty(repo: Path) -> None:
    (repo / "scratch.txt").write_text("notes\n", encoding="utf-8")

    assert collect_environment(repo, repo / ".perfbaseline", now=NOW).git_dirty is False


@needs_git
def test_a_rootdir_below_the_top_counts_the_whole_tree(repo: Path) -> None:
    rootdir = repo / "project"
    rootdir.mkdir()
    (rootdir / "conftest.py").write_text("\n", encoding="utf-8")
    (rootdir / ".perfbaseline").mkdir()
    (rootdir / ".perfbaseline" / "b.json").write_text("{}\n", encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "project")
    (rootdir / ".perfbaseline" / "b.json").write_text("{2}\n", encoding="utf-8")

    env = collect_environment(rootdir, rootdir / ".perfbaseline", now=NOW)
    assert env.git_commit == git(repo, "rev-parse", "HEAD")
    assert env.git_dirty is False

    (repo / "app.py").write_text("x = 3\n", encoding="utf-8")  # outside the rootdir
    assert collect_environment(rootdir, rootdir / ".perfbaseline", now=NOW).git_dirty is True


@needs_git
def test_outside_a_repository_git_is_unknown(isolated: Path) -> None:
    env = collect_environment(isolated, isolated / ".perfbaseline", now=NOW)

    assert env.git_commit is None
    assert env.git_dirty is None


@needs_git
def test_a_repository_without_commits_is_unknown(isolated: Path) -> None:
    git(isolated, "init", "-q")

    env = collect_environment(isolated, now=NOW)

    assert (env.git_commit, env.git_dirty) == (None, None)


def test_without_a_git_binary_git_is_unknown(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(isolated))  # no git (and nothing else) on the path

    env = collect_environment(isolated, now=NOW)

    assert (env.git_commit, env.git_dirty) == (None, None)


def test_a_hanging_git_is_unknown(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[float] = []

    def run(*args: object, timeout: float, **kwargs: object) -> object:
        calls.append(timeout)
        raise subprocess.TimeoutExpired("git", timeout)

    monkeypatch.setattr(subprocess, "run", run)

    env = collect_environment(isolated, now=NOW)

    assert (env.git_commit, env.git_dirty) == (None, None)
    assert calls
    assert all(0 < t <= 10 for t in calls)


def test_collect_never_raises(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> str:
        raise RuntimeError("probe failed")

    monkeypatch.setattr(environment, "_cpu_model", boom)
    monkeypatch.setattr(platform, "platform", boom)

    env = collect_environment(isolated / "does-not-exist", now=NOW)

    assert env.cpu is None
    assert env.platform == "unknown"
    assert env.git_commit is None


def test_machine_and_python_fields(isolated: Path) -> None:
    env = collect_environment(isolated, now=NOW)

    assert env.plugin == pytest_perfbaseline.__version__
    assert env.python == platform.python_version()
    assert env.implementation == platform.python_implementation()
    assert env.system == platform.system().lower()
    assert env.arch == platform.machine()
    assert env.cores == _cpus_we_may_use()
    assert env.platform
    assert env.cpu is None or (env.cpu.strip() == env.cpu and env.cpu)


@pytest.mark.skipif(not Path("/proc/cpuinfo").is_file(), reason="needs /proc/cpuinfo")
def test_cpu_model_comes_from_proc_cpuinfo(isolated: Path) -> None:
    names = [
        line.split(":", 1)[1].strip()
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines()
        if line.split(":", 1)[0].strip() == "model name"
    ]
    if not names:
        pytest.skip("this CPU has no 'model name' line")

    assert collect_environment(isolated, now=NOW).cpu == " ".join(names[0].split())


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (NOW, "2026-11-21T20:40:00Z"),
        (datetime(2026, 1, 2, 3, 4, 5, 999_999, tzinfo=timezone.utc), "2026-01-02T03:04:05Z"),
        (
            datetime(2026, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))),
            "2025-12-31T23:30:00Z",
        ),
        (datetime(2026, 6, 1, 12, 0, 0), "2026-06-01T12:00:00Z"),  # naive: taken as UTC
    ],
)
def test_saved_at_is_utc_to_the_second(isolated: Path, now: datetime, expected: str) -> None:
    env = collect_environment(isolated, now=now)

    assert env.saved_at == expected
    assert env.saved_at_datetime == datetime.fromisoformat(expected.replace("Z", "+00:00"))


def test_saved_at_defaults_to_now(isolated: Path) -> None:
    env = collect_environment(isolated)

    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", env.saved_at)
    assert env.saved_at_datetime is not None
    assert env.saved_at_datetime.tzinfo == timezone.utc


def test_to_dict_from_dict_round_trip(isolated: Path) -> None:
    env = collect_environment(isolated, now=NOW)

    data = env.to_dict()

    assert set(data) == {
        "saved_at",
        "plugin",
        "python",
        "implementation",
        "platform",
        "system",
        "arch",
        "cpu",
        "cores",
        "git_commit",
        "git_dirty",
        "machine_probe_s",
    }
    assert data["machine_probe_s"] is None  # recorded by a save, not found out here
    assert Environment.from_dict(data) == env
    probed = replace(env, machine_probe_s=0.0042)
    assert Environment.from_dict(probed.to_dict()) == probed


def test_from_dict_tolerates_missing_and_ill_typed_fields() -> None:
    env = Environment.from_dict({"python": "3.12.1", "cores": "8", "git_dirty": 1, "x": 2})

    assert env.python == "3.12.1"
    assert env.saved_at == "unknown"
    assert env.saved_at_datetime is None
    assert env.plugin == "unknown"
    assert (env.cpu, env.cores, env.git_commit, env.git_dirty) == (None, None, None, None)
    assert Environment.from_dict({"cores": True}).cores is None
    for bad in ("4ms", -0.004, 0, float("nan"), float("inf"), True):
        assert Environment.from_dict({"machine_probe_s": bad}).machine_probe_s is None


def test_a_probe_is_a_reference_only_on_the_same_kind_of_machine(isolated: Path) -> None:
    here = collect_environment(isolated, now=NOW)
    assert here.same_machine_kind(replace(here, saved_at="2026-01-01T00:00:00Z"))
    assert not here.same_machine_kind(replace(here, cpu="another CPU"))
    assert not here.same_machine_kind(replace(here, cores=(here.cores or 1) + 1))
    assert not here.same_machine_kind(replace(here, python="2.7.18"))
    unknown = replace(here, cpu=None)
    assert not unknown.same_machine_kind(unknown)  # an unknown CPU could be anything


def _env(system: str, arch: str, cores: int | None) -> Environment:
    base = Environment.from_dict({})
    return replace(base, system=system, arch=arch, cores=cores)


@pytest.mark.parametrize(
    ("system", "arch", "cores", "expected"),
    [
        ("linux", "x86_64", 2, "linux-x86_64-2cpu"),
        ("Darwin", "arm64", 10, "darwin-arm64-10cpu"),
        ("windows", "AMD64", 16, "windows-amd64-16cpu"),
        ("Linux Kernel", "x86/64", 4, "linux_kernel-x86_64-4cpu"),
        ("", "", None, "unknown-unknown-unknowncpu"),
    ],
)
def test_default_profile_of_an_environment(
    system: str, arch: str, cores: int | None, expected: str
) -> None:
    assert default_profile(_env(system, arch, cores)) == expected


def test_default_profile_of_this_machine() -> None:
    profile = default_profile()

    assert re.fullmatch(r"[a-z0-9._-]+-[a-z0-9._-]+-(\d+|unknown)cpu", profile)
    assert profile == default_profile(collect_environment(Path.cwd()))
    assert profile.endswith(f"-{_cpus_we_may_use()}cpu")


def _cpus_we_may_use() -> int | None:
    # The CPUs this process may run on (a cpuset or taskset can allow fewer than the host has).
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()
