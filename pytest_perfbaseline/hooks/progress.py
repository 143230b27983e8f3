"""Live progress of a session: the live file a dashboard server reads, and the terminal line.

:class:`ProgressPlugin` is registered on every process. Where the run history is recorded
(``--perf-history`` not off) and the session has perf tests, each process publishes a live
file (``history/live.py``): the controller the tests done of the total, the process measuring
a test (the controller itself, or a pytest-xdist worker) that test and its round. On an
interactive terminal, without ``-q``, a perf test whose rounds run longer than
:data:`LINE_AFTER_S` shows ``perf: round k/n  elapsed 3.1 s  ~4 s left`` after pytest's own
progress, rewritten in place and cleared before the test's result is written. Per round it
costs at most a clock reading; the files are written at most every half second.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .context import PerfBaselineWarning, SessionContext

if TYPE_CHECKING:
    from ..history.live import LiveWriter

__all__ = ["LINE_AFTER_S", "PROGRESS_NAME", "ProgressLine", "ProgressPlugin", "line_text"]

PROGRESS_NAME = "perfbaseline-progress"
LINE_AFTER_S = 2.0
"""A test's rounds show the terminal line once they have run this long."""
REDRAW_S = 0.2
"""The least time between two redraws of the line."""
_SESSION_INPUT = "perfbaseline_live_session"

clock: Callable[[], float] = time.monotonic
"""The clock of the terminal line and the live files (the tests replace it)."""


def _now() -> float:
    return clock()


def line_text(done: int, planned: int, elapsed_s: float, left_s: float | None) -> str:
    """``perf: round 3/20  elapsed 3.1 s  ~4 s left`` (no estimate before a round is done)."""
    text = f"perf: round {done}/{planned}  elapsed {elapsed_s:.1f} s"
    if left_s is not None:
        text += f"  ~{left_s:.0f} s left"
    return text


class ProgressLine:
    """The terminal line of the test being measured, drawn after what the line holds already.

    ``write`` puts text on the terminal as it is (backspaces move back over the line);
    ``room`` says how many columns are left on the current line.
    """

    def __init__(self, write: Callable[[str], None], room: Callable[[], int]) -> None:
        self._write = write
        self._room = room
        self._started = self._measuring = 0.0
        self._last_draw = -REDRAW_S
        self._shown = 0

    def start(self) -> None:
        """A test starts."""
        self._started = self._measuring = _now()
        self._last_draw = -REDRAW_S

    def round(self, done: int, planned: int, warmup: bool) -> None:
        now = _now()
        if warmup:
            self._measuring = now  # the estimate counts measured rounds only
            return
        elapsed = now - self._started
        if elapsed < LINE_AFTER_S or now - self._last_draw < REDRAW_S:
            return
        self._last_draw = now
        per_round = (now - self._measuring) / done if done else None
        left = None if per_round is None else per_round * max(0, planned - done)
        self.draw(line_text(done, planned, elapsed, left))

    def draw(self, text: str) -> None:
        shown = self._shown
        text = "  " + text
        if len(text) > self._room() + shown:
            return  # it would wrap, and backspaces cannot go back up a line
        pad = max(0, shown - len(text))
        self._write("\b" * shown + text + " " * pad + "\b" * pad)
        self._shown = len(text)

    def clear(self) -> None:
        """Remove the line, leaving the cursor where pytest left it."""
        if self._shown:
            back = "\b" * self._shown
            self._write(back + " " * self._shown + back)
            self._shown = 0


class ProgressPlugin:
    """Publishes the session's progress (live files) and draws the terminal line."""

    def __init__(self, config: pytest.Config, context: SessionContext) -> None:
        self.config = config
        self.context = context
        self.worker: str | None = getattr(config, "workerinput", {}).get("workerid")
        self.session_id = self._session_id()
        self.writer: LiveWriter | None = None
        self.line: ProgressLine | None = None
        self._failed: set[str] = set()
        self._armed_check = -1.0

    def _session_id(self) -> str:
        workerinput: dict[str, Any] | None = getattr(self.config, "workerinput", None)
        if workerinput is not None:
            return str(workerinput.get(_SESSION_INPUT) or workerinput.get("testrunuid", "x"))
        return uuid.uuid4().hex[:16]

    @property
    def distributing(self) -> bool:
        """This is a pytest-xdist controller: tests are measured elsewhere."""
        return self.config.pluginmanager.has_plugin("dsession")

    # -- set-up ------------------------------------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[_SESSION_INPUT] = self.session_id

    @pytest.hookimpl(trylast=True)  # after PerfMeasurer has counted the perf tests
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.context.perf_tests and not self.context.options.disabled:
            self.writer = self._writer()
            if self.writer is not None and self.worker is None:
                self.writer.state.total = len(session.items)
                self.writer.state.done = self.writer.state.failed = 0
        if self.worker is None and self._interactive():
            self.line = ProgressLine(self._terminal_write, self._terminal_room)
        if self.writer is not None or self.line is not None:
            self.context.on_round = self.on_round

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        if self.writer is None and not self.context.options.disabled:
            self.writer = self._writer()
        if self.writer is not None:
            state = self.writer.state
            state.total = max(state.total or 0, len(ids))
            state.done = state.done or 0
            state.failed = state.failed or 0

    def _writer(self) -> LiveWriter | None:
        from ..history.live import LiveState, LiveWriter, live_folder
        from ..history.location import DEFAULT_FILE, LocationError
        from ..history.metadata import git_branch
        from ..history.session import history_location

        try:
            location = history_location(self.config)
        except LocationError:
            return None  # the session end says why nothing is recorded
        cache = getattr(self.config, "cache", None)
        if location is None or (location.backend != "sqlite" and cache is None):
            return None
        local = Path(".") if cache is None else cache.mkdir(str(DEFAULT_FILE.parent))
        branch = git_branch(Path(self.config.rootpath)) if self.worker is None else None
        state = LiveState(self.session_id, self.worker, branch=branch)
        return LiveWriter(live_folder(location, local), state, on_error=self._warn, clock=_now)

    def _warn(self, message: str) -> None:
        self.context.warn(PerfBaselineWarning(message))

    def _interactive(self) -> bool:
        reporter: Any = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None or self.distributing or self.config.get_verbosity() < 0:
            return False
        return bool(reporter.isatty()) and self.config.get_terminal_writer().hasmarkup

    # -- the terminal ------------------------------------------------------------------------

    @contextmanager
    def _uncaptured(self) -> Iterator[None]:
        capture: Any = self.config.pluginmanager.get_plugin("capturemanager")
        with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
            yield

    def _terminal_write(self, text: str) -> None:
        # straight to the stream the terminal writer writes to: its own bookkeeping of the
        # line's width would count the backspaces, and pytest's [ 40%] would move
        with self._uncaptured():
            sys.stdout.write(text)
            sys.stdout.flush()

    def _terminal_room(self) -> int:
        writer = self.config.get_terminal_writer()
        return writer.fullwidth - writer.width_of_current_line - 1

    # -- the tests ---------------------------------------------------------------------------

    def on_round(self, done: int, planned: int, warmup: bool) -> None:
        """The measuring side's round hook (``Perf.on_round``)."""
        if self.line is not None:
            self.line.round(done, planned, warmup)
        writer = self.writer
        if writer is not None:
            state = writer.state
            state.round, state.rounds, state.warmup = done, planned, warmup
            writer.changed()

    @pytest.hookimpl(tryfirst=True)  # on a worker: before xdist tells the controller
    def pytest_runtest_logstart(self, nodeid: str, location: object) -> None:
        if self.line is not None:
            self.line.start()
        writer = self.writer
        if writer is None:
            return
        if self.distributing:
            self._changed(writer)
            return
        state = writer.state
        state.current, state.round, state.rounds, state.warmup = nodeid, 0, 0, False
        writer.changed()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.line is not None:
            self._clear_line()
        writer = self.writer
        if writer is None or self.worker is not None:
            return
        state = writer.state
        if report.failed:
            self._failed.add(report.nodeid)
        if report.when == "teardown":
            state.done = (state.done or 0) + 1
            state.failed = len(self._failed)
            self._changed(writer)

    def _clear_line(self) -> None:
        assert self.line is not None
        try:
            self.line.clear()
        except (OSError, ValueError):
            self.line = None  # the terminal went away: no more lines

    def _changed(self, writer: LiveWriter) -> None:
        if self.distributing and not self._workers_publish(writer):
            return
        writer.changed()

    def _workers_publish(self, writer: LiveWriter) -> bool:
        """Whether some worker publishes (it has perf tests): only then does the controller."""
        if writer.state.updated_at:
            return True
        now = _now()
        if now - self._armed_check < 0.5:
            return False
        self._armed_check = now
        return any(writer.path.parent.glob(f"{self.session_id}-*.json"))

    def pytest_runtest_logfinish(self, nodeid: str, location: object) -> None:
        if self.line is not None:
            self._clear_line()
        if self.writer is not None and not self.distributing:
            self.writer.state.current = None
            self.writer.changed()

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.context.on_round = None
        if self.writer is not None:
            self.writer.close()
            self.writer = None
