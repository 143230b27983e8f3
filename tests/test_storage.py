"""The .perfbaseline store: format, path mapping, merging, locking, atomic writes, bad files."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from fakes import COST, ENV, RATE, TIME, TOKENS
from filelock import FileLock

from pytest_perfbaseline.baseline import store as storage
from pytest_perfbaseline.baseline.environment import Environment
from pytest_perfbaseline.baseline.store import (
    SCHEMA_VERSION,
    BaselineEntry,
    BaselineError,
    BaselineStore,
    SaveReport,
)
from pytest_perfbaseline.metrics.names import MetricInfo
from pytest_perfbaseline.metrics.result import TestResult

PROFILE = "linux-x86_64-2cpu"


def make_result(
    nodeid: str,
    ttft: Sequence[float | None] = (0.0301, 0.0299, 0.0305),
    *,
    tokens: float = 32.0,
    rounds_requested: int | None = None,
    warmup: int = 1,
    implicit: bool = False,
) -> TestResult:
    rounds = tuple(
        {
            "ttft_s": t,
            "output_tokens": tokens,
            "tokens_per_s": None if t is None else tokens / (t * 40),
            "cost_usd": None,
        }
        for t in ttft
    )
    return TestResult(
        nodeid=nodeid,
        rounds=rounds,
        infos={"ttft_s": TIME, "output_tokens": TOKENS, "tokens_per_s": RATE, "cost_usd": COST},
        itl_histogram=((0.001, 0.00125893, 3), (0.00125893, 0.00158489, 0)),
        itl_pooled=None,
        token_sources={"": "usage", "planner": "chunks"},
        rounds_requested=len(ttft) if rounds_requested is None else rounds_requested,
        warmup=warmup,
        implicit=implicit,
    )


def store_at(tmp_path: Path, profile: str = PROFILE) -> BaselineStore:
    return BaselineStore(tmp_path / ".perfbaseline", profile)


def save_ok(store: BaselineStore, *results: TestResult, env: Environment = ENV) -> SaveReport:
    report = store.save([(r, env) for r in results])
    assert report.errors == ()
    assert report.skipped == ()
    assert sorted(report.saved) == sorted(r.nodeid for r in results)
    return report


def good_entries(store: BaselineStore, profile: str | None = None) -> list[BaselineEntry]:
    items = list(store.entries(profile))
    entries = [i for i in items if isinstance(i, BaselineEntry)]
    assert entries == items, "a baseline file was reported bad"
    return entries


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


# -- round trip and format -------------------------------------------------------------------


def test_save_then_load_gives_the_same_result(tmp_path: Path) -> None:
    result = make_result(
        "tests/test_chat.py::TestX::test_answer[gpt-4o]",
        rounds_requested=5,
        warmup=2,
        implicit=True,
    )
    save_ok(store_at(tmp_path), result)

    entry = store_at(tmp_path).load(result.nodeid)  # a fresh store: read from disk

    assert isinstance(entry, BaselineEntry)
    assert entry.nodeid == result.nodeid
    assert entry.profile == PROFILE
    assert entry.path == tmp_path / ".perfbaseline" / PROFILE / "tests" / "test_chat.py.json"
    assert entry.environment == ENV
    loaded = entry.result
    assert loaded.nodeid == result.nodeid
    assert loaded.rounds == result.rounds
    assert dict(loaded.infos) == dict(result.infos)
    assert loaded.itl_histogram == result.itl_histogram
    assert dict(loaded.token_sources) == dict(result.token_sources)
    assert (loaded.rounds_requested, loaded.warmup, loaded.implicit) == (5, 2, True)
    assert loaded.itl_pooled is None
    assert all(isinstance(v, float) for r in loaded.rounds for v in r.values() if v is not None)


def test_a_metric_missing_from_a_round_loads_as_null(tmp_path: Path) -> None:
    result = TestResult(
        nodeid="test_a.py::test_x",
        rounds=({"ttft_s": 0.5, "planner.ttft_s": 0.25}, {"ttft_s": 0.75}),
        infos={"ttft_s": TIME, "planner.ttft_s": TIME},
        itl_histogram=(),
        itl_pooled=None,
        token_sources={},
        rounds_requested=2,
        warmup=0,
        implicit=False,
    )
    store = store_at(tmp_path)
    save_ok(store, result)
    text = store.path_for(result.nodeid).read_text(encoding="utf-8")
    assert '"values": [0.25, null]' in text

    entry = store_at(tmp_path).load(result.nodeid)

    assert entry is not None
    assert entry.result.rounds == (
        {"planner.ttft_s": 0.25, "ttft_s": 0.5},
        {"planner.ttft_s": None, "ttft_s": 0.75},
    )


def test_a_metric_without_info_gets_its_builtin_unit(tmp_path: Path) -> None:
    result = TestResult(
        nodeid="test_a.py::test_x",
        rounds=({"tokens_per_s": 10.5, "my_score": 0.5},),
        infos={},
        itl_histogram=(),
        itl_pooled=None,
        token_sources={},
        rounds_requested=1,
        warmup=0,
        implicit=False,
    )
    save_ok(store_at(tmp_path), result)

    entry = store_at(tmp_path).load(result.nodeid)

    assert entry is not None
    assert entry.result.infos["tokens_per_s"] == RATE
    assert entry.result.infos["my_score"] == MetricInfo("", False, "custom")


GOLDEN = """\
{
  "schema": 2,
  "tests": {
    "test_x[a]": {
      "sessions": [
        {
          "environment": {
            "arch": "x86_64",
            "cores": 2,
            "cpu": "Example CPU @ 2.60GHz",
            "git_commit": "0123456789abcdef0123456789abcdef01234567",
            "git_dirty": false,
            "implementation": "CPython",
            "machine_probe_s": null,
            "platform": "Linux-6.1.0-x86_64-with-glibc2.36",
            "plugin": "0.1.0",
            "python": "3.11.7",
            "saved_at": "2026-11-21T20:40:00Z",
            "system": "linux"
          },
          "implicit": false,
          "itl_histogram": [
            [0.001, 0.00125893, 3],
            [0.00125893, 0.00158489, 0]
          ],
          "metrics": {
            "cost_usd": {
              "higher_is_better": false,
              "kind": "cost",
              "unit": "USD",
              "values": [null, null]
            },
            "output_tokens": {
              "higher_is_better": false,
              "kind": "count",
              "unit": "tokens",
              "values": [32, 32]
            },
            "tokens_per_s": {
              "higher_is_better": true,
              "kind": "rate",
              "unit": "tok/s",
              "values": [32, 1e-05]
            },
            "ttft_s": {
              "higher_is_better": false,
              "kind": "time",
              "unit": "s",
              "values": [0.025, 80000]
            }
          },
          "rounds": 2,
          "rounds_requested": 2,
          "token_sources": {
            "": "usage",
            "planner": "chunks"
          },
          "warmup": 1
        }
      ]
    }
  }
}
"""


def test_file_format_golden(tmp_path: Path) -> None:
    # ttft 0.025 -> 32 tok / (0.025 * 40) = 32.0 (integral); ttft 80000 -> 1e-05 tok/s
    store = store_at(tmp_path)
    save_ok(store, make_result("tests/test_golden.py::test_x[a]", ttft=(0.025, 80000.0)))

    data = store.path_for("tests/test_golden.py::test_x[a]").read_bytes()

    assert data.decode("utf-8") == GOLDEN
    assert b"\r" not in data
    assert data.endswith(b"}\n")


def test_bytes_are_deterministic(tmp_path: Path) -> None:
    def result(reverse: bool) -> TestResult:
        base = make_result("tests/test_d.py::test_x")

        def flip(m: Mapping[str, Any]) -> dict[str, Any]:
            items = list(m.items())
            return dict(reversed(items) if reverse else items)

        return TestResult(
            nodeid=base.nodeid,
            rounds=tuple(flip(r) for r in base.rounds),
            infos=flip(base.infos),
            itl_histogram=base.itl_histogram,
            itl_pooled=None,
            token_sources=flip(base.token_sources),
            rounds_requested=base.rounds_requested,
            warmup=base.warmup,
            implicit=base.implicit,
        )

    other = make_result("tests/test_d.py::test_y", ttft=(0.1, 0.2, 0.3))
    one, two = store_at(tmp_path / "one"), store_at(tmp_path / "two")
    save_ok(one, result(False), other)
    save_ok(two, other)  # a different history: other first, then the test
    save_ok(two, result(True))

    first = one.path_for(other.nodeid).read_bytes()
    second = two.path_for(other.nodeid).read_bytes()
    assert first == second
    assert list(json.loads(first)["tests"]) == ["test_x", "test_y"]  # sorted keys


def test_non_finite_values_are_rejected_and_other_tests_saved(tmp_path: Path) -> None:
    bad = make_result("tests/test_a.py::test_nan", ttft=(0.1, float("nan")))
    good = make_result("tests/test_a.py::test_fine")
    store = store_at(tmp_path)

    report = store.save([(bad, ENV), (good, ENV)])

    assert report.saved == (good.nodeid,)
    assert report.skipped == (bad.nodeid,)
    [error] = report.errors
    assert "test_nan" in str(error)
    assert "tokens_per_s' in round 2 is nan" in str(error)
    text = store.path_for(good.nodeid).read_text(encoding="utf-8")
    assert "NaN" not in text
    assert "test_nan" not in text


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_in_a_file_are_rejected(tmp_path: Path, constant: str) -> None:
    store = store_at(tmp_path)
    save_ok(store, make_result("test_a.py::test_x", ttft=(0.5,)))
    path = store.path_for("test_a.py::test_x")
    path.write_text(path.read_text().replace("0.5", constant), encoding="utf-8")

    with pytest.raises(BaselineError) as info:
        store_at(tmp_path).load("test_a.py::test_x")

    assert info.value.path == path


# -- layout and merging ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nodeid", "relpath", "key"),
    [
        (
            "tests/test_chat.py::TestX::test_answer[gpt-4o]",
            "tests/test_chat.py.json",
            "TestX::test_answer[gpt-4o]",
        ),
        ("test_a.py::test_x", "test_a.py.json", "test_x"),
        ("tests/test_a.py::test_x[a/b]", "tests/test_a.py.json", "test_x[a/b]"),
        ("tests/test_a.py::test_x[a::b]", "tests/test_a.py.json", "test_x[a::b]"),
        ("tests/test_a.py::TestA::TestB::test_x", "tests/test_a.py.json", "TestA::TestB::test_x"),
        ("../other/test_b.py::test_x", "_up_/other/test_b.py.json", "test_x"),
        ("tests/../../test_c.py::test_x", "tests/_up_/_up_/test_c.py.json", "test_x"),
        ("/abs/test_d.py::test_x", "_abs_/abs/test_d.py.json", "test_x"),
        ("_up_/test_e.py::test_x", "%5Fup_/test_e.py.json", "test_x"),
        ("my tests/test ü.py::test_x", "my%20tests/test%20%C3%BC.py.json", "test_x"),
        ("a%b:c\\d.py::test_x", "a%25b%3Ac%5Cd.py.json", "test_x"),
        ("tests/dot./test_f.py::test_x", "tests/dot%2E/test_f.py.json", "test_x"),
        ("tests/doctest.md", "tests/doctest.md.json", ""),
    ],
)
def test_nodeid_to_path_and_back(tmp_path: Path, nodeid: str, relpath: str, key: str) -> None:
    store = store_at(tmp_path)
    profile_dir = tmp_path / ".perfbaseline" / PROFILE

    path = store.path_for(nodeid)

    assert path == profile_dir / relpath
    assert path.resolve().is_relative_to(profile_dir.resolve())
    save_ok(store, make_result(nodeid))
    assert list(json.loads(path.read_text(encoding="utf-8"))["tests"]) == [key]
    assert [e.nodeid for e in good_entries(store)] == [nodeid]


def test_dot_segments_are_dropped(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    assert store.path_for("./tests//test_a.py::t") == store.path_for("tests/test_a.py::t")


def test_tests_of_one_module_share_a_file_and_merge(tmp_path: Path) -> None:
    a = make_result("tests/test_m.py::test_a", ttft=(0.1, 0.2))
    b = make_result("tests/test_m.py::TestB::test_b[x]", ttft=(0.3, 0.4))
    save_ok(store_at(tmp_path), a)
    save_ok(store_at(tmp_path), b)
    path = store_at(tmp_path).path_for(a.nodeid)
    before = json.loads(path.read_text(encoding="utf-8"))["tests"]
    lines_of_b = [line for line in path.read_text().splitlines() if "0.3, 0.4" in line]

    save_ok(store_at(tmp_path), make_result(a.nodeid, ttft=(0.9, 0.8)))

    after = json.loads(path.read_text(encoding="utf-8"))["tests"]
    assert sorted(after) == ["TestB::test_b[x]", "test_a"]
    assert after["TestB::test_b[x]"] == before["TestB::test_b[x]"]
    assert after["test_a"]["sessions"][-1]["metrics"]["ttft_s"]["values"] == [0.9, 0.8]
    assert [line for line in path.read_text().splitlines() if "0.3, 0.4" in line] == lines_of_b
    assert [f.name for f in path.parent.iterdir()] == ["test_m.py.json"]


def test_resave_changes_one_line_per_changed_metric(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    save_ok(store, make_result("test_a.py::test_x", ttft=(0.1, 0.2, 0.3)))
    path = store.path_for("test_a.py::test_x")
    old = path.read_text().splitlines()

    # A fresh save replaces the stored session (by default it is added beside it).
    store.save([(make_result("test_a.py::test_x", ttft=(0.1, 0.2, 0.35)), ENV)], fresh=True)

    new = path.read_text().splitlines()
    assert len(old) == len(new)
    changed = [(o, n) for o, n in zip(old, new, strict=True) if o != n]
    assert len(changed) == 2  # ttft_s and tokens_per_s values; output_tokens unchanged
    assert all('"values": [' in n for _, n in changed)


def test_two_modules_two_files(tmp_path: Path) -> None:
    store = store_at(tmp_path)

    report = save_ok(
        store, make_result("tests/test_a.py::t"), make_result("tests/sub/test_b.py::t")
    )

    profile_dir = tmp_path / ".perfbaseline" / PROFILE
    expected = {profile_dir / "tests" / "test_a.py.json", profile_dir / "tests/sub/test_b.py.json"}
    assert set(report.written) == expected
    assert {p for p in profile_dir.rglob("*") if p.is_file()} == expected


def test_profiles_are_separate_folders(tmp_path: Path) -> None:
    laptop, ci = store_at(tmp_path, "darwin-arm64-10cpu"), store_at(tmp_path, "ci")
    save_ok(laptop, make_result("test_a.py::t", ttft=(0.1,)))
    save_ok(ci, make_result("test_a.py::t", ttft=(0.2,)))

    assert laptop.path_for("test_a.py::t").parent.name == "darwin-arm64-10cpu"
    assert ci.path_for("test_a.py::t").parent.name == "ci"
    from_laptop = store_at(tmp_path, "darwin-arm64-10cpu").load("test_a.py::t")
    from_ci = store_at(tmp_path, "ci").load("test_a.py::t")
    assert from_laptop is not None
    assert from_ci is not None
    assert from_laptop.result.values("ttft_s") == [0.1]
    assert from_ci.result.values("ttft_s") == [0.2]
    assert store_at(tmp_path, "other").load("test_a.py::t") is None
    assert ci.profiles() == ["ci", "darwin-arm64-10cpu"]
    assert [e.profile for e in good_entries(ci)] == ["ci", "darwin-arm64-10cpu"]
    assert [e.profile for e in good_entries(ci, "ci")] == ["ci"]
    assert list(ci.entries("no-such-profile")) == []


@pytest.mark.parametrize("profile", ["", "..", ".hidden", "a/b", "a b", "-x"])
def test_bad_profile_names_are_refused(tmp_path: Path, profile: str) -> None:
    with pytest.raises(ValueError, match="invalid baseline profile"):
        store_at(tmp_path, profile)


def test_load_of_an_unknown_test_is_none(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    assert store.load("tests/test_a.py::test_x") is None
    save_ok(store, make_result("tests/test_a.py::test_x"))
    assert store_at(tmp_path).load("tests/test_a.py::test_other") is None


def test_unknown_keys_are_kept_on_resave(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    save_ok(store, make_result("test_a.py::test_x"), make_result("test_a.py::test_y"))
    path = store.path_for("test_a.py::test_x")
    document = json.loads(path.read_text(encoding="utf-8"))
    document["future_top_level"] = {"x": 1}
    document["tests"]["test_x"]["future_note"] = "pinned"
    document["tests"]["test_y"]["future_note"] = "other"
    document["tests"]["test_y"]["sessions"][0]["metrics"]["ttft_s"]["future_metric_key"] = [1, 2]
    path.write_text(json.dumps(document), encoding="utf-8")

    save_ok(store_at(tmp_path), make_result("test_a.py::test_x", ttft=(0.7, 0.8)))

    after = json.loads(path.read_text(encoding="utf-8"))
    assert after["future_top_level"] == {"x": 1}
    assert after["tests"]["test_x"]["future_note"] == "pinned"
    assert after["tests"]["test_x"]["sessions"][-1]["metrics"]["ttft_s"]["values"] == [0.7, 0.8]
    assert after["tests"]["test_y"] == document["tests"]["test_y"]


def test_a_minimal_hand_written_entry_loads(tmp_path: Path) -> None:
    path = tmp_path / ".perfbaseline" / PROFILE / "test_a.py.json"
    path.parent.mkdir(parents=True)
    minimal = {
        "schema": 1,
        "tests": {"test_x": {"rounds": 2, "metrics": {"tokens_per_s": {"values": [10, 12.5]}}}},
    }
    path.write_text(json.dumps(minimal), encoding="utf-8")

    entry = store_at(tmp_path).load("test_a.py::test_x")

    assert entry is not None
    assert entry.result.rounds == ({"tokens_per_s": 10.0}, {"tokens_per_s": 12.5})
    assert entry.result.infos == {"tokens_per_s": RATE}  # direction from the built-in name
    assert (entry.result.rounds_requested, entry.result.warmup, entry.result.implicit) == (
        2,
        0,
        False,
    )
    assert entry.environment.saved_at == "unknown"
    assert entry.environment.git_commit is None


# -- folder creation -------------------------------------------------------------------------


def test_nothing_is_created_until_there_is_something_to_write(tmp_path: Path) -> None:
    root = tmp_path / ".perfbaseline"
    store = BaselineStore(root, PROFILE)
    assert store.load("tests/test_a.py::test_x") is None
    assert list(store.entries()) == []
    assert store.profiles() == []
    assert store.remove({PROFILE: ["tests/test_a.py::test_x"]}) == SaveReport()
    assert store.save([]) == SaveReport()
    nan = make_result("tests/test_a.py::test_x", ttft=(float("nan"),))
    assert store.save([(nan, ENV)]).skipped == (nan.nodeid,)
    assert not root.exists()

    save_ok(store, make_result("tests/test_a.py::test_x"))

    assert root.is_dir()
    gitignore = (root / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".lock" in gitignore
    assert "*.tmp" in gitignore


def test_an_existing_gitignore_is_not_overwritten(tmp_path: Path) -> None:
    root = tmp_path / ".perfbaseline"
    root.mkdir()
    (root / ".gitignore").write_text("mine\n", encoding="utf-8")

    save_ok(BaselineStore(root, PROFILE), make_result("test_a.py::t"))

    assert (root / ".gitignore").read_text(encoding="utf-8") == "mine\n"


def test_gitignore_makes_git_ignore_lock_and_temp_files(tmp_path: Path) -> None:
    try:
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("git is not available")
    root = tmp_path / ".perfbaseline"
    save_ok(BaselineStore(root, PROFILE), make_result("test_a.py::t"))
    (root / PROFILE / ".test_a.py.json.123.abcd.tmp").write_text("x", encoding="utf-8")
    (root / ".lock").touch()

    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert sorted(status.splitlines()) == [
        "?? .perfbaseline/.gitignore",
        f"?? .perfbaseline/{PROFILE}/test_a.py.json",
    ]


# -- safety: locking and atomic writes -------------------------------------------------------

_WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pytest_perfbaseline.baseline.environment import Environment
    from pytest_perfbaseline.metrics.names import MetricInfo
    from pytest_perfbaseline.metrics.result import TestResult
    from pytest_perfbaseline.baseline.store import BaselineStore

    root, worker, count, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    env = Environment.from_dict({})
    while not go.exists():
        time.sleep(0.001)
    for i in range(count):
        result = TestResult(
            nodeid=f"tests/test_shared.py::test_{worker}_{i}",
            rounds=({"ttft_s": 0.001 * i},),
            infos={"ttft_s": MetricInfo("s", False, "time")},
            itl_histogram=(), itl_pooled=None, token_sources={},
            rounds_requested=1, warmup=0, implicit=False,
        )
        report = BaselineStore(root, "p").save([(result, env)])
        if report.errors:
            sys.exit(f"save failed: {report.errors}")
    """
)


def test_concurrent_saves_into_one_file_lose_nothing(tmp_path: Path) -> None:
    root, go, count = tmp_path / ".perfbaseline", tmp_path / "go", 25
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(root), name, str(count), str(go)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b", "c")
    ]
    go.touch()  # release all workers at once so their saves overlap
    for worker in workers:
        _, stderr = worker.communicate(timeout=120)
        assert worker.returncode == 0, stderr

    path = BaselineStore(root, "p").path_for("tests/test_shared.py::x")
    tests = json.loads(path.read_text(encoding="utf-8"))["tests"]
    expected = {f"test_{w}_{i}" for w in "abc" for i in range(count)}
    assert set(tests) == expected
    assert temp_files(root) == []


def test_save_rereads_the_file_under_the_lock(tmp_path: Path) -> None:
    first, second = store_at(tmp_path), store_at(tmp_path)
    save_ok(first, make_result("test_a.py::test_1"))
    assert first.load("test_a.py::test_1") is not None  # cached by the first store
    save_ok(second, make_result("test_a.py::test_2"))  # written meanwhile by "another process"

    save_ok(first, make_result("test_a.py::test_3"))

    tests = json.loads(first.path_for("test_a.py::t").read_text(encoding="utf-8"))["tests"]
    assert sorted(tests) == ["test_1", "test_2", "test_3"]
    assert first.load("test_a.py::test_3") is not None


def test_a_held_lock_times_out_with_a_clear_error(tmp_path: Path) -> None:
    root = tmp_path / ".perfbaseline"
    store = BaselineStore(root, PROFILE, lock_timeout=0.1)
    save_ok(store, make_result("test_a.py::t", ttft=(0.1,)))
    before = store.path_for("test_a.py::t").read_bytes()
    lock = FileLock(str(root / ".lock"))

    with lock:
        report = store.save(
            [(make_result("test_a.py::t", ttft=(0.2,)), ENV), (make_result("test_b.py::t"), ENV)]
        )

    assert report.saved == ()
    assert report.written == ()
    assert sorted(report.skipped) == ["test_a.py::t", "test_b.py::t"]
    assert {e.path.name for e in report.errors} == {"test_a.py.json", "test_b.py.json"}
    assert all("could not lock" in str(e) and ".lock" in str(e) for e in report.errors)
    assert store.path_for("test_a.py::t").read_bytes() == before
    assert not store.path_for("test_b.py::t").exists()


@pytest.mark.parametrize(
    "failure", [OSError(errno.EIO, "I/O error"), KeyboardInterrupt()], ids=["oserror", "interrupt"]
)
def test_a_failed_replace_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    store = store_at(tmp_path)
    save_ok(store, make_result("test_a.py::test_x", ttft=(0.1,)))
    path = store.path_for("test_a.py::test_x")
    before = path.read_bytes()
    written: list[bytes] = []

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        written.append(Path(src).read_bytes())  # the temp file is complete at this point
        raise failure

    monkeypatch.setattr(os, "replace", replace)
    update = make_result("test_a.py::test_x", ttft=(0.2,))

    if isinstance(failure, KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):
            store.save([(update, ENV)])
    else:
        report = store.save([(update, ENV)])
        assert report.skipped == ("test_a.py::test_x",)
        [error] = report.errors
        assert error.path == path
        assert "I/O error" in str(error)

    assert written
    assert b"0.2" in written[0]
    assert path.read_bytes() == before
    assert temp_files(tmp_path) == []


_KILLED_WORKER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from pytest_perfbaseline.baseline.environment import Environment
    from pytest_perfbaseline.metrics.names import MetricInfo
    from pytest_perfbaseline.metrics.result import TestResult
    from pytest_perfbaseline.baseline.store import BaselineStore

    def die(src, dst):
        os.kill(os.getpid(), signal.SIGKILL)  # killed between the temp write and the rename

    os.replace = die
    result = TestResult(
        nodeid="test_a.py::test_x", rounds=({"ttft_s": 0.2},),
        infos={"ttft_s": MetricInfo("s", False, "time")}, itl_histogram=(), itl_pooled=None,
        token_sources={}, rounds_requested=1, warmup=0, implicit=False,
    )
    BaselineStore(Path(sys.argv[1]), sys.argv[2]).save([(result, Environment.from_dict({}))])
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_save_killed_before_the_rename_leaves_the_old_file(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    save_ok(store, make_result("test_a.py::test_x", ttft=(0.1,)))
    path = store.path_for("test_a.py::test_x")
    before = path.read_bytes()

    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_WORKER, str(store.root), PROFILE], check=False
    )

    assert killed.returncode == -signal.SIGKILL
    assert path.read_bytes() == before
    [leftover] = temp_files(tmp_path)  # nobody could clean it up ...
    assert leftover.parent == path.parent
    # ... and it disturbs neither reading nor the next save
    assert [e.nodeid for e in good_entries(store_at(tmp_path))] == ["test_a.py::test_x"]
    save_ok(store_at(tmp_path), make_result("test_a.py::test_x", ttft=(0.3,)))
    entry = store_at(tmp_path).load("test_a.py::test_x")
    assert entry is not None
    assert entry.result.values("ttft_s") == [0.3]


def test_disk_full_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = store_at(tmp_path)
    save_ok(store, make_result("test_a.py::test_x", ttft=(0.1,)))
    before = store.path_for("test_a.py::test_x").read_bytes()

    def fsync(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", fsync)
    report = store.save(
        [(make_result("test_a.py::test_x", ttft=(0.2,)), ENV), (make_result("test_b.py::t"), ENV)]
    )

    assert sorted(report.skipped) == ["test_a.py::test_x", "test_b.py::t"]
    assert len(report.errors) == 2
    assert all("No space left on device" in str(e) and "ENOSPC" in str(e) for e in report.errors)
    assert all("writable" in e.fix for e in report.errors)
    assert store.path_for("test_a.py::test_x").read_bytes() == before
    assert not store.path_for("test_b.py::t").exists()
    assert temp_files(tmp_path) == []


def _denies_writes(folder: Path) -> bool:
    probe = folder / "probe"
    try:
        probe.touch()
    except PermissionError:
        return True
    probe.unlink()
    return False


def test_an_unwritable_folder_is_a_clear_error(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    save_ok(store, make_result("test_a.py::t", ttft=(0.1,)), make_result("sub/test_b.py::t"))
    profile_dir = tmp_path / ".perfbaseline" / PROFILE
    before = store.path_for("test_a.py::t").read_bytes()
    profile_dir.chmod(0o500)
    try:
        if not _denies_writes(profile_dir):
            pytest.skip("this user may write to read-only folders (root?)")
        report = store.save(
            [
                (make_result("test_a.py::t", ttft=(0.2,)), ENV),
                (make_result("sub/test_b.py::t", ttft=(0.2,)), ENV),
                (make_result("new/test_c.py::t"), ENV),
            ]
        )
    finally:
        profile_dir.chmod(0o700)

    assert report.saved == ("sub/test_b.py::t",)  # its folder is still writable
    assert sorted(report.skipped) == ["new/test_c.py::t", "test_a.py::t"]
    assert {e.path for e in report.errors} == {
        store.path_for("test_a.py::t"),
        store.path_for("new/test_c.py::t"),
    }
    assert all("Permission denied" in str(e) for e in report.errors)
    assert store.path_for("test_a.py::t").read_bytes() == before


def test_permission_denied_is_a_clear_error_for_any_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The chmod test above is skipped for root; this one denies writes by faking the OS.
    store = store_at(tmp_path)
    save_ok(store, make_result("test_a.py::t", ttft=(0.1,)))
    profile_dir = tmp_path / ".perfbaseline" / PROFILE
    before = store.path_for("test_a.py::t").read_bytes()
    real_open, real_mkdir = os.open, os.mkdir

    def deny(path: Any) -> None:
        if Path(path).parent == profile_dir:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    def fake_open(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        deny(path)
        return real_open(path, flags, mode, **kwargs)

    def fake_mkdir(path: Any, mode: int = 0o777, **kwargs: Any) -> None:
        deny(path)
        real_mkdir(path, mode, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)
    report = store.save(
        [(make_result("test_a.py::t", ttft=(0.2,)), ENV), (make_result("new/test_c.py::t"), ENV)]
    )

    assert report.saved == ()
    assert sorted(report.skipped) == ["new/test_c.py::t", "test_a.py::t"]
    errors = {e.path: str(e) for e in report.errors}
    assert set(errors) == {store.path_for("test_a.py::t"), store.path_for("new/test_c.py::t")}
    assert (
        "could not write it: Permission denied [EACCES]" in errors[store.path_for("test_a.py::t")]
    )
    assert (
        "could not create its folder: Permission denied"
        in errors[store.path_for("new/test_c.py::t")]
    )
    assert store.path_for("test_a.py::t").read_bytes() == before
    assert temp_files(tmp_path) == []


def test_an_uncreatable_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    store = BaselineStore(blocker / ".perfbaseline", PROFILE)

    report = store.save([(make_result("test_a.py::t"), ENV)])

    assert report.skipped == ("test_a.py::t",)
    [error] = report.errors
    assert error.path == store.path_for("test_a.py::t")
    assert "could not" in str(error)
    assert "Not a directory" in str(error)


def test_a_temp_file_that_cannot_be_removed_is_named_in_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = store_at(tmp_path)
    save_ok(store, make_result("test_a.py::t", ttft=(0.1,)))
    path = store.path_for("test_a.py::t")
    before = path.read_bytes()

    def replace(src: Any, dst: Any) -> None:
        raise OSError(errno.EIO, "I/O error")

    def unlink(target: Any, *args: Any, **kwargs: Any) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(target))

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", replace)
        patch.setattr(os, "unlink", unlink)
        report = store.save([(make_result("test_a.py::t", ttft=(0.2,)), ENV)])

    [error] = report.errors
    [leftover] = temp_files(tmp_path)
    assert error.problem.startswith("could not write it: I/O error [EIO]; ")
    assert f"its temp file {leftover} is left over (Permission denied)" in error.problem
    assert path.read_bytes() == before


def test_the_shared_writer_writes_text_and_bytes_alike(tmp_path: Path) -> None:
    from pytest_perfbaseline.files import write_atomically

    text = "é\r\nline\n"
    write_atomically(tmp_path / "sub" / "a.txt", text)
    write_atomically(tmp_path / "sub" / "b.txt", text.encode("utf-8"))

    assert (tmp_path / "sub" / "a.txt").read_bytes() == text.encode("utf-8")
    assert (tmp_path / "sub" / "b.txt").read_bytes() == text.encode("utf-8")
    assert temp_files(tmp_path) == []


# -- bad files -------------------------------------------------------------------------------

_GOOD_ENTRY = {"rounds": 1, "metrics": {"ttft_s": {"values": [0.1]}}}


def _doc(**tests: Any) -> str:
    return json.dumps({"schema": 1, "tests": tests})


BAD_FILES = {
    "corrupt": ("{not json", "not valid JSON"),
    "truncated": ('{"schema": 1, "tests": {"test_x": {"rounds": 1, "metr', "truncated"),
    "empty": ("", "empty"),
    "not-utf8": (b'{"schema": 1, "tests": {"\xff": 1}}', "UTF-8"),
    "not-an-object": ("[1, 2, 3]", "a list where an object was expected"),
    "no-schema": ('{"tests": {}}', 'no "schema"'),
    "schema-not-int": ('{"schema": "1", "tests": {}}', "not a whole number"),
    "schema-zero": ('{"schema": 0, "tests": {}}', "unknown schema version 0"),
    "future-schema": ('{"schema": 3, "tests": {}}', "newer pytest-perfbaseline (schema 3 > 2)"),
    "tests-not-object": ('{"schema": 1, "tests": []}', '"tests"'),
    "entry-not-object": (_doc(test_y=[1]), "tests['test_y'] should be an object"),
    "no-rounds": (_doc(test_y={"metrics": {}}), 'no "rounds"'),
    "rounds-not-int": (_doc(test_y={"rounds": "3", "metrics": {}}), "rounds should be"),
    "values-not-list": (
        _doc(test_y={"rounds": 1, "metrics": {"ttft_s": {"values": 0.1}}}),
        "values should be a list",
    ),
    "value-not-number": (
        _doc(test_y={"rounds": 1, "metrics": {"ttft_s": {"values": ["0.1"]}}}),
        "values[0] should be a number or null but is a string",
    ),
    "values-wrong-length": (
        _doc(test_y={"rounds": 2, "metrics": {"ttft_s": {"values": [0.1]}}}),
        "1 values for 2 rounds",
    ),
    "bad-histogram": (
        _doc(test_y={**_GOOD_ENTRY, "itl_histogram": [[0.1, 0.2]]}),
        "itl_histogram[0]",
    ),
    "bool-direction": (
        _doc(test_y={"rounds": 1, "metrics": {"m": {"values": [1], "higher_is_better": "yes"}}}),
        "higher_is_better should be true or false",
    ),
    "duplicate-key": (
        '{"schema": 1, "tests": {"test_y": {}, "test_y": {}}}',
        "'test_y' twice",
    ),
    "merge-conflict": (
        '{"schema": 1,\n<<<<<<< HEAD\n"tests": {}\n=======\n"tests": {}\n>>>>>>> branch\n}\n',
        "merge conflict markers",
    ),
}


@pytest.mark.parametrize(("content", "problem"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_file_fails_load_with_a_clear_error(
    tmp_path: Path, content: str | bytes, problem: str
) -> None:
    store = store_at(tmp_path)
    path = store.path_for("tests/test_bad.py::test_x")
    path.parent.mkdir(parents=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))

    with pytest.raises(BaselineError) as info:
        store.load("tests/test_bad.py::test_x")

    assert info.value.path == path
    message = str(info.value)
    assert str(path) in message
    assert problem in message
    if "newer" in problem:
        assert "upgrade pytest-perfbaseline" in message
    elif "conflict" in problem:
        assert "resolve the conflict" in message
    else:
        assert "restore it from version control or delete it" in message
        assert "pytest --perf-baseline=save" in message
    with pytest.raises(BaselineError):  # the cached failure is raised again
        store.load("tests/test_bad.py::test_other")


@pytest.mark.parametrize(("content", "problem"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_save_leaves_a_bad_file_alone_and_saves_the_rest(
    tmp_path: Path, content: str | bytes, problem: str
) -> None:
    store = store_at(tmp_path)
    path = store.path_for("tests/test_bad.py::test_x")
    path.parent.mkdir(parents=True)
    raw = content if isinstance(content, bytes) else content.encode("utf-8")
    path.write_bytes(raw)

    report = store.save(
        [
            (make_result("tests/test_bad.py::test_x"), ENV),
            (make_result("tests/test_bad.py::test_z"), ENV),
            (make_result("tests/test_good.py::test_x"), ENV),
        ]
    )

    assert path.read_bytes() == raw
    [error] = report.errors
    assert error.path == path
    assert problem in str(error)
    assert sorted(report.skipped) == ["tests/test_bad.py::test_x", "tests/test_bad.py::test_z"]
    assert report.saved == ("tests/test_good.py::test_x",)
    assert report.written == (store.path_for("tests/test_good.py::test_x"),)
    assert store_at(tmp_path).load("tests/test_good.py::test_x") is not None
    assert temp_files(tmp_path) == []


def test_entries_yield_the_error_of_a_bad_file_and_go_on(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    save_ok(store, make_result("tests/test_a.py::t1"), make_result("tests/test_c.py::t2"))
    bad = store.path_for("tests/test_b.py::t")
    bad.write_text("{oops", encoding="utf-8")

    items = list(store_at(tmp_path).entries())

    assert [type(i).__name__ for i in items] == ["BaselineEntry", "BaselineError", "BaselineEntry"]
    assert isinstance(items[1], BaselineError)
    assert items[1].path == bad
    assert [i.nodeid for i in items if isinstance(i, BaselineEntry)] == [
        "tests/test_a.py::t1",
        "tests/test_c.py::t2",
    ]


def test_baseline_error_pickles() -> None:
    import pickle

    error = BaselineError(Path("/x/y.json"), "is broken", "fix it")
    copy = pickle.loads(pickle.dumps(error))

    assert (copy.path, copy.problem, copy.fix) == (error.path, error.problem, error.fix)
    assert str(copy) == "baseline file /x/y.json: is broken; fix it"


# -- remove (perfbaseline prune) -------------------------------------------------------------


def test_remove_deletes_entries_and_emptied_files(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    save_ok(
        store,
        make_result("tests/sub/test_a.py::t1"),
        make_result("tests/sub/test_a.py::t2"),
        make_result("tests/test_b.py::t"),
    )
    save_ok(store_at(tmp_path, "ci"), make_result("tests/sub/test_a.py::t1"))
    profile_dir = tmp_path / ".perfbaseline" / PROFILE

    report = store.remove(
        {PROFILE: ["tests/sub/test_a.py::t1", "tests/test_b.py::t", "tests/test_b.py::gone"]}
    )

    assert sorted(report.saved) == ["tests/sub/test_a.py::t1", "tests/test_b.py::t"]
    assert report.errors == ()
    assert not (profile_dir / "tests" / "test_b.py.json").exists()
    assert [e.nodeid for e in good_entries(store_at(tmp_path), PROFILE)] == [
        "tests/sub/test_a.py::t2"
    ]
    assert store_at(tmp_path, "ci").load("tests/sub/test_a.py::t1") is not None

    store.remove({PROFILE: ["tests/sub/test_a.py::t2"], "ci": ["tests/sub/test_a.py::t1"]})

    assert not profile_dir.exists()  # emptied folders go, up to the profile folder
    assert store.profiles() == []
    assert (tmp_path / ".perfbaseline").is_dir()


def test_remove_leaves_a_bad_file_alone(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    save_ok(store, make_result("test_a.py::t"))
    path = store.path_for("test_b.py::t")
    path.write_text('{"schema": 9, "tests": {}}', encoding="utf-8")

    report = store.remove({PROFILE: ["test_b.py::t", "test_a.py::t"]})

    assert report.saved == ("test_a.py::t",)
    assert report.skipped == ("test_b.py::t",)
    assert [e.path for e in report.errors] == [path]
    assert path.read_text(encoding="utf-8") == '{"schema": 9, "tests": {}}'


def test_schema_version_constant() -> None:
    assert SCHEMA_VERSION == 2
    assert "BaselineStore" in storage.__all__
