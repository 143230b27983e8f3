"""Named, timed regions of a round: phases, agents and operations.

The innermost open span of each kind is carried in a :class:`contextvars.ContextVar`, not in a
shared stack. Tasks started with ``asyncio.gather`` copy the context they were created in, so
two agents running concurrently each see their own spans and are charged their own time,
tokens and cost. Threads start with an empty context in Python: open the span inside the
thread (or run the thread's function under ``contextvars.copy_context().run``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Literal, NamedTuple

__all__ = ["Attribution", "SpanKind", "SpanRecord", "SpanScope", "current_attribution"]

SpanKind = Literal["phase", "agent", "operation"]
SPAN_KINDS: tuple[SpanKind, ...] = ("phase", "agent", "operation")


# NamedTuples rather than frozen dataclasses: immutable all the same, and built several times
# faster, which matters on every span entered and every call recorded (the bar is 2 us).
class Attribution(NamedTuple):
    """The innermost enclosing span name of each kind at some moment (None: outside any)."""

    phase: str | None = None
    agent: str | None = None
    operation: str | None = None

    def name_of(self, kind: SpanKind) -> str | None:
        return getattr(self, kind)  # type: ignore[no-any-return]

    def with_name(self, kind: SpanKind, name: str) -> Attribution:
        # tuple.__new__ directly: a NamedTuple's own __new__ is a Python function, 2x slower
        if kind == "phase":
            return _new(Attribution, (name, self[1], self[2]))
        if kind == "agent":
            return _new(Attribution, (self[0], name, self[2]))
        return _new(Attribution, (self[0], self[1], name))


_new = tuple.__new__
_NOWHERE = Attribution()
_CURRENT: ContextVar[Attribution] = ContextVar("pytest_perfbaseline_spans", default=_NOWHERE)


def current_attribution() -> Attribution:
    """Innermost open phase, agent and operation in the calling context."""
    return _CURRENT.get()


class SpanRecord(NamedTuple):
    """One closed span: its kind, name and clock readings (ns)."""

    kind: SpanKind
    name: str
    start_ns: int
    end_ns: int

    @property
    def seconds(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9


class SpanScope:
    """Context manager (sync and async) that opens one span.

    ``on_close`` receives the finished :class:`SpanRecord`; the recorder decides which round
    it belongs to. A scope may be entered once.
    """

    __slots__ = ("_clock", "_kind", "_name", "_on_close", "_start", "_token")

    def __init__(
        self,
        kind: SpanKind,
        name: str,
        clock: Callable[[], int],
        on_close: Callable[[SpanRecord], None],
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"perf.{kind}() needs a non-empty name, got {name!r}")
        self._kind: SpanKind = kind
        self._name = name
        self._clock = clock
        self._on_close = on_close
        self._token: Token[Attribution] | None = None
        self._start = 0

    def __enter__(self) -> SpanScope:
        if self._token is not None:
            raise RuntimeError(f"perf.{self._kind}({self._name!r}) is already open")
        self._token = _CURRENT.set(_CURRENT.get().with_name(self._kind, self._name))
        self._start = self._clock()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        end = self._clock()
        token, self._token = self._token, None
        if token is not None:
            _CURRENT.reset(token)
        self._on_close(_new(SpanRecord, (self._kind, self._name, self._start, end)))

    async def __aenter__(self) -> SpanScope:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
