"""Live progress of running sessions: small JSON files a dashboard server reads.

A session that records its run in the history also says how far it has got, in a folder
``live/`` beside the SQLite store (for a PostgreSQL store: beside the default local store,
``.pytest_cache/d/perfbaseline/live``, as the server cannot list files on a database host).
One file per process, named after the session and, on a pytest-xdist worker, the worker:
the controller knows how many tests are done of how many; the process measuring a test
knows which test it is and which round. Each file is replaced atomically, at most every
:data:`WRITE_EVERY_S`: a change that comes sooner is written by a timer thread when that time
is up (one timer at a time, started only then), so the file never lags behind for long, and
the rounds loop never waits for a disk. It is removed when the session ends. Nothing here
knows about pytest.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..baseline.environment import parse_utc_timestamp, utc_timestamp
from ..files import write_atomically
from .location import StoreLocation

__all__ = [
    "LIVE_FOLDER",
    "STALE_S",
    "WRITE_EVERY_S",
    "LiveState",
    "LiveWriter",
    "live_folder",
    "read_live",
]

LIVE_FOLDER = "live"
WRITE_EVERY_S = 0.5
"""The least time between two writes of one process's file."""
STALE_S = 3600.0
"""A file not updated for this long, from a process this machine cannot check, is ignored:
its session was killed before it could remove it."""
_SUFFIX = ".json"


def live_folder(location: StoreLocation, local_default: Path) -> Path:
    """Where sessions recording into ``location`` publish their progress.

    ``local_default``: the folder of the default SQLite store, used for a PostgreSQL store.
    """
    if location.backend == "sqlite":
        return location.path.parent / LIVE_FOLDER
    return local_default / LIVE_FOLDER


@dataclass
class LiveState:
    """What one process of a running session publishes (mutable: it changes as tests run)."""

    session: str
    worker: str | None = None
    """The pytest-xdist worker id (``gw0``), None for the controller."""
    pid: int = field(default_factory=os.getpid)
    host: str = field(default_factory=socket.gethostname)
    started_at: str = field(default_factory=utc_timestamp)
    updated_at: str = ""
    branch: str | None = None
    total: int | None = None
    """Tests to run (the controller's file only)."""
    done: int | None = None
    failed: int | None = None
    current: str | None = None
    """The test running in this process (None between tests)."""
    round: int = 0
    rounds: int = 0
    warmup: bool = False


class LiveWriter:
    """Publishes one process's :class:`LiveState` to ``folder``; quiet after a failed write.

    ``on_error`` is told (once) why the file could not be written; from then on nothing is
    written, so a full disk costs one message, not one per test. ``later(delay, write)`` runs
    ``write`` after ``delay`` seconds (default: a daemon timer thread).
    """

    def __init__(
        self,
        folder: Path,
        state: LiveState,
        *,
        on_error: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
        later: Callable[[float, Callable[[], None]], None] | None = None,
    ) -> None:
        name = state.session + (f"-{state.worker}" if state.worker else "")
        self.path = folder / (name + _SUFFIX)
        self.state = state
        self._on_error = on_error
        self._clock = clock
        self._last = -WRITE_EVERY_S
        self._due = False
        self._broken = False
        self._waiting = False
        self._later = later or _timer
        self._lock = threading.Lock()

    def changed(self) -> None:
        """The state changed: write it if the last write is old enough, else soon after."""
        self._due = True
        wait = WRITE_EVERY_S - (self._clock() - self._last)
        if wait <= 0:
            self.write()
        elif not self._waiting and not self._broken:
            self._waiting = True
            self._later(wait, self._deferred)

    def _deferred(self) -> None:
        self._waiting = False
        if self._due:
            self.write()

    def write(self) -> None:
        """Write the state now."""
        with self._lock:
            if self._broken or self.closed:
                return
            self._last = self._clock()
            self._due = False
            self.state.updated_at = utc_timestamp()
            text = json.dumps(asdict(self.state), separators=(",", ":"))
            try:
                write_atomically(self.path, text)
            except OSError as exc:
                self._broken = True
                message = f"live progress not published to {self.path}: {exc}"
            else:
                return
        self._on_error(message)

    @property
    def due(self) -> bool:
        """A change is waiting for its write."""
        return self._due

    closed = False

    def close(self) -> None:
        """The session ended: remove the file (a pending write is dropped)."""
        with self._lock:
            self.closed = True
        if self._broken:
            return
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            self._on_error(f"live progress file {self.path} not removed: {exc}")


def _timer(delay: float, run: Callable[[], None]) -> None:
    timer = threading.Timer(delay, run)
    timer.daemon = True  # a session ending never waits for it
    timer.start()


def _alive(state: dict[str, Any], now: datetime) -> bool:
    """Whether the process that wrote ``state`` may still be running."""
    if state.get("host") == socket.gethostname() and isinstance(state.get("pid"), int):
        try:
            os.kill(state["pid"], 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True  # it exists, as another user's process
        return True
    try:
        updated = parse_utc_timestamp(str(state.get("updated_at")))
    except ValueError:
        return False
    return (now - updated).total_seconds() < STALE_S


def _read_states(folder: Path) -> list[dict[str, Any]]:
    try:
        paths = sorted(folder.glob("*" + _SUFFIX))
    except OSError:
        return []
    states = []
    now = datetime.now(timezone.utc)
    for path in paths:
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # removed meanwhile, or not one of ours
        if isinstance(state, dict) and isinstance(state.get("session"), str) and _alive(state, now):
            states.append(state)
    return states


def _running(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "worker": state.get("worker"),
        "test": state.get("current"),
        "round": state.get("round", 0),
        "rounds": state.get("rounds", 0),
        "warmup": bool(state.get("warmup")),
    }


def read_live(folder: Path) -> list[dict[str, Any]]:
    """The running sessions' progress, one dict per session, oldest first.

    Each has ``session``, ``started_at``, ``updated_at``, ``branch``, ``total``, ``done``,
    ``failed`` (from the controller's file) and ``running``: per process measuring a test,
    its ``worker``, ``test``, ``round``, ``rounds`` and ``warmup``. Files of processes that
    are gone are left out.
    """
    sessions: dict[str, dict[str, Any]] = {}
    for state in _read_states(folder):
        entry = sessions.setdefault(
            state["session"],
            {"session": state["session"], "running": [], "updated_at": "", "started_at": ""},
        )
        if state.get("worker") is None:
            for key in ("started_at", "branch", "total", "done", "failed"):
                entry[key] = state.get(key)
        if state.get("current"):
            entry["running"].append(_running(state))
        entry["updated_at"] = max(entry["updated_at"], str(state.get("updated_at") or ""))
    found = [s for s in sessions.values() if "total" in s]  # a worker's file alone: ending
    return sorted(found, key=lambda s: (s["started_at"] or "", s["session"]))
