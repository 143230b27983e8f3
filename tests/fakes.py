"""Test doubles: a fake clock and scripted streams that advance it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any


class FakeClock:
    """A clock in integer nanoseconds that moves only when told to."""

    def __init__(self, start_ns: int = 1_000_000_000) -> None:
        self.now = start_ns

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += round(seconds * 1e9)

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        self.advance(seconds)


def scripted(clock: FakeClock, events: Iterable[tuple[float, Any]]) -> Iterator[Any]:
    """Yield each chunk after advancing the clock by its delay (seconds)."""
    for delay, chunk in events:
        clock.advance(delay)
        yield chunk


async def ascripted(clock: FakeClock, events: Iterable[tuple[float, Any]]) -> AsyncIterator[Any]:
    for delay, chunk in events:
        clock.advance(delay)
        yield chunk


def no_cost(usage: Any) -> float | None:
    """A price table that knows every model and charges one dollar per call."""
    return 1.0
