"""Live progress: the per-round hook, the live files a dashboard reads, the terminal line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fakes import INI

from pytest_perfbaseline.history.live import LiveState, LiveWriter, read_live
from pytest_perfbaseline.hooks import progress
from pytest_perfbaseline.hooks.progress import ProgressLine, line_text
from pytest_perfbaseline.measure.perf import Perf


class Ticks:
    """A clock that moves ``step`` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture
def ticks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ticks]:
    clock = Ticks(1.0)
    monkeypatch.setattr(progress, "clock", clock)
    return clock


# -- the round hook ----------------------------------------------------------------------------


def test_the_round_hook_counts_warmup_then_measured_rounds_and_more_rounds() -> None:
    seen: list[tuple[int, int, bool]] = []
    perf = Perf(rounds=3, warmup=2, clock=iter(range(0, 10**9, 1000)).__next__)
    perf.on_round = lambda done, planned, warmup: seen.append((done, planned, warmup))
    perf(lambda: None)
    assert seen == [(1, 2, True), (2, 2, True), (1, 3, False), (2, 3, False), (3, 3, False)]
    seen.clear()
    perf.more_rounds(2)
    perf(lambda: None)
    assert seen[-2:] == [(4, 5, False), (5, 5, False)]


def test_without_a_hook_nothing_is_called() -> None:
    perf = Perf(rounds=2, warmup=0)
    assert perf.on_round is None
    perf(lambda: None)
    assert len(perf.rounds) == 2


# -- the terminal line -------------------------------------------------------------------------


def test_line_text() -> None:
    assert line_text(3, 10, 3.14, 4.4) == "perf: round 3/10  elapsed 3.1 s  ~4 s left"
    assert line_text(0, 10, 0.5, None) == "perf: round 0/10  elapsed 0.5 s"


def test_the_line_shows_after_two_seconds_and_clears_back_to_where_it_was(ticks: Ticks) -> None:
    written: list[str] = []
    line = ProgressLine(written.append, lambda: 200)
    line.start()  # t=1
    line.round(1, 1, True)  # t=2: warm-up, measuring starts
    line.round(1, 5, False)  # t=3: 2 s in, 1 s per round
    assert written == ["  perf: round 1/5  elapsed 2.0 s  ~4 s left"]
    line.round(2, 5, False)  # t=4
    assert written[-1] == "\b" * 43 + "  perf: round 2/5  elapsed 3.0 s  ~3 s left"
    line.clear()
    assert written[-1] == "\b" * 43 + " " * 43 + "\b" * 43
    written.clear()
    line.clear()  # nothing shown: nothing to clear
    assert written == []


def test_a_short_test_shows_no_line_and_a_full_line_is_not_drawn(ticks: Ticks) -> None:
    written: list[str] = []
    ticks.step = 0.5
    line = ProgressLine(written.append, lambda: 200)
    line.start()
    line.round(1, 3, False)
    line.round(2, 3, False)
    assert written == []  # 1 s in
    narrow = ProgressLine(written.append, lambda: 20)
    ticks.step = 5
    narrow.start()
    narrow.round(1, 3, False)
    assert written == []  # it would wrap


SLOW_SUITE = """
import pytest

@pytest.mark.perf(rounds=5, warmup=1)
def test_slow(perf):
    perf(lambda: None)
"""

FAKE_TTY = """
import itertools

from pytest_perfbaseline.hooks import progress

ticks = itertools.count()
progress.clock = lambda: float(next(ticks))  # a second a reading


def pytest_sessionstart(session):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    reporter.isatty = lambda: True
"""


def test_an_interactive_terminal_shows_the_line_and_clears_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "160")  # room for the line after the file's name
    pytester.makeini(INI)
    pytester.makepyfile(SLOW_SUITE)
    pytester.makeconftest(FAKE_TTY)
    result = pytester.runpytest_subprocess("--color=yes", "--perf-history=off")
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert "perf: round 1/5  elapsed 3.0 s  ~4 s left" in out
    last = "  perf: round 5/5  elapsed 7.0 s  ~0 s left"
    cleared = "\b" * len(last) + " " * len(last) + "\b" * len(last)
    assert last + cleared in out  # before the test's result


@pytest.mark.parametrize(
    ("args", "tty"),
    [
        (["--color=yes", "-q"], True),
        (["--color=yes"], False),
        (["--color=no"], True),
        (["--color=yes", "-n", "1"], True),
    ],
    ids=["quiet", "not-a-tty", "no-markup", "xdist"],
)
def test_no_line_when_quiet_or_not_interactive(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: list[str], tty: bool
) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    pytester.makeini(INI)
    pytester.makepyfile(SLOW_SUITE)
    pytester.makeconftest(FAKE_TTY if tty else FAKE_TTY.replace("lambda: True", "lambda: False"))
    result = pytester.runpytest_subprocess(*args, "--perf-history=off")
    result.assert_outcomes(passed=1)
    assert "perf: round" not in result.stdout.str()


# -- live files --------------------------------------------------------------------------------


def test_the_writer_writes_at_most_every_half_second_and_removes_its_file(tmp_path: Path) -> None:
    now = [10.0]
    errors: list[str] = []
    timers: list[tuple[float, Callable[[], None]]] = []
    writer = LiveWriter(
        tmp_path,
        LiveState("s1"),
        on_error=errors.append,
        clock=lambda: now[0],
        later=lambda delay, run: timers.append((delay, run)),
    )
    writer.state.done = 1
    writer.changed()
    assert json.loads(writer.path.read_text())["done"] == 1
    assert timers == []
    writer.state.done = 2
    now[0] += 0.2
    writer.changed()
    writer.state.done = 3
    writer.changed()  # one timer at a time
    assert json.loads(writer.path.read_text())["done"] == 1
    assert writer.due
    [(delay, run)] = timers
    assert delay == pytest.approx(0.3)
    now[0] += 0.3
    run()  # the timer fires
    assert json.loads(writer.path.read_text())["done"] == 3
    assert not writer.due
    now[0] += 0.6
    writer.state.done = 4
    writer.changed()
    assert json.loads(writer.path.read_text())["done"] == 4
    assert len(timers) == 1
    writer.close()
    assert not writer.path.exists()
    assert errors == []


def test_a_write_that_fails_warns_once_and_stops(tmp_path: Path) -> None:
    blocker = tmp_path / "live"
    blocker.write_text("a file where the folder should be")
    errors: list[str] = []
    writer = LiveWriter(blocker, LiveState("s1"), on_error=errors.append, clock=lambda: 0.0)
    writer.write()
    writer.write()
    writer.close()
    assert len(errors) == 1
    assert "live progress not published" in errors[0]


def test_read_live_merges_a_sessions_files_and_drops_dead_processes(tmp_path: Path) -> None:
    def put(name: str, **state: object) -> None:
        base = {"session": "s1", "pid": os.getpid(), "host": os.uname().nodename}
        (tmp_path / name).write_text(json.dumps({**base, **state}))

    put("s1.json", total=10, done=4, failed=1, started_at="2026-01-01T00:00:00Z", branch="b")
    put("s1-gw0.json", worker="gw0", current="t.py::a", round=3, rounds=20, warmup=False)
    put("s1-gw1.json", worker="gw1", current=None)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    put("s2.json", session="s2", pid=int(dead.stdout), total=3, done=0)
    (tmp_path / "junk.json").write_text("{not json")
    [session] = read_live(tmp_path)
    assert session["session"] == "s1"
    assert (session["total"], session["done"], session["failed"], session["branch"]) == (
        10,
        4,
        1,
        "b",
    )
    assert session["running"] == [
        {"worker": "gw0", "test": "t.py::a", "round": 3, "rounds": 20, "warmup": False}
    ]
    assert read_live(tmp_path / "missing") == []


LIVE_SUITE = """
import json
from pathlib import Path

import pytest

LIVE = Path({live!r})


def _files():
    return {{p.name: json.loads(p.read_text()) for p in LIVE.glob("*.json")}}


@pytest.mark.perf(rounds=3, warmup=0)
def test_first(perf, request):
    perf(lambda: None)
    [state] = _files().values()
    assert state["current"] == request.node.nodeid
    assert (state["round"], state["rounds"], state["warmup"]) == (3, 3, False)
    assert (state["total"], state["done"]) == (3, 0)


def test_plain():
    pass


@pytest.mark.perf(rounds=2, warmup=0)
def test_last(perf):
    perf(lambda: None)
    [state] = _files().values()
    assert (state["done"], state["failed"]) == (2, 0)
"""


def test_a_session_publishes_its_progress_and_removes_it(
    pytester: pytest.Pytester, ticks: Ticks
) -> None:
    db = pytester.path / "h" / "history.sqlite"
    pytester.makeini(INI)
    live = db.parent / "live"
    pytester.makepyfile(LIVE_SUITE.format(live=str(live)))
    result = pytester.runpytest_inprocess("-p", "no:randomly", f"--perf-history=sqlite:///{db}")
    result.assert_outcomes(passed=3)
    assert db.exists()
    assert list(live.glob("*.json")) == []


def test_no_perf_tests_no_live_file(pytester: pytest.Pytester) -> None:
    db = pytester.path / "h" / "history.sqlite"
    pytester.makeini(INI)
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest_inprocess(f"--perf-history=sqlite:///{db}")
    result.assert_outcomes(passed=1)
    assert not (db.parent / "live").exists()


XDIST_SUITE = """
import json
import time
from pathlib import Path

import pytest

LIVE = Path({live!r})


@pytest.mark.parametrize("i", range(4))
@pytest.mark.perf(rounds=2, warmup=0)
def test_measured(perf, request, i):
    perf(lambda: None)
    worker = request.config.workerinput["workerid"]
    deadline = time.monotonic() + 30
    while True:  # the controller writes its file once a worker has published
        files = {{p.name: json.loads(p.read_text()) for p in LIVE.glob("*.json")}}
        mine = [s for s in files.values() if s.get("worker") == worker]
        controller = [s for s in files.values() if s.get("worker") is None]
        if mine and mine[0]["current"] == request.node.nodeid and controller:
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert mine[0]["current"] == request.node.nodeid
    assert controller[0]["total"] == 4 and controller[0]["session"] == mine[0]["session"]
"""


def test_under_xdist_workers_publish_their_test_and_the_controller_the_count(
    pytester: pytest.Pytester,
) -> None:
    pytest.importorskip("xdist")
    db = pytester.path / "h" / "history.sqlite"
    pytester.makeini(INI)
    live = db.parent / "live"
    pytester.makepyfile(XDIST_SUITE.format(live=str(live)))
    result = pytester.runpytest_subprocess("-n", "2", f"--perf-history=sqlite:///{db}")
    result.assert_outcomes(passed=4)
    assert list(live.glob("*.json")) == []
