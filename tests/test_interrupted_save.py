"""Ctrl-C during a save: each file old or new, no temp file, and a message saying which."""

from __future__ import annotations

import os
from pathlib import Path

import filelock
import pytest
from fakes import ENV, INI, simulated_suite
from test_storage import make_result, store_at, temp_files

from pytest_perfbaseline.baseline.store import BaselineStore, SaveInterrupted
from pytest_perfbaseline.files import write_atomically

MODULES = [f"test_m{i}.py" for i in range(5)]

_real_replace = os.replace


def interrupt_replace(
    monkeypatch: pytest.MonkeyPatch, nth: int, *, after: bool = False
) -> list[Path]:
    """Make the ``nth`` replace of a baseline file raise KeyboardInterrupt (``after``: once
    the file is replaced, as if Ctrl-C landed the instant after). Returns the targets."""
    targets: list[Path] = []

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if not str(dst).endswith(".py.json"):
            _real_replace(src, dst)
            return
        targets.append(Path(dst))
        if len(targets) == nth and not after:
            raise KeyboardInterrupt
        _real_replace(src, dst)
        if len(targets) == nth:
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", replace)
    return targets


def saved_store(tmp_path: Path) -> tuple[BaselineStore, dict[Path, bytes]]:
    store = store_at(tmp_path)
    store.save([(make_result(f"{m}::test_x", ttft=(0.1,)), ENV) for m in MODULES])
    paths = [store.path_for(f"{m}::test_x") for m in MODULES]
    return store, {p: p.read_bytes() for p in paths}


def update(store: BaselineStore) -> None:
    store.save([(make_result(f"{m}::test_x", ttft=(0.2,)), ENV) for m in MODULES])


def test_a_temp_file_just_created_is_removed_on_ctrl_c(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "a.json"
    target.write_text("old")
    real_open = os.open

    def open_then_interrupt(path: str | os.PathLike[str], flags: int, mode: int = 0o777) -> int:
        fd = real_open(path, flags, mode)
        os.close(fd)
        raise KeyboardInterrupt  # the file exists, its descriptor never reaches the caller

    monkeypatch.setattr(os, "open", open_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, "new")
    monkeypatch.undo()

    assert target.read_text() == "old"
    assert temp_files(tmp_path) == []


def test_ctrl_c_stops_the_save_and_says_which_files_were_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, before = saved_store(tmp_path)
    interrupt_replace(monkeypatch, 3)

    with pytest.raises(SaveInterrupted) as caught:
        update(store)

    report = caught.value.report
    paths = sorted(before)
    assert report.written == tuple(paths[:2])
    assert report.interrupted == tuple(paths[2:])
    assert sorted(report.saved) == [f"{m}::test_x" for m in MODULES[:2]]
    assert sorted(report.skipped) == [f"{m}::test_x" for m in MODULES[2:]]
    assert [p.read_bytes() != before[p] for p in paths] == [True, True, False, False, False]
    assert temp_files(tmp_path) == []
    assert isinstance(caught.value, KeyboardInterrupt)  # callers that stop on Ctrl-C still do
    assert str(caught.value) == (
        "interrupted after writing 2 of 5 baseline files; the others keep their old content"
    )


def test_ctrl_c_just_after_a_replace_counts_that_file_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, before = saved_store(tmp_path)
    interrupt_replace(monkeypatch, 3, after=True)

    with pytest.raises(SaveInterrupted) as caught:
        update(store)

    paths = sorted(before)
    assert caught.value.report.written == tuple(paths[:3])
    assert caught.value.report.interrupted == tuple(paths[3:])
    assert [p.read_bytes() != before[p] for p in paths] == [True, True, True, False, False]
    assert temp_files(tmp_path) == []


def test_ctrl_c_while_waiting_for_the_lock_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, before = saved_store(tmp_path)

    def acquire(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(filelock.FileLock, "acquire", acquire)
    with pytest.raises(SaveInterrupted) as caught:
        update(store)

    assert caught.value.report.written == ()
    assert caught.value.report.interrupted == tuple(sorted(before))
    assert all(p.read_bytes() == content for p, content in before.items())


# -- through pytest --------------------------------------------------------------------------

TEST_FILE = (
    simulated_suite(jitter=0.0)
    + """


@pytest.mark.perf(rounds=2, warmup=0)
def test_answer(perf):
    tokens = 10 + EXTRA_TOKENS
    perf(lambda: list(perf.stream(llm.stream, "hi", max_tokens=tokens, format="openai")))
"""
)


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("PERF_TEST_SLOWDOWN", raising=False)
    monkeypatch.delenv("PERF_TEST_EXTRA_TOKENS", raising=False)
    pytester.makeini(INI)
    pytester.makepyfile(**{m.removesuffix(".py"): TEST_FILE for m in MODULES})
    return pytester


def stored(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted((root / ".perfbaseline").rglob("*.json"))}


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_an_interrupted_save_in_a_run_says_what_it_left(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, xdist: list[str]
) -> None:
    project.runpytest("--perf-baseline=save", *xdist).assert_outcomes(passed=5)
    before = stored(project.path)
    assert len(before) == 5
    monkeypatch.setenv("PERF_TEST_EXTRA_TOKENS", "7")
    interrupt_replace(monkeypatch, 2)

    # no_reraise_ctrlc: had the interrupt escaped the run, this test would fail, not stop
    result = project.runpytest("--perf-baseline=save", *xdist, no_reraise_ctrlc=True)
    monkeypatch.undo()

    assert result.ret == pytest.ExitCode.INTERRUPTED
    after = stored(project.path)
    assert sorted(after) == sorted(before)
    paths = sorted(before)
    assert [after[p] != before[p] for p in paths] == [True, False, False, False, False]
    assert temp_files(project.path) == []
    result.stdout.fnmatch_lines(
        [
            "*perfbaseline: save interrupted*",
            "baselines partly saved: 1 of 5 files written before the interrupt "
            "(test_m0.py.json); the other 4 keep their old content (test_m1.py.json, "
            "test_m2.py.json, test_m3.py.json, test_m4.py.json); run the save again",
        ]
    )
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    assert "KeyboardInterrupt" not in output
