"""The baseline store under odd conditions: links, odd node ids, long names, huge files."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import filelock
import pytest
from fakes import ENV, INI, simulated_suite
from test_storage import PROFILE, good_entries, make_result, save_ok, store_at

from pytest_perfbaseline.baseline import paths
from pytest_perfbaseline.baseline.store import (
    MAX_FILE_BYTES,
    BaselineEntry,
    BaselineError,
)

needs_symlinks = pytest.mark.skipif(
    sys.platform == "win32", reason="creating symbolic links needs privileges on Windows"
)


class _LinkFollowingLock:
    """A lock like filelock's before 3.20.1: it opens its path through a link, truncating."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path

    def acquire(self) -> None:
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644))

    def release(self) -> None:
        pass


# -- a link at the lock path -----------------------------------------------------------------


@needs_symlinks
@pytest.mark.parametrize("lock", ["installed filelock", "link-following filelock"])
def test_a_link_at_the_lock_path_is_refused_and_its_target_survives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lock: str
) -> None:
    if lock != "installed filelock":
        monkeypatch.setattr(filelock, "FileLock", _LinkFollowingLock)
    store = store_at(tmp_path)
    save_ok(store, make_result("test_a.py::t", ttft=(0.1,)))
    before = store.path_for("test_a.py::t").read_bytes()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    lock_path = store.root / ".lock"
    lock_path.unlink(missing_ok=True)
    lock_path.symlink_to(victim)

    report = store.save([(make_result("test_a.py::t", ttft=(0.2,)), ENV)])

    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert report.saved == ()
    assert report.skipped == ("test_a.py::t",)
    [error] = report.errors
    assert f"the lock file {lock_path} is a symbolic link (to {victim})" in str(error)
    assert "delete the link" in str(error)
    assert store.path_for("test_a.py::t").read_bytes() == before


def test_the_filelock_floor_excludes_versions_that_follow_links() -> None:
    pyproject = Path(__file__).parents[1] / "pyproject.toml"
    match = re.search(r'"filelock>=([0-9.]+)"', pyproject.read_text(encoding="utf-8"))

    assert match is not None
    assert tuple(int(p) for p in match.group(1).split(".")) >= (3, 20, 3)


# -- links inside the baseline folder --------------------------------------------------------


@needs_symlinks
@pytest.mark.parametrize("link", [PROFILE, f"{PROFILE}/tests"])
def test_a_folder_link_leading_out_of_the_baseline_folder_is_refused(
    tmp_path: Path, link: str
) -> None:
    store = store_at(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    save_ok(store, make_result("test_other.py::t"))  # creates the root (and profile)
    (store.root / link).parent.mkdir(parents=True, exist_ok=True)
    if (store.root / link).exists():
        (store.root / link).rename(tmp_path / "moved-away")
    (store.root / link).symlink_to(outside, target_is_directory=True)

    report = store.save([(make_result("tests/test_a.py::t"), ENV)])

    assert report.saved == ()
    [error] = report.errors
    path = store.path_for("tests/test_a.py::t")
    assert error.path == path
    assert str(path) in str(error)
    assert f"outside the baseline folder {store.root.resolve()}" in str(error)
    assert "replace the link by a real file or folder" in str(error)
    assert list(outside.rglob("*")) == []


@needs_symlinks
def test_a_file_link_is_refused_and_its_target_survives(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    save_ok(store, make_result("test_other.py::t"))
    victim = tmp_path / "victim.json"
    victim.write_text('{"schema": 1, "tests": {}}', encoding="utf-8")
    path = store.path_for("test_a.py::t")
    path.symlink_to(victim)

    report = store.save([(make_result("test_a.py::t"), ENV)])

    assert report.skipped == ("test_a.py::t",)
    [error] = report.errors
    assert str(error).startswith(f"baseline file {path}: is a symbolic link (to {victim}); ")
    assert victim.read_text(encoding="utf-8") == '{"schema": 1, "tests": {}}'
    assert path.is_symlink()


@needs_symlinks
def test_remove_does_not_follow_a_folder_link_out(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    save_ok(store_at(tmp_path / "elsewhere"), make_result("test_a.py::t"))
    (tmp_path / "elsewhere" / ".perfbaseline" / PROFILE).rename(outside)
    store = store_at(tmp_path)
    store.root.mkdir()
    (store.root / PROFILE).symlink_to(outside, target_is_directory=True)

    report = store.remove({PROFILE: ["test_a.py::t"]})

    assert report.saved == ()
    assert [e.path for e in report.errors] == [store.path_for("test_a.py::t")]
    assert (outside / "test_a.py.json").is_file()


@needs_symlinks
def test_a_profile_linked_to_another_inside_the_folder_is_written(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    save_ok(store_at(tmp_path, "ci"), make_result("test_other.py::t"))
    (store.root / PROFILE).symlink_to(store.root / "ci", target_is_directory=True)

    save_ok(store, make_result("test_a.py::t"))

    assert (store.root / "ci" / "test_a.py.json").is_file()


# -- a node id without a module path ---------------------------------------------------------


def test_a_test_without_a_module_path_does_not_stop_the_others(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    odd, good = make_result("::test_x"), make_result("tests/test_a.py::test_y")

    report = store.save([(odd, ENV), (good, ENV)])

    assert report.saved == (good.nodeid,)
    assert report.skipped == (odd.nodeid,)
    [error] = report.errors
    assert error.path == store.root / PROFILE
    assert "not saving ::test_x: its node id names no test file" in str(error)
    assert "outside the rootdir" in str(error)
    assert "--rootdir" in str(error)
    assert store_at(tmp_path).load(good.nodeid) is not None
    assert store_at(tmp_path).load(odd.nodeid) is None


def test_a_test_outside_the_rootdir_is_reported_in_a_session(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PERF_TEST_SLOWDOWN", raising=False)
    pytester.makeini(INI)
    body = simulated_suite(jitter=0.02) + (
        "\n\n@pytest.mark.perf(rounds=2, warmup=0)\n"
        "def test_chat(perf):\n"
        "    perf(lambda: list(perf.stream(llm.stream, 'hi', max_tokens=4, format='openai')))\n"
    )
    (pytester.path / "root").mkdir()
    (pytester.path / "other").mkdir()
    (pytester.path / "root" / "test_in.py").write_text(body, encoding="utf-8")
    (pytester.path / "other" / "test_out.py").write_text(body, encoding="utf-8")

    result = pytester.runpytest(
        "--rootdir=root", "root/test_in.py", "other/test_out.py", "--perf-baseline=save"
    )

    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*not saving ::test_chat: its node id names no test file*"])
    [profile] = [p for p in (pytester.path / "root" / ".perfbaseline").iterdir() if p.is_dir()]
    assert [p.name for p in profile.iterdir()] == ["test_in.py.json"]


# -- names too long for a file name ----------------------------------------------------------

LONG_MODULE = "tests/" + "测" * 80 + ".py"


@pytest.mark.parametrize(
    "module",
    [LONG_MODULE, "测" * 80 + "/test_a.py", "/abs/" + "x" * 300 + "/" + "ü" * 200 + ".py"],
)
def test_an_over_long_module_name_is_saved_and_read_back_exactly(
    tmp_path: Path, module: str
) -> None:
    nodeid = f"{module}::TestX::test_y[a/b]"
    store = store_at(tmp_path)

    save_ok(store, make_result(nodeid, ttft=(0.25, 0.5)))

    path = store.path_for(nodeid)
    profile_dir = store.root / PROFILE
    assert path.is_file()
    assert all(len(part.encode()) <= 230 for part in path.relative_to(profile_dir).parts)
    entry = store_at(tmp_path).load(nodeid)
    assert entry is not None
    assert entry.result.values("ttft_s") == [0.25, 0.5]
    assert [e.nodeid for e in good_entries(store_at(tmp_path))] == [nodeid]
    assert json.loads(path.read_text(encoding="utf-8"))["module"] == module


def test_a_shortened_name_is_stable_and_readable() -> None:
    parts = paths.relative_file(f"{LONG_MODULE}::t")
    other = paths.relative_file("tests/" + "测" * 81 + ".py::t")

    assert parts == paths.relative_file(f"{LONG_MODULE}::other_test")
    assert parts[0] == "tests"
    assert re.fullmatch(r"(%E6%B5%8B){23}~[0-9a-f]{16}\.json", parts[1])
    assert parts[1] != other[1]
    assert len(parts[1]) <= 230


@pytest.mark.parametrize(("length", "shortened"), [(225, False), (226, True)])
def test_only_names_that_do_not_fit_are_shortened(length: int, shortened: bool) -> None:
    name = paths.relative_file("x" * length + "::t")[0]

    assert ("~" in name) is shortened
    assert paths.recorded_module("x" * length + "::t") == ("x" * length if shortened else None)


def test_a_file_of_another_module_with_the_same_short_name_is_left_alone(
    tmp_path: Path,
) -> None:
    store = store_at(tmp_path)
    path = store.path_for(f"{LONG_MODULE}::t")
    path.parent.mkdir(parents=True)
    original = '{"module": "tests/elsewhere.py", "schema": 1, "tests": {}}'
    path.write_text(original, encoding="utf-8")

    report = store.save([(make_result(f"{LONG_MODULE}::t"), ENV)])

    [error] = report.errors
    assert "holds the baselines of module 'tests/elsewhere.py'" in str(error)
    assert path.read_text(encoding="utf-8") == original


def test_a_normal_name_records_no_module(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    save_ok(store, make_result("tests/test_a.py::t"))

    assert "module" not in json.loads(store.path_for("tests/test_a.py::t").read_bytes())


# -- huge files ------------------------------------------------------------------------------


def _huge(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"{")
        f.truncate(size)  # sparse: no disk space, no time


def test_a_file_beyond_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    path = store.path_for("tests/test_big.py::t")
    _huge(path, MAX_FILE_BYTES + 1)

    with pytest.raises(BaselineError) as info:
        store.load("tests/test_big.py::t")

    assert info.value.path == path
    assert "is 64 MiB, more than the 64 MiB a baseline file may be" in str(info.value)
    assert "restore it from version control or delete it" in str(info.value)


def test_save_leaves_a_huge_file_alone_and_saves_the_rest(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    path = store.path_for("tests/test_big.py::t")
    _huge(path, 3 * MAX_FILE_BYTES)

    report = store.save(
        [(make_result("tests/test_big.py::t"), ENV), (make_result("tests/test_ok.py::t"), ENV)]
    )

    assert report.saved == ("tests/test_ok.py::t",)
    [error] = report.errors
    assert error.path == path
    assert "is 192 MiB" in str(error)
    assert path.stat().st_size == 3 * MAX_FILE_BYTES
    items: list[Any] = list(store_at(tmp_path).entries())
    assert [type(i) for i in items] == [BaselineError, BaselineEntry]


def test_the_size_limit_is_generous() -> None:
    assert MAX_FILE_BYTES == 64 * 2**20
